//! The worker's own tests: whole streams through `StreamDecoder`, small and made here.

use super::*;
use std::time::Duration;

/// A 16-bit PCM WAV file in memory.
fn wav_bytes(rate: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * channels as u32 * 2).to_le_bytes());
    out.extend_from_slice(&(channels * 2).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

fn ramp(len: usize) -> Vec<i16> {
    (0..len)
        .map(|i| ((i * 37) % 20000) as i16 - 10000)
        .collect()
}

fn decode_all(
    settings: DecoderSettings,
    chunks: &[&[u8]],
) -> (Vec<StreamFormat>, Vec<u8>, Vec<String>, Vec<String>) {
    let mut decoder = StreamDecoder::start(settings).unwrap();
    let mut events = Vec::new();
    for chunk in chunks {
        events.extend(decoder.push(chunk));
    }
    events.extend(decoder.finish());
    let (mut formats, mut pcm, mut warnings, mut errors) = (vec![], vec![], vec![], vec![]);
    for event in events {
        match event {
            DecoderEvent::Format(f) => formats.push(f),
            DecoderEvent::Duration(_)
            | DecoderEvent::Tags(_)
            | DecoderEvent::Latency { .. }
            | DecoderEvent::Bitrate(_) => {}
            DecoderEvent::Pcm(p) => pcm.extend(p),
            DecoderEvent::Warning(w) => warnings.push(w),
            DecoderEvent::Error(e) => errors.push(e.message),
        }
    }
    (formats, pcm, warnings, errors)
}

fn keep() -> DecoderSettings {
    DecoderSettings::default()
}

#[test]
fn wav_passthrough_is_bit_exact_in_any_chunking() {
    let samples = ramp(20_000);
    let wav = wav_bytes(16_000, 2, &samples);
    let expected: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();

    let (formats, pcm, warnings, errors) = decode_all(keep(), &[&wav]);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(formats.len(), 1);
    assert_eq!(formats[0].container, "wave");
    assert_eq!((formats[0].out_rate, formats[0].out_channels), (16_000, 2));
    assert_eq!(pcm, expected);

    let bytewise: Vec<&[u8]> = wav.chunks(1).collect();
    assert_eq!(decode_all(keep(), &bytewise).1, expected);
    let odd: Vec<&[u8]> = wav.chunks(777).collect();
    assert_eq!(decode_all(keep(), &odd).1, expected);
}

#[test]
fn latency_is_announced_once_before_the_first_pcm() {
    let wav = wav_bytes(16_000, 1, &ramp(16_000));
    let latency_then_pcm = |settings: DecoderSettings| {
        let mut decoder = StreamDecoder::start(settings).unwrap();
        let mut events = decoder.push(&wav);
        events.extend(decoder.finish());
        let latencies: Vec<(usize, Duration)> = events
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match e {
                DecoderEvent::Latency { first, .. } => Some((i, *first)),
                _ => None,
            })
            .collect();
        let first_pcm = events
            .iter()
            .position(|e| matches!(e, DecoderEvent::Pcm(_)))
            .unwrap();
        assert_eq!(latencies.len(), 1, "{latencies:?}");
        assert!(latencies[0].0 < first_pcm);
        latencies[0].1
    };
    // WAV has no priming and no lookahead: one packet, and the resampler's block and delay
    // when the rate changes.
    let kept = latency_then_pcm(keep());
    assert!(
        kept > Duration::ZERO && kept <= Duration::from_millis(100),
        "{kept:?}"
    );
    let resampled = latency_then_pcm(DecoderSettings::new(Some(48_000), Some(1), None));
    assert!(
        resampled > kept && resampled <= kept + Duration::from_millis(30),
        "{kept:?} -> {resampled:?}"
    );
}

#[test]
fn a_large_push_comes_out_in_batches_as_it_decodes() {
    let samples = ramp(16_000 * 3);
    let wav = wav_bytes(16_000, 1, &samples);
    let pcm_of = |events: Vec<DecoderEvent>| -> Vec<u8> {
        events
            .into_iter()
            .filter_map(|e| match e {
                DecoderEvent::Pcm(p) => Some(p),
                _ => None,
            })
            .flatten()
            .collect()
    };
    let mut decoder = StreamDecoder::start(keep()).unwrap();
    decoder.feed(&wav);
    let mut batches = Vec::new();
    while let Some(events) = decoder.next_events() {
        batches.push(pcm_of(events));
    }
    batches.push(pcm_of(decoder.finish()));
    // 3 s (96000 bytes) in batches of at most 100 ms and a packet (the PCM reader's packets
    // are up to 16 KiB), in order, nothing lost.
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    let chunk = 16_000 * 2 / 10;
    assert!(sizes.iter().filter(|&&b| b > 0).count() >= 5, "{sizes:?}");
    assert!(sizes.iter().all(|&b| b <= chunk + 16 * 1024), "{sizes:?}");
    let expected: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    assert_eq!(batches.concat(), expected);
}

#[test]
fn lockstep_push_returns_decodable_pcm() {
    let wav = wav_bytes(8_000, 1, &ramp(8_000));
    let mut decoder = StreamDecoder::start(keep()).unwrap();
    // Header plus 3000 samples and half of the next: every complete frame comes out.
    let events = decoder.push(&wav[..44 + 6001]);
    let pcm: usize = events
        .iter()
        .map(|e| match e {
            DecoderEvent::Pcm(p) => p.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(pcm, 3000 * 2, "{:?}", &events[..1]);
    // The length the header declares, then the format, then PCM.
    assert_eq!(
        events[0],
        DecoderEvent::Duration(std::time::Duration::from_secs(1))
    );
    assert!(matches!(events[1], DecoderEvent::Format(_)));
}

#[test]
fn two_wav_files_back_to_back_decode_fully() {
    let first = ramp(5_000);
    let second: Vec<i16> = ramp(7_000).iter().map(|s| s / 2).collect();
    let mut stream = wav_bytes(8_000, 1, &first);
    stream.extend(wav_bytes(8_000, 1, &second));
    let (formats, pcm, _, errors) = decode_all(keep(), &[&stream]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(formats.len(), 1, "same format: no new caps");
    assert_eq!(pcm.len(), (5_000 + 7_000) * 2);
}

#[test]
fn rate_change_between_files_sends_new_format() {
    let mut stream = wav_bytes(8_000, 1, &ramp(800));
    stream.extend(wav_bytes(16_000, 2, &ramp(3_200)));
    let (formats, pcm, _, errors) = decode_all(keep(), &[&stream]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(formats.len(), 2);
    assert_eq!((formats[1].out_rate, formats[1].out_channels), (16_000, 2));
    assert_eq!(pcm.len(), (800 + 3_200) * 2);
}

#[test]
fn garbage_is_an_error_within_the_probe_bound() {
    let html = b"<html><body>502 Bad Gateway</body></html>\n".repeat(2000);
    let mut decoder = StreamDecoder::start(keep()).unwrap();
    let mut pushed = 0;
    let mut error = None;
    for chunk in html.chunks(4096) {
        pushed += chunk.len();
        if let Some(DecoderEvent::Error(e)) = decoder
            .push(chunk)
            .into_iter()
            .find(|e| matches!(e, DecoderEvent::Error(_)))
        {
            error = Some(e.message);
            break;
        }
    }
    let error = error.expect("an error before the end of input");
    assert!(error.contains("no supported audio format found"), "{error}");
    assert!(pushed <= 64 * 1024, "error only after {pushed} bytes");
    assert!(decoder.is_finished() || decoder.push(b"x").is_empty());
}

#[test]
fn a_panic_in_the_worker_becomes_an_error_event() {
    let settings = DecoderSettings {
        panic_in_worker: true,
        ..keep()
    };
    let mut decoder = StreamDecoder::start(settings).unwrap();
    let mut events = decoder.push(b"RIFF");
    events.extend(decoder.finish());
    assert_eq!(
        events,
        [DecoderEvent::Error(DecoderError {
            kind: ErrorKind::Internal,
            message: "the decoder panicked: injected test panic".into(),
        })]
    );
}

#[test]
fn a_codec_panic_skips_the_packet_and_decoding_goes_on() {
    let samples = ramp(40_000);
    let wav = wav_bytes(16_000, 1, &samples);
    let (_, clean, _, _) = decode_all(keep(), &[&wav]);
    let settings = DecoderSettings {
        codec_panic_at_packet: Some(2),
        ..keep()
    };
    let chunks: Vec<&[u8]> = wav.chunks(1000).collect();
    let (_, pcm, warnings, errors) = decode_all(settings, &chunks);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("decoder failed on it (injected codec panic)"),
        "{warnings:?}"
    );
    // Exactly one packet is missing; everything before and after it is intact.
    let lost = clean.len() - pcm.len();
    assert!(lost > 0 && lost < clean.len() / 4, "lost {lost} bytes");
    let kept_before = clean.iter().zip(&pcm).take_while(|(a, b)| a == b).count();
    assert_eq!(pcm[kept_before..], clean[kept_before + lost..]);
}

#[test]
fn gap_watch_flags_jumps_only() {
    let mut watch = GapWatch::default();
    // With durations: contiguous, then a jump of three packets.
    assert_eq!(watch.check(0, 1152), None);
    assert_eq!(watch.check(1152, 1152), None);
    assert_eq!(watch.check(5760, 1152), Some(2304));
    // Without durations (ms time base): mixed 3 and 23 ms steps are normal.
    let mut watch = GapWatch::default();
    for pts in [0, 23, 26, 29, 52, 75, 78] {
        assert_eq!(watch.check(pts, 0), None, "at {pts}");
    }
    assert_eq!(watch.check(800, 0), None, "a long but plausible step");
    assert_eq!(watch.check(50_000, 0), Some(800 + 722));
    assert_eq!(watch.check(1523, 0), None);
}

#[test]
fn empty_input_ends_without_error() {
    let (formats, pcm, warnings, errors) = decode_all(keep(), &[]);
    assert!(formats.is_empty() && pcm.is_empty() && warnings.is_empty() && errors.is_empty());
}

#[test]
fn wrong_hint_falls_back_to_probe() {
    let wav = wav_bytes(8_000, 1, &ramp(4_000));
    let settings = DecoderSettings {
        hint: Some(ContainerHint::Flac),
        ..keep()
    };
    let chunks: Vec<&[u8]> = wav.chunks(100).collect();
    let (formats, pcm, _, errors) = decode_all(settings, &chunks);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(formats[0].container, "wave");
    assert_eq!(pcm.len(), 8_000);
}

/// Pushes `input` as the fuzzer does (chunk sizes from its generator seeded with 42) to a
/// 48 kHz mono decoder; the first internal error, if any.
fn internal_error_as_fuzzed(input: &[u8]) -> Option<DecoderEvent> {
    let mut decoder =
        StreamDecoder::start(DecoderSettings::new(Some(48_000), Some(1), None)).unwrap();
    let (mut state, mut rest) = (42u32 | 1, input);
    let mut events = Vec::new();
    while !rest.is_empty() && !decoder.is_finished() {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let size = 1 + (state >> 8) as usize % 8192;
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        events.extend(decoder.push(chunk));
        rest = tail;
    }
    events.extend(decoder.finish());
    events.into_iter().find(|e| {
        matches!(
            e,
            DecoderEvent::Error(DecoderError {
                kind: ErrorKind::Internal,
                ..
            })
        )
    })
}

/// Found by fuzzing: while a CAF stream was still being probed, the MPEG splitter took a
/// false frame chain for MP3 and an "APETAGEX" after it for a tag to drop, and dropping it
/// broke the Matroska watcher's stream offsets (a panic).
#[test]
fn no_tag_is_dropped_while_the_container_is_probed() {
    let input = include_bytes!("../../tests/data/fuzz-ape-skip-while-probing.caf");
    let internal = internal_error_as_fuzzed(input);
    assert!(internal.is_none(), "{internal:?}");
}

/// Found by fuzzing: a FLAC frame header in another format near the end, with nothing after
/// it to confirm a change of format, held the reader before it once the input closed, and
/// the decoder never finished (`flac_split`).
#[test]
fn an_unconfirmed_flac_format_change_does_not_hold_the_end() {
    let input = include_bytes!("../../tests/data/fuzz-flac-unconfirmed-change.flac");
    let internal = internal_error_as_fuzzed(input);
    assert!(internal.is_none(), "{internal:?}");
}

/// Found by fuzzing: a Matroska Vorbis stream whose floor 1 lists an X value twice (0, which
/// symphonia-codec-vorbis 0.6.1 leaves out of its uniqueness check) makes that decoder divide
/// by zero on every packet. Each packet is skipped with a WARNING that says so; no internal
/// error, no abort.
#[test]
fn a_codec_panicking_on_every_packet_costs_those_packets_only() {
    let input = include_bytes!("../../tests/data/fuzz-vorbis-floor-x-list.mka");
    let internal = internal_error_as_fuzzed(input);
    assert!(internal.is_none(), "{internal:?}");
    let (_, _, warnings, errors) = decode_all(keep(), &[input]);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("the vorbis decoder failed on it (attempt to divide by zero)")),
        "{warnings:?}"
    );
}

/// Found by fuzzing: a fragmented MP4 whose `trun` says its first sample has a duration of its
/// own and holds no samples makes symphonia-format-isomp4 0.6.1 index an empty list (a panic).
/// The stream ends there with a WARNING that says so; no internal error, no abort.
#[test]
fn a_reader_panicking_on_damage_ends_the_stream_with_a_warning() {
    assert_ends_with_a_warning(
        include_bytes!("../../tests/data/fuzz-mp4-trun-without-durations.mp4"),
        "the isomp4 reader failed on damaged data (index out of bounds",
    );
}

/// `input` decodes, as fuzzed and whole, without an internal error, and with a WARNING that
/// says `warning`.
fn assert_ends_with_a_warning(input: &[u8], warning: &str) {
    let internal = internal_error_as_fuzzed(input);
    assert!(internal.is_none(), "{internal:?}");
    let (_, _, warnings, _) = decode_all(keep(), &[input]);
    assert!(warnings.iter().any(|w| w.contains(warning)), "{warnings:?}");
}

/// Found by fuzzing: an MP4 whose chunk offset is beyond 2^63 makes symphonia-format-isomp4
/// 0.6.1 seek its source by more than `isize::MAX`, and symphonia-core asserts (a panic in the
/// core crate, on the reader's behalf). The stream ends there with a WARNING; no internal error.
#[test]
fn a_reader_panicking_in_symphonia_core_ends_the_stream_with_a_warning() {
    assert_ends_with_a_warning(
        include_bytes!("../../tests/data/fuzz-mp4-huge-chunk-offset.mp4"),
        "the isomp4 reader failed on damaged data",
    );
}

/// Found by fuzzing: a 2 KiB fragmented MP4 whose `trun` declares 3979124231 samples of the
/// default size. symphonia-format-isomp4 0.6.1 loops once per declared sample while reading the
/// box: eight seconds of CPU on the streaming thread (now 10 ms for the whole test).
/// `container::mp4_watch` ends reads before such a fragment; as it is the stream's first, the
/// stream cannot be read, and the ERROR says why.
#[test]
fn an_mp4_fragment_declaring_billions_of_samples_is_not_read() {
    let input = include_bytes!("../../tests/data/fuzz-mp4-trun-billions-of-samples.mp4");
    let internal = internal_error_as_fuzzed(input);
    assert!(internal.is_none(), "{internal:?}");
    let (_, _, _, errors) = decode_all(keep(), &[input]);
    assert!(
        errors.iter().any(|e| e
            .contains("the MP4 stream could not be read: a fragment declares 3979124231 samples")),
        "{errors:?}"
    );
}

/// Found by fuzzing: a 1.5 KiB Monkey's Audio file whose seek table puts the first frame 3 GB
/// into the stream. The reader kept every byte up to a frame's end in memory, sized by the
/// header before any arrived: 2.9 GB resident. The first frame must start right after the
/// header, so the stream is refused at once and says why.
#[test]
fn an_ape_seek_table_pointing_gigabytes_ahead_is_refused() {
    let input = include_bytes!("../../tests/data/fuzz-ape-seek-table-past-gigabytes.ape");
    let internal = internal_error_as_fuzzed(input);
    assert!(internal.is_none(), "{internal:?}");
    let (_, _, _, errors) = decode_all(keep(), &[input]);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("the first frame is not after the header")),
        "{errors:?}"
    );
}

#[test]
fn dropping_mid_stream_winds_the_decoder_down() {
    let wav = wav_bytes(8_000, 1, &ramp(4_000));
    let mut decoder = StreamDecoder::start(keep()).unwrap();
    decoder.push(&wav[..10]); // inside the probe
    drop(decoder);
    let mut decoder = StreamDecoder::start(keep()).unwrap();
    decoder.push(&wav[..3000]); // mid-decode
    assert!(!decoder.is_finished());
    drop(decoder);
}

/// A FLAC frame does not state its length: it goes out as soon as the next frame's header is
/// in, and not before (`container::flac_frames`), in pieces of any size.
#[test]
fn a_flac_frame_goes_out_once_the_next_header_is_in() {
    let bytes = include_bytes!("../../tests/data/flac-test-files/60 - mono audio.flac");
    // Where each frame starts and how long its header is: headers with consecutive numbers.
    let mut frames = Vec::new();
    let mut at = 0;
    while let Some(offset) = memchr::memchr(0xff, &bytes[at..]) {
        let start = at + offset;
        if let Some(header) = crate::container::flac::frame_header(&bytes[start..])
            && header.number == frames.len() as u64
        {
            frames.push((start, header.len));
        }
        at = start + 1;
    }
    assert!(frames.len() > 10, "{frames:?}");
    let mut decoder = StreamDecoder::start(keep()).unwrap();
    let mut pushed = 0;
    let mut frames_out = 0;
    let mut push_to = |end: usize, frames_out: &mut usize| {
        for event in decoder.push(&bytes[pushed..end]) {
            if let DecoderEvent::Pcm(pcm) = event {
                *frames_out += pcm.len() / 2;
            }
        }
        pushed = end;
    };
    for (k, &(start, header_len)) in frames.iter().enumerate().skip(1).take(8) {
        // All of frame k-1 and all but the last byte of frame k's header: not confirmed yet.
        push_to(start + header_len - 1, &mut frames_out);
        assert_eq!(frames_out, (k - 1) * 4096, "frame {k}'s header incomplete");
        push_to(start + header_len, &mut frames_out);
        assert_eq!(frames_out, k * 4096, "frame {k}'s header in");
    }
}
