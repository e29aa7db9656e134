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

/// Upsamples planar f32 audio by `factor`, a block of input frames at a time.
pub(super) struct IntegerUpsampler {
    factor: usize,
    /// Per phase, the taps in the order of the input window (oldest frame first).
    phases: Vec<Vec<f32>>,
    /// The phase that is the input delayed by `copy_lag` input frames.
    copy_phase: usize,
    copy_lag: usize,
    block: usize,
    /// Per channel: the last `TAPS_PER_PHASE - 1` input frames, then room for a block.
    windows: Vec<Vec<f32>>,
}

impl IntegerUpsampler {
    pub(super) fn new(factor: usize, block: usize, channels: usize) -> IntegerUpsampler {
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
                (0..TAPS_PER_PHASE)
                    .map(|j| prototype[(TAPS_PER_PHASE - 1 - j) * factor + phase] as f32)
                    .collect()
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
        for ((window, input), output) in self.windows.iter_mut().zip(input).zip(output) {
            window[keep..].copy_from_slice(&input[..block]);
            for (frame, out) in output[..block * factor]
                .chunks_exact_mut(factor)
                .enumerate()
            {
                let taps = &window[frame..frame + TAPS_PER_PHASE];
                for (phase, sample) in out.iter_mut().enumerate() {
                    *sample = if phase == self.copy_phase {
                        taps[TAPS_PER_PHASE - 1 - self.copy_lag]
                    } else {
                        dot(&self.phases[phase], taps)
                    };
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

/// The dot product of two equally long slices: `dot_portable` compiled for AVX (eight-lane
/// vectors where the x86-64 baseline has four) when the processor has it. Both add in the same
/// order, so the result is the same to the bit; fused multiply-adds, which would change it, were
/// slower here (one chain of dependent adds per lane).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the processor supports AVX, checked just above (the check is cached).
        return unsafe { dot_avx(a, b) };
    }
    dot_portable(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn dot_avx(a: &[f32], b: &[f32]) -> f32 {
    dot_portable(a, b)
}

/// A dot product in eight independent sums, which the compiler turns into vector code (the
/// lengths are `TAPS_PER_PHASE`, a multiple of eight).
#[inline(always)]
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    debug_assert!(a.len() == b.len() && a.len().is_multiple_of(8));
    let mut sums = [0.0f32; 8];
    for (a, b) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for lane in 0..8 {
            sums[lane] += a[lane] * b[lane];
        }
    }
    sums.iter().sum()
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
            let block = 16;
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
    fn the_vector_dot_product_is_the_portable_one_to_the_bit() {
        let a: Vec<f32> = (0..64).map(|i| (i as f32 * 0.731).sin() * 1e-3).collect();
        let b: Vec<f32> = (0..64).map(|i| (i as f32 * 1.37).cos()).collect();
        assert_eq!(dot(&a, &b).to_bits(), dot_portable(&a, &b).to_bits());
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
