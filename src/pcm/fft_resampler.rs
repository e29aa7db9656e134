//! Resampling by a rational ratio (44.1 → 48 kHz and the like) in the frequency domain: each
//! block of input is transformed, multiplied by a low-pass filter's spectrum, cut or
//! zero-extended to the output block's length and transformed back; consecutive blocks overlap
//! by half and add.
//!
//! The method and the filter are rubato's `FftFixedInOut` (a Blackman-Harris² windowed sinc as
//! long as the block, at rubato's own cutoff for that length), which this replaces for memory:
//! rubato plans the two FFTs, designs the filter and keeps its work buffers in each resampler,
//! 44 KiB for one mono 44.1 → 48 kHz stream, of which only the 2.5 KiB overlap belongs to the
//! stream. Here every stream with the same block sizes shares one `Kernel` (the plans and the
//! filter's spectrum) and borrows its work buffers from the kernel's pool for the length of one
//! block, so with hundreds of live streams in a process each keeps only its overlap. The
//! transforms are realfft's.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rubato::{WindowFunction, calculate_cutoff};

/// What every resampler with the same block sizes shares.
struct Kernel {
    block_in: usize,
    block_out: usize,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
    /// The filter's spectrum at the forward transform's length, scaled for the unnormalised
    /// transform pair.
    filter: Vec<Complex<f32>>,
    /// Work buffers not in use: as many as blocks were ever processed at the same time.
    idle_buffers: Mutex<Vec<WorkBuffers>>,
}

struct WorkBuffers {
    time_in: Vec<f32>,
    spectrum_in: Vec<Complex<f32>>,
    spectrum_out: Vec<Complex<f32>>,
    time_out: Vec<f32>,
    fft_scratch: Vec<Complex<f32>>,
}

/// Live kernels by (input block, output block). Weak: a kernel goes when its last stream does.
type KernelsByBlocks = HashMap<(usize, usize), Weak<Kernel>>;
static KERNELS: LazyLock<Mutex<KernelsByBlocks>> = LazyLock::new(Default::default);

impl Kernel {
    fn shared(block_in: usize, block_out: usize) -> Arc<Kernel> {
        let mut kernels = KERNELS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(kernel) = kernels.get(&(block_in, block_out)).and_then(Weak::upgrade) {
            return kernel;
        }
        kernels.retain(|_, kernel| kernel.strong_count() > 0);
        let kernel = Arc::new(Kernel::new(block_in, block_out));
        kernels.insert((block_in, block_out), Arc::downgrade(&kernel));
        kernel
    }

    fn new(block_in: usize, block_out: usize) -> Kernel {
        let mut planner = RealFftPlanner::<f32>::new();
        let forward = planner.plan_fft_forward(2 * block_in);
        let inverse = planner.plan_fft_inverse(2 * block_out);
        // The pass band ends where the shorter block's Nyquist frequency does, less the
        // window's transition band (rubato's estimate for this window and length), as a
        // fraction of the input's Nyquist frequency.
        let shorter = block_in.min(block_out);
        let cutoff = f64::from(calculate_cutoff::<f32>(
            shorter,
            WindowFunction::BlackmanHarris2,
        )) * shorter as f64
            / block_in as f64;
        let mut impulse = vec![0.0f32; 2 * block_in];
        let taps = windowed_sinc(block_in, cutoff);
        // The transform pair is unnormalised: the forward one scales by its length.
        let scale = 1.0 / (2 * block_in) as f64;
        for (tap, value) in impulse.iter_mut().zip(&taps) {
            *tap = (value * scale) as f32;
        }
        let mut filter = forward.make_output_vec();
        forward
            .process(&mut impulse, &mut filter)
            .expect("buffers sized by the plan");
        Kernel {
            block_in,
            block_out,
            forward,
            inverse,
            filter,
            idle_buffers: Mutex::new(Vec::new()),
        }
    }

    fn take_buffers(&self) -> WorkBuffers {
        let idle = self
            .idle_buffers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        idle.unwrap_or_else(|| WorkBuffers {
            time_in: self.forward.make_input_vec(),
            spectrum_in: self.forward.make_output_vec(),
            spectrum_out: self.inverse.make_input_vec(),
            time_out: self.inverse.make_output_vec(),
            fft_scratch: vec![
                Complex::default();
                self.forward
                    .get_scratch_len()
                    .max(self.inverse.get_scratch_len())
            ],
        })
    }

    fn return_buffers(&self, buffers: WorkBuffers) {
        self.idle_buffers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(buffers);
    }

    /// Resamples one block of one channel; `overlap` carries the second half of the previous
    /// block's output.
    fn resample_block(
        &self,
        buffers: &mut WorkBuffers,
        input: &[f32],
        output: &mut [f32],
        overlap: &mut [f32],
    ) {
        let WorkBuffers {
            time_in,
            spectrum_in,
            spectrum_out,
            time_out,
            fft_scratch,
        } = buffers;
        time_in[..self.block_in].copy_from_slice(&input[..self.block_in]);
        time_in[self.block_in..].fill(0.0);
        let forward = self
            .forward
            .process_with_scratch(time_in, spectrum_in, fft_scratch);
        debug_assert!(forward.is_ok(), "{forward:?}");
        // Upsampling keeps every input bin (the rest of the output spectrum is silence);
        // downsampling keeps the bins below the output's Nyquist frequency.
        let kept = if self.block_in < self.block_out {
            self.block_in + 1
        } else {
            self.block_out
        };
        for ((out, bin), filter) in spectrum_out.iter_mut().zip(&*spectrum_in).zip(&self.filter) {
            *out = bin * filter;
        }
        spectrum_out[kept..].fill(Complex::default());
        // The first and last bins of a real signal's spectrum are real: realfft checks that
        // their imaginary parts are zero, and they are, being products of real bins.
        let inverse = self
            .inverse
            .process_with_scratch(spectrum_out, time_out, fft_scratch);
        debug_assert!(inverse.is_ok(), "{inverse:?}");
        let (head, tail) = time_out.split_at(self.block_out);
        for ((out, new), old) in output.iter_mut().zip(head).zip(&*overlap) {
            *out = new + old;
        }
        overlap.copy_from_slice(tail);
    }
}

/// The low-pass filter: a sinc at `cutoff` (a fraction of the Nyquist frequency), windowed by a
/// squared Blackman-Harris window, `length` taps centred on `length / 2`, unit gain at DC.
fn windowed_sinc(length: usize, cutoff: f64) -> Vec<f64> {
    use std::f64::consts::PI;
    let n = length as f64;
    let taps: Vec<f64> = (0..length)
        .map(|i| {
            let phase = 2.0 * PI * i as f64 / n;
            let blackman_harris = 0.35875 - 0.48829 * phase.cos() + 0.14128 * (2.0 * phase).cos()
                - 0.01168 * (3.0 * phase).cos();
            let x = (i as f64 - (length / 2) as f64) * cutoff;
            let sinc = if x == 0.0 {
                1.0
            } else {
                (PI * x).sin() / (PI * x)
            };
            blackman_harris * blackman_harris * sinc
        })
        .collect();
    let sum: f64 = taps.iter().sum();
    taps.into_iter().map(|tap| tap / sum).collect()
}

/// A stream's resampler: its overlap per channel, and the shared kernel.
pub(super) struct FftResampler {
    kernel: Arc<Kernel>,
    overlaps: Vec<Vec<f32>>,
}

impl FftResampler {
    /// Input blocks of `block_in` frames become output blocks of `block_out` frames: their ratio
    /// is the rate ratio.
    pub(super) fn new(block_in: usize, block_out: usize, channels: usize) -> FftResampler {
        FftResampler {
            kernel: Kernel::shared(block_in, block_out),
            overlaps: vec![vec![0.0; block_out]; channels],
        }
    }

    pub(super) fn block_in(&self) -> usize {
        self.kernel.block_in
    }

    pub(super) fn block_out(&self) -> usize {
        self.kernel.block_out
    }

    /// Output frames by which the output lags the input: the filter is symmetric about half
    /// the block.
    pub(super) fn delay(&self) -> usize {
        self.kernel.block_out / 2
    }

    /// Resamples one block per channel; returns the output frames (`block_out()`).
    pub(super) fn process(&mut self, input: &[Vec<f32>], output: &mut [Vec<f32>]) -> usize {
        let mut buffers = self.kernel.take_buffers();
        for ((input, output), overlap) in input.iter().zip(output).zip(&mut self.overlaps) {
            self.kernel
                .resample_block(&mut buffers, input, output, overlap);
        }
        self.kernel.return_buffers(buffers);
        self.kernel.block_out
    }

    pub(super) fn reset(&mut self) {
        for overlap in &mut self.overlaps {
            overlap.fill(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rubato::{FftFixedInOut, Resampler};

    /// The same method and filter as rubato's resampler, so the same output to float precision,
    /// block after block (the overlap carried), upsampling and downsampling.
    #[test]
    fn matches_rubatos_fft_resampler() {
        for (rate_in, rate_out, block_in) in [
            (44100, 48000, 588),
            (48000, 44100, 640),
            (22050, 48000, 294),
        ] {
            let mut theirs = FftFixedInOut::<f32>::new(rate_in, rate_out, block_in, 2).unwrap();
            assert_eq!(theirs.input_frames_next(), block_in);
            let block_out = theirs.output_frames_next();
            let mut ours = FftResampler::new(block_in, block_out, 2);
            assert_eq!(ours.delay(), theirs.output_delay());
            let mut their_out = vec![vec![0.0f32; block_out]; 2];
            let mut our_out = vec![vec![0.0f32; block_out]; 2];
            for block in 0..5 {
                let input: Vec<Vec<f32>> = (0..2)
                    .map(|channel| {
                        (0..block_in)
                            .map(|i| {
                                let t = (block * block_in + i) as f32;
                                (t * 0.05 * (channel + 1) as f32).sin() * 0.7
                            })
                            .collect()
                    })
                    .collect();
                theirs
                    .process_into_buffer(&input, &mut their_out, None)
                    .unwrap();
                assert_eq!(ours.process(&input, &mut our_out), block_out);
                for (a, b) in our_out.iter().flatten().zip(their_out.iter().flatten()) {
                    assert!(
                        (a - b).abs() < 2e-6,
                        "{rate_in} → {rate_out}, block {block}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn streams_with_the_same_blocks_share_one_kernel() {
        let a = FftResampler::new(588, 640, 1);
        let b = FftResampler::new(588, 640, 2);
        assert!(Arc::ptr_eq(&a.kernel, &b.kernel));
        let c = FftResampler::new(294, 320, 1);
        assert!(!Arc::ptr_eq(&a.kernel, &c.kernel));
    }
}
