//! An AC-3 sync frame's header (ATSC A/52, sections 5.3.1 and 5.3.2): its length, rate and
//! channels, which the reader needs to cut frames from a stream and the decoder to decode them.

use symphonia::core::io::{BitReaderLtr, ReadBitsLtr};

pub const SYNC_WORD: u16 = 0x0b77;
/// Samples per channel in a frame: six blocks of 256.
pub const FRAME_SAMPLES: usize = 1536;
/// The fewest bytes that hold what [`FrameHeader::parse`] reads.
pub const HEADER_BYTES: usize = 7;
/// The longest frame: 640 kbit/s at 32 kHz.
pub const MAX_FRAME_BYTES: usize = 3840;

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
    /// E-AC-3 (Dolby Digital Plus, `bsid` 11 to 16), which this decoder does not decode.
    Enhanced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub frame_bytes: usize,
    pub rate: u32,
    /// 0 = 48 kHz, 1 = 44.1, 2 = 32 (the bit allocation's tables go by it).
    pub rate_code: u8,
    pub acmod: u8,
    pub lfe: bool,
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

    /// Reads the header of the AC-3 frame starting at `data`; None when it is not one.
    pub fn parse(data: &[u8]) -> Option<FrameHeader> {
        if Self::syntax(data)? != Syntax::Ac3 || data.len() < HEADER_BYTES {
            return None;
        }
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
        let mut bits = BitReaderLtr::new(&data[5..]);
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
            frame_bytes: words * 2,
            rate,
            rate_code,
            acmod,
            lfe,
        })
    }

    pub fn channels(&self) -> usize {
        FULL_BANDWIDTH_CHANNELS[usize::from(self.acmod)] + usize::from(self.lfe)
    }
}

/// CRC-16 with the polynomial x^16 + x^15 + x^2 + 1, MSB first, from 0: AC-3's frame check. A
/// frame is intact when this over everything after the sync word is 0 (A/52 section 7.10.1).
/// Written here: a table-driven loop of six lines, which no crate in the tree offers for this
/// polynomial.
pub fn crc16(data: &[u8]) -> u16 {
    static TABLE: std::sync::LazyLock<[u16; 256]> = std::sync::LazyLock::new(|| {
        std::array::from_fn(|byte| {
            let mut crc = (byte as u16) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x8005
                } else {
                    crc << 1
                };
            }
            crc
        })
    });
    data.iter().fold(0u16, |crc, &byte| {
        (crc << 8) ^ TABLE[usize::from((crc >> 8) as u8 ^ byte)]
    })
}

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
        assert_eq!(header(2, 37).unwrap().frame_bytes, MAX_FRAME_BYTES);
        assert_eq!(header(3, 20), None);
        assert_eq!(header(0, 38), None);
        // acmod 2 (stereo: 010), then dsurmod (00), then lfeon set (1).
        let stereo_lfe = FrameHeader::parse(&[0x0b, 0x77, 0, 0, 20, 8 << 3, 0b0100_0100]);
        assert_eq!(stereo_lfe.unwrap().channels(), 3);
    }

    #[test]
    fn enhanced_ac3_is_told_apart() {
        let eac3 = [0x0b, 0x77, 0, 0, 0, 16 << 3, 0];
        assert_eq!(FrameHeader::syntax(&eac3), Some(Syntax::Enhanced));
        assert_eq!(FrameHeader::parse(&eac3), None);
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
