//! Upsampling by a small whole factor (24 → 48 kHz, 16 → 48, 8 → 48: the rates text-to-speech
//! services send) with a polyphase FIR filter.
//!
//! Written here because rubato has no fixed-ratio polyphase filter: its FFT resampler works on
//! 10 ms blocks and keeps their spectra (about 25 KiB per stream, and a block of latency), and
//! its sinc resampler interpolates a table for every output frame. Here each output frame is one
//! dot product over the last `TAPS_PER_PHASE` input frames, and the state is those frames.
//!
//! The prototype is a Kaiser-windowed sinc whose cutoff is the input's Nyquist frequency, so its
//! taps vanish at every multiple of the factor from its centre: one phase in `factor` is the
//! input itself, delayed, and costs nothing (half the work at 2×).

/// Input frames each output frame depends on. 64 gives a transition band of about 0.1 of the
/// input rate around the input's Nyquist frequency, and more than 100 dB of stopband.
pub(super) const TAPS_PER_PHASE: usize = 64;
/// Kaiser window shape: about 100 dB of stopband attenuation.
const KAISER_BETA: f64 = 10.0;

/// One phase of the filter: its taps in the order of the input window (oldest frame first).
struct Phase {
    taps: Vec<f32>,
    /// The taps read the same backwards.
    symmetric: bool,
}

impl Phase {
    fn new(taps: Vec<f32>) -> Phase {
        let symmetric = taps.iter().eq(taps.iter().rev());
        Phase { taps, symmetric }
    }
}

/// Upsamples planar f32 audio by `factor`, a block of input frames at a time.
pub(super) struct IntegerUpsampler {
    factor: usize,
    phases: Vec<Phase>,
    /// The phase that is the input delayed by `copy_lag` input frames.
    copy_phase: usize,
    copy_lag: usize,
    block: usize,
    /// Per channel: the last `TAPS_PER_PHASE - 1` input frames, then room for a block.
    windows: Vec<Vec<f32>>,
}

impl IntegerUpsampler {
    pub(super) fn new(factor: usize, block: usize, channels: usize) -> IntegerUpsampler {
        assert!(
            block.is_multiple_of(GROUP),
            "blocks are whole groups of output frames"
        );
        let len = factor * TAPS_PER_PHASE;
        // An odd-length prototype (the last tap stays zero) so its centre falls on a tap.
        let centre = (len - 2) / 2;
        let half_width = centre as f64 + 1.0;
        let prototype: Vec<f64> = (0..len)
            .map(|n| {
                if n == len - 1 {
                    return 0.0;
                }
                let t = n as f64 - centre as f64;
                let x = t / factor as f64;
                let sinc = if t == 0.0 {
                    1.0
                } else {
                    (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
                };
                let r = t / half_width;
                sinc * bessel_i0(KAISER_BETA * (1.0 - r * r).max(0.0).sqrt())
                    / bessel_i0(KAISER_BETA)
            })
            .collect();
        let phases = (0..factor)
            .map(|phase| {
                Phase::new(
                    (0..TAPS_PER_PHASE)
                        .map(|j| prototype[(TAPS_PER_PHASE - 1 - j) * factor + phase] as f32)
                        .collect(),
                )
            })
            .collect();
        IntegerUpsampler {
            factor,
            phases,
            copy_phase: centre % factor,
            copy_lag: centre / factor,
            block,
            windows: vec![vec![0.0; TAPS_PER_PHASE - 1 + block]; channels],
        }
    }

    /// Output frames by which the output lags an ideal converter's: the filter's delay.
    pub(super) fn delay(&self) -> usize {
        self.copy_lag * self.factor + self.copy_phase
    }

    pub(super) fn block_frames(&self) -> usize {
        self.block
    }

    pub(super) fn output_frames(&self) -> usize {
        self.block * self.factor
    }

    /// Upsamples one block of `input` (per channel, `block_frames()` frames) into `output`;
    /// returns the output frames.
    pub(super) fn process(&mut self, input: &[Vec<f32>], output: &mut [Vec<f32>]) -> usize {
        let (block, factor) = (self.block, self.factor);
        let keep = TAPS_PER_PHASE - 1;
        let mut phase_out = [0.0f32; GROUP];
        for ((window, input), output) in self.windows.iter_mut().zip(input).zip(output) {
            window[keep..].copy_from_slice(&input[..block]);
            let output = &mut output[..block * factor];
            for (frame, out) in output.chunks_exact_mut(factor).enumerate() {
                out[self.copy_phase] = window[frame + keep - self.copy_lag];
            }
            for group in 0..block / GROUP {
                let window = &window[group * GROUP..group * GROUP + GROUP + keep];
                let output = &mut output[group * GROUP * factor..(group + 1) * GROUP * factor];
                for (phase, taps) in self.phases.iter().enumerate() {
                    if phase == self.copy_phase {
                        continue;
                    }
                    correlate(taps, window, &mut phase_out);
                    for (out, sample) in output.chunks_exact_mut(factor).zip(&phase_out) {
                        out[phase] = *sample;
                    }
                }
            }
            window.copy_within(block.., 0);
        }
        block * factor
    }

    pub(super) fn reset(&mut self) {
        for window in &mut self.windows {
            window.fill(0.0);
        }
    }
}

/// Output frames of one phase computed together: four eight-lane vectors of sums, so the
/// additions into each run in four independent chains and no sum is reduced across lanes.
const GROUP: usize = 32;

/// `out[k] = Σ taps[j] × window[k + j]`: one phase's output frames for a group of input
/// positions. `correlate_portable` compiled for AVX (eight-lane vectors where the x86-64
/// baseline has four) when the processor has it: the same operations in the same order, so
/// the result is the same to the bit on every processor. Fused multiply-adds would halve the
/// operations but round differently, and then output would depend on the processor.
fn correlate(taps: &Phase, window: &[f32], out: &mut [f32; GROUP]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the processor supports AVX, checked just above (the check is cached).
        unsafe { correlate_avx(taps, window, out) };
        return;
    }
    correlate_portable(taps, window, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn correlate_avx(taps: &Phase, window: &[f32], out: &mut [f32; GROUP]) {
    correlate_portable(taps, window, out);
}

/// Taps that mirror each other (the middle phase of an even factor: every phase at 2×) are
/// added in pairs, window samples first: a multiplication saved per pair.
#[inline(always)]
fn correlate_portable(phase: &Phase, window: &[f32], out: &mut [f32; GROUP]) {
    let taps = &phase.taps;
    debug_assert!(taps.len() == TAPS_PER_PHASE && window.len() >= GROUP + TAPS_PER_PHASE - 1);
    let mut sums = [0.0f32; GROUP];
    let first = &taps[..TAPS_PER_PHASE / 2];
    if phase.symmetric {
        for (j, tap) in first.iter().enumerate() {
            let near: &[f32; GROUP] = window[j..j + GROUP].try_into().unwrap();
            let far_start = TAPS_PER_PHASE - 1 - j;
            let far: &[f32; GROUP] = window[far_start..far_start + GROUP].try_into().unwrap();
            for lane in 0..GROUP {
                sums[lane] += tap * (near[lane] + far[lane]);
            }
        }
    } else {
        for (j, tap) in taps.iter().enumerate() {
            let samples: &[f32; GROUP] = window[j..j + GROUP].try_into().unwrap();
            for lane in 0..GROUP {
                sums[lane] += tap * samples[lane];
            }
        }
    }
    *out = sums;
}

/// The modified Bessel function of the first kind, order 0 (for Kaiser windows: this
/// upsampler's, DSD's decimation filter, AC-3's KBD window), by its power series.
pub(crate) fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term) = (1.0, 1.0);
    let quarter_x2 = x * x / 4.0;
    for k in 1..64 {
        term *= quarter_x2 / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_phase_is_the_input_delayed() {
        for factor in [2, 3, 6] {
            let block = GROUP;
            let mut upsampler = IntegerUpsampler::new(factor, block, 1);
            let input: Vec<f32> = (0..block * 20).map(|i| (i as f32 * 0.37).sin()).collect();
            let mut output = Vec::new();
            let mut out_block = vec![vec![0.0; block * factor]];
            for chunk in input.chunks(block) {
                upsampler.process(&[chunk.to_vec()], &mut out_block);
                output.extend_from_slice(&out_block[0]);
            }
            // After the filter's delay, every `factor`-th output frame is an input frame.
            let delay = upsampler.delay();
            for (i, &x) in input.iter().enumerate() {
                if let Some(&y) = output.get(i * factor + delay) {
                    assert_eq!(y, x, "factor {factor}, frame {i}");
                }
            }
        }
    }

    #[test]
    fn the_vector_correlation_is_the_portable_one_to_the_bit() {
        let window: Vec<f32> = (0..GROUP + TAPS_PER_PHASE)
            .map(|i| (i as f32 * 1.37).cos())
            .collect();
        let asymmetric: Vec<f32> = (0..64).map(|i| (i as f32 * 0.731).sin() * 1e-3).collect();
        let symmetric: Vec<f32> = (0..64)
            .map(|i| ((i.min(63 - i)) as f32 * 0.731).sin() * 1e-3)
            .collect();
        for taps in [asymmetric, symmetric] {
            let phase = Phase::new(taps.clone());
            let (mut vector, mut portable) = ([0.0; GROUP], [0.0; GROUP]);
            correlate(&phase, &window, &mut vector);
            correlate_portable(&phase, &window, &mut portable);
            assert_eq!(vector.map(f32::to_bits), portable.map(f32::to_bits));
            for (k, sum) in portable.iter().enumerate() {
                let expected: f64 = (0..64)
                    .map(|j| f64::from(taps[j]) * f64::from(window[k + j]))
                    .sum();
                assert!(
                    (f64::from(*sum) - expected).abs() < 1e-6,
                    "{k}: {sum} {expected}"
                );
            }
        }
    }

    #[test]
    fn the_middle_phase_at_2x_is_symmetric() {
        let upsampler = IntegerUpsampler::new(2, GROUP, 1);
        assert!(upsampler.phases[1 - upsampler.copy_phase].symmetric);
    }

    #[test]
    fn dc_passes_at_unit_gain() {
        for factor in [2, 3, 6] {
            let mut upsampler = IntegerUpsampler::new(factor, 32, 1);
            let input = vec![vec![0.5f32; 32]];
            let mut output = vec![vec![0.0; 32 * factor]];
            for _ in 0..4 {
                upsampler.process(&input, &mut output);
            }
            for &sample in &output[0] {
                assert!((sample - 0.5).abs() < 1e-4, "factor {factor}: {sample}");
            }
        }
    }
}
