//! What an E-AC-3 frame (Dolby Digital Plus, ATSC A/52 annex E) says before its blocks: the
//! bit stream information, mostly metadata read past, and the audio frame fields, which say
//! which of AC-3's per-block fields its blocks carry and give the exponent strategies and
//! coupling use of every block at once. An AC-3 frame carries every field in every block
//! ([`FrameSyntax::ac3`]).
//!
//! Not decoded, each refused by name: the adaptive hybrid transform (AHT), spectral extension
//! and enhanced coupling (both refused in the blocks), and reduced sample rates.

use super::bits::Bits;
use symphonia::core::errors::{Error as SymphoniaError, Result};

use super::bit_alloc::Params;
use super::header::{FrameHeader, StreamType};
use super::{COUPLING, LFE, SLOTS, slots};

/// Which per-block fields a frame's blocks carry, and what the frame already said for them.
#[derive(Debug, Clone)]
pub struct FrameSyntax {
    pub enhanced: bool,
    /// An independent E-AC-3 substream: its blocks carry a converter SNR offset flag.
    pub independent: bool,
    pub block_switch: bool,
    pub dither: bool,
    pub bit_alloc: bool,
    pub fast_gain: bool,
    pub delta: bool,
    pub skip: bool,
    /// 0: one SNR offset for the frame; 1: one per block; 2: one per channel and block.
    pub snr_strategy: u8,
    /// Per block (E-AC-3): whether it sends a coupling strategy, and whether it couples.
    pub coupling_strategy: [bool; 6],
    pub coupling_in_use: [bool; 6],
    /// Per block and slot (E-AC-3).
    pub exponent_strategies: [[u32; SLOTS]; 6],
    /// The frame's SNR offset (strategy 0).
    pub frame_snr_offset: Option<i32>,
}

impl FrameSyntax {
    /// AC-3: every field in every block.
    pub fn ac3() -> FrameSyntax {
        FrameSyntax {
            enhanced: false,
            independent: false,
            block_switch: true,
            dither: true,
            bit_alloc: true,
            fast_gain: false,
            delta: true,
            skip: true,
            snr_strategy: 2,
            coupling_strategy: [false; 6],
            coupling_in_use: [false; 6],
            exponent_strategies: [[0; SLOTS]; 6],
            frame_snr_offset: None,
        }
    }
}

/// Exponent strategies of the six blocks by a frame's 5-bit code (A/52 table E2.14): one digit
/// a block, 0 to reuse, 1-3 for D15, D25, D45.
const FRAME_EXPONENT_STRATEGIES: [u32; 32] = [
    100000, 100003, 100020, 100033, 200200, 200203, 200320, 200333, 201000, 202003, 202020, 202033,
    203200, 203203, 203320, 203333, 310000, 310003, 320020, 320033, 320200, 320203, 320320, 320333,
    331000, 332003, 332020, 332033, 333200, 333203, 333320, 333333,
];

fn frame_exponent_strategy(code: u32, block: usize) -> u32 {
    FRAME_EXPONENT_STRATEGIES[code as usize & 31] / 10u32.pow(5 - block as u32) % 10
}

/// Reads an E-AC-3 frame's bit stream information and audio frame fields, from its `bsid` on;
/// `params` gets the default bit allocation when the frame sends none.
pub fn read_frame(
    header: &FrameHeader,
    bits: &mut Bits<'_>,
    params: &mut Params,
) -> Result<FrameSyntax> {
    let io = |_| SymphoniaError::DecodeError("ac3: an E-AC-3 frame's data ends early");
    let read = |bits: &mut Bits<'_>, count: u32| bits.read_bits_leq32(count).map_err(io);
    let flag = |bits: &mut Bits<'_>| bits.read_bool().map_err(io);
    let skip = |bits: &mut Bits<'_>, count: u32| bits.ignore_bits(count).map_err(io);
    if header.rate_code == 3 {
        return Err(SymphoniaError::Unsupported(
            "ac3: E-AC-3 at a reduced sample rate is not decoded",
        ));
    }
    let acmod = header.acmod;
    let programs = if acmod == 0 { 2 } else { 1 };
    let independent = header.stream_type == StreamType::Independent;
    let full = super::header::FULL_BANDWIDTH_CHANNELS[usize::from(acmod)];
    let blocks = header.blocks;

    skip(bits, 5)?; // bsid
    for _ in 0..programs {
        skip(bits, 5)?; // dialnorm
        if flag(bits)? {
            skip(bits, 8)?; // compr
        }
    }
    if flag(bits)? {
        // Mixing metadata.
        if acmod > 2 {
            skip(bits, 2)?; // dmixmod
        }
        if acmod & 1 != 0 && acmod > 2 {
            skip(bits, 6)?; // ltrtcmixlev, lorocmixlev
        }
        if acmod & 4 != 0 {
            skip(bits, 6)?; // ltrtsurmixlev, lorosurmixlev
        }
        if header.lfe && flag(bits)? {
            skip(bits, 5)?; // lfemixlevcod
        }
        if independent {
            for _ in 0..programs {
                if flag(bits)? {
                    skip(bits, 6)?; // pgmscl
                }
            }
            if flag(bits)? {
                skip(bits, 6)?; // extpgmscl
            }
            match read(bits, 2)? {
                1 => skip(bits, 5)?,
                2 => skip(bits, 12)?,
                3 => {
                    let length = read(bits, 5)? + 2;
                    skip(bits, length * 8)?;
                }
                _ => {}
            }
            if acmod < 2 {
                for _ in 0..programs {
                    if flag(bits)? {
                        skip(bits, 14)?; // panmean, paninfo
                    }
                }
            }
            if flag(bits)? {
                for _ in 0..blocks {
                    if blocks == 1 || flag(bits)? {
                        skip(bits, 5)?; // blkmixcfginfo
                    }
                }
            }
        }
    }
    if flag(bits)? {
        // Informational metadata.
        skip(bits, 5)?; // bsmod, copyrightb, origbs
        if acmod == 2 {
            skip(bits, 4)?; // dsurmod, dheadphonmod
        }
        if acmod >= 6 {
            skip(bits, 2)?; // dsurexmod
        }
        for _ in 0..programs {
            if flag(bits)? {
                skip(bits, 8)?; // mixlevel, roomtyp, adconvtyp
            }
        }
        skip(bits, 1)?; // sourcefscod
    }
    if independent && blocks != 6 {
        skip(bits, 1)?; // convsync
    }
    if header.stream_type == StreamType::Converted && (blocks == 6 || flag(bits)?) {
        skip(bits, 6)?; // frmsizecod
    }
    if flag(bits)? {
        let length = read(bits, 6)? + 1;
        skip(bits, length * 8)?; // addbsi
    }

    // The audio frame fields.
    let (per_block_exponents, hybrid_transform) = if blocks == 6 {
        (flag(bits)?, flag(bits)?)
    } else {
        (true, false)
    };
    let mut syntax = FrameSyntax {
        enhanced: true,
        independent,
        snr_strategy: read(bits, 2)? as u8,
        ..FrameSyntax::ac3()
    };
    let transient = flag(bits)?;
    syntax.block_switch = flag(bits)?;
    syntax.dither = flag(bits)?;
    syntax.bit_alloc = flag(bits)?;
    if !syntax.bit_alloc {
        *params = Params {
            slow_decay_code: 2,
            fast_decay_code: 1,
            slow_gain_code: 1,
            db_per_bit_code: 2,
            floor_code: 7,
            rate_code: params.rate_code,
        };
    }
    syntax.fast_gain = flag(bits)?;
    syntax.delta = flag(bits)?;
    syntax.skip = flag(bits)?;
    let spx_attenuation = flag(bits)?;
    let mut coupled_blocks = 0;
    if acmod > 1 {
        for block in 0..blocks {
            syntax.coupling_strategy[block] = block == 0 || flag(bits)?;
            syntax.coupling_in_use[block] = if syntax.coupling_strategy[block] {
                flag(bits)?
            } else {
                syntax.coupling_in_use[block - 1]
            };
            coupled_blocks += usize::from(syntax.coupling_in_use[block]);
        }
    }
    if per_block_exponents {
        for block in 0..blocks {
            if syntax.coupling_in_use[block] {
                syntax.exponent_strategies[block][COUPLING] = read(bits, 2)?;
            }
            for channel in 0..full {
                syntax.exponent_strategies[block][channel] = read(bits, 2)?;
            }
        }
    } else {
        for slot in slots(acmod > 1 && coupled_blocks > 0, full, false) {
            let code = read(bits, 5)?;
            for block in 0..6 {
                syntax.exponent_strategies[block][slot] = frame_exponent_strategy(code, block);
            }
        }
    }
    if header.lfe {
        for block in 0..blocks {
            syntax.exponent_strategies[block][LFE] = read(bits, 1)?;
        }
    }
    if independent && (blocks == 6 || flag(bits)?) {
        skip(bits, 5 * full as u32)?; // convexpstr
    }
    if hybrid_transform {
        for slot in slots(coupled_blocks == 6, full, header.lfe) {
            let possible = (1..6).all(|block| {
                syntax.exponent_strategies[block][slot] == 0
                    && !(slot == COUPLING && syntax.coupling_strategy[block])
            });
            if possible && flag(bits)? {
                return Err(SymphoniaError::Unsupported(
                    "ac3: E-AC-3 with the adaptive hybrid transform (AHT) is not decoded",
                ));
            }
        }
    }
    if syntax.snr_strategy == 0 {
        let coarse = read(bits, 6)? as i32;
        let fine = read(bits, 4)? as i32;
        syntax.frame_snr_offset = Some((((coarse - 15) << 4) + fine) << 2);
    }
    if transient {
        for _ in 0..full {
            if flag(bits)? {
                skip(bits, 18)?; // transprocloc, transproclen
            }
        }
    }
    if spx_attenuation {
        for _ in 0..full {
            if flag(bits)? {
                skip(bits, 5)?; // spxattencod
            }
        }
    }
    if blocks > 1 && flag(bits)? {
        let words = (header.frame_bytes / 2) as u32;
        let word_bits = u32::BITS - (words - 1).leading_zeros();
        skip(bits, (blocks as u32 - 1) * (4 + word_bits))?; // blkstrtinfo
    }
    Ok(syntax)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_exponent_strategies_by_code() {
        assert_eq!(
            (0..6)
                .map(|b| frame_exponent_strategy(0, b))
                .collect::<Vec<_>>(),
            [1, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            (0..6)
                .map(|b| frame_exponent_strategy(13, b))
                .collect::<Vec<_>>(),
            [2, 0, 3, 2, 0, 3]
        );
        assert!((0..6).all(|b| frame_exponent_strategy(31, b) == 3));
    }
}
