//! Philips' DSD Interchange File Format (`.dff`): an IFF-like `FRM8` form of big-endian 64-bit
//! chunk sizes holding a `PROP` chunk (rate, channels, compression) and a `DSD ` chunk whose
//! bits are interleaved a byte per channel, earliest bit first. Every 4096 bytes per channel go
//! out as one packet, the channels put one after another; `codecs::dsd` turns them into PCM.
//! DST-compressed files (a `DST ` chunk) are refused by name.

use std::io;

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

use super::dsf::dsd_track;

static DSDIFF_INFO: FormatInfo = FormatInfo {
    format: FormatId::new(FourCc::new(MAGIC)),
    short_name: "dsdiff",
    long_name: "DSD Interchange File Format",
};

const MAGIC: [u8; 4] = *b"FRM8";
/// Bytes per channel in a packet.
const BLOCK: u64 = 4096;
/// The longest `PROP` chunk read.
const MAX_PROP: u64 = 1 << 16;

/// Whether the source is at a DSDIFF header; the source is left where it was.
pub fn at_header(source: &mut MediaSourceStream<'_>) -> bool {
    super::source::look_ahead(source, |source| {
        let mut head = [0u8; 16];
        ReadBytes::read_buf_exact(source, &mut head).is_ok()
            && head[..4] == MAGIC
            && head[12..16] == *b"DSD "
    })
}

/// Reads a chunk header: its id and length (without the pad byte of odd lengths).
fn chunk_header(source: &mut MediaSourceStream<'_>) -> io::Result<([u8; 4], u64)> {
    let id = source.read_quad_bytes()?;
    let mut size = [0u8; 8];
    ReadBytes::read_buf_exact(source, &mut size)?;
    Ok((id, u64::from_be_bytes(size)))
}

/// The speakers `CHNL` names, as a WAVE channel mask; 0 when they are not a known set.
fn channel_mask(ids: &[u8]) -> u32 {
    let mut mask = 0u32;
    for id in ids.chunks_exact(4) {
        let bit = match id {
            b"SLFT" | b"MLFT" => 0x1,
            b"SRGT" | b"MRGT" => 0x2,
            b"C   " => 0x4,
            b"LFE " => 0x8,
            b"LS  " => 0x10,
            b"RS  " => 0x20,
            _ => return 0,
        };
        if mask & bit != 0 {
            return 0;
        }
        mask |= bit;
    }
    mask
}

/// What `PROP` says: rate, channel count and mask.
fn parse_prop(prop: &[u8]) -> Result<(u32, u16, u32)> {
    let damaged = || SymphoniaError::DecodeError("dsdiff: damaged PROP chunk");
    if prop.get(..4) != Some(b"SND ") {
        return Err(damaged());
    }
    let (mut rate, mut channels, mut compressed) = (None, None, false);
    let mut at = 4;
    while at + 12 <= prop.len() {
        let id = &prop[at..at + 4];
        let len = u64::from_be_bytes(prop[at + 4..at + 12].try_into().unwrap());
        let body = prop
            .get(at + 12..)
            .and_then(|rest| rest.get(..usize::try_from(len).ok()?))
            .ok_or_else(damaged)?;
        match id {
            b"FS  " if body.len() >= 4 => {
                rate = Some(u32::from_be_bytes(body[..4].try_into().unwrap()));
            }
            b"CHNL" if body.len() >= 2 => {
                let count = u16::from_be_bytes([body[0], body[1]]);
                let ids = body.get(2..2 + 4 * usize::from(count)).unwrap_or(&[]);
                channels = Some((count, channel_mask(ids)));
            }
            b"CMPR" => compressed = body.get(..4) != Some(b"DSD "),
            _ => {}
        }
        at += 12 + body.len() + body.len() % 2;
    }
    if compressed {
        return Err(SymphoniaError::Unsupported(
            "dsdiff: DST-compressed DSD is not supported (uncompressed DSD is)",
        ));
    }
    match (rate, channels) {
        (Some(rate), Some((count, mask))) if (1..=6).contains(&count) => Ok((rate, count, mask)),
        _ => Err(damaged()),
    }
}

/// Reads the bits of a DSDIFF file, 4096 bytes per channel per packet.
pub struct DsdiffReader<'s> {
    source: MediaSourceStream<'s>,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    channels: usize,
    factor: u64,
    /// Bytes of the `DSD ` chunk not yet read, and whether a pad byte follows it.
    data_left: u64,
    pad: bool,
    /// Bytes of the form after the `DSD ` chunk (and its pad byte).
    form_after: u64,
    frames_out: u64,
    ended: bool,
    interleaved: Vec<u8>,
}

impl<'s> DsdiffReader<'s> {
    pub fn try_new(mut source: MediaSourceStream<'s>) -> Result<Self> {
        let (magic, form_len) = chunk_header(&mut source)?;
        if magic != MAGIC || source.read_quad_bytes()? != *b"DSD " {
            return Err(SymphoniaError::DecodeError("dsdiff: no DSDIFF header"));
        }
        // The form's chunks, counted from its type.
        let mut form_read = 4u64;
        let mut format = None;
        loop {
            let (id, len) = chunk_header(&mut source)?;
            form_read += 12;
            match &id {
                b"PROP" => {
                    if len > MAX_PROP {
                        return Err(SymphoniaError::DecodeError("dsdiff: damaged PROP chunk"));
                    }
                    let mut prop = vec![0u8; len as usize];
                    ReadBytes::read_buf_exact(&mut source, &mut prop)?;
                    format = Some(parse_prop(&prop)?);
                }
                b"DSD " => {
                    let Some((rate, channels, mask)) = format else {
                        return Err(SymphoniaError::DecodeError(
                            "dsdiff: audio before the PROP chunk",
                        ));
                    };
                    let samples = len / u64::from(channels) * 8;
                    let (track, factor) = dsd_track(rate, channels, mask, samples)?;
                    let after = form_len.saturating_sub(form_read + len + len % 2);
                    return Ok(DsdiffReader {
                        source,
                        media_info: MediaInfo::from_track(&track),
                        tracks: vec![track],
                        metadata: MetadataLog::default(),
                        channels: usize::from(channels),
                        factor: u64::from(factor),
                        data_left: len,
                        pad: len % 2 == 1,
                        form_after: after,
                        frames_out: 0,
                        ended: false,
                        interleaved: Vec::new(),
                    });
                }
                b"DST " => {
                    return Err(SymphoniaError::Unsupported(
                        "dsdiff: DST-compressed DSD is not supported (uncompressed DSD is)",
                    ));
                }
                _ => {
                    source.ignore_bytes(len + len % 2)?;
                }
            }
            form_read += len + len % 2;
            if form_read >= form_len {
                return Err(SymphoniaError::DecodeError(
                    "dsdiff: no DSD chunk in the form",
                ));
            }
        }
    }

    /// After the audio: the rest of the form (comments, an ID3 chunk), then tags.
    fn read_past_the_rest(&mut self) {
        let _ = self
            .source
            .ignore_bytes(u64::from(self.pad) + self.form_after);
        super::skip_trailing_tags(&mut self.source);
    }
}

impl FormatReader for DsdiffReader<'_> {
    super::unseekable_reader_methods!(DSDIFF_INFO);

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        let channels = self.channels as u64;
        let per_channel = (self.data_left / channels).min(BLOCK);
        let frames = per_channel * 8 / self.factor;
        if self.ended || frames == 0 {
            if !self.ended {
                self.ended = true;
                let _ = self.source.ignore_bytes(self.data_left);
                self.read_past_the_rest();
            }
            return Ok(None);
        }
        let bytes = (per_channel * channels) as usize;
        self.interleaved.resize(bytes, 0);
        if !super::source::read_packet(&mut self.source, &mut self.interleaved)? {
            self.ended = true;
            return Ok(None);
        }
        self.data_left -= bytes as u64;
        // A byte per channel in turn, to each channel's bytes in turn.
        let per_channel = per_channel as usize;
        let mut data = vec![0u8; bytes];
        for (index, byte) in self.interleaved.iter().enumerate() {
            data[(index % self.channels) * per_channel + index / self.channels] = *byte;
        }
        let pts = self.frames_out;
        self.frames_out += frames;
        Ok(Some(super::track_packet(pts, frames, data)))
    }
}

impl Scoreable for DsdiffReader<'_> {
    fn score(mut source: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        let mut head = [0u8; 16];
        source.read_buf_exact(&mut head)?;
        Ok(if head[..4] == MAGIC && head[12..16] == *b"DSD " {
            Score::Supported(255)
        } else {
            Score::Unsupported
        })
    }
}

impl ProbeableFormat<'_> for DsdiffReader<'_> {
    fn try_probe_new(
        source: MediaSourceStream<'_>,
        _opts: FormatOptions,
    ) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(DsdiffReader::try_new(source)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        static DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["dff"],
                mime_types: &["audio/x-dff", "audio/dff"],
                markers: &[&MAGIC],
            },
            info: DSDIFF_INFO,
        }];
        &DATA
    }
}
