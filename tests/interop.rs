//! "Plays well with others": the element in real pipelines with stock GStreamer elements
//! (souphttpsrc against a local HTTP server, fdsrc, appsrc live and not, typefind, tee and
//! queue, audiomixer, wavenc ! filesink, appsink). Every test compares numbers: the PCM that
//! comes out of the pipeline against the element's own whole-file decode of the same bytes in a
//! harness (the element's output must not depend on how the bytes arrive: bit-exact), the
//! sample count against the fixture's known length, and the signal against ffmpeg's decode.
//!
//! Every wait is bounded: a pipeline that neither ends (EOS) nor fails (ERROR) within
//! `WAIT` fails the test as a hang. No timing is asserted.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use gst::glib;
use gst::prelude::*;

/// How long any pipeline may take to reach EOS or ERROR (3 s of audio, decoded much faster than
/// real time; generous for a loaded 2-core machine).
const WAIT: gst::ClockTime = gst::ClockTime::from_seconds(30);

type Props = Vec<(&'static str, glib::SendValue)>;

/// `sample-rate` and `channels` properties.
fn out_props(rate: u32, channels: u32) -> Props {
    vec![
        ("sample-rate", rate.to_send_value()),
        ("channels", channels.to_send_value()),
    ]
}

// ---------------------------------------------------------------------------------------------
// Running pipelines
// ---------------------------------------------------------------------------------------------

/// What an appsink received.
#[derive(Debug, Default)]
struct Collected {
    bytes: Vec<u8>,
    /// Every distinct caps seen on the samples, in order.
    caps: Vec<gst::Caps>,
    /// PTS, duration and size of every buffer.
    buffers: Vec<(Option<gst::ClockTime>, Option<gst::ClockTime>, usize)>,
}

impl Collected {
    fn add(&mut self, sample: &gst::Sample) {
        if let Some(caps) = sample.caps()
            && self.caps.last().map(|c| c.as_ref()) != Some(caps)
        {
            self.caps.push(caps.to_owned());
        }
        let buffer = sample.buffer().expect("a buffer in the sample");
        let map = buffer.map_readable().unwrap();
        self.buffers
            .push((buffer.pts(), buffer.duration(), map.len()));
        self.bytes.extend_from_slice(&map);
    }

    fn samples(&self) -> Vec<i16> {
        s16le(&self.bytes)
    }

    /// The caps of every sample were S16LE interleaved at this rate and channel count.
    fn assert_caps(&self, what: &str, rate: u32, channels: u32) {
        assert_eq!(self.caps.len(), 1, "{what}: caps {:?}", self.caps);
        let info = gst_audio::AudioInfo::from_caps(&self.caps[0]).expect("audio caps");
        assert_eq!(info.format(), gst_audio::AudioFormat::S16le, "{what}");
        assert_eq!(info.layout(), gst_audio::AudioLayout::Interleaved, "{what}");
        assert_eq!((info.rate(), info.channels()), (rate, channels), "{what}");
    }

    /// The buffers are contiguous in time: each starts where the previous one ended, and the
    /// whole run lasts as long as its samples at `rate` (within 1 ms).
    fn assert_contiguous(&self, what: &str, rate: u32, channels: u32) {
        let first = self.buffers[0].0.expect("PTS");
        let mut end = first;
        for (i, (pts, duration, _)) in self.buffers.iter().enumerate() {
            let pts = pts.unwrap_or_else(|| panic!("{what}: buffer {i} has no PTS"));
            let duration = duration.unwrap_or_else(|| panic!("{what}: buffer {i} no duration"));
            assert_eq!(pts, end, "{what}: gap or overlap before buffer {i}");
            end = pts + duration;
        }
        let frames = (self.bytes.len() / (2 * channels as usize)) as u64;
        let expected = frames_to_time(frames, rate);
        let span = end - first;
        assert!(
            span.nseconds().abs_diff(expected.nseconds()) <= 1_000_000,
            "{what}: buffers span {span}, their {frames} frames last {expected}"
        );
    }
}

/// Collects everything the appsink `name` of `pipeline` receives, from its streaming thread.
fn collect(pipeline: &gst::Pipeline, name: &str) -> Arc<Mutex<Collected>> {
    let sink = pipeline
        .by_name(name)
        .unwrap_or_else(|| panic!("no element {name}"))
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let out = Arc::new(Mutex::new(Collected::default()));
    let out_cb = out.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                out_cb.lock().unwrap().add(&sample);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    out
}

/// How a pipeline ended.
#[derive(Debug)]
enum End {
    Eos,
    /// The element that posted the first ERROR, and the message with its debug text.
    Error {
        from: String,
        text: String,
    },
}

/// Waits (bounded) for EOS or ERROR, stops the pipeline and returns how it ended and the
/// WARNING messages posted on the way (and right after an ERROR). A pipeline that does neither
/// within `WAIT` is a hang and fails the test.
fn wait_end(pipeline: &gst::Pipeline) -> (End, Vec<String>) {
    let bus = pipeline.bus().unwrap();
    let deadline = Instant::now() + Duration::from(WAIT);
    let mut warnings = Vec::new();
    let describe_warning = |msg: &gst::Message| match msg.view() {
        gst::MessageView::Warning(w) => format!("{} ({:?})", w.error(), w.debug()),
        _ => unreachable!(),
    };
    // `timed_pop_filtered` drops the messages it skips: ask for the warnings too.
    let end = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(msg) = bus.timed_pop_filtered(
            gst::ClockTime::try_from(left).unwrap(),
            &[
                gst::MessageType::Eos,
                gst::MessageType::Error,
                gst::MessageType::Warning,
            ],
        ) else {
            let _ = pipeline.set_state(gst::State::Null);
            panic!("neither EOS nor ERROR within {WAIT}: the pipeline hangs");
        };
        match msg.view() {
            gst::MessageView::Eos(_) => break End::Eos,
            gst::MessageView::Error(e) => {
                break End::Error {
                    from: msg
                        .src()
                        .map_or("?".into(), |s| s.path_string().to_string()),
                    text: format!("{} ({:?})", e.error(), e.debug()),
                };
            }
            _ => warnings.push(describe_warning(&msg)),
        }
    };
    pipeline
        .set_state(gst::State::Null)
        .expect("the pipeline stops");
    warnings.extend(
        std::iter::from_fn(|| bus.pop_filtered(&[gst::MessageType::Warning]))
            .map(|m| describe_warning(&m)),
    );
    (end, warnings)
}

/// Plays a pipeline to its end and checks it ended with EOS and no WARNING.
fn play_clean(pipeline: &gst::Pipeline, what: &str) {
    pipeline
        .set_state(gst::State::Playing)
        .unwrap_or_else(|e| panic!("{what}: PLAYING refused: {e}"));
    let (end, warnings) = wait_end(pipeline);
    assert!(matches!(end, End::Eos), "{what}: {end:?}");
    assert!(warnings.is_empty(), "{what}: {}", summarize(&warnings));
}

// ---------------------------------------------------------------------------------------------
// What the output must be
// ---------------------------------------------------------------------------------------------

/// The element's own decode of the whole fixture in one buffer (harness, no other element).
fn whole_decode(name: &str, props: &[(&str, glib::SendValue)]) -> Decoded {
    let decoded = decode_fixture(name, props, Chunking::Whole);
    assert!(decoded.errors.is_empty(), "{name}: {:?}", decoded.errors);
    assert!(decoded.eos_out, "{name}: no EOS");
    decoded
}

/// `actual` is exactly the whole-file decode: same length, same samples.
fn assert_same_pcm(what: &str, expected: &Decoded, actual: &[i16]) {
    let cmp = compare(&expected.samples, actual, expected.channels);
    println!("{what}: vs whole-file decode: {cmp}");
    assert!(
        cmp.bit_exact(),
        "{what}: not the whole-file decode of the same bytes: {cmp}"
    );
}

/// Frame count within ±1 of `expected` (the element's contract for resampled output).
fn assert_frames(what: &str, actual: &[i16], channels: u32, expected: u64) {
    let frames = (actual.len() / channels as usize) as u64;
    assert!(
        frames.abs_diff(expected) <= 1,
        "{what}: {frames} frames, expected {expected} ± 1"
    );
}

/// SNR of `actual` against ffmpeg's decode of the fixture at `rate`/`channels`. This measures
/// agreement of two decoders and two resamplers (ffmpeg's swr and rubato), not codec quality:
/// at 48 and 32 kHz they agree to 75-105 dB; at lower rates their filters differ more near the
/// new Nyquist frequency and at the abrupt start and end of the signal (16 kHz: ~61 dB, 8 kHz:
/// ~50 dB, the same for FLAC as for AAC). A dropped, repeated or shifted frame lands far below
/// 30 dB. The thresholds sit about 10 dB under what was measured.
fn assert_close_to_ffmpeg(what: &str, name: &str, rate: u32, channels: u32, actual: &[i16]) {
    let min = match rate {
        32_000.. => 65.0,
        16_000.. => 50.0,
        _ => 40.0,
    };
    let reference = reference(&fixture(name), Some(rate), Some(channels));
    let cmp = compare(&reference.samples, actual, channels);
    let (lag, lag_snr) = best_lag(&reference.samples, actual, channels, 50);
    println!("{what}: vs ffmpeg: {cmp}; best lag {lag:+} ({lag_snr:.2} dB)");
    assert!(
        cmp.snr_db >= min,
        "{what}: SNR against ffmpeg {:.2} dB < {min} dB: {cmp}",
        cmp.snr_db
    );
}

/// Length of the test signal at `rate` from a fixture made at `source_rate`.
fn signal_frames(source_frames: u64, source_rate: u32, rate: u32) -> u64 {
    rescale_frames(source_frames, source_rate, rate)
}

/// A scratch file path unique to this process and test.
fn scratch(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("interop-{}-{name}", std::process::id()))
}

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 server
// ---------------------------------------------------------------------------------------------

/// What the server sends for the first request.
#[derive(Clone)]
struct Response {
    body: Vec<u8>,
    content_type: &'static str,
    /// Chunks of 1..=`max_chunk` bytes (deterministic), each sent as one HTTP chunk.
    max_chunk: usize,
    /// Sleep this long after these chunk indices (the server "thinking", as a TTS does).
    pauses: Vec<(usize, Duration)>,
    /// Close the connection (no terminating chunk) once this many body bytes went out; rounded
    /// up to a chunk boundary.
    cut_at: Option<usize>,
    /// `Transfer-Encoding: chunked` (length unknown to the client), or a `Content-Length`
    /// header and the body as it is.
    chunked: bool,
}

/// A server on 127.0.0.1 (a free port) that answers the first GET with `response`, then
/// refuses further connections (the listener is closed), as a server that went away does: a
/// client retrying after a cut body gets "connection refused".
struct Server {
    url: String,
    /// Request lines and headers of every request received.
    requests: Arc<Mutex<Vec<String>>>,
    /// Body bytes actually written.
    sent: Arc<Mutex<usize>>,
    thread: JoinHandle<()>,
}

impl Server {
    fn start(response: Response) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/audio", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(Mutex::new(0));
        let (requests_t, sent_t) = (requests.clone(), sent.clone());
        let thread = std::thread::Builder::new()
            .name("http-server".into())
            .spawn(move || {
                // Bounded: never wait for a client forever.
                listener.set_nonblocking(true).unwrap();
                let deadline = Instant::now() + Duration::from_secs(30);
                let stream = loop {
                    match listener.accept() {
                        Ok((stream, _)) => break stream,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            if Instant::now() > deadline {
                                return;
                            }
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(e) => panic!("accept: {e}"),
                    }
                };
                drop(listener);
                serve(stream, &response, &requests_t, &sent_t);
            })
            .unwrap();
        Server {
            url,
            requests,
            sent,
            thread,
        }
    }

    /// Waits (bounded) for the server thread to finish.
    fn join(self) -> (Vec<String>, usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.thread.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the server thread did not finish"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        self.thread.join().expect("server thread panicked");
        let requests = self.requests.lock().unwrap().clone();
        let sent = *self.sent.lock().unwrap();
        (requests, sent)
    }
}

fn serve(
    mut stream: TcpStream,
    response: &Response,
    requests: &Mutex<Vec<String>>,
    sent: &Mutex<usize>,
) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.set_nodelay(true).unwrap();
    // The request head.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    requests
        .lock()
        .unwrap()
        .push(String::from_utf8_lossy(&head).into_owned());
    let framing = if response.chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {}", response.body.len())
    };
    let header = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\n{framing}\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
        response.content_type
    );
    if stream.write_all(header.as_bytes()).is_err() {
        return;
    }
    let chunks = Chunking::Random {
        seed: response.body.len() as u64,
        max: response.max_chunk,
    };
    let mut written = 0;
    for (i, chunk) in chunks.split(&response.body).into_iter().enumerate() {
        if response.cut_at.is_some_and(|cut| written >= cut) {
            // The server goes away mid-body: no terminating chunk.
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
        let frame = if response.chunked {
            [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat()
        } else {
            chunk.to_vec()
        };
        if stream.write_all(&frame).is_err() {
            return;
        }
        written += chunk.len();
        *sent.lock().unwrap() = written;
        if let Some((_, pause)) = response.pauses.iter().find(|(at, _)| *at == i) {
            std::thread::sleep(*pause);
        }
    }
    if response.chunked {
        let _ = stream.write_all(b"0\r\n\r\n");
    }
    let _ = stream.flush();
    // Let the client read everything and close first.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut rest = [0u8; 256];
    while matches!(stream.read(&mut rest), Ok(n) if n > 0) {}
}

/// A few pauses of 50-100 ms early in the body, as a TTS service streams.
fn tts_pauses() -> Vec<(usize, Duration)> {
    vec![
        (1, Duration::from_millis(80)),
        (6, Duration::from_millis(50)),
        (15, Duration::from_millis(100)),
    ]
}

// ---------------------------------------------------------------------------------------------
// 1. souphttpsrc
// ---------------------------------------------------------------------------------------------

#[test]
fn souphttpsrc_chunked_transfer_decodes_like_the_whole_file() {
    init();
    // MP3 at the default 48 kHz mono; Ogg Opus at 16 kHz (the README's TTS example); Vorbis
    // served as application/octet-stream, to stereo.
    for (name, content_type, rate, channels, source_frames, source_rate) in [
        (
            "mp3_cbr.mp3",
            "audio/mpeg",
            48_000,
            1,
            SOURCE_FRAMES,
            SOURCE_RATE,
        ),
        (
            "opus.ogg",
            "audio/ogg",
            16_000,
            1,
            SOURCE_FRAMES_48K,
            48_000,
        ),
        // What many servers say of any body: caps that are no hint, so the element probes.
        (
            "vorbis.ogg",
            "application/octet-stream",
            48_000,
            2,
            SOURCE_FRAMES,
            SOURCE_RATE,
        ),
    ] {
        let props = out_props(rate, channels);
        let expected = whole_decode(name, &props);
        let server = Server::start(Response {
            body: std::fs::read(fixture(name)).unwrap(),
            content_type,
            max_chunk: 1500,
            pauses: tts_pauses(),
            cut_at: None,
            chunked: true,
        });
        let pipeline = launch(&format!(
            "souphttpsrc location={} retries=0 ! rsstreamdecoder sample-rate={rate} \
             channels={channels} ! appsink name=sink sync=false",
            server.url
        ));
        let out = collect(&pipeline, "sink");
        play_clean(&pipeline, name);
        let (requests, sent) = server.join();
        let what = format!("souphttpsrc {name} ({content_type}, {sent} bytes chunked)");
        assert_eq!(requests.len(), 1, "{what}: {requests:?}");
        let out = out.lock().unwrap();
        out.assert_caps(&what, rate, channels);
        out.assert_contiguous(&what, rate, channels);
        let samples = out.samples();
        assert_same_pcm(&what, &expected, &samples);
        assert_frames(
            &what,
            &samples,
            channels,
            signal_frames(source_frames, source_rate, rate),
        );
        assert_close_to_ffmpeg(&what, name, rate, channels, &samples);
    }
}

#[test]
fn souphttpsrc_connection_cut_mid_body_ends_and_keeps_the_pcm_before_the_cut() {
    init();
    for (name, content_type, chunked) in [
        ("mp3_cbr.mp3", "audio/mpeg", true),
        ("opus.ogg", "audio/ogg", true),
        ("mp3_cbr.mp3", "audio/mpeg", false),
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let cut = bytes.len() / 2;
        let props = out_props(48_000, 1);
        let whole = whole_decode(name, &props);
        let server = Server::start(Response {
            body: bytes.clone(),
            content_type,
            max_chunk: 1500,
            pauses: tts_pauses(),
            cut_at: Some(cut),
            chunked,
        });
        let pipeline = launch(&format!(
            "souphttpsrc location={} ! rsstreamdecoder ! appsink name=sink sync=false",
            server.url
        ));
        let out = collect(&pipeline, "sink");
        pipeline.set_state(gst::State::Playing).unwrap();
        let (end, warnings) = wait_end(&pipeline);
        let (requests, sent) = server.join();
        let samples = out.lock().unwrap().samples();
        // What the element gives for exactly the bytes that went out, ended by EOS.
        let truncated = decode_with_element(&bytes[..sent], &props, Chunking::Whole);
        let framing = if chunked { "chunked" } else { "Content-Length" };
        let what = format!(
            "souphttpsrc {name} ({framing}) cut after {sent} of {} bytes",
            bytes.len()
        );
        println!(
            "{what}: {end:?}; {} request(s); warnings {warnings:?}; {} frames out, {} for the \
             bytes sent ended by EOS, {} for the whole file",
            requests.len(),
            samples.len(),
            truncated.frames(),
            whole.frames()
        );
        // Everything before the cut, then a clean end (EOS) or a clear ERROR.
        match &end {
            End::Eos => {}
            // The source's error (it could not resume); the element itself must not fail on
            // a truncated stream.
            End::Error { from, text } => {
                assert!(from.contains("souphttpsrc"), "{what}: {from}: {text}")
            }
        }
        assert!(!samples.is_empty(), "{what}: no PCM before the cut");
        // Never more than the whole file, and the same samples as the whole file up to the
        // last few (at EOS the resampler's tail is drained against silence instead of the
        // next frames).
        assert!(samples.len() < whole.samples.len(), "{what}");
        let keep = samples.len().saturating_sub(2048);
        let cmp = compare(&whole.samples[..keep], &samples[..keep], 1);
        assert!(
            cmp.bit_exact(),
            "{what}: not the start of the whole decode: {cmp}"
        );
        // All the PCM the bytes before the cut hold: with EOS exactly the truncated decode;
        // with an ERROR the element is not drained, so its last frame (the reader waits
        // for the next header) and the resampler's delay may stay inside.
        match end {
            End::Eos => assert_eq!(samples, truncated.samples, "{what}"),
            End::Error { .. } => {
                let slack = 2 * 1152 * 48_000 / 44_100 + 1024;
                assert!(
                    samples.len() + slack >= truncated.samples.len(),
                    "{what}: {} frames out, the bytes sent hold {}",
                    samples.len(),
                    truncated.frames()
                );
            }
        }
    }
}

/// Serves the headerless big-endian 16-bit PCM fixture as a TTS service does, with
/// `Content-Type: audio/L16;rate=44100;channels=2` (RFC 2586), and decodes it kept at its own
/// rate and channels with the extra element properties; returns how it ended and the PCM.
fn souphttpsrc_l16(element_props: &str) -> (End, Vec<i16>) {
    let server = Server::start(Response {
        body: std::fs::read(fixture("s16be.l16")).unwrap(),
        content_type: "audio/L16;rate=44100;channels=2",
        // Odd chunk sizes: samples split across buffers.
        max_chunk: 1499,
        pauses: tts_pauses(),
        cut_at: None,
        chunked: true,
    });
    let pipeline = launch(&format!(
        "souphttpsrc location={} retries=0 ! rsstreamdecoder sample-rate=0 channels=0 \
         {element_props} ! appsink name=sink sync=false",
        server.url
    ));
    let out = collect(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let (end, _) = wait_end(&pipeline);
    server.join();
    let samples = out.lock().unwrap().samples();
    (end, samples)
}

/// The same signal as the L16 body, from the 16-bit WAV it was made from.
fn s16_wav_samples() -> Vec<i16> {
    reference(&fixture("s16.wav"), None, None).samples
}

/// Serves the L16 body with `element_props` on the element and checks that it decodes bit for
/// bit to the WAV it was made from.
fn assert_l16_body_decodes(element_props: &str, what: &str) {
    init();
    let (end, samples) = souphttpsrc_l16(element_props);
    assert!(matches!(end, End::Eos), "{end:?}");
    let cmp = compare(&s16_wav_samples(), &samples, 2);
    println!("souphttpsrc audio/L16 {what}: {cmp}");
    assert!(cmp.bit_exact(), "{cmp}");
}

#[test]
fn souphttpsrc_l16_body_with_the_format_property() {
    assert_l16_body_decodes(
        "format=\"audio/L16;rate=44100;channels=2\"",
        "with format=audio/L16",
    );
}

/// souphttpsrc turns `Content-Type: audio/L16;rate=..;channels=..` into
/// `audio/x-unaligned-raw, format=S16BE, layout=interleaved, rate=.., channels=..` caps (raw
/// samples that may be split across buffers). The element reads them as the description of
/// headerless PCM, as it reads `audio/x-raw` (before, it probed the bytes and posted "no
/// supported audio format found").
#[test]
fn souphttpsrc_l16_body_by_its_content_type_alone() {
    assert_l16_body_decodes("", "by content type");
}

// ---------------------------------------------------------------------------------------------
// 2. fdsrc
// ---------------------------------------------------------------------------------------------

#[test]
fn fdsrc_from_a_pipe_and_from_a_file() {
    init();
    // A pipe fed by a writer thread in small writes with pauses: MP3 at 48 kHz mono.
    {
        let name = "mp3_vbr.mp3";
        let props = out_props(48_000, 1);
        let expected = whole_decode(name, &props);
        let bytes = std::fs::read(fixture(name)).unwrap();
        let (reader, mut writer) = std::io::pipe().unwrap();
        let pipeline = launch(&format!(
            "fdsrc fd={} ! rsstreamdecoder ! appsink name=sink sync=false",
            reader.as_raw_fd()
        ));
        let out = collect(&pipeline, "sink");
        pipeline.set_state(gst::State::Playing).unwrap();
        let feeder = std::thread::spawn(move || {
            for (i, chunk) in bytes.chunks(3000).enumerate() {
                if writer.write_all(chunk).is_err() {
                    return;
                }
                if i % 5 == 0 {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            // Dropping the writer is the end of the stream.
        });
        let (end, warnings) = wait_end(&pipeline);
        feeder.join().unwrap();
        drop(reader);
        assert!(matches!(end, End::Eos), "fdsrc pipe: {end:?}");
        assert!(warnings.is_empty(), "{warnings:?}");
        let out = out.lock().unwrap();
        out.assert_caps("fdsrc pipe", 48_000, 1);
        let samples = out.samples();
        assert_same_pcm("fdsrc pipe mp3", &expected, &samples);
        assert_frames(
            "fdsrc pipe mp3",
            &samples,
            1,
            signal_frames(SOURCE_FRAMES, SOURCE_RATE, 48_000),
        );
        assert_close_to_ffmpeg("fdsrc pipe mp3", name, 48_000, 1, &samples);
    }
    // An opened file's fd: FLAC kept at its own rate and channels is ffmpeg's decode exactly.
    {
        let name = "flac.flac";
        let file = std::fs::File::open(fixture(name)).unwrap();
        let pipeline = launch(&format!(
            "fdsrc fd={} ! rsstreamdecoder sample-rate=0 channels=0 ! appsink name=sink \
             sync=false",
            file.as_raw_fd()
        ));
        let out = collect(&pipeline, "sink");
        play_clean(&pipeline, "fdsrc file");
        drop(file);
        let out = out.lock().unwrap();
        out.assert_caps("fdsrc file", SOURCE_RATE, 2);
        let samples = out.samples();
        let reference = reference(&fixture(name), None, None);
        let cmp = compare(&reference.samples, &samples, 2);
        println!("fdsrc file flac: vs ffmpeg: {cmp}");
        assert!(cmp.bit_exact(), "fdsrc file flac: {cmp}");
        assert_eq!(cmp.actual_frames, SOURCE_FRAMES);
    }
}

// ---------------------------------------------------------------------------------------------
// 3. appsrc
// ---------------------------------------------------------------------------------------------

/// Pushes `bytes` into the appsrc named `src` in chunks (optionally with a short sleep every
/// few chunks), then ends the stream.
fn feed(pipeline: &gst::Pipeline, bytes: &[u8], chunking: Chunking, pause_every: Option<usize>) {
    let appsrc = app_src(pipeline);
    for (i, chunk) in chunking.split(bytes).into_iter().enumerate() {
        appsrc
            .push_buffer(gst::Buffer::from_slice(chunk.to_vec()))
            .expect("appsrc accepts the buffer");
        if pause_every.is_some_and(|n| i % n == n - 1) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    appsrc.end_of_stream().unwrap();
}

/// Runs `appsrc <appsrc_props> ! rsstreamdecoder <element_props> ! appsink` on a fixture.
fn run_appsrc(
    name: &str,
    appsrc_props: &str,
    element_props: &str,
    chunking: Chunking,
    pause_every: Option<usize>,
) -> Collected {
    let pipeline = launch(&format!(
        "appsrc name=src {appsrc_props} ! rsstreamdecoder {element_props} ! \
         appsink name=sink sync=false"
    ));
    let out = collect(&pipeline, "sink");
    pipeline.set_state(gst::State::Playing).unwrap();
    feed(
        &pipeline,
        &std::fs::read(fixture(name)).unwrap(),
        chunking,
        pause_every,
    );
    let (end, warnings) = wait_end(&pipeline);
    let what = format!("appsrc {appsrc_props} {name}");
    assert!(matches!(end, End::Eos), "{what}: {end:?}");
    assert!(warnings.is_empty(), "{what}: {warnings:?}");
    std::mem::take(&mut *out.lock().unwrap())
}

#[test]
fn appsrc_live_with_timestamps_with_and_without_caps() {
    init();
    for (name, caps, source_frames, source_rate) in [
        ("mp3_cbr.mp3", None, SOURCE_FRAMES, SOURCE_RATE),
        ("opus.ogg", None, SOURCE_FRAMES_48K, 48_000),
        (
            "mp3_cbr.mp3",
            Some("audio/mpeg,mpegversion=1,layer=3"),
            SOURCE_FRAMES,
            SOURCE_RATE,
        ),
        ("opus.ogg", Some("audio/ogg"), SOURCE_FRAMES_48K, 48_000),
        // Ogg pages under packet caps (a common mistake): read as the Ogg stream they are.
        ("opus.ogg", Some("audio/x-opus"), SOURCE_FRAMES_48K, 48_000),
    ] {
        let what = format!("live appsrc {name} caps {caps:?}");
        let expected = whole_decode(name, &[]);
        let caps_prop = caps.map_or(String::new(), |c| format!(" caps=\"{c}\""));
        let out = run_appsrc(
            name,
            &format!("is-live=true do-timestamp=true{caps_prop}"),
            "",
            Chunking::Random {
                seed: 11,
                max: 2000,
            },
            Some(4),
        );
        out.assert_caps(&what, 48_000, 1);
        out.assert_contiguous(&what, 48_000, 1);
        let samples = out.samples();
        assert_same_pcm(&what, &expected, &samples);
        assert_frames(
            &what,
            &samples,
            1,
            signal_frames(source_frames, source_rate, 48_000),
        );
    }
}

#[test]
fn appsrc_not_live_with_and_without_caps() {
    init();
    // ADTS carries no gapless information: the encoder's priming (1024 frames) and the last
    // frame's padding (820) stay, as in ffmpeg's decode; the others are the signal's length.
    let adts_frames = SOURCE_FRAMES + 1024 + 820;
    for (name, caps, native_frames) in [
        (
            "mp3_cbr.mp3",
            Some("audio/mpeg,mpegversion=1"),
            SOURCE_FRAMES,
        ),
        ("mp3_cbr.mp3", None, SOURCE_FRAMES),
        ("vorbis.ogg", Some("audio/ogg"), SOURCE_FRAMES),
        (
            "aac_adts.aac",
            Some("audio/mpeg,mpegversion=4,stream-format=adts"),
            adts_frames,
        ),
        ("aac_adts.aac", None, adts_frames),
    ] {
        let what = format!("appsrc {name} caps {caps:?}");
        let props = out_props(24_000, 2);
        let expected = whole_decode(name, &props);
        let appsrc_props = caps.map_or(String::new(), |c| format!("caps=\"{c}\""));
        let out = run_appsrc(
            name,
            &appsrc_props,
            "sample-rate=24000 channels=2",
            Chunking::Random { seed: 5, max: 4096 },
            None,
        );
        out.assert_caps(&what, 24_000, 2);
        out.assert_contiguous(&what, 24_000, 2);
        let samples = out.samples();
        assert_same_pcm(&what, &expected, &samples);
        assert_frames(
            &what,
            &samples,
            2,
            signal_frames(native_frames, SOURCE_RATE, 24_000),
        );
    }
}

#[test]
fn appsrc_raw_caps_describe_headerless_pcm() {
    init();
    let caps = "audio/x-raw,format=S16LE,layout=interleaved,rate=44100,channels=2";
    let pcm = std::fs::read(fixture("s16le.pcm")).unwrap();
    // Kept at its own rate and channels: the output is the input, sample for sample.
    let kept = run_appsrc(
        "s16le.pcm",
        &format!("caps=\"{caps}\""),
        "sample-rate=0 channels=0",
        Chunking::Random { seed: 9, max: 3001 },
        None,
    );
    kept.assert_caps("raw kept", 44_100, 2);
    assert_eq!(kept.bytes.len(), pcm.len(), "raw kept: length");
    assert!(kept.bytes == pcm, "raw kept: the samples changed");
    // Live, to the default 48 kHz mono: ffmpeg's resample + downmix of the same signal.
    let out = run_appsrc(
        "s16le.pcm",
        &format!("caps=\"{caps}\" is-live=true do-timestamp=true"),
        "",
        Chunking::Random {
            seed: 10,
            max: 3001,
        },
        Some(8),
    );
    out.assert_caps("raw 48k mono", 48_000, 1);
    out.assert_contiguous("raw 48k mono", 48_000, 1);
    let samples = out.samples();
    assert_frames(
        "raw 48k mono",
        &samples,
        1,
        signal_frames(SOURCE_FRAMES, SOURCE_RATE, 48_000),
    );
    assert_close_to_ffmpeg("raw 48k mono", "s16.wav", 48_000, 1, &samples);
}

// ---------------------------------------------------------------------------------------------
// 4. typefind
// ---------------------------------------------------------------------------------------------

#[test]
fn typefind_in_front_decodes_like_the_whole_file() {
    init();
    for (name, source_frames, source_rate) in [
        ("mp3_vbr.mp3", SOURCE_FRAMES, SOURCE_RATE),
        ("opus.ogg", SOURCE_FRAMES_48K, 48_000),
        ("flac.flac", SOURCE_FRAMES, SOURCE_RATE),
        ("aac.m4a", SOURCE_FRAMES, SOURCE_RATE),
        ("s16.wav", SOURCE_FRAMES, SOURCE_RATE),
    ] {
        let what = format!("typefind {name}");
        let expected = whole_decode(name, &[]);
        let pipeline = launch(&format!(
            "filesrc location={} blocksize=1777 ! typefind name=tf ! rsstreamdecoder ! \
             appsink name=sink sync=false",
            fixture(name).display()
        ));
        let found = Arc::new(Mutex::new(None));
        let found_cb = found.clone();
        pipeline
            .by_name("tf")
            .unwrap()
            .connect("have-type", false, move |args| {
                let caps = args[2].get::<gst::Caps>().unwrap();
                *found_cb.lock().unwrap() = Some(caps.to_string());
                None
            });
        let out = collect(&pipeline, "sink");
        play_clean(&pipeline, &what);
        println!("{what}: typefind found {:?}", found.lock().unwrap());
        assert!(
            found.lock().unwrap().is_some(),
            "{what}: typefind found nothing"
        );
        let out = out.lock().unwrap();
        out.assert_caps(&what, 48_000, 1);
        let samples = out.samples();
        assert_same_pcm(&what, &expected, &samples);
        assert_frames(
            &what,
            &samples,
            1,
            signal_frames(source_frames, source_rate, 48_000),
        );
        assert_close_to_ffmpeg(&what, name, 48_000, 1, &samples);
    }
}

/// Opus packets one per buffer (`audio/x-opus` caps), as GStreamer's demuxers hand them out:
/// the element frames each packet, takes the layout (and pre-skip) from the caps, and the
/// demuxer's clipping of the first and last packets: the same samples as the element decoding
/// the file itself, at the stream's rate and channels (5.1 in Ogg included) and at 48 kHz mono.
#[test]
fn opus_packets_from_a_demuxer_decode_like_the_file() {
    init();
    for (name, demuxer, channels) in [
        ("opus.ogg", "oggdemux", 2),
        ("opus.webm", "matroskademux", 2),
        ("opus.ts", "tsdemux", 2),
        ("opus_5.1.ogg", "oggdemux", 6),
    ] {
        for (props, rate, out_channels) in [
            (keep_props(), 48_000, channels),
            (out_props(48_000, 1), 48_000, 1),
        ] {
            let what = format!("{demuxer} ! rsstreamdecoder, {name}, {out_channels} channel(s)");
            let expected = whole_decode(name, &props);
            let pipeline = launch(&format!(
                "filesrc location={} ! {demuxer} ! rsstreamdecoder name=dec ! appsink name=sink \
                 sync=false",
                fixture(name).display()
            ));
            let element = pipeline.by_name("dec").unwrap();
            for (key, value) in &props {
                element.set_property_from_value(key, value);
            }
            let out = collect(&pipeline, "sink");
            play_clean(&pipeline, &what);
            let out = out.lock().unwrap();
            out.assert_caps(&what, rate, out_channels);
            assert_same_pcm(&what, &expected, &out.samples());
        }
    }
}

/// Opus from RTP (`rtpopusdepay`, what a WebRTC gateway gets): packets without a pre-skip to
/// drop (RTP carries none), so the decoder's first 312 frames of priming come out too, then
/// exactly the samples of the file's own decode.
#[test]
fn opus_packets_from_rtp_decode() {
    init();
    let what = "rtpopusdepay ! rsstreamdecoder";
    let expected = whole_decode("opus.ogg", &keep_props());
    let pipeline = launch(&format!(
        "filesrc location={} ! oggdemux ! rtpopuspay ! rtpopusdepay ! rsstreamdecoder \
         sample-rate=0 channels=0 ! appsink name=sink sync=false",
        fixture("opus.ogg").display()
    ));
    let out = collect(&pipeline, "sink");
    play_clean(&pipeline, what);
    let out = out.lock().unwrap();
    out.assert_caps(what, 48_000, 2);
    let samples = out.samples();
    let priming = 2 * 312;
    assert!(samples.len() >= priming + expected.samples.len() - 2 * 960);
    let cmp = compare(&expected.samples, &samples[priming..], 2);
    println!("{what}: after the priming, vs the file's decode: {cmp}");
    let overlap = expected.samples.len().min(samples.len() - priming);
    assert!(
        samples[priming..priming + overlap] == expected.samples[..overlap],
        "{what}: {cmp}"
    );
}

/// Raw AAC frames one per buffer (`audio/mpeg, stream-format=raw` with an AudioSpecificConfig),
/// as `qtdemux` and `rtpmp4gdepay` hand them out: each gets an ADTS header and the ADTS reader
/// decodes them. `qtdemux` carries the M4A's edit list in its segment, not in the frames (the
/// RTP payloader and depayloader pass that segment on); the element clips to it as GStreamer's
/// decoders do, so the output is the element's own decode of the file sample for sample, the
/// encoder's 1024 frames of priming trimmed. HE-AAC comes out at its full rate (SBR decoded).
#[test]
fn raw_aac_frames_from_a_demuxer_decode() {
    init();
    let expected = whole_decode("aac.m4a", &keep_props());
    for chain in ["qtdemux", "qtdemux ! rtpmp4gpay ! rtpmp4gdepay"] {
        let what = format!("{chain} ! rsstreamdecoder, aac.m4a");
        let pipeline = launch(&format!(
            "filesrc location={} ! {chain} ! rsstreamdecoder sample-rate=0 channels=0 ! \
             appsink name=sink sync=false",
            fixture("aac.m4a").display()
        ));
        let out = collect(&pipeline, "sink");
        play_clean(&pipeline, &what);
        let out = out.lock().unwrap();
        out.assert_caps(&what, 44_100, 2);
        let samples = out.samples();
        println!(
            "{what}: {} frames, the file's decode {}",
            samples.len() / 2,
            expected.frames()
        );
        // `qtdemux` (1.22) does not push the file's last packet (its 204 frames of audio): the
        // stock `qtdemux ! avdec_aac` chain gives 132097 frames of the 132300 too.
        assert!(
            samples.len() + 2 * 1024 >= expected.samples.len()
                && samples[..] == expected.samples[..samples.len()],
            "{what}: not the file's decode: {}",
            compare(&expected.samples, &samples, 2)
        );
    }
    let what = "qtdemux ! rsstreamdecoder, he_aac.m4a";
    let pipeline = launch(&format!(
        "filesrc location={} ! qtdemux ! rsstreamdecoder sample-rate=0 channels=0 ! \
         appsink name=sink sync=false",
        fixture("he_aac.m4a").display()
    ));
    let out = collect(&pipeline, "sink");
    play_clean(&pipeline, what);
    let out = out.lock().unwrap();
    let direct = whole_decode("he_aac.m4a", &keep_props());
    out.assert_caps(what, direct.rate, direct.channels);
    let frames = out.samples().len() as u64 / u64::from(direct.channels);
    println!(
        "{what}: {frames} frames, the file's decode {}",
        direct.frames()
    );
    assert!(
        frames.abs_diff(direct.frames()) < 4096,
        "{what}: {frames} frames"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. tee and queue
// ---------------------------------------------------------------------------------------------

#[test]
fn tee_branches_after_the_element_get_the_same_pcm() {
    init();
    let name = "vorbis.ogg";
    let props = out_props(24_000, 2);
    let expected = whole_decode(name, &props);
    let pipeline = launch(&format!(
        "filesrc location={} blocksize=2000 ! queue ! rsstreamdecoder sample-rate=24000 \
         channels=2 ! tee name=t \
         t. ! queue ! appsink name=a sync=false \
         t. ! queue max-size-buffers=2 ! appsink name=b sync=false",
        fixture(name).display()
    ));
    let a = collect(&pipeline, "a");
    let b = collect(&pipeline, "b");
    play_clean(&pipeline, "tee");
    let (a, b) = (a.lock().unwrap(), b.lock().unwrap());
    for (branch, out) in [("a", &a), ("b", &b)] {
        let what = format!("tee branch {branch}");
        out.assert_caps(&what, 24_000, 2);
        out.assert_contiguous(&what, 24_000, 2);
        assert_same_pcm(&what, &expected, &out.samples());
    }
    assert!(a.bytes == b.bytes, "the two branches differ");
    assert_eq!(a.buffers, b.buffers, "the branches got other buffers");
    assert_frames(
        "tee",
        &a.samples(),
        2,
        signal_frames(SOURCE_FRAMES, SOURCE_RATE, 24_000),
    );
}

// ---------------------------------------------------------------------------------------------
// 6. audiomixer
// ---------------------------------------------------------------------------------------------

#[test]
fn audiomixer_mixes_two_decoders() {
    init();
    // A 3 s Opus and a 60 ms MP3: the mix is as long as the longer one, and is the
    // sample-by-sample (saturating) sum of the two decodes.
    let (long, short) = ("opus.ogg", "mp3_few_frames.mp3");
    let a = whole_decode(long, &[]);
    let b = whole_decode(short, &[]);
    println!(
        "mix inputs: {long} {} frames, {short} {} frames",
        a.frames(),
        b.frames()
    );
    let pipeline = launch(&format!(
        "audiomixer name=mix ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! \
         appsink name=sink sync=false \
         filesrc location={} ! rsstreamdecoder ! queue ! mix. \
         filesrc location={} ! rsstreamdecoder ! queue ! mix.",
        fixture(long).display(),
        fixture(short).display()
    ));
    let out = collect(&pipeline, "sink");
    play_clean(&pipeline, "audiomixer");
    let out = out.lock().unwrap();
    out.assert_caps("audiomixer", 48_000, 1);
    let mixed = out.samples();
    let expected: Vec<i16> = (0..a.samples.len().max(b.samples.len()))
        .map(|i| {
            let x = a.samples.get(i).copied().unwrap_or(0);
            let y = b.samples.get(i).copied().unwrap_or(0);
            x.saturating_add(y)
        })
        .collect();
    let cmp = compare(&expected, &mixed, 1);
    println!("audiomixer: vs sum of the decodes: {cmp}");
    assert_eq!(mixed.len(), expected.len(), "mixed length: {cmp}");
    assert_frames("audiomixer", &mixed, 1, SOURCE_FRAMES_48K);
    assert!(
        cmp.bit_exact(),
        "the mix is not the sum of the decodes: {cmp}"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. wavenc ! filesink
// ---------------------------------------------------------------------------------------------

/// The fields of a WAV file's `fmt ` chunk.
#[derive(Debug, PartialEq, Eq)]
struct WavFmt {
    tag: u16,
    channels: u16,
    rate: u32,
    byte_rate: u32,
    block_align: u16,
    bits: u16,
}

/// The `fmt ` fields and the data of a WAV file.
fn read_wav(bytes: &[u8]) -> (WavFmt, &[u8]) {
    let chunks = wav_chunks(bytes);
    let &(fmt, _, _) = chunks
        .iter()
        .find(|(_, id, _)| id == b"fmt ")
        .expect("fmt ");
    let &(data, _, data_len) = chunks
        .iter()
        .find(|(_, id, _)| id == b"data")
        .expect("data");
    let u16_at = |at: usize| u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap());
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let body = fmt + 8;
    let fmt = WavFmt {
        tag: u16_at(body),
        channels: u16_at(body + 2),
        rate: u32_at(body + 4),
        byte_rate: u32_at(body + 8),
        block_align: u16_at(body + 12),
        bits: u16_at(body + 14),
    };
    (fmt, &bytes[data + 8..data + 8 + data_len as usize])
}

#[test]
fn wavenc_filesink_writes_the_decode() {
    init();
    // (fixture, sample-rate and channels properties, rate and channels out, frames out).
    for (name, (prop_rate, prop_channels), (rate, channels), expected_frames) in [
        (
            "opus.ogg",
            (22_050, 2),
            (22_050, 2),
            signal_frames(SOURCE_FRAMES_48K, 48_000, 22_050),
        ),
        (
            "mp3_cbr.mp3",
            (16_000, 1),
            (16_000, 1),
            signal_frames(SOURCE_FRAMES, SOURCE_RATE, 16_000),
        ),
        // Kept at the stream's rate and channels: lossless in, the same samples out.
        ("flac.flac", (0, 0), (SOURCE_RATE, 2), SOURCE_FRAMES),
    ] {
        let what = format!("wavenc {name} {rate} Hz {channels} ch");
        let expected = whole_decode(name, &out_props(prop_rate, prop_channels));
        let path = scratch(&format!("{name}-{rate}-{channels}.wav"));
        let pipeline = launch(&format!(
            "filesrc location={} ! rsstreamdecoder sample-rate={prop_rate} \
             channels={prop_channels} ! wavenc ! filesink location={}",
            fixture(name).display(),
            path.display()
        ));
        play_clean(&pipeline, &what);
        let wav = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let (fmt, data) = read_wav(&wav);
        println!(
            "{what}: {} bytes, {fmt:?}, {} data bytes",
            wav.len(),
            data.len()
        );
        assert_eq!(
            fmt,
            WavFmt {
                tag: 1,
                channels: channels as u16,
                rate,
                byte_rate: rate * 2 * channels,
                block_align: 2 * channels as u16,
                bits: 16,
            },
            "{what}: fmt chunk"
        );
        // The header was rewritten at EOS with the real sizes.
        assert_eq!(
            u32::from_le_bytes(wav[4..8].try_into().unwrap()) as usize,
            wav.len() - 8,
            "{what}: RIFF size"
        );
        // After the data, only whole chunks (wavenc writes an empty LIST INFO chunk when it
        // got tags, here the element's container/codec tags, which INFO has no field for).
        let mut at = data.as_ptr() as usize - wav.as_ptr() as usize + data.len();
        at += data.len() & 1;
        let mut trailing = Vec::new();
        while at < wav.len() {
            assert!(
                at + 8 <= wav.len(),
                "{what}: a partial chunk after the data"
            );
            let size = u32::from_le_bytes(wav[at + 4..at + 8].try_into().unwrap()) as usize;
            trailing.push(String::from_utf8_lossy(&wav[at..at + 4]).into_owned());
            at += 8 + size + (size & 1);
        }
        assert_eq!(at, wav.len(), "{what}: data or trailing chunk sizes");
        println!("{what}: chunks after the data: {trailing:?}");
        let samples = s16le(data);
        assert_same_pcm(&what, &expected, &samples);
        assert_frames(&what, &samples, channels, expected_frames);
        if prop_rate == 0 {
            let reference = reference(&fixture(name), None, None);
            let cmp = compare(&reference.samples, &samples, channels);
            println!("{what}: vs ffmpeg: {cmp}");
            assert!(
                cmp.bit_exact(),
                "{what}: not ffmpeg's lossless decode: {cmp}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 8. appsink, pulled
// ---------------------------------------------------------------------------------------------

#[test]
fn appsink_pulled_samples_carry_the_asked_caps() {
    init();
    for (name, rate, channels) in [("aac.m4a", 8_000u32, 1u32), ("flac.flac", 32_000, 2)] {
        let what = format!("appsink {name} {rate} Hz {channels} ch");
        let expected = whole_decode(name, &out_props(rate, channels));
        let pipeline = launch(&format!(
            "filesrc location={} ! rsstreamdecoder sample-rate={rate} channels={channels} ! \
             appsink name=sink sync=false max-buffers=4",
            fixture(name).display()
        ));
        let sink = pipeline
            .by_name("sink")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let mut out = Collected::default();
        let mut samples_pulled = 0;
        let deadline = Instant::now() + Duration::from(WAIT);
        loop {
            assert!(Instant::now() < deadline, "{what}: no EOS within {WAIT}");
            match sink.try_pull_sample(gst::ClockTime::from_mseconds(500)) {
                Some(sample) => {
                    samples_pulled += 1;
                    // Every sample's own caps, not only the first.
                    let caps = sample.caps().expect("caps on the sample");
                    let info = gst_audio::AudioInfo::from_caps(caps).unwrap();
                    assert_eq!(info.format(), gst_audio::AudioFormat::S16le, "{what}");
                    assert_eq!(info.layout(), gst_audio::AudioLayout::Interleaved);
                    assert_eq!((info.rate(), info.channels()), (rate, channels), "{what}");
                    assert_eq!(
                        sample.buffer().unwrap().size() % (2 * channels as usize),
                        0,
                        "{what}: not whole frames"
                    );
                    out.add(&sample);
                }
                None if sink.is_eos() => break,
                None => {
                    if let Some(msg) = pipeline
                        .bus()
                        .unwrap()
                        .pop_filtered(&[gst::MessageType::Error])
                    {
                        panic!("{what}: {msg:?}");
                    }
                }
            }
        }
        let (end, warnings) = wait_end(&pipeline);
        assert!(matches!(end, End::Eos), "{what}: {end:?}");
        assert!(warnings.is_empty(), "{what}: {warnings:?}");
        println!("{what}: {samples_pulled} samples pulled");
        out.assert_caps(&what, rate, channels);
        out.assert_contiguous(&what, rate, channels);
        let pcm = out.samples();
        assert_same_pcm(&what, &expected, &pcm);
        assert_frames(
            &what,
            &pcm,
            channels,
            signal_frames(SOURCE_FRAMES, SOURCE_RATE, rate),
        );
        assert_close_to_ffmpeg(&what, name, rate, channels, &pcm);
    }
}
