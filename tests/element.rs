//! Behaviour of the element around the data path: lockstep latency, bad input, sequences,
//! flushing, state changes, timestamps and properties (DESIGN.md contracts 2, 4, 6, 7, 8).

mod common;

use common::*;
use gst::glib;
use gst::prelude::*;

/// A harness around a fresh element with a bus, pushing bytes by hand.
struct Run {
    h: gst_check::Harness,
    bus: gst::Bus,
}

impl Run {
    fn new(props: &[(&str, glib::SendValue)]) -> Run {
        init();
        let element = gst::ElementFactory::make("rsstreamdecoder")
            .build()
            .unwrap();
        for (name, value) in props {
            element.set_property_from_value(name, value);
        }
        let bus = gst::Bus::new();
        element.set_bus(Some(&bus));
        let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
        h.play();
        assert!(h.push_event(gst::event::StreamStart::new("test")));
        let segment = gst::FormattedSegment::<gst::format::Bytes>::new();
        assert!(h.push_event(gst::event::Segment::new(&segment)));
        Run { h, bus }
    }

    fn push(&mut self, bytes: &[u8]) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.h.push(gst::Buffer::from_slice(bytes.to_vec()))
    }

    /// Every buffer available right now, without waiting.
    fn pull_ready(&mut self) -> Vec<gst::Buffer> {
        std::iter::from_fn(|| self.h.try_pull()).collect()
    }

    fn errors(&self) -> Vec<String> {
        self.messages(gst::MessageType::Error)
    }

    fn messages(&self, kind: gst::MessageType) -> Vec<String> {
        std::iter::from_fn(|| self.bus.pop_filtered(&[kind]))
            .map(|msg| match msg.view() {
                gst::MessageView::Error(e) => e.error().to_string(),
                gst::MessageView::Warning(w) => w.error().to_string(),
                _ => unreachable!(),
            })
            .collect()
    }

    fn eos(&mut self) -> Vec<gst::Buffer> {
        assert!(self.h.push_event(gst::event::Eos::new()));
        self.pull_ready()
    }
}

/// Byte offsets where the MPEG audio frames of a CBR MPEG-1 layer III file start.
fn mp3_frame_starts(bytes: &[u8]) -> Vec<usize> {
    const BITRATES: [usize; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const RATES: [usize; 3] = [44_100, 48_000, 32_000];
    let mut starts = Vec::new();
    let mut pos = 0;
    if bytes.starts_with(b"ID3") {
        let size = bytes[6..10]
            .iter()
            .fold(0, |acc, b| (acc << 7) | *b as usize);
        pos = 10 + size;
    }
    while pos + 4 <= bytes.len() {
        let h = &bytes[pos..pos + 4];
        assert!(
            h[0] == 0xff && h[1] & 0xfe == 0xfa,
            "MPEG-1 layer III at {pos}"
        );
        let bitrate = BITRATES[(h[2] >> 4) as usize] * 1000;
        let rate = RATES[((h[2] >> 2) & 3) as usize];
        let padding = ((h[2] >> 1) & 1) as usize;
        starts.push(pos);
        pos += 144 * bitrate / rate + padding;
    }
    starts
}

#[test]
fn lockstep_first_frames_come_out_before_more_input() {
    let mp3 = std::fs::read(fixture("mp3_cbr.mp3")).unwrap();
    let starts = mp3_frame_starts(&mp3);
    // Stream rate: frame 0 is the Xing/LAME frame, frame 1 the first audio. The reader accepts a
    // frame once the next frame's header is there, so push up to 4 bytes into frame 2.
    for (props, frames_needed) in [(keep_props(), 2), (vec![], 3)] {
        let mut run = Run::new(&props);
        let mut first_output_at = None;
        for (i, start) in starts.iter().enumerate().skip(1) {
            run.push(&mp3[starts[i - 1]..*start]).unwrap();
            if !run.pull_ready().is_empty() {
                first_output_at = Some(i);
                break;
            }
        }
        let first = first_output_at.expect("output before the end");
        println!("first PCM after {first} MPEG frames ({props:?})");
        // With resampling, one more frame fills the resampler's first block.
        assert!(
            first <= frames_needed,
            "first PCM only after {first} frames"
        );
        assert!(run.errors().is_empty());
    }
}

/// A whole answer pushed as one buffer (as a TTS client often does) comes out in buffers of about
/// 100 ms, each pushed as soon as it is decoded, not as one buffer after the whole decode.
#[test]
fn a_whole_file_in_one_buffer_comes_out_in_short_buffers() {
    let mp3 = std::fs::read(fixture("mp3_cbr.mp3")).unwrap();
    let mut run = Run::new(&[]);
    // Each output buffer is pushed from inside the chain function: count those pushed while the
    // one input buffer was still being decoded.
    let input_done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pushed_during_input = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    {
        let (input_done, pushed_during_input) = (input_done.clone(), pushed_during_input.clone());
        run.h
            .element()
            .unwrap()
            .static_pad("src")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                if !input_done.load(std::sync::atomic::Ordering::SeqCst) {
                    pushed_during_input.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                gst::PadProbeReturn::Ok
            });
    }
    run.push(&mp3).unwrap();
    input_done.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut buffers = run.pull_ready();
    buffers.extend(run.eos());
    let durations_ms: Vec<u64> = buffers
        .iter()
        .map(|b| b.duration().unwrap().mseconds())
        .collect();
    println!("{} buffers: {durations_ms:?}", buffers.len());
    assert!(
        durations_ms.iter().all(|&ms| ms <= 130),
        "over 100 ms and a packet: {durations_ms:?}"
    );
    assert!(pushed_during_input.load(std::sync::atomic::Ordering::SeqCst) >= 20);
    let total: u64 = buffers.iter().map(|b| b.size() as u64 / 2).sum();
    let whole = decode_fixture("mp3_cbr.mp3", &[], Chunking::Whole);
    assert_eq!(total, whole.frames());
    assert!(run.errors().is_empty());
}

#[test]
fn not_audio_is_an_error_within_64_kib() {
    let mut rng = SplitMix64(7);
    let random: Vec<u8> = (0..200_000).map(|_| rng.next_u64() as u8).collect();
    let html = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>\
        <body><h1>Bad Gateway</h1><p>The upstream server is unavailable.</p></body></html>\n"
        .repeat(2000);
    let json = b"{\"error\":{\"code\":429,\"message\":\"rate limit exceeded\",\"retry\":true}}\n"
        .repeat(3000);
    for (name, bytes) in [("random", random), ("html", html), ("json", json)] {
        let mut run = Run::new(&[]);
        let mut pushed = 0;
        let mut flow = Ok(gst::FlowSuccess::Ok);
        for chunk in bytes.chunks(1024) {
            pushed += chunk.len();
            flow = run.push(chunk);
            if flow.is_err() {
                break;
            }
        }
        let errors = run.errors();
        println!("{name}: error after {pushed} bytes: {errors:?}");
        assert_eq!(flow, Err(gst::FlowError::Error), "{name}");
        assert!(
            pushed <= 64 * 1024,
            "{name}: error only after {pushed} bytes"
        );
        assert_eq!(errors.len(), 1, "{name}: {errors:?}");
        assert!(
            errors[0].contains("no supported audio format found"),
            "{name}: {errors:?}"
        );
        assert!(run.pull_ready().is_empty());
    }
}

#[test]
fn empty_stream_is_eos_without_error() {
    let mut run = Run::new(&[]);
    assert!(run.eos().is_empty());
    assert!(run.errors().is_empty());
    let mut saw_eos = false;
    while let Some(event) = run.h.try_pull_event() {
        saw_eos |= event.type_() == gst::EventType::Eos;
    }
    assert!(saw_eos);
}

/// Where in a file the noise goes.
type NoiseAt = fn(&[u8]) -> usize;

/// Decodes a fixture as it is and with 3000 noisy bytes from `noise_at(bytes)`, and checks what
/// every damaged stream must give: no ERROR, at least one WARNING, EOS. Returns both decodes.
fn decode_with_noise(name: &str, noise_at: NoiseAt) -> (Decoded, Decoded) {
    let mut bytes = std::fs::read(fixture(name)).unwrap();
    let clean = decode_with_element(&bytes, &keep_props(), Chunking::Fixed(4096));
    let from = noise_at(&bytes);
    let mut rng = SplitMix64(3);
    for byte in &mut bytes[from..from + 3000] {
        *byte = rng.next_u64() as u8;
    }
    let damaged = decode_with_element(&bytes, &keep_props(), Chunking::Fixed(4096));
    println!(
        "{name}: clean {} frames, damaged {} frames, warnings {:?}",
        clean.frames(),
        damaged.frames(),
        damaged.warnings
    );
    assert!(damaged.errors.is_empty(), "{name}: {:?}", damaged.errors);
    assert!(
        !damaged.warnings.is_empty(),
        "{name}: the damage must be reported"
    );
    assert!(damaged.eos_out, "{name}");
    (clean, damaged)
}

fn middle(bytes: &[u8]) -> usize {
    bytes.len() / 2
}

#[test]
fn corrupt_region_is_skipped_with_warnings() {
    let (clean, damaged) = decode_with_noise("flac.flac", middle);
    // Only the damaged frames are lost: 3000 bytes of a ~1 MiB/s FLAC stream are well under
    // 0.1 s, plus up to two frames (4608 samples) on each side.
    let lost = clean.frames() - damaged.frames();
    assert!(lost < 4410 + 2 * 4608, "lost {lost} frames");
    // Audio before the damage is intact.
    let flac_len = std::fs::read(fixture("flac.flac")).unwrap().len();
    let intact = (flac_len / 2 / 4).min(damaged.samples.len()) / 2;
    assert_eq!(clean.samples[..intact], damaged.samples[..intact]);
}

#[test]
fn truncated_stream_gives_every_complete_frame() {
    let wav = std::fs::read(fixture("s16.wav")).unwrap();
    let cut = 44 + 4 * 10_000 + 3; // 10000 stereo frames and a partial one
    let decoded = decode_with_element(&wav[..cut], &keep_props(), Chunking::Fixed(1000));
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert!(decoded.eos_out);
    assert_eq!(decoded.frames(), 10_000);
    let full = decode_with_element(&wav, &keep_props(), Chunking::Whole);
    assert_eq!(decoded.samples[..], full.samples[..20_000]);

    let mp3 = std::fs::read(fixture("mp3_cbr.mp3")).unwrap();
    let full = decode_with_element(&mp3, &keep_props(), Chunking::Whole);
    let starts = mp3_frame_starts(&mp3);
    // Cut in the middle of frame 60: frames 1..=58 decode (frame 59 is not known complete).
    let cut = starts[60] + 100;
    let decoded = decode_with_element(&mp3[..cut], &keep_props(), Chunking::Fixed(1000));
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert!(decoded.eos_out);
    println!(
        "truncated MP3: {} of {} frames",
        decoded.frames(),
        full.frames()
    );
    assert!(decoded.frames() >= 58 * 1152 - 1105, "{}", decoded.frames());
    let n = decoded.samples.len();
    assert_eq!(decoded.samples[..n - 2304], full.samples[..n - 2304]);
}

fn concat(files: &[&str]) -> Vec<u8> {
    files
        .iter()
        .flat_map(|f| std::fs::read(fixture(f)).unwrap())
        .collect()
}

#[test]
fn back_to_back_wav_files_decode_fully() {
    let one = decode_fixture("s16.wav", &keep_props(), Chunking::Whole);
    let two = decode_with_element(
        &concat(&["s16.wav", "s16.wav"]),
        &keep_props(),
        Chunking::Fixed(3000),
    );
    assert!(two.errors.is_empty(), "{:?}", two.errors);
    assert_eq!(two.caps.len(), 1);
    assert_eq!(two.frames(), 2 * one.frames());
    assert_eq!(two.samples[..one.samples.len()], one.samples[..]);
    assert_eq!(two.samples[one.samples.len()..], one.samples[..]);
}

/// A TTS service that sends each chunk of its answer as a WAV of its own, with the lengths in the
/// headers unknown (0xFFFFFFFF or 0, as streaming writers put them): every chunk's samples come
/// out, and no header plays as samples, however the bytes are split.
#[test]
fn wav_chunks_of_unknown_length_each_with_a_header() {
    let streaming = std::fs::read(fixture("s16_streaming.wav")).unwrap();
    let (data_pos, _, _) = *wav_chunks(&streaming)
        .iter()
        .find(|(_, id, _)| id == b"data")
        .unwrap();
    let header = &streaming[..data_pos + 8];
    let samples = &streaming[data_pos + 8..];
    // Three chunks of uneven length (whole frames), the last with lengths 0 instead of ~0.
    let cuts = [0, 4 * 10_001, 4 * 50_000, samples.len() / 4 * 4];
    let mut stream = Vec::new();
    for (i, part) in cuts.windows(2).enumerate() {
        let mut chunk_header = header.to_vec();
        if i == 2 {
            chunk_header[4..8].fill(0);
            chunk_header[data_pos + 4..data_pos + 8].fill(0);
        }
        stream.extend_from_slice(&chunk_header);
        stream.extend_from_slice(&samples[part[0]..part[1]]);
    }
    let expected = s16le(&samples[..cuts[3]]);
    for chunking in [
        Chunking::Whole,
        Chunking::Fixed(333),
        Chunking::Random { seed: 7, max: 64 },
    ] {
        let decoded = decode_with_element(&stream, &keep_props(), chunking);
        assert!(
            decoded.errors.is_empty(),
            "{chunking:?}: {:?}",
            decoded.errors
        );
        assert_eq!(decoded.samples.len(), expected.len(), "{chunking:?}");
        assert!(decoded.samples == expected, "{chunking:?}: samples differ");
    }
}

#[test]
fn back_to_back_mp3_files_decode_fully() {
    let one = decode_fixture("mp3_cbr.mp3", &keep_props(), Chunking::Whole);
    let two = decode_with_element(
        &concat(&["mp3_cbr.mp3", "mp3_vbr.mp3"]),
        &keep_props(),
        Chunking::Fixed(4096),
    );
    println!(
        "one file {} frames, two files {}",
        one.frames(),
        two.frames()
    );
    assert!(two.errors.is_empty(), "{:?}", two.errors);
    assert_eq!(two.frames(), 2 * SOURCE_FRAMES);
}

/// Two ADTS files, two MP3 streams without Xing headers, and FLAC frames that change format
/// without a new header (`flac_split`), back to back at different rates and channel counts: both
/// decode completely, each with its own caps in keep mode.
#[test]
fn sequences_across_rates_decode_fully() {
    for (first, second) in [
        ("aac_adts.aac", "aac_22k_mono.aac"),
        ("mp3_cbr.mp3", "mp3_22k_mono.mp3"),
        ("flac.flac", "flac_22k_mono_frames.flac"),
        ("flac.flac", "flac_22k_mono.flac"),
    ] {
        let alone: Vec<Decoded> = [first, second]
            .iter()
            .map(|name| {
                let bytes = std::fs::read(fixture(name)).unwrap();
                decode_with_element(&bytes, &keep_props(), Chunking::Whole)
            })
            .collect();
        let both = decode_with_element(
            &concat(&[first, second]),
            &keep_props(),
            Chunking::Fixed(4096),
        );
        println!(
            "{first} + {second}: {} + {} frames alone, {} samples together; warnings {:?}",
            alone[0].frames(),
            alone[1].frames(),
            both.samples.len(),
            both.warnings
        );
        assert!(both.errors.is_empty(), "{:?}", both.errors);
        let rates: Vec<(i32, i32)> = both
            .caps
            .iter()
            .map(|c| {
                let s = c.structure(0).unwrap();
                (s.get("rate").unwrap(), s.get("channels").unwrap())
            })
            .collect();
        assert_eq!(rates, [(44_100, 2), (22_050, 1)], "{first} + {second}");
        let expected: Vec<i16> = [&alone[0].samples[..], &alone[1].samples[..]].concat();
        assert_eq!(
            both.samples.len(),
            expected.len(),
            "{first} + {second}: length"
        );
        assert!(
            both.samples == expected,
            "{first} + {second}: samples differ"
        );
    }
}

/// FLAC files back to back in the same format: the second `fLaC` header starts a new stream.
/// Before, the reader skipped it as damage and stopped at the first header's length: the second
/// file was lost. Each file's MD5 is checked: no warning.
#[test]
fn concatenated_flac_files_decode_whole() {
    let alone = decode_with_element(
        &std::fs::read(fixture("flac.flac")).unwrap(),
        &verifying_keep_props(),
        Chunking::Whole,
    );
    for chunking in [Chunking::Fixed(4096), Chunking::Fixed(1000)] {
        let both = decode_with_element(
            &concat(&["flac.flac", "flac.flac"]),
            &verifying_keep_props(),
            chunking,
        );
        assert!(both.errors.is_empty(), "{:?}", both.errors);
        assert!(both.warnings.is_empty(), "{:?}", both.warnings);
        assert_eq!(both.samples.len(), 2 * alone.samples.len());
        assert!(both.samples == alone.samples.repeat(2), "samples differ");
    }
}

/// An M4A whose index comes last, pushed in small pieces: nothing can come out before the
/// index, then everything does, and a file after it in the same stream decodes too.
#[test]
fn mp4_with_the_index_last_is_held_until_the_index_arrives() {
    let m4a = std::fs::read(fixture("aac_moov_end.m4a")).unwrap();
    let faststart = std::fs::read(fixture("aac.m4a")).unwrap();
    let expected = decode_with_element(&faststart, &keep_props(), Chunking::Whole);
    let held = decode_with_element(&m4a, &keep_props(), Chunking::Fixed(1000));
    assert!(held.errors.is_empty(), "{:?}", held.errors);
    assert_eq!(
        held.samples, expected.samples,
        "same audio as the faststart file"
    );

    // Followed by an MP3: the live stream goes on after the held file.
    let mp3 = decode_fixture("mp3_cbr.mp3", &keep_props(), Chunking::Whole);
    let both = decode_with_element(
        &concat(&["aac_moov_end.m4a", "mp3_cbr.mp3"]),
        &keep_props(),
        Chunking::Fixed(4096),
    );
    assert!(both.errors.is_empty(), "{:?}", both.errors);
    assert_eq!(
        both.samples,
        [&expected.samples[..], &mp3.samples[..]].concat()
    );
}

#[test]
fn mp4_index_past_the_buffer_limit_or_missing_is_a_clear_error() {
    let m4a = std::fs::read(fixture("aac_moov_end.m4a")).unwrap();
    let mut props = keep_props();
    props.push(("mp4-buffer-limit", 20_000u64.to_send_value()));
    let limited = decode_with_element(&m4a, &props, Chunking::Fixed(4096));
    assert_eq!(limited.errors.len(), 1, "{:?}", limited.errors);
    assert!(
        limited.errors[0].contains("mp4-buffer-limit") && limited.errors[0].contains("faststart"),
        "{:?}",
        limited.errors
    );
    assert_eq!(limited.frames(), 0);
    // Cut before the index: an error that says so, after the whole file was pushed.
    let cut = &m4a[..m4a.len() - 2000];
    let truncated = decode_with_element(cut, &keep_props(), Chunking::Fixed(4096));
    assert_eq!(truncated.errors.len(), 1, "{:?}", truncated.errors);
    assert!(
        truncated.errors[0].contains("ended before its index"),
        "{:?}",
        truncated.errors
    );
}

/// With `verify-checksums`, FLAC's STREAMINFO MD5 is checked: a mismatch (damage no frame CRC
/// caught, an altered file) is a WARNING after all the audio; the clean file gives none
/// (`tests/formats.rs`). Without it (the default) nothing is checked and nothing said.
#[test]
fn flac_md5_mismatch_is_a_warning() {
    let clean = decode_fixture("flac.flac", &verifying_keep_props(), Chunking::Whole);
    assert!(clean.warnings.is_empty(), "{:?}", clean.warnings);
    let unchecked = decode_fixture("flac_bad_md5.flac", &keep_props(), Chunking::Whole);
    assert!(unchecked.warnings.is_empty(), "{:?}", unchecked.warnings);
    assert_eq!(unchecked.samples, clean.samples);
    let altered = decode_fixture(
        "flac_bad_md5.flac",
        &verifying_keep_props(),
        Chunking::Fixed(4096),
    );
    assert!(altered.errors.is_empty(), "{:?}", altered.errors);
    assert_eq!(altered.samples, clean.samples);
    assert_eq!(altered.warnings.len(), 1, "{:?}", altered.warnings);
    assert!(
        altered.warnings[0].contains("MD5"),
        "{:?}",
        altered.warnings
    );
}

/// FLAC behind an ID3v2 tag decodes like the bare file; a STREAMINFO that declares more
/// samples than there are gives all there is and a WARNING.
#[test]
fn flac_with_id3v2_or_a_header_that_lies() {
    let clean = decode_fixture("flac.flac", &keep_props(), Chunking::Whole);
    let tagged = decode_fixture("flac_id3v2.flac", &keep_props(), Chunking::Fixed(4096));
    assert!(tagged.errors.is_empty() && tagged.warnings.is_empty());
    assert_eq!(tagged.samples, clean.samples);
    let lying = decode_fixture(
        "flac_long_header.flac",
        &keep_props(),
        Chunking::Fixed(4096),
    );
    assert!(lying.errors.is_empty(), "{:?}", lying.errors);
    assert_eq!(lying.samples, clean.samples);
    assert_eq!(lying.warnings.len(), 1, "{:?}", lying.warnings);
    assert!(
        lying.warnings[0].contains("of the 6.00 s its header declares"),
        "{:?}",
        lying.warnings
    );
}

/// A FLAC stream joined after its start (no `fLaC` header, the first bytes mid-frame, as an
/// Icecast stream joined late) decodes from its first whole frame, bit-exactly.
#[test]
fn flac_joined_after_its_start_decodes_from_its_first_whole_frame() {
    let bytes = std::fs::read(fixture("flac.flac")).unwrap();
    let clean = decode_fixture("flac.flac", &keep_props(), Chunking::Whole);
    let cut = 30_000;
    for chunking in [Chunking::Whole, Chunking::Fixed(1000)] {
        let joined = decode_with_element(&bytes[cut..], &keep_props(), chunking);
        assert!(
            joined.errors.is_empty() && joined.warnings.is_empty(),
            "{:?} {:?}",
            joined.errors,
            joined.warnings
        );
        let tail = &clean.samples[clean.samples.len() - joined.samples.len()..];
        assert!(
            joined.samples == tail,
            "not the clean decode's last samples"
        );
        // What the cut bytes held, and at most the frame the cut fell in.
        let lost_frames = clean.frames() - joined.frames();
        let cut_frames = clean.frames() * cut as u64 / bytes.len() as u64;
        println!(
            "joined at byte {cut}: {lost_frames} frames lost, the bytes cut held ~{cut_frames}"
        );
        assert!(
            lost_frames <= cut_frames + 2 * 4608,
            "{lost_frames} frames lost"
        );
        assert_eq!((joined.rate, joined.channels), (clean.rate, clean.channels));
    }
}

/// Surround Opus and Vorbis kept as they are carry their speaker positions in the caps.
#[test]
fn surround_keeps_its_channel_positions() {
    use gst_audio::AudioChannelPosition as P;
    let five_one = [
        P::FrontLeft,
        P::FrontRight,
        P::FrontCenter,
        P::Lfe1,
        P::RearLeft,
        P::RearRight,
    ];
    let seven_one = [
        P::FrontLeft,
        P::FrontRight,
        P::FrontCenter,
        P::Lfe1,
        P::RearLeft,
        P::RearRight,
        P::SideLeft,
        P::SideRight,
    ];
    let quad = [P::FrontLeft, P::FrontRight, P::RearLeft, P::RearRight];
    for (name, expected) in [
        ("aac_quad_pce.m4a", &quad[..]),
        ("aac_quad_pce.aac", &quad[..]),
        ("opus_5.1.ogg", &five_one[..]),
        ("opus_5.1.webm", &five_one[..]),
        ("vorbis_5.1.ogg", &five_one[..]),
        ("opus_7.1.ogg", &seven_one[..]),
    ] {
        let decoded = decode_fixture(name, &keep_props(), Chunking::Fixed(4096));
        assert!(decoded.errors.is_empty(), "{name}: {:?}", decoded.errors);
        let info = gst_audio::AudioInfo::from_caps(&decoded.caps[0]).unwrap();
        assert_eq!(info.positions().unwrap(), expected, "{name}");
    }
}

/// A few frames of MP3 decode; a damaged Xing header is no reason to refuse the stream: the
/// audio comes out as ffmpeg decodes it, with a WARNING where the header's length is absurd.
#[test]
fn short_mp3_and_damaged_xing_headers_decode() {
    for (name, warns) in [
        ("mp3_few_frames.mp3", false),
        ("mp3_xing_count.mp3", true),
        ("mp3_xing_garbage.mp3", true),
    ] {
        let decoded = decode_fixture(name, &keep_props(), Chunking::Fixed(1000));
        let ffmpeg = reference(&fixture(name), None, None);
        println!(
            "{name}: {} frames, ffmpeg {}; warnings {:?}",
            decoded.frames(),
            ffmpeg.frames(),
            decoded.warnings
        );
        assert!(decoded.errors.is_empty(), "{name}: {:?}", decoded.errors);
        assert!(decoded.frames() > 0);
        assert_eq!(decoded.frames(), ffmpeg.frames(), "{name}");
        assert_eq!(
            !decoded.warnings.is_empty(),
            warns,
            "{name}: {:?}",
            decoded.warnings
        );
    }
}

/// Lossless formats that keep the original WAV header inside their own (an OptimFROG or TAK
/// header, then the WAV header, then compressed audio): one ERROR that names the format, and no
/// PCM. Before, the probe skipped to the WAV header and the compressed audio came out as noise.
/// (WavPack and Monkey's Audio, which do the same, are decoded: see `tests/formats.rs`; a
/// Monkey's Audio header that cannot be read is an ERROR too, and no noise. So is a Musepack
/// header, which carries no WAV header but whose data holds false MPEG frame syncs: before it
/// was decoded, the probe played a few frames of noise.)
#[test]
fn formats_with_a_wav_header_inside_are_refused_by_name() {
    let wav = std::fs::read(fixture("s16.wav")).unwrap();
    for (magic, name) in [
        (&b"MAC "[..], "Monkey's Audio"),
        (b"MPCK", "Musepack"),
        (b"MP+\x17", "Musepack"),
    ] {
        let mut bytes = magic.to_vec();
        bytes.extend([0x5a; 28]);
        bytes.extend(&wav);
        let decoded = decode_with_element(&bytes, &keep_props(), Chunking::Fixed(1000));
        assert_eq!(decoded.errors.len(), 1, "{name}: {:?}", decoded.errors);
        assert!(
            decoded.errors[0].contains(&format!("the {name} stream could not be read")),
            "{:?}",
            decoded.errors
        );
        assert!(decoded.samples.is_empty(), "{name}: no PCM");
    }
    for (magic, name) in [(b"OFR ", "OptimFROG"), (b"tBaK", "TAK")] {
        let mut bytes = magic.to_vec();
        bytes.extend([0x5a; 28]);
        bytes.extend(&wav);
        let decoded = decode_with_element(&bytes, &keep_props(), Chunking::Fixed(1000));
        assert_eq!(decoded.errors.len(), 1, "{name}: {:?}", decoded.errors);
        assert!(
            decoded.errors[0].contains(&format!("the stream is {name}")),
            "{:?}",
            decoded.errors
        );
        assert!(decoded.samples.is_empty(), "{name}: no PCM");
    }
}

/// An Info frame whose header claims a CRC while its tag sits where it would be without one is
/// still the header frame: no audio, and its LAME figures trim the stream as usual.
#[test]
fn info_tag_of_a_frame_marked_protected_is_found() {
    let plain = decode_fixture("mp3_cbr.mp3", &keep_props(), Chunking::Fixed(1000));
    let marked = decode_fixture(
        "mp3_info_crc_flag.mp3",
        &keep_props(),
        Chunking::Fixed(1000),
    );
    assert!(marked.errors.is_empty(), "{:?}", marked.errors);
    assert_eq!(marked.frames(), plain.frames());
    assert!(marked.samples == plain.samples, "the same audio");
}

/// A leading ID3v2 tag symphonia's probe refuses is skipped by its stated length, with a
/// WARNING: the audio is the same as without it.
#[test]
fn mp3_after_an_unreadable_id3v2_tag_decodes() {
    let plain = decode_fixture("mp3_cbr.mp3", &keep_props(), Chunking::Fixed(1000));
    for chunking in [Chunking::Fixed(1000), Chunking::Fixed(7)] {
        let tagged = decode_fixture("mp3_id3v24_no_extended_header.mp3", &keep_props(), chunking);
        assert!(tagged.errors.is_empty(), "{:?}", tagged.errors);
        assert!(
            tagged
                .warnings
                .iter()
                .any(|w| w.contains("ID3v2 tag at the start of the stream could not be read")),
            "{:?}",
            tagged.warnings
        );
        assert!(!plain.samples.is_empty());
        assert!(
            tagged.samples == plain.samples,
            "the same audio ({chunking:?})"
        );
    }
}

/// APE (with or without a header) and Lyrics3 tags after the last frame are not audio: their
/// binary items hold false frame syncs that used to come out as noise, and a header-less APE
/// tag was skipped as damage with a WARNING. The audio comes out as without the tags, in any
/// chunking, without a warning.
#[test]
fn trailing_ape_and_lyrics3_tags_are_not_audio() {
    let plain = decode_fixture("mp3_cbr.mp3", &keep_props(), Chunking::Whole);
    for name in ["mp3_ape_tag.mp3", "mp3_apev1_tag.mp3", "mp3_lyrics3.mp3"] {
        for chunking in [Chunking::Whole, Chunking::Fixed(700), Chunking::Fixed(1)] {
            let decoded = decode_fixture(name, &keep_props(), chunking);
            assert!(decoded.errors.is_empty(), "{name}: {:?}", decoded.errors);
            assert!(
                decoded.warnings.is_empty(),
                "{name} {chunking:?}: {:?}",
                decoded.warnings
            );
            assert_eq!(decoded.frames(), plain.frames(), "{name} {chunking:?}");
            assert!(
                decoded.samples == plain.samples,
                "{name} {chunking:?}: other samples"
            );
        }
    }
}

#[test]
fn chained_ogg_decodes_fully() {
    let chained = concat(&["vorbis.ogg", "opus.ogg"]);
    let decoded = decode_with_element(&chained, &keep_props(), Chunking::Fixed(4096));
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    // Vorbis at 44.1 kHz, then Opus at 48 kHz: new caps in keep mode.
    let rates: Vec<i32> = decoded
        .caps
        .iter()
        .map(|c| c.structure(0).unwrap().get("rate").unwrap())
        .collect();
    assert_eq!(rates, [44_100, 48_000]);
    let at_48k = decode_with_element(&chained, &[], Chunking::Fixed(4096));
    assert!(at_48k.errors.is_empty(), "{:?}", at_48k.errors);
    // Both streams complete at 48 kHz: 3 s each.
    let expected = 2 * SOURCE_FRAMES_48K;
    assert!(
        at_48k.frames().abs_diff(expected) <= 1,
        "{} frames, expected {expected}",
        at_48k.frames()
    );
}

/// The byte offset where each Ogg page of `bytes` ends.
fn ogg_page_ends(bytes: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 0;
    while at + 27 <= bytes.len() && &bytes[at..at + 4] == b"OggS" {
        let segments = bytes[at + 26] as usize;
        let body: usize = bytes[at + 27..at + 27 + segments]
            .iter()
            .map(|&l| l as usize)
            .sum();
        at += 27 + segments + body;
        ends.push(at);
    }
    ends
}

/// ffmpeg writes Ogg Opus in pages of about a second; the first PCM comes out once the first
/// packet of the first audio page is in, not the whole page (which the decodebin chain waits for).
#[test]
fn ogg_opus_packets_come_out_before_their_page_ends() {
    let ogg = std::fs::read(fixture("opus.ogg")).unwrap();
    let ends = ogg_page_ends(&ogg);
    // Pages: OpusHead, OpusTags, then audio.
    let (audio_start, first_audio_end) = (ends[1], ends[2]);
    assert!(
        first_audio_end - audio_start > 8000,
        "the fixture's first audio page is a second long"
    );
    for props in [keep_props(), vec![]] {
        let mut run = Run::new(&props);
        let mut pushed = 0;
        for piece in ogg.chunks(512) {
            run.push(piece).unwrap();
            pushed += piece.len();
            if !run.pull_ready().is_empty() {
                break;
            }
        }
        println!(
            "first PCM after {pushed} bytes; the first audio page spans {audio_start}..{first_audio_end}"
        );
        // A 20 ms packet at 96 kbit/s is about 240 bytes; at 48 kHz out, the resampler
        // needs a few of them.
        assert!(pushed <= audio_start + 2048, "{pushed} bytes ({props:?})");
        assert!(run.errors().is_empty());
    }
}

/// Chained Ogg streams whose first is Opus or Speex (our reader): another Opus stream (as a TTS
/// service sends a file per sentence), a Speex stream and a Vorbis stream after it come out
/// whole.
#[test]
fn chained_ogg_starting_with_opus_decodes_fully() {
    for (files, rates) in [
        (["opus.ogg", "opus_live.ogg"], vec![48_000]),
        (["opus.ogg", "vorbis.ogg"], vec![48_000, 44_100]),
        (["speex.ogg", "opus.ogg"], vec![16_000, 48_000]),
    ] {
        let chained = concat(&files);
        let kept = decode_with_element(&chained, &keep_props(), Chunking::Fixed(1000));
        assert!(kept.errors.is_empty(), "{files:?}: {:?}", kept.errors);
        let mut seen: Vec<i32> = kept
            .caps
            .iter()
            .map(|c| c.structure(0).unwrap().get("rate").unwrap())
            .collect();
        seen.dedup();
        assert_eq!(seen, rates, "{files:?}");
        // Samples, not frames: the channel count changes too.
        let singles: usize = files
            .iter()
            .map(|f| {
                decode_fixture(f, &keep_props(), Chunking::Whole)
                    .samples
                    .len()
            })
            .sum();
        assert_eq!(kept.samples.len(), singles, "{files:?}");
        let at_48k = decode_with_element(&chained, &[], Chunking::Fixed(1000));
        assert!(at_48k.errors.is_empty(), "{files:?}: {:?}", at_48k.errors);
        let expected = 2 * SOURCE_FRAMES_48K;
        assert!(
            at_48k.frames().abs_diff(expected) <= 1,
            "{files:?}: {} frames, expected {expected}",
            at_48k.frames()
        );
    }
}

#[test]
fn flush_starts_a_new_stream() {
    let mp3 = std::fs::read(fixture("mp3_cbr.mp3")).unwrap();
    let wav = std::fs::read(fixture("s16.wav")).unwrap();
    let mut run = Run::new(&keep_props());
    run.push(&mp3[..mp3.len() / 2]).unwrap();
    assert!(!run.pull_ready().is_empty());
    assert!(run.h.push_event(gst::event::FlushStart::new()));
    assert!(run.h.push_event(gst::event::FlushStop::new(true)));
    run.push(&wav).unwrap();
    let mut buffers = run.pull_ready();
    buffers.extend(run.eos());
    assert!(run.errors().is_empty());
    let reference = decode_with_element(&wav, &keep_props(), Chunking::Whole);
    let pcm: Vec<u8> = buffers
        .iter()
        .flat_map(|b| b.map_readable().unwrap().to_vec())
        .collect();
    let samples = s16le(&pcm);
    assert_eq!(samples, reference.samples);
    assert!(buffers[0].flags().contains(gst::BufferFlags::DISCONT));
    assert_eq!(buffers[0].pts(), Some(gst::ClockTime::ZERO));
}

#[test]
fn timestamps_follow_a_timed_upstream() {
    init();
    let wav = std::fs::read(fixture("s16.wav")).unwrap();
    let mut h = gst_check::Harness::new_parse("rsstreamdecoder sample-rate=0 channels=0");
    h.play();
    h.push_event(gst::event::StreamStart::new("timed"));
    let mut segment = gst::FormattedSegment::<gst::ClockTime>::new();
    segment.set_start(gst::ClockTime::from_seconds(5));
    segment.set_time(gst::ClockTime::from_seconds(5));
    h.push_event(gst::event::Segment::new(&segment));
    let mut buffer = gst::Buffer::from_slice(wav);
    buffer
        .get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_seconds(5));
    h.push(buffer).unwrap();
    let first = h.pull().unwrap();
    assert_eq!(first.pts(), Some(gst::ClockTime::from_seconds(5)));
    let mut out_segment = None;
    while let Some(event) = h.try_pull_event() {
        if let gst::EventView::Segment(s) = event.view() {
            out_segment = Some(s.segment().clone());
        }
    }
    let out_segment = out_segment.expect("a segment");
    assert_eq!(out_segment.format(), gst::Format::Time);
    assert_eq!(
        out_segment.start().value(),
        gst::ClockTime::from_seconds(5).nseconds() as i64
    );
}

#[test]
fn properties_set_rate_and_channels() {
    let wav = std::fs::read(fixture("s16.wav")).unwrap();
    for (rate, channels) in [(16_000u32, 2u32), (8_000, 1), (48_000, 1), (44_100, 2)] {
        let props = [
            ("sample-rate", rate.to_send_value()),
            ("channels", channels.to_send_value()),
        ];
        let decoded = decode_with_element(&wav, &props, Chunking::Fixed(8192));
        assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
        assert_eq!((decoded.rate, decoded.channels), (rate, channels));
        let expected = (SOURCE_FRAMES * rate as u64 + 22_050) / 44_100;
        assert_eq!(decoded.frames(), expected, "{rate} Hz {channels} ch");
    }
}

#[test]
fn keep_mode_follows_fixed_downstream_caps() {
    init();
    let wav = std::fs::read(fixture("s16.wav")).unwrap();
    let mut h = gst_check::Harness::new_parse(
        "rsstreamdecoder sample-rate=0 channels=0 ! capsfilter caps=audio/x-raw,rate=16000,channels=1",
    );
    h.play();
    h.push_event(gst::event::StreamStart::new("downstream"));
    h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::format::Bytes,
    >::new()));
    h.push(gst::Buffer::from_slice(wav)).unwrap();
    h.push_event(gst::event::Eos::new());
    let mut frames = 0;
    while let Some(buffer) = h.try_pull() {
        frames += buffer.size() / 2;
    }
    let caps = h.sinkpad().unwrap().current_caps().unwrap();
    let s = caps.structure(0).unwrap();
    assert_eq!(s.get::<i32>("rate").unwrap(), 16_000);
    assert_eq!(s.get::<i32>("channels").unwrap(), 1);
    assert_eq!(frames as u64, SOURCE_FRAMES * 16_000 / 44_100);
}

#[test]
fn gst_launch_pipeline_runs() {
    init();
    let path = fixture("opus.ogg");
    let pipeline = gst::parse::launch(&format!(
        "filesrc location={} ! rsstreamdecoder sample-rate=16000 ! fakesink name=sink",
        path.display()
    ))
    .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(30),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("EOS within 30 s");
    assert_eq!(msg.type_(), gst::MessageType::Eos, "{msg:?}");
    pipeline.set_state(gst::State::Null).unwrap();
}

/// A 10 s tone at -3 dBFS in a 16-bit mono WAV, made by ffmpeg.
fn tone_wav(rate: u32, freq: f64) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tone-{rate}-{freq}-{}.wav", std::process::id()));
    let source = format!("aevalsrc=0.70794578*sin(2*PI*{freq}*t):s={rate}:d=10");
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", &source,
        ])
        .args(["-c:a", "pcm_s16le", "-f", "wav"])
        .arg(&path)
        .status()
        .expect("ffmpeg must be installed");
    assert!(status.success());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    bytes
}

/// Signal to noise-and-distortion ratio of a tone at a known frequency over the middle half:
/// the tone is fitted by least squares (a·sin + b·cos); the residual is noise and distortion.
fn sinad_db(samples: &[i16], rate: u32, freq: f64) -> f64 {
    let middle = &samples[samples.len() / 4..samples.len() * 3 / 4];
    let offset = samples.len() / 4;
    let w = 2.0 * std::f64::consts::PI * freq / rate as f64;
    let basis = |n: usize| ((w * n as f64).sin(), (w * n as f64).cos());
    // Normal equations of the two-column fit.
    let (mut ss, mut sc, mut cc, mut sy, mut cy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, y) in middle.iter().enumerate() {
        let (s, c) = basis(offset + i);
        let y = *y as f64;
        ss += s * s;
        sc += s * c;
        cc += c * c;
        sy += s * y;
        cy += c * y;
    }
    let det = ss * cc - sc * sc;
    let a = (sy * cc - cy * sc) / det;
    let b = (cy * ss - sy * sc) / det;
    let (mut signal, mut noise) = (0.0, 0.0);
    for (i, y) in middle.iter().enumerate() {
        let (s, c) = basis(offset + i);
        let fit = a * s + b * c;
        signal += fit * fit;
        noise += (*y as f64 - fit).powi(2);
    }
    10.0 * (signal / noise).log10()
}

#[test]
fn resampling_quality_through_the_element() {
    for (rate, freq) in [(22_050, 997.0), (22_050, 9_000.0), (44_100, 997.0)] {
        let wav = tone_wav(rate, freq);
        let decoded = decode_with_element(&wav, &[], Chunking::Fixed(4096));
        assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
        assert_eq!((decoded.rate, decoded.channels), (48_000, 1));
        assert_eq!(decoded.frames(), 480_000, "{rate} Hz");
        let sinad = sinad_db(&decoded.samples, 48_000, freq);
        println!("{rate} Hz WAV, {freq} Hz tone at -3 dBFS -> 48000 Hz: SINAD {sinad:.1} dB");
        assert!(sinad >= 85.0, "{rate} Hz {freq} Hz: SINAD {sinad:.1} dB");
    }
}

#[test]
fn typefind_in_front_gives_caps_as_hints() {
    init();
    for (name, expected_frames) in [
        ("mp3_cbr.mp3", SOURCE_FRAMES),
        ("vorbis.ogg", SOURCE_FRAMES),
        ("s16.wav", SOURCE_FRAMES),
        ("flac.flac", SOURCE_FRAMES),
        ("aac.m4a", SOURCE_FRAMES),
        ("aac_adts.aac", SOURCE_FRAMES + 1024 + 820),
        ("s16be.aiff", SOURCE_FRAMES),
    ] {
        let (pcm, error) = run_to_appsink(&format!(
            "filesrc location={} blocksize=1000 ! typefind ! rsstreamdecoder sample-rate=0 \
             channels=0 ! appsink name=sink sync=false",
            fixture(name).display()
        ));
        let frames = pcm.len() as u64 / 4;
        assert!(error.is_none(), "{name}: {error:?}");
        assert_eq!(frames, expected_frames, "{name}");
    }
}

/// iTunes gapless info (`iTunSMPB`, what iTunes, Nero and afconvert write instead of an edit
/// list): 1024 samples of priming and 820 of padding are trimmed, leaving the 132300 that were
/// encoded, the same samples as the file with an edit list, whole or in small pieces.
#[test]
fn itunes_gapless_tag_trims_priming_and_padding() {
    let with_edit_list = decode_fixture("aac.m4a", &keep_props(), Chunking::Whole);
    let untrimmed = decode_fixture("aac_no_editlist.m4a", &keep_props(), Chunking::Whole);
    assert_eq!(
        untrimmed.frames(),
        SOURCE_FRAMES + 1024 + 820,
        "no tag: nothing trimmed"
    );
    for chunking in [Chunking::Whole, Chunking::Fixed(1000)] {
        let decoded = decode_fixture("aac_itunsmpb.m4a", &keep_props(), chunking);
        assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
        assert_eq!(decoded.frames(), SOURCE_FRAMES, "{chunking:?}");
        assert_eq!(decoded.samples, with_edit_list.samples, "{chunking:?}");
    }
}

/// Byte ranges of the ADTS frames in an AAC stream: (start, header length, frame length).
fn adts_frames(bytes: &[u8]) -> Vec<(usize, usize, usize)> {
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos + 7 <= bytes.len() {
        let h = &bytes[pos..pos + 7];
        assert!(h[0] == 0xff && h[1] & 0xf0 == 0xf0, "ADTS sync at {pos}");
        let header = if h[1] & 1 == 0 { 9 } else { 7 };
        let len = ((h[3] as usize & 3) << 11) | ((h[4] as usize) << 3) | (h[5] as usize >> 5);
        frames.push((pos, header, len));
        pos += len;
    }
    frames
}

/// ADTS with the payloads of frames `range` replaced by noise (headers intact, so the reader
/// keeps its sync and every damaged frame reaches the decoder).
fn adts_with_noise(range: std::ops::Range<usize>) -> (Vec<u8>, usize) {
    let mut aac = std::fs::read(fixture("aac_adts.aac")).unwrap();
    let frames = adts_frames(&aac);
    let mut rng = SplitMix64(11);
    for &(start, header, len) in &frames[range] {
        for byte in &mut aac[start + header..start + len] {
            *byte = rng.next_u64() as u8;
        }
    }
    (aac, frames.len())
}

#[test]
fn a_few_corrupt_packets_are_skipped_many_in_a_row_are_an_error() {
    let (few, total) = adts_with_noise(40..45);
    let decoded = decode_with_element(&few, &keep_props(), Chunking::Fixed(2048));
    println!(
        "5 noisy ADTS frames of {total}: {} warnings, {} frames out, errors {:?}",
        decoded.warnings.len(),
        decoded.frames(),
        decoded.errors
    );
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert!(!decoded.warnings.is_empty());
    assert!(decoded.eos_out);
    // At most the damaged frames (and the overlap of their neighbours) are missing.
    assert!(
        decoded.frames() >= (total as u64 - 7) * 1024,
        "{}",
        decoded.frames()
    );

    let (many, _) = adts_with_noise(40..total);
    let decoded = decode_with_element(&many, &keep_props(), Chunking::Fixed(2048));
    println!(
        "noise from frame 40 on: {} warnings, {} frames out, errors {:?}",
        decoded.warnings.len(),
        decoded.frames(),
        decoded.errors
    );
    assert_eq!(decoded.errors.len(), 1, "{:?}", decoded.errors);
    assert!(
        decoded.errors[0].contains("too many corrupt packets"),
        "{:?}",
        decoded.errors
    );
    // Everything before the damage came out first.
    assert!(decoded.frames() >= 39 * 1024, "{}", decoded.frames());

    // max-errors -1, as GStreamer's audio decoders: only warnings, however much damage.
    let mut never = keep_props();
    never.push(("max-errors", (-1i32).to_send_value()));
    let decoded = decode_with_element(&many, &never, Chunking::Fixed(2048));
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert!(
        decoded.warnings.len() > MAX_DAMAGE_DEFAULT,
        "{}",
        decoded.warnings.len()
    );
    assert!(decoded.eos_out);
    // max-errors 0: the first corrupt packet is an ERROR.
    let mut strict = keep_props();
    strict.push(("max-errors", 0i32.to_send_value()));
    let decoded = decode_with_element(&few, &strict, Chunking::Fixed(2048));
    assert_eq!(decoded.errors.len(), 1, "{:?}", decoded.errors);
    assert!(
        decoded.errors[0].contains("max-errors 0"),
        "{:?}",
        decoded.errors
    );
}

/// `max-errors` changed while a stream is being decoded applies to that stream, as in
/// GStreamer's audio decoders: set to 0 before five damaged frames, the first of them stops
/// the stream; left at the default, they are only skipped.
#[test]
fn max_errors_changed_mid_stream_applies_at_once() {
    init();
    let (few, _) = adts_with_noise(40..45);
    for (max_errors, expect_error) in [(None, false), (Some(0i32), true)] {
        let mut h = gst_check::Harness::new("rsstreamdecoder");
        h.play();
        let mut flow = Ok(gst::FlowSuccess::Ok);
        for (i, chunk) in few.chunks(2048).enumerate() {
            if i == 2
                && let Some(max) = max_errors
            {
                h.element().unwrap().set_property("max-errors", max);
            }
            flow = h.push(gst::Buffer::from_slice(chunk.to_vec()));
            if flow.is_err() {
                break;
            }
        }
        let pcm_buffers = std::iter::from_fn(|| h.try_pull()).count();
        println!("max-errors {max_errors:?}: {flow:?}, {pcm_buffers} buffers out");
        assert_eq!(flow.is_err(), expect_error, "max-errors {max_errors:?}");
        assert!(pcm_buffers > 0, "the audio before the damage came out");
    }
}

/// The element's documented default for `max-errors`.
const MAX_DAMAGE_DEFAULT: usize = 32;

#[test]
fn max_errors_property_defaults_to_the_documented_value() {
    init();
    let element = gst::ElementFactory::make("rsstreamdecoder")
        .build()
        .unwrap();
    assert_eq!(
        element.property::<i32>("max-errors"),
        MAX_DAMAGE_DEFAULT as i32
    );
}

#[test]
fn corrupt_mp3_region_is_skipped_with_warnings() {
    let mp3_middle_frame = |bytes: &[u8]| {
        let starts = mp3_frame_starts(bytes);
        starts[starts.len() / 2] + 10
    };
    let (clean, damaged) = decode_with_noise("mp3_cbr.mp3", mp3_middle_frame);
    // 3000 bytes are about 7.2 frames of 418 bytes; the frame after the damage may also fail
    // (its bit reservoir pointed into the damage).
    let lost = clean.frames() - damaged.frames();
    assert!(lost <= 10 * 1152, "lost {lost} frames");
    // Audio well before the damage is intact (the first frame is the Xing frame).
    let frames = mp3_frame_starts(&std::fs::read(fixture("mp3_cbr.mp3")).unwrap()).len();
    let intact = (frames / 2 - 3) * 1152 - 1105;
    assert_eq!(
        clean.samples[..intact * 2],
        damaged.samples[..intact * 2],
        "audio before the damage changed"
    );
}

/// 1000 bytes before the Matroska cluster nearest the middle.
fn before_the_middle_cluster(bytes: &[u8]) -> usize {
    let clusters = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == [0x1F, 0x43, 0xB6, 0x75])
        .map(|(at, _)| at);
    let nearest = clusters
        .min_by_key(|at| at.abs_diff(bytes.len() / 2))
        .unwrap();
    nearest - 1000
}

/// symphonia's Matroska reader gives up on a damaged cluster; `mkv_watch` ends its input before
/// the damage, and the decoder goes on with a new reader from the next cluster or block.
#[test]
fn damaged_matroska_goes_on_after_the_damage() {
    // mkvmerge laces 8 frames (4 KiB) per block: noise in the middle would hit only payload,
    // which has no checksum and goes to the codec as it is. Its noise covers a cluster start.
    let cases: [(&str, NoiseAt); 5] = [
        ("opus.webm", middle),
        ("opus_clusters.webm", middle),
        ("opus_streamable.webm", middle),
        ("opus_mkvmerge.webm", before_the_middle_cluster),
        ("vorbis.mka", middle),
    ];
    for (name, noise_at) in cases {
        let (clean, damaged) = decode_with_noise(name, noise_at);
        let rate = clean.rate as u64;
        let channels = clean.channels as usize;
        let lost = clean.frames() - damaged.frames();
        // What the 3000 noisy bytes held, plus the blocks on either side the noise touches.
        let file_len = std::fs::metadata(fixture(name)).unwrap().len();
        // (`first_cluster` below: the header holds no audio.)
        let noise_frames = 3000 * clean.frames() / file_len;
        println!(
            "{name}: lost {lost} frames ({:.3} s), the noise covered {noise_frames} frames",
            lost as f64 / rate as f64
        );
        assert!(
            lost > 0 && lost < noise_frames + rate / 5,
            "{name}: lost {lost} frames"
        );
        assert!(
            damaged
                .warnings
                .iter()
                .any(|w| w.contains("damaged Matroska data")),
            "{name}: {:?}",
            damaged.warnings
        );
        // Audio well before the damage is untouched: the audio bytes start at the first
        // cluster, and the noise starts halfway through the file.
        let bytes = std::fs::read(fixture(name)).unwrap();
        let first_cluster = bytes
            .windows(4)
            .position(|w| w == [0x1F, 0x43, 0xB6, 0x75])
            .unwrap();
        let before =
            (noise_at(&bytes) - first_cluster) as f64 / (bytes.len() - first_cluster) as f64;
        let intact = (clean.frames() as f64 * before * 0.9) as usize * channels;
        let first_difference = clean
            .samples
            .iter()
            .zip(&damaged.samples)
            .position(|(a, b)| a != b);
        assert!(
            first_difference.is_some_and(|i| i >= intact),
            "{name}: first difference at sample {first_difference:?}, damage after {intact}"
        );
        // After the damage the decoder is back in step: the last second (aligned at the end)
        // matches the clean decode.
        let tail = rate as usize * channels;
        let snr = snr_db(
            &clean.samples[clean.samples.len() - tail..],
            &damaged.samples[damaged.samples.len() - tail..],
        );
        println!("{name}: last second {snr:.1} dB against the clean decode");
        assert!(snr > 60.0, "{name}: last second {snr:.1} dB");
    }
}

#[test]
fn corrupt_ogg_page_is_reported() {
    for name in ["vorbis.ogg", "opus.ogg"] {
        let (clean, damaged) = decode_with_noise(name, middle);
        // The reader drops the damaged page (about a second as ffmpeg writes them) and goes on.
        let lost = clean.frames() - damaged.frames();
        assert!(lost > 0 && lost < 60_000, "{name}: lost {lost} frames");
        assert!(
            damaged
                .warnings
                .iter()
                .any(|w| w.contains("damaged Ogg page")),
            "{name}: {:?}",
            damaged.warnings
        );
    }
}

fn stats(run: &Run) -> gst::Structure {
    run.h.element().unwrap().property::<gst::Structure>("stats")
}

#[test]
fn stats_describe_the_stream() {
    let mp3 = std::fs::read(fixture("mp3_cbr.mp3")).unwrap();
    let starts = mp3_frame_starts(&mp3);
    let mut run = Run::new(&[]);
    let empty = stats(&run);
    assert_eq!(empty.get::<u64>("bytes-in").unwrap(), 0);
    assert_eq!(empty.get::<&str>("container").unwrap(), "");
    assert_eq!(empty.get::<u64>("bytes-to-first-pcm").unwrap(), 0);

    // Frame by frame until the first PCM comes out: that is where bytes-to-first-pcm must be.
    let mut pushed = 0;
    let mut buffers = Vec::new();
    let mut pushes = 0;
    for (i, start) in starts.iter().enumerate().skip(1) {
        run.push(&mp3[pushed..*start]).unwrap();
        pushes += 1;
        pushed = *start;
        buffers.extend(run.pull_ready());
        if !buffers.is_empty() {
            println!("first PCM after {i} frames, {pushed} bytes");
            break;
        }
    }
    let first = stats(&run);
    assert_eq!(
        first.get::<u64>("bytes-to-first-pcm").unwrap(),
        pushed as u64
    );
    assert!(first.get::<u64>("first-pcm-latency").unwrap() > 0);
    assert_eq!(first.get::<&str>("container").unwrap(), "mp3");
    assert_eq!(first.get::<&str>("codec").unwrap(), "mp3");
    assert_eq!(first.get::<u32>("stream-rate").unwrap(), 44_100);
    assert_eq!(first.get::<u32>("stream-channels").unwrap(), 2);

    for chunk in mp3[pushed..].chunks(1000) {
        run.push(chunk).unwrap();
        pushes += 1;
        buffers.extend(run.pull_ready());
    }
    buffers.extend(run.eos());
    let done = stats(&run);
    println!("{done}");
    let frames: u64 = buffers.iter().map(|b| b.size() as u64 / 2).sum();
    assert_eq!(frames, 144_000);
    assert_eq!(done.get::<u64>("bytes-in").unwrap(), mp3.len() as u64);
    assert_eq!(done.get::<u64>("buffers-in").unwrap(), pushes);
    assert_eq!(done.get::<u64>("frames-out").unwrap(), frames);
    assert_eq!(
        done.get::<u64>("buffers-out").unwrap(),
        buffers.len() as u64
    );
    assert_eq!(done.get::<u64>("warnings").unwrap(), 0);
    // Set once, at the first PCM.
    assert_eq!(
        done.get::<u64>("bytes-to-first-pcm").unwrap(),
        pushed as u64
    );

    // A flush starts a new stream, with new figures.
    assert!(run.h.push_event(gst::event::FlushStart::new()));
    assert!(run.h.push_event(gst::event::FlushStop::new(true)));
    let flushed = stats(&run);
    assert_eq!(flushed.get::<u64>("bytes-in").unwrap(), 0);
    assert_eq!(flushed.get::<u64>("frames-out").unwrap(), 0);
    assert_eq!(flushed.get::<&str>("codec").unwrap(), "");
}

#[test]
fn stats_count_the_warnings_on_the_bus() {
    let mut flac = std::fs::read(fixture("flac.flac")).unwrap();
    let middle = flac.len() / 2;
    let mut rng = SplitMix64(11);
    for byte in &mut flac[middle..middle + 3000] {
        *byte = rng.next_u64() as u8;
    }
    let mut run = Run::new(&keep_props());
    for chunk in flac.chunks(4096) {
        run.push(chunk).unwrap();
        run.pull_ready();
    }
    run.eos();
    let warnings = run.messages(gst::MessageType::Warning);
    assert!(!warnings.is_empty());
    let stats_at_eos = stats(&run);
    assert_eq!(
        stats_at_eos.get::<u64>("warnings").unwrap(),
        warnings.len() as u64
    );
    assert_eq!(stats_at_eos.get::<&str>("container").unwrap(), "flac");
    // Still there when the element has stopped, for a last look after the pipeline ends.
    let element = run.h.element().unwrap();
    assert_eq!(
        element.set_state(gst::State::Null),
        Ok(gst::StateChangeSuccess::Success)
    );
    assert_eq!(stats(&run).to_string(), stats_at_eos.to_string());
}

/// An input the fuzzer found: a Matroska Vorbis stream whose codebooks make symphonia's Vorbis
/// decoder panic (index out of bounds) while it is set up. That is a damaged stream: the ERROR
/// must say so, not report an internal panic.
#[test]
fn damaged_codec_setup_is_a_stream_error_not_a_panic() {
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/fuzz-vorbis-codebook.mka"),
    )
    .unwrap();
    let mut run = Run::new(&[]);
    for chunk in bytes.chunks(4096) {
        if run.push(chunk).is_err() {
            break;
        }
    }
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("codec setup of the matroska audio track is damaged"),
        "{errors:?}"
    );
    assert!(!errors[0].contains("panicked"), "{errors:?}");
}

/// HE-AAC (SBR) in ADTS signals its SBR only inside the frames. With FDK AAC (the default
/// `fdk-aac` feature) it decodes at its full 44.1 kHz, upper band included, with no warning.
#[cfg(feature = "fdk-aac")]
#[test]
fn he_aac_decodes_at_full_rate() {
    for name in ["he_aac.aac", "he_aac_v2.aac", "he_aac.m4a"] {
        let decoded = decode_fixture(name, &keep_props(), Chunking::Fixed(700));
        assert_eq!((decoded.rate, decoded.channels), (44_100, 2), "{name}");
        assert!(
            decoded.warnings.is_empty(),
            "{name}: {:?}",
            decoded.warnings
        );
        assert!(decoded.errors.is_empty(), "{name}: {:?}", decoded.errors);
    }
}

/// Without FDK AAC, symphonia decodes the AAC-LC core of an HE-AAC stream (half the rate, no
/// upper band): the element must say so, not degrade silently.
#[cfg(not(feature = "fdk-aac"))]
#[test]
fn aac_without_fdk_warns_that_he_aac_plays_its_core_only() {
    let decoded = decode_fixture("he_aac.aac", &keep_props(), Chunking::Fixed(700));
    assert_eq!(decoded.rate, 22_050, "the core's rate");
    assert!(
        decoded
            .warnings
            .iter()
            .any(|w| w.contains("AAC-LC only") && w.contains("--features fdk-aac")),
        "{:?}",
        decoded.warnings
    );
}

/// LOAS/LATM without FDK: AAC-LC decodes as with it (symphonia's decoder takes the
/// AudioSpecificConfig the mux element carries); HE-AAC signalled explicitly plays its core, with
/// the same WARNING.
#[cfg(not(feature = "fdk-aac"))]
#[test]
fn aac_without_fdk_reads_loas_and_warns_for_its_he_aac() {
    let lc = decode_fixture("aac.loas", &keep_props(), Chunking::Fixed(700));
    assert!(lc.errors.is_empty(), "{:?}", lc.errors);
    assert_eq!((lc.rate, lc.frames()), (44_100, 134_144));
    let he = decode_fixture("he_aac_explicit.loas", &keep_props(), Chunking::Fixed(700));
    assert!(he.errors.is_empty(), "{:?}", he.errors);
    assert_eq!(he.rate, 22_050, "the core's rate");
    assert!(
        he.warnings.iter().any(|w| w.contains("AAC-LC only")),
        "{:?}",
        he.warnings
    );
}

/// Without FDK, ADTS whose layout is a program config element cannot be decoded: the ERROR
/// says why and what to enable (symphonia's decoder alone would only ask for a channel count).
#[cfg(not(feature = "fdk-aac"))]
#[test]
fn aac_without_fdk_refuses_adts_with_a_pce_by_name() {
    let decoded = decode_fixture("aac_quad_pce.aac", &keep_props(), Chunking::Whole);
    assert_eq!(decoded.errors.len(), 1, "{:?}", decoded.errors);
    assert!(
        decoded.errors[0].contains("program config element")
            && decoded.errors[0].contains("fdk-aac"),
        "{:?}",
        decoded.errors
    );
}

/// Ogg whose only stream is in a codec nothing here decodes (CELT, the pre-Opus codec): an ERROR
/// that names it, rather than the probe's "unexpected end of file".
#[test]
fn ogg_celt_is_refused_by_name() {
    let page = |flags: u8, sequence: u32, body: &[u8]| {
        let mut page = b"OggS\0".to_vec();
        page.push(flags);
        page.extend(0u64.to_le_bytes());
        page.extend(77u32.to_le_bytes());
        page.extend(sequence.to_le_bytes());
        page.extend([0; 4]);
        page.extend([1, body.len() as u8]);
        page.extend_from_slice(body);
        let crc = common::ogg_crc(&page);
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        page
    };
    let mut head = b"CELT    0.11.2\0\0\0\0\0\0".to_vec();
    head.resize(60, 0);
    let mut ogg = page(0x02, 0, &head);
    ogg.extend(page(0, 1, &[0; 40]));
    ogg.extend(page(0x04, 2, &[7; 100]));
    let decoded = decode_with_element(&ogg, &keep_props(), Chunking::Fixed(1000));
    assert_eq!(decoded.errors.len(), 1, "{:?}", decoded.errors);
    assert!(
        decoded.errors[0].contains("the Ogg stream holds CELT"),
        "{:?}",
        decoded.errors
    );
    assert!(decoded.samples.is_empty());
}

/// A transport stream in pieces of any size: the same PCM as in one buffer.
#[test]
fn transport_stream_in_any_pieces_decodes_the_same() {
    for (fixture, rate, channels) in [("aac_video.ts", 44_100, 2), ("opus_5.1.ts", 48_000, 6)] {
        let whole = decode_fixture(fixture, &keep_props(), Chunking::Whole);
        whole.assert_well_formed(rate, channels);
        for chunking in [
            Chunking::Fixed(1),
            Chunking::Fixed(188),
            Chunking::Random { seed: 7, max: 3000 },
        ] {
            let pieces = decode_fixture(fixture, &keep_props(), chunking);
            assert!(pieces.errors.is_empty(), "{:?}", pieces.errors);
            assert!(pieces.samples == whole.samples, "{fixture}, {chunking:?}");
        }
    }
}

/// Transport stream packets of the audio lost on the way (every 40th here): a WARNING that
/// counts them, and the rest of the audio decoded around the gaps. An AAC frame spans 2 or 3
/// packets; an Opus access unit of 20 ms at 96 kbit/s spans 2 or 3, and the one read across
/// the loss is followed by bytes skipped to the next control header.
#[test]
fn lost_transport_stream_packets_are_reported() {
    for (fixture, frames_per_unit) in [("aac_video.ts", 1024), ("opus.ts", 960)] {
        let bytes = std::fs::read(common::fixture(fixture)).unwrap();
        let pid = |packet: &[u8]| u16::from_be_bytes([packet[1], packet[2]]) & 0x1fff;
        // The audio's PID: packets whose PES has an audio stream id (0xc0..=0xdf), or is
        // private stream 1 (0xbd), as Opus is.
        let payload = |packet: &[u8]| -> Vec<u8> {
            let at = if packet[3] & 0x20 != 0 {
                5 + usize::from(packet[4])
            } else {
                4
            };
            packet.get(at..).unwrap_or_default().to_vec()
        };
        let audio = bytes
            .chunks(188)
            .find(|p| {
                let payload = payload(p);
                p[1] & 0x40 != 0
                    && payload.len() > 4
                    && payload[..3] == [0, 0, 1]
                    && (payload[3] >> 5 == 6 || payload[3] == 0xbd)
            })
            .map(pid)
            .expect("an audio PES");
        let mut kept = Vec::new();
        let mut audio_packets = 0;
        let mut dropped = 0;
        for packet in bytes.chunks(188) {
            if pid(packet) == audio {
                audio_packets += 1;
                if audio_packets % 40 == 0 {
                    dropped += 1;
                    continue;
                }
            }
            kept.extend_from_slice(packet);
        }
        let whole = decode_fixture(fixture, &keep_props(), Chunking::Whole);
        let damaged = decode_with_element(&kept, &keep_props(), Chunking::Fixed(1316));
        assert!(damaged.errors.is_empty(), "{:?}", damaged.errors);
        let lost: u32 = damaged
            .warnings
            .iter()
            .filter_map(|w| w.strip_prefix("lost "))
            .map(|rest| rest.split(' ').next().unwrap().parse::<u32>().unwrap())
            .sum();
        println!(
            "{fixture}: dropped {dropped} of {audio_packets} audio packets: {} of {} frames, {:?}",
            damaged.frames(),
            whole.frames(),
            damaged.warnings
        );
        assert!(dropped > 0);
        assert_eq!(lost, dropped, "{:?}", damaged.warnings);
        // Each lost packet costs the frames or access units it touched: three at most.
        assert!(
            damaged.frames() + u64::from(dropped) * 3 * frames_per_unit >= whole.frames(),
            "{fixture}: {} of {} frames",
            damaged.frames(),
            whole.frames()
        );
    }
}

/// A fragmented MP4 (ffmpeg's, moof/mdat pairs) whose second fragment declares billions of
/// samples: symphonia's reader would spend seconds counting them. Reads end before it with a
/// WARNING; the first fragment's audio comes out as it does from the intact file.
#[test]
fn an_mp4_fragment_declaring_impossibly_many_samples_ends_the_stream() {
    let bytes = std::fs::read(fixture("aac_fragmented_1s.mp4")).unwrap();
    let moofs: Vec<usize> = memchr::memmem::find_iter(&bytes, b"moof").collect();
    assert!(moofs.len() >= 3, "{} fragments", moofs.len());
    let trun = moofs[1] + memchr::memmem::find(&bytes[moofs[1]..], b"trun").unwrap();
    let mut damaged = bytes.clone();
    // The sample count, after the box type and the version and flags.
    damaged[trun + 8..trun + 12].copy_from_slice(&0xf000_0000u32.to_be_bytes());
    let whole = decode_with_element(&bytes, &keep_props(), Chunking::Fixed(4096));
    let cut = decode_with_element(&damaged, &keep_props(), Chunking::Fixed(4096));
    assert!(cut.errors.is_empty(), "{:?}", cut.errors);
    assert!(
        cut.warnings.iter().any(|w| w.contains(
            "stopped reading the MP4 stream before a damaged fragment: a fragment's track run \
             declares 4026531840 samples and holds the fields of 44"
        )),
        "{:?}",
        cut.warnings
    );
    assert!(cut.frames() > 0 && cut.frames() < whole.frames());
    assert!(
        whole.samples.starts_with(&cut.samples),
        "the audio before the damaged fragment is the intact file's"
    );
}

/// A FLAC header block symphonia refuses (a CD-DA CUESHEET off the 588-sample grid) costs the
/// block, with a WARNING that names it, and nothing of the audio: the same samples as the file
/// without it.
#[test]
fn flac_with_a_cuesheet_symphonia_refuses_decodes() {
    let plain = decode_fixture("flac.flac", &keep_props(), Chunking::Fixed(1000));
    let with_cuesheet = decode_fixture("flac_cuesheet.flac", &keep_props(), Chunking::Fixed(1000));
    assert!(
        with_cuesheet.errors.is_empty(),
        "{:?}",
        with_cuesheet.errors
    );
    assert!(
        with_cuesheet
            .warnings
            .iter()
            .any(|w| w.contains("CUESHEET block is malformed")),
        "{:?}",
        with_cuesheet.warnings
    );
    assert!(!plain.samples.is_empty());
    assert!(with_cuesheet.samples == plain.samples, "the same audio");
}

/// A metadata block whose length is wrong: decoding starts at the first frame, with the same
/// samples as the file without that block, and a WARNING says where.
#[test]
fn flac_with_a_block_length_that_lies_decodes_from_its_first_frame() {
    let plain = decode_fixture("flac.flac", &keep_props(), Chunking::Fixed(1000));
    let lying = decode_fixture(
        "flac_short_picture.flac",
        &keep_props(),
        Chunking::Fixed(1000),
    );
    assert!(lying.errors.is_empty(), "{:?}", lying.errors);
    assert!(
        lying
            .warnings
            .iter()
            .any(|w| w.contains("metadata blocks are damaged from byte 46")),
        "{:?}",
        lying.warnings
    );
    assert!(!plain.samples.is_empty());
    assert!(lying.samples == plain.samples, "the same audio");
    let bytewise = decode_fixture(
        "flac_short_picture.flac",
        &keep_props(),
        Chunking::Fixed(13),
    );
    assert!(
        bytewise.samples == plain.samples,
        "the same audio in 13-byte pieces"
    );
}

/// AAC Main (object type 1) is neither in FDK nor in symphonia: a clear ERROR that names it, in
/// MP4 and in ADTS (whose reader passes no profile on: before, every frame was a WARNING).
#[cfg(feature = "fdk-aac")]
#[test]
fn aac_main_is_refused_by_name() {
    for name in ["aac_main.m4a", "aac_main.aac"] {
        let decoded = decode_fixture(name, &keep_props(), Chunking::Fixed(1000));
        assert_eq!(decoded.errors.len(), 1, "{name}: {:?}", decoded.errors);
        assert!(
            decoded.errors[0].contains("AAC Main"),
            "{name}: {:?}",
            decoded.errors
        );
        assert!(
            decoded.warnings.is_empty(),
            "{name}: {:?}",
            decoded.warnings
        );
    }
}

/// The detected container and codec go downstream as a TAG event (the sink posts it) and to the
/// application as an element message.
#[test]
fn detected_format_is_announced_with_tags_and_a_message() {
    init();
    for (name, container, codec) in [
        ("mp3_cbr.mp3", "MPEG audio", "MPEG-1 Layer 3 (MP3)"),
        ("opus.ogg", "Ogg", "Opus"),
        ("aac.m4a", "ISO MP4/M4A", "MPEG-4 AAC"),
    ] {
        let pipeline = launch(&format!(
            "filesrc location={} ! rsstreamdecoder ! fakesink",
            fixture(name).display()
        ));
        pipeline.set_state(gst::State::Playing).unwrap();
        let bus = pipeline.bus().unwrap();
        let (mut tags, mut message) = (None, None);
        for msg in bus.iter_timed(gst::ClockTime::from_seconds(10)) {
            match msg.view() {
                gst::MessageView::Tag(tag) => tags = Some(tag.tags()),
                gst::MessageView::Element(element) => {
                    if let Some(s) = element
                        .structure()
                        .filter(|s| s.name() == "rsstreamdecoder-format")
                    {
                        message = Some(s.to_owned());
                    }
                }
                gst::MessageView::Eos(_) | gst::MessageView::Error(_) => break,
                _ => {}
            }
        }
        pipeline.set_state(gst::State::Null).unwrap();
        let tags = tags.unwrap_or_else(|| panic!("{name}: no TAG message"));
        assert_eq!(
            tags.get::<gst::tags::AudioCodec>()
                .map(|t| t.get().to_string()),
            Some(codec.to_string()),
            "{name}"
        );
        assert_eq!(
            tags.get::<gst::tags::ContainerFormat>()
                .map(|t| t.get().to_string()),
            Some(container.to_string()),
            "{name}"
        );
        let message = message.unwrap_or_else(|| panic!("{name}: no element message"));
        assert_eq!(message.get::<&str>("codec-name").unwrap(), codec, "{name}");
        assert!(message.get::<u32>("rate").unwrap() > 0, "{name}");
        assert_eq!(message.get::<u32>("out-rate").unwrap(), 48_000, "{name}");
    }
}

/// DURATION in TIME is the length the container declares (a pipeline query reaches it through
/// the sink); POSITION in TIME on the element is the end of the PCM pushed so far.
#[test]
fn duration_and_position_queries_in_time() {
    init();
    for name in ["mp3_cbr.mp3", "flac.flac", "s16.wav", "aac.m4a"] {
        let pipeline = launch(&format!(
            "filesrc location={} ! rsstreamdecoder name=dec ! fakesink sync=false",
            fixture(name).display()
        ));
        pipeline.set_state(gst::State::Paused).unwrap();
        let (result, _, _) = pipeline.state(gst::ClockTime::from_seconds(10));
        result.unwrap();
        let duration = pipeline.query_duration::<gst::ClockTime>();
        let expected = gst::ClockTime::from_seconds(SOURCE_SECONDS as u64);
        let off = duration.map(|d| d.nseconds().abs_diff(expected.nseconds()));
        assert!(
            off.is_some_and(|off| off < 30_000_000),
            "{name}: duration {duration:?}, expected {expected}"
        );
        let src = pipeline.by_name("dec").unwrap().static_pad("src").unwrap();
        let position = src.query_position::<gst::ClockTime>();
        assert!(
            position.is_some_and(|p| p > gst::ClockTime::ZERO && p <= expected),
            "{name}: position {position:?} after preroll"
        );
        pipeline.set_state(gst::State::Null).unwrap();
    }
}

/// CONVERT: on the source pad between the output's bytes, frames and time (exact); on the sink
/// pad between input bytes and time at the stream's measured ratio (exact for WAV, the
/// average bitrate for MP3).
#[test]
fn convert_queries_between_bytes_and_time() {
    use gst::format::{Bytes, Default as Frames};
    init();
    let to_time = |pad: &gst::Pad, bytes: u64| {
        pad.query_convert::<Option<gst::ClockTime>>(Bytes::from_u64(bytes))
            .flatten()
    };
    let to_bytes = |pad: &gst::Pad, time: gst::ClockTime| {
        pad.query_convert::<Option<Bytes>>(time)
            .flatten()
            .map(|b| *b)
    };
    for (name, bytes_per_second) in [("s16.wav", 176_400u64), ("mp3_cbr.mp3", 16_000)] {
        let pipeline = launch(&format!(
            "filesrc location={} ! rsstreamdecoder name=dec ! fakesink sync=false",
            fixture(name).display()
        ));
        let dec = pipeline.by_name("dec").unwrap();
        let (sink, src) = (
            dec.static_pad("sink").unwrap(),
            dec.static_pad("src").unwrap(),
        );
        // Before any PCM the input side has no ratio to answer with.
        assert_eq!(to_time(&sink, 1000), None);
        pipeline.set_state(gst::State::Playing).unwrap();
        let bus = pipeline.bus().unwrap();
        let end = bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(10),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        );
        assert!(matches!(
            end.map(|m| m.type_()),
            Some(gst::MessageType::Eos)
        ));
        let second = gst::ClockTime::SECOND;
        // The output: 48 kHz mono S16.
        assert_eq!(to_bytes(&src, second), Some(96_000));
        assert_eq!(
            src.query_convert::<Option<Frames>>(second)
                .flatten()
                .map(|f| *f),
            Some(48_000)
        );
        assert_eq!(to_time(&src, 96_000), Some(second));
        let time = to_time(&sink, bytes_per_second).expect("input bytes to time");
        let bytes = to_bytes(&sink, second).expect("time to input bytes");
        println!("{name}: {bytes_per_second} bytes in -> {time}; 1 s -> {bytes} bytes in");
        // WAV: the header is the only difference; MP3: the LAME tag frame and trimmed priming.
        let tolerance = if name.ends_with(".wav") { 0.001 } else { 0.02 };
        let off = (time.nseconds() as f64 / 1e9 - 1.0).abs();
        assert!(off < tolerance, "{name}: {time}");
        let off = (bytes as f64 / bytes_per_second as f64 - 1.0).abs();
        assert!(off < tolerance, "{name}: {bytes}");
        pipeline.set_state(gst::State::Null).unwrap();
    }
}

/// A container with two audio tracks: the first is decoded unless `audio-track` names another;
/// a track the stream does not have is an ERROR that says how many there are.
#[test]
fn audio_track_picks_one_of_several() {
    for name in [
        "two_audio_tracks.m4a",
        "two_audio_tracks.mka",
        "two_audio_tracks.ts",
        "two_audio_tracks.ogg",
    ] {
        let path = fixture(name);
        let bytes = std::fs::read(&path).unwrap();
        for (track, rate, channels) in [(0u32, 44_100, 2), (1, 22_050, 1)] {
            let mut props = keep_props();
            props.push(("audio-track", track.to_send_value()));
            let decoded = decode_with_element(&bytes, &props, Chunking::Fixed(4096));
            decoded.assert_well_formed(rate, channels);
            let ffmpeg = reference_track(&path, track as usize);
            let cmp = compare(&ffmpeg, &decoded.samples, channels);
            println!("{name} audio-track={track}: {cmp}");
            // FLAC is exact; AAC and Vorbis: two float decoders, ffmpeg 5.1 keeping part of the
            // AAC priming.
            if name.ends_with(".mka") {
                assert!(cmp.bit_exact(), "{name} track {track}: {cmp}");
            } else {
                let (lag, snr) = best_lag(&ffmpeg, &decoded.samples, channels, 2048);
                assert!(snr > 60.0, "{name} track {track}: {snr:.1} dB at lag {lag}");
            }
        }
        let mut props = keep_props();
        props.push(("audio-track", 2u32.to_send_value()));
        let decoded = decode_with_element(&bytes, &props, Chunking::Fixed(4096));
        assert_eq!(decoded.errors.len(), 1, "{name}: {:?}", decoded.errors);
        assert!(
            decoded.errors[0].contains("but the stream has 2"),
            "{name}: {:?}",
            decoded.errors
        );
    }
}

/// The rank is NONE, by decision (README): the element's output is fixed-rate S16, which is not
/// what `decodebin` and `playbin` users expect of a decoder they did not ask for, and its sink
/// takes any bytes. So decodebin must keep building its own chain, and the element is named in
/// pipelines that want it.
#[test]
fn rank_none_keeps_decodebin_to_its_own_decoders() {
    init();
    let factory = gst::ElementFactory::find("rsstreamdecoder").unwrap();
    assert_eq!(factory.rank(), gst::Rank::NONE);
    let pipeline = launch(&format!(
        "filesrc location={} ! decodebin name=bin ! fakesink",
        fixture("mp3_cbr.mp3").display()
    ));
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let end = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(10),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    assert!(
        end.is_some_and(|m| m.type_() == gst::MessageType::Eos),
        "decodebin did not play the MP3"
    );
    let bin = pipeline
        .by_name("bin")
        .unwrap()
        .downcast::<gst::Bin>()
        .unwrap();
    let used: Vec<String> = bin
        .iterate_recurse()
        .into_iter()
        .filter_map(|e| e.ok()?.factory().map(|f| f.name().to_string()))
        .collect();
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(!used.is_empty(), "decodebin built nothing");
    assert!(
        !used.iter().any(|name| name == "rsstreamdecoder"),
        "decodebin picked rsstreamdecoder: {used:?}"
    );
}

/// The stream's own tags (ID3v2, Vorbis comments, FLAC's, MP4 metadata) go downstream in a TAG
/// event, with the container and codec.
#[test]
fn stream_tags_go_downstream() {
    init();
    for name in ["tagged.mp3", "tagged.ogg", "tagged.flac", "tagged.m4a"] {
        let pipeline = launch(&format!(
            "filesrc location={} ! rsstreamdecoder ! fakesink",
            fixture(name).display()
        ));
        pipeline.set_state(gst::State::Playing).unwrap();
        let bus = pipeline.bus().unwrap();
        let mut tags = gst::TagList::new();
        for msg in bus.iter_timed(gst::ClockTime::from_seconds(10)) {
            match msg.view() {
                gst::MessageView::Tag(tag) => {
                    tags = tags.merge(&tag.tags(), gst::TagMergeMode::Append)
                }
                gst::MessageView::Eos(_) | gst::MessageView::Error(_) => break,
                _ => {}
            }
        }
        pipeline.set_state(gst::State::Null).unwrap();
        assert_eq!(
            tags.get::<gst::tags::Title>().map(|v| v.get().to_string()),
            Some("A Test Signal".to_string()),
            "{name}: {tags:?}"
        );
        assert_eq!(
            tags.get::<gst::tags::Artist>().map(|v| v.get().to_string()),
            Some("The Testers".to_string()),
            "{name}"
        );
        assert_eq!(
            tags.get::<gst::tags::Album>().map(|v| v.get().to_string()),
            Some("Fixtures".to_string()),
            "{name}"
        );
        assert!(tags.get::<gst::tags::AudioCodec>().is_some(), "{name}");
    }
}

/// The bitrate goes downstream as GStreamer's parsers tag it, measured over the first second of
/// codec packets, in the same TAG event as the codec (a later TAG event replaces earlier ones).
#[test]
fn bitrate_is_tagged_with_the_codec() {
    init();
    let pcm_rate = SOURCE_RATE * 2 * 16;
    // VBR streams: the file's own average over its 3 s (container overhead included).
    let average = |name: &str| {
        (std::fs::metadata(fixture(name)).unwrap().len() * 8 / SOURCE_SECONDS as u64) as u32
    };
    for (name, expected, tolerance) in [
        ("mp3_cbr.mp3", 128_000, 0.01),
        ("aac_adts.aac", average("aac_adts.aac"), 0.1),
        ("opus.ogg", average("opus.ogg"), 0.1),
        ("s16.wav", pcm_rate, 0.0),
    ] {
        let pipeline = launch(&format!(
            "filesrc location={} ! rsstreamdecoder ! fakesink name=sink",
            fixture(name).display()
        ));
        pipeline.set_state(gst::State::Playing).unwrap();
        let bus = pipeline.bus().unwrap();
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(10),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
            .expect("EOS");
        assert_eq!(msg.type_(), gst::MessageType::Eos, "{name}");
        // The sink's sticky TAG event: the last one sent, which must hold everything.
        let tags = pipeline
            .by_name("sink")
            .unwrap()
            .static_pad("sink")
            .unwrap()
            .sticky_event::<gst::event::Tag>(0)
            .expect("a TAG event")
            .tag_owned();
        pipeline.set_state(gst::State::Null).unwrap();
        let bitrate = tags.get::<gst::tags::Bitrate>().expect("bitrate").get();
        println!("{name}: {bitrate} bit/s");
        let error = (bitrate as f64 - expected as f64).abs() / expected as f64;
        assert!(
            error <= tolerance,
            "{name}: {bitrate} bit/s, expected {expected}"
        );
        assert!(
            tags.get::<gst::tags::AudioCodec>().is_some(),
            "{name}: {tags:?}"
        );
    }
}

/// Pushes 2 s of 24 kHz mono headerless PCM in 20 ms pieces stamped with their arrival time
/// through `rsstreamdecoder <props>`, with nothing for 2 s after the first second (a TTS
/// stream between sentences), then EOS; returns every buffer that came out.
fn decode_with_a_pause(props: &str, pause: gst::ClockTime) -> Vec<gst::Buffer> {
    decode_live_pcm(props, |i| {
        let pts = gst::ClockTime::from_mseconds(20 * i as u64);
        if i >= 50 { pts + pause } else { pts }
    })
}

/// 2 s of 24 kHz mono PCM in 20 ms pieces, the `i`-th stamped `pts(i)`, through the harness.
fn decode_live_pcm(props: &str, pts: impl Fn(usize) -> gst::ClockTime) -> Vec<gst::Buffer> {
    init();
    let pcm = std::fs::read(fixture("s16le_24k_mono.pcm")).unwrap();
    let mut h = gst_check::Harness::new_parse(&format!(
        "rsstreamdecoder format=audio/pcm;rate=24000 {props}"
    ));
    h.play();
    h.push_event(gst::event::StreamStart::new("live"));
    h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
    let piece = 24_000 * 2 / 50;
    let mut out = Vec::new();
    for (i, bytes) in pcm.chunks(piece).take(100).enumerate() {
        let mut buffer = gst::Buffer::from_slice(bytes.to_vec());
        buffer.get_mut().unwrap().set_pts(pts(i));
        h.push(buffer).unwrap();
        out.extend(std::iter::from_fn(|| h.try_pull()));
    }
    h.push_event(gst::event::Eos::new());
    out.extend(std::iter::from_fn(|| h.try_pull()));
    out
}

const PAUSE: gst::ClockTime = gst::ClockTime::from_seconds(2);

/// Live input with a pause: the output jumps to the input's time after the pause (with
/// DISCONT), instead of running that much early, and is seamless elsewhere; for a pause of
/// seconds as for one of a few packets (60 ms: past the 30 ms latency of 20 ms pieces of PCM and
/// the 20 ms the input may run ahead beyond it).
#[test]
fn output_follows_input_timestamps_across_a_pause() {
    for pause in [PAUSE, gst::ClockTime::from_mseconds(60)] {
        let out = decode_with_a_pause("sample-rate=0 channels=0", pause);
        let (before, after): (Vec<_>, Vec<_>) = out
            .iter()
            .partition(|b| b.pts().unwrap() < gst::ClockTime::from_seconds(1));
        assert!(!before.is_empty() && !after.is_empty());
        assert!(contiguous(&before), "before the pause of {pause}");
        assert!(contiguous(&after), "after the pause of {pause}");
        let resumed = after[0];
        assert_eq!(
            resumed.pts(),
            Some(gst::ClockTime::from_seconds(1) + pause),
            "the first buffer after the pause of {pause} carries the input's time"
        );
        assert!(resumed.flags().contains(gst::BufferFlags::DISCONT));
        assert_eq!(
            discontinuities(&out),
            1,
            "DISCONT only where the output jumps"
        );
        // Nothing lost: every sample pushed came out.
        let frames: usize = out.iter().map(|b| b.size() / 2).sum();
        assert_eq!(frames, 2 * 24_000);
    }
}

/// Timestamps that wander a few milliseconds either way (a network's jitter, arrival times that
/// `do-timestamp` stamps) are not pauses: the output stays seamless, stamped by its samples.
#[test]
fn jittering_input_timestamps_do_not_move_the_output() {
    let jitter = [0, 4, -3, 6, 1, -5, 5, 0, -2, 3];
    let out = decode_live_pcm("sample-rate=0 channels=0", |i| {
        let nominal = 20 + 20 * i as i64 + jitter[i % jitter.len()];
        gst::ClockTime::from_mseconds(nominal as u64)
    });
    let all: Vec<&gst::Buffer> = out.iter().collect();
    assert_eq!(all[0].pts(), Some(gst::ClockTime::from_mseconds(20)));
    assert!(contiguous(&all), "the output stays seamless");
    assert_eq!(discontinuities(&out), 0);
}

/// The `rsstreamdecoder` debug category tells what the element found and did: the format and
/// the latency (INFO), the decoder it started (DEBUG), and every buffer in and out, with how
/// far timestamped input is ahead of the output (LOG), as the README's troubleshooting says.
#[test]
fn the_debug_category_logs_the_format_the_latency_and_every_buffer() {
    init();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = lines.clone();
    gst::log::remove_default_log_function();
    gst::log::add_log_function(move |category, level, _, _, _, _, message| {
        if category.name() == "rsstreamdecoder" {
            let text = message.get().map(|m| m.to_string()).unwrap_or_default();
            seen.lock().unwrap().push((level, text));
        }
    });
    gst::log::set_active(true);
    gst::log::set_threshold_for_name("rsstreamdecoder", gst::DebugLevel::Log);
    let bytes = std::fs::read(fixture("mp3_cbr.mp3")).unwrap();
    let mut h = gst_check::Harness::new_parse("rsstreamdecoder");
    h.play();
    h.push_event(gst::event::StreamStart::new("logged"));
    h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
    for (i, piece) in bytes.chunks(320).take(40).enumerate() {
        let mut buffer = gst::Buffer::from_slice(piece.to_vec());
        let pts = gst::ClockTime::from_mseconds(20 * i as u64);
        buffer.get_mut().unwrap().set_pts(pts);
        h.push(buffer).unwrap();
        while h.try_pull().is_some() {}
    }
    let lines = lines.lock().unwrap().clone();
    for (level, start) in [
        (
            gst::DebugLevel::Info,
            "detected mp3 / mp3, 44100 Hz, 2 ch; output audio/x-raw",
        ),
        (gst::DebugLevel::Info, "latency now"),
        (gst::DebugLevel::Debug, "starting decoder with"),
        (
            gst::DebugLevel::Log,
            "input: 320 bytes at 0:00:00.020000000",
        ),
        (gst::DebugLevel::Log, "output: "),
        (gst::DebugLevel::Log, "input at 0:00:00.780000000: "),
    ] {
        assert!(
            lines
                .iter()
                .any(|(l, text)| *l == level && text.starts_with(start)),
            "no {level:?} line starting {start:?} in {lines:#?}"
        );
    }
}

fn contiguous(buffers: &[&gst::Buffer]) -> bool {
    buffers
        .windows(2)
        .all(|w| w[0].pts().unwrap() + w[0].duration().unwrap() == w[1].pts().unwrap())
}

/// DISCONT flags after the first buffer.
fn discontinuities(buffers: &[gst::Buffer]) -> usize {
    buffers[1..]
        .iter()
        .filter(|b| b.flags().contains(gst::BufferFlags::DISCONT))
        .count()
}

/// The same pause in a stream that is resampled (24 to 48 kHz): the resampler still holds the
/// last block from before the pause when the input resumes. That audio comes out first and is
/// stamped just before the input's time, so the first sample of the new input lands exactly on
/// it, rather than a block later.
#[test]
fn audio_held_across_a_pause_is_stamped_before_it() {
    let out = decode_with_a_pause("sample-rate=48000 channels=1", PAUSE);
    let pause = PAUSE;
    let jump = out
        .iter()
        .skip(1)
        .position(|b| b.flags().contains(gst::BufferFlags::DISCONT))
        .expect("a DISCONT where the output jumps")
        + 1;
    let frames_before: u64 = out[..jump].iter().map(|b| b.size() as u64 / 2).sum();
    // Input frame 24000 (1 s, the first after the pause) is output frame 48000.
    let held = 48_000 - frames_before;
    println!("{frames_before} frames before the jump, {held} held across it");
    assert!(
        held > 0,
        "the resampler held nothing back: the test shows nothing"
    );
    let resumed = out[jump].pts().unwrap();
    let new_audio_at = resumed + gst::ClockTime::from_nseconds(held * 1_000_000_000 / 48_000);
    let expected = gst::ClockTime::from_seconds(1) + pause;
    assert!(
        new_audio_at.nseconds().abs_diff(expected.nseconds()) <= 1_000_000_000 / 48_000,
        "the audio after the pause starts at {new_audio_at}, its input at {expected}"
    );
    assert!(
        resumed > gst::ClockTime::from_seconds(1),
        "the output jumped"
    );
    for w in out[jump..].windows(2) {
        assert_eq!(
            w[0].pts().unwrap() + w[0].duration().unwrap(),
            w[1].pts().unwrap()
        );
    }
    let frames: u64 = out.iter().map(|b| b.size() as u64 / 2).sum();
    assert_eq!(frames, 2 * 48_000, "nothing lost");
}

/// A TIME segment upstream bounds the output, as GStreamer's decoders clip to it: a demuxer
/// puts an MP4 edit list's start and end (the encoder's priming and padding) or a seek's target
/// there. Frames before its start and from its stop on are dropped, to the nearest frame, at the
/// stream's rate and after resampling alike; the rest is the whole decode's, stamped as before.
#[test]
fn output_is_clipped_to_an_upstream_time_segment() {
    init();
    let bytes = std::fs::read(fixture("s16.wav")).unwrap();
    let (start, stop) = (
        gst::ClockTime::from_mseconds(500),
        gst::ClockTime::from_mseconds(1500),
    );
    for (props, rate, channels) in [
        (keep_props(), 44_100u32, 2usize),
        (
            vec![
                ("sample-rate", 48_000u32.to_send_value()),
                ("channels", 1u32.to_send_value()),
            ],
            48_000,
            1,
        ),
    ] {
        let whole = decode_with_element(&bytes, &props, Chunking::Fixed(4096)).samples;
        let element = gst::ElementFactory::make("rsstreamdecoder")
            .build()
            .unwrap();
        for (name, value) in &props {
            element.set_property_from_value(name, value);
        }
        let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
        h.play();
        h.push_event(gst::event::StreamStart::new("clipped"));
        let mut segment = gst::FormattedSegment::<gst::ClockTime>::new();
        segment.set_start(start);
        segment.set_stop(stop);
        h.push_event(gst::event::Segment::new(&segment));
        let mut out = Vec::new();
        for (i, piece) in bytes.chunks(4096).enumerate() {
            let mut buffer = gst::Buffer::from_slice(piece.to_vec());
            if i == 0 {
                buffer.get_mut().unwrap().set_pts(gst::ClockTime::ZERO);
            }
            h.push(buffer).unwrap();
            out.extend(std::iter::from_fn(|| h.try_pull()));
        }
        h.push_event(gst::event::Eos::new());
        out.extend(std::iter::from_fn(|| h.try_pull()));
        let what = format!("{rate} Hz, {channels} channel(s)");
        let first = out.first().expect("output inside the segment");
        assert_eq!(first.pts(), Some(start), "{what}: first buffer's time");
        let last = out.last().unwrap();
        assert_eq!(
            last.pts().unwrap() + last.duration().unwrap(),
            stop,
            "{what}: last buffer's end"
        );
        let samples: Vec<i16> = out
            .iter()
            .flat_map(|b| s16le(&b.map_readable().unwrap()))
            .collect();
        let (from, to) = (
            rate as usize / 2 * channels,
            rate as usize * 3 / 2 * channels,
        );
        assert_eq!(samples.len(), to - from, "{what}: one second of frames");
        assert!(
            samples == whole[from..to],
            "{what}: not the whole decode's second"
        );
    }
}
