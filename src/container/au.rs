//! Sun/NeXT audio files (`.au`, `.snd`): a 24-byte big-endian header (`.snd`, where the data
//! starts, its length or `0xffffffff` when the writer did not know it, the encoding, rate and
//! channels), an annotation, then the samples. What Java's sound API, sox, SoX-based TTS tools
//! and many web servers (as `audio/basic`) hand out.
//!
//! Written here because symphonia has no AU reader. µ-law, A-law, 8/16/24/32-bit integers,
//! 32/64-bit floats and Sun's ADPCM encodings (G.721 and G.723, which are G.726 at 32, 24 and
//! 40 kbit/s with codes packed from each byte's least significant bit up, and G.722) are read.

use symphonia::core::io::ReadBytes;

use super::HeaderError;
use super::pcm_stream::{PcmHeader, PcmLayout, SampleCoding};
use crate::codecs::telephony::Codec;

pub const MAGIC: [u8; 4] = *b".snd";
const HEADER_BYTES: u32 = 24;
/// The data size of a writer that streams.
const UNKNOWN_SIZE: u32 = u32::MAX;

/// Whether the source starts with the magic and a plausible data offset (the source is left
/// where it was).
pub fn at_header(source: &mut symphonia::core::io::MediaSourceStream<'_>) -> bool {
    super::source::look_ahead(source, |source| {
        let mut head = [0u8; 8];
        source.read_buf_exact(&mut head).is_ok()
            && head[..4] == MAGIC
            && u32::from_be_bytes([head[4], head[5], head[6], head[7]]) >= HEADER_BYTES
    })
}

/// Sun's G.72x encoding of `bits` bits a code: G.726, packed from the least significant bit up.
fn g72x(bits: u8) -> SampleCoding {
    SampleCoding::Coded(Codec::G726 {
        bits,
        msb_first: false,
    })
}

/// Reads an AU header up to the first byte of sample data.
pub fn parse<R: ReadBytes>(source: &mut R) -> Result<PcmHeader, HeaderError> {
    if source.read_quad_bytes()? != MAGIC {
        return Err(HeaderError::NotThisFormat);
    }
    let data_offset = source.read_be_u32()?;
    let data_size = source.read_be_u32()?;
    let encoding = source.read_be_u32()?;
    let rate = source.read_be_u32()?;
    let channels = source.read_be_u32()?;
    if data_offset < HEADER_BYTES {
        return Err(HeaderError::NotThisFormat);
    }
    let coding = match encoding {
        1 => SampleCoding::MuLaw,
        2 => SampleCoding::int(1, true, true),
        3 => SampleCoding::int(2, true, true),
        4 => SampleCoding::int(3, true, true),
        5 => SampleCoding::int(4, true, true),
        6 => SampleCoding::Float {
            bytes: 4,
            big_endian: true,
        },
        7 => SampleCoding::Float {
            bytes: 8,
            big_endian: true,
        },
        27 => SampleCoding::ALaw,
        23 => g72x(4),
        25 => g72x(3),
        26 => g72x(5),
        24 => SampleCoding::Coded(Codec::G722),
        other => {
            return Err(HeaderError::Unsupported(format!(
                "Sun AU with encoding {other}, which this element does not decode (µ-law, A-law, \
                 integer and float PCM, G.721, G.722 and G.723 AU files are decoded)"
            )));
        }
    };
    let layout = PcmLayout {
        coding,
        // Sun's ADPCM codecs decode at their own rate.
        rate: match coding {
            SampleCoding::Coded(codec) => codec.rate(),
            _ => rate,
        },
        channels: channels.min(u32::from(u16::MAX)) as u16,
        channel_mask: 0,
    };
    layout.check().map_err(HeaderError::Unsupported)?;
    // The annotation (often a text, or zeros).
    source.ignore_bytes(u64::from(data_offset - HEADER_BYTES))?;
    Ok(PcmHeader {
        layout,
        data_len: (data_size != UNKNOWN_SIZE).then_some(u64::from(data_size)),
        trailing_len: 0,
        declared_frames: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use symphonia::core::io::BufReader;

    fn header(offset: u32, size: u32, encoding: u32, rate: u32, channels: u32) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        for field in [offset, size, encoding, rate, channels] {
            bytes.extend(field.to_be_bytes());
        }
        bytes.resize(offset.max(24) as usize, 0);
        bytes
    }

    #[test]
    fn reads_what_sox_and_ffmpeg_write() {
        // ffmpeg's µ-law at 8 kHz: offset 32 (an 8-byte annotation), size unknown.
        let bytes = header(32, u32::MAX, 1, 8000, 1);
        let au = parse(&mut BufReader::new(&bytes)).unwrap();
        assert_eq!(au.layout.coding, SampleCoding::MuLaw);
        assert_eq!((au.layout.rate, au.layout.channels), (8000, 1));
        assert_eq!(au.data_len, None);
        // 16-bit stereo of a known length.
        let bytes = header(24, 4000, 3, 44_100, 2);
        let au = parse(&mut BufReader::new(&bytes)).unwrap();
        assert_eq!(au.layout.coding, SampleCoding::int(2, true, true));
        assert_eq!(au.data_len, Some(4000));
    }

    #[test]
    fn sun_adpcm_is_g726_and_g722_at_their_own_rates() {
        for (encoding, bits) in [(23, 4), (25, 3), (26, 5)] {
            // Rates other than 8 kHz in the header are what the writer thought, not the codec.
            let bytes = header(24, 100, encoding, 8012, 1);
            let au = parse(&mut BufReader::new(&bytes)).unwrap();
            let codec = Codec::G726 {
                bits,
                msb_first: false,
            };
            assert_eq!(au.layout.coding, SampleCoding::Coded(codec));
            assert_eq!(au.layout.rate, 8000);
        }
        let bytes = header(24, 100, 24, 8000, 1);
        let au = parse(&mut BufReader::new(&bytes)).unwrap();
        assert_eq!(au.layout.coding, SampleCoding::Coded(Codec::G722));
        assert_eq!(au.layout.rate, 16_000);
    }

    #[test]
    fn other_encodings_stereo_adpcm_and_nonsense_are_refused() {
        for (encoding, channels, named) in [(24, 2, "G.722 in 2 channels"), (8, 1, "encoding 8")] {
            let bytes = header(24, 100, encoding, 16_000, channels);
            match parse(&mut BufReader::new(&bytes)) {
                Err(HeaderError::Unsupported(why)) => assert!(why.contains(named), "{why}"),
                other => panic!("{other:?}"),
            }
        }
        let bytes = header(8, 100, 1, 8000, 1);
        assert!(matches!(
            parse(&mut BufReader::new(&bytes)),
            Err(HeaderError::NotThisFormat)
        ));
        assert!(matches!(
            parse(&mut BufReader::new(b"RIFF\0\0\0\0WAVE")),
            Err(HeaderError::NotThisFormat)
        ));
    }
}
