//! Sun/NeXT audio files (`.au`, `.snd`): a 24-byte big-endian header (`.snd`, where the data
//! starts, its length or `0xffffffff` when the writer did not know it, the encoding, rate and
//! channels), an annotation, then the samples. What Java's sound API, sox, SoX-based TTS tools
//! and many web servers (as `audio/basic`) hand out.
//!
//! Written here because symphonia has no AU reader. µ-law, A-law, 8/16/24/32-bit integers and
//! 32/64-bit floats are read; the ADPCM encodings (G.721, G.722, G.723) are refused with an
//! error that names them.

use symphonia::core::io::ReadBytes;

use super::HeaderError;
use super::pcm_stream::{PcmHeader, PcmLayout, SampleCoding};

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
        other => {
            let name = match other {
                23 => " (G.721 ADPCM)",
                24 => " (G.722 ADPCM)",
                25 | 26 => " (G.723 ADPCM)",
                _ => "",
            };
            return Err(HeaderError::Unsupported(format!(
                "Sun AU with encoding {other}{name}, which this element does not decode (µ-law, \
                 A-law, integer and float PCM AU files are decoded)"
            )));
        }
    };
    let layout = PcmLayout {
        coding,
        rate,
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
    fn adpcm_and_nonsense_are_refused() {
        let bytes = header(24, 100, 24, 16_000, 1);
        match parse(&mut BufReader::new(&bytes)) {
            Err(HeaderError::Unsupported(why)) => assert!(why.contains("G.722"), "{why}"),
            other => panic!("{other:?}"),
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
