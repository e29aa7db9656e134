//! Sony's DSD Stream File (`.dsf`): a `DSD ` chunk, a `fmt ` chunk, then a `data` chunk whose
//! bits come in blocks of 4096 bytes per channel, channel after channel, and an ID3v2 tag at
//! the end. Each group of blocks (one per channel, 11.6 ms of DSD64) goes out as one packet,
//! its bits put earliest first in each byte; `codecs::dsd` turns them into PCM.

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

use symphonia::core::codecs::audio::AudioCodecParameters;

use crate::codecs::dsd::{CODEC_ID_DSD, pcm_rate};

static DSF_INFO: FormatInfo = FormatInfo {
    format: FormatId::new(FourCc::new(MAGIC)),
    short_name: "dsf",
    long_name: "DSD Stream File",
};

const MAGIC: [u8; 4] = *b"DSD ";
/// The `DSD ` chunk (28 bytes), then the `fmt ` chunk's header and fixed fields (52 bytes),
/// then the `data` chunk's header (12 bytes).
const HEAD_LEN: usize = 28 + 52 + 12;
/// Bytes per channel in a block, the only size the format defines.
const BLOCK: u32 = 4096;

/// The speakers of each channel type (1 to 7), as a WAVE channel mask.
const CHANNEL_MASKS: [u32; 7] = [0x4, 0x3, 0x7, 0x33, 0xf, 0x37, 0x3f];

/// The track of a DSD stream (shared with `dsdiff`): its PCM rate and frames as
/// `codecs::dsd` gives them, and the decimation factor.
pub(super) fn dsd_track(
    dsd_rate: u32,
    channels: u16,
    mask: u32,
    dsd_samples: u64,
) -> Result<(Track, u32)> {
    let Some((rate, factor)) = pcm_rate(dsd_rate) else {
        return Err(SymphoniaError::Unsupported(
            "dsd: unsupported DSD rate (DSD64 to DSD512 are)",
        ));
    };
    let mut codec = AudioCodecParameters::new();
    codec
        .for_codec(CODEC_ID_DSD)
        .with_sample_rate(rate)
        .with_channels(super::pcm_stream::wave_channels(channels, mask))
        .with_extra_data(dsd_rate.to_le_bytes().to_vec().into_boxed_slice());
    let mut track = super::audio_track(codec);
    track.with_num_frames(dsd_samples / u64::from(factor));
    Ok((track, factor))
}

/// Whether the source is at a DSF header; the source is left where it was.
pub fn at_header(source: &mut MediaSourceStream<'_>) -> bool {
    super::source::look_ahead(source, |source| {
        let mut head = [0u8; 32];
        ReadBytes::read_buf_exact(source, &mut head).is_ok()
            && head[..4] == MAGIC
            && head[4..12] == 28u64.to_le_bytes()
            && head[28..32] == *b"fmt "
    })
}

/// Reads the bits of a DSF file, a group of blocks per packet.
pub struct DsfReader<'s> {
    source: MediaSourceStream<'s>,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    channels: usize,
    /// The bits come least significant first in each byte.
    lsb_first: bool,
    /// Bits per channel not yet handed out.
    bits_left: u64,
    /// Bytes of the `data` chunk not yet read: writers may put more there than the sample
    /// count says (ffmpeg and the decodebin chain play it all), which is read past.
    data_left: u64,
    /// Bits per output sample.
    factor: u64,
    /// Output samples handed out.
    frames_out: u64,
    ended: bool,
}

impl<'s> DsfReader<'s> {
    pub fn try_new(mut source: MediaSourceStream<'s>) -> Result<Self> {
        let mut head = [0u8; HEAD_LEN];
        ReadBytes::read_buf_exact(&mut source, &mut head)?;
        let u32_at = |at: usize| u32::from_le_bytes(head[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(head[at..at + 8].try_into().unwrap());
        if head[..4] != MAGIC || head[28..32] != *b"fmt " || head[80..84] != *b"data" {
            return Err(SymphoniaError::DecodeError("dsf: damaged header"));
        }
        let fmt = 28;
        let (version, format, channel_type, channels) = (
            u32_at(fmt + 12),
            u32_at(fmt + 16),
            u32_at(fmt + 20),
            u32_at(fmt + 24),
        );
        let (dsd_rate, bits_per_sample, samples, block) = (
            u32_at(fmt + 28),
            u32_at(fmt + 32),
            u64_at(fmt + 36),
            u32_at(fmt + 44),
        );
        if u64_at(fmt + 4) != 52 || version != 1 || format != 0 || block != BLOCK {
            return Err(SymphoniaError::Unsupported(
                "dsf: unsupported format (version 1, DSD raw, 4096-byte blocks are)",
            ));
        }
        if !matches!(bits_per_sample, 1 | 8) || !(1..=6).contains(&channels) {
            return Err(SymphoniaError::DecodeError(
                "dsf: damaged header (bits per sample or channels)",
            ));
        }
        let mask = CHANNEL_MASKS
            .get(channel_type.wrapping_sub(1) as usize)
            .copied()
            .filter(|mask| mask.count_ones() == channels)
            .unwrap_or(0);
        let (track, factor) = dsd_track(dsd_rate, channels as u16, mask, samples)?;
        Ok(DsfReader {
            source,
            media_info: MediaInfo::from_track(&track),
            tracks: vec![track],
            metadata: MetadataLog::default(),
            channels: channels as usize,
            lsb_first: bits_per_sample == 1,
            bits_left: samples,
            data_left: u64_at(84).saturating_sub(12),
            factor: u64::from(factor),
            frames_out: 0,
            ended: false,
        })
    }
}

impl FormatReader for DsfReader<'_> {
    super::unseekable_reader_methods!(DSF_INFO);

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        if self.ended || self.bits_left == 0 {
            if !self.ended {
                self.ended = true;
                // What the data chunk holds past the sample count, then the ID3v2 tag.
                let _ = self.source.ignore_bytes(self.data_left);
                super::skip_trailing_tags(&mut self.source);
            }
            return Ok(None);
        }
        // The last group is padded out to whole blocks.
        let bits = self.bits_left.min(u64::from(BLOCK) * 8);
        let frames = bits / self.factor;
        let mut data = vec![0u8; BLOCK as usize * self.channels];
        if !super::source::read_packet(&mut self.source, &mut data)? {
            self.ended = true;
            return Ok(None);
        }
        if self.lsb_first {
            data.iter_mut().for_each(|byte| *byte = byte.reverse_bits());
        }
        self.bits_left -= bits;
        self.data_left = self.data_left.saturating_sub(data.len() as u64);
        if frames == 0 {
            // Less than an output sample's worth of bits left.
            return self.next_packet();
        }
        let pts = self.frames_out;
        self.frames_out += frames;
        Ok(Some(super::track_packet(pts, frames, data)))
    }
}

impl Scoreable for DsfReader<'_> {
    fn score(mut source: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        let mut head = [0u8; 12];
        source.read_buf_exact(&mut head)?;
        Ok(
            if head[..4] == MAGIC && head[4..12] == 28u64.to_le_bytes() {
                Score::Supported(255)
            } else {
                Score::Unsupported
            },
        )
    }
}

impl ProbeableFormat<'_> for DsfReader<'_> {
    fn try_probe_new(
        source: MediaSourceStream<'_>,
        _opts: FormatOptions,
    ) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(DsfReader::try_new(source)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        static DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["dsf"],
                mime_types: &["audio/x-dsf", "audio/dsf"],
                markers: &[&MAGIC],
            },
            info: DSF_INFO,
        }];
        &DATA
    }
}
