//! A streaming parser for AIFF and AIFF-C headers, including the little-endian `sowt`, float,
//! 24/32-bit (`in24`, `in32`, `42ni`, `23ni`), G.711 and Apple IMA ADPCM (`ima4`) compression
//! types.
//!
//! Written here rather than using symphonia 0.6's AIFF reader so that all uncompressed
//! containers share one lenient reader ([`PcmStreamReader`]) with the same packet sizes,
//! first-sound latency and end-of-file handling.
//!
//! [`PcmStreamReader`]: super::pcm_stream::PcmStreamReader

use symphonia::core::io::ReadBytes;

use super::pcm_stream::{PcmHeader, PcmLayout, SampleCoding};
use super::{ByteOrder, HeaderError};

/// Reads an AIFF or AIFF-C header up to the first byte of sample data.
pub fn parse<R: ReadBytes>(source: &mut R) -> Result<PcmHeader, HeaderError> {
    if source.read_quad_bytes()? != *b"FORM" {
        return Err(HeaderError::NotThisFormat);
    }
    let form_size = source.read_be_u32()? as u64;
    let compressed = match &source.read_quad_bytes()? {
        b"AIFF" => false,
        b"AIFC" => true,
        // IFF also holds 8SVX, ILBM, ...
        _ => return Err(HeaderError::NotThisFormat),
    };
    let file_end = (form_size > 4 && form_size != u32::MAX as u64).then_some(8 + form_size);
    let mut pos = 12u64;
    let mut comm: Option<(PcmLayout, u64)> = None;
    loop {
        let id = source.read_quad_bytes()?;
        let size = source.read_be_u32()? as u64;
        pos += 8;
        let padding = size & 1;
        match &id {
            b"COMM" => {
                comm = Some(read_comm(source, size, compressed)?);
                source.ignore_bytes(padding)?;
            }
            b"SSND" => {
                let (layout, frames) = comm.ok_or_else(|| {
                    HeaderError::Unsupported(
                        "the AIFF sound data comes before its COMM chunk, which a stream cannot \
                         read back"
                            .into(),
                    )
                })?;
                let offset = source.read_be_u32()? as u64;
                let _block_size = source.read_be_u32()?;
                source.ignore_bytes(offset)?;
                let data_start = pos + 8 + offset;
                // Streaming writers leave the size at 0 or all ones.
                let data_len = match size {
                    0 | 0xFFFF_FFFF => None,
                    size => Some(size.saturating_sub(8 + offset)),
                };
                let trailing_len = match (file_end, data_len) {
                    // Includes the pad byte after odd-sized sound data.
                    (Some(end), Some(len)) => end.saturating_sub(data_start + len),
                    _ => 0,
                };
                return Ok(PcmHeader {
                    layout,
                    data_len,
                    trailing_len,
                    declared_frames: Some(frames),
                });
            }
            _ => source.ignore_bytes(size + padding)?,
        }
        pos += size + padding;
    }
}

/// Reads a COMM chunk body of `size` bytes: the layout and the declared frame count.
fn read_comm<R: ReadBytes>(
    source: &mut R,
    size: u64,
    compressed: bool,
) -> Result<(PcmLayout, u64), HeaderError> {
    let needed = if compressed { 22 } else { 18 };
    if size < needed {
        return Err(HeaderError::Unsupported(format!(
            "an AIFF COMM chunk of {size} bytes is too short"
        )));
    }
    let channels = source.read_be_u16()?;
    let frames = source.read_be_u32()? as u64;
    let bits = source.read_be_u16()?;
    let mut rate = [0u8; 10];
    source.read_buf_exact(&mut rate)?;
    let compression = if compressed {
        source.read_quad_bytes()?
    } else {
        *b"NONE"
    };
    source.ignore_bytes(size - needed)?;
    let bytes = (bits as u8).div_ceil(8);
    // Samples are left-justified: every container bit is significant.
    let coding = match &compression {
        b"NONE" | b"twos" => SampleCoding::int(bytes, true, true),
        b"sowt" => SampleCoding::int(bytes, true, false),
        b"raw " => SampleCoding::int(bytes, false, true),
        b"in24" => SampleCoding::int(3, true, true),
        b"42ni" => SampleCoding::int(3, true, false),
        b"in32" => SampleCoding::int(4, true, true),
        b"23ni" => SampleCoding::int(4, true, false),
        b"fl32" | b"FL32" => SampleCoding::Float {
            bytes: 4,
            big_endian: true,
        },
        b"fl64" | b"FL64" => SampleCoding::Float {
            bytes: 8,
            big_endian: true,
        },
        b"alaw" | b"ALAW" => SampleCoding::ALaw,
        b"ulaw" | b"ULAW" => SampleCoding::MuLaw,
        b"ima4" => SampleCoding::ImaQt,
        other => {
            return Err(HeaderError::Unsupported(format!(
                "AIFF-C compression {:?} is not supported",
                String::from_utf8_lossy(other)
            )));
        }
    };
    let layout = PcmLayout {
        coding,
        rate: extended_to_rate(&rate),
        channels,
        channel_mask: 0,
    };
    layout.check().map_err(HeaderError::Unsupported)?;
    Ok((layout, frames))
}

/// AIFF's sample rate is an 80-bit IEEE 754 extended float; rates are whole numbers in practice,
/// rounded here. 0 for anything that is not a plausible positive rate.
fn extended_to_rate(bytes: &[u8; 10]) -> u32 {
    let exponent = (ByteOrder::Big.u16(&bytes[..2]) & 0x7fff) as i32 - 16383;
    let mantissa = u64::from_be_bytes(bytes[2..].try_into().expect("8 bytes"));
    if bytes[0] & 0x80 != 0 || !(0..=31).contains(&exponent) {
        return 0;
    }
    // value = mantissa * 2^(exponent - 63), rounded to the nearest integer.
    let shift = 63 - exponent as u32;
    (((mantissa >> (shift - 1)) + 1) >> 1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extended(rate: f64) -> [u8; 10] {
        let exponent = rate.log2().floor() as i32;
        let mantissa = (rate / 2f64.powi(exponent - 63)) as u64;
        let mut out = [0u8; 10];
        out[..2].copy_from_slice(&((exponent + 16383) as u16).to_be_bytes());
        out[2..].copy_from_slice(&mantissa.to_be_bytes());
        out
    }

    #[test]
    fn reads_extended_rates() {
        for rate in [
            1u32, 8000, 11025, 22050, 44100, 48000, 96000, 192000, 384000,
        ] {
            assert_eq!(extended_to_rate(&extended(rate as f64)), rate);
        }
        assert_eq!(extended_to_rate(&[0; 10]), 0);
        let mut negative = extended(44100.0);
        negative[0] |= 0x80;
        assert_eq!(extended_to_rate(&negative), 0);
    }
}
