//! PCM conversion: channel mixing, then resampling, then float to S16LE. Mixing comes
//! first so that only the output channels are resampled. Free of GStreamer.
//!
//! Input is planar f32, as decoders give it, in symphonia's canonical channel order: one plane
//! per position of the layout, in ascending WAVE channel-mask bit order (FL, FR, FC, LFE, RL,
//! RR, FLC, FRC, RC, SL, SR, ...). It stays planar through mixing and resampling and is
//! interleaved once, as it becomes S16LE. When the channel count changes to N > 2, the output
//! channels are the first N WAVE positions in that same order (`Position::from_count(N)`).
//!
//! Resampling uses an FFT resampler (`fft_resampler`, rubato's method with shared state) on
//! small fixed blocks, or a polyphase filter for whole upsampling factors, with the filter
//! delay removed, so output is time-aligned with input and independent of how the input was
//! chunked. Rate pairs whose exact FFT block would be too long for low latency (e.g.
//! 22050 → 16000, or odd rates such as 44056) use rubato's sinc resampler instead.

use std::ops::Range;

use symphonia::core::audio::Channels;

mod fft_resampler;
mod mix;
mod polyphase;
pub(crate) use polyphase::bessel_i0;
mod resample;

use mix::{ChannelMix, input_positions};
use resample::StreamResampler;

/// Rates outside this range are refused: no real stream uses them, and a corrupt header
/// claiming 1 Hz or 4 GHz must not make the resampler allocate gigabytes.
const MIN_RATE: u32 = 1_000;
const MAX_RATE: u32 = 768_000;
/// More channels than any real layout; bounds the mixing matrix.
pub const MAX_CHANNELS: usize = 64;

/// Frames mixed at a time when only the channels change.
const MIX_CHUNK_FRAMES: usize = 256;

/// Samples going into the resampler are limited to this magnitude and NaN becomes 0: the FFT
/// resampler would spread NaN or infinity over whole blocks, the sinc one carry them on forever.
const MAX_RESAMPLER_INPUT: f32 = 16.0;

/// Converts decoded interleaved f32 audio to S16LE at a target rate and channel count.
pub struct PcmConverter {
    in_rate: u32,
    out_rate: u32,
    in_channels: usize,
    out_channels: usize,
    /// `None` when the channel count does not change.
    mix: Option<ChannelMix>,
    /// `None` when the rate does not change.
    resampler: Option<StreamResampler>,
    /// The mixed planes when the channels change and the rate does not, a chunk of
    /// `MIX_CHUNK_FRAMES` at most.
    mixed: Vec<Vec<f32>>,
    frames_in: u64,
    frames_out: u64,
    /// `frames_in` / `frames_out` at the last `finish()`: a converter can be reused after it.
    finished_in: u64,
    finished_out: u64,
}

impl PcmConverter {
    /// `in_channels`: the decoder's channel layout; `out_channels`: target count (1, 2, or N).
    pub fn new(
        in_rate: u32,
        in_channels: &Channels,
        out_rate: u32,
        out_channels: usize,
    ) -> Result<PcmConverter, String> {
        let in_count = in_channels.count();
        for rate in [in_rate, out_rate] {
            if !(MIN_RATE..=MAX_RATE).contains(&rate) {
                return Err(format!(
                    "sample rate {rate} Hz outside {MIN_RATE}..={MAX_RATE}"
                ));
            }
        }
        for count in [in_count, out_channels] {
            if !(1..=MAX_CHANNELS).contains(&count) {
                return Err(format!("{count} channels outside 1..={MAX_CHANNELS}"));
            }
        }
        let mix = (in_count != out_channels)
            .then(|| ChannelMix::new(&input_positions(in_channels), out_channels));
        let resampler = if in_rate == out_rate {
            None
        } else {
            Some(StreamResampler::new(in_rate, out_rate, out_channels)?)
        };
        Ok(PcmConverter {
            in_rate,
            out_rate,
            in_channels: in_count,
            out_channels,
            mix,
            resampler,
            mixed: Vec::new(),
            frames_in: 0,
            frames_out: 0,
            finished_in: 0,
            finished_out: 0,
        })
    }

    pub fn in_rate(&self) -> u32 {
        self.in_rate
    }

    pub fn out_rate(&self) -> u32 {
        self.out_rate
    }

    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Input frames accepted so far (over the converter's life).
    pub fn frames_in(&self) -> u64 {
        self.frames_in
    }

    /// Output frames appended so far (over the converter's life).
    pub fn frames_out(&self) -> u64 {
        self.frames_out
    }

    /// Output frames that the input accepted so far will still give: the resampler's block
    /// being filled and its filter delay, at the output rate. The PCM that comes out next
    /// starts this many frames before the audio of the next input. 0 without a resampler.
    pub fn frames_owed(&self) -> u64 {
        if self.resampler.is_none() {
            return 0;
        }
        let stream_in = u128::from(self.frames_in - self.finished_in);
        self.expected_out(stream_in)
            .saturating_sub(self.frames_out - self.finished_out)
    }

    /// `round(frames × out_rate / in_rate)`: what `frames` input frames give.
    fn expected_out(&self, frames: u128) -> u64 {
        let (in_rate, out_rate) = (u128::from(self.in_rate), u128::from(self.out_rate));
        ((frames * out_rate + in_rate / 2) / in_rate) as u64
    }

    /// The longest the converter holds a frame back, in input frames: a whole resampler block
    /// waits to be filled, and the FFT filter's delay (half a block) comes on top. 0 without a
    /// resampler.
    pub fn latency_frames(&self) -> u64 {
        self.resampler
            .as_ref()
            .map_or(0, |r| r.latency_frames(self.in_rate, self.out_rate))
    }

    /// Converts frames given as one plane per input channel (as many frames as the shortest
    /// plane holds) and appends S16LE bytes to `out`. Allocates nothing once its mixing scratch
    /// has grown to a chunk; `out` grows at most once, to what this input can give.
    pub fn process<P: AsRef<[f32]>>(&mut self, planes: &[P], out: &mut Vec<u8>) {
        debug_assert_eq!(planes.len(), self.in_channels);
        let frames = planes.iter().map(|p| p.as_ref().len()).min().unwrap_or(0);
        // The resampler appends a block at a time: without this, `out` would grow by doubling
        // from a block (five reallocations for 20 ms of 24 kHz audio).
        let most = self.expected_out(frames as u128) + self.frames_owed() + 1;
        out.reserve(most as usize * self.out_channels * 2);
        self.frames_in += frames as u64;
        let written = match (&mut self.resampler, &self.mix) {
            (Some(resampler), mix) => resampler.push(planes, frames, mix.as_ref(), out),
            (None, Some(mix)) => {
                // A chunk at a time: the mixed planes stay small whatever the packet length
                // (a 120 ms Opus packet, a 4096-frame FLAC block).
                self.mixed.resize_with(self.out_channels, Vec::new);
                for start in (0..frames).step_by(MIX_CHUNK_FRAMES) {
                    let end = (start + MIX_CHUNK_FRAMES).min(frames);
                    for (channel, plane) in self.mixed.iter_mut().enumerate() {
                        plane.resize(end - start, 0.0);
                        mix.mix_into(channel, planes, start..end, plane);
                    }
                    append_s16_planar(out, &self.mixed, 0..end - start);
                }
                frames
            }
            (None, None) => {
                append_s16_planar(out, planes, 0..frames);
                frames
            }
        };
        self.frames_out += written as u64;
    }

    /// Ends the stream: drains the resampler so that the output of this stream is exactly
    /// `round(frames in × out_rate / in_rate)` frames, and appends it to `out`. The converter is
    /// then ready for a new stream (the filter history is cleared).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let missing = self.frames_owed();
        if let Some(resampler) = &mut self.resampler {
            self.frames_out += resampler.finish(missing as usize, out) as u64;
        }
        self.finished_in = self.frames_in;
        self.finished_out = self.frames_out;
    }
}

/// Float to S16: scale by 32768, round to nearest (halves away from zero), clamp. Exact for
/// samples that came from 16 bits (`i16 as f32 / 32768.0`). NaN becomes 0.
fn to_s16(sample: f32) -> i16 {
    // Rounds half away from zero with operations that vectorise: neither `round` (a libm call
    // on baseline x86-64) nor `as i32` (saturating, so the compiler converts lane by lane).
    // Adding 1.5 × 2^23 leaves the value rounded to nearest, ties to even, in the low mantissa
    // bits; a tie that went towards zero is then moved away from it. `scaled - nearest` is
    // exact: the two are within 0.5 of each other.
    const MAGIC: f32 = 12_582_912.0;
    let sample = if sample.is_nan() { 0.0 } else { sample };
    let scaled = (sample * 32768.0).clamp(-32768.0, 32767.0);
    let nearest = (scaled + MAGIC).to_bits() as i32 - MAGIC.to_bits() as i32;
    let rest = scaled - nearest as f32;
    let away = i32::from(rest == 0.5 && scaled > 0.0) - i32::from(rest == -0.5 && scaled < 0.0);
    (nearest + away) as i16
}

/// What the resampler may be given: finite and of sane magnitude.
fn sanitize(sample: f32) -> f32 {
    if sample.is_nan() {
        0.0
    } else {
        sample.clamp(-MAX_RESAMPLER_INPUT, MAX_RESAMPLER_INPUT)
    }
}

/// Appends frames `range` of `planes` (one per channel) as interleaved S16LE.
fn append_s16_planar<P: AsRef<[f32]>>(out: &mut Vec<u8>, planes: &[P], range: Range<usize>) {
    let channels = planes.len();
    if range.is_empty() || channels == 0 {
        return;
    }
    let start = out.len();
    out.resize(start + 2 * channels * range.len(), 0);
    let dest = &mut out[start..];
    if let [plane] = planes {
        write_s16_mono(dest, &plane.as_ref()[range]);
        return;
    }
    for (frame, at) in dest.chunks_exact_mut(2 * channels).zip(range) {
        for (bytes, plane) in frame.chunks_exact_mut(2).zip(planes) {
            bytes.copy_from_slice(&to_s16(plane.as_ref()[at]).to_le_bytes());
        }
    }
}

/// Mono, the default output: `write_s16_mono_portable` compiled for AVX2 (eight lanes where
/// the x86-64 baseline has four) when the processor has it; integer and compare operations
/// only, so the same result to the bit.
fn write_s16_mono(dest: &mut [u8], samples: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor supports AVX2, checked just above (the check is cached).
        unsafe { write_s16_mono_avx2(dest, samples) };
        return;
    }
    write_s16_mono_portable(dest, samples);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn write_s16_mono_avx2(dest: &mut [u8], samples: &[f32]) {
    write_s16_mono_portable(dest, samples);
}

/// A plain loop over exact pairs, which the compiler vectorises.
#[inline(always)]
fn write_s16_mono_portable(dest: &mut [u8], samples: &[f32]) {
    for (bytes, sample) in dest.chunks_exact_mut(2).zip(samples) {
        bytes.copy_from_slice(&to_s16(*sample).to_le_bytes());
    }
}

/// Appends `frames` frames of silence in `channels` channels.
fn append_silence(out: &mut Vec<u8>, channels: usize, frames: usize) {
    out.resize(out.len() + 2 * channels * frames, 0);
}

#[cfg(test)]
mod tests;
