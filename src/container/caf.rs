//! A streaming parser for Apple Core Audio Format headers holding PCM (`lpcm`, `ulaw`, `alaw`)
//! or Apple IMA ADPCM (`ima4`).
//!
//! Written here because symphonia 0.6's CAF reader does not work on a source that cannot seek.
//! Compressed CAF (AAC, ALAC) needs its packet table, which writers put after the audio, so it
//! cannot be streamed: it is refused with a message that says so.

use symphonia::core::io::ReadBytes;

use super::HeaderError;
use super::pcm_stream::{PcmHeader, PcmLayout, SampleCoding};

const FLAG_IS_FLOAT: u32 = 1 << 0;
const FLAG_IS_LITTLE_ENDIAN: u32 = 1 << 1;
const FLAG_IS_SIGNED_INTEGER: u32 = 1 << 2;
const FLAG_IS_ALIGNED_HIGH: u32 = 1 << 4;

/// Reads a CAF header up to the first byte of sample data.
pub fn parse<R: ReadBytes>(source: &mut R) -> Result<PcmHeader, HeaderError> {
    if source.read_quad_bytes()? != *b"caff" {
        return Err(HeaderError::NotThisFormat);
    }
    let version = source.read_be_u16()?;
    let _flags = source.read_be_u16()?;
    if version != 1 {
        return Err(HeaderError::NotThisFormat);
    }
    let mut layout = None;
    loop {
        let id = source.read_quad_bytes()?;
        let size = source.read_be_i64()?;
        match &id {
            b"desc" => {
                if size < 32 {
                    return Err(HeaderError::Unsupported(format!(
                        "a CAF desc chunk of {size} bytes is too short"
                    )));
                }
                layout = Some(read_desc(source)?);
                source.ignore_bytes(size as u64 - 32)?;
            }
            b"data" => {
                let layout = layout.ok_or_else(|| {
                    HeaderError::Unsupported(
                        "the CAF data chunk comes before its desc chunk".into(),
                    )
                })?;
                let _edit_count = source.read_be_u32()?;
                // -1: the data runs to the end of the file (a writer that streams).
                let data_len = (size >= 4).then(|| size as u64 - 4);
                return Ok(PcmHeader {
                    layout,
                    data_len,
                    // The data chunk is last in a streamable file; whatever follows is a new
                    // file or trailing chunks the probe reports.
                    trailing_len: 0,
                    declared_frames: None,
                });
            }
            _ if size < 0 => {
                return Err(HeaderError::Unsupported(format!(
                    "damaged CAF chunk size {size}"
                )));
            }
            _ => source.ignore_bytes(size as u64)?,
        }
    }
}

/// Reads the 32-byte `desc` chunk: the audio description.
fn read_desc<R: ReadBytes>(source: &mut R) -> Result<PcmLayout, HeaderError> {
    let rate = source.read_be_f64()?;
    let format = source.read_quad_bytes()?;
    let flags = source.read_be_u32()?;
    let bytes_per_packet = source.read_be_u32()?;
    let _frames_per_packet = source.read_be_u32()?;
    let channels = source.read_be_u32()?;
    let bits = source.read_be_u32()?;
    let big_endian = flags & FLAG_IS_LITTLE_ENDIAN == 0;
    let coding = match &format {
        b"lpcm" => {
            let bytes = match channels {
                1.. if bytes_per_packet % channels == 0 && bytes_per_packet > 0 => {
                    bytes_per_packet / channels
                }
                _ => bits.div_ceil(8),
            }
            .min(8) as u8;
            if flags & FLAG_IS_FLOAT != 0 {
                SampleCoding::Float { bytes, big_endian }
            } else {
                // Low-aligned samples narrower than their container carry `bits` bits.
                let aligned_high = flags & FLAG_IS_ALIGNED_HIGH != 0;
                let bits = if aligned_high || bits == 0 || bits > bytes as u32 * 8 {
                    bytes * 8
                } else {
                    bits as u8
                };
                SampleCoding::Int {
                    bytes,
                    bits,
                    signed: flags & FLAG_IS_SIGNED_INTEGER != 0 || bytes > 1,
                    big_endian,
                }
            }
        }
        b"ulaw" => SampleCoding::MuLaw,
        b"alaw" => SampleCoding::ALaw,
        // Constant packets: no packet table needed.
        b"ima4" => SampleCoding::ImaQt,
        other => {
            return Err(HeaderError::Unsupported(format!(
                "CAF with {:?} audio cannot be decoded from a stream (only PCM, µ-law, A-law \
                 and IMA ADPCM CAF can)",
                String::from_utf8_lossy(other)
            )));
        }
    };
    let layout = PcmLayout {
        coding,
        rate: if rate.is_finite() && rate >= 1.0 && rate < u32::MAX as f64 {
            rate.round() as u32
        } else {
            0
        },
        channels: channels.min(u16::MAX as u32) as u16,
        channel_mask: 0,
    };
    layout.check().map_err(HeaderError::Unsupported)?;
    Ok(layout)
}
