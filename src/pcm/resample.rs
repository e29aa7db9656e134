//! Resampling: upsampling by a whole factor up to 6 with our polyphase filter (`polyphase`),
//! other rate pairs with our FFT resampler (`fft_resampler`) on small fixed blocks, or rubato's
//! sinc resampler for rate pairs whose exact block would be too long; the filter delay removed
//! in every case.

use rubato::{
    Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType, WindowFunction,
    calculate_cutoff,
};

use super::fft_resampler::FftResampler;

use super::mix::ChannelMix;
use super::polyphase::IntegerUpsampler;
use super::{append_s16_planar, append_silence, sanitize};

/// The FFT resampler's filter is as long as its input block, and the block is buffered before it
/// is processed: latency is the block plus half of it (the filter delay). Aim for 10 ms blocks...
const FFT_TARGET_BLOCK_MS: usize = 10;
/// ...but never shorter than this many input frames, so the anti-aliasing filter keeps a steep
/// edge (cutoff ≈ 0.89 × Nyquist at 128 taps) at low input rates such as 8 kHz.
const FFT_MIN_BLOCK_FRAMES: usize = 128;
/// Rate pairs whose exact FFT block would exceed this switch to the sinc resampler.
const FFT_MAX_BLOCK_MS: usize = 30;

/// Sinc fallback: input frames per resampler call (≈ 10 ms at the input rate, at least this).
const SINC_MIN_CHUNK_FRAMES: usize = 64;
const SINC_TAPS: usize = 128;
const SINC_OVERSAMPLING: usize = 256;

/// Whole upsampling factors the polyphase filter takes (8, 12, 16 and 24 kHz to 48 kHz).
const POLYPHASE_FACTORS: std::ops::RangeInclusive<u32> = 2..=6;
/// Polyphase: input frames per block (1.3 ms at 24 kHz): the filter has no block of its own,
/// so this only bounds the work per call.
const POLYPHASE_BLOCK_FRAMES: usize = 32;

enum Engine {
    Polyphase(IntegerUpsampler),
    Fft(FftResampler),
    Sinc(SincFixedIn<f32>),
}

impl Engine {
    fn block_frames(&self) -> usize {
        match self {
            Engine::Polyphase(r) => r.block_frames(),
            Engine::Fft(r) => r.block_in(),
            Engine::Sinc(r) => r.input_frames_next(),
        }
    }

    fn output_frames_max(&self) -> usize {
        match self {
            Engine::Polyphase(r) => r.output_frames(),
            Engine::Fft(r) => r.block_out(),
            Engine::Sinc(r) => r.output_frames_max(),
        }
    }

    /// How many output frames the output is late (positive) or early (negative) at the start
    /// of a stream, rounded to whole frames.
    fn start_offset(&self, ratio: f64) -> isize {
        match self {
            Engine::Polyphase(r) => r.delay() as isize,
            // The FFT filter is symmetric about half the block: exactly `output_delay()`.
            Engine::Fft(r) => r.delay() as isize,
            // rubato 0.16's sinc resampler centres output frame k on input time
            // (k + 1) / ratio - 1 + 1 / oversampling: almost no delay (its `output_delay()`
            // does not describe this), but early or late by up to `ratio` output frames.
            Engine::Sinc(_) => {
                let late_by = ratio - 1.0 - ratio / SINC_OVERSAMPLING as f64;
                late_by.round() as isize
            }
        }
    }

    /// Resamples one full block; returns the number of output frames.
    fn process(&mut self, input: &[Vec<f32>], output: &mut [Vec<f32>]) -> usize {
        let result = match self {
            Engine::Polyphase(r) => return r.process(input, output),
            Engine::Fft(r) => return r.process(input, output),
            Engine::Sinc(r) => r.process_into_buffer(input, output, None),
        };
        // Buffers are sized from the resampler's own figures, so this cannot fail; if it
        // did, the block is lost rather than the process aborted (finish() still pads the
        // stream to its exact length).
        debug_assert!(result.is_ok(), "{result:?}");
        result.map_or(0, |(_, produced)| produced)
    }

    fn reset(&mut self) {
        match self {
            Engine::Polyphase(r) => r.reset(),
            Engine::Fft(r) => r.reset(),
            Engine::Sinc(r) => r.reset(),
        }
    }
}

/// The FFT block (input frames) for a rate pair, or `None` when an exact block would be too
/// long for low latency.
///
/// The FFT resampler works on whole multiples of `in_rate / gcd` input frames. The multiple is
/// kept even so both FFT sizes are even: the filter is then symmetric about a whole input frame
/// and its delay (half the output block) a whole number of output frames, which is what makes
/// delay removal exact.
pub(super) fn fft_block_frames(in_rate: u32, out_rate: u32) -> Option<usize> {
    let (in_rate, out_rate) = (in_rate as usize, out_rate as usize);
    let unit_pair = 2 * in_rate / gcd(in_rate, out_rate);
    let target = (in_rate * FFT_TARGET_BLOCK_MS / 1000).max(FFT_MIN_BLOCK_FRAMES);
    let pairs = ((target + unit_pair / 2) / unit_pair).max(1);
    let block = pairs * unit_pair;
    (block * 1000 <= in_rate * FFT_MAX_BLOCK_MS).then_some(block)
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A resampler fed with fixed blocks from a stream of any chunking, with its filter
/// delay removed so output frame n is at the time of output frame n of an ideal converter.
pub(super) struct StreamResampler {
    engine: Engine,
    /// Planar input block being filled (already mixed to the output channels).
    block_in: Vec<Vec<f32>>,
    /// Frames of `block_in` filled so far.
    filled: usize,
    /// Planar output of one block.
    block_out: Vec<Vec<f32>>,
    /// Output frames the resampler is late (drop that many) or early (insert that many frames
    /// of silence) at the start of a stream.
    start_offset: isize,
    /// Leading output frames still to drop in this stream.
    delay_left: usize,
    /// Leading silent frames still to insert in this stream.
    lead_in_left: usize,
    /// Output frames per block, roughly (for bounding the flush loop).
    nominal_out_per_block: usize,
}

impl StreamResampler {
    pub(super) fn new(
        in_rate: u32,
        out_rate: u32,
        channels: usize,
    ) -> Result<StreamResampler, String> {
        let (fs_in, fs_out) = (in_rate as usize, out_rate as usize);
        let polyphase_factor = out_rate
            .is_multiple_of(in_rate)
            .then(|| out_rate / in_rate)
            .filter(|factor| POLYPHASE_FACTORS.contains(factor));
        let engine = match (polyphase_factor, fft_block_frames(in_rate, out_rate)) {
            (Some(factor), _) => Engine::Polyphase(IntegerUpsampler::new(
                factor as usize,
                POLYPHASE_BLOCK_FRAMES,
                channels,
            )),
            (None, Some(block)) => {
                Engine::Fft(FftResampler::new(block, block * fs_out / fs_in, channels))
            }
            (None, None) => {
                let parameters = SincInterpolationParameters {
                    sinc_len: SINC_TAPS,
                    f_cutoff: calculate_cutoff(SINC_TAPS, WindowFunction::BlackmanHarris2),
                    oversampling_factor: SINC_OVERSAMPLING,
                    interpolation: SincInterpolationType::Cubic,
                    window: WindowFunction::BlackmanHarris2,
                };
                let chunk = (fs_in * FFT_TARGET_BLOCK_MS / 1000).max(SINC_MIN_CHUNK_FRAMES);
                let ratio = f64::from(out_rate) / f64::from(in_rate);
                Engine::Sinc(
                    SincFixedIn::new(ratio, 1.0, parameters, chunk, channels)
                        .map_err(|e| e.to_string())?,
                )
            }
        };
        let block = engine.block_frames();
        let start_offset = engine.start_offset(f64::from(out_rate) / f64::from(in_rate));
        Ok(StreamResampler {
            block_in: vec![vec![0.0; block]; channels],
            filled: 0,
            block_out: vec![vec![0.0; engine.output_frames_max()]; channels],
            start_offset,
            delay_left: start_offset.max(0) as usize,
            lead_in_left: (-start_offset).max(0) as usize,
            nominal_out_per_block: (block as u64 * u64::from(out_rate) / u64::from(in_rate))
                as usize,
            engine,
        })
    }

    /// The longest an input frame is held back, in input frames: a whole block waits to be
    /// filled, and the filter's delay comes on top.
    pub(super) fn latency_frames(&self, in_rate: u32, out_rate: u32) -> u64 {
        let block = self.block_in[0].len() as u64;
        let delay_in =
            self.start_offset.max(0) as u64 * u64::from(in_rate) / u64::from(out_rate.max(1));
        block + delay_in
    }

    /// Mixes (if needed) and queues `frames` frames of the input planes, resampling each block
    /// as soon as it is full. Returns the output frames appended.
    pub(super) fn push<P: AsRef<[f32]>>(
        &mut self,
        planes: &[P],
        frames: usize,
        mix: Option<&ChannelMix>,
        out: &mut Vec<u8>,
    ) -> usize {
        let block = self.block_in[0].len();
        let mut written = 0;
        let mut done = 0;
        while done < frames {
            let take = (block - self.filled).min(frames - done);
            let range = done..done + take;
            for (channel, plane) in self.block_in.iter_mut().enumerate() {
                let dest = &mut plane[self.filled..self.filled + take];
                match mix {
                    Some(mix) => mix.mix_into(channel, planes, range.clone(), dest),
                    None => dest.copy_from_slice(&planes[channel].as_ref()[range.clone()]),
                }
                for sample in dest {
                    *sample = sanitize(*sample);
                }
            }
            self.filled += take;
            done += take;
            if self.filled == block {
                written += self.run_block(usize::MAX, out);
            }
        }
        written
    }

    /// Pads with silence until `missing` more frames have come out, appends them, and resets
    /// for a new stream. Returns the frames appended (always `missing`).
    pub(super) fn finish(&mut self, missing: usize, out: &mut Vec<u8>) -> usize {
        let block = self.block_in[0].len();
        let mut written = 0;
        // Enough blocks to cover the delay and the missing frames twice over; the loop cannot
        // spin even if the resampler stopped producing.
        let mut blocks_left =
            3 + 2 * (self.delay_left + missing) / self.nominal_out_per_block.max(1);
        while written < missing && blocks_left > 0 {
            for plane in &mut self.block_in {
                plane[self.filled..].fill(0.0);
            }
            self.filled = block;
            written += self.run_block(missing - written, out);
            blocks_left -= 1;
        }
        if written < missing {
            // Never expected; keeps the length promise anyway.
            append_silence(out, self.block_in.len(), missing - written);
        }
        self.engine.reset();
        self.filled = 0;
        self.delay_left = self.start_offset.max(0) as usize;
        self.lead_in_left = (-self.start_offset).max(0) as usize;
        missing
    }

    /// Resamples the full input block and appends at most `limit` frames, after the start
    /// offset is dealt with.
    fn run_block(&mut self, limit: usize, out: &mut Vec<u8>) -> usize {
        let produced = self.engine.process(&self.block_in, &mut self.block_out);
        self.filled = 0;
        let lead_in = self.lead_in_left.min(limit);
        self.lead_in_left -= lead_in;
        append_silence(out, self.block_out.len(), lead_in);
        let skipped = self.delay_left.min(produced);
        self.delay_left -= skipped;
        let count = (produced - skipped).min(limit - lead_in);
        append_s16_planar(out, &self.block_out, skipped..skipped + count);
        lead_in + count
    }
}
