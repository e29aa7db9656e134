//! AC-3's inverse transform (ATSC A/52, section 7.9.4): 256 coefficients to 256 new samples, as
//! one 512-sample transform, or two 256-sample ones for a block the encoder split at a
//! transient, each through a complex FFT of a quarter (or an eighth) of its length, windowed and
//! overlapped with the previous block's second half. The window is the standard's: a
//! Kaiser-Bessel-derived one with alpha 5.

use std::f64::consts::PI;
use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

const N: usize = 512;

pub struct Transform {
    long_fft: Arc<dyn Fft<f32>>,
    short_fft: Arc<dyn Fft<f32>>,
    /// The rising half of the window.
    window: [f32; 256],
    /// The pre- and post-rotation twiddles of the long and the short transform.
    long_twiddle: Vec<Complex32>,
    short_twiddle: Vec<Complex32>,
    scratch: Vec<Complex32>,
}

impl Default for Transform {
    fn default() -> Self {
        Self::new()
    }
}

impl Transform {
    pub fn new() -> Transform {
        let mut planner = FftPlanner::new();
        let long_fft = planner.plan_fft_inverse(N / 4);
        let short_fft = planner.plan_fft_inverse(N / 8);
        let scratch_len = long_fft
            .get_inplace_scratch_len()
            .max(short_fft.get_inplace_scratch_len());
        let twiddle = |count: usize, denominator: f64| -> Vec<Complex32> {
            (0..count)
                .map(|k| {
                    let angle = 2.0 * PI * (8 * k + 1) as f64 / denominator;
                    Complex32::new(-angle.cos() as f32, -angle.sin() as f32)
                })
                .collect()
        };
        Transform {
            long_fft,
            short_fft,
            window: kbd_window(),
            long_twiddle: twiddle(N / 4, 8.0 * N as f64),
            short_twiddle: twiddle(N / 8, 4.0 * N as f64),
            scratch: vec![Complex32::default(); scratch_len],
        }
    }

    /// The 256 samples of one block from its `coefficients`, overlapped with `delay` (the
    /// previous block's second half, which this block's then replaces), into `out`.
    pub fn block(
        &mut self,
        coefficients: &[f32; 256],
        short: bool,
        delay: &mut [f32; 256],
        out: &mut [f32],
    ) {
        // The 512 windowed samples of this block, before overlapping.
        let mut x = [0f32; N];
        if short {
            let mut first = [Complex32::default(); N / 8];
            let mut second = [Complex32::default(); N / 8];
            for (half, z) in [&mut first, &mut second].into_iter().enumerate() {
                // This half's coefficients are every other one.
                rotated_fft(
                    &*self.short_fft,
                    &self.short_twiddle,
                    &mut self.scratch,
                    z,
                    |k| coefficients[2 * k + half],
                );
            }
            let w = &self.window;
            for n in 0..N / 8 {
                let (y1, y1_rev) = (first[n], first[N / 8 - n - 1]);
                let (y2, y2_rev) = (second[n], second[N / 8 - n - 1]);
                x[2 * n] = -y1.im * w[2 * n];
                x[2 * n + 1] = y1_rev.re * w[2 * n + 1];
                x[N / 4 + 2 * n] = -y1.re * w[N / 4 + 2 * n];
                x[N / 4 + 2 * n + 1] = y1_rev.im * w[N / 4 + 2 * n + 1];
                x[N / 2 + 2 * n] = -y2.re * w[N / 2 - 2 * n - 1];
                x[N / 2 + 2 * n + 1] = y2_rev.im * w[N / 2 - 2 * n - 2];
                x[3 * N / 4 + 2 * n] = y2.im * w[N / 4 - 2 * n - 1];
                x[3 * N / 4 + 2 * n + 1] = -y2_rev.re * w[N / 4 - 2 * n - 2];
            }
        } else {
            let mut z = [Complex32::default(); N / 4];
            rotated_fft(
                &*self.long_fft,
                &self.long_twiddle,
                &mut self.scratch,
                &mut z,
                |k| coefficients[k],
            );
            let w = &self.window;
            for n in 0..N / 8 {
                let (low, low_rev) = (z[n], z[N / 4 - n - 1]);
                let (mid, mid_rev) = (z[N / 8 + n], z[N / 8 - n - 1]);
                x[2 * n] = -mid.im * w[2 * n];
                x[2 * n + 1] = mid_rev.re * w[2 * n + 1];
                x[N / 4 + 2 * n] = -low.re * w[N / 4 + 2 * n];
                x[N / 4 + 2 * n + 1] = low_rev.im * w[N / 4 + 2 * n + 1];
                x[N / 2 + 2 * n] = -mid.re * w[N / 2 - 2 * n - 1];
                x[N / 2 + 2 * n + 1] = mid_rev.im * w[N / 2 - 2 * n - 2];
                x[3 * N / 4 + 2 * n] = low.im * w[N / 4 - 2 * n - 1];
                x[3 * N / 4 + 2 * n + 1] = -low_rev.re * w[N / 4 - 2 * n - 2];
            }
        }
        for ((sample, &first_half), previous) in out.iter_mut().zip(&x[..N / 2]).zip(delay.iter()) {
            *sample = 2.0 * (first_half + previous);
        }
        delay.copy_from_slice(&x[N / 2..]);
    }
}

/// The standard's steps 1 to 3 for `z.len()` complex values from twice as many coefficients:
/// pairs of coefficients from both ends rotated, an inverse FFT, rotated again.
fn rotated_fft(
    fft: &dyn Fft<f32>,
    twiddle: &[Complex32],
    scratch: &mut [Complex32],
    z: &mut [Complex32],
    coefficient: impl Fn(usize) -> f32,
) {
    let count = z.len();
    for (k, (value, twiddle)) in z.iter_mut().zip(twiddle).enumerate() {
        *value = Complex32::new(coefficient(2 * count - 2 * k - 1), coefficient(2 * k)) * twiddle;
    }
    fft.process_with_scratch(z, scratch);
    for (value, twiddle) in z.iter_mut().zip(twiddle) {
        *value *= twiddle;
    }
}

/// The rising half of a 512-sample Kaiser-Bessel-derived window with alpha 5.
fn kbd_window() -> [f32; 256] {
    use crate::pcm::bessel_i0;
    const ALPHA: f64 = 5.0;
    let kaiser: Vec<f64> = (0..=256)
        .map(|n| {
            let ratio = 4.0 * n as f64 / N as f64 - 1.0;
            bessel_i0(PI * ALPHA * (1.0 - ratio * ratio).max(0.0).sqrt())
        })
        .collect();
    let total: f64 = kaiser.iter().sum();
    let mut running = 0.0;
    std::array::from_fn(|n| {
        running += kaiser[n];
        (running / total).sqrt() as f32
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_standards() {
        // A/52 table 7.33 gives it to 5 digits; spot values.
        let w = kbd_window();
        assert!((w[0] - 0.00014).abs() < 2e-5, "{}", w[0]);
        assert!((w[127] - 0.7027).abs() < 0.001, "{}", w[127]);
        assert!((w[255] - 1.0).abs() < 1e-4);
        // Princen-Bradley: the two halves' squares sum to one.
        for n in 0..256 {
            let sum = w[n] * w[n] + w[255 - n] * w[255 - n];
            assert!((sum - 1.0).abs() < 1e-5, "{n}: {sum}");
        }
    }

    /// The middle half of a textbook inverse MDCT of `coefficients.len() * 2` samples, by its
    /// definition (a sum per sample).
    fn imdct_half(coefficients: &[f32]) -> Vec<f64> {
        let n = 2 * coefficients.len();
        (n / 4..3 * n / 4)
            .map(|sample| {
                coefficients
                    .iter()
                    .enumerate()
                    .map(|(k, &c)| {
                        f64::from(c)
                            * (2.0 * PI / n as f64
                                * (sample as f64 + 0.5 + n as f64 / 4.0)
                                * (k as f64 + 0.5))
                                .cos()
                    })
                    .sum()
            })
            .collect()
    }

    /// An independent way to the same samples, the one FFmpeg's decoder takes: a block is the
    /// middle half of a textbook inverse MDCT (of 512 samples, or of 256 for the even then the
    /// odd coefficients of a split block), overlapped with the last one's through the window.
    /// Checks the standard's FFT algorithm as written in `Transform`, the short transform in
    /// particular: FFmpeg's encoder never splits a block, so no fixture here has one.
    #[test]
    fn long_and_short_blocks_match_a_textbook_transform() {
        let window = kbd_window();
        let mut transform = Transform::new();
        let mut delay = [0f32; 256];
        let mut reference_delay = vec![0f64; 128];
        let mut noise = 12345u32;
        let mut random = || {
            noise = noise.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (noise >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let mut scale = None;
        for (index, short) in [false, false, true, true, false, true, false]
            .into_iter()
            .enumerate()
        {
            let coefficients: [f32; 256] = std::array::from_fn(|_| random());
            let mut out = [0f32; 256];
            transform.block(&coefficients, short, &mut delay, &mut out);
            let (half, next_delay) = if short {
                let even: Vec<f32> = coefficients.iter().step_by(2).copied().collect();
                let odd: Vec<f32> = coefficients.iter().skip(1).step_by(2).copied().collect();
                (imdct_half(&even), imdct_half(&odd))
            } else {
                let half = imdct_half(&coefficients);
                (half[..128].to_vec(), half[128..].to_vec())
            };
            let mut reference = [0f64; 256];
            for i in 0..128 {
                let (w_low, w_high) = (f64::from(window[i]), f64::from(window[255 - i]));
                reference[i] = reference_delay[i] * w_high - half[127 - i] * w_low;
                reference[255 - i] = reference_delay[i] * w_low + half[127 - i] * w_high;
            }
            reference_delay = next_delay;
            if index == 0 {
                continue;
            }
            // The two differ by a constant factor (their scaling conventions): the first
            // comparison finds it, the others must keep it.
            let dot: f64 = out
                .iter()
                .zip(&reference)
                .map(|(&a, b)| f64::from(a) * b)
                .sum();
            let energy: f64 = reference.iter().map(|b| b * b).sum();
            let factor = *scale.get_or_insert(dot / energy);
            let error: f64 = out
                .iter()
                .zip(&reference)
                .map(|(&a, b)| (f64::from(a) - factor * b).powi(2))
                .sum();
            let signal: f64 = out.iter().map(|&a| f64::from(a).powi(2)).sum();
            let snr = 10.0 * (signal / error).log10();
            assert!(snr > 100.0, "block {index} (short: {short}): {snr:.1} dB");
        }
    }

    /// A steady signal made by blocks that follow each other comes out the same whether each
    /// block is transformed long or short only where its coefficients are zero: a cheap check
    /// that both paths reconstruct silence and that their overlap leaves nothing behind.
    #[test]
    fn silence_stays_silence_in_both_transforms() {
        let mut transform = Transform::new();
        let mut delay = [0f32; 256];
        let mut out = [1f32; 256];
        for short in [false, true, false] {
            transform.block(&[0.0; 256], short, &mut delay, &mut out);
            assert!(out.iter().all(|&s| s == 0.0));
        }
    }
}
