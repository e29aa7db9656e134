//! An AC-3 or E-AC-3 sync frame's header (ATSC A/52, sections 5.3.1-5.3.2 and E.1.2): its
//! length, rate, channels and blocks, which the reader needs to cut frames from a stream and the
//! decoder to decode them.

use super::bits::Bits;

pub const SYNC_WORD: u16 = 0x0b77;
/// Samples per channel in a block; an AC-3 frame has six, an E-AC-3 frame 1, 2, 3 or 6.
pub const BLOCK_SAMPLES: usize = 256;
/// Samples per channel in a frame of six blocks.
pub const FRAME_SAMPLES: usize = 6 * BLOCK_SAMPLES;
/// The fewest bytes that hold what [`FrameHeader::parse`] reads.
pub const HEADER_BYTES: usize = 7;
/// The longest frame: E-AC-3's 2048 words.
pub const MAX_FRAME_BYTES: usize = 4096;

/// Bit rates in kbit/s by frame size code ÷ 2 (A/52 table 5.18).
const BIT_RATES: [u32; 19] = [
    32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576, 640,
];

/// Full-bandwidth channels by audio coding mode (`acmod`).
pub const FULL_BANDWIDTH_CHANNELS: [usize; 8] = [2, 1, 2, 3, 3, 4, 4, 5];

/// What kind of Dolby stream a sync word starts, by its `bsid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// AC-3 (`bsid` up to 8, and 9 and 10 at half and quarter rate).
    Ac3,
    /// E-AC-3 (Dolby Digital Plus, `bsid` 11 to 16).
    Enhanced,
}

/// An E-AC-3 frame's place in the stream: independent substreams each make a program (the
/// first is the one decoded), a dependent one adds channels to the independent one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamType {
    Independent,
    Dependent,
    /// Converted from AC-3 (decoded as independent).
    Converted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub syntax: Syntax,
    pub frame_bytes: usize,
    pub rate: u32,
    /// 0 = 48 kHz, 1 = 44.1, 2 = 32 (the bit allocation's tables go by it); 3 = E-AC-3 at half
    /// those rates.
    pub rate_code: u8,
    pub acmod: u8,
    pub lfe: bool,
    pub blocks: usize,
    /// E-AC-3's stream type and substream; AC-3 is an independent substream 0.
    pub stream_type: StreamType,
    pub substream: u8,
}

impl FrameHeader {
    /// The syntax a frame starting at `data` is written in, from its first 6 bytes.
    pub fn syntax(data: &[u8]) -> Option<Syntax> {
        if data.len() < 6 || u16::from_be_bytes([data[0], data[1]]) != SYNC_WORD {
            return None;
        }
        match data[5] >> 3 {
            0..=10 => Some(Syntax::Ac3),
            11..=16 => Some(Syntax::Enhanced),
            _ => None,
        }
    }

    /// Reads the header of the frame starting at `data`; None when it is not one.
    pub fn parse(data: &[u8]) -> Option<FrameHeader> {
        let syntax = Self::syntax(data)?;
        if data.len() < HEADER_BYTES {
            return None;
        }
        match syntax {
            Syntax::Ac3 => Self::parse_ac3(data),
            Syntax::Enhanced => Self::parse_enhanced(data),
        }
    }

    fn parse_ac3(data: &[u8]) -> Option<FrameHeader> {
        let rate_code = data[4] >> 6;
        let size_code = usize::from(data[4] & 0x3f);
        let bsid = data[5] >> 3;
        if rate_code == 3 || size_code >= 38 {
            return None;
        }
        let bit_rate = BIT_RATES[size_code / 2];
        let words = match rate_code {
            0 => 2 * bit_rate,
            1 => 320 * bit_rate / 147 + (size_code as u32 & 1),
            _ => 3 * bit_rate,
        } as usize;
        // bsid 9 and 10 are the half- and quarter-rate variants.
        let shift = bsid.saturating_sub(8);
        let rate = [48_000, 44_100, 32_000][usize::from(rate_code)] >> shift;
        let mut bits = Bits::new(&data[5..]);
        bits.ignore_bits(5 + 3).ok()?;
        let acmod = bits.read_bits_leq32(3).ok()? as u8;
        if acmod & 1 != 0 && acmod != 1 {
            bits.ignore_bits(2).ok()?;
        }
        if acmod & 4 != 0 {
            bits.ignore_bits(2).ok()?;
        }
        if acmod == 2 {
            bits.ignore_bits(2).ok()?;
        }
        let lfe = bits.read_bool().ok()?;
        Some(FrameHeader {
            syntax: Syntax::Ac3,
            frame_bytes: words * 2,
            rate,
            rate_code,
            acmod,
            lfe,
            blocks: 6,
            stream_type: StreamType::Independent,
            substream: 0,
        })
    }

    fn parse_enhanced(data: &[u8]) -> Option<FrameHeader> {
        let stream_type = match data[2] >> 6 {
            0 => StreamType::Independent,
            1 => StreamType::Dependent,
            2 => StreamType::Converted,
            _ => return None,
        };
        let substream = (data[2] >> 3) & 7;
        let words = usize::from(u16::from_be_bytes([data[2], data[3]]) & 0x07ff) + 1;
        if words * 2 < HEADER_BYTES {
            return None;
        }
        let rate_code = data[4] >> 6;
        let (rate, blocks) = if rate_code == 3 {
            let reduced = (data[4] >> 4) & 3;
            if reduced == 3 {
                return None;
            }
            ([24_000, 22_050, 16_000][usize::from(reduced)], 6)
        } else {
            (
                [48_000, 44_100, 32_000][usize::from(rate_code)],
                [1, 2, 3, 6][usize::from((data[4] >> 4) & 3)],
            )
        };
        Some(FrameHeader {
            syntax: Syntax::Enhanced,
            frame_bytes: words * 2,
            rate,
            rate_code,
            acmod: (data[4] >> 1) & 7,
            lfe: data[4] & 1 != 0,
            blocks,
            stream_type,
            substream,
        })
    }

    pub fn channels(&self) -> usize {
        FULL_BANDWIDTH_CHANNELS[usize::from(self.acmod)] + usize::from(self.lfe)
    }

    /// Samples per channel this frame adds to the output: none for the substreams not decoded.
    pub fn samples(&self) -> usize {
        if self.is_decoded() {
            self.blocks * BLOCK_SAMPLES
        } else {
            0
        }
    }

    /// Whether this frame belongs to the program decoded: the first independent substream.
    pub fn is_decoded(&self) -> bool {
        self.substream == 0 && self.stream_type != StreamType::Dependent
    }
}

/// AC-3's frame check, the same CRC-16 as FLAC's (`crate::checksum`). A frame is intact when
/// this over everything after the sync word is 0 (A/52 section 7.10.1).
pub use crate::checksum::crc16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lengths_follow_the_rate_and_size_code() {
        // 48 kHz, 192 kbit/s: 768 bytes; 44.1 kHz at 192 kbit/s: 835 or 836 words ×2.
        let header = |rate_code: u8, size_code: u8| {
            FrameHeader::parse(&[0x0b, 0x77, 0, 0, rate_code << 6 | size_code, 8 << 3, 0x40])
        };
        assert_eq!(header(0, 20).unwrap().frame_bytes, 768);
        assert_eq!(header(1, 20).unwrap().frame_bytes, 2 * 417);
        assert_eq!(header(1, 21).unwrap().frame_bytes, 2 * 418);
        assert_eq!(header(2, 37).unwrap().frame_bytes, 3840);
        assert_eq!(header(3, 20), None);
        assert_eq!(header(0, 38), None);
        // acmod 2 (stereo: 010), then dsurmod (00), then lfeon set (1).
        let stereo_lfe = FrameHeader::parse(&[0x0b, 0x77, 0, 0, 20, 8 << 3, 0b0100_0100]);
        assert_eq!(stereo_lfe.unwrap().channels(), 3);
    }

    #[test]
    fn enhanced_ac3_headers_say_their_substream_and_blocks() {
        // Independent substream 0, 384 words, 48 kHz, 6 blocks, 3/2 with LFE.
        let eac3 = [0x0b, 0x77, 0x01, 0x7f, 0b0011_1111, 16 << 3, 0];
        assert_eq!(FrameHeader::syntax(&eac3), Some(Syntax::Enhanced));
        let header = FrameHeader::parse(&eac3).unwrap();
        assert_eq!(
            (
                header.frame_bytes,
                header.rate,
                header.blocks,
                header.channels()
            ),
            (768, 48_000, 6, 6)
        );
        assert!(header.is_decoded());
        // A dependent substream, 1 block at 44.1 kHz.
        let dependent = [0x0b, 0x77, 0x41, 0x7f, 0b0100_0100, 16 << 3, 0];
        let header = FrameHeader::parse(&dependent).unwrap();
        assert_eq!(
            (header.stream_type, header.blocks),
            (StreamType::Dependent, 1)
        );
        assert_eq!(header.samples(), 0);
        // Reduced rate (fscod 3): 24 kHz, always 6 blocks.
        let reduced = [0x0b, 0x77, 0x01, 0x7f, 0b1100_0100, 16 << 3, 0];
        assert_eq!(FrameHeader::parse(&reduced).unwrap().rate, 24_000);
    }

    #[test]
    fn the_crc_of_data_followed_by_its_crc_is_zero() {
        let data = b"123456789";
        let crc = crc16(data);
        let mut with_crc = data.to_vec();
        with_crc.extend_from_slice(&crc.to_be_bytes());
        assert_eq!(crc16(&with_crc), 0);
        // CRC-16/UMTS (this polynomial, no reflection, from 0) of "123456789".
        assert_eq!(crc, 0xfee8);
    }
}
