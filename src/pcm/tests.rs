use super::mix::MINUS_3DB;
use super::resample::fft_block_frames;
use super::*;
use std::f64::consts::PI;
use symphonia::core::audio::{ChannelLabel, Position};

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
fn the_vector_s16_writer_is_the_scalar_one_to_the_bit() {
    let mut samples: Vec<f32> = (-70_000..=70_000)
        .flat_map(|i| [-0.5f32, -0.49, 0.0, 0.49, 0.5].map(|o| (i as f32 + o) / 32768.0))
        .collect();
    samples.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 1e-30]);
    let mut vector = vec![0u8; 2 * samples.len()];
    write_s16_mono(&mut vector, &samples);
    let scalar: Vec<u8> = samples
        .iter()
        .flat_map(|s| to_s16(*s).to_le_bytes())
        .collect();
    assert_eq!(vector, scalar);
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

/// Channels mixed at the same rate go a chunk at a time: a long packet gives what short
/// pieces of it give, frame for frame.
#[test]
fn mixing_a_long_packet_matches_mixing_its_pieces() {
    let input: Vec<f32> = (0..6 * 5000)
        .map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    for (channels, count, out_channels) in [(stereo(), 2, 1), (surround_5_1(), 6, 2)] {
        let input = &input[..count * 5000];
        let whole = convert_all(48_000, &channels, 48_000, out_channels, input);
        assert_eq!(whole.len(), 5000 * out_channels);
        for chunking in [
            Chunking::Fixed(1),
            Chunking::Fixed(255),
            Chunking::Random(9),
        ] {
            let mut converter = PcmConverter::new(48_000, &channels, 48_000, out_channels).unwrap();
            assert_eq!(samples(&convert(&mut converter, input, chunking)), whole);
        }
    }
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
        let expected = (frames * u64::from(out_rate) + u64::from(in_rate) / 2) / u64::from(in_rate);
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
    // 22.05 and 44.1 kHz go through the FFT resampler, the whole factors through the
    // polyphase filter (up to 0.4 of their rate, where its passband ends).
    for (in_rate, freq) in [
        (22_050, 997.0),
        (22_050, 9_000.0),
        (44_100, 997.0),
        (44_100, 9_000.0),
        (44_100, 17_640.0),
        (32_000, 997.0),
        (32_000, 12_800.0),
        (11_025, 997.0),
        (11_025, 4_410.0),
        (24_000, 997.0),
        (24_000, 9_600.0),
        (16_000, 997.0),
        (16_000, 6_400.0),
        (8_000, 997.0),
        (8_000, 3_200.0),
    ] {
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
    // the 320-frame filter delay) and leave 564 frames waiting for the next block: of the 1254
    // frames 1152 give at 48 kHz, 934 are still owed.
    let mut converter = PcmConverter::new(44_100, &stereo(), 48_000, 1).unwrap();
    let mut out = Vec::new();
    converter.process(&[[0.1; 1152], [0.1; 1152]], &mut out);
    assert_eq!(out.len() / 2, 320);
    assert_eq!(converter.frames_owed(), 1254 - 320);
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
                let uneven: Vec<Vec<f32>> = (0..count).map(|c| vec![f32::NAN; 3 + c % 2]).collect();
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

/// The resamplers' passband reaches close to the lower Nyquist frequency (shorter FFT blocks
/// would lower it: 5 ms blocks took 18 dB off a 7 kHz tone going to 16 kHz), and what lies above
/// the output's Nyquist frequency does not fold back into it.
#[test]
fn passband_and_stopband() {
    let amplitude = 0.7;
    let level = |out: &[i16]| {
        let mid = &out[out.len() / 4..3 * out.len() / 4];
        let power = mid
            .iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum::<f64>();
        let rms = (power / mid.len() as f64).sqrt() / 32768.0;
        20.0 * rms.max(1e-12).log10()
    };
    let tone_level = 20.0 * (amplitude / 2f64.sqrt()).log10();
    let level_out = |in_rate: u32, out_rate: u32, freq: f64| {
        let input = tone(in_rate, freq, 2.0, amplitude);
        let got = level(&convert_all(in_rate, &mono(), out_rate, 1, &input));
        println!("{in_rate} -> {out_rate}, {freq} Hz: {got:.1} dBFS (in: {tone_level:.1})");
        got
    };
    for (in_rate, out_rate, freq) in [
        (48_000, 16_000, 7_000.0),
        (44_100, 48_000, 21_000.0),
        (22_050, 48_000, 9_600.0),
        (24_000, 48_000, 9_600.0),
    ] {
        let got = level_out(in_rate, out_rate, freq);
        assert!(
            (got - tone_level).abs() < 1.0,
            "{in_rate} -> {out_rate}, {freq} Hz: {got:.1} dBFS"
        );
    }
    for (in_rate, out_rate, freq) in [(48_000, 16_000, 8_800.0), (44_100, 16_000, 12_000.0)] {
        let got = level_out(in_rate, out_rate, freq);
        assert!(
            got < -90.0,
            "{in_rate} -> {out_rate}, {freq} Hz folds back at {got:.1} dBFS"
        );
    }
}
