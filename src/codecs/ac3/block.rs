//! One audio block of an AC-3 or E-AC-3 frame: its fields (block switching, dither, dynamic
//! range, coupling, rematrixing, exponents, bit allocation parameters), the mantissas they say
//! how to read, and each channel's 256 transform coefficients from them. What a block leaves
//! for the next blocks of its frame is in [`FrameState`].

use symphonia::core::errors::{Error as SymphoniaError, Result};

use super::bit_alloc::{self, ChannelParams, Delta, Params};
use super::bits::Bits;
use super::enhanced::FrameSyntax;
use super::{COUPLING, LFE, MAX_FULL, SLOTS, damaged, io_to_damage, slots};

/// Coupling sub-bands of 12 bins: up to 18.
const MAX_COUPLING_BANDS: usize = 18;
/// E-AC-3's coupling band structure when a frame's first block sends none (A/52 table E2.16),
/// by sub-band: whether it joins the band below.
const DEFAULT_COUPLING_JOINS: [bool; MAX_COUPLING_BANDS] = [
    false, false, false, false, false, false, false, false, true, false, true, true, false, true,
    true, true, true, true,
];
/// Where the rematrixing bands of stereo start (A/52 table 7.25), and where the last ends.
const REMATRIX_BANDS: [usize; 5] = [13, 25, 37, 61, 253];

/// Exponent strategies: reuse the last block's, or new ones sent in groups of 1, 2 or 4 bins.
fn group_bins(strategy: u32) -> usize {
    1 << (strategy - 1)
}

/// Everything a frame's blocks pass on to the following blocks of the same frame.
pub(super) struct FrameState {
    pub(super) syntax: FrameSyntax,
    pub(super) full_channels: usize,
    pub(super) acmod: u8,
    pub(super) lfe: bool,
    pub(super) block_switch: [bool; MAX_FULL],
    pub(super) dither: [bool; MAX_FULL],
    pub(super) dynamic_range: [f32; 2],
    pub(super) coupling: bool,
    pub(super) in_coupling: [bool; MAX_FULL],
    pub(super) phase_flags_in_use: bool,
    /// The coupling bands as bin ranges.
    pub(super) coupling_bands: Vec<(usize, usize)>,
    /// Per coupling sub-band (of 18): whether it joins the band below (E-AC-3 may reuse these
    /// from the block before over another range).
    pub(super) coupling_joins: [bool; MAX_COUPLING_BANDS],
    /// E-AC-3: the coordinates and leak values a channel's first coupled block sends without
    /// a flag.
    pub(super) first_coupling_coords: [bool; MAX_FULL],
    pub(super) first_coupling_leak: bool,
    pub(super) coupling_coords: [[f32; MAX_COUPLING_BANDS]; MAX_FULL],
    pub(super) phase_flags: [bool; MAX_COUPLING_BANDS],
    pub(super) rematrix: [bool; 4],
    pub(super) rematrix_bands: usize,
    pub(super) exponents: [[u8; 256]; SLOTS],
    pub(super) start: [usize; SLOTS],
    pub(super) end: [usize; SLOTS],
    pub(super) bap: [[u8; 256]; SLOTS],
    pub(super) params: Params,
    pub(super) channel_params: [ChannelParams; SLOTS],
    pub(super) deltas: [Option<Delta>; SLOTS],
    /// Each slot's mantissas times 2^-exponent as read (the coupling channel's before each
    /// channel's coordinates, and 0 where it sent no bits).
    pub(super) values: [[f32; 256]; SLOTS],
}

impl Default for FrameState {
    fn default() -> Self {
        FrameState {
            syntax: FrameSyntax::ac3(),
            full_channels: 0,
            acmod: 0,
            lfe: false,
            block_switch: [false; MAX_FULL],
            dither: [false; MAX_FULL],
            dynamic_range: [1.0; 2],
            coupling: false,
            in_coupling: [false; MAX_FULL],
            phase_flags_in_use: false,
            coupling_bands: Vec::with_capacity(MAX_COUPLING_BANDS),
            coupling_joins: [false; MAX_COUPLING_BANDS],
            first_coupling_coords: [true; MAX_FULL],
            first_coupling_leak: false,
            coupling_coords: [[0.0; MAX_COUPLING_BANDS]; MAX_FULL],
            phase_flags: [false; MAX_COUPLING_BANDS],
            rematrix: [false; 4],
            rematrix_bands: 0,
            exponents: [[0; 256]; SLOTS],
            start: [0; SLOTS],
            end: [0; SLOTS],
            bap: [[0; 256]; SLOTS],
            params: Params::default(),
            channel_params: [ChannelParams::default(); SLOTS],
            deltas: Default::default(),
            values: [[0.0; 256]; SLOTS],
        }
    }
}

/// The values grouped mantissas (3, 5 and 11 levels) were read as, until a group is used up.
#[derive(Default)]
struct Groups {
    three: ([f32; 3], usize),
    five: ([f32; 3], usize),
    eleven: ([f32; 2], usize),
}

const fn symmetric(levels: u32, index: u32) -> f32 {
    let index = if index < levels { index } else { levels - 1 };
    (2 * index) as f32 / levels as f32 - (levels - 1) as f32 / levels as f32
}

/// Every value of a symmetric quantiser, computed once: two float divisions per mantissa were
/// a large part of reading them.
const fn symmetric_levels<const LEVELS: usize>() -> [f32; LEVELS] {
    let mut levels = [0.0; LEVELS];
    let mut index = 0;
    while index < LEVELS {
        levels[index] = symmetric(LEVELS as u32, index as u32);
        index += 1;
    }
    levels
}

const LEVELS_3: [f32; 3] = symmetric_levels();
const LEVELS_5: [f32; 5] = symmetric_levels();
const LEVELS_7: [f32; 7] = symmetric_levels();
const LEVELS_11: [f32; 11] = symmetric_levels();
const LEVELS_15: [f32; 15] = symmetric_levels();

/// The value of `index` (clamped to the last level, as `symmetric` does) in `levels`.
#[inline]
fn level<const LEVELS: usize>(levels: &[f32; LEVELS], index: u32) -> f32 {
    levels[(index as usize).min(LEVELS - 1)]
}

/// Bits of the asymmetric quantisers of bap 6 to 15.
const ASYMMETRIC_BITS: [u32; 10] = [5, 6, 7, 8, 9, 10, 11, 12, 14, 16];

impl FrameState {
    pub(super) fn read_block(
        &mut self,
        block: usize,
        bits: &mut Bits<'_>,
        noise: &mut u32,
    ) -> Result<()> {
        let state = self;
        let full = state.full_channels;
        let read =
            |bits: &mut Bits<'_>, count: u32| bits.read_bits_leq32(count).map_err(io_to_damage);
        let flag = |bits: &mut Bits<'_>| bits.read_bool().map_err(io_to_damage);

        let enhanced = state.syntax.enhanced;
        for channel in 0..full {
            state.block_switch[channel] = state.syntax.block_switch && flag(bits)?;
        }
        for channel in 0..full {
            state.dither[channel] = !state.syntax.dither || flag(bits)?;
        }
        for index in 0..if state.acmod == 0 { 2 } else { 1 } {
            if flag(bits)? {
                state.dynamic_range[index] = dynamic_range_gain(read(bits, 8)? as u8);
            }
        }

        // Which slots' bit allocation has to be computed again: those whose inputs this block
        // sends anew (most blocks send none and reuse the last block's).
        let mut stale = [block == 0; SLOTS];

        // Spectral extension (E-AC-3), sent in the first block and when a block changes it.
        if enhanced && (block == 0 || flag(bits)?) && flag(bits)? {
            return Err(SymphoniaError::Unsupported(
                "ac3: E-AC-3 with spectral extension is not decoded",
            ));
        }

        // Coupling strategy.
        let strategy_sent = if enhanced {
            state.syntax.coupling_strategy[block]
        } else {
            flag(bits)?
        };
        if strategy_sent {
            stale = [true; SLOTS];
            state.coupling = if enhanced {
                state.syntax.coupling_in_use[block]
            } else {
                flag(bits)?
            };
            if state.coupling {
                if enhanced && flag(bits)? {
                    return Err(SymphoniaError::Unsupported(
                        "ac3: E-AC-3 with enhanced coupling is not decoded",
                    ));
                }
                if state.acmod < 2 {
                    return Err(damaged("ac3: coupling in mono"));
                }
                for channel in 0..full {
                    state.in_coupling[channel] = (enhanced && state.acmod == 2) || flag(bits)?;
                }
                if state.acmod == 2 {
                    state.phase_flags_in_use = flag(bits)?;
                }
                let begin = read(bits, 4)? as usize;
                let end = read(bits, 4)? as usize + 3;
                if end <= begin {
                    return Err(damaged("ac3: coupling ends before it begins"));
                }
                // Whether each sub-band but the first joins the band below: sent, or for
                // E-AC-3 possibly not, then the default in the first block and the last
                // block's otherwise.
                if !enhanced || flag(bits)? {
                    for sub_band in begin + 1..end {
                        state.coupling_joins[sub_band] = flag(bits)?;
                    }
                } else if block == 0 {
                    state.coupling_joins = DEFAULT_COUPLING_JOINS;
                }
                state.coupling_bands.clear();
                for sub_band in begin..end {
                    let start = 37 + 12 * sub_band;
                    match state.coupling_bands.last_mut() {
                        Some(band) if sub_band > begin && state.coupling_joins[sub_band] => {
                            band.1 += 12
                        }
                        _ => state.coupling_bands.push((start, start + 12)),
                    }
                }
                state.start[COUPLING] = 37 + 12 * begin;
                state.end[COUPLING] = 37 + 12 * end;
            } else {
                state.in_coupling = [false; MAX_FULL];
                state.first_coupling_coords = [true; MAX_FULL];
                state.first_coupling_leak = enhanced;
                state.phase_flags_in_use = false;
            }
        } else if block == 0 && !enhanced {
            return Err(damaged("ac3: the first block reuses a coupling strategy"));
        }

        // Coupling coordinates.
        if state.coupling {
            let mut any_new = false;
            for channel in 0..full {
                if !state.in_coupling[channel] {
                    state.first_coupling_coords[channel] = true;
                    continue;
                }
                let first = enhanced && state.first_coupling_coords[channel];
                if !first && !flag(bits)? {
                    if block == 0 {
                        return Err(damaged("ac3: the first block has no coupling coordinates"));
                    }
                    continue;
                }
                state.first_coupling_coords[channel] = false;
                any_new = true;
                let master = 3 * read(bits, 2)? as i32;
                for band in 0..state.coupling_bands.len() {
                    let exponent = read(bits, 4)? as i32;
                    let mantissa = read(bits, 4)? as f32;
                    let value = if exponent == 15 {
                        mantissa / 16.0
                    } else {
                        (mantissa + 16.0) / 32.0
                    };
                    // The standard's coordinates are scaled by 8 when applied.
                    state.coupling_coords[channel][band] =
                        8.0 * value * (-(exponent + master) as f32).exp2();
                }
            }
            if state.acmod == 2 && any_new {
                for band in 0..state.coupling_bands.len() {
                    state.phase_flags[band] = state.phase_flags_in_use && flag(bits)?;
                }
            }
        }

        // Rematrixing (always sent in an E-AC-3 frame's first block).
        if state.acmod == 2 && ((enhanced && block == 0) || flag(bits)?) {
            state.rematrix_bands = match (state.coupling, state.start[COUPLING]) {
                (true, 37) => 2,
                (true, 49 | 61) => 3,
                _ => 4,
            };
            for band in 0..state.rematrix_bands {
                state.rematrix[band] = flag(bits)?;
            }
        }

        // Exponent strategies.
        let mut strategies = [0u32; SLOTS];
        if enhanced {
            strategies = state.syntax.exponent_strategies[block];
            if !state.coupling {
                strategies[COUPLING] = 0;
            }
        } else {
            if state.coupling {
                strategies[COUPLING] = read(bits, 2)?;
            }
            for strategy in strategies.iter_mut().take(full) {
                *strategy = read(bits, 2)?;
            }
            if state.lfe {
                strategies[LFE] = read(bits, 1)?;
            }
        }
        if block == 0
            && (strategies[..full].contains(&0)
                || (state.coupling && strategies[COUPLING] == 0)
                || (state.lfe && strategies[LFE] == 0))
        {
            return Err(damaged("ac3: the first block reuses exponents"));
        }
        for (channel, &strategy) in strategies.iter().enumerate().take(full) {
            if strategy == 0 {
                continue;
            }
            state.end[channel] = if state.in_coupling[channel] {
                state.start[COUPLING]
            } else {
                let bandwidth = read(bits, 6)? as usize;
                if bandwidth > 60 {
                    return Err(damaged("ac3: bandwidth code above 60"));
                }
                73 + 3 * bandwidth
            };
        }

        // Exponents.
        for (slot, &strategy) in strategies.iter().enumerate() {
            stale[slot] |= strategy != 0;
        }
        if state.coupling && strategies[COUPLING] != 0 {
            let absolute = (read(bits, 4)? as u8) << 1;
            let group = 3 * group_bins(strategies[COUPLING]);
            let (start, end) = (state.start[COUPLING], state.end[COUPLING]);
            let groups = (end - start) / group;
            read_exponents(
                bits,
                strategies[COUPLING],
                groups,
                absolute,
                &mut state.exponents[COUPLING][start..end],
            )?;
        }
        for (channel, &strategy) in strategies.iter().enumerate().take(full) {
            if strategy == 0 {
                continue;
            }
            let bins = group_bins(strategy);
            let groups = (state.end[channel] + 3 * bins - 4) / (3 * bins);
            let absolute = read(bits, 4)? as u8;
            let exponents = &mut state.exponents[channel];
            exponents[0] = absolute;
            let end = state.end[channel];
            read_exponents(bits, strategy, groups, absolute, &mut exponents[1..end])?;
            read(bits, 2)?; // gainrng
        }
        if state.lfe && strategies[LFE] != 0 {
            let absolute = read(bits, 4)? as u8;
            let exponents = &mut state.exponents[LFE];
            exponents[0] = absolute;
            read_exponents(bits, 1, 2, absolute, &mut exponents[1..7])?;
        }

        // Bit allocation parameters (an E-AC-3 frame may leave them at their defaults).
        if !state.syntax.bit_alloc {
        } else if flag(bits)? {
            state.params.slow_decay_code = read(bits, 2)? as u8;
            state.params.fast_decay_code = read(bits, 2)? as u8;
            state.params.slow_gain_code = read(bits, 2)? as u8;
            state.params.db_per_bit_code = read(bits, 2)? as u8;
            state.params.floor_code = read(bits, 3)? as u8;
            stale = [true; SLOTS];
        } else if block == 0 {
            return Err(damaged("ac3: the first block has no bit allocation"));
        }
        let allocated = slots(state.coupling, full, state.lfe);
        // SNR offsets: AC-3's in any block, with its fast gains; E-AC-3's for the frame, or
        // in its first block, one for all channels or one each.
        if let (Some(offset), 0) = (state.syntax.frame_snr_offset, block) {
            for slot in 0..SLOTS {
                state.channel_params[slot].snr_offset = offset;
            }
        }
        if !enhanced || block == 0 {
            if state.syntax.snr_strategy != 0 && flag(bits)? {
                let coarse = read(bits, 6)? as i32;
                let mut offset = 0;
                for (index, slot) in allocated.clone().enumerate() {
                    if index == 0 || state.syntax.snr_strategy == 2 {
                        offset = (((coarse - 15) << 4) + read(bits, 4)? as i32) << 2;
                    }
                    state.channel_params[slot].snr_offset = offset;
                    if !enhanced {
                        state.channel_params[slot].fast_gain_code = read(bits, 3)? as u8;
                    }
                }
                stale = [true; SLOTS];
            } else if !enhanced && block == 0 {
                return Err(damaged("ac3: the first block has no SNR offsets"));
            }
        }
        if state.syntax.fast_gain && flag(bits)? {
            for slot in allocated.clone() {
                state.channel_params[slot].fast_gain_code = read(bits, 3)? as u8;
            }
            stale = [true; SLOTS];
        } else if enhanced && block == 0 {
            for params in &mut state.channel_params {
                params.fast_gain_code = 4;
            }
        }
        if state.syntax.independent && flag(bits)? {
            read(bits, 10)?; // convsnroffst
        }
        if state.coupling {
            if state.first_coupling_leak || flag(bits)? {
                let fast = read(bits, 3)? as u8;
                let slow = read(bits, 3)? as u8;
                state.channel_params[COUPLING].coupling_leak = Some((fast, slow));
                stale[COUPLING] = true;
            } else if state.channel_params[COUPLING].coupling_leak.is_none() {
                return Err(damaged("ac3: coupling with no leak values"));
            }
            state.first_coupling_leak = false;
        }
        state.channel_params[LFE].is_lfe = true;

        // Delta bit allocation.
        if state.syntax.delta && flag(bits)? {
            stale = [true; SLOTS];
            // The LFE channel has no delta allocation.
            let with_delta = slots(state.coupling, full, false);
            let mut modes = [0u32; SLOTS];
            for slot in with_delta.clone() {
                modes[slot] = read(bits, 2)?;
                match modes[slot] {
                    2 => state.deltas[slot] = None,
                    3 => return Err(damaged("ac3: reserved delta bit allocation mode")),
                    _ => {}
                }
            }
            for slot in with_delta {
                if modes[slot] == 1 {
                    let count = read(bits, 3)? + 1;
                    let mut delta = Delta::default();
                    for _ in 0..count {
                        let offset = read(bits, 5)? as u8;
                        let length = read(bits, 4)? as u8;
                        let code = read(bits, 3)? as u8;
                        delta.segments.push((offset, length, code));
                    }
                    state.deltas[slot] = Some(delta);
                }
            }
        }

        // Skipped data.
        if state.syntax.skip && flag(bits)? {
            let length = read(bits, 9)?;
            bits.ignore_bits(length * 8).map_err(io_to_damage)?;
        }

        for slot in allocated.filter(|&slot| stale[slot]) {
            let start = if slot == COUPLING {
                state.start[COUPLING]
            } else {
                0
            };
            bit_alloc::allocate(
                &state.exponents[slot],
                start,
                state.end[slot],
                &state.params,
                &state.channel_params[slot],
                state.deltas[slot].as_ref(),
                &mut state.bap[slot],
            );
        }

        // Mantissas: each channel's, the coupling channel's after the first coupled one.
        let mut groups = Groups::default();
        let mut coupling_read = false;
        for channel in 0..full {
            read_mantissas(bits, state, channel, &mut groups, noise)?;
            if state.in_coupling[channel] && !coupling_read {
                read_mantissas(bits, state, COUPLING, &mut groups, noise)?;
                coupling_read = true;
            }
        }
        if state.lfe {
            read_mantissas(bits, state, LFE, &mut groups, noise)?;
        }
        Ok(())
    }

    /// One channel's transform coefficients for the block just read: its own, the coupled
    /// part rebuilt from the coupling channel, rematrixing undone, dynamic range applied.
    pub(super) fn coefficients(&self, slot: usize, noise: &mut u32) -> [f32; 256] {
        let state = self;
        let mut coefficients = [0f32; 256];
        let end = state.end[slot];
        coefficients[..end].copy_from_slice(&state.values[slot][..end]);
        if slot < MAX_FULL && state.coupling && state.in_coupling[slot] {
            for (band, &(start, end)) in state.coupling_bands.iter().enumerate() {
                let mut scale = state.coupling_coords[slot][band];
                if slot == 1 && state.acmod == 2 && state.phase_flags[band] {
                    scale = -scale;
                }
                for (bin, coefficient) in coefficients.iter_mut().enumerate().take(end).skip(start)
                {
                    let value = if state.bap[COUPLING][bin] == 0 && state.dither[slot] {
                        next_dither(noise) * exp2_neg(state.exponents[COUPLING][bin])
                    } else {
                        state.values[COUPLING][bin]
                    };
                    *coefficient = value * scale;
                }
            }
        }
        if state.acmod == 2 && slot < 2 {
            // Rematrixed bands hold sum and difference: both channels are needed.
            let other = &state.values[1 - slot];
            let end = state.end[0].min(state.end[1]);
            for band in 0..state.rematrix_bands {
                if !state.rematrix[band] {
                    continue;
                }
                let band_end = REMATRIX_BANDS[band + 1].min(end);
                for bin in REMATRIX_BANDS[band]..band_end {
                    let (sum, difference) = if slot == 0 {
                        (coefficients[bin], other[bin])
                    } else {
                        (other[bin], coefficients[bin])
                    };
                    coefficients[bin] = if slot == 0 {
                        sum + difference
                    } else {
                        sum - difference
                    };
                }
            }
        }
        let gain = if state.acmod == 0 && slot == 1 {
            state.dynamic_range[1]
        } else {
            state.dynamic_range[0]
        };
        if gain != 1.0 {
            for coefficient in &mut coefficients {
                *coefficient *= gain;
            }
        }
        coefficients
    }
}

/// The gain of a dynamic range word: 2^X × (1 + Y/32), X its signed top 3 bits, Y the rest.
fn dynamic_range_gain(code: u8) -> f32 {
    let exponent = i32::from(code as i8 >> 5);
    (exponent as f32).exp2() * (1.0 + f32::from(code & 0x1f) / 32.0)
}

fn exp2_neg(exponent: u8) -> f32 {
    f32::from_bits((127 - u32::from(exponent)) << 23)
}

/// Uniform noise in ±0.707 (-3 dB of full scale, as FFmpeg's decoder) for mantissas coded with
/// no bits.
fn next_dither(state: &mut u32) -> f32 {
    *state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    ((*state >> 8) as f32 / (1u32 << 23) as f32 - 1.0) * std::f32::consts::FRAC_1_SQRT_2
}

/// The mantissas of one slot's bins into `state.values`, times 2^-exponent.
fn read_mantissas(
    bits: &mut Bits<'_>,
    state: &mut FrameState,
    slot: usize,
    groups: &mut Groups,
    noise: &mut u32,
) -> Result<()> {
    let start = if slot == COUPLING {
        state.start[COUPLING]
    } else {
        0
    };
    let dither = slot < MAX_FULL && state.dither[slot];
    let read = |bits: &mut Bits<'_>, count: u32| bits.read_bits_leq32(count).map_err(io_to_damage);
    for bin in start..state.end[slot] {
        let mantissa = match state.bap[slot][bin] {
            0 if dither => next_dither(noise),
            0 => 0.0,
            1 => {
                let (values, used) = &mut groups.three;
                if *used == 0 || *used == 3 {
                    let code = read(bits, 5)?;
                    *values = [code / 9, code / 3 % 3, code % 3].map(|m| level(&LEVELS_3, m));
                    *used = 0;
                }
                *used += 1;
                values[*used - 1]
            }
            2 => {
                let (values, used) = &mut groups.five;
                if *used == 0 || *used == 3 {
                    let code = read(bits, 7)?;
                    *values = [code / 25, code / 5 % 5, code % 5].map(|m| level(&LEVELS_5, m));
                    *used = 0;
                }
                *used += 1;
                values[*used - 1]
            }
            3 => level(&LEVELS_7, read(bits, 3)?),
            4 => {
                let (values, used) = &mut groups.eleven;
                if *used == 0 || *used == 2 {
                    let code = read(bits, 7)?;
                    *values = [code / 11, code % 11].map(|m| level(&LEVELS_11, m));
                    *used = 0;
                }
                *used += 1;
                values[*used - 1]
            }
            5 => level(&LEVELS_15, read(bits, 4)?),
            bap => {
                let width = ASYMMETRIC_BITS[usize::from(bap) - 6];
                let code = bits.read_bits_leq32_signed(width).map_err(io_to_damage)?;
                // Over 2^(width - 1), as a multiplication by its exact reciprocal.
                code as f32 * exp2_neg((width - 1) as u8)
            }
        };
        state.values[slot][bin] = mantissa * exp2_neg(state.exponents[slot][bin]);
    }
    Ok(())
}

/// `groups` 7-bit groups of three exponent differences, from `absolute`, each held for the
/// strategy's bins, into `out`.
fn read_exponents(
    bits: &mut Bits<'_>,
    strategy: u32,
    groups: usize,
    absolute: u8,
    out: &mut [u8],
) -> Result<()> {
    let bins = group_bins(strategy);
    let mut exponent = i32::from(absolute);
    let mut at = 0;
    for _ in 0..groups {
        let group = bits.read_bits_leq32(7).map_err(io_to_damage)?;
        if group >= 125 {
            return Err(damaged("ac3: an exponent group out of range"));
        }
        for difference in [group / 25, group / 5 % 5, group % 5] {
            exponent += difference as i32 - 2;
            if !(0..=24).contains(&exponent) {
                return Err(damaged("ac3: an exponent out of range"));
            }
            for _ in 0..bins {
                if let Some(slot) = out.get_mut(at) {
                    *slot = exponent as u8;
                }
                at += 1;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiser_tables_are_the_formula_to_the_bit() {
        fn check<const LEVELS: usize>(levels: &[f32; LEVELS]) {
            // Past the last level too: codes that overflow clamp to it.
            for index in 0..LEVELS as u32 + 8 {
                assert_eq!(
                    level(levels, index).to_bits(),
                    symmetric(LEVELS as u32, index).to_bits(),
                    "{LEVELS} levels, index {index}"
                );
            }
        }
        check(&LEVELS_3);
        check(&LEVELS_5);
        check(&LEVELS_7);
        check(&LEVELS_11);
        check(&LEVELS_15);
        for width in 5..=16u32 {
            for code in [-(1i32 << (width - 1)), -3, 0, 5, (1 << (width - 1)) - 1] {
                assert_eq!(
                    code as f32 * exp2_neg((width - 1) as u8),
                    code as f32 / (1u32 << (width - 1)) as f32
                );
            }
        }
    }
}
