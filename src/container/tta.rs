//! True Audio files (`.tta`, format TTA1): a 22-byte header (with its CRC-32), a seek table
//! giving every frame's length in bytes (with its CRC-32), then the frames, each of
//! 256 × rate / 245 samples per channel (the last one shorter). Each frame goes out as one
//! packet as soon as its bytes are in; `codecs::tta` decodes it. After the last frame, tags
//! (ID3v1, APEv2) are read past; anything else is the next stream's.

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

use crate::codecs::tta::{CODEC_ID_TTA, StreamParams};

static TTA_INFO: FormatInfo = FormatInfo {
    format: FormatId::new(FourCc::new(MAGIC)),
    short_name: "tta",
    long_name: "True Audio",
};

const MAGIC: [u8; 4] = *b"TTA1";
/// The header: magic, format, channels, bits, rate, samples, CRC-32.
const HEADER_LEN: usize = 22;
/// Format 1 is plain PCM; 2 is encrypted with a password.
const FORMAT_PCM: u16 = 1;
const MAX_RATE: u32 = 768_000;
const MAX_CHANNELS: u16 = 64;
/// The longest seek table read: 4 bytes a frame, about 1 s each, 12 days at 44.1 kHz.
const MAX_FRAMES: u64 = 1 << 20;

/// Whether the source is at a TTA header; the source is left where it was.
pub fn at_header(source: &mut MediaSourceStream<'_>) -> bool {
    super::source::look_ahead(source, |source| {
        source.read_quad_bytes().is_ok_and(|magic| magic == MAGIC)
    })
}

/// Reads the frames of a TTA file, a packet each.
pub struct TtaReader<'s> {
    source: MediaSourceStream<'s>,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    /// Each frame's length in bytes.
    frame_lengths: Vec<u32>,
    /// Samples per channel in a frame, and in the whole stream.
    frame_samples: u64,
    samples: u64,
    /// The next frame to hand out.
    next_frame: usize,
    ended: bool,
}

impl<'s> TtaReader<'s> {
    pub fn try_new(mut source: MediaSourceStream<'s>) -> Result<Self> {
        let mut header = [0u8; HEADER_LEN];
        ReadBytes::read_buf_exact(&mut source, &mut header)?;
        let u16_at = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().unwrap());
        if header[..4] != MAGIC {
            return Err(SymphoniaError::DecodeError("tta: no TTA1 header"));
        }
        if u32_at(18) != crc32fast::hash(&header[..18]) {
            return Err(SymphoniaError::DecodeError(
                "tta: damaged header (its CRC does not match)",
            ));
        }
        let (format, channels, bits, rate, samples) = (
            u16_at(4),
            u16_at(6),
            u16_at(8),
            u32_at(10),
            u64::from(u32_at(14)),
        );
        if format != FORMAT_PCM {
            return Err(SymphoniaError::Unsupported(
                "tta: encrypted (password-protected) TTA is not supported",
            ));
        }
        if !matches!(bits, 8 | 16 | 24)
            || !(1..=MAX_CHANNELS).contains(&channels)
            || !(1..=MAX_RATE).contains(&rate)
        {
            return Err(SymphoniaError::Unsupported(
                "tta: unsupported format (8, 16 or 24 bits, up to 64 channels and 768 kHz are)",
            ));
        }
        let frame_samples = u64::from(rate) * 256 / 245;
        let frames = samples.div_ceil(frame_samples);
        if frames > MAX_FRAMES {
            return Err(SymphoniaError::DecodeError(
                "tta: damaged header (a length of weeks)",
            ));
        }
        let mut table = vec![0u8; frames as usize * 4 + 4];
        super::source::read_restarting(&mut source, &mut table)?;
        let (entries, crc) = table.split_at(frames as usize * 4);
        if u32::from_le_bytes(crc.try_into().unwrap()) != crc32fast::hash(entries) {
            return Err(SymphoniaError::DecodeError(
                "tta: damaged seek table (its CRC does not match)",
            ));
        }
        let frame_lengths: Vec<u32> = entries
            .chunks_exact(4)
            .map(|entry| u32::from_le_bytes(entry.try_into().unwrap()))
            .collect();
        // The most a frame can take: every sample coded at worse than raw size.
        let max_frame = frame_samples * u64::from(channels) * 8 + 1024;
        if frame_lengths
            .iter()
            .any(|&len| !(4..=max_frame).contains(&u64::from(len)))
        {
            return Err(SymphoniaError::DecodeError(
                "tta: damaged seek table (a frame of impossible length)",
            ));
        }
        let params = StreamParams {
            channels,
            bits_per_sample: bits,
        };
        let mut codec = AudioCodecParameters::new();
        codec
            .for_codec(CODEC_ID_TTA)
            .with_sample_rate(rate)
            .with_channels(super::pcm_stream::wave_channels(channels, 0))
            .with_bits_per_sample(u32::from(bits))
            .with_max_frames_per_packet(frame_samples)
            .with_extra_data(params.to_bytes().into());
        let mut track = super::audio_track(codec);
        track.with_num_frames(samples);
        Ok(TtaReader {
            source,
            media_info: MediaInfo::from_track(&track),
            tracks: vec![track],
            metadata: MetadataLog::default(),
            frame_lengths,
            frame_samples,
            samples,
            next_frame: 0,
            ended: false,
        })
    }
}

impl FormatReader for TtaReader<'_> {
    super::unseekable_reader_methods!(TTA_INFO);

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        let Some(&len) = self
            .frame_lengths
            .get(self.next_frame)
            .filter(|_| !self.ended)
        else {
            if !self.ended {
                self.ended = true;
                super::skip_trailing_tags(&mut self.source);
            }
            return Ok(None);
        };
        let mut data = vec![0u8; len as usize];
        if !super::source::read_packet(&mut self.source, &mut data)? {
            self.ended = true;
            return Ok(None);
        }
        let pts = self.next_frame as u64 * self.frame_samples;
        let samples = self.frame_samples.min(self.samples.saturating_sub(pts));
        self.next_frame += 1;
        Ok(Some(super::track_packet(pts, samples, data)))
    }
}

impl Scoreable for TtaReader<'_> {
    fn score(mut source: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        let magic = source.read_quad_bytes()?;
        Ok(if magic == MAGIC {
            Score::Supported(255)
        } else {
            Score::Unsupported
        })
    }
}

impl ProbeableFormat<'_> for TtaReader<'_> {
    fn try_probe_new(
        source: MediaSourceStream<'_>,
        _opts: FormatOptions,
    ) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(TtaReader::try_new(source)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        static DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["tta"],
                mime_types: &["audio/x-tta", "audio/tta"],
                markers: &[&MAGIC],
            },
            info: TTA_INFO,
        }];
        &DATA
    }
}
