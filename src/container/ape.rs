//! Monkey's Audio files (`.ape`, version 3.98 and later): a descriptor, a header, a seek table
//! giving each frame's byte offset, the original WAV header, then the frames. Each frame goes
//! out as one packet as soon as its bytes are in; `codecs::ape` decodes it.
//!
//! The header is parsed by the `ape-decoder` crate (the decoder's own parser), over the header
//! bytes alone: its file reader wants to seek, which a stream cannot. Cutting the frames is
//! written here: frame `i` starts at the seek table's offset, read from the 32-bit word it
//! starts in, and the decoder reads up to 4 bytes past its end (the start of the next frame),
//! so the reader keeps those few bytes for the next packet. Files before version 3.98 keep no
//! length of their frame data, so the last frame's end is only known at the end of the file:
//! they are refused by name. What follows the last frame (the terminating data, an APEv2 or
//! ID3v1 tag) is read past; another file after it is read as the next stream.

use std::io::{self, Read, Seek, SeekFrom};

use ape_decoder::ApeFileInfo;
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

use crate::codecs::ape::{CODEC_ID_MONKEYS_AUDIO, StreamParams, reason};

static APE_INFO: FormatInfo = FormatInfo {
    format: FormatId::new(FourCc::new(MAGIC)),
    short_name: "ape",
    long_name: "Monkey's Audio",
};

/// What a Monkey's Audio file starts with.
const MAGIC: [u8; 4] = *b"MAC ";
/// The first version whose descriptor states the length of the frame data.
const FIRST_DESCRIPTOR_VERSION: u16 = 3980;
/// Bytes of the descriptor's fixed fields this reader looks at.
const DESCRIPTOR_FIELDS: usize = 36;
/// The longest header (descriptor, header, seek table and the original WAV header) read: a seek
/// table of 4 bytes per frame of 73728 samples covers days of audio in 1 MiB.
const MAX_HEAD: u64 = 4 << 20;
/// The most samples a frame holds: 73728 × 16, at the insane compression level.
const MAX_FRAME_BLOCKS: u32 = 73_728 * 16;
/// The longest frame kept in memory (the decoder refuses more).
const MAX_FRAME: u64 = 64 << 20;

/// Whether the source is at a Monkey's Audio header; the source is left where it was.
pub fn at_header(source: &mut MediaSourceStream<'_>) -> bool {
    super::source::look_ahead(source, |source| {
        source.read_quad_bytes().is_ok_and(|magic| magic == MAGIC)
    })
}

/// The header bytes, seen as the whole file by the crate's parser: seeking to the end gives
/// the file's length as the descriptor states it, and nothing past the header is read.
struct HeadOnly {
    bytes: io::Cursor<Vec<u8>>,
    file_len: u64,
}

impl Read for HeadOnly {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.bytes.read(buf)
    }
}

impl Seek for HeadOnly {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match to {
            SeekFrom::End(delta) => {
                let pos = self.file_len.saturating_add_signed(delta);
                self.bytes.set_position(pos);
                Ok(pos)
            }
            other => self.bytes.seek(other),
        }
    }
}

/// Reads the header, seek table and original WAV header at the start of `source`.
fn read_head(source: &mut MediaSourceStream<'_>) -> Result<ApeFileInfo> {
    let mut fixed = [0u8; DESCRIPTOR_FIELDS];
    ReadBytes::read_buf_exact(source, &mut fixed)?;
    let u32_at = |at: usize| u32::from_le_bytes(fixed[at..at + 4].try_into().unwrap());
    let version = u16::from_le_bytes([fixed[4], fixed[5]]);
    if fixed[..4] != MAGIC {
        return Err(SymphoniaError::DecodeError("ape: no Monkey's Audio header"));
    }
    if version < FIRST_DESCRIPTOR_VERSION {
        return Err(SymphoniaError::Unsupported(
            "ape: Monkey's Audio files before version 3.98 cannot be decoded from a stream (their \
             header does not say where the audio ends)",
        ));
    }
    let head_len = [8, 12, 16, 20]
        .iter()
        .map(|&at| u64::from(u32_at(at)))
        .sum::<u64>();
    let frame_data = u64::from(u32_at(24)) | (u64::from(u32_at(28)) << 32);
    let terminating = u64::from(u32_at(32));
    if !(DESCRIPTOR_FIELDS as u64..=MAX_HEAD).contains(&head_len) {
        return Err(SymphoniaError::DecodeError(
            "ape: implausible header length",
        ));
    }
    let mut bytes = fixed.to_vec();
    bytes.resize(head_len as usize, 0);
    ReadBytes::read_buf_exact(source, &mut bytes[DESCRIPTOR_FIELDS..])?;
    let mut head = HeadOnly {
        bytes: io::Cursor::new(bytes),
        file_len: head_len + frame_data + terminating,
    };
    ape_decoder::format::parse(&mut head).map_err(|e| SymphoniaError::DecodeError(reason(&e)))
}

/// Reads the frames of a Monkey's Audio file, a packet each.
pub struct ApeReader<'s> {
    source: MediaSourceStream<'s>,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    info: ApeFileInfo,
    /// The next frame to hand out.
    next_frame: u32,
    /// Bytes read from the stream and still needed, from file offset `kept_from` on (files
    /// may follow each other in one stream: offsets count from this file's first byte).
    kept: Vec<u8>,
    kept_from: u64,
}

impl<'s> ApeReader<'s> {
    pub fn try_new(mut source: MediaSourceStream<'s>) -> Result<Self> {
        let file_start = source.pos();
        let info = read_head(&mut source)?;
        let header = &info.header;
        let params = StreamParams {
            version: info.descriptor.version,
            compression: header.compression_level,
            bits_per_sample: header.bits_per_sample,
            channels: header.channels,
        };
        if header.total_frames > 0 && info.seek_table.len() < header.total_frames as usize {
            return Err(SymphoniaError::DecodeError(
                "ape: the seek table has fewer entries than the file has frames",
            ));
        }
        if header.blocks_per_frame > MAX_FRAME_BLOCKS
            || header.final_frame_blocks > header.blocks_per_frame
        {
            return Err(SymphoniaError::DecodeError(
                "ape: the header declares frames longer than any encoder writes",
            ));
        }
        let kept_from = source.pos() - file_start;
        if header.total_frames > 0 && info.seek_byte(0) != kept_from {
            // The frames start right after the header.
            return Err(SymphoniaError::DecodeError(
                "ape: the seek table is damaged (the first frame is not after the header)",
            ));
        }
        let mut codec = AudioCodecParameters::new();
        codec
            .for_codec(CODEC_ID_MONKEYS_AUDIO)
            .with_sample_rate(header.sample_rate)
            .with_channels(super::pcm_stream::wave_channels(header.channels, 0))
            .with_bits_per_sample(u32::from(header.bits_per_sample))
            .with_max_frames_per_packet(u64::from(header.blocks_per_frame))
            .with_extra_data(params.to_bytes().into());
        let mut track = super::audio_track(codec);
        track.with_num_frames(info.total_blocks.max(0) as u64);
        Ok(ApeReader {
            source,
            media_info: MediaInfo::from_track(&track),
            tracks: vec![track],
            metadata: MetadataLog::default(),
            info,
            next_frame: 0,
            kept: Vec::new(),
            kept_from,
        })
    }

    /// Where frame `index` starts: its seek table offset, less the bytes between it and the
    /// start of the 32-bit word it is in (counted from the first frame).
    fn frame_start(&self, index: u32) -> (u64, u8) {
        // The crate's seek table only grows: an entry below the one before is read as past
        // 4 GiB (the 32-bit table wraps in files that large).
        let remainder = (self.info.seek_byte(index) - self.info.seek_byte(0)) % 4;
        (self.info.seek_byte(index) - remainder, remainder as u8)
    }

    /// Reads until the kept bytes reach file offset `end`, or the stream ends. What is kept
    /// grows with the bytes that arrive, not with what the header promises.
    fn fill_to(&mut self, end: u64) -> Result<()> {
        let mut chunk = [0u8; 4096];
        loop {
            let have = self.kept_from + self.kept.len() as u64;
            if have >= end {
                return Ok(());
            }
            let want = (end - have).min(chunk.len() as u64) as usize;
            match self.source.read(&mut chunk[..want]) {
                Ok(0) => return Ok(()),
                Ok(n) => self.kept.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Reads past what follows the last frame: the terminating data, and tags to the end of
    /// the stream. Anything else is the next stream's, for the probe.
    fn read_past_the_rest(&mut self) {
        let _ = self
            .source
            .ignore_bytes(u64::from(self.info.descriptor.terminating_data_bytes));
        super::skip_trailing_tags(&mut self.source);
    }
}

impl FormatReader for ApeReader<'_> {
    super::unseekable_reader_methods!(APE_INFO);

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        let index = self.next_frame;
        if index >= self.info.header.total_frames {
            self.read_past_the_rest();
            return Ok(None);
        }
        let (start, remainder) = self.frame_start(index);
        let len = self.info.frame_byte_count(index);
        if start < self.kept_from || len > MAX_FRAME {
            // Nothing after this can be found: the stream ends with this error.
            self.next_frame = self.info.header.total_frames;
            return Err(SymphoniaError::DecodeError(
                "ape: the seek table is damaged (a frame out of place or longer than any encoder writes)",
            ));
        }
        let data_end = self.info.seek_byte(0) + self.info.ape_frame_data_bytes;
        // The decoder reads a word past the frame's end.
        let end = (self.info.seek_byte(index) + len + 4).min(data_end);
        self.fill_to(end)?;
        let have = self.kept_from + self.kept.len() as u64;
        if have < end.min(self.info.seek_byte(index) + len) {
            // Cut short: the stream ended inside this frame.
            return Ok(None);
        }
        let from = (start - self.kept_from) as usize;
        let to = (end - self.kept_from) as usize;
        let mut data = Vec::with_capacity(1 + to - from);
        data.push(remainder);
        data.extend_from_slice(&self.kept[from..to]);
        self.next_frame += 1;
        // Keep what the next frame starts with.
        let next_start = if self.next_frame < self.info.header.total_frames {
            self.frame_start(self.next_frame).0
        } else {
            have
        };
        let drop = (next_start.saturating_sub(self.kept_from) as usize).min(self.kept.len());
        self.kept.drain(..drop);
        self.kept_from += drop as u64;
        let blocks = self.info.frame_block_count(index);
        let pts = u64::from(index) * u64::from(self.info.header.blocks_per_frame);
        Ok(Some(super::track_packet(pts, u64::from(blocks), data)))
    }
}

impl Scoreable for ApeReader<'_> {
    fn score(mut source: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        let magic = source.read_quad_bytes()?;
        Ok(if magic == MAGIC {
            Score::Supported(255)
        } else {
            Score::Unsupported
        })
    }
}

impl ProbeableFormat<'_> for ApeReader<'_> {
    fn try_probe_new(
        source: MediaSourceStream<'_>,
        _opts: FormatOptions,
    ) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(ApeReader::try_new(source)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        static DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["ape"],
                mime_types: &["audio/x-ape", "audio/ape"],
                markers: &[&MAGIC],
            },
            info: APE_INFO,
        }];
        &DATA
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::source::Unseekable;
    use symphonia::core::io::MediaSourceStreamOptions;

    /// 10 s of an 8 kHz 8-bit sine, made here by `jmac c1` (Monkey's Audio's Java port): two
    /// frames, 73728 and 6272 samples; the seek table (at byte 76) says 162 and 20136.
    const TWO_FRAMES: &[u8] = include_bytes!("../../tests/data/ape-two-frames.ape");
    const SEEK_TABLE: usize = 76;

    fn reader(bytes: Vec<u8>) -> Result<ApeReader<'static>> {
        ApeReader::try_new(MediaSourceStream::new(
            Box::new(Unseekable::new(io::Cursor::new(bytes))),
            MediaSourceStreamOptions::default(),
        ))
    }

    #[test]
    fn frames_come_out_with_their_alignment_and_the_word_after_them() {
        let mut reader = reader(TWO_FRAMES.to_vec()).unwrap();
        let first = reader.next_packet().unwrap().unwrap();
        assert_eq!((first.pts.get(), first.dur.get()), (0, 73_728));
        // The first frame sets the word grid; the decoder reads 4 bytes of the next frame.
        assert_eq!(first.data[0], 0);
        assert_eq!(&first.data[1..], &TWO_FRAMES[162..20_136 + 4]);
        let second = reader.next_packet().unwrap().unwrap();
        assert_eq!((second.pts.get(), second.dur.get()), (73_728, 6272));
        // 20136 is 2 bytes into a word of that grid: the frame is read from the word's start,
        // to the end of the file (no terminating data here).
        assert_eq!(second.data[0], 2);
        assert_eq!(&second.data[1..], &TWO_FRAMES[20_134..]);
        assert!(reader.next_packet().unwrap().is_none());
    }

    #[test]
    fn a_seek_table_out_of_order_or_not_after_the_header_is_refused() {
        let mut swapped = TWO_FRAMES.to_vec();
        swapped[SEEK_TABLE..SEEK_TABLE + 4].copy_from_slice(&30_000u32.to_le_bytes());
        assert!(reader(swapped).is_err());
        let mut late = TWO_FRAMES.to_vec();
        late[SEEK_TABLE..SEEK_TABLE + 4].copy_from_slice(&200u32.to_le_bytes());
        assert!(reader(late).is_err());
        // An entry below the one before is read as past 4 GiB (the 32-bit table wraps in files
        // that large): a frame of 4 GiB, refused before anything is read for it.
        let mut disordered = TWO_FRAMES.to_vec();
        disordered[SEEK_TABLE + 4..SEEK_TABLE + 8].copy_from_slice(&100u32.to_le_bytes());
        let mut reader = reader(disordered).unwrap();
        assert!(reader.next_packet().is_err());
        assert!(
            reader.next_packet().unwrap().is_none(),
            "and the stream ends there"
        );
    }
}
