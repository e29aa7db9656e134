//! Uncompressed PCM samples as a symphonia [`FormatReader`]: the one reader behind every PCM
//! container we parse ourselves (`riff`, `aiff`, `caf`) and behind headerless PCM described by
//! caps or a MIME type (`raw`).
//!
//! The samples themselves are decoded by symphonia's PCM codec; this reader only cuts the byte
//! stream into packets of whole frames. Packets are as large as what has arrived (never waiting
//! for a fixed packet size), so the first PCM comes out as soon as the first frame is complete.

use symphonia::core::audio::{Channels, Position};
use symphonia::core::codecs::audio::well_known::*;
use symphonia::core::codecs::audio::{AudioCodecId, AudioCodecParameters};
use symphonia::core::errors::{Result, SeekErrorKind, seek_error};
use symphonia::core::formats::{FormatInfo, FormatReader, SeekMode, SeekTo, SeekedTo, Track};
use symphonia::core::io::{MediaSourceStream, ReadBytes, SeekBuffered};
use symphonia::core::meta::{Metadata, MetadataLog};
use symphonia::core::packet::Packet;
use symphonia::core::units::{Duration, Timestamp};

use crate::codecs::telephony::Codec;
use crate::codecs::{ima_qt, yamaha_adpcm};

/// How one sample is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleCoding {
    /// An integer in `bytes` bytes. `bits` is how many of them carry the value: equal to
    /// `bytes * 8` for left-justified samples (WAV, AIFF: the unused low bits are zero), fewer
    /// for right-justified ones (GStreamer's `S24_32LE`, `S20LE`).
    Int {
        bytes: u8,
        bits: u8,
        signed: bool,
        big_endian: bool,
    },
    /// IEEE float of 4 or 8 bytes.
    Float { bytes: u8, big_endian: bool },
    /// G.711 µ-law, one byte a sample.
    MuLaw,
    /// G.711 A-law, one byte a sample.
    ALaw,
    /// A telephony codec coding a fixed number of samples in a fixed number of bytes (G.722,
    /// G.726, GSM 06.10), mono; decoded by `codecs::telephony`.
    Coded(Codec),
    /// Apple's IMA ADPCM (`ima4`): per channel a 34-byte block of 64 frames; decoded by
    /// `codecs::ima_qt`.
    ImaQt,
    /// Yamaha ADPCM, a code of 4 bits a sample, mono or stereo; decoded by
    /// `codecs::yamaha_adpcm`.
    YamahaAdpcm,
}

impl SampleCoding {
    /// A left-justified integer coding (every bit of the container is significant).
    pub const fn int(bytes: u8, signed: bool, big_endian: bool) -> SampleCoding {
        SampleCoding::Int {
            bytes,
            bits: bytes * 8,
            signed,
            big_endian,
        }
    }

    /// The smallest whole unit of `channels` channels: its bytes and the frames it holds.
    fn block(self, channels: u16) -> Block {
        let channels = usize::from(channels);
        let (bytes, frames) = match self {
            SampleCoding::Int { bytes, .. } | SampleCoding::Float { bytes, .. } => {
                (usize::from(bytes) * channels, 1)
            }
            SampleCoding::MuLaw | SampleCoding::ALaw => (channels, 1),
            SampleCoding::Coded(codec) => codec.block(),
            SampleCoding::ImaQt => (ima_qt::BLOCK_BYTES * channels, ima_qt::BLOCK_FRAMES as u64),
            // A byte: two mono samples or a stereo frame.
            SampleCoding::YamahaAdpcm => (1, if channels == 1 { 2 } else { 1 }),
        };
        Block { bytes, frames }
    }

    /// The symphonia PCM codec for this coding, with the widths it needs; `None` for a coding
    /// it has no codec for (integers wider than 4 bytes, floats other than 4 or 8 bytes).
    fn codec(self) -> Option<(AudioCodecId, Option<(u32, u32)>)> {
        Some(match self {
            SampleCoding::Coded(codec @ Codec::G726 { bits, .. }) => {
                (codec.codec_id(), Some((16, u32::from(bits))))
            }
            SampleCoding::Coded(codec) => (codec.codec_id(), None),
            SampleCoding::ImaQt => (CODEC_ID_ADPCM_IMA_QT, None),
            SampleCoding::YamahaAdpcm => (yamaha_adpcm::CODEC_ID_ADPCM_YAMAHA, None),
            SampleCoding::MuLaw => (CODEC_ID_PCM_MULAW, None),
            SampleCoding::ALaw => (CODEC_ID_PCM_ALAW, None),
            SampleCoding::Float {
                bytes: 4,
                big_endian,
            } => (
                pick(big_endian, CODEC_ID_PCM_F32BE, CODEC_ID_PCM_F32LE),
                None,
            ),
            SampleCoding::Float {
                bytes: 8,
                big_endian,
            } => (
                pick(big_endian, CODEC_ID_PCM_F64BE, CODEC_ID_PCM_F64LE),
                None,
            ),
            SampleCoding::Float { .. } => return None,
            SampleCoding::Int {
                bytes,
                bits,
                signed,
                big_endian,
            } => {
                if bits == 0 || bits > bytes * 8 {
                    return None;
                }
                let id = match (bytes, signed) {
                    (1, true) => CODEC_ID_PCM_S8,
                    (1, false) => CODEC_ID_PCM_U8,
                    (2, true) => pick(big_endian, CODEC_ID_PCM_S16BE, CODEC_ID_PCM_S16LE),
                    (2, false) => pick(big_endian, CODEC_ID_PCM_U16BE, CODEC_ID_PCM_U16LE),
                    (3, true) => pick(big_endian, CODEC_ID_PCM_S24BE, CODEC_ID_PCM_S24LE),
                    (3, false) => pick(big_endian, CODEC_ID_PCM_U24BE, CODEC_ID_PCM_U24LE),
                    (4, true) => pick(big_endian, CODEC_ID_PCM_S32BE, CODEC_ID_PCM_S32LE),
                    (4, false) => pick(big_endian, CODEC_ID_PCM_U32BE, CODEC_ID_PCM_U32LE),
                    _ => return None,
                };
                // Symphonia's codec shifts a sample up by (bits_per_sample - bits_per_coded_sample).
                (id, Some((bytes as u32 * 8, bits as u32)))
            }
        })
    }
}

fn pick(big_endian: bool, be: AudioCodecId, le: AudioCodecId) -> AudioCodecId {
    if big_endian { be } else { le }
}

/// `count` channels as symphonia names them, from a WAVE channel mask (0: none given): by the
/// mask when it names one position per channel, else WAV's default positions for the count,
/// else unnamed. The PCM containers and WavPack (which keeps WAV's order) describe their
/// channels this way.
pub fn wave_channels(count: u16, mask: u32) -> Channels {
    let from_mask = Position::from_bits(u64::from(mask))
        .filter(|p| mask != 0 && p.bits().count_ones() == u32::from(count));
    match from_mask.or_else(|| Position::from_wave_channel_count(u32::from(count))) {
        Some(positions) => Channels::Positioned(positions),
        None => Channels::Discrete(count),
    }
}

/// Everything needed to read a PCM sample stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcmLayout {
    pub coding: SampleCoding,
    pub rate: u32,
    pub channels: u16,
    /// Speaker positions as a WAVE channel mask; 0 when the container gives none (the standard
    /// layout for the count is assumed).
    pub channel_mask: u32,
}

/// The smallest whole unit of a sample stream: a frame of PCM, a coded block of a telephony
/// codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub bytes: usize,
    pub frames: u64,
}

impl Block {
    /// The frames in `bytes` bytes of whole blocks (a partial block at the end is not counted).
    pub fn frames_in(self, bytes: u64) -> u64 {
        bytes / self.bytes.max(1) as u64 * self.frames
    }
}

impl PcmLayout {
    pub fn block(&self) -> Block {
        self.coding.block(self.channels)
    }

    /// Why this layout cannot be decoded, if it cannot.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.rate == 0 || self.rate > 1_536_000 {
            return Err(format!("impossible sample rate {} Hz", self.rate));
        }
        if self.channels == 0 || self.channels > 64 {
            return Err(format!("impossible channel count {}", self.channels));
        }
        if self.coding.codec().is_none() {
            return Err(format!("unsupported sample coding {:?}", self.coding));
        }
        if let SampleCoding::Coded(codec) = self.coding
            && self.channels != 1
        {
            return Err(format!(
                "{} in {} channels (only mono is decoded)",
                codec.name(),
                self.channels
            ));
        }
        if self.coding == SampleCoding::YamahaAdpcm && self.channels > 2 {
            return Err(format!(
                "Yamaha ADPCM in {} channels (mono and stereo are decoded)",
                self.channels
            ));
        }
        Ok(())
    }

    /// A track of these samples, timed by their rate (for PCM in other containers: FLV, AVI).
    pub(crate) fn track(&self) -> Track {
        super::audio_track(self.codec_params())
    }

    pub(crate) fn codec_params(&self) -> AudioCodecParameters {
        let (codec, widths) = self.coding.codec().expect("layout checked before use");
        let mut params = AudioCodecParameters::new();
        params
            .for_codec(codec)
            .with_sample_rate(self.rate)
            .with_channels(wave_channels(self.channels, self.channel_mask))
            .with_max_frames_per_packet(self.block().frames_in(MAX_PACKET_BYTES as u64));
        if let Some((bits_per_sample, bits_per_coded_sample)) = widths {
            params
                .with_bits_per_sample(bits_per_sample)
                .with_bits_per_coded_sample(bits_per_coded_sample);
        }
        params
    }
}

/// What a container header says about the sample data that follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcmHeader {
    pub layout: PcmLayout,
    /// Bytes of sample data; `None` when unknown (streaming writers, headerless PCM): read to the
    /// end of the stream.
    pub data_len: Option<u64>,
    /// Bytes after the sample data that still belong to this file (trailing chunks inside the
    /// RIFF or FORM size), skipped so the next file in the stream starts clean.
    pub trailing_len: u64,
    /// Frames the header declares, when it does (a `fact` chunk, AIFF's `COMM`).
    pub declared_frames: Option<u64>,
}

/// The largest packet handed to the codec: big enough to keep per-packet costs small, small
/// enough to keep the decoded buffer in cache.
const MAX_PACKET_BYTES: usize = 16 * 1024;

/// `RIFF`, the RIFF size, `WAVE`: what starts a WAV file.
const SIGNATURE_LEN: usize = 12;

/// A [`FormatReader`] over PCM sample data that starts at the source's current position.
pub struct PcmStreamReader<'s> {
    source: MediaSourceStream<'s>,
    info: &'static FormatInfo,
    tracks: Vec<Track>,
    media_info: symphonia::core::formats::MediaInfo,
    metadata: MetadataLog,
    block: Block,
    data_left: Option<u64>,
    trailing_len: u64,
    next_ts: u64,
}

impl<'s> PcmStreamReader<'s> {
    /// A reader for the samples that follow a parsed header, whose layout passed
    /// [`PcmLayout::check`].
    pub fn new(
        source: MediaSourceStream<'s>,
        info: &'static FormatInfo,
        header: PcmHeader,
    ) -> PcmStreamReader<'s> {
        let layout = header.layout;
        debug_assert_eq!(layout.check(), Ok(()));
        let block = layout.block();
        let mut track = layout.track();
        let frames = header
            .declared_frames
            .or(header.data_len.map(|len| block.frames_in(len)));
        if let Some(frames) = frames {
            track.with_num_frames(frames);
            track.with_duration(Duration::from(frames));
        }
        PcmStreamReader {
            source,
            info,
            media_info: symphonia::core::formats::MediaInfo::from_track(&track),
            tracks: vec![track],
            metadata: MetadataLog::default(),
            block,
            data_left: header.data_len,
            trailing_len: header.trailing_len,
            next_ts: 0,
        }
    }

    /// Bytes to read for the next packet: every whole block already buffered (up to the packet
    /// limit and the end of the data), or one block when less than that has arrived.
    fn next_packet_len(&mut self) -> std::io::Result<usize> {
        if self.source.unread_buffer_len() == 0 {
            // Nothing before this packet is sought back to: the ring may start over.
            super::source::restart_read_ahead(&mut self.source);
            // Waits for the next bytes; the source then holds whatever arrived with them.
            self.source.read_byte()?;
            self.source.seek_buffered_rev(1);
        }
        let limit = self.data_left.map_or(MAX_PACKET_BYTES, |left| {
            left.min(MAX_PACKET_BYTES as u64) as usize
        });
        let buffered = self.source.unread_buffer_len().min(limit);
        let whole = buffered - buffered % self.block.bytes;
        Ok(if whole > 0 {
            whole
        } else {
            self.block.bytes.min(limit)
        })
    }

    /// Where the next WAV file's header starts in `data`, read from a WAV whose header did not
    /// say how long its samples are (0 or 0xFFFFFFFF, as streaming writers put it), and whether
    /// its whole signature is there. TTS services that send each chunk of an answer as a WAV of
    /// its own do that; without this each following header would play as a click. `RIFF` and
    /// `WAVE` eight bytes apart are not samples by chance (one chance in 2^64 per position). A
    /// signature cut by the end of `data` is looked at again whole with the next bytes.
    fn next_wav_header(&self, data: &[u8]) -> Option<(usize, bool)> {
        use symphonia::core::formats::well_known::FORMAT_ID_WAVE;
        if self.data_left.is_some() || self.info.format != FORMAT_ID_WAVE {
            return None;
        }
        memchr::memchr_iter(b'R', data).find_map(|at| {
            let candidate = &data[at..];
            let fits = |pattern: &[u8], offset: usize| {
                candidate
                    .get(offset..)
                    .is_none_or(|rest| rest.iter().zip(pattern).all(|(a, b)| a == b))
            };
            let whole = candidate.len() >= SIGNATURE_LEN;
            (fits(b"RIFF", 0) && fits(b"WAVE", 8)).then_some((at, whole))
        })
    }

    /// Skips a partial frame at the end of the sample data and what follows the data inside
    /// this file. A file cut short here is fine.
    fn skip_trailing(&mut self) {
        let len = self.data_left.take().unwrap_or(0) + std::mem::take(&mut self.trailing_len);
        if len > 0 {
            let _ = self.source.ignore_bytes(len);
        }
        self.data_left = Some(0);
    }
}

impl FormatReader for PcmStreamReader<'_> {
    fn format_info(&self) -> &FormatInfo {
        self.info
    }

    fn media_info(&self) -> &symphonia::core::formats::MediaInfo {
        &self.media_info
    }

    fn metadata(&mut self) -> Metadata<'_> {
        self.metadata.metadata()
    }

    fn seek(&mut self, _mode: SeekMode, _to: SeekTo) -> Result<SeekedTo> {
        seek_error(SeekErrorKind::Unseekable)
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        if self
            .data_left
            .is_some_and(|left| left < self.block.bytes as u64)
        {
            self.skip_trailing();
            return Ok(None);
        }
        let len = match self.next_packet_len() {
            Ok(len) => len,
            // The end of the stream: a streaming or truncated file ends here.
            Err(_) => return Ok(None),
        };
        let mut data = vec![0u8; len];
        let data = match super::source::read_restarting(&mut self.source, &mut data) {
            Ok(()) => data.into_boxed_slice(),
            // A partial frame at the very end cannot be decoded.
            Err(_) => return Ok(None),
        };
        let (data, len) = match self.next_wav_header(&data) {
            // The packet is the start of a signature: wait for enough bytes to tell.
            Some((0, false)) => match self
                .source
                .read_boxed_slice_exact(SIGNATURE_LEN.next_multiple_of(self.block.bytes) - len)
            {
                Ok(more) => {
                    let data: Box<[u8]> = [&data[..], &more[..]].concat().into();
                    let len = data.len();
                    (data, len)
                }
                // The stream ends with a cut header: nothing to decode there.
                Err(_) => return Ok(None),
            },
            _ => (data, len),
        };
        let split = self
            .next_wav_header(&data)
            .and_then(|(at, whole_signature)| {
                let keep = at - at % self.block.bytes;
                // A cut signature needs frames before it: the packet must make progress.
                (whole_signature || keep > 0).then_some((keep, whole_signature))
            });
        let (data, len) = match split {
            Some((keep, whole_signature)) => {
                // Give the bytes from there back to the source and hand out the whole frames
                // before them; at a whole signature this stream ends there, and the reader that
                // follows reads the next file.
                let back = len - keep;
                let from = self.source.pos();
                if self.source.seek_buffered_rel(-(back as isize)) != from - back as u64 {
                    self.source.seek_buffered(from);
                    (data, len)
                } else {
                    if whole_signature {
                        // Ends this stream at the next call (data_left was unknown until now).
                        self.data_left = Some(keep as u64);
                    }
                    if keep == 0 {
                        return Ok(None);
                    }
                    (data[..keep].into(), keep)
                }
            }
            None => (data, len),
        };
        if let Some(left) = self.data_left.as_mut() {
            *left -= len as u64;
        }
        let frames = self.block.frames_in(len as u64);
        let pts = Timestamp::try_from(self.next_ts).unwrap_or(Timestamp::MAX);
        self.next_ts += frames;
        Ok(Some(Packet::new(0, pts, Duration::from(frames), data)))
    }

    fn into_inner<'a>(self: Box<Self>) -> MediaSourceStream<'a>
    where
        Self: 'a,
    {
        self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use symphonia::core::formats::well_known::FORMAT_ID_WAVE;
    use symphonia::core::io::MediaSourceStreamOptions;

    static INFO: FormatInfo = FormatInfo {
        format: FORMAT_ID_WAVE,
        short_name: "test",
        long_name: "test",
    };

    fn source(bytes: Vec<u8>) -> MediaSourceStream<'static> {
        MediaSourceStream::new(
            Box::new(Cursor::new(bytes)),
            MediaSourceStreamOptions::default(),
        )
    }

    fn s16_stereo(rate: u32) -> PcmLayout {
        PcmLayout {
            coding: SampleCoding::int(2, true, false),
            rate,
            channels: 2,
            channel_mask: 0,
        }
    }

    #[test]
    fn packets_are_whole_frames_and_stop_at_the_data_length() {
        let header = PcmHeader {
            layout: s16_stereo(8000),
            data_len: Some(4 * 1000 + 2),
            trailing_len: 6,
            declared_frames: None,
        };
        let mut bytes = vec![1u8; 4 * 1000 + 2 + 6];
        bytes.extend_from_slice(b"NEXT");
        let mut reader = PcmStreamReader::new(source(bytes), &INFO, header);
        assert_eq!(reader.tracks()[0].num_frames, Some(1000));
        let mut frames = 0;
        while let Some(packet) = reader.next_packet().unwrap() {
            assert_eq!(packet.data.len() % 4, 0);
            assert_eq!(packet.pts.get() as u64, frames);
            frames += packet.dur.get();
        }
        assert_eq!(frames, 1000);
        // The half frame and the trailing bytes are skipped: the next file starts here.
        let mut rest = Box::new(reader).into_inner();
        assert_eq!(rest.read_quad_bytes().unwrap(), *b"NEXT");
    }

    #[test]
    fn unknown_length_reads_to_the_end_and_drops_a_partial_frame() {
        let header = PcmHeader {
            layout: s16_stereo(8000),
            data_len: None,
            trailing_len: 0,
            declared_frames: None,
        };
        let mut reader = PcmStreamReader::new(source(vec![0; 40_003]), &INFO, header);
        let mut frames = 0;
        while let Some(packet) = reader.next_packet().unwrap() {
            assert!(packet.data.len() <= MAX_PACKET_BYTES);
            frames += packet.dur.get();
        }
        assert_eq!(frames, 10_000);
    }

    #[test]
    fn impossible_layouts_are_refused() {
        for layout in [
            PcmLayout {
                rate: 0,
                ..s16_stereo(1)
            },
            PcmLayout {
                channels: 0,
                ..s16_stereo(8000)
            },
            PcmLayout {
                coding: SampleCoding::int(5, true, false),
                ..s16_stereo(8000)
            },
            PcmLayout {
                coding: SampleCoding::Float {
                    bytes: 2,
                    big_endian: false,
                },
                ..s16_stereo(8000)
            },
        ] {
            assert!(layout.check().is_err(), "{layout:?}");
        }
    }
}
