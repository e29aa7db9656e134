//! A lenient streaming parser for the RIFF family of PCM containers: WAV (`RIFF`), big-endian
//! WAV (`RIFX`), RF64 and BW64 (64-bit sizes in a `ds64` chunk) and Sony Wave64 (GUID chunk ids).
//!
//! Written here because symphonia 0.6's RIFF reader refuses much of what real writers produce:
//! sample widths other than 8/16/24/32 bits (12- and 20-bit recorders), A-law/µ-law `fmt `
//! chunks of sizes other than 18, 24-bit samples in 4-byte containers, `LIST` chunks whose
//! length is wrong, and RIFX, RF64, BW64 and Wave64 altogether. This parser reads the header up
//! to the first byte of sample data and describes it; [`PcmStreamReader`] reads the samples.
//! Compressed WAV codecs (ADPCM, ...) are left to symphonia's reader, but for MPEG audio (format
//! tags 0x50 and 0x55, as ACM encoders wrote MP3 into WAV), which symphonia refuses: its data
//! chunk goes to the MPEG audio reader ([`mpeg_audio_data`]).
//!
//! [`PcmStreamReader`]: super::pcm_stream::PcmStreamReader

use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::well_known::{CODEC_ID_ADPCM_IMA_WAV, CODEC_ID_ADPCM_MS};
use symphonia::core::io::{ReadBytes, SeekBuffered};

use super::pcm_stream::{PcmHeader, PcmLayout, SampleCoding, wave_channels};
use super::{ByteOrder, HeaderError};
use crate::codecs::telephony::Codec;

/// Which member of the family a stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiffKind {
    Riff,
    Rifx,
    Rf64,
    Bw64,
    Wave64,
}

impl RiffKind {
    /// Identifies a stream by its first four bytes.
    pub fn from_magic(magic: &[u8; 4]) -> Option<RiffKind> {
        Some(match magic {
            b"RIFF" => RiffKind::Riff,
            b"RIFX" => RiffKind::Rifx,
            b"RF64" => RiffKind::Rf64,
            b"BW64" => RiffKind::Bw64,
            b"riff" => RiffKind::Wave64,
            _ => return None,
        })
    }

    fn order(self) -> ByteOrder {
        if self == RiffKind::Rifx {
            ByteOrder::Big
        } else {
            ByteOrder::Little
        }
    }
}

/// The tail of Wave64's `riff` and `wave` GUIDs and of every chunk GUID after its four-character
/// code (bytes 4..16 on disk).
const W64_RIFF_GUID_TAIL: [u8; 12] = [
    0x2e, 0x91, 0xcf, 0x11, 0xa5, 0xd6, 0x28, 0xdb, 0x04, 0xc1, 0x00, 0x00,
];
const W64_CHUNK_GUID_TAIL: [u8; 12] = [
    0xf3, 0xac, 0xd3, 0x11, 0x8c, 0xd1, 0x00, 0xc0, 0x4f, 0x8e, 0xdb, 0x8a,
];

/// How far the parser scans for the next chunk after a chunk whose length is wrong.
const RESYNC_LIMIT: usize = 64 * 1024;
/// How many wrong chunk lengths one header may have before it is given up.
const MAX_RESYNCS: u32 = 16;
/// A chunk before the sample data larger than this is taken as a wrong length.
const MAX_HEADER_CHUNK: u64 = 16 * 1024 * 1024;

/// True when `source` starts a WAV whose data chunk holds MPEG audio frames: the source is
/// then at the data chunk's first byte. Otherwise it is left where it was.
pub fn mpeg_audio_data<R: ReadBytes + SeekBuffered>(source: &mut R) -> bool {
    let start = source.pos();
    if matches!(parse(source), Err(HeaderError::MpegAudioData)) {
        return true;
    }
    source.seek_buffered(start);
    false
}

/// Reads a RIFF-family header up to the first byte of sample data.
pub fn parse<R: ReadBytes + SeekBuffered>(
    source: &mut R,
) -> Result<(RiffKind, PcmHeader), HeaderError> {
    let magic = source.read_quad_bytes()?;
    let kind = RiffKind::from_magic(&magic).ok_or(HeaderError::NotThisFormat)?;
    if kind == RiffKind::Wave64 {
        return parse_wave64(source).map(|header| (kind, header));
    }
    let order = kind.order();
    let riff_size = order.read_u32(source)?;
    if source.read_quad_bytes()? != *b"WAVE" {
        // RIFF also holds AVI, WebP, ...
        return Err(HeaderError::NotThisFormat);
    }
    // Where the file ends, as offsets from its first byte; unknown for streaming writers, which
    // put 0 or 0xFFFFFFFF, and for RF64 until its ds64 chunk.
    let mut file_end = match (kind, riff_size) {
        (RiffKind::Rf64 | RiffKind::Bw64, _) | (_, 0 | u32::MAX) => None,
        (_, size) => Some(8 + size as u64),
    };
    let mut pos = 12u64;
    let mut ds64_data_len = None;
    let mut layout = None;
    // Where the body of the previous chunk started: a chunk header that makes no sense means
    // that chunk's length was wrong, and the next chunk is somewhere after its start.
    let mut previous_body = pos;
    let mut resyncs = 0;
    loop {
        let id = source.read_quad_bytes()?;
        let size = order.read_u32(source)? as u64;
        pos += 8;
        let implausible_size = id != *b"data"
            && (size > MAX_HEADER_CHUNK
                || file_end.is_some_and(|end| pos.saturating_add(size) > end && end > pos));
        if !plausible_id(&id) || implausible_size {
            resyncs += 1;
            if resyncs > MAX_RESYNCS {
                return Err(damaged_header());
            }
            pos = resync(source, pos, previous_body)?;
            previous_body = pos;
            continue;
        }
        previous_body = pos;
        match &id {
            b"data" => {
                let layout = layout.ok_or_else(|| {
                    HeaderError::Unsupported("the WAV data chunk comes before its fmt chunk".into())
                })??;
                let data_len = match size {
                    0xFFFF_FFFF => ds64_data_len,
                    // A streaming writer that never went back to fill in the sizes.
                    0 if file_end.is_none() => None,
                    size => Some(size),
                };
                // The trailing part includes the pad byte after an odd-sized data chunk.
                let data_end = data_len.map(|len| pos.saturating_add(len));
                return Ok((kind, header(layout, data_len, file_end, data_end, None)));
            }
            b"ds64" if matches!(kind, RiffKind::Rf64 | RiffKind::Bw64) && size >= 16 => {
                let riff64 = source.read_u64()?;
                ds64_data_len = Some(source.read_u64()?);
                file_end = (riff64 > 0).then_some(riff64.saturating_add(8));
                source.ignore_bytes(size - 16)?;
            }
            // MPEG audio is an answer only once the data chunk is reached.
            b"fmt " => {
                layout = Some(match read_fmt(source, size, order) {
                    Err(HeaderError::MpegAudioData) => Err(HeaderError::MpegAudioData),
                    other => Ok(other?),
                })
            }
            _ => source.ignore_bytes(size)?,
        }
        pos += size;
        if size & 1 == 1 && !unpadded(source)? {
            source.ignore_bytes(1)?;
            pos += 1;
        }
    }
}

fn header(
    layout: PcmLayout,
    data_len: Option<u64>,
    file_end: Option<u64>,
    data_end: Option<u64>,
    declared_frames: Option<u64>,
) -> PcmHeader {
    let trailing_len = match (file_end, data_end) {
        (Some(file_end), Some(data_end)) => file_end.saturating_sub(data_end),
        _ => 0,
    };
    PcmHeader {
        layout,
        data_len,
        trailing_len,
        declared_frames,
    }
}

/// Sony Wave64: GUIDs instead of four-character codes, 64-bit sizes that include the 24-byte
/// chunk header, chunks aligned to 8 bytes.
fn parse_wave64<R: ReadBytes + SeekBuffered>(source: &mut R) -> Result<PcmHeader, HeaderError> {
    let mut guid_tail = [0u8; 12];
    source.read_buf_exact(&mut guid_tail)?;
    if guid_tail != W64_RIFF_GUID_TAIL {
        return Err(HeaderError::NotThisFormat);
    }
    let file_size = source.read_u64()?;
    let form = source.read_quad_bytes()?;
    source.read_buf_exact(&mut guid_tail)?;
    if form != *b"wave" || guid_tail != W64_CHUNK_GUID_TAIL {
        return Err(HeaderError::NotThisFormat);
    }
    let file_end = (file_size > 40).then_some(file_size);
    let mut pos = 40u64;
    let mut layout = None;
    loop {
        let id = source.read_quad_bytes()?;
        source.read_buf_exact(&mut guid_tail)?;
        let size = source.read_u64()?;
        if size < 24 {
            return Err(HeaderError::Unsupported(format!(
                "damaged Wave64 chunk size {size}"
            )));
        }
        let body = size - 24;
        let padding = (8 - size % 8) % 8;
        pos += 24;
        match &id {
            b"data" => {
                let layout = layout.ok_or_else(|| {
                    HeaderError::Unsupported(
                        "the Wave64 data chunk comes before its fmt chunk".into(),
                    )
                })?;
                let data_end = pos.saturating_add(body).saturating_add(padding);
                return Ok(header(layout, Some(body), file_end, Some(data_end), None));
            }
            b"fmt " => {
                layout = Some(
                    read_fmt(source, body, ByteOrder::Little).map_err(|e| match e {
                        HeaderError::MpegAudioData => {
                            HeaderError::Unsupported("MPEG audio in Wave64 is not supported".into())
                        }
                        e => e,
                    })?,
                );
                source.ignore_bytes(padding)?;
            }
            _ => source.ignore_bytes(body + padding)?,
        }
        pos = pos.saturating_add(body).saturating_add(padding);
    }
}

/// After an odd-sized chunk: true when the writer left out the pad byte RIFF requires (some
/// do), seen by the next essential chunk starting right here instead of one byte later.
fn unpadded<R: ReadBytes + SeekBuffered>(source: &mut R) -> Result<bool, HeaderError> {
    let mut next = [0u8; 5];
    source.read_buf_exact(&mut next)?;
    source.seek_buffered_rel(-5);
    let essential = |id: &[u8]| {
        [b"data", b"fmt ", b"LIST", b"fact"]
            .iter()
            .any(|e| &e[..] == id)
    };
    Ok(essential(&next[..4]) && !essential(&next[1..]))
}

/// True for a four-character code a writer could have meant: printable ASCII.
fn plausible_id(id: &[u8; 4]) -> bool {
    id.iter().all(|b| (0x20..0x7f).contains(b))
}

/// After a chunk header that makes no sense (read just before `pos`): goes back towards
/// `floor` (the body of the chunk before it, whose length may have been wrong) as far as the
/// source still holds, since a length too long skipped into the next chunk, and scans forward
/// for a `fmt ` or `data` chunk other than the rejected header. Returns its position.
fn resync<R: ReadBytes + SeekBuffered>(
    source: &mut R,
    pos: u64,
    floor: u64,
) -> Result<u64, HeaderError> {
    let rejected = pos - 8;
    let back = (source.read_buffer_len() as u64).min(pos - floor.min(pos)) as usize;
    source.seek_buffered_rel(-(back as isize));
    let mut pos = pos - back as u64;
    let mut window = [0u8; 4];
    let mut filled = 0;
    for _ in 0..RESYNC_LIMIT {
        window.rotate_left(1);
        window[3] = source.read_byte()?;
        pos += 1;
        filled += 1;
        if filled >= 4 && (&window == b"data" || &window == b"fmt ") && pos - 4 != rejected {
            source.seek_buffered_rel(-4);
            return Ok(pos - 4);
        }
    }
    Err(damaged_header())
}

fn damaged_header() -> HeaderError {
    HeaderError::Unsupported(
        "a damaged WAV header: no fmt or data chunk where the chunk lengths lead".into(),
    )
}

const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 3;
const WAVE_FORMAT_ALAW: u16 = 6;
const WAVE_FORMAT_MULAW: u16 = 7;
const WAVE_FORMAT_MPEG: u16 = 0x50;
const WAVE_FORMAT_MPEGLAYER3: u16 = 0x55;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xfffe;
const WAVE_FORMAT_YAMAHA_ADPCM: u16 = 0x0020;
const WAVE_FORMAT_GSM610: u16 = 0x0031;
const WAVE_FORMAT_MSNAUDIO: u16 = 0x0032;
const WAVE_FORMAT_G726: u16 = 0x0045;
const WAVE_FORMAT_G722: u16 = 0x028f;

/// The codec of a WAV format tag that neither our reader nor symphonia's decodes, by the name
/// users know it (what ffmpeg, sox and telephony recorders write besides PCM).
pub(super) fn undecodable_tag_name(tag: u16) -> Option<&'static str> {
    Some(match tag {
        0x0014 => "G.723 ADPCM",
        0x0042 => "G.723.1",
        0x0022 => "DSP Group TrueSpeech",
        // Those below decoded here reach this with fields that do not describe their blocks
        // (GSM in blocks other than Microsoft's 65 bytes, G.726 of no known code size), or
        // are APICOM's G.726 and G.722 (0x64, 0x65), whose packing nothing documents.
        0x0031 | 0x0032 => "GSM 6.10",
        0x0040 => "G.721 ADPCM",
        0x0045 | 0x0064 => "G.726 ADPCM",
        0x0065 | 0x028f => "G.722 ADPCM",
        0x0160..=0x0163 => "Windows Media Audio",
        0x2001 => "DTS",
        _ => return None,
    })
}

/// Why a WAV with this format tag is not read here.
fn undecodable(tag: u16) -> HeaderError {
    match undecodable_tag_name(tag) {
        Some(name) => {
            HeaderError::Undecodable(format!("WAV with {name} audio (format tag {tag:#06x})"))
        }
        // ADPCM that symphonia's WAV reader decodes, or a tag nobody here knows.
        None => HeaderError::Unsupported(format!("WAV format tag {tag:#06x} is not PCM")),
    }
}

/// The telephony codec of a WAV format tag, from the `fmt ` fields that size its blocks.
fn telephony_codec(
    tag: u16,
    bits: u16,
    rate: u32,
    byte_rate: u32,
    block_align: usize,
) -> Option<Codec> {
    match tag {
        WAVE_FORMAT_G722 => Some(Codec::G722),
        WAVE_FORMAT_G726 => {
            // The bit width field holds the code size (ffmpeg, Windows' codec); else the rates
            // tell it (16-40 kbit/s at 8 kHz).
            let bits = match bits {
                2..=5 => bits as u8,
                _ if rate > 0 => (byte_rate * 8 / rate) as u8,
                _ => 0,
            };
            (2..=5).contains(&bits).then_some(Codec::G726 {
                bits,
                msb_first: true,
            })
        }
        // Microsoft's GSM 6.10 (and MSN Audio, the same): two frames in a 65-byte block.
        WAVE_FORMAT_GSM610 | WAVE_FORMAT_MSNAUDIO if block_align == 65 => {
            Some(Codec::Gsm { wav49: true })
        }
        _ => None,
    }
}

/// IMA or Microsoft ADPCM as a WAVEFORMATEX describes it (AVI's stream format, Matroska's
/// `A_MS/ACM` private data): symphonia's ADPCM codec decodes it a block at a time.
#[derive(Debug, Clone)]
pub struct AdpcmFormat {
    pub params: Box<AudioCodecParameters>,
    pub block_align: usize,
    pub frames_per_block: u64,
}

/// The ADPCM a little-endian WAVEFORMATEX describes; `None` when its tag is not IMA's or
/// Microsoft's ADPCM, an error when its fields cannot describe such blocks.
pub fn adpcm_format(format: &[u8]) -> Option<Result<AdpcmFormat, String>> {
    let tag = u16::from_le_bytes([*format.first()?, *format.get(1)?]);
    if !matches!(tag, 0x0002 | 0x0011) {
        return None;
    }
    let Some(fmt) = format.get(..16) else {
        return Some(Err(format!(
            "ADPCM format of {} bytes is too short",
            format.len()
        )));
    };
    let field = |at: usize| u16::from_le_bytes([fmt[at], fmt[at + 1]]);
    let (channels, rate) = (
        field(2),
        u32::from_le_bytes([fmt[4], fmt[5], fmt[6], fmt[7]]),
    );
    let block_align = usize::from(field(12));
    // Samples per block: the header's one or two, then two per byte of each channel.
    let (codec, header_bytes, header_samples) = match tag {
        0x0002 => (CODEC_ID_ADPCM_MS, 7, 2),
        _ => (CODEC_ID_ADPCM_IMA_WAV, 4, 1),
    };
    let per_channel = block_align / usize::from(channels.max(1));
    if !(1..=2).contains(&channels) || per_channel <= header_bytes || rate == 0 {
        return Some(Err(format!(
            "ADPCM has an impossible layout ({channels} channels, blocks of {block_align} bytes)"
        )));
    }
    let frames_per_block = ((per_channel - header_bytes) * 2 + header_samples) as u64;
    let mut params = AudioCodecParameters::new();
    params
        .for_codec(codec)
        .with_sample_rate(rate)
        .with_channels(wave_channels(channels, 0))
        .with_frames_per_block(frames_per_block)
        .with_max_frames_per_packet(frames_per_block * 64);
    Some(Ok(AdpcmFormat {
        params: Box::new(params),
        block_align,
        frames_per_block,
    }))
}

/// The PCM layout a little-endian `fmt ` chunk body (a WAVEFORMATEX, as AVI's `strf` holds it)
/// describes; `MpegAudioData` for MPEG audio.
pub fn fmt_layout(fmt: &[u8]) -> Result<PcmLayout, HeaderError> {
    read_fmt(
        &mut symphonia::core::io::BufReader::new(fmt),
        fmt.len() as u64,
        ByteOrder::Little,
    )
}

/// Reads a `fmt ` chunk body of `size` bytes (all of it). Lenient about the size: 14 bytes
/// (the old WAVEFORMAT without a bit width), 16, 18, 20, 40 or anything else that holds the
/// fields.
fn read_fmt<R: ReadBytes>(
    source: &mut R,
    size: u64,
    order: ByteOrder,
) -> Result<PcmLayout, HeaderError> {
    if size < 14 {
        return Err(HeaderError::Unsupported(format!(
            "a WAV fmt chunk of {size} bytes is too short"
        )));
    }
    let mut fmt = vec![0u8; size.min(1024) as usize];
    source.read_buf_exact(&mut fmt)?;
    source.ignore_bytes(size - fmt.len() as u64)?;
    let u16_at = |at: usize| order.u16(&fmt[at..at + 2]);
    let u32_at = |at: usize| order.u32(&fmt[at..at + 4]);
    let mut tag = u16_at(0);
    let channels = u16_at(2);
    let rate = u32_at(4);
    let block_align = u16_at(12) as usize;
    let mut bits = if fmt.len() >= 16 { u16_at(14) } else { 0 };
    let mut channel_mask = 0;
    if tag == WAVE_FORMAT_EXTENSIBLE {
        if fmt.len() < 40 {
            return Err(HeaderError::Unsupported(format!(
                "a WAVE_FORMAT_EXTENSIBLE fmt chunk of {size} bytes is too short"
            )));
        }
        let valid_bits = u16_at(18);
        if valid_bits > 0 && valid_bits < bits {
            bits = valid_bits;
        }
        channel_mask = u32_at(20);
        // The subformat GUID starts with the plain format tag.
        tag = u16_at(24);
    }
    if channels == 0 {
        return Err(HeaderError::Unsupported(
            "the WAV fmt chunk declares 0 channels".into(),
        ));
    }
    // The container width: block_align is what writers get right, the bit width is the fallback.
    let from_align = block_align / channels as usize;
    let bytes =
        if block_align > 0 && block_align.is_multiple_of(channels as usize) && from_align <= 8 {
            from_align
        } else {
            (bits as usize).div_ceil(8)
        };
    let big_endian = order == ByteOrder::Big;
    let coding = match tag {
        // Samples are left-justified in their container: every container bit is significant
        // (the unused low bits are zero). 8-bit WAV is unsigned.
        WAVE_FORMAT_PCM => SampleCoding::int(bytes as u8, bytes > 1, big_endian),
        WAVE_FORMAT_IEEE_FLOAT => SampleCoding::Float {
            bytes: bytes as u8,
            big_endian,
        },
        WAVE_FORMAT_ALAW => SampleCoding::ALaw,
        WAVE_FORMAT_MULAW => SampleCoding::MuLaw,
        WAVE_FORMAT_MPEG | WAVE_FORMAT_MPEGLAYER3 if order == ByteOrder::Little => {
            return Err(HeaderError::MpegAudioData);
        }
        WAVE_FORMAT_YAMAHA_ADPCM => SampleCoding::YamahaAdpcm,
        other => match telephony_codec(other, bits, rate, u32_at(8), block_align) {
            Some(codec) => {
                let layout = PcmLayout {
                    coding: SampleCoding::Coded(codec),
                    rate: codec.rate(),
                    channels,
                    channel_mask: 0,
                };
                layout
                    .check()
                    .map_err(|why| HeaderError::Unsupported(format!("WAV with {why}")))?;
                return Ok(layout);
            }
            None => return Err(undecodable(other)),
        },
    };
    let layout = PcmLayout {
        coding,
        rate,
        channels,
        channel_mask,
    };
    layout.check().map_err(HeaderError::Unsupported)?;
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};

    fn parse_bytes(bytes: &[u8]) -> Result<(RiffKind, PcmHeader), HeaderError> {
        let mut source = MediaSourceStream::new(
            Box::new(Cursor::new(bytes.to_vec())),
            MediaSourceStreamOptions::default(),
        );
        parse(&mut source)
    }

    /// Found by fuzzing: a `fmt ` chunk whose 1 GiB length is rejected used to be found again
    /// by the resync scan, forever.
    #[test]
    fn a_rejected_chunk_is_not_found_again() {
        let input = include_bytes!("../../tests/data/fuzz-riff-resync-loop.bw64");
        let started = std::time::Instant::now();
        assert!(parse_bytes(input).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    fn wav(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut body = b"WAVE".to_vec();
        for (id, data) in chunks {
            body.extend_from_slice(*id);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    fn fmt(tag: u16, channels: u16, rate: u32, block_align: u16, bits: u16) -> Vec<u8> {
        let mut out = tag.to_le_bytes().to_vec();
        out.extend_from_slice(&channels.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        out.extend_from_slice(&(rate * block_align as u32).to_le_bytes());
        out.extend_from_slice(&block_align.to_le_bytes());
        out.extend_from_slice(&bits.to_le_bytes());
        out
    }

    #[test]
    fn mpeg_audio_in_wav_is_found_at_its_data_chunk() {
        let source = |bytes: Vec<u8>| {
            MediaSourceStream::new(
                Box::new(Cursor::new(bytes)),
                MediaSourceStreamOptions::default(),
            )
        };
        let mp3 = wav(&[
            (b"fmt ", &fmt(0x55, 2, 44_100, 1, 0)),
            (b"fact", &[0; 4]),
            (b"data", &[0xff, 0xfb, 0x90, 0x00]),
        ]);
        let mut s = source(mp3.clone());
        assert!(mpeg_audio_data(&mut s));
        assert_eq!(s.pos() as usize, mp3.len() - 4, "at the first frame");
        // PCM, and not RIFF at all: left where they were.
        for other in [
            wav(&[(b"fmt ", &fmt(1, 2, 8000, 4, 16)), (b"data", &[0; 8])]),
            b"ID3\x04 and more".to_vec(),
        ] {
            let mut s = source(other);
            assert!(!mpeg_audio_data(&mut s));
            assert_eq!(s.pos(), 0);
        }
        assert!(
            matches!(parse_bytes(&mp3), Err(HeaderError::MpegAudioData)),
            "not PCM"
        );
    }

    #[test]
    fn reads_widths_from_block_align() {
        // 12 bits in 2 bytes, 20 in 3, 24 in 4: the container decides.
        for (bits, align, bytes) in [(12, 4, 2), (20, 6, 3), (24, 8, 4), (8, 2, 1)] {
            let file = wav(&[
                (b"fmt ", &fmt(1, 2, 8000, align, bits)),
                (b"data", &[0; 16]),
            ]);
            let (kind, header) = parse_bytes(&file).unwrap();
            assert_eq!(kind, RiffKind::Riff);
            assert_eq!(
                header.layout.coding,
                SampleCoding::int(bytes, bytes > 1, false),
                "{bits} bits in {align}"
            );
            assert_eq!(header.data_len, Some(16));
        }
        // The old 14-byte WAVEFORMAT has no bit width at all.
        let short = fmt(1, 1, 8000, 2, 16);
        let file = wav(&[(b"fmt ", &short[..14]), (b"data", &[0; 4])]);
        let (_, header) = parse_bytes(&file).unwrap();
        assert_eq!(header.layout.coding, SampleCoding::int(2, true, false));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        // IMA ADPCM: left to symphonia.
        let file = wav(&[(b"fmt ", &fmt(0x11, 1, 8000, 256, 4)), (b"data", &[0; 4])]);
        assert!(matches!(
            parse_bytes(&file),
            Err(HeaderError::Unsupported(_))
        ));
        // Data before fmt.
        let file = wav(&[(b"data", &[0; 4]), (b"fmt ", &fmt(1, 1, 8000, 2, 16))]);
        assert!(matches!(
            parse_bytes(&file),
            Err(HeaderError::Unsupported(_))
        ));
        // Not WAVE.
        let mut avi = wav(&[]);
        avi[8..12].copy_from_slice(b"AVI ");
        assert!(matches!(parse_bytes(&avi), Err(HeaderError::NotThisFormat)));
    }
}
