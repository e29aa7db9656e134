//! Benchmark: `rsstreamdecoder` against the stock GStreamer chain
//! (`decodebin ! audioconvert ! audioresample ! capsfilter`) and ffmpeg, on the same files in the
//! same run. Prints medians and ratios; asserts nothing (the machine is shared and noisy).
//!
//!     make bench                                   # all sections, 300 s inputs, 5 runs
//!     make bench BENCH_ARGS="--seconds 60 --runs 3 --formats mp3,opus"
//!
//! Sections:
//! - **throughput**: decode a long file to 48 kHz mono S16LE as fast as possible. Wall time and
//!   CPU time (user + system, all threads) per contender; the GStreamer pipelines run in this
//!   process, ffmpeg as a child process (its start-up is measured on a 1 s run and subtracted).
//! - **first sound**: push the file in 512-byte chunks through `appsrc`, wait briefly after each,
//!   and count the bytes in when the first PCM comes out.
//! - **idle streams**: start many pipelines, feed each the first 32 KiB of an MP3 and wait for
//!   its first PCM, then count the resident memory and threads they add (one fresh process per
//!   chain).
//! - **live**: many pipelines at once, each fed a 10 s file in 20 ms pieces at real-time pace:
//!   CPU, memory and threads per stream for ours, the decodebin chain and a null chain
//!   (`appsrc ! identity ! fakesink`), so each one's own cost shows.
//! - **long**: one hour of MP3 decoded as fast as possible, the resident memory over the run.
//! - **codecs**: the MP3 file's packets decoded in memory by symphonia's MPEG audio decoder and
//!   by nanomp3 (the element's), the speed half of choosing between them.
//!
//! Throughput and first sound also go into a chart, `target/bench/bench.svg`.
//!
//! Inputs are made by ffmpeg from a synthetic stereo signal and cached in `target/bench/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gst::prelude::*;

/// The caps every contender produces: the element's defaults.
const OUT_RATE: u32 = 48_000;
const OUT_CHANNELS: u32 = 1;
const STOCK_CHAIN: &str = "decodebin ! audioconvert ! audioresample ! \
     audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1";
const OURS_CHAIN: &str = "rsstreamdecoder";
/// What a pipeline costs without any decoding: the baseline for the element's own cost.
const NULL_CHAIN: &str = "identity";

struct Format {
    name: &'static str,
    file_extension: &'static str,
    ffmpeg_args: &'static [&'static str],
}

const FORMATS: &[Format] = &[
    Format {
        name: "mp3",
        file_extension: "mp3",
        ffmpeg_args: &["-c:a", "libmp3lame", "-b:a", "128k"],
    },
    Format {
        name: "aac",
        file_extension: "aac",
        ffmpeg_args: &["-c:a", "aac", "-b:a", "128k", "-f", "adts"],
    },
    Format {
        name: "opus",
        file_extension: "opus",
        ffmpeg_args: &[
            "-ar", "48000", "-c:a", "libopus", "-b:a", "64k", "-f", "ogg",
        ],
    },
    // As a TTS server streams it: one Ogg page per 20 ms Opus packet instead of ffmpeg's 1 s pages.
    Format {
        name: "opus-pages20ms",
        file_extension: "opus",
        ffmpeg_args: &[
            "-ar",
            "48000",
            "-c:a",
            "libopus",
            "-b:a",
            "64k",
            "-page_duration",
            "20000",
            "-f",
            "ogg",
        ],
    },
    Format {
        name: "vorbis",
        file_extension: "ogg",
        ffmpeg_args: &["-c:a", "libvorbis", "-q:a", "4"],
    },
    Format {
        name: "flac",
        file_extension: "flac",
        ffmpeg_args: &["-sample_fmt", "s16", "-c:a", "flac"],
    },
    // Dolby Digital, as DVB broadcasts, DVDs and films carry it (our own decoder).
    Format {
        name: "ac3",
        file_extension: "ac3",
        ffmpeg_args: &["-c:a", "ac3", "-b:a", "192k", "-f", "ac3"],
    },
    // What a TTS service often sends: 24 kHz mono 16-bit WAV.
    Format {
        name: "wav24k",
        file_extension: "wav",
        ffmpeg_args: &["-ar", "24000", "-ac", "1", "-c:a", "pcm_s16le"],
    },
];

struct Args {
    seconds: u32,
    runs: usize,
    streams: usize,
    blocksize: u32,
    formats: Vec<&'static Format>,
    sections: Vec<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench [--seconds N] [--runs N] [--streams N] [--blocksize BYTES] [--formats a,b,...] \
         [--sections throughput,first-sound,idle,live,long,codecs]\n  formats: {}",
        FORMATS.iter().map(|f| f.name).collect::<Vec<_>>().join(",")
    );
    std::process::exit(2);
}

fn parse_args() -> Args {
    let mut args = Args {
        seconds: 300,
        runs: 5,
        streams: 100,
        blocksize: 4096,
        formats: FORMATS.iter().collect(),
        sections: [
            "throughput",
            "first-sound",
            "idle",
            "live",
            "long",
            "codecs",
        ]
        .map(String::from)
        .to_vec(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--seconds" => args.seconds = value.parse().unwrap_or_else(|_| usage()),
            "--runs" => args.runs = value.parse().unwrap_or_else(|_| usage()),
            "--streams" => args.streams = value.parse().unwrap_or_else(|_| usage()),
            "--blocksize" => args.blocksize = value.parse().unwrap_or_else(|_| usage()),
            "--formats" => {
                args.formats = value
                    .split(',')
                    .map(|name| {
                        FORMATS
                            .iter()
                            .find(|f| f.name == name)
                            .unwrap_or_else(|| usage())
                    })
                    .collect()
            }
            "--sections" => args.sections = value.split(',').map(String::from).collect(),
            _ => usage(),
        }
    }
    if args.runs == 0 || args.seconds == 0 {
        usage();
    }
    args
}

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench")
}

/// A speech-band stereo signal with a slow vibrato and a little noise, so every codec has real
/// work to do (pure tones compress to almost nothing in some codecs).
fn source_filter(seconds: u32) -> String {
    format!(
        "aevalsrc=exprs='(0.5+0.3*sin(2*PI*0.4*t))*sin(2*PI*(220+60*sin(2*PI*3*t))*t)\
         +0.15*sin(2*PI*1800*t)+0.02*(random(0)-0.5)\
         |(0.5+0.3*cos(2*PI*0.3*t))*sin(2*PI*(330+40*sin(2*PI*2*t))*t)\
         +0.1*sin(2*PI*2700*t)+0.02*(random(1)-0.5)':s=44100:d={seconds}:c=stereo"
    )
}

/// The input file for a format and length, made on first use.
fn input(format: &Format, seconds: u32) -> PathBuf {
    let path = bench_dir().join(format!(
        "{}_{seconds}s.{}",
        format.name, format.file_extension
    ));
    if path.exists() {
        return path;
    }
    std::fs::create_dir_all(bench_dir()).unwrap();
    let partial = path.with_extension("partial");
    let status = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
        ])
        .arg("-i")
        .arg(source_filter(seconds))
        .args(format.ffmpeg_args)
        .args(["-f", ffmpeg_muxer(format)])
        .arg(&partial)
        .status()
        .expect("ffmpeg must be installed (make bench installs it)");
    assert!(status.success(), "ffmpeg failed to make {}", path.display());
    std::fs::rename(&partial, &path).unwrap();
    path
}

fn ffmpeg_muxer(format: &Format) -> &'static str {
    // The muxer named in the args wins; otherwise the one for the extension.
    let args = format.ffmpeg_args;
    if let Some(i) = args.iter().position(|a| *a == "-f") {
        return args[i + 1];
    }
    match format.file_extension {
        "mp3" => "mp3",
        "ogg" | "opus" => "ogg",
        "flac" => "flac",
        "wav" => "wav",
        other => panic!("no muxer for .{other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

/// CPU seconds (user + system) of this process's threads, ended ones included, and of its
/// waited-for children. From getrusage, whose total Linux keeps to the nanosecond (/proc's
/// figures are in 10 ms ticks: too coarse for files that decode in a tenth of a second).
fn cpu_seconds() -> (f64, f64) {
    let usage = |who| {
        // SAFETY: getrusage writes a `rusage` into the zeroed struct it is given and reads
        // nothing else; RUSAGE_SELF and RUSAGE_CHILDREN are valid for any process.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let status = unsafe { libc::getrusage(who, &mut usage) };
        assert_eq!(status, 0, "getrusage");
        let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        seconds(usage.ru_utime) + seconds(usage.ru_stime)
    };
    (usage(libc::RUSAGE_SELF), usage(libc::RUSAGE_CHILDREN))
}

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[derive(Clone, Copy, Default)]
struct Sample {
    wall: f64,
    cpu: f64,
    frames: u64,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

struct Summary {
    wall: f64,
    cpu: f64,
    frames: u64,
}

fn summarize(samples: &[Sample]) -> Summary {
    Summary {
        wall: median(&mut samples.iter().map(|s| s.wall).collect::<Vec<_>>()),
        cpu: median(&mut samples.iter().map(|s| s.cpu).collect::<Vec<_>>()),
        frames: samples.iter().map(|s| s.frames).max().unwrap_or(0),
    }
}

/// Builds a pipeline from a `gst-launch-1.0` description.
fn launch(description: &str) -> gst::Pipeline {
    gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("{description}: {e}"))
        .downcast::<gst::Pipeline>()
        .unwrap()
}

/// The `appsrc` named `src` in a pipeline.
fn appsrc(pipeline: &gst::Pipeline) -> gst_app::AppSrc {
    pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap()
}

/// Counts the bytes that reach the element named `sink`.
fn count_bytes_into_sink(pipeline: &gst::Pipeline) -> Arc<AtomicU64> {
    let bytes = Arc::new(AtomicU64::new(0));
    let counter = bytes.clone();
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
    bytes
}

/// Runs `filesrc ! <chain> ! fakesink` in this process to EOS and counts the frames out.
fn run_gst_file(path: &Path, blocksize: u32, chain: &str) -> Sample {
    let description = format!(
        "filesrc location=\"{}\" blocksize={blocksize} ! {chain} ! fakesink name=sink sync=false",
        path.display()
    );
    let pipeline = launch(&description);
    let bytes_out = count_bytes_into_sink(&pipeline);
    let bus = pipeline.bus().unwrap();
    let (cpu_before, _) = cpu_seconds();
    let start = Instant::now();
    pipeline.set_state(gst::State::Playing).unwrap();
    wait_for_eos(&bus, &description);
    let wall = start.elapsed().as_secs_f64();
    pipeline.set_state(gst::State::Null).unwrap();
    let (cpu_after, _) = cpu_seconds();
    Sample {
        wall,
        cpu: cpu_after - cpu_before,
        frames: bytes_out.load(Ordering::Relaxed) / (2 * OUT_CHANNELS as u64),
    }
}

fn wait_for_eos(bus: &gst::Bus, what: &str) {
    for message in bus.iter_timed(gst::ClockTime::NONE) {
        match message.view() {
            gst::MessageView::Eos(_) => return,
            gst::MessageView::Error(e) => panic!("{what}: {} ({:?})", e.error(), e.debug()),
            _ => {}
        }
    }
}

/// Runs ffmpeg to 48 kHz mono S16LE into /dev/null; `limit` cuts the output short (to measure
/// its start-up: probing, opening the codec and the resampler).
fn run_ffmpeg(path: &Path, limit: Option<&str>) -> Sample {
    let mut command = Command::new("ffmpeg");
    command
        .args(["-nostdin", "-hide_banner", "-v", "error", "-i"])
        .arg(path);
    if let Some(limit) = limit {
        command.args(["-t", limit]);
    }
    command
        .args([
            "-ac",
            &OUT_CHANNELS.to_string(),
            "-ar",
            &OUT_RATE.to_string(),
        ])
        .args(["-f", "s16le", "-y", "/dev/null"])
        .stdout(Stdio::null());
    let (_, children_before) = cpu_seconds();
    let start = Instant::now();
    let status = command.status().expect("ffmpeg runs");
    let wall = start.elapsed().as_secs_f64();
    assert!(status.success(), "ffmpeg failed on {}", path.display());
    let (_, children_after) = cpu_seconds();
    Sample {
        wall,
        cpu: children_after - children_before,
        frames: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------

/// What the chart shows, gathered from the sections that ran.
#[derive(Default)]
struct Report {
    /// Per format: CPU time of the decodebin chain ÷ ours, and of ffmpeg (net) ÷ ours.
    throughput: Vec<(&'static str, f64, f64)>,
    /// Per format: bytes pushed before the first PCM, ours and the decodebin chain's.
    first_sound: Vec<(&'static str, Option<usize>, Option<usize>)>,
}

fn throughput(args: &Args, report: &mut Report) {
    println!(
        "\n## Throughput: {} s of audio to {OUT_RATE} Hz mono S16LE, median of {} runs, \
         filesrc blocksize={}",
        args.seconds, args.runs, args.blocksize
    );
    println!(
        "CPU = user + system seconds of all threads. ×RT = audio seconds per CPU second; \
         streams/2 cores = 2 × ×RT."
    );
    println!("ffmpeg net = minus its start-up, measured as the same command with `-t 1`.\n");
    println!(
        "| format | input | ours wall / CPU | decodebin chain wall / CPU | ffmpeg wall / CPU (net CPU) \
         | CPU: chain ÷ ours | CPU: ffmpeg net ÷ ours | ours ×RT | ours streams / 2 cores |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let expected_frames = args.seconds as u64 * OUT_RATE as u64;
    for format in &args.formats {
        let path = input(format, args.seconds);
        let size = std::fs::metadata(&path).unwrap().len();
        // One warm-up of each, so page cache and plugin loading are out of the figures.
        run_gst_file(&path, args.blocksize, OURS_CHAIN);
        run_gst_file(&path, args.blocksize, STOCK_CHAIN);
        run_ffmpeg(&path, Some("1"));
        let (mut ours, mut stock, mut ffmpeg, mut ffmpeg_start) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        // Interleaved, so a burst of load from elsewhere hits every contender alike.
        for _ in 0..args.runs {
            ours.push(run_gst_file(&path, args.blocksize, OURS_CHAIN));
            stock.push(run_gst_file(&path, args.blocksize, STOCK_CHAIN));
            ffmpeg.push(run_ffmpeg(&path, None));
            ffmpeg_start.push(run_ffmpeg(&path, Some("1")));
        }
        let (ours, stock, ffmpeg, ffmpeg_start) = (
            summarize(&ours),
            summarize(&stock),
            summarize(&ffmpeg),
            summarize(&ffmpeg_start),
        );
        for (who, frames) in [("ours", ours.frames), ("decodebin chain", stock.frames)] {
            if frames.abs_diff(expected_frames) > OUT_RATE as u64 / 10 {
                println!(
                    "WARNING: {who} gave {frames} frames for {} ({expected_frames} expected)",
                    format.name
                );
            }
        }
        let ffmpeg_net = (ffmpeg.cpu - ffmpeg_start.cpu).max(0.001);
        let ours_cpu = ours.cpu.max(0.001);
        report
            .throughput
            .push((format.name, stock.cpu / ours_cpu, ffmpeg_net / ours_cpu));
        let realtime = args.seconds as f64 / ours_cpu;
        println!(
            "| {} | {:.1} MiB | {:.3} s / {:.3} s | {:.3} s / {:.3} s | {:.3} s / {:.3} s ({:.3} s) \
             | {:.2} | {:.2} | {:.0} | {:.0} |",
            format.name,
            size as f64 / 1048576.0,
            ours.wall,
            ours.cpu,
            stock.wall,
            stock.cpu,
            ffmpeg.wall,
            ffmpeg.cpu,
            ffmpeg_net,
            stock.cpu / ours_cpu,
            ffmpeg_net / ours_cpu,
            realtime,
            2.0 * realtime,
        );
    }
}

/// Bytes pushed through `appsrc ! <chain> ! appsink` in 512-byte chunks when the first PCM
/// comes out, or None if it never does.
fn bytes_to_first_pcm(bytes: &[u8], chain: &str) -> Option<usize> {
    const CHUNK: usize = 512;
    let description = format!(
        "appsrc name=src format=bytes ! {chain} ! appsink name=sink sync=false \
         caps=audio/x-raw,rate={OUT_RATE},channels={OUT_CHANNELS}"
    );
    let pipeline = launch(&description);
    let src = appsrc(&pipeline);
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut pushed = 0;
    let mut result = None;
    for chunk in bytes.chunks(CHUNK) {
        src.push_buffer(gst::Buffer::from_slice(chunk.to_vec()))
            .unwrap();
        pushed += chunk.len();
        // Long enough for any element to act on what it has; 512 bytes of a 128 kbit/s stream
        // last 32 ms, so this is also about real time.
        if sink
            .try_pull_sample(gst::ClockTime::from_mseconds(30))
            .is_some()
        {
            result = Some(pushed);
            break;
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    result
}

fn first_sound(args: &Args, report: &mut Report) {
    println!(
        "\n## First sound: bytes pushed in 512-byte chunks (30 ms apart) when the first PCM comes out"
    );
    println!(
        "ms = those bytes as stream time at the file's average bitrate (header bytes included).\n"
    );
    println!("| format | ours | decodebin chain |");
    println!("|---|---|---|");
    for format in &args.formats {
        // A short file of the same format: only its start matters.
        let path = input(format, 10);
        let bytes = std::fs::read(&path).unwrap();
        let bytes_per_ms = bytes.len() as f64 / 10_000.0;
        let show = |result: Option<usize>| match result {
            Some(n) => format!("{n} B ({:.0} ms)", n as f64 / bytes_per_ms),
            None => "none before the end".to_string(),
        };
        let (ours, stock) = (
            bytes_to_first_pcm(&bytes, OURS_CHAIN),
            bytes_to_first_pcm(&bytes, STOCK_CHAIN),
        );
        println!("| {} | {} | {} |", format.name, show(ours), show(stock));
        report.first_sound.push((format.name, ours, stock));
    }
}

/// Resident memory and threads that `streams` idle pipelines add, each fed the start of an MP3
/// in 4 KiB chunks and then left waiting for more, as a live stream waits between network reads.
fn idle_streams(streams: usize, chain: &str, head: &[u8]) -> (f64, f64) {
    let (rss_before, threads_before) = (resident_kib(), thread_count());
    let mut pipelines = Vec::new();
    for _ in 0..streams {
        let description =
            format!("appsrc name=src format=bytes ! {chain} ! fakesink name=sink sync=false");
        let pipeline = launch(&description);
        let src = appsrc(&pipeline);
        let (first_pcm, first_pcm_seen) = std::sync::mpsc::sync_channel(1);
        pipeline
            .by_name("sink")
            .unwrap()
            .static_pad("sink")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                let _ = first_pcm.try_send(());
                gst::PadProbeReturn::Remove
            });
        pipeline.set_state(gst::State::Playing).unwrap();
        for chunk in head.chunks(4096) {
            src.push_buffer(gst::Buffer::from_slice(chunk.to_vec()))
                .unwrap();
        }
        first_pcm_seen
            .recv_timeout(Duration::from_secs(10))
            .expect("first PCM from an idle stream");
        pipelines.push(pipeline);
    }
    // Let every stream work through what it was given.
    std::thread::sleep(Duration::from_millis(500));
    let rss = resident_kib().saturating_sub(rss_before);
    let threads = thread_count().saturating_sub(threads_before);
    for pipeline in &pipelines {
        pipeline.set_state(gst::State::Null).unwrap();
    }
    (rss as f64 / streams as f64, threads as f64 / streams as f64)
}

/// Runs this program again with `args` and returns the numbers its output line holds, and the
/// line (to show when it failed).
fn run_child(args: &[&str]) -> (Vec<f64>, String) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let figures = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    (figures, line)
}

fn idle(args: &Args) {
    println!(
        "\n## Idle streams: {} pipelines `appsrc ! … ! fakesink`, each fed 32 KiB of MP3 in 4 KiB chunks",
        args.streams
    );
    println!(
        "Resident memory and threads added, per stream. Each chain runs in a fresh process, \
         so neither reuses memory or pooled threads the other freed.\n"
    );
    // Made here, so the child processes only read it.
    input(&FORMATS[0], 10);
    println!("| chain | RSS per stream | threads per stream |");
    println!("|---|---|---|");
    for (name, chain) in [("ours", "ours"), ("decodebin chain", "stock")] {
        let (figures, line) = run_child(&["--idle-child", chain, &args.streams.to_string()]);
        match figures.as_slice() {
            [kib, threads] => println!("| {name} | {kib:.0} KiB | {threads:.1} |"),
            _ => println!("| {name} | failed: {line} | |"),
        }
    }
}

/// The child process of `idle`: prints "<KiB per stream> <threads per stream>".
fn idle_child(chain: &str, streams: usize) {
    let chain = match chain {
        "ours" => OURS_CHAIN,
        "stock" => STOCK_CHAIN,
        description => description,
    };
    let mp3 = std::fs::read(input(&FORMATS[0], 10)).unwrap();
    let head = &mp3[..32 * 1024];
    // Warm-up, so plugin loading and first-use allocations are not charged to the streams.
    idle_streams(2, chain, head);
    let (kib, threads) = idle_streams(streams, chain, head);
    println!("{kib} {threads}");
}

/// Where each live stream's figures go.
struct LiveStream {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    bytes_out: Arc<AtomicU64>,
}

fn live(args: &Args) {
    const SECONDS: u32 = 10;
    println!(
        "\n## Live streams: {} pipelines `appsrc ! … ! fakesink` at once, each fed a {SECONDS} s file \
         in 20 ms pieces at real-time pace",
        args.streams
    );
    println!(
        "CPU = this process's user + system time over the run, per stream, in % of one core \
         (the feeding thread included). Late = how long after the last piece the last EOS came. \
         Each chain runs in a fresh process.\n"
    );
    println!(
        "Own = above the null chain `appsrc ! identity ! fakesink` (the feeding and GStreamer's \
         own costs). RSS and threads = added per stream, measured at the end of the feed.\n"
    );
    println!(
        "| format | chain | CPU per stream | own CPU | streams per 2 cores at this cost | \
         RSS per stream | own RSS | threads per stream | late | frames out per stream (min) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for format in &args.formats {
        if !["mp3", "opus-pages20ms", "aac", "wav24k"].contains(&format.name) {
            continue;
        }
        input(format, SECONDS);
        let mut null = None;
        for (name, chain) in [
            ("null (identity)", NULL_CHAIN),
            ("ours", "ours"),
            ("decodebin chain", "stock"),
        ] {
            let (figures, line) = run_child(&[
                "--live-child",
                chain,
                &args.streams.to_string(),
                format.name,
            ]);
            match figures.as_slice() {
                &[percent, late, frames, kib, threads] => {
                    let (own_cpu, own_kib) = match null {
                        None => {
                            null = Some((percent, kib));
                            ("".to_string(), "".to_string())
                        }
                        Some((null_cpu, null_kib)) => (
                            format!("{:.3} %", percent - null_cpu),
                            format!("{:.0} KiB", kib - null_kib),
                        ),
                    };
                    println!(
                        "| {} | {name} | {percent:.3} % | {own_cpu} | {:.0} | {kib:.0} KiB | \
                         {own_kib} | {threads:.1} | {late:.2} s | {frames:.0} |",
                        format.name,
                        200.0 / percent.max(0.001)
                    )
                }
                _ => println!(
                    "| {} | {name} | failed: {line} | | | | | | | |",
                    format.name
                ),
            }
        }
    }
}

/// The child process of `live`: prints "<CPU % of a core per stream> <late s> <min frames>
/// <RSS KiB per stream> <threads per stream>".
fn live_child(chain: &str, streams: usize, format_name: &str) {
    const SECONDS: u32 = 10;
    const PIECE: Duration = Duration::from_millis(20);
    let chain = match chain {
        "ours" => OURS_CHAIN,
        "stock" => STOCK_CHAIN,
        description => description,
    };
    let format = FORMATS
        .iter()
        .find(|f| f.name == format_name)
        .unwrap_or_else(|| usage());
    let bytes = std::fs::read(input(format, SECONDS)).unwrap();
    let (rss_before, threads_before) = (resident_kib(), thread_count());
    let pieces = (SECONDS as u128 * 1000 / PIECE.as_millis()) as usize;
    let piece_len = bytes.len().div_ceil(pieces);
    let streams: Vec<LiveStream> = (0..streams)
        .map(|_| {
            let description =
                format!("appsrc name=src format=bytes ! {chain} ! fakesink name=sink sync=false");
            let pipeline = launch(&description);
            let src = appsrc(&pipeline);
            let bytes_out = count_bytes_into_sink(&pipeline);
            pipeline.set_state(gst::State::Playing).unwrap();
            LiveStream {
                pipeline,
                src,
                bytes_out,
            }
        })
        .collect();
    let (cpu_before, _) = cpu_seconds();
    let start = Instant::now();
    for (i, piece) in bytes.chunks(piece_len).enumerate() {
        for stream in &streams {
            stream
                .src
                .push_buffer(gst::Buffer::from_slice(piece.to_vec()))
                .unwrap();
        }
        if let Some(wait) = (PIECE * (i as u32 + 1)).checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let fed = Instant::now();
    // For a breakdown of the resident memory by mapping (heap arenas, stacks, code).
    if let Ok(dir) = std::env::var("BENCH_SMAPS") {
        let _ = std::fs::copy("/proc/self/smaps", format!("{dir}/smaps-{chain}.txt"));
    }
    let rss = resident_kib().saturating_sub(rss_before) as f64 / streams.len() as f64;
    let threads = thread_count().saturating_sub(threads_before) as f64 / streams.len() as f64;
    for stream in &streams {
        stream.src.end_of_stream().unwrap();
    }
    for stream in &streams {
        wait_for_eos(&stream.pipeline.bus().unwrap(), chain);
    }
    let late = fed.elapsed().as_secs_f64();
    let wall = start.elapsed().as_secs_f64();
    let (cpu_after, _) = cpu_seconds();
    let min_frames = streams
        .iter()
        .map(|s| s.bytes_out.load(Ordering::Relaxed) / (2 * OUT_CHANNELS as u64))
        .min()
        .unwrap_or(0);
    for stream in &streams {
        stream.pipeline.set_state(gst::State::Null).unwrap();
    }
    let percent = (cpu_after - cpu_before) / wall / streams.len() as f64 * 100.0;
    println!("{percent} {late} {min_frames} {rss} {threads}");
}

fn main() {
    gst::init().unwrap();
    gstrsstreamdecoder::plugin_register_static().unwrap();
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--idle-child") {
        let streams = argv
            .get(3)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| usage());
        idle_child(&argv[2], streams);
        return;
    }
    if argv.get(1).map(String::as_str) == Some("--long-child") {
        long_child();
        return;
    }
    if argv.get(1).map(String::as_str) == Some("--live-child") {
        let streams = argv
            .get(3)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| usage());
        live_child(&argv[2], streams, argv.get(4).map_or("mp3", String::as_str));
        return;
    }
    let args = parse_args();
    println!(
        "# rsstreamdecoder benchmark: {} cores, GStreamer {}, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        gst::version_string(),
        String::from_utf8_lossy(
            &Command::new("ffmpeg")
                .arg("-version")
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default()
        )
        .lines()
        .next()
        .unwrap_or("ffmpeg not found")
    );
    let mut report = Report::default();
    for section in &args.sections {
        match section.as_str() {
            "throughput" => throughput(&args, &mut report),
            "first-sound" => first_sound(&args, &mut report),
            "idle" => idle(&args),
            "live" => live(&args),
            "long" => long(),
            "codecs" => codecs(&args),
            _ => usage(),
        }
    }
    if !report.throughput.is_empty() || !report.first_sound.is_empty() {
        let path = bench_dir().join("bench.svg");
        std::fs::write(&path, chart(&report, &args)).unwrap();
        println!("\nChart: {}", path.display());
    }
}

// ---------------------------------------------------------------------------------------------
// MPEG audio decoders side by side
// ---------------------------------------------------------------------------------------------

/// The MP3 benchmark file's packets decoded by symphonia's MPEG audio decoder and by the one the
/// element uses (`codecs::mpeg_audio`, nanomp3), in this process, without GStreamer: the speed
/// half of the choice between them (the compliance half is `tests/conformance.rs`).
fn codecs(args: &Args) {
    use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
    use symphonia::core::codecs::registry::RegisterableAudioDecoder;
    use symphonia::core::formats::probe::Hint;
    use symphonia::core::io::MediaSourceStream;

    println!(
        "\n## MPEG audio decoders: the {} s MP3's packets, decoded in memory (ms, median of {})\n",
        args.seconds, args.runs
    );
    let path = input(&FORMATS[0], args.seconds);
    let source = MediaSourceStream::new(
        Box::new(std::fs::File::open(&path).unwrap()),
        Default::default(),
    );
    let mut reader = symphonia::default::get_probe()
        .probe(
            Hint::new().with_extension("mp3"),
            source,
            Default::default(),
            Default::default(),
        )
        .unwrap();
    let params = reader
        .default_track(symphonia::core::formats::TrackType::Audio)
        .unwrap()
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .unwrap()
        .clone();
    let mut packets = Vec::new();
    while let Ok(Some(packet)) = reader.next_packet() {
        packets.push(packet);
    }
    let opts = AudioDecoderOptions::default();
    let time = |make: &dyn Fn() -> Box<dyn AudioDecoder>| {
        let mut runs: Vec<f64> = (0..args.runs)
            .map(|_| {
                let mut decoder = make();
                let began = Instant::now();
                for packet in &packets {
                    let _ = decoder.decode(packet);
                }
                began.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        median(&mut runs)
    };
    let symphonia_ms =
        time(&|| symphonia::default::codecs::MpaDecoder::try_registry_new(&params, &opts).unwrap());
    let ours_ms = time(&|| {
        gstrsstreamdecoder::codecs::mpeg_audio::MpegAudioDecoder::try_registry_new(&params, &opts)
            .unwrap()
    });
    println!("| decoder | ms | x real time | ÷ nanomp3 |");
    println!("|---|---|---|---|");
    for (name, ms) in [
        ("symphonia 0.6 MpaDecoder", symphonia_ms),
        ("nanomp3 (ours)", ours_ms),
    ] {
        println!(
            "| {name} | {ms:.0} | {:.0} | {:.2} |",
            args.seconds as f64 * 1000.0 / ms,
            ms / ours_ms
        );
    }
}

// ---------------------------------------------------------------------------------------------
// One hour of MP3
// ---------------------------------------------------------------------------------------------

const LONG_SECONDS: u32 = 3600;

fn long() {
    println!(
        "\n## One hour of MP3 (128 kbit/s) through `filesrc ! rsstreamdecoder ! fakesink`, as \
         fast as possible"
    );
    println!(
        "Resident memory of the whole process, sampled every 20 ms, against the audio decoded \
         so far.\n"
    );
    input(&FORMATS[0], LONG_SECONDS);
    let (figures, line) = run_child(&["--long-child"]);
    match figures.as_slice() {
        &[start, at_minute, peak_after, peak, end, wall] => {
            println!(
                "| before PLAYING | after 1 min of audio | highest after that | peak | at the end \
                 | wall time |"
            );
            println!("|---|---|---|---|---|---|");
            println!(
                "| {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} MiB | {wall:.1} s |",
                start / 1024.0,
                at_minute / 1024.0,
                peak_after / 1024.0,
                peak / 1024.0,
                end / 1024.0
            );
            println!(
                "\nGrowth after the first minute: {:.0} KiB.",
                peak_after - at_minute
            );
        }
        _ => println!("failed: {line}"),
    }
}

/// The child process of `long`: prints "<KiB before> <KiB at 1 min> <max KiB after 1 min>
/// <peak KiB> <KiB at the end> <wall s>".
fn long_child() {
    let path = input(&FORMATS[0], LONG_SECONDS);
    let pipeline = launch(&format!(
        "filesrc location={} ! {OURS_CHAIN} ! fakesink name=sink sync=false",
        path.display()
    ));
    let bytes_out = count_bytes_into_sink(&pipeline);
    let bus = pipeline.bus().unwrap();
    let start = resident_kib();
    let began = Instant::now();
    pipeline.set_state(gst::State::Playing).unwrap();
    let bytes_per_second = (2 * OUT_RATE * OUT_CHANNELS) as u64;
    let (mut at_minute, mut peak_after, mut peak) = (None, 0, 0);
    loop {
        let done = bus
            .timed_pop_filtered(
                gst::ClockTime::from_mseconds(20),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
            .is_some();
        let rss = resident_kib();
        peak = peak.max(rss);
        if bytes_out.load(Ordering::Relaxed) / bytes_per_second >= 60 {
            at_minute.get_or_insert(rss);
            peak_after = peak_after.max(rss);
        }
        if done {
            break;
        }
    }
    let wall = began.elapsed().as_secs_f64();
    let end = resident_kib();
    pipeline.set_state(gst::State::Null).unwrap();
    println!(
        "{start} {} {peak_after} {peak} {end} {wall}",
        at_minute.unwrap_or(0)
    );
}

// ---------------------------------------------------------------------------------------------
// Chart
// ---------------------------------------------------------------------------------------------

/// An SVG of the throughput ratios and first-sound bytes per format, written by hand: two bar
/// charts are not worth a plotting dependency.
fn chart(report: &Report, args: &Args) -> String {
    const W: f64 = 900.0;
    const H: f64 = 380.0;
    const PANEL_W: f64 = 400.0;
    const TOP: f64 = 60.0;
    const BOTTOM: f64 = 300.0;
    const BLUE: &str = "#3b6fb6";
    const ORANGE: &str = "#e08a2c";
    const GREY: &str = "#9a9a9a";
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{W}\" height=\"{H}\" \
         fill=\"white\"/>\n"
    );
    let text = |svg: &mut String, x: f64, y: f64, anchor: &str, size: u32, s: &str| {
        svg.push_str(&format!(
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" font-size=\"{size}\">{s}</text>\n"
        ));
    };
    // One panel: grouped bars, a value axis from 0 to `max`, and a dashed reference line.
    let panel = |svg: &mut String,
                 left: f64,
                 title: &str,
                 rows: &[(&str, Vec<f64>)],
                 series: &[(&str, &str)],
                 reference: Option<(f64, &str)>,
                 unit: &str| {
        text(svg, left + PANEL_W / 2.0, 24.0, "middle", 14, title);
        let max = rows
            .iter()
            .flat_map(|(_, values)| values.iter().copied())
            .chain(reference.map(|(value, _)| value))
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.1;
        let y = |value: f64| BOTTOM - (value / max) * (BOTTOM - TOP);
        for tick in 0..=4 {
            let value = max * tick as f64 / 4.0;
            svg.push_str(&format!(
                "<line x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#e4e4e4\"/>\n",
                left + PANEL_W,
                y(value),
                y(value)
            ));
            text(
                svg,
                left - 4.0,
                y(value) + 4.0,
                "end",
                10,
                &format!("{value:.1}{unit}"),
            );
        }
        let group = PANEL_W / rows.len().max(1) as f64;
        let bar = (group * 0.8) / series.len() as f64;
        for (i, (name, values)) in rows.iter().enumerate() {
            let x0 = left + group * i as f64 + group * 0.1;
            for (j, value) in values.iter().enumerate() {
                svg.push_str(&format!(
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/>\n",
                    x0 + bar * j as f64,
                    y(*value),
                    bar - 1.0,
                    BOTTOM - y(*value),
                    series[j].1
                ));
            }
            text(svg, x0 + group * 0.4, BOTTOM + 14.0, "middle", 10, name);
        }
        if let Some((value, label)) = reference {
            svg.push_str(&format!(
                "<line x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#444\" \
                 stroke-dasharray=\"4 3\"/>\n",
                left + PANEL_W,
                y(value),
                y(value)
            ));
            text(svg, left + PANEL_W, y(value) - 4.0, "end", 10, label);
        }
        for (j, (label, colour)) in series.iter().enumerate() {
            let x = left + 10.0 + 190.0 * j as f64;
            svg.push_str(&format!(
                "<rect x=\"{x}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{colour}\"/>\n",
                BOTTOM + 30.0
            ));
            text(svg, x + 14.0, BOTTOM + 39.0, "start", 11, label);
        }
    };
    let ratios: Vec<(&str, Vec<f64>)> = report
        .throughput
        .iter()
        .map(|(name, chain, ffmpeg)| (*name, vec![*chain, *ffmpeg]))
        .collect();
    if !ratios.is_empty() {
        panel(
            &mut svg,
            50.0,
            &format!(
                "CPU time of others ÷ ours, {} s files (higher: ours cheaper)",
                args.seconds
            ),
            &ratios,
            &[("decodebin chain ÷ ours", BLUE), ("ffmpeg ÷ ours", ORANGE)],
            Some((1.0, "same cost")),
            "",
        );
    }
    let bytes: Vec<(&str, Vec<f64>)> = report
        .first_sound
        .iter()
        .map(|(name, ours, chain)| {
            let kib = |b: &Option<usize>| b.map_or(0.0, |b| b as f64 / 1024.0);
            (*name, vec![kib(ours), kib(chain)])
        })
        .collect();
    if !bytes.is_empty() {
        panel(
            &mut svg,
            50.0 + PANEL_W + 60.0,
            "First sound: KiB pushed (512 B pieces) before PCM",
            &bytes,
            &[("rsstreamdecoder", BLUE), ("decodebin chain", GREY)],
            None,
            "",
        );
    }
    text(
        &mut svg,
        W / 2.0,
        H - 8.0,
        "middle",
        10,
        "make bench: medians on a shared 2-core machine; ratios are from the same run",
    );
    svg.push_str("</svg>\n");
    svg
}
