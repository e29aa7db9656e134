//! Raw AAC frames that come one per buffer (`audio/mpeg, mpegversion=4, stream-format=raw`
//! caps with an AudioSpecificConfig in `codec_data`, as `qtdemux`, `matroskademux`, `flvdemux`
//! and `rtpmp4gdepay` hand them out): the element puts an ADTS header in front of each, so the
//! byte queue (which keeps no buffer boundaries) carries an ADTS stream the ADTS reader takes as
//! it is. HE-AAC (SBR, PS) goes as ADTS carries it: the core's profile and rate, the extension
//! found by the decoder.

use crate::container::aac_config::{Bits, ConfigHead};

/// What an ADTS header needs from an AudioSpecificConfig (ISO/IEC 14496-3, 1.6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdtsFields {
    /// The core's audio object type: 1 to 4 (Main, LC, SSR, LTP), what ADTS can name.
    object_type: u8,
    rate_index: u8,
    channel_config: u8,
}

impl AdtsFields {
    /// The fields of an AudioSpecificConfig, when ADTS can carry its stream: a core of AAC
    /// Main, LC, SSR or LTP at one of the 13 standard rates, channels by configuration 1 to 7.
    pub fn from_audio_specific_config(config: &[u8]) -> Option<AdtsFields> {
        let head = ConfigHead::read(&mut Bits::new(config))?;
        // Explicit SBR (and PS) keeps the core's object type and rate, as ADTS carries them.
        ((1..=4).contains(&head.object_type)
            && head.rate_index <= 12
            && (1..=7).contains(&head.channel_config))
        .then_some(AdtsFields {
            object_type: head.object_type,
            rate_index: head.rate_index,
            channel_config: head.channel_config,
        })
    }

    /// The ADTS header (no CRC) of a frame of `payload_len` bytes, or `None` when the frame is
    /// longer than ADTS can state (8191 bytes with the header).
    pub fn header(&self, payload_len: usize) -> Option<[u8; 7]> {
        let len = payload_len + 7;
        if len > 0x1fff {
            return None;
        }
        let profile = self.object_type - 1;
        Some([
            0xff,
            0xf1, // MPEG-4, layer 0, no CRC
            (profile << 6) | (self.rate_index << 2) | (self.channel_config >> 2),
            ((self.channel_config & 3) << 6) | (len >> 11) as u8,
            (len >> 3) as u8,
            ((len & 7) << 5) as u8 | 0x1f, // buffer fullness 0x7ff: variable rate
            0xfc,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::mpeg_split::starts_with_adts_header;

    #[test]
    fn lc_and_he_aac_configs_become_adts_headers() {
        // qtdemux's codec_data for ffmpeg's AAC-LC, 44.1 kHz stereo.
        let lc = AdtsFields::from_audio_specific_config(&[0x12, 0x10]).unwrap();
        assert_eq!(
            (lc.object_type, lc.rate_index, lc.channel_config),
            (2, 4, 2)
        );
        let header = lc.header(371).unwrap();
        assert!(starts_with_adts_header(&header));
        // Frame length 378 = 371 + 7 over bytes 3 to 5.
        let len = (usize::from(header[3] & 3) << 11)
            | (usize::from(header[4]) << 3)
            | usize::from(header[5] >> 5);
        assert_eq!(len, 378);
        // HE-AAC with explicit SBR: object type 5, core rate 22.05 kHz (index 7), stereo,
        // output 44.1 kHz (index 4), core AAC-LC.
        let he = AdtsFields::from_audio_specific_config(&[0x2b, 0x92, 0x08, 0x00]).unwrap();
        assert_eq!(
            (he.object_type, he.rate_index, he.channel_config),
            (2, 7, 2)
        );
    }

    #[test]
    fn what_adts_cannot_carry_is_refused() {
        // AAC-LD (23) and ELD (39, escaped), channel configuration 0 (a PCE), an explicit rate.
        for config in [
            &[0xb9, 0x88][..],
            &[0xf8, 0xe6, 0x20],
            &[0x12, 0x00],
            &[0x17, 0x80, 0x00, 0x00, 0x10],
        ] {
            assert_eq!(
                AdtsFields::from_audio_specific_config(config),
                None,
                "{config:x?}"
            );
        }
        let lc = AdtsFields::from_audio_specific_config(&[0x12, 0x10]).unwrap();
        assert_eq!(lc.header(8185), None);
    }
}
