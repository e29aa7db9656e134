//! State changes while the decoder is busy (DESIGN.md contract 8). Alone in its test binary so
//! the count of threads in this process is its own.

mod common;

use std::time::{Duration, Instant};

use common::*;
use gst::prelude::*;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// Pushes `bytes` into the element through a harness, which calls the chain function from this
/// thread: no streaming thread and no pool thread of GStreamer's is involved, so any thread that
/// appears was started by the element.
fn threads_added_by_element(bytes: &[u8]) -> usize {
    let before = threads();
    let mut harness = gst_check::Harness::new("rsstreamdecoder");
    harness.set_src_caps_str("application/octet-stream");
    harness
        .push(gst::Buffer::from_slice(bytes.to_vec()))
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let during = threads();
    drop(harness);
    during.saturating_sub(before)
}

/// `appsrc ! rsstreamdecoder ! fakesink` with one buffer pushed.
fn running_pipeline(bytes: &[u8]) -> gst::Pipeline {
    let pipeline = launch("appsrc name=src format=bytes ! rsstreamdecoder ! fakesink sync=false");
    let appsrc = app_src(&pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    appsrc
        .push_buffer(gst::Buffer::from_slice(bytes.to_vec()))
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    pipeline
}

#[test]
fn null_mid_probe_and_mid_decode_returns_promptly() {
    init();
    let mp3 = std::fs::read(fixture("mp3_cbr.mp3")).unwrap();
    for cut in [10, 3000, mp3.len() / 2] {
        // The decoder runs on the thread that pushes: the element starts no thread of its own.
        let added = threads_added_by_element(&mp3[..cut]);
        assert_eq!(
            added, 0,
            "the element started {added} thread(s) after {cut} bytes"
        );

        let pipeline = running_pipeline(&mp3[..cut]);
        let start = Instant::now();
        pipeline.set_state(gst::State::Null).unwrap();
        let took = start.elapsed();
        println!("NULL after {cut} bytes took {took:?}");
        assert!(
            took < Duration::from_secs(5),
            "set_state(NULL) hung: {took:?}"
        );
    }
}

/// One pipeline of the stress test and how far its file has been pushed.
struct Stressed {
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    bytes: Vec<u8>,
    pushed: usize,
    bytes_out: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Changes the state and checks it did not hang. Checks the bus for ERRORs first: going to NULL
/// flushes the bus.
fn set_state_promptly(pipeline: &gst::Pipeline, state: gst::State) {
    let bus = pipeline.bus().unwrap();
    let errors: Vec<_> =
        std::iter::from_fn(|| bus.pop_filtered(&[gst::MessageType::Error])).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let start = Instant::now();
    // Async is fine (PAUSED and PLAYING preroll); what must not happen is a hang or a failure.
    pipeline
        .set_state(state)
        .unwrap_or_else(|e| panic!("set_state({state:?}) failed: {e}"));
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "set_state({state:?}) took {took:?}"
    );
}

/// Many pipelines alive at once, driven through random pushes, state changes, flushes and EOS.
/// Nothing may hang, fail or post an ERROR; afterwards every element must be freed (and with it
/// its decoder), and each pipeline must still decode its whole file.
#[test]
fn many_pipelines_through_random_state_changes() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    init();
    let files = [
        "mp3_cbr.mp3",
        "opus.ogg",
        "flac.flac",
        "s16.wav",
        "opus.webm",
        "aac.m4a",
        "vorbis.ogg",
        "aac_adts.aac",
    ];
    let mut rng = SplitMix64(2026);
    let mut decoders = Vec::new();
    let mut streams: Vec<Stressed> = (0..16)
        .map(|i| {
            let pipeline = launch(
                "appsrc name=src format=bytes ! rsstreamdecoder name=dec ! \
                 fakesink name=sink sync=false",
            );
            let appsrc = app_src(&pipeline);
            decoders.push(pipeline.by_name("dec").unwrap().downgrade());
            let bytes_out = Arc::new(AtomicU64::new(0));
            let counter = bytes_out.clone();
            pipeline
                .by_name("sink")
                .unwrap()
                .static_pad("sink")
                .unwrap()
                .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                    if let Some(buffer) = info.buffer() {
                        counter.fetch_add(buffer.size() as u64, Ordering::Relaxed);
                    }
                    gst::PadProbeReturn::Ok
                });
            Stressed {
                pipeline,
                appsrc,
                bytes: std::fs::read(fixture(files[i % files.len()])).unwrap(),
                pushed: 0,
                bytes_out,
            }
        })
        .collect();

    let states = [
        gst::State::Null,
        gst::State::Ready,
        gst::State::Paused,
        gst::State::Playing,
    ];
    let (mut pushes, mut refused, mut eos, mut changes, mut flushes) = (0, 0, 0, 0, 0);
    for _ in 0..400 {
        let stream = &mut streams[rng.range(0, 15)];
        match rng.range(0, 9) {
            // Mostly pushes, of any size, so most streams are mid-decode when their state changes.
            0..=5 => {
                if stream.pushed == stream.bytes.len() {
                    // The whole file is in: end the stream (refused if it already ended).
                    if stream.appsrc.end_of_stream().is_ok() {
                        eos += 1;
                    }
                    continue;
                }
                let end = (stream.pushed + rng.range(1, 20_000)).min(stream.bytes.len());
                let chunk = stream.bytes[stream.pushed..end].to_vec();
                // Refused while stopped; the stream starts over after a stop anyway.
                if stream
                    .appsrc
                    .push_buffer(gst::Buffer::from_slice(chunk))
                    .is_ok()
                {
                    stream.pushed = end;
                    pushes += 1;
                } else {
                    refused += 1;
                }
            }
            6..=8 => {
                let state = states[rng.range(0, 3)];
                set_state_promptly(&stream.pipeline, state);
                changes += 1;
                if state <= gst::State::Ready {
                    // appsrc drops what it queued; the next bytes start a new stream.
                    stream.pushed = 0;
                }
            }
            _ => {
                // A flush through the whole pipeline also starts a new stream.
                stream.pipeline.send_event(gst::event::FlushStart::new());
                stream.pipeline.send_event(gst::event::FlushStop::new(true));
                stream.pushed = 0;
                flushes += 1;
            }
        }
    }
    let out: u64 = streams
        .iter()
        .map(|s| s.bytes_out.load(Ordering::Relaxed))
        .sum();
    println!(
        "{pushes} pushes ({refused} refused while stopped), {eos} EOS, {changes} state \
         changes, {flushes} flushes; {} frames out",
        out / 2
    );

    // Every pipeline still decodes its whole file after all that.
    for (i, stream) in streams.iter_mut().enumerate() {
        set_state_promptly(&stream.pipeline, gst::State::Null);
        set_state_promptly(&stream.pipeline, gst::State::Playing);
        stream.bytes_out.store(0, Ordering::Relaxed);
        stream
            .appsrc
            .push_buffer(gst::Buffer::from_slice(stream.bytes.clone()))
            .unwrap();
        stream.appsrc.end_of_stream().unwrap();
        let bus = stream.pipeline.bus().unwrap();
        let message = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(30),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
            .expect("EOS within 30 s");
        assert_eq!(message.type_(), gst::MessageType::Eos, "{message:?}");
        let name = files[i % files.len()];
        let expected = decode_with_element(&stream.bytes, &[], Chunking::Whole).frames();
        let frames = stream.bytes_out.load(Ordering::Relaxed) / 2;
        assert_eq!(frames, expected, "{name} after the stress");
    }

    for stream in &streams {
        set_state_promptly(&stream.pipeline, gst::State::Null);
    }
    drop(streams);
    for decoder in &decoders {
        assert!(decoder.upgrade().is_none(), "an element was never freed");
    }
}
