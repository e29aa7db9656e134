//! State changes while the decoder thread is busy (DESIGN.md contract 8). Alone in its test
//! binary so the count of decoder threads in this process is its own.

mod common;

use std::time::{Duration, Instant};

use common::*;
use gst::prelude::*;

fn decoder_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "rsstreamdecoder")
        .count()
}

#[test]
fn null_mid_probe_and_mid_decode_returns_promptly() {
    init();
    let mp3 = std::fs::read(fixture("mp3_cbr.mp3")).unwrap();
    let before = decoder_threads();
    for cut in [10, 3000, mp3.len() / 2] {
        let pipeline = gst::parse::launch(
            "appsrc name=src format=bytes ! rsstreamdecoder ! fakesink sync=false",
        )
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
        let appsrc = pipeline
            .by_name("src")
            .unwrap()
            .downcast::<gst_app::AppSrc>()
            .unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        appsrc
            .push_buffer(gst::Buffer::from_slice(mp3[..cut].to_vec()))
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            decoder_threads(),
            before + 1,
            "one decoder thread while running"
        );
        let start = Instant::now();
        pipeline.set_state(gst::State::Null).unwrap();
        let took = start.elapsed();
        println!("NULL after {cut} bytes took {took:?}");
        assert!(
            took < Duration::from_secs(5),
            "set_state(NULL) hung: {took:?}"
        );
        assert_eq!(decoder_threads(), before, "decoder thread left behind");
    }
}
