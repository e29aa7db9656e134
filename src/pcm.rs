//! PCM conversion: channel mixing, resampling (rubato) and float to S16LE, in that order
//! (mixing first means fewer channels to resample). Free of GStreamer.
//!
//! Input is interleaved f32 in symphonia's canonical channel order (ascending WAVE channel-mask
//! bits); output is interleaved S16LE in the same kind of order for the output layout.

use rubato::{FftFixedIn, Resampler};
use symphonia::core::audio::{Channels, Position};

/// Input frames per FFT block the resampler aims for. The FFT resampler's anti-aliasing filter
/// is as long as its block, so this trades quality against latency: 512 frames (~12 ms at
/// 44.1 kHz) gives a SINAD above 90 dB for tones up to 0.4 × the input rate.
const TARGET_BLOCK_FRAMES: usize = 512;

const MINUS_3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// Converts decoded audio to S16LE at a target rate and channel count.
pub struct PcmConverter {
    in_rate: u32,
    out_rate: u32,
    in_channels: usize,
    out_channels: usize,
    /// `out_channels × in_channels` gains, row-major; `None` when channels pass through.
    mix: Option<Vec<f32>>,
    resampler: Option<BlockResampler>,
    /// Reused scratch: the mixed (interleaved) frames of the current call.
    mixed: Vec<f32>,
    frames_in: u64,
    frames_out: u64,
}

impl PcmConverter {
    pub fn new(
        in_rate: u32,
        in_channels: &Channels,
        out_rate: u32,
        out_channels: usize,
    ) -> Result<PcmConverter, String> {
        let in_count = in_channels.count();
        if in_count == 0 || out_channels == 0 {
            return Err("zero channels".into());
        }
        if in_rate == 0 || out_rate == 0 {
            return Err("zero sample rate".into());
        }
        let mix = (in_count != out_channels)
            .then(|| mix_matrix(&input_positions(in_channels), out_channels));
        let resampler = if in_rate == out_rate {
            None
        } else {
            Some(BlockResampler::new(in_rate, out_rate, out_channels)?)
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
        })
    }

    pub fn out_rate(&self) -> u32 {
        self.out_rate
    }

    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    pub fn frames_in(&self) -> u64 {
        self.frames_in
    }

    pub fn frames_out(&self) -> u64 {
        self.frames_out
    }

    /// Converts interleaved frames (a trailing partial frame is ignored) and appends S16LE
    /// bytes to `out`.
    pub fn process(&mut self, interleaved: &[f32], out: &mut Vec<u8>) {
        let frames = interleaved.len() / self.in_channels;
        let input = &interleaved[..frames * self.in_channels];
        self.frames_in += frames as u64;
        let mixed: &[f32] = match &self.mix {
            Some(matrix) => {
                mix_into(matrix, self.in_channels, input, &mut self.mixed);
                &self.mixed
            }
            None => input,
        };
        let before = out.len();
        match &mut self.resampler {
            Some(resampler) => resampler.process(mixed, out),
            None => write_s16(mixed, out),
        }
        self.frames_out += ((out.len() - before) / (2 * self.out_channels)) as u64;
    }

    /// Flushes the resampler so the total output is exactly
    /// `round(frames_in × out_rate / in_rate)` frames.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let Some(resampler) = &mut self.resampler else {
            return;
        };
        let expected = (self.frames_in as u128 * self.out_rate as u128 + self.in_rate as u128 / 2)
            / self.in_rate as u128;
        let missing = (expected as u64).saturating_sub(self.frames_out);
        let before = out.len();
        resampler.flush(missing as usize, out);
        self.frames_out += ((out.len() - before) / (2 * self.out_channels)) as u64;
    }
}

/// rubato's FFT resampler fed with fixed blocks, with its delay removed so output lines up with
/// input sample for sample.
struct BlockResampler {
    inner: FftFixedIn<f32>,
    channels: usize,
    /// Planar input waiting for a full block.
    pending: Vec<Vec<f32>>,
    /// Planar output of one block.
    block_out: Vec<Vec<f32>>,
    /// Leading output frames still to drop (the filter delay).
    skip: usize,
}

impl BlockResampler {
    fn new(in_rate: u32, out_rate: u32, channels: usize) -> Result<BlockResampler, String> {
        let gcd = gcd(in_rate as usize, out_rate as usize);
        let step = in_rate as usize / gcd;
        let block = step * TARGET_BLOCK_FRAMES.div_ceil(step);
        let inner = FftFixedIn::<f32>::new(in_rate as usize, out_rate as usize, block, 1, channels)
            .map_err(|e| e.to_string())?;
        let block_out = vec![vec![0.0; inner.output_frames_max()]; channels];
        let skip = inner.output_delay();
        Ok(BlockResampler {
            pending: vec![Vec::with_capacity(inner.input_frames_max()); channels],
            block_out,
            skip,
            channels,
            inner,
        })
    }

    fn process(&mut self, interleaved: &[f32], out: &mut Vec<u8>) {
        let block = self.inner.input_frames_next();
        let mut frames = interleaved.chunks_exact(self.channels);
        loop {
            let room = block - self.pending[0].len();
            let mut taken = 0;
            for frame in frames.by_ref().take(room) {
                for (plane, sample) in self.pending.iter_mut().zip(frame) {
                    plane.push(*sample);
                }
                taken += 1;
            }
            if taken < room {
                return;
            }
            self.run_block(usize::MAX, out);
        }
    }

    /// Pads with silence until `missing` more frames have come out, then stops.
    fn flush(&mut self, mut missing: usize, out: &mut Vec<u8>) {
        let block = self.inner.input_frames_next();
        while missing > 0 {
            for plane in &mut self.pending {
                plane.resize(block, 0.0);
            }
            missing -= self.run_block(missing, out);
        }
    }

    /// Resamples the pending block and writes at most `limit` frames; returns how many.
    fn run_block(&mut self, limit: usize, out: &mut Vec<u8>) -> usize {
        let (_, produced) = self
            .inner
            .process_into_buffer(&self.pending, &mut self.block_out, None)
            .expect("block and buffers are sized by the resampler itself");
        for plane in &mut self.pending {
            plane.clear();
        }
        let dropped = self.skip.min(produced);
        self.skip -= dropped;
        let count = (produced - dropped).min(limit);
        out.reserve(count * self.channels * 2);
        for i in dropped..dropped + count {
            for plane in &self.block_out {
                out.extend_from_slice(&to_s16(plane[i]).to_le_bytes());
            }
        }
        count
    }
}

/// Float to S16: round to nearest and clamp. Exact for samples that came from 16 bits.
fn to_s16(sample: f32) -> i16 {
    (sample * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

fn write_s16(samples: &[f32], out: &mut Vec<u8>) {
    out.reserve(samples.len() * 2);
    for sample in samples {
        out.extend_from_slice(&to_s16(*sample).to_le_bytes());
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// One position per input channel, in order. Unpositioned (discrete) channels get the first
/// standard positions, which is how WAV and most decoders treat them.
fn input_positions(channels: &Channels) -> Vec<Position> {
    let mask = match channels {
        Channels::Positioned(positions) => *positions,
        other => Position::from_count(other.count() as u32).unwrap_or(Position::empty()),
    };
    let mut positions: Vec<Position> = mask.iter().collect();
    // More channels than known positions: the rest stay unpositioned.
    positions.resize(channels.count(), Position::empty());
    positions
}

/// Gains from each input channel to the left and right of a stereo downmix (ITU-R BS.775 style:
/// centre and surrounds at -3 dB, LFE dropped).
fn stereo_gains(position: Position) -> (f32, f32) {
    let left = Position::FRONT_LEFT | Position::FRONT_LEFT_CENTER;
    let right = Position::FRONT_RIGHT | Position::FRONT_RIGHT_CENTER;
    let left_surround = Position::REAR_LEFT | Position::SIDE_LEFT;
    let right_surround = Position::REAR_RIGHT | Position::SIDE_RIGHT;
    let centre = Position::FRONT_CENTER | Position::REAR_CENTER;
    if left.contains(position) && !position.is_empty() {
        (1.0, 0.0)
    } else if right.contains(position) && !position.is_empty() {
        (0.0, 1.0)
    } else if left_surround.contains(position) && !position.is_empty() {
        (MINUS_3DB, 0.0)
    } else if right_surround.contains(position) && !position.is_empty() {
        (0.0, MINUS_3DB)
    } else if centre.contains(position) && !position.is_empty() {
        (MINUS_3DB, MINUS_3DB)
    } else if position == Position::LFE1 {
        (0.0, 0.0)
    } else {
        // Height and unpositioned channels: spread evenly.
        (0.5, 0.5)
    }
}

/// The `out × in` gain matrix for a channel-count change.
fn mix_matrix(inputs: &[Position], out_channels: usize) -> Vec<f32> {
    let in_count = inputs.len();
    let mut matrix = vec![0.0f32; out_channels * in_count];
    match (in_count, out_channels) {
        // Mono to anything: the same signal on the front pair (front centre alone for
        // surround layouts, as a mono source is meant to come from the centre).
        (1, 2) => matrix.fill(1.0),
        (1, n) => {
            let outputs: Vec<Position> = Position::from_count(n as u32)
                .map(|p| p.iter().collect())
                .unwrap_or_default();
            match outputs.iter().position(|p| *p == Position::FRONT_CENTER) {
                Some(centre) => matrix[centre] = 1.0,
                None => matrix[..n.min(2)].fill(1.0),
            }
        }
        // Down to stereo or mono: stereo downmix, normalised so a full-scale signal on every
        // input cannot clip, then averaged for mono.
        (_, 1) | (_, 2) => {
            let gains: Vec<(f32, f32)> = inputs.iter().map(|p| stereo_gains(*p)).collect();
            let sum_left: f32 = gains.iter().map(|g| g.0).sum();
            let sum_right: f32 = gains.iter().map(|g| g.1).sum();
            let norm = 1.0 / sum_left.max(sum_right).max(1.0);
            for (i, (l, r)) in gains.iter().enumerate() {
                if out_channels == 1 {
                    matrix[i] = (l + r) * norm / 2.0;
                } else {
                    matrix[i] = l * norm;
                    matrix[in_count + i] = r * norm;
                }
            }
        }
        // Other counts: channels at the same position are copied, the rest stay silent.
        (_, n) => {
            let outputs: Vec<Position> = Position::from_count(n as u32)
                .map(|p| p.iter().collect())
                .unwrap_or_default();
            for (o, out_pos) in outputs.iter().enumerate() {
                if let Some(i) = inputs.iter().position(|p| p == out_pos) {
                    matrix[o * in_count + i] = 1.0;
                }
            }
        }
    }
    matrix
}

fn mix_into(matrix: &[f32], in_channels: usize, input: &[f32], mixed: &mut Vec<f32>) {
    let out_channels = matrix.len() / in_channels;
    mixed.clear();
    mixed.reserve(input.len() / in_channels * out_channels);
    for frame in input.chunks_exact(in_channels) {
        for row in matrix.chunks_exact(in_channels) {
            mixed.push(row.iter().zip(frame).map(|(g, s)| g * s).sum());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stereo() -> Channels {
        Channels::Positioned(Position::FRONT_LEFT | Position::FRONT_RIGHT)
    }

    fn mono() -> Channels {
        Channels::Positioned(Position::FRONT_CENTER)
    }

    fn s16_samples(bytes: &[u8]) -> Vec<i16> {
        bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    fn convert(converter: &mut PcmConverter, input: &[f32], chunk: usize) -> Vec<i16> {
        let mut out = Vec::new();
        let step = chunk * converter.in_channels;
        for part in input.chunks(step.max(1)) {
            converter.process(part, &mut out);
        }
        converter.finish(&mut out);
        s16_samples(&out)
    }

    #[test]
    fn same_format_is_bit_exact() {
        let original: Vec<i16> = (0..4000).map(|i| (i * 97 % 65536 - 32768) as i16).collect();
        let floats: Vec<f32> = original.iter().map(|s| *s as f32 / 32768.0).collect();
        let mut converter = PcmConverter::new(44_100, &stereo(), 44_100, 2).unwrap();
        assert_eq!(convert(&mut converter, &floats, 333), original);
    }

    #[test]
    fn float_to_s16_rounds_and_clamps() {
        assert_eq!(to_s16(2.0), 32767);
        assert_eq!(to_s16(-2.0), -32768);
        assert_eq!(to_s16(0.5 / 32768.0), 1);
        assert_eq!(to_s16(0.49 / 32768.0), 0);
        assert_eq!(to_s16(-1.5 / 32768.0), -2);
    }

    #[test]
    fn channel_mixing() {
        let mut down = PcmConverter::new(8_000, &stereo(), 8_000, 1).unwrap();
        assert_eq!(
            convert(&mut down, &[0.5, 0.25, -0.5, 0.0], 1),
            [12288, -8192]
        );

        let mut up = PcmConverter::new(8_000, &mono(), 8_000, 2).unwrap();
        assert_eq!(
            convert(&mut up, &[0.25, -0.5], 1),
            [8192, 8192, -16384, -16384]
        );

        // 5.1 with only the centre active: -3 dB on both sides, normalised by 1 + 2 × 0.707.
        let surround = Channels::Positioned(Position::from_count(6).unwrap());
        let mut down = PcmConverter::new(8_000, &surround, 8_000, 2).unwrap();
        let out = convert(&mut down, &[0.0, 0.0, 0.5, 0.9, 0.0, 0.0], 1);
        let expected = to_s16(0.5 * MINUS_3DB / (1.0 + 2.0 * MINUS_3DB));
        assert_eq!(out, [expected, expected]);
        // LFE is dropped; the left surround goes left only.
        let mut down = PcmConverter::new(8_000, &surround, 8_000, 2).unwrap();
        let out = convert(&mut down, &[0.0, 0.0, 0.0, 0.9, 0.5, 0.0], 1);
        assert_eq!(out, [to_s16(0.5 * MINUS_3DB / (1.0 + 2.0 * MINUS_3DB)), 0]);
    }

    fn tone(rate: u32, freq: f64, seconds: f64, amplitude: f64) -> Vec<f32> {
        let count = (rate as f64 * seconds) as usize;
        (0..count)
            .map(|i| {
                let v =
                    amplitude * (2.0 * std::f64::consts::PI * freq * i as f64 / rate as f64).sin();
                // Quantised to 16 bits, as a 16-bit WAV would carry it.
                ((v * 32768.0).round() / 32768.0) as f32
            })
            .collect()
    }

    #[test]
    fn output_length_is_exact_and_chunking_invariant() {
        let pairs = [
            (22_050, 48_000),
            (44_100, 48_000),
            (48_000, 16_000),
            (8_000, 48_000),
            (24_000, 48_000),
            (16_000, 44_100),
        ];
        for (in_rate, out_rate) in pairs {
            let input = tone(in_rate, 440.0, 0.37, 0.5);
            let expected =
                (input.len() as u64 * out_rate as u64 + in_rate as u64 / 2) / in_rate as u64;
            let mut reference = None;
            for chunk in [1, 7, 1152, 100_000] {
                let mut converter = PcmConverter::new(in_rate, &mono(), out_rate, 1).unwrap();
                let out = convert(&mut converter, &input, chunk);
                assert_eq!(
                    out.len() as u64,
                    expected,
                    "{in_rate}->{out_rate} chunk {chunk}"
                );
                assert_eq!(converter.frames_out(), expected);
                match &reference {
                    None => reference = Some(out),
                    Some(r) => assert_eq!(r, &out, "{in_rate}->{out_rate} chunk {chunk}"),
                }
            }
        }
    }

    /// Signal to noise-and-distortion ratio of a tone at a known frequency: fit
    /// a·sin + b·cos + c by least squares over the middle half; the residual is the noise.
    fn sinad_db(samples: &[i16], rate: u32, freq: f64) -> f64 {
        let start = samples.len() / 4;
        let end = samples.len() * 3 / 4;
        let w = 2.0 * std::f64::consts::PI * freq / rate as f64;
        let rows: Vec<[f64; 3]> = (start..end)
            .map(|n| [(w * n as f64).sin(), (w * n as f64).cos(), 1.0])
            .collect();
        let ys: Vec<f64> = samples[start..end].iter().map(|s| *s as f64).collect();
        let mut ata = [[0.0f64; 3]; 3];
        let mut aty = [0.0f64; 3];
        for (row, y) in rows.iter().zip(&ys) {
            for i in 0..3 {
                aty[i] += row[i] * y;
                for j in 0..3 {
                    ata[i][j] += row[i] * row[j];
                }
            }
        }
        let coef = solve3(ata, aty);
        let (mut signal, mut noise) = (0.0, 0.0);
        for (row, y) in rows.iter().zip(&ys) {
            let fit = coef[0] * row[0] + coef[1] * row[1];
            signal += fit * fit;
            let residual = y - fit - coef[2];
            noise += residual * residual;
        }
        10.0 * (signal / noise).log10()
    }

    fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> [f64; 3] {
        for col in 0..3 {
            let pivot = (col..3)
                .max_by(|x, y| a[*x][col].abs().total_cmp(&a[*y][col].abs()))
                .unwrap();
            a.swap(col, pivot);
            b.swap(col, pivot);
            for row in col + 1..3 {
                let f = a[row][col] / a[col][col];
                for k in col..3 {
                    a[row][k] -= f * a[col][k];
                }
                b[row] -= f * b[col];
            }
        }
        let mut x = [0.0; 3];
        for row in (0..3).rev() {
            let rest: f64 = (row + 1..3).map(|k| a[row][k] * x[k]).sum();
            x[row] = (b[row] - rest) / a[row][row];
        }
        x
    }

    #[test]
    fn resampling_quality() {
        let amplitude = 10f64.powf(-3.0 / 20.0);
        for (in_rate, freq) in [(22_050, 997.0), (22_050, 9_000.0), (44_100, 997.0)] {
            let input = tone(in_rate, freq, 10.0, amplitude);
            let mut converter = PcmConverter::new(in_rate, &mono(), 48_000, 1).unwrap();
            let out = convert(&mut converter, &input, 4096);
            assert_eq!(out.len(), 480_000);
            let sinad = sinad_db(&out, 48_000, freq);
            println!("{in_rate} Hz -> 48000 Hz, {freq} Hz tone: SINAD {sinad:.1} dB");
            assert!(sinad >= 85.0, "{in_rate} {freq}: SINAD {sinad:.1} dB");
        }
    }

    #[test]
    fn output_is_time_aligned_with_input() {
        // A tone resampled must keep its phase: compare with the same tone made at 48 kHz.
        let input = tone(44_100, 997.0, 1.0, 0.5);
        let mut converter = PcmConverter::new(44_100, &mono(), 48_000, 1).unwrap();
        let out = convert(&mut converter, &input, 1152);
        let ideal = tone(48_000, 997.0, 1.0, 0.5);
        let worst = out[12_000..36_000]
            .iter()
            .zip(&ideal[12_000..36_000])
            .map(|(a, b)| (*a as f32 / 32768.0 - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-3, "max deviation {worst}");
    }

    #[test]
    fn first_frame_produces_output() {
        let mut converter = PcmConverter::new(44_100, &stereo(), 48_000, 1).unwrap();
        let mut out = Vec::new();
        converter.process(&vec![0.1; 1152 * 2], &mut out);
        // One 588-frame block in, minus the filter delay, comes out at once.
        assert!(out.len() / 2 >= 300, "only {} frames", out.len() / 2);
    }
}
