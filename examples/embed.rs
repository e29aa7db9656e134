//! Embedding the element in an application, as a voice agent does with streamed speech: the
//! plugin is registered statically (no .so on GST_PLUGIN_PATH), the application pushes bytes as
//! they arrive into `appsrc`, and takes 48 kHz mono S16LE out of `appsink`.
//!
//!     cargo run --release --example embed -- [FILE] [CHUNK_BYTES] [CHUNK_INTERVAL_MS]
//!
//! Defaults: examples/sample.mp3, 1024-byte chunks, 10 ms apart (a network delivering faster
//! than real time). Prints when the first PCM came out, how much came out, and the element's
//! `stats`.

use std::time::{Duration, Instant};

use gst::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/sample.mp3").to_string());
    let chunk_bytes: usize = args.next().map_or(Ok(1024), |a| a.parse())?;
    let interval = Duration::from_millis(args.next().map_or(Ok(10), |a| a.parse())?);
    let bytes = std::fs::read(&path)?;

    gst::init()?;
    gstrsstreamdecoder::plugin_register_static()?;

    // No caps on appsrc: the element finds the format itself. Downstream gets one fixed format.
    let pipeline = gst::parse::launch(
        "appsrc name=src format=bytes ! rsstreamdecoder name=decoder sample-rate=48000 channels=1 \
         ! appsink name=sink sync=false",
    )?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;
    let src = pipeline
        .by_name("src")
        .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        .ok_or("no appsrc")?;
    let sink = pipeline
        .by_name("sink")
        .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
        .ok_or("no appsink")?;
    let decoder = pipeline.by_name("decoder").ok_or("no decoder")?;
    pipeline.set_state(gst::State::Playing)?;

    // The network side: push chunks as they "arrive", on their own thread.
    let started = Instant::now();
    let feeder = std::thread::spawn(move || {
        for chunk in bytes.chunks(chunk_bytes) {
            if src
                .push_buffer(gst::Buffer::from_slice(chunk.to_vec()))
                .is_err()
            {
                break;
            }
            std::thread::sleep(interval);
        }
        let _ = src.end_of_stream();
    });

    // The audio side: take PCM as it comes, e.g. to send it on to a WebRTC track.
    let mut frames = 0u64;
    let mut first_pcm_after = None;
    while let Ok(sample) = sink.pull_sample() {
        let buffer = sample.buffer().ok_or("sample without buffer")?;
        first_pcm_after.get_or_insert_with(|| started.elapsed());
        frames += buffer.size() as u64 / 2;
    }
    feeder.join().map_err(|_| "feeder panicked")?;

    let bus = pipeline.bus().ok_or("no bus")?;
    if let Some(message) = bus.pop_filtered(&[gst::MessageType::Error])
        && let gst::MessageView::Error(error) = message.view()
    {
        eprintln!("error: {}", error.error());
    }
    let stats = decoder.property::<gst::Structure>("stats");
    pipeline.set_state(gst::State::Null)?;

    println!("input: {path}, {chunk_bytes}-byte chunks every {interval:?}");
    if let Some(after) = first_pcm_after {
        println!("first PCM after {after:.2?}");
    }
    println!(
        "output: {frames} frames = {:.3} s at 48000 Hz mono",
        frames as f64 / 48_000.0
    );
    println!("stats: {stats}");
    Ok(())
}
