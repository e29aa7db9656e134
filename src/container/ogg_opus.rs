//! Ogg Opus (RFC 7845): what the Ogg reader (`ogg_audio`) needs to know of Opus: the channel
//! mappings decoded here and the decoder's parameters from the OpusHead, and each packet's length
//! from its TOC byte.

use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;

use crate::codecs::opus::OpusHead;
use crate::container::ogg_audio;

/// Opus counts time and packet lengths at 48 kHz, in Ogg too (RFC 7845 section 4).
pub const RATE: u32 = 48_000;

/// Why the OpusHead `head` cannot be decoded here, if it is one with a channel mapping nothing
/// here decodes.
pub fn unsupported_mapping(head: &[u8]) -> Option<String> {
    let head = OpusHead::parse(head)?;
    match (head.mapping_family, head.channels) {
        (0, 1..=2) | (1 | 255, 1..=8) => None,
        (family, channels) => Some(format!(
            "Ogg Opus with channel mapping family {family} and {channels} channels is not \
             supported (family 0 with 1 or 2 channels, and families 1 and 255 with up to 8, are)"
        )),
    }
}

/// Samples (at 48 kHz) in an Opus packet, from its TOC byte (RFC 6716 section 3.1); 0 for a
/// packet too short to say.
pub fn packet_samples(packet: &[u8]) -> u64 {
    let Some(&toc) = packet.first() else {
        return 0;
    };
    let config = toc >> 3;
    // Frame length in 1/400 s (2.5 ms) units, by configuration (RFC 6716 table 2).
    let frame_units: u64 = match config {
        0..=11 => [4, 8, 16, 24][usize::from(config % 4)],
        12..=15 => [4, 8][usize::from(config % 2)],
        _ => [1, 2, 4, 8][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => packet.get(1).map_or(0, |count| u64::from(count & 0x3f)),
    };
    frames * frame_units * u64::from(RATE) / 400
}

/// The decoder's parameters and the pre-skip, from an OpusHead.
pub fn codec_params(head: &[u8]) -> Option<(AudioCodecParameters, u32)> {
    let parsed = OpusHead::parse(head).filter(|h| h.channels > 0)?;
    let channels = ogg_audio::channels_by_count(parsed.channels);
    let mut params = AudioCodecParameters::new();
    params
        .for_codec(CODEC_ID_OPUS)
        .with_sample_rate(RATE)
        .with_channels(channels)
        .with_extra_data(head.into());
    Some((params, u32::from(parsed.pre_skip)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::container::source::Unseekable;
    use std::io;
    use symphonia::core::io::MediaSourceStream;

    /// An OpusHead of `channels` channels, each its own stream, in `family`.
    pub(crate) fn opus_head(family: u8, channels: u8, pre_skip: u16) -> Vec<u8> {
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, channels]);
        head.extend_from_slice(&pre_skip.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes());
        head.push(family);
        if family != 0 {
            head.extend_from_slice(&[channels, 0]);
            head.extend(0..channels);
        }
        head
    }

    pub(crate) fn source(bytes: Vec<u8>) -> MediaSourceStream<'static> {
        MediaSourceStream::new(
            Box::new(Unseekable::new(io::Cursor::new(bytes))),
            Default::default(),
        )
    }

    #[test]
    fn packet_lengths_follow_the_toc() {
        // SILK 10 ms, hybrid 20 ms, CELT 2.5 ms; codes 0, 1, 2 and 3 with 5 frames.
        assert_eq!(packet_samples(&[0]), 480);
        assert_eq!(packet_samples(&[(13 << 3) | 1]), 1920);
        assert_eq!(packet_samples(&[(16 << 3) | 2]), 240);
        assert_eq!(packet_samples(&[(3 << 3) | 3, 5]), 5 * 2880);
        assert_eq!(packet_samples(&[]), 0);
        assert_eq!(packet_samples(&[3]), 0);
    }

    #[test]
    fn mappings_decoded_here_are_told_apart() {
        for (family, channels) in [(0, 1), (0, 2), (1, 6), (255, 4), (255, 8)] {
            assert_eq!(unsupported_mapping(&opus_head(family, channels, 0)), None);
            assert!(codec_params(&opus_head(family, channels, 0)).is_some());
        }
        for (family, channels) in [(255, 9), (2, 4), (3, 4), (0, 3)] {
            let why = unsupported_mapping(&opus_head(family, channels, 0)).unwrap();
            assert!(why.contains(&format!("family {family} and {channels} channels")));
        }
        assert_eq!(unsupported_mapping(b"\x01vorbis and more"), None);
    }
}
