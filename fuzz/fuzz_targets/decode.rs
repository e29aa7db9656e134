//! Feeds arbitrary bytes, in arbitrary chunks, through the whole decoder core: stream buffer,
//! probe or hinted reader, the byte watchers (MPEG split, Ogg CRC, Matroska walk, MP4 edit
//! list), decoding, channel mixing, resampling and S16LE conversion.
//!
//! Fails on any panic (libfuzzer-sys aborts on a panic even where the worker would have caught
//! it and posted an ERROR), on an internal error and on a hang (libFuzzer's `-timeout`). Also
//! checks that every PCM event holds whole frames of the announced format.
//!
//! Input layout: byte 0 seeds the chunk sizes, byte 1 picks the output settings and the format
//! hint, the rest is the stream.

#![no_main]

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

fuzz_target!(|input: &[u8]| {
    let [seed, mode, stream @ ..] = input else {
        return;
    };
    let (out_rate, out_channels) = match mode & 3 {
        0 => (None, None),
        1 => (Some(48_000), Some(1)),
        2 => (Some(16_000), Some(2)),
        _ => (Some(44_100), Some(6)),
    };
    let hint = (mode & 4 != 0)
        .then(|| ContainerHint::parse(HINTS[(mode >> 3) as usize % HINTS.len()]))
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
                | DecoderEvent::Latency(_)
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
