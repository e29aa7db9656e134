//! PCM conversion: channel mixing, then resampling (rubato), then float to S16LE. Mixing comes
//! first so that only the output channels are resampled. Free of GStreamer.
//!
//! Input is planar f32, as decoders give it, in symphonia's canonical channel order: one plane
//! per position of the layout, in ascending WAVE channel-mask bit order (FL, FR, FC, LFE, RL,
//! RR, FLC, FRC, RC, SL, SR, ...). It stays planar through mixing and resampling and is
//! interleaved once, as it becomes S16LE. When the channel count changes to N > 2, the output
//! channels are the first N WAVE positions in that same order (`Position::from_count(N)`).
//!
//! Resampling uses rubato's synchronous FFT resampler on small fixed blocks, with the filter
//! delay removed, so output is time-aligned with input and independent of how the input was
//! chunked. Rate pairs whose exact FFT block would be too long for low latency (e.g.
//! 22050 → 16000, or odd rates such as 44056) use rubato's sinc resampler instead.

use rubato::{
    FftFixedInOut, Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType,
    WindowFunction, calculate_cutoff,
};
use std::ops::Range;

use symphonia::core::audio::{ChannelLabel, Channels, Position};

/// Rates outside this range are refused: no real stream uses them, and a corrupt header
/// claiming 1 Hz or 4 GHz must not make the resampler allocate gigabytes.
const MIN_RATE: u32 = 1_000;
const MAX_RATE: u32 = 768_000;
/// More channels than any real layout; bounds the mixing matrix.
pub const MAX_CHANNELS: usize = 64;

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

/// Samples going into the resampler are limited to this magnitude and NaN becomes 0: rubato's
/// FFT resampler panics on NaN or infinity, and the sinc one would carry them on forever.
const MAX_RESAMPLER_INPUT: f32 = 16.0;

/// −3 dB: the ITU-R BS.775 gain of centre and surround channels in a stereo downmix.
const MINUS_3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;

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
    /// The mixed planes when the channels change and the rate does not.
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

    /// Input frames held back inside the resampler, waiting for a full block: the converter's
    /// buffering latency at this moment (the filter delay comes on top).
    pub fn frames_buffered(&self) -> usize {
        self.resampler.as_ref().map_or(0, |r| r.filled)
    }

    /// The longest the converter holds a frame back, in input frames: a whole resampler block
    /// waits to be filled, and the FFT filter's delay (half a block) comes on top. 0 without a
    /// resampler.
    pub fn latency_frames(&self) -> u64 {
        self.resampler.as_ref().map_or(0, |r| {
            let block = r.block_in[0].len() as u64;
            let delay_in = r.start_offset.max(0) as u64 * u64::from(self.in_rate)
                / u64::from(self.out_rate.max(1));
            block + delay_in
        })
    }

    /// Converts frames given as one plane per input channel (as many frames as the shortest
    /// plane holds) and appends S16LE bytes to `out`. Allocates nothing once its mixing scratch
    /// has grown to the largest input; `out` grows as needed.
    pub fn process<P: AsRef<[f32]>>(&mut self, planes: &[P], out: &mut Vec<u8>) {
        debug_assert_eq!(planes.len(), self.in_channels);
        let frames = planes.iter().map(|p| p.as_ref().len()).min().unwrap_or(0);
        self.frames_in += frames as u64;
        let written = match (&mut self.resampler, &self.mix) {
            (Some(resampler), mix) => resampler.push(planes, frames, mix.as_ref(), out),
            (None, Some(mix)) => {
                self.mixed.resize_with(self.out_channels, Vec::new);
                for (channel, plane) in self.mixed.iter_mut().enumerate() {
                    plane.resize(frames, 0.0);
                    mix.mix_into(channel, planes, 0..frames, plane);
                }
                append_s16_planar(out, &self.mixed, 0..frames);
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
        if let Some(resampler) = &mut self.resampler {
            let stream_in = u128::from(self.frames_in - self.finished_in);
            let (in_rate, out_rate) = (u128::from(self.in_rate), u128::from(self.out_rate));
            let expected = ((stream_in * out_rate + in_rate / 2) / in_rate) as u64;
            let missing = expected.saturating_sub(self.frames_out - self.finished_out);
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
        // Mono, the default output: a plain loop over exact pairs, which the compiler vectorises.
        for (bytes, sample) in dest.chunks_exact_mut(2).zip(&plane.as_ref()[range]) {
            bytes.copy_from_slice(&to_s16(*sample).to_le_bytes());
        }
        return;
    }
    for (frame, at) in dest.chunks_exact_mut(2 * channels).zip(range) {
        for (bytes, plane) in frame.chunks_exact_mut(2).zip(planes) {
            bytes.copy_from_slice(&to_s16(plane.as_ref()[at]).to_le_bytes());
        }
    }
}

/// Appends `frames` frames of silence in `channels` channels.
fn append_silence(out: &mut Vec<u8>, channels: usize, frames: usize) {
    out.resize(out.len() + 2 * channels * frames, 0);
}

// ---------------------------------------------------------------------------------------------
// Channel mixing

/// The speaker position of each input channel, in buffer order; `None` for channels without
/// one (ambisonic components other than W, discrete labels in a custom layout, channels beyond
/// the 26 known positions).
fn input_positions(channels: &Channels) -> Vec<Option<Position>> {
    let count = channels.count();
    let mut positions: Vec<Option<Position>> = match channels {
        // A mask with undefined bits is legal; they count as channels without a position.
        Channels::Positioned(mask) => mask
            .iter()
            .map(|p| (p.bits().count_ones() == 1).then_some(p))
            .collect(),
        Channels::Custom(labels) => labels.iter().map(label_position).collect(),
        // W, the first ambisonic component, is the omnidirectional (mono) signal.
        Channels::Ambisonic(_) => (0..count)
            .map(|i| (i == 0).then_some(Position::FRONT_CENTER))
            .collect(),
        // Discrete channels take the standard positions in order, as WAV without a channel
        // mask does.
        _ => default_positions(count),
    };
    if positions.iter().all(Option::is_none) {
        return default_positions(count);
    }
    // Exactly one entry per channel, whatever the layout held.
    positions.resize(count, None);
    positions
}

fn label_position(label: &ChannelLabel) -> Option<Position> {
    match label {
        ChannelLabel::Positioned(position) if position.bits().count_ones() == 1 => Some(*position),
        ChannelLabel::Ambisonic(0) => Some(Position::FRONT_CENTER),
        _ => None,
    }
}

/// The first `count` WAVE/symphonia positions in canonical order (FL, FR, FC, LFE, RL, RR, ...),
/// `None` beyond the known ones. This is the output layout for N > 2 channels when the count
/// changes, matching `Position::from_count(N)`.
fn default_positions(count: usize) -> Vec<Option<Position>> {
    let mut positions: Vec<Option<Position>> =
        Position::all().iter().take(count).map(Some).collect();
    positions.resize(count, None);
    positions
}

/// Gains of one input position in a stereo downmix, ITU-R BS.775 style: fronts at 1, centre and
/// surrounds at −3 dB, LFE dropped. Positions without a place in that scheme go where they sit
/// (left, right or both); unknown channels are dropped.
fn stereo_gains(position: Option<Position>) -> (f32, f32) {
    const FRONT_LEFT: Position = Position::FRONT_LEFT
        .union(Position::FRONT_LEFT_CENTER)
        .union(Position::FRONT_LEFT_WIDE)
        .union(Position::BOTTOM_FRONT_LEFT);
    const FRONT_RIGHT: Position = Position::FRONT_RIGHT
        .union(Position::FRONT_RIGHT_CENTER)
        .union(Position::FRONT_RIGHT_WIDE)
        .union(Position::BOTTOM_FRONT_RIGHT);
    const FRONT_CENTRE: Position = Position::FRONT_CENTER.union(Position::BOTTOM_FRONT_CENTER);
    const SURROUND_LEFT: Position = Position::REAR_LEFT
        .union(Position::SIDE_LEFT)
        .union(Position::TOP_FRONT_LEFT)
        .union(Position::TOP_REAR_LEFT)
        .union(Position::TOP_SIDE_LEFT);
    const SURROUND_RIGHT: Position = Position::REAR_RIGHT
        .union(Position::SIDE_RIGHT)
        .union(Position::TOP_FRONT_RIGHT)
        .union(Position::TOP_REAR_RIGHT)
        .union(Position::TOP_SIDE_RIGHT);
    // Rear and top centres: a surround split evenly over both sides, −3 dB twice.
    const OTHER_CENTRE: Position = Position::REAR_CENTER
        .union(Position::TOP_CENTER)
        .union(Position::TOP_FRONT_CENTER)
        .union(Position::TOP_REAR_CENTER);
    let Some(position) = position else {
        return (0.0, 0.0);
    };
    if FRONT_LEFT.contains(position) {
        (1.0, 0.0)
    } else if FRONT_RIGHT.contains(position) {
        (0.0, 1.0)
    } else if FRONT_CENTRE.contains(position) {
        (MINUS_3DB, MINUS_3DB)
    } else if SURROUND_LEFT.contains(position) {
        (MINUS_3DB, 0.0)
    } else if SURROUND_RIGHT.contains(position) {
        (0.0, MINUS_3DB)
    } else if OTHER_CENTRE.contains(position) {
        (0.5, 0.5)
    } else {
        // LFE1, LFE2.
        (0.0, 0.0)
    }
}

/// Side and rear surrounds stand in for each other when only one pair exists on either side.
fn surround_alias(position: Position) -> Option<Position> {
    [
        (Position::SIDE_LEFT, Position::REAR_LEFT),
        (Position::SIDE_RIGHT, Position::REAR_RIGHT),
        (Position::REAR_LEFT, Position::SIDE_LEFT),
        (Position::REAR_RIGHT, Position::SIDE_RIGHT),
    ]
    .into_iter()
    .find_map(|(from, to)| (from == position).then_some(to))
}

/// A channel-count change: each output channel is a weighted sum of the input channels.
struct ChannelMix {
    in_channels: usize,
    /// One row of `in_channels` gains per output channel.
    gains: Vec<f32>,
}

impl ChannelMix {
    fn new(inputs: &[Option<Position>], out_channels: usize) -> ChannelMix {
        let in_channels = inputs.len();
        let mut gains = vec![0.0f32; out_channels * in_channels];
        match (in_channels, out_channels) {
            // Mono to stereo or more: the same signal at full level on front left and right,
            // so it sounds the same as on a stereo system whatever downstream does with the
            // other channels.
            (1, _) => {
                gains[0] = 1.0;
                gains[1] = 1.0;
            }
            // Down to stereo or mono: stereo downmix, scaled down when a full-scale signal on
            // every input could clip (as GStreamer's audioconvert and FFmpeg do for integer
            // output); mono is the average of that left and right.
            (_, 1 | 2) => {
                let stereo: Vec<(f32, f32)> = inputs.iter().map(|p| stereo_gains(*p)).collect();
                let left_sum: f32 = stereo.iter().map(|g| g.0).sum();
                let right_sum: f32 = stereo.iter().map(|g| g.1).sum();
                let scale = 1.0 / left_sum.max(right_sum).max(1.0);
                for (i, (left, right)) in stereo.into_iter().enumerate() {
                    if out_channels == 1 {
                        gains[i] = (left + right) * scale * 0.5;
                    } else {
                        gains[i] = left * scale;
                        gains[in_channels + i] = right * scale;
                    }
                }
            }
            // Other counts: a channel goes to the output with its position (or its side/rear
            // stand-in), unpositioned channels to the same index; the rest stay silent.
            (_, _) => {
                let outputs = default_positions(out_channels);
                for (i, input) in inputs.iter().enumerate() {
                    let target = match input {
                        Some(position) => outputs
                            .iter()
                            .position(|o| *o == Some(*position))
                            .or_else(|| {
                                let alias = surround_alias(*position)?;
                                // Only when no input already has the stand-in position.
                                if inputs.contains(&Some(alias)) {
                                    return None;
                                }
                                outputs.iter().position(|o| *o == Some(alias))
                            }),
                        None => (i < out_channels && outputs[i].is_none()).then_some(i),
                    };
                    if let Some(o) = target {
                        gains[o * in_channels + i] = 1.0;
                    }
                }
            }
        }
        ChannelMix { in_channels, gains }
    }

    /// Writes output channel `channel` of frames `range` of the input `planes` to `dest`: the
    /// weighted sum of the input planes, accumulated plane by plane so the loops vectorise.
    fn mix_into<P: AsRef<[f32]>>(
        &self,
        channel: usize,
        planes: &[P],
        range: Range<usize>,
        dest: &mut [f32],
    ) {
        let row = &self.gains[channel * self.in_channels..][..self.in_channels];
        dest.fill(0.0);
        for (gain, plane) in row.iter().zip(planes) {
            if *gain != 0.0 {
                for (out, sample) in dest.iter_mut().zip(&plane.as_ref()[range.clone()]) {
                    *out += gain * sample;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Resampling

enum Engine {
    Fft(FftFixedInOut<f32>),
    Sinc(SincFixedIn<f32>),
}

impl Engine {
    fn block_frames(&self) -> usize {
        match self {
            Engine::Fft(r) => r.input_frames_next(),
            Engine::Sinc(r) => r.input_frames_next(),
        }
    }

    fn output_frames_max(&self) -> usize {
        match self {
            Engine::Fft(r) => r.output_frames_max(),
            Engine::Sinc(r) => r.output_frames_max(),
        }
    }

    /// How many output frames the output is late (positive) or early (negative) at the start
    /// of a stream, rounded to whole frames.
    fn start_offset(&self, ratio: f64) -> isize {
        match self {
            // The FFT filter is symmetric about half the block: exactly `output_delay()`.
            Engine::Fft(r) => r.output_delay() as isize,
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
            Engine::Fft(r) => r.process_into_buffer(input, output, None),
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
fn fft_block_frames(in_rate: u32, out_rate: u32) -> Option<usize> {
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

/// A rubato resampler fed with fixed blocks from a stream of any chunking, with its filter
/// delay removed so output frame n is at the time of output frame n of an ideal converter.
struct StreamResampler {
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
    fn new(in_rate: u32, out_rate: u32, channels: usize) -> Result<StreamResampler, String> {
        let (fs_in, fs_out) = (in_rate as usize, out_rate as usize);
        let engine = match fft_block_frames(in_rate, out_rate) {
            Some(block) => Engine::Fft(
                FftFixedInOut::new(fs_in, fs_out, block, channels).map_err(|e| e.to_string())?,
            ),
            None => {
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

    /// Mixes (if needed) and queues `frames` frames of the input planes, resampling each block
    /// as soon as it is full. Returns the output frames appended.
    fn push<P: AsRef<[f32]>>(
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
    fn finish(&mut self, missing: usize, out: &mut Vec<u8>) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn mono() -> Channels {
        Channels::Positioned(Position::FRONT_CENTER)
    }

    fn stereo() -> Channels {
        Channels::Positioned(Position::FRONT_LEFT | Position::FRONT_RIGHT)
    }

    /// 5.1 with rear surrounds: FL FR FC LFE RL RR.
    fn surround_5_1() -> Channels {
        Channels::Positioned(Position::from_count(6).unwrap())
    }

    fn samples(bytes: &[u8]) -> Vec<i16> {
        bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    /// Small deterministic generator (no `rand` dependency).
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, bound: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % bound
        }
    }

    enum Chunking {
        Fixed(usize),
        Random(u64),
    }

    /// Interleaved samples as one plane per channel (a trailing partial frame is dropped).
    fn planar(interleaved: &[f32], channels: usize) -> Vec<Vec<f32>> {
        (0..channels)
            .map(|c| {
                interleaved
                    .chunks_exact(channels)
                    .map(|frame| frame[c])
                    .collect()
            })
            .collect()
    }

    /// Feeds `input` (interleaved) in chunks of whole frames, then finishes.
    fn convert(converter: &mut PcmConverter, input: &[f32], chunking: Chunking) -> Vec<u8> {
        let channels = converter.in_channels;
        let mut out = Vec::new();
        let mut rest = input;
        let mut rng = Lcg(match chunking {
            Chunking::Random(seed) => seed,
            Chunking::Fixed(_) => 0,
        });
        while !rest.is_empty() {
            let frames = match chunking {
                Chunking::Fixed(n) => n,
                Chunking::Random(_) => 1 + rng.below(3000),
            };
            let (chunk, tail) = rest.split_at(frames.saturating_mul(channels).min(rest.len()));
            converter.process(&planar(chunk, channels), &mut out);
            rest = tail;
        }
        converter.finish(&mut out);
        out
    }

    fn convert_all(
        in_rate: u32,
        channels: &Channels,
        out_rate: u32,
        out_channels: usize,
        input: &[f32],
    ) -> Vec<i16> {
        let mut converter = PcmConverter::new(in_rate, channels, out_rate, out_channels).unwrap();
        samples(&convert(
            &mut converter,
            input,
            Chunking::Fixed(usize::MAX / 64),
        ))
    }

    /// A tone quantised to 16 bits, as a 16-bit file would carry it.
    fn tone(rate: u32, freq: f64, seconds: f64, amplitude: f64) -> Vec<f32> {
        let count = (f64::from(rate) * seconds) as usize;
        (0..count)
            .map(|n| {
                let v = amplitude * (2.0 * PI * freq * n as f64 / f64::from(rate)).sin();
                ((v * 32768.0).round() / 32768.0) as f32
            })
            .collect()
    }

    #[test]
    fn same_rate_and_channels_is_bit_exact() {
        // Every i16 value, as stereo, fed in odd chunks.
        let original: Vec<i16> = (i16::MIN..=i16::MAX).collect();
        let floats: Vec<f32> = original.iter().map(|s| f32::from(*s) / 32768.0).collect();
        let mut converter = PcmConverter::new(44_100, &stereo(), 44_100, 2).unwrap();
        let out = convert(&mut converter, &floats, Chunking::Fixed(333));
        assert_eq!(samples(&out), original);
        assert_eq!(converter.frames_out(), 32_768);
        let mut converter = PcmConverter::new(16_000, &mono(), 16_000, 1).unwrap();
        let out = convert(&mut converter, &floats, Chunking::Random(7));
        assert_eq!(samples(&out), original);
    }

    #[test]
    fn float_to_s16_rounds_and_clamps() {
        assert_eq!(to_s16(1.0), 32767);
        assert_eq!(to_s16(2.0), 32767);
        assert_eq!(to_s16(-1.0), -32768);
        assert_eq!(to_s16(-2.0), -32768);
        assert_eq!(to_s16(0.5 / 32768.0), 1);
        assert_eq!(to_s16(0.49 / 32768.0), 0);
        assert_eq!(to_s16(-1.5 / 32768.0), -2);
        assert_eq!(to_s16(-0.5 / 32768.0), -1);
        assert_eq!(to_s16(2.5 / 32768.0), 3);
        // Just below a half, where adding 0.5 and truncating would round up.
        let below_half = 0.5f32.next_down();
        assert_eq!(to_s16(below_half / 32768.0), 0);
        assert_eq!(to_s16(-below_half / 32768.0), 0);
        assert_eq!(to_s16(f32::NAN), 0);
        assert_eq!(to_s16(f32::INFINITY), 32767);
        assert_eq!(to_s16(f32::NEG_INFINITY), -32768);
        // Same as the obvious `round().clamp()` over a dense sweep, halves included.
        for i in -70_000..=70_000 {
            for offset in [-0.5f32, -0.49, -0.01, 0.0, 0.01, 0.49, 0.5] {
                let sample = (i as f32 + offset) / 32768.0;
                let obvious = (sample * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
                assert_eq!(to_s16(sample), obvious, "{sample}");
            }
        }
    }

    #[test]
    fn stereo_to_mono_averages() {
        let out = convert_all(
            8_000,
            &stereo(),
            8_000,
            1,
            &[0.5, 0.25, -0.5, 0.0, 1.0, 1.0],
        );
        assert_eq!(out, [12288, -8192, 32767]);
        // Discrete stereo (no positions) is treated as FL, FR.
        let out = convert_all(8_000, &Channels::Discrete(2), 8_000, 1, &[0.5, 0.25]);
        assert_eq!(out, [12288]);
    }

    #[test]
    fn mono_to_stereo_and_more_duplicates_into_front_pair() {
        let out = convert_all(8_000, &mono(), 8_000, 2, &[0.25, -0.5]);
        assert_eq!(out, [8192, 8192, -16384, -16384]);
        // Mono to 5.1: FL and FR carry it, FC LFE RL RR are silent.
        let out = convert_all(8_000, &mono(), 8_000, 6, &[0.25]);
        assert_eq!(out, [8192, 8192, 0, 0, 0, 0]);
    }

    #[test]
    fn surround_to_stereo_uses_itu_coefficients() {
        // FL FR FC LFE RL RR, each alone at a constant level; the downmix is scaled by
        // 1 / (1 + 2 × 0.7071) so a full-scale signal on every channel cannot clip.
        let scale = 1.0 / (1.0 + 2.0 * MINUS_3DB);
        let level = 0.5f32;
        let expected = [
            (1.0, 0.0),             // FL
            (0.0, 1.0),             // FR
            (MINUS_3DB, MINUS_3DB), // FC
            (0.0, 0.0),             // LFE dropped
            (MINUS_3DB, 0.0),       // RL
            (0.0, MINUS_3DB),       // RR
        ];
        for (channel, (left, right)) in expected.into_iter().enumerate() {
            let mut frame = [0.0f32; 6];
            frame[channel] = level;
            let input: Vec<f32> = frame.repeat(3);
            let out = convert_all(48_000, &surround_5_1(), 48_000, 2, &input);
            let want = [to_s16(level * left * scale), to_s16(level * right * scale)];
            assert_eq!(out, want.repeat(3), "channel {channel}");
        }
        // Spot values: FL alone at 0.5 → 0.5 × 0.4142 = 0.2071 → 6786.
        assert_eq!(to_s16(0.5 * scale), 6786);
        // All channels at full scale: exactly full scale out, no clipping.
        let out = convert_all(48_000, &surround_5_1(), 48_000, 2, &[1.0; 6]);
        assert_eq!(out, [32767, 32767]);
        // 5.1 to mono is the average of that stereo downmix.
        let out = convert_all(
            48_000,
            &surround_5_1(),
            48_000,
            1,
            &[0.5, 0.1, 0.3, 0.9, 0.2, 0.4],
        );
        let left = 0.5 + MINUS_3DB * 0.3 + MINUS_3DB * 0.2;
        let right = 0.1 + MINUS_3DB * 0.3 + MINUS_3DB * 0.4;
        assert_eq!(out, [to_s16((left + right) * scale / 2.0)]);
        // Side-surround 5.1 (FL FR FC LFE SL SR) downmixes the same way.
        let side = Channels::Positioned(
            Position::FRONT_LEFT
                | Position::FRONT_RIGHT
                | Position::FRONT_CENTER
                | Position::LFE1
                | Position::SIDE_LEFT
                | Position::SIDE_RIGHT,
        );
        let out = convert_all(48_000, &side, 48_000, 2, &[0.0, 0.0, 0.0, 0.0, 0.5, 0.0]);
        assert_eq!(out, [to_s16(0.5 * MINUS_3DB * scale), 0]);
    }

    #[test]
    fn other_counts_copy_matching_positions() {
        // Stereo to 5.1: FL FR copied, the rest silent.
        let out = convert_all(8_000, &stereo(), 8_000, 6, &[0.25, -0.25]);
        assert_eq!(out, [8192, -8192, 0, 0, 0, 0]);
        // 5.1 to 4 channels (FL FR FC LFE): the rears are dropped.
        let out = convert_all(
            8_000,
            &surround_5_1(),
            8_000,
            4,
            &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        );
        assert_eq!(out, [0.1, 0.2, 0.3, 0.4].map(to_s16));
        // Side-surround 5.1 to 8 channels (FL FR FC LFE RL RR FLC FRC): sides go to the rears.
        let side = Channels::Positioned(
            Position::FRONT_LEFT
                | Position::FRONT_RIGHT
                | Position::FRONT_CENTER
                | Position::LFE1
                | Position::SIDE_LEFT
                | Position::SIDE_RIGHT,
        );
        let out = convert_all(8_000, &side, 8_000, 8, &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
        assert_eq!(out, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.0, 0.0].map(to_s16));
        // Ambisonics to mono: W only.
        let out = convert_all(
            8_000,
            &Channels::Ambisonic(1),
            8_000,
            1,
            &[0.5, 0.9, 0.9, 0.9],
        );
        assert_eq!(out, [to_s16(0.5 * MINUS_3DB)]);
    }

    #[test]
    fn fft_blocks_stay_short() {
        // (in, out, block frames); latency ≈ 1.5 blocks.
        let cases = [
            (44_100, 48_000, Some(588)), // 13.3 ms
            (22_050, 48_000, Some(294)), // 13.3 ms
            (24_000, 48_000, Some(240)), // 10 ms
            (16_000, 48_000, Some(160)),
            (8_000, 48_000, Some(128)), // 16 ms: minimum filter length
            (48_000, 16_000, Some(480)),
            (16_000, 44_100, Some(320)), // 20 ms
            (22_050, 16_000, None),      // 40 ms: sinc instead
            (44_056, 48_000, None),
        ];
        for (in_rate, out_rate, block) in cases {
            assert_eq!(
                fft_block_frames(in_rate, out_rate),
                block,
                "{in_rate}->{out_rate}"
            );
        }
    }

    const RATE_PAIRS: [(u32, u32); 10] = [
        (22_050, 48_000),
        (44_100, 48_000),
        (48_000, 16_000),
        (8_000, 48_000),
        (24_000, 48_000),
        (16_000, 44_100),
        // Sinc fallback.
        (22_050, 16_000),
        (44_056, 48_000),
        (44_056, 16_000),
        (8_000, 44_056),
    ];

    #[test]
    fn output_length_is_exact_and_chunking_invariant() {
        for (in_rate, out_rate) in RATE_PAIRS {
            // 0.37 s of a stereo tone, mixed to mono on the way.
            let signal = tone(in_rate, 440.0, 0.37, 0.5);
            let input: Vec<f32> = signal.iter().flat_map(|s| [*s, -*s * 0.5]).collect();
            let frames = signal.len() as u64;
            let expected =
                (frames * u64::from(out_rate) + u64::from(in_rate) / 2) / u64::from(in_rate);
            let mut reference: Option<Vec<u8>> = None;
            for chunking in [
                Chunking::Fixed(usize::MAX / 64),
                Chunking::Fixed(1),
                Chunking::Fixed(7),
                Chunking::Fixed(1152),
                Chunking::Random(1),
                Chunking::Random(2),
            ] {
                let mut converter = PcmConverter::new(in_rate, &stereo(), out_rate, 1).unwrap();
                let out = convert(&mut converter, &input, chunking);
                assert_eq!(out.len() as u64, 2 * expected, "{in_rate}->{out_rate}");
                assert_eq!(converter.frames_in(), frames);
                assert_eq!(converter.frames_out(), expected);
                match &reference {
                    None => reference = Some(out),
                    Some(r) => assert!(r == &out, "{in_rate}->{out_rate}: chunking changed output"),
                }
            }
        }
    }

    #[test]
    fn lengths_round_to_nearest() {
        // 1 frame at 44100 → 48000 is 1.088 → 1; 7 frames is 7.62 → 8; 0 frames is 0.
        for (frames, expected) in [(0usize, 0u64), (1, 1), (7, 8), (1000, 1088)] {
            let mut converter = PcmConverter::new(44_100, &mono(), 48_000, 1).unwrap();
            let mut out = Vec::new();
            converter.process(&[vec![0.25; frames]], &mut out);
            converter.finish(&mut out);
            assert_eq!(converter.frames_out(), expected, "{frames} frames");
            assert_eq!(out.len() as u64, 2 * expected);
        }
    }

    #[test]
    fn finish_resets_for_a_new_stream() {
        let input = tone(22_050, 997.0, 0.5, 0.5);
        let mut converter = PcmConverter::new(22_050, &mono(), 48_000, 1).unwrap();
        let first = convert(&mut converter, &input, Chunking::Fixed(1000));
        let second = convert(&mut converter, &input, Chunking::Fixed(999));
        assert_eq!(first, second);
        assert_eq!(converter.frames_out(), 2 * 24_000);
        // A second finish() with nothing new adds nothing.
        let mut out = Vec::new();
        converter.finish(&mut out);
        assert!(out.is_empty());
    }

    /// Least-squares fit of a·sin + b·cos + c at a known frequency over the middle half.
    /// Returns (SINAD in dB, time offset of the fitted tone in output samples).
    fn fit_tone(samples: &[i16], rate: u32, freq: f64) -> (f64, f64) {
        let range = samples.len() / 4..samples.len() * 3 / 4;
        let w = 2.0 * PI * freq / f64::from(rate);
        let basis = |n: usize| [(w * n as f64).sin(), (w * n as f64).cos(), 1.0];
        let mut normal = [[0.0f64; 3]; 3];
        let mut rhs = [0.0f64; 3];
        for n in range.clone() {
            let row = basis(n);
            let y = f64::from(samples[n]);
            for i in 0..3 {
                rhs[i] += row[i] * y;
                for j in 0..3 {
                    normal[i][j] += row[i] * row[j];
                }
            }
        }
        let [a, b, c] = solve3(normal, rhs);
        let (mut signal, mut noise) = (0.0, 0.0);
        for n in range {
            let [s, co, _] = basis(n);
            let fit = a * s + b * co;
            signal += fit * fit;
            let residual = f64::from(samples[n]) - fit - c;
            noise += residual * residual;
        }
        // a·sin(wn) + b·cos(wn) = A·sin(w(n + offset)).
        let offset = b.atan2(a) / w;
        (10.0 * (signal / noise).log10(), offset)
    }

    /// Solves a 3×3 linear system by Cramer's rule (the normal equations here are well
    /// conditioned: sin, cos and 1 over thousands of periods are nearly orthogonal).
    fn solve3(a: [[f64; 3]; 3], b: [f64; 3]) -> [f64; 3] {
        let det = |m: [[f64; 3]; 3]| {
            m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
                - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
                + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        };
        let whole = det(a);
        std::array::from_fn(|col| {
            let mut replaced = a;
            for (row, value) in replaced.iter_mut().zip(b) {
                row[col] = value;
            }
            det(replaced) / whole
        })
    }

    #[test]
    fn resampling_quality() {
        let minus_3dbfs = 10f64.powf(-3.0 / 20.0);
        for (in_rate, freq) in [(22_050, 997.0), (22_050, 9_000.0), (44_100, 997.0)] {
            let input = tone(in_rate, freq, 10.0, minus_3dbfs);
            let out = convert_all(in_rate, &mono(), 48_000, 1, &input);
            assert_eq!(out.len(), 480_000);
            let (sinad, offset) = fit_tone(&out, 48_000, freq);
            println!(
                "{in_rate} Hz -> 48000 Hz, {freq} Hz at -3 dBFS: SINAD {sinad:.1} dB, \
                 time offset {offset:.4} samples"
            );
            assert!(
                sinad >= 85.0,
                "{in_rate} Hz, {freq} Hz: SINAD {sinad:.1} dB"
            );
        }
    }

    #[test]
    fn sinc_fallback_quality() {
        let minus_3dbfs = 10f64.powf(-3.0 / 20.0);
        for (in_rate, out_rate, freq) in [
            (22_050, 16_000, 997.0),
            (44_056, 48_000, 9_000.0),
            (44_056, 16_000, 997.0),
            (8_000, 44_056, 997.0),
        ] {
            let input = tone(in_rate, freq, 2.0, minus_3dbfs);
            let out = convert_all(in_rate, &mono(), out_rate, 1, &input);
            let (sinad, offset) = fit_tone(&out, out_rate, freq);
            println!(
                "{in_rate} Hz -> {out_rate} Hz (sinc), {freq} Hz at -3 dBFS: SINAD {sinad:.1} dB, \
                 time offset {offset:.4} samples"
            );
            assert!(sinad >= 85.0, "{in_rate}->{out_rate}: SINAD {sinad:.1} dB");
            // Only the fraction of a frame that cannot be dropped or inserted remains.
            assert!(
                offset.abs() <= 0.5,
                "{in_rate}->{out_rate}: offset {offset}"
            );
        }
    }

    #[test]
    fn output_is_time_aligned_with_input() {
        // The filter delay is removed: a tone keeps its phase (offset in output samples).
        for (in_rate, out_rate) in RATE_PAIRS.into_iter().take(6) {
            let freq = 997.0;
            let input = tone(in_rate, freq, 1.0, 0.5);
            let out = convert_all(in_rate, &mono(), out_rate, 1, &input);
            let (_, offset) = fit_tone(&out, out_rate, freq);
            assert!(
                offset.abs() < 0.01,
                "{in_rate}->{out_rate}: offset {offset}"
            );
        }
    }

    #[test]
    fn first_mp3_frame_produces_output() {
        // 44100 → 48000 uses 588-frame blocks: 1152 frames fill one block (640 frames out, minus
        // the 320-frame filter delay) and leave 564 frames waiting for the next block.
        let mut converter = PcmConverter::new(44_100, &stereo(), 48_000, 1).unwrap();
        let mut out = Vec::new();
        converter.process(&[[0.1; 1152], [0.1; 1152]], &mut out);
        assert_eq!(out.len() / 2, 320);
        assert_eq!(converter.frames_buffered(), 564);
        // A 20 ms Opus packet at 48000 → 16000 fills two 480-frame blocks: 2 × 160 frames out,
        // minus the 80-frame (5 ms) filter delay.
        let mut converter = PcmConverter::new(48_000, &mono(), 16_000, 1).unwrap();
        let mut out = Vec::new();
        converter.process(&[[0.1; 960]], &mut out);
        assert_eq!(out.len() / 2, 160 * 2 - 80);
    }

    #[test]
    fn odd_input_never_panics() {
        let layouts = [
            mono(),
            stereo(),
            surround_5_1(),
            Channels::Discrete(3),
            Channels::Discrete(40),
            Channels::Ambisonic(2),
            Channels::Custom(vec![ChannelLabel::Discrete(0), ChannelLabel::Discrete(1)].into()),
            // Two undefined mask bits, which `Position::iter()` reports as one item.
            Channels::Positioned(Position::from_bits_retain(0b11 | 3 << 40)),
        ];
        for layout in &layouts {
            for (in_rate, out_rate) in [(44_100, 48_000), (48_000, 48_000), (22_050, 16_000)] {
                for out_channels in [1, 2, 3, 6, 40] {
                    let mut converter =
                        PcmConverter::new(in_rate, layout, out_rate, out_channels).unwrap();
                    let mut out = Vec::new();
                    let count = layout.count();
                    converter.process(&vec![Vec::<f32>::new(); count], &mut out);
                    // Planes of unequal length: the shortest says how many frames there are.
                    let uneven: Vec<Vec<f32>> =
                        (0..count).map(|c| vec![f32::NAN; 3 + c % 2]).collect();
                    converter.process(&uneven, &mut out);
                    let huge: Vec<[f32; 1]> = (0..count)
                        .map(|c| [if c == 0 { f32::INFINITY } else { f32::MAX }])
                        .collect();
                    converter.process(&huge, &mut out);
                    converter.finish(&mut out);
                    converter.finish(&mut out);
                    assert_eq!(
                        out.len() as u64,
                        converter.frames_out() * 2 * out_channels as u64
                    );
                }
            }
        }
        assert!(PcmConverter::new(0, &mono(), 48_000, 1).is_err());
        assert!(PcmConverter::new(u32::MAX, &mono(), 48_000, 1).is_err());
        assert!(PcmConverter::new(48_000, &Channels::None, 48_000, 1).is_err());
        assert!(PcmConverter::new(48_000, &mono(), 48_000, 0).is_err());
        assert!(PcmConverter::new(48_000, &Channels::Discrete(u16::MAX), 48_000, 2).is_err());
    }
}
