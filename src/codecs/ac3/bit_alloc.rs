//! AC-3's parametric bit allocation (ATSC A/52, section 7.2): from a channel's exponents and
//! the frame's allocation parameters, how many bits each mantissa was coded with. The decoder
//! must compute exactly what the encoder did (a single step off misreads every mantissa after
//! it), so this is integer arithmetic throughout, as the standard writes it, and the tables are
//! the standard's.

/// The number of critical bands.
const BANDS: usize = 50;

/// Frequency bins per critical band: 28 of one bin, then 7 of three, 6 of six, 4 of twelve and
/// 5 of 24 (A/52 table 7.11), 253 bins in all.
const fn band_start() -> [u16; BANDS + 1] {
    let mut starts = [0u16; BANDS + 1];
    let mut band = 0;
    let mut bin = 0u16;
    while band < BANDS {
        starts[band] = bin;
        bin += match band {
            0..28 => 1,
            28..35 => 3,
            35..41 => 6,
            41..45 => 12,
            _ => 24,
        };
        band += 1;
    }
    starts[BANDS] = bin;
    starts
}

const BAND_START: [u16; BANDS + 1] = band_start();

/// The band of each bin.
const fn bin_band() -> [u8; 256] {
    let mut bands = [BANDS as u8 - 1; 256];
    let mut band = 0;
    while band < BANDS {
        let mut bin = BAND_START[band];
        while bin < BAND_START[band + 1] {
            bands[bin as usize] = band as u8;
            bin += 1;
        }
        band += 1;
    }
    bands
}

const BIN_BAND: [u8; 256] = bin_band();

/// The hearing threshold per band at 48, 44.1 and 32 kHz (A/52 table 7.13), in the
/// allocation's units (128 to 6 dB).
#[rustfmt::skip]
const HEARING_THRESHOLD: [[u16; 3]; BANDS] = [
    [1232, 1264, 1408], [1232, 1264, 1408], [1088, 1120, 1200], [1024, 1040, 1104],
    [992, 992, 1056], [960, 976, 1008], [944, 960, 992], [944, 944, 976],
    [928, 944, 960], [928, 928, 944], [928, 928, 944], [928, 928, 944],
    [928, 928, 928], [912, 928, 928], [912, 912, 928], [912, 912, 928],
    [896, 912, 928], [896, 896, 928], [880, 896, 928], [880, 896, 928],
    [864, 880, 912], [864, 880, 912], [848, 864, 912], [848, 864, 912],
    [832, 848, 896], [832, 848, 896], [816, 832, 896], [800, 832, 880],
    [784, 800, 864], [768, 784, 848], [752, 768, 832], [752, 752, 816],
    [752, 752, 800], [752, 752, 784], [768, 752, 768], [784, 768, 752],
    [832, 800, 752], [912, 848, 752], [992, 912, 768], [1056, 992, 784],
    [1120, 1056, 816], [1168, 1104, 848], [1184, 1184, 960], [1120, 1168, 1040],
    [1088, 1120, 1136], [1088, 1088, 1184], [1312, 1152, 1120], [2048, 1584, 1088],
    [2112, 2112, 1104], [2112, 2112, 1248],
];

/// Bits per mantissa (as a "bap" code) from the signal-to-mask difference (A/52 table 7.16).
#[rustfmt::skip]
const BAP: [u8; 64] = [
    0, 1, 1, 1, 1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7, 8, 8, 8, 8, 9, 9, 9,
    9, 10, 10, 10, 10, 11, 11, 11, 11, 12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 14, 14,
    14, 14, 15, 15, 15, 15, 15, 15, 15, 15, 15,
];

const SLOW_DECAY: [i32; 4] = [0x0f, 0x11, 0x13, 0x15];
const FAST_DECAY: [i32; 4] = [0x3f, 0x53, 0x67, 0x7b];
const SLOW_GAIN: [i32; 4] = [0x540, 0x4d8, 0x478, 0x410];
const DB_PER_BIT: [i32; 4] = [0x000, 0x700, 0x900, 0xb00];
const FLOOR: [i32; 8] = [0x2f0, 0x2b0, 0x270, 0x230, 0x1f0, 0x170, 0x0f0, -0x800];
const FAST_GAIN: [i32; 8] = [0x080, 0x100, 0x180, 0x200, 0x280, 0x300, 0x380, 0x400];

/// What adding two powers given in the allocation's log units adds to the larger, by their
/// difference halved (A/52 table 7.14), written as how many entries in a row hold 64, 63, ...
/// down to 0 (the table falls by one or holds, 260 entries). 64 × log2(1 + 2^(-i/32)) comes
/// close but is not it: the encoder used the table, so the decoder must.
const LOG_ADD_RUNS: [u8; 65] = [
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 2, 1, 1, 2, 1, 1, 2, 1, 1, 2, 1, 2, 2, 1, 2,
    2, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 3, 3, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6, 8, 8, 11, 14, 19,
    32, 50,
];

const fn log_add_table() -> [i32; 260] {
    let mut table = [0; 260];
    let (mut at, mut value) = (0, 0);
    while value < LOG_ADD_RUNS.len() {
        let mut run = 0;
        while run < LOG_ADD_RUNS[value] {
            table[at] = 64 - value as i32;
            at += 1;
            run += 1;
        }
        value += 1;
    }
    table
}

const LOG_ADD: [i32; 260] = log_add_table();

fn log_add(a: i32, b: i32) -> i32 {
    let address = ((a - b).unsigned_abs() >> 1).min(255) as usize;
    a.max(b) + LOG_ADD[address]
}

/// The frame's allocation parameters shared by all channels (`baie` fields).
#[derive(Debug, Clone, Copy, Default)]
pub struct Params {
    pub slow_decay_code: u8,
    pub fast_decay_code: u8,
    pub slow_gain_code: u8,
    pub db_per_bit_code: u8,
    pub floor_code: u8,
    /// Sample rate code: 0 = 48 kHz, 1 = 44.1, 2 = 32.
    pub rate_code: u8,
}

/// One channel's own allocation inputs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChannelParams {
    /// The coarse and fine SNR offsets combined: ((csnroffst - 15) << 4 + fsnroffst) << 2.
    pub snr_offset: i32,
    pub fast_gain_code: u8,
    /// The coupling channel's leak start values (`cplfleak`, `cplsleak`); None for others.
    pub coupling_leak: Option<(u8, u8)>,
    pub is_lfe: bool,
}

/// Delta bit allocation: segments of bands whose masking curve moves by a multiple of 6 dB.
#[derive(Debug, Clone, Default)]
pub struct Delta {
    /// (band offset from the previous segment's end, length in bands, code 0-7).
    pub segments: Vec<(u8, u8, u8)>,
}

/// The bap code of each bin in `start..end` into `bap`.
pub fn allocate(
    exponents: &[u8; 256],
    start: usize,
    end: usize,
    params: &Params,
    channel: &ChannelParams,
    delta: Option<&Delta>,
    bap: &mut [u8; 256],
) {
    if start >= end {
        return;
    }
    if channel.snr_offset == -960 {
        // Both SNR offsets zero: the encoder sent no mantissa bits for this channel.
        bap[start..end].fill(0);
        return;
    }
    let rate = usize::from(params.rate_code.min(2));
    let fast_gain = FAST_GAIN[usize::from(channel.fast_gain_code & 7)];
    let slow_gain = SLOW_GAIN[usize::from(params.slow_gain_code & 3)];
    let slow_decay = SLOW_DECAY[usize::from(params.slow_decay_code & 3)];
    let fast_decay = FAST_DECAY[usize::from(params.fast_decay_code & 3)];
    let db_knee = DB_PER_BIT[usize::from(params.db_per_bit_code & 3)];
    let floor = FLOOR[usize::from(params.floor_code & 7)];

    // Exponents to power spectral density, then integrated over each band.
    let mut psd = [0i32; 256];
    for bin in start..end {
        psd[bin] = 3072 - (i32::from(exponents[bin]) << 7);
    }
    let mut band_psd = [0i32; BANDS];
    let first_band = usize::from(BIN_BAND[start]);
    let end_band = usize::from(BIN_BAND[end - 1]) + 1;
    let mut bin = start;
    for (band, total) in band_psd
        .iter_mut()
        .enumerate()
        .take(end_band)
        .skip(first_band)
    {
        let last = usize::from(BAND_START[band + 1]).min(end);
        *total = psd[bin];
        for &value in &psd[bin + 1..last] {
            *total = log_add(*total, value);
        }
        bin = last;
    }

    // The excitation: each band's power spread upwards with a fast and a slow decay, less a
    // low-frequency compensation.
    let mut excite = [0i32; BANDS];
    let (mut fast_leak, mut slow_leak);
    let begin;
    if first_band == 0 {
        let mut low_comp = 0;
        low_comp = lowcomp(low_comp, band_psd[0], band_psd[1], 0);
        excite[0] = band_psd[0] - fast_gain - low_comp;
        low_comp = lowcomp(low_comp, band_psd[1], band_psd[2], 1);
        excite[1] = band_psd[1] - fast_gain - low_comp;
        let mut first_decaying = 7;
        fast_leak = 0;
        slow_leak = 0;
        // An LFE channel has 7 bands: its last one has no band above to compare with.
        let lfe_edge = |band: usize| channel.is_lfe && band == 6;
        for band in 2..7 {
            if !lfe_edge(band) {
                low_comp = lowcomp(low_comp, band_psd[band], band_psd[band + 1], band);
            }
            fast_leak = band_psd[band] - fast_gain;
            slow_leak = band_psd[band] - slow_gain;
            excite[band] = fast_leak - low_comp;
            if !lfe_edge(band) && band_psd[band] <= band_psd[band + 1] {
                first_decaying = band + 1;
                break;
            }
        }
        for band in first_decaying..end_band.min(22) {
            if !lfe_edge(band) {
                low_comp = lowcomp(low_comp, band_psd[band], band_psd[band + 1], band);
            }
            fast_leak = (fast_leak - fast_decay).max(band_psd[band] - fast_gain);
            slow_leak = (slow_leak - slow_decay).max(band_psd[band] - slow_gain);
            excite[band] = (fast_leak - low_comp).max(slow_leak);
        }
        begin = 22;
    } else {
        let (fast, slow) = channel.coupling_leak.unwrap_or((0, 0));
        fast_leak = (i32::from(fast) << 8) + 768;
        slow_leak = (i32::from(slow) << 8) + 768;
        begin = first_band;
    }
    for band in begin..end_band {
        fast_leak = (fast_leak - fast_decay).max(band_psd[band] - fast_gain);
        slow_leak = (slow_leak - slow_decay).max(band_psd[band] - slow_gain);
        excite[band] = fast_leak.max(slow_leak);
    }

    // The masking curve: the excitation raised below the knee, never under the threshold of
    // hearing, moved by the delta allocation.
    let mut mask = [0i32; BANDS];
    for band in first_band..end_band {
        let mut excitation = excite[band];
        if band_psd[band] < db_knee {
            excitation += (db_knee - band_psd[band]) >> 2;
        }
        mask[band] = excitation.max(i32::from(HEARING_THRESHOLD[band][rate]));
    }
    if let Some(delta) = delta {
        let mut band = 0usize;
        for &(offset, length, code) in &delta.segments {
            band += usize::from(offset);
            let step = if code >= 4 {
                i32::from(code) - 3
            } else {
                i32::from(code) - 4
            } << 7;
            for _ in 0..length {
                if let Some(value) = mask.get_mut(band) {
                    *value += step;
                }
                band += 1;
            }
        }
    }

    // The bits per mantissa from how far each bin stands above its band's mask.
    let mut bin = start;
    for band in first_band..end_band {
        let level = (((mask[band] - channel.snr_offset - floor).max(0)) & 0x1fe0) + floor;
        let last = usize::from(BAND_START[band + 1]).min(end);
        for index in bin..last {
            let address = ((psd[index] - level) >> 5).clamp(0, 63) as usize;
            bap[index] = BAP[address];
        }
        bin = last;
    }
}

fn lowcomp(comp: i32, this_band: i32, next_band: i32, band: usize) -> i32 {
    let rise = match band {
        0..7 => 384,
        7..20 => 320,
        _ => return (comp - 128).max(0),
    };
    if this_band + 256 == next_band {
        rise
    } else if this_band > next_band {
        (comp - 64).max(0)
    } else {
        comp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bands_cover_253_bins() {
        assert_eq!(BAND_START[28], 28);
        assert_eq!(BAND_START[35], 49);
        assert_eq!(BAND_START[41], 85);
        assert_eq!(BAND_START[45], 133);
        assert_eq!(BAND_START[BANDS], 253);
        assert_eq!(BIN_BAND[252], 49);
        assert_eq!(BIN_BAND[30], 28);
    }

    #[test]
    fn the_log_addition_table_is_the_standards() {
        // Spot values of A/52 table 7.14: where it starts, where it steps, where it reaches 0.
        let table = &LOG_ADD;
        assert_eq!(
            &table[..12],
            &[64, 63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53]
        );
        assert_eq!(&table[12..14], &[52, 52]);
        assert_eq!(table[40], 0x20);
        assert_eq!(table[100], 0x0a);
        assert_eq!(table[179], 0x01);
        assert_eq!(table[180], 0x01);
        assert_eq!(table[209], 0x01);
        assert_eq!(table[210], 0x00);
        assert_eq!(table[259], 0);
    }

    #[test]
    fn zero_snr_offsets_allocate_nothing() {
        let mut bap = [9u8; 256];
        let channel = ChannelParams {
            snr_offset: -960,
            ..Default::default()
        };
        allocate(
            &[0; 256],
            0,
            253,
            &Params::default(),
            &channel,
            None,
            &mut bap,
        );
        assert!(bap[..253].iter().all(|&b| b == 0));
    }

    #[test]
    fn louder_bins_get_more_bits() {
        let mut exponents = [20u8; 256];
        exponents[10] = 2;
        let channel = ChannelParams {
            snr_offset: ((15 - 15) << 4) << 2,
            fast_gain_code: 4,
            ..Default::default()
        };
        let mut bap = [0u8; 256];
        allocate(
            &exponents,
            0,
            253,
            &Params::default(),
            &channel,
            None,
            &mut bap,
        );
        assert!(bap[10] > bap[100], "{:?}", &bap[..20]);
    }
}
