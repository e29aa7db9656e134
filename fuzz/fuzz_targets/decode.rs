//! Feeds arbitrary bytes, in arbitrary chunks, through the whole decoder core: stream buffer,
//! probe or hinted reader, the byte watchers (MPEG split, Matroska walk, MP4 edit
//! list), decoding, channel mixing, resampling and S16LE conversion.
//!
//! Fails on any panic of ours (libfuzzer-sys aborts on a panic even where the worker would have
//! caught it and posted an ERROR), on an internal error and on a hang (libFuzzer's `-timeout`).
//! Also checks that every PCM event holds whole frames of the announced format.
//!
//! A panic inside one of symphonia's codecs or readers is damaged input meeting an upstream bug,
//! which the worker contains (the packet is skipped with a WARNING, a damaged setup is an ERROR,
//! a reader's panic ends the stream with a WARNING; see `decoder::tests` and
//! `tests/data/fuzz-*`): it is printed and fuzzing goes on.
//!
//! Input layout: byte 0 seeds the chunk sizes, byte 1 picks the output settings and the format
//! hint (or Opus packets behind control headers, as the element frames `audio/x-opus` buffers),
//! the rest is the stream.

#![no_main]

use gstrsstreamdecoder::codecs::opus::OpusLayout;
use gstrsstreamdecoder::decoder::{DecoderEvent, DecoderSettings, ErrorKind, StreamDecoder};
use gstrsstreamdecoder::format_hint::ContainerHint;
use libfuzzer_sys::fuzz_target;

const HINTS: [&str; 10] = [
    "mp3",
    "aac",
    "ogg",
    "flac",
    "wav",
    "webm",
    "m4a",
    "aiff",
    "audio/L16;rate=8000;channels=2",
    "pcm_s24le;rate=44100",
];

/// Replaces libfuzzer-sys's aborting panic hook with one that lets panics inside symphonia's
/// codec and format crates unwind to the worker's `catch_unwind`, and panics in symphonia-core
/// reached from one of those crates (an isomp4 seek by more than `isize::MAX`: see
/// `tests/data/fuzz-mp4-huge-chunk-offset.mp4`). A core panic reached from our own readers
/// still fails.
fn contain_codec_panics() {
    let aborting = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let file = info.location().map_or("", |l| l.file());
        let in_codec = file.contains("/symphonia-codec-")
            || file.contains("/symphonia-bundle-")
            || file.contains("/symphonia-format-")
            || (file.contains("/symphonia-core-")
                && caller_outside_symphonia_core().is_some_and(|caller| {
                    [
                        "/symphonia-format-",
                        "/symphonia-codec-",
                        "/symphonia-bundle-",
                    ]
                    .iter()
                    .any(|krate| caller.contains(krate))
                }));
        if in_codec {
            eprintln!("codec panic, contained by the worker: {info}");
        } else {
            aborting(info);
        }
    }));
}

/// The source file of the frame nearest the panic that is not in symphonia-core, the standard
/// library or this hook (frame names of inlined calls are too short to tell crates apart).
fn caller_outside_symphonia_core() -> Option<String> {
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    let caller = trace
        .lines()
        .filter_map(|line| line.trim().strip_prefix("at "))
        .find(|file| {
            !file.starts_with("/rustc/")
                && !file.contains("/symphonia-core-")
                && !file.contains("/library/std/")
                && !file.contains("/library/core/")
                && !file.contains("fuzz_targets/decode.rs")
        })?;
    eprintln!("symphonia-core panicked, called from {caller}");
    Some(caller.to_string())
}

fuzz_target!(init: contain_codec_panics(), |input: &[u8]| {
    let [seed, mode, stream @ ..] = input else {
        return;
    };
    let (out_rate, out_channels) = match mode & 3 {
        0 => (None, None),
        1 => (Some(48_000), Some(1)),
        2 => (Some(16_000), Some(2)),
        _ => (Some(44_100), Some(6)),
    };
    // The named hints, then Opus packets framed as the element frames them (stereo, 5.1).
    let hint = (mode & 4 != 0)
        .then(|| match (mode >> 3) as usize % (HINTS.len() + 2) {
            i if i < HINTS.len() => ContainerHint::parse(HINTS[i]),
            i if i == HINTS.len() => OpusLayout::new(2, None, 312, 0).map(ContainerHint::OpusPackets),
            _ => OpusLayout::new(6, Some((1, 4, 2, &[0, 4, 1, 2, 3, 5])), 312, 0)
                .map(ContainerHint::OpusPackets),
        })
        .flatten();
    let settings = DecoderSettings::new(out_rate, out_channels, hint);
    let mut decoder = StreamDecoder::start(settings).expect("decoder starts");

    let mut frame_size = 0;
    let mut check = |events: Vec<DecoderEvent>| {
        for event in events {
            match event {
                DecoderEvent::Format(format) => {
                    assert!(format.out_rate > 0 && format.out_channels > 0, "{format:?}");
                    frame_size = format.out_channels * 2;
                }
                DecoderEvent::Pcm(pcm) => {
                    assert!(frame_size > 0, "PCM before its format");
                    assert_eq!(pcm.len() % frame_size, 0, "PCM with a partial frame");
                }
                DecoderEvent::Warning(_)
                | DecoderEvent::Duration(_)
                | DecoderEvent::Latency { .. }
                | DecoderEvent::Bitrate(_)
                | DecoderEvent::Tags(_) => {}
                DecoderEvent::Error(error) => {
                    assert_ne!(error.kind, ErrorKind::Internal, "{}", error.message);
                }
            }
        }
    };

    // Chunk sizes from 1 byte to 8 KiB, from a small LCG seeded by byte 0.
    let mut state = *seed as u32 | 1;
    let mut rest = stream;
    while !rest.is_empty() && !decoder.is_finished() {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let size = 1 + (state >> 8) as usize % 8192;
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        check(decoder.push(chunk));
        rest = tail;
    }
    check(decoder.finish());
});
