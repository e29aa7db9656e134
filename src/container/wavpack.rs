//! WavPack files (`.wv`): a sequence of blocks, each a 32-byte header starting `wvpk` and the
//! block's metadata and bitstream. A frame is the run of blocks from one with the initial-block
//! flag to one with the final-block flag (one block for mono and stereo, one per channel pair
//! beyond), all for the same samples; it goes out as one packet as soon as its last byte is in.
//! symphonia has no WavPack reader, and cutting blocks is a header check; written here, with the
//! header checks libwavpack's own reader makes (`read_next_header`). Blocks without samples
//! (the RIFF trailer some writers add), an APEv2 or ID3v1 tag at the end and damaged bytes
//! between blocks are passed over.

use std::io;

use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::common::FourCc;
use symphonia::core::errors::{Error as SymphoniaError, Result};
use symphonia::core::formats::probe::{
    ProbeDataMatchSpec, ProbeFormatData, ProbeableFormat, Score, Scoreable,
};
use symphonia::core::formats::{
    FormatId, FormatInfo, FormatOptions, FormatReader, MediaInfo, Track,
};
use symphonia::core::io::{MediaSourceStream, ReadBytes, ScopedStream};
use symphonia::core::meta::MetadataLog;
use symphonia::core::packet::Packet;

use crate::codecs::wavpack::{CODEC_ID_WAVPACK, FrameFormat, describe};

static WAVPACK_INFO: FormatInfo = FormatInfo {
    format: FormatId::new(FourCc::new(*b"wvpk")),
    short_name: "wavpack",
    long_name: "WavPack",
};

const HEADER_LEN: usize = 32;
const INITIAL_BLOCK: u32 = 0x800;
const FINAL_BLOCK: u32 = 0x1000;
/// The block holds DSD (1-bit) audio.
const DSD_FLAG: u32 = 0x8000_0000;
/// Bytes of junk skipped looking for the next block before the rest of the stream is taken
/// for something else (libwavpack gives up after the same).
const MAX_SKIP: usize = 1024 * 1024;
/// The most blocks and bytes one frame may gather: WavPack's tools write up to 256 channels (as
/// many mono blocks), and half a second of that uncompressed is about 22 MiB. A frame that
/// would grow past either is damage, not a frame to hold in memory.
const MAX_FRAME_BLOCKS: usize = 256;
const MAX_FRAME_BYTES: usize = 32 * 1024 * 1024;

/// The fields of a block header this reader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BlockHeader {
    /// The whole block's length, header included.
    len: usize,
    block_index: u64,
    /// The stream's length in samples, when the writer knew it.
    total_samples: Option<u64>,
    samples: u32,
    flags: u32,
}

impl BlockHeader {
    /// Parses a header, with libwavpack's plausibility checks: an even size below 1 MiB,
    /// stream version 0x402 to 0x410, fewer than 196608 samples.
    fn parse(bytes: &[u8; HEADER_LEN]) -> Option<BlockHeader> {
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let size = u32_at(4);
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        let samples = u32_at(20);
        let plausible = &bytes[..4] == b"wvpk"
            && size % 2 == 0
            && (24..0x10_0000).contains(&size)
            && (0x402..=0x410).contains(&version)
            && samples < 0x3_0000;
        if !plausible {
            return None;
        }
        let total_low = u32_at(12);
        let total_samples = (total_low != u32::MAX).then(|| {
            let high = u64::from(bytes[11]);
            u64::from(total_low) + (high << 32) - high
        });
        Some(BlockHeader {
            len: size as usize + 8,
            block_index: u64::from(u32_at(16)) + (u64::from(bytes[10]) << 32),
            total_samples,
            samples,
            flags: u32_at(24),
        })
    }
}

/// Reads the frames of a WavPack file, a packet each.
pub struct WavPackReader<'s> {
    source: MediaSourceStream<'s>,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    /// The first frame, read to describe the stream, until `next_packet` hands it out.
    first: Option<(BlockHeader, Vec<u8>)>,
    /// The format of the current file's first frame.
    format: FrameFormat,
    /// The block index of the current file's first frame, and the stream time it starts at
    /// (files may follow each other in one stream).
    start_index: u64,
    start_pts: u64,
    /// Where the last frame handed out ends.
    next_pts: u64,
    /// A header read past the end of the frame before it.
    pending: Option<RawHeader>,
}

impl<'s> WavPackReader<'s> {
    /// Reads the stream's first frame to learn its format (the first that libwavpack can
    /// open, among the first few).
    pub fn try_new(mut source: MediaSourceStream<'s>) -> Result<Self> {
        const FRAMES_TRIED: usize = 4;
        let mut pending = None;
        let mut failure = SymphoniaError::Unsupported("wavpack: no audio blocks");
        let mut tried = 0;
        let (header, frame, format) = loop {
            if tried == FRAMES_TRIED {
                return Err(failure);
            }
            let (header, frame) = match read_frame(&mut source, &mut pending)? {
                Some(Ok(frame)) => frame,
                // Damage before the first frame: look on.
                Some(Err(_)) => continue,
                None => return Err(failure),
            };
            if header.flags & DSD_FLAG != 0 {
                return Err(SymphoniaError::Unsupported(
                    "wavpack: DSD (1-bit) audio, which this element does not decode",
                ));
            }
            tried += 1;
            match describe(&frame) {
                Ok(format) => break (header, frame, format),
                Err(damage) => failure = SymphoniaError::DecodeError(damage),
            }
        };
        let track = track_for(&header, &format);
        Ok(WavPackReader {
            source,
            media_info: MediaInfo::from_track(&track),
            tracks: vec![track],
            metadata: MetadataLog::default(),
            format,
            start_index: header.block_index,
            start_pts: 0,
            next_pts: 0,
            first: Some((header, frame)),
            pending,
        })
    }

    /// A frame that starts a new file in the stream (its block index went back): a new track
    /// when its format differs (`true`: the decoder must be made again), and the timeline goes
    /// on from the end of the file before.
    fn start_file(&mut self, header: &BlockHeader, frame: &[u8]) -> bool {
        self.start_index = header.block_index;
        self.start_pts = self.next_pts;
        let Ok(format) = describe(frame) else {
            return false;
        };
        if format == self.format {
            return false;
        }
        self.format = format;
        let track = track_for(header, &format);
        self.media_info = MediaInfo::from_track(&track);
        self.tracks = vec![track];
        true
    }
}

/// The one track of a stream whose first frame has `header` and `format`.
fn track_for(header: &BlockHeader, format: &FrameFormat) -> Track {
    let mut params = AudioCodecParameters::new();
    params
        .for_codec(CODEC_ID_WAVPACK)
        .with_sample_rate(format.rate)
        .with_channels(super::pcm_stream::wave_channels(
            format.channels,
            format.channel_mask,
        ))
        .with_bits_per_sample(u32::from(format.bits_per_sample))
        .with_max_frames_per_packet(u64::from(header.samples));
    let mut track = super::audio_track(params);
    // The length is the file's when it starts at its beginning.
    if let Some(total) = header.total_samples.filter(|_| header.block_index == 0) {
        track.with_num_frames(total);
    }
    track
}

/// Whether the source is at a WavPack block header; the source is left where it was.
pub fn at_block(source: &mut MediaSourceStream<'_>) -> bool {
    super::source::look_ahead(source, |source| {
        let mut header = [0u8; HEADER_LEN];
        source.read_buf_exact(&mut header).is_ok() && BlockHeader::parse(&header).is_some()
    })
}

/// A block header as read, and what it says.
type RawHeader = ([u8; HEADER_LEN], BlockHeader);

/// Reads the next block header, skipping bytes that do not start one: `None` at the end of the
/// stream, and whether bytes were skipped.
fn read_header(source: &mut MediaSourceStream<'_>) -> Result<Option<(RawHeader, bool)>> {
    let mut window = [0u8; HEADER_LEN];
    let mut filled = 0;
    let mut skipped = 0;
    loop {
        match source.read_buf_exact(&mut window[filled..]) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        if let Some(header) = BlockHeader::parse(&window) {
            return Ok(Some(((window, header), skipped > 0)));
        }
        // Keep what may start the next header: from the next `w` on.
        let next = window[1..]
            .iter()
            .position(|&b| b == b'w')
            .map_or(HEADER_LEN, |at| at + 1);
        window.copy_within(next.., 0);
        filled = HEADER_LEN - next;
        skipped += next;
        if skipped > MAX_SKIP {
            return Err(SymphoniaError::DecodeError(
                "wavpack: no block header in the last MiB of the stream",
            ));
        }
    }
}

/// What `read_frame` found.
type FrameRead = std::result::Result<(BlockHeader, Vec<u8>), &'static str>;

/// Reads the next whole frame: `None` at the end of the stream, `Some(Err)` when damage was
/// skipped or a frame lost a block. A header read past the frame it ends is left in `pending`
/// for the next call.
fn read_frame(
    source: &mut MediaSourceStream<'_>,
    pending: &mut Option<RawHeader>,
) -> Result<Option<FrameRead>> {
    let mut frame: Vec<u8> = Vec::new();
    let mut first: Option<BlockHeader> = None;
    let mut blocks = 0;
    loop {
        let ((raw, header), skipped) = match pending.take() {
            Some(raw_header) => (raw_header, false),
            None => match read_header(source)? {
                Some(found) => found,
                // A frame without its last block at the end is dropped.
                None => return Ok(None),
            },
        };
        if skipped {
            *pending = Some((raw, header));
            return Ok(Some(Err("wavpack: damaged data between blocks skipped")));
        }
        let body = (header.len - HEADER_LEN) as u64;
        let initial = header.flags & INITIAL_BLOCK != 0;
        if header.samples == 0 || (first.is_none() && !initial) {
            // Metadata only (a RIFF trailer), or the middle of a frame (a stream joined late):
            // nothing to decode.
            match source.ignore_bytes(body) {
                Ok(()) => continue,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(first) = &first {
            // A frame's blocks share its block index and end with the final-block flag.
            let belongs = !initial
                && header.block_index == first.block_index
                && blocks < MAX_FRAME_BLOCKS
                && frame.len() + header.len <= MAX_FRAME_BYTES;
            if !belongs {
                *pending = Some((raw, header));
                return Ok(Some(Err(
                    "wavpack: a frame that lost a block (or never ended) was skipped",
                )));
            }
        }
        blocks += 1;
        let start = frame.len();
        frame.extend_from_slice(&raw);
        frame.resize(start + header.len, 0);
        match source.read_buf_exact(&mut frame[start + HEADER_LEN..]) {
            Ok(()) => {}
            // A block cut short at the end is dropped.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let first = *first.get_or_insert(header);
        if header.flags & FINAL_BLOCK != 0 {
            return Ok(Some(Ok((first, frame))));
        }
    }
}

impl FormatReader for WavPackReader<'_> {
    super::unseekable_reader_methods!(WAVPACK_INFO);

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        let (header, frame) = match self.first.take() {
            Some(first) => first,
            None => {
                // Nothing read before is sought back to: the read-ahead ring may start over.
                super::source::restart_read_ahead(&mut self.source);
                match read_frame(&mut self.source, &mut self.pending)? {
                    Some(Ok((header, frame))) => {
                        let ended = self.next_pts - self.start_pts;
                        let went_back = header.block_index < self.start_index + ended;
                        if went_back && self.start_file(&header, &frame) {
                            self.first = Some((header, frame));
                            return Err(SymphoniaError::ResetRequired);
                        }
                        (header, frame)
                    }
                    Some(Err(damage)) => return Err(SymphoniaError::DecodeError(damage)),
                    None => return Ok(None),
                }
            }
        };
        let pts = header.block_index.saturating_sub(self.start_index) + self.start_pts;
        self.next_pts = pts + u64::from(header.samples);
        Ok(Some(super::track_packet(
            pts,
            u64::from(header.samples),
            frame,
        )))
    }
}

impl Scoreable for WavPackReader<'_> {
    fn score(mut source: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        // Even when this first header is damaged: the reader looks for the next block, where
        // the probe would go on to the WAV header inside the first block and play the
        // compressed audio after it as PCM.
        let magic = source.read_quad_bytes()?;
        Ok(if &magic == b"wvpk" {
            Score::Supported(255)
        } else {
            Score::Unsupported
        })
    }
}

impl ProbeableFormat<'_> for WavPackReader<'_> {
    fn try_probe_new(
        source: MediaSourceStream<'_>,
        _opts: FormatOptions,
    ) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(WavPackReader::try_new(source)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        static DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["wv"],
                mime_types: &["audio/x-wavpack", "audio/wavpack"],
                markers: &[b"wvpk"],
            },
            info: WAVPACK_INFO,
        }];
        &DATA
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::source::Unseekable;

    /// A block of `body` bytes (not a valid bitstream: only the cutting is tested here).
    fn block(index: u32, samples: u32, flags: u32, body: usize) -> Vec<u8> {
        let mut bytes = b"wvpk".to_vec();
        bytes.extend((body as u32 + 24).to_le_bytes());
        bytes.extend(0x410u16.to_le_bytes());
        bytes.extend([0, 0]);
        bytes.extend(u32::MAX.to_le_bytes()); // total samples unknown
        bytes.extend(index.to_le_bytes());
        bytes.extend(samples.to_le_bytes());
        bytes.extend(flags.to_le_bytes());
        bytes.extend(0u32.to_le_bytes());
        bytes.extend(std::iter::repeat_n(0x5a, body));
        bytes
    }

    fn frames(bytes: Vec<u8>) -> Vec<std::result::Result<(u64, usize), &'static str>> {
        let mut source = MediaSourceStream::new(
            Box::new(Unseekable::new(io::Cursor::new(bytes))),
            Default::default(),
        );
        let mut pending = None;
        let mut out = Vec::new();
        while let Some(frame) = read_frame(&mut source, &mut pending).unwrap() {
            out.push(frame.map(|(header, data)| (header.block_index, data.len())));
        }
        out
    }

    #[test]
    fn blocks_are_gathered_into_frames() {
        const WHOLE: u32 = INITIAL_BLOCK | FINAL_BLOCK;
        let mut bytes = block(0, 100, INITIAL_BLOCK, 10);
        bytes.extend(block(0, 100, 0, 12));
        bytes.extend(block(0, 100, FINAL_BLOCK, 14));
        bytes.extend(block(100, 0, WHOLE, 8)); // metadata only
        bytes.extend(block(100, 100, WHOLE, 16));
        assert_eq!(frames(bytes), [Ok((0, 36 + 3 * 32)), Ok((100, 48))]);
    }

    #[test]
    fn damage_and_lost_blocks_are_reported_and_passed_over() {
        const WHOLE: u32 = INITIAL_BLOCK | FINAL_BLOCK;
        // Joined in the middle of a frame: its last block is passed over quietly.
        let mut bytes = block(0, 100, FINAL_BLOCK, 10);
        bytes.extend(block(100, 100, WHOLE, 10));
        bytes.extend(b"junk with a w in it");
        bytes.extend(block(200, 100, WHOLE, 10));
        // A frame that lost its last block, then the next frame.
        bytes.extend(block(300, 100, INITIAL_BLOCK, 10));
        bytes.extend(block(400, 100, WHOLE, 10));
        // A block cut short at the end.
        bytes.extend(&block(500, 100, WHOLE, 10)[..20]);
        assert_eq!(
            frames(bytes),
            [
                Ok((100, 42)),
                Err("wavpack: damaged data between blocks skipped"),
                Ok((200, 42)),
                Err("wavpack: a frame that lost a block (or never ended) was skipped"),
                Ok((400, 42)),
            ]
        );
    }

    #[test]
    fn a_frame_that_never_ends_is_not_held() {
        let mut bytes = block(0, 100, INITIAL_BLOCK, 8);
        for _ in 0..MAX_FRAME_BLOCKS + 10 {
            bytes.extend(block(0, 100, 0, 8));
        }
        bytes.extend(block(100, 100, INITIAL_BLOCK | FINAL_BLOCK, 8));
        assert_eq!(
            frames(bytes),
            [
                Err("wavpack: a frame that lost a block (or never ended) was skipped"),
                Ok((100, 40)),
            ]
        );
    }

    #[test]
    fn headers_are_checked_as_libwavpack_checks_them() {
        let good: [u8; HEADER_LEN] = block(7, 100, 0, 10)[..HEADER_LEN].try_into().unwrap();
        let header = BlockHeader::parse(&good).unwrap();
        assert_eq!(
            (header.len, header.block_index, header.samples),
            (42, 7, 100)
        );
        assert_eq!(header.total_samples, None);
        let mut odd = good;
        odd[4] = 35;
        let mut old = good;
        old[8] = 0x01;
        old[9] = 0x04;
        let mut long = good;
        long[22] = 3;
        for bad in [odd, old, long] {
            assert_eq!(BlockHeader::parse(&bad), None);
        }
    }
}
