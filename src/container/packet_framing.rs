//! Packets that come one per buffer (upstream caps say so: `audio/x-opus`, raw AAC) into the
//! byte queue, which keeps no buffer boundaries: each packet goes in behind a header that
//! states its length, one the readers already read. Opus packets get the control header of
//! Opus in MPEG-TS (`opus_units`), with the samples a demuxer's clipping metadata trims; raw AAC
//! frames get an ADTS header (`aac_frames`).

use crate::container::aac_frames::AdtsFields;
use crate::container::opus_units;
use crate::format_hint::ContainerHint;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketFraming {
    /// Opus packets; the OpusHead's pre-skip until the first audio packet: the decoder drops it,
    /// so a demuxer's clipping of that packet, which counts it, is taken without it (as
    /// `opusdec` counts them).
    Opus { pre_skip_left: u64 },
    /// Raw AAC frames, with what their ADTS headers say.
    Adts(AdtsFields),
}

impl PacketFraming {
    /// The framing a stream opened with `hint` needs, if its input comes one packet per buffer.
    pub fn for_hint(hint: Option<ContainerHint>) -> Option<PacketFraming> {
        match hint? {
            ContainerHint::OpusPackets(layout) => Some(PacketFraming::Opus {
                pre_skip_left: u64::from(layout.pre_skip),
            }),
            ContainerHint::AacFrames(fields) => Some(PacketFraming::Adts(fields)),
            _ => None,
        }
    }

    /// Puts `packet` behind its header into `out` (cleared first), with `clipping`, the samples
    /// to drop at its start and end (Opus only). False when it cannot be framed: an AAC frame
    /// longer than ADTS can state.
    pub fn frame(&mut self, packet: &[u8], clipping: (u64, u64), out: &mut Vec<u8>) -> bool {
        out.clear();
        match self {
            PacketFraming::Opus { pre_skip_left } => {
                let (mut start, end) = clipping;
                if !opus_units::is_header_packet(packet) {
                    start = start.saturating_sub(std::mem::take(pre_skip_left));
                }
                opus_units::frame_packet(packet, start, end, out);
                true
            }
            PacketFraming::Adts(fields) => match fields.header(packet.len()) {
                Some(header) => {
                    out.extend_from_slice(&header);
                    out.extend_from_slice(packet);
                    true
                }
                None => false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codecs::opus::OpusLayout;

    #[test]
    fn the_pre_skip_is_taken_out_of_the_first_audio_packets_clipping_only() {
        let layout = OpusLayout::new(2, None, 312, 0).unwrap();
        let mut framing =
            PacketFraming::for_hint(Some(ContainerHint::OpusPackets(layout))).unwrap();
        let mut out = Vec::new();
        let trims = |framing: &mut PacketFraming, packet: &[u8], clipping| {
            let mut out = Vec::new();
            assert!(framing.frame(packet, clipping, &mut out));
            // Flags byte: start trim 0x10, end trim 0x08.
            (out[1] & 0x10 != 0, out[1] & 0x08 != 0)
        };
        // Header packets do not use the pre-skip up.
        assert_eq!(
            trims(&mut framing, b"OpusHead\x01\x02", (0, 0)),
            (false, false)
        );
        // The demuxer's 312 at the start are the pre-skip the decoder drops already.
        assert_eq!(trims(&mut framing, &[0xfc, 1, 2], (312, 0)), (false, false));
        // Later clipping is the demuxer's own.
        assert_eq!(trims(&mut framing, &[0xfc, 1, 2], (100, 648)), (true, true));
        assert!(framing.frame(&[0xfc], (0, 0), &mut out));
        assert_eq!(out, [0x7f, 0xe0, 1, 0xfc]);
    }

    #[test]
    fn aac_frames_get_adts_headers_up_to_what_adts_can_state() {
        let fields = AdtsFields::from_audio_specific_config(&[0x12, 0x10]).unwrap();
        let mut framing = PacketFraming::for_hint(Some(ContainerHint::AacFrames(fields))).unwrap();
        let mut out = vec![9; 3];
        assert!(framing.frame(&[1, 2, 3], (0, 0), &mut out));
        assert_eq!(
            (out.len(), &out[..2], &out[7..]),
            (10, &[0xff, 0xf1][..], &[1, 2, 3][..])
        );
        assert!(!framing.frame(&vec![0; 9000], (0, 0), &mut out));
        assert_eq!(PacketFraming::for_hint(Some(ContainerHint::Adts)), None);
    }
}
