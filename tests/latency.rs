//! Live pipelines: what latency the element reports, and whether its PCM reaches a `sync=true`
//! sink in time. Each file is pushed at real-time pace in 20 ms pieces through
//! `appsrc is-live=true do-timestamp=true`, as a voice agent pushes streamed TTS.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use gst::prelude::*;

/// How far behind its timestamp each buffer left the element: the pipeline clock then minus base
/// time + running time of its PTS; and the latency the sink was using at the last buffer (the
/// element reports its latency before its first PCM, and it does not change after). A buffer
/// is late when it is behind by more than that latency: the sink would get it after its time.
#[derive(Default)]
struct Lateness {
    per_buffer_ns: Vec<i64>,
    latency: Option<gst::ClockTime>,
    /// Buffers flagged DISCONT after the first.
    discontinuities: usize,
}

struct LiveRun {
    name: &'static str,
    latency: gst::ClockTime,
    /// Lateness of each buffer without the latency, i.e. how long after its timestamp it came.
    behind_ns: Vec<i64>,
    discontinuities: usize,
}

impl LiveRun {
    fn percentile_ms(&self, p: f64) -> f64 {
        let mut sorted = self.behind_ns.clone();
        sorted.sort_unstable();
        let index = ((sorted.len() - 1) as f64 * p).round() as usize;
        sorted[index] as f64 / 1e6
    }

    fn late(&self, allowance: Duration) -> usize {
        let latency = self.latency.nseconds() as i64;
        self.behind_ns
            .iter()
            .filter(|&&behind| behind > latency + allowance.as_nanos() as i64)
            .count()
    }
}

/// A stop in the input: after `after` of audio, nothing for `length`.
#[derive(Clone, Copy)]
struct Pause {
    after: Duration,
    length: Duration,
}

/// Pushes `name` in pieces of `piece` of audio at real-time pace (with a `pause`, if any) and
/// records how far behind its timestamp each output buffer reached a `sync=true` sink.
fn run_live(name: &'static str, props: &str, piece: Duration, pause: Option<Pause>) -> LiveRun {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let seconds = SOURCE_SECONDS as f64;
    let piece_bytes = ((bytes.len() as f64 / seconds) * piece.as_secs_f64()).ceil() as usize;
    let pipeline = launch(&format!(
        "appsrc name=src is-live=true do-timestamp=true format=time ! \
         rsstreamdecoder {props} ! queue name=queue max-size-buffers=0 max-size-bytes=0 \
         max-size-time=0 ! fakesink name=sink sync=true"
    ));
    let appsrc = app_src(&pipeline);
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_base::BaseSink>()
        .unwrap();
    let record = Arc::new(Mutex::new(Lateness::default()));
    {
        let record = record.clone();
        let sink_for_probe = sink.clone();
        sink.static_pad("sink")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
                let Some(buffer) = info.buffer() else {
                    return gst::PadProbeReturn::Ok;
                };
                let (Some(clock), Some(base), Some(pts)) = (
                    sink_for_probe.clock(),
                    sink_for_probe.base_time(),
                    buffer.pts(),
                ) else {
                    return gst::PadProbeReturn::Ok;
                };
                let segment = pad
                    .sticky_event::<gst::event::Segment>(0)
                    .and_then(|e| e.segment().downcast_ref::<gst::ClockTime>().cloned());
                let Some(running) = segment.and_then(|s| s.to_running_time(pts)) else {
                    return gst::PadProbeReturn::Ok;
                };
                let now = clock.time();
                let behind = now.nseconds() as i64 - (base + running).nseconds() as i64;
                let mut record = record.lock().unwrap();
                if !record.per_buffer_ns.is_empty()
                    && buffer.flags().contains(gst::BufferFlags::DISCONT)
                {
                    record.discontinuities += 1;
                }
                record.per_buffer_ns.push(behind);
                record.latency = Some(gst_base::prelude::BaseSinkExt::latency(&sink_for_probe));
                gst::PadProbeReturn::Ok
            });
    }
    pipeline.set_state(gst::State::Playing).unwrap();
    let (reached, ..) = pipeline.state(gst::ClockTime::from_seconds(5));
    reached.expect("the live pipeline did not reach PLAYING");
    let start = Instant::now();
    for (i, chunk) in bytes.chunks(piece_bytes).enumerate() {
        let mut due = start + piece * i as u32;
        if let Some(pause) = pause.filter(|p| piece * i as u32 >= p.after) {
            due += pause.length;
        }
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        appsrc
            .push_buffer(gst::Buffer::from_slice(chunk.to_vec()))
            .unwrap();
    }
    appsrc.end_of_stream().unwrap();
    let bus = pipeline.bus().unwrap();
    let message = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(20),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("no EOS within 20 s");
    assert_eq!(
        message.type_(),
        gst::MessageType::Eos,
        "{name}: {message:?}"
    );
    pipeline.set_state(gst::State::Null).unwrap();
    let record = record.lock().unwrap();
    LiveRun {
        name,
        latency: record.latency.unwrap_or(gst::ClockTime::ZERO),
        behind_ns: record.per_buffer_ns.clone(),
        discontinuities: record.discontinuities,
    }
}

/// What the element needs at most: ≤ 250 ms at 20 ms pieces, Ogg in ffmpeg's 1 s pages included
/// (packets come out one by one as their bytes arrive, not a page at a time), with a Skeleton
/// track or video in front of the audio too.
const LATENCY_BOUND: Duration = Duration::from_millis(250);

/// How late a buffer may reach the sink through thread scheduling alone (see `run_all_live`).
const SCHEDULING_JITTER: Duration = Duration::from_millis(2);

#[test]
fn live_pcm_is_never_later_than_the_reported_latency() {
    init();
    let formats: &[&'static str] = &[
        "mp3_cbr.mp3",
        "aac_adts.aac",
        "he_aac.aac",
        "opus_live.ogg",
        "opus.ogg",
        "opus_skeleton_first.ogg",
        "vorbis_theora.ogv",
        "opus.webm",
        "vorbis_live.ogg",
        "vorbis.ogg",
        "flac.flac",
        "flac.oga",
        "s16.wav",
        "aac.m4a",
        "amr_wb.amr",
        // HTTP-FLV as live streams send it (audio only: with video in it, bytes paced by the
        // file's size do not keep the audio's pace, and the output jumps with them), and
        // DVB's LATM.
        "he_aac.flv",
        "aac.loas",
    ];
    let runs = run_all_live(formats, None);
    for run in &runs {
        assert!(!run.behind_ns.is_empty(), "{}: no PCM", run.name);
        // Input that runs ahead by what the element holds back is no pause.
        assert_eq!(run.discontinuities, 0, "{}: the output jumped", run.name);
        assert!(
            run.latency > gst::ClockTime::ZERO
                && run.latency.nseconds() <= LATENCY_BOUND.as_nanos() as u64,
            "{}: reported latency {}",
            run.name,
            run.latency
        );
    }
}

/// A live stream that stops, as TTS does between sentences (a second) or a network or an Opus
/// encoder's DTX does for a few packets (60 to 200 ms), resampled to 48 kHz: the output jumps to
/// the input's time (one DISCONT), and what the decoder held from before the pause, stamped just
/// before the jump, still reaches the sink in time: no buffer is late.
#[test]
fn live_pcm_stays_in_time_across_a_pause() {
    init();
    let formats: &[&'static str] = &["mp3_cbr.mp3", "aac_adts.aac", "opus_live.ogg", "s16.wav"];
    for length in [1000, 200, 150, 60] {
        let pause = Pause {
            after: Duration::from_millis(1000),
            length: Duration::from_millis(length),
        };
        println!("pause of {length} ms");
        for run in run_all_live(formats, Some(pause)) {
            assert!(
                run.discontinuities <= 1,
                "{}: one jump at most, at the pause of {length} ms",
                run.name
            );
        }
    }
}

/// Runs every format at once (`run_live`, 20 ms pieces), prints what each reached, and checks
/// that no buffer reached the sink after its time plus the reported latency.
fn run_all_live(formats: &[&'static str], pause: Option<Pause>) -> Vec<LiveRun> {
    // Make the fixtures first, so encoding does not count against the first run.
    for name in formats {
        fixture(name);
    }
    let runs: Vec<LiveRun> = std::thread::scope(|scope| {
        let handles: Vec<_> = formats
            .iter()
            .map(|&name| scope.spawn(move || run_live(name, "", Duration::from_millis(20), pause)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for run in &runs {
        // The input timestamps a live appsrc gives shift with the pipeline's latency, so what
        // says how close the PCM comes to being late is the margin left: latency − behind.
        println!(
            "{:<16} reported latency {:>4} ms; margin left p50 {:>6.1} ms, min {:>6.1}; \
             {} buffers, {} late, {} DISCONT after the first",
            run.name,
            run.latency.mseconds(),
            run.latency.mseconds() as f64 - run.percentile_ms(0.5),
            run.latency.mseconds() as f64 - run.percentile_ms(1.0),
            run.behind_ns.len(),
            run.late(Duration::ZERO),
            run.discontinuities,
        );
    }
    for run in &runs {
        // Up to SCHEDULING_JITTER late is the machine, not the element: after a short pause
        // the held PCM goes out with under a millisecond to spare by design, and on a loaded
        // 2-core machine a wake-up comes that much late now and then (a fresh-clone CI run,
        // with a build beside it, saw one buffer 0.3 ms late). What this guards against is
        // lateness by a piece (20 ms) or a packet.
        assert_eq!(
            run.late(SCHEDULING_JITTER),
            0,
            "{}: buffers reached the sink after their time + the reported latency {}",
            run.name,
            run.latency
        );
    }
    runs
}

/// The LATENCY query answers upstream's latency plus the element's, once the stream is known.
#[test]
fn latency_query_adds_the_elements_latency_to_upstreams() {
    init();
    let pipeline = launch(
        "appsrc name=src is-live=true do-timestamp=true format=time min-latency=5000000 ! \
         rsstreamdecoder name=dec ! fakesink sync=true",
    );
    let appsrc = app_src(&pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    // Asked of the element's source pad, as a sink asks it.
    let src_pad = pipeline.by_name("dec").unwrap().static_pad("src").unwrap();
    let query_latency = || {
        let mut query = gst::query::Latency::new();
        assert!(src_pad.query(&mut query), "LATENCY query not answered");
        query.result()
    };
    let (live, before, _) = query_latency();
    assert!(live);
    assert_eq!(
        before,
        gst::ClockTime::from_mseconds(5),
        "only appsrc's before the stream"
    );
    let wav = std::fs::read(fixture("s16.wav")).unwrap();
    appsrc
        .push_buffer(gst::Buffer::from_slice(wav[..20_000].to_vec()))
        .unwrap();
    let bus = pipeline.bus().unwrap();
    bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(10),
        &[gst::MessageType::Latency],
    )
    .expect("no LATENCY message once the stream was known");
    let (live, after, _) = query_latency();
    assert!(live);
    assert!(
        after > before && after < before + gst::ClockTime::from_mseconds(100),
        "{after}: WAV at 44.1 kHz to 48 kHz holds a block and a resampler block back"
    );
    pipeline.set_state(gst::State::Null).unwrap();
}
