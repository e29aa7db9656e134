//! Helpers shared by the integration tests: test fixtures made on demand with real encoders
//! (ffmpeg), an independent reference decode (ffmpeg), a driver that runs bytes through the
//! `rsstreamdecoder` element in a `gst_check::Harness` and records everything that comes out,
//! and signal comparison functions.
//!
//! Every test file that uses this module does `mod common;`; not every file uses every helper.
#![allow(dead_code)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, Once, mpsc};
use std::time::Duration;

use gst::glib;
use gst::prelude::*;

// ---------------------------------------------------------------------------------------------
// Initialisation
// ---------------------------------------------------------------------------------------------

/// Initialises GStreamer and registers the plugin statically (once per process).
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstrsstreamdecoder::plugin_register_static().unwrap();
    });
}

/// A pipeline from a `gst-launch-1.0` description.
pub fn launch(description: &str) -> gst::Pipeline {
    gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("{description}: {e}"))
        .downcast::<gst::Pipeline>()
        .unwrap()
}

/// The `appsrc` named `src` in a pipeline.
pub fn app_src(pipeline: &gst::Pipeline) -> gst_app::AppSrc {
    pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// Sample rate of the test signal (every fixture except Opus, which only exists at 48 kHz).
pub const SOURCE_RATE: u32 = 44_100;
/// Length of the test signal in seconds.
pub const SOURCE_SECONDS: u32 = 3;
/// Exact length of the test signal in frames at 44.1 kHz: the truth for gapless-capable formats.
pub const SOURCE_FRAMES: u64 = SOURCE_RATE as u64 * SOURCE_SECONDS as u64;
/// The same signal resampled to 48 kHz by ffmpeg for the Opus fixtures.
pub const SOURCE_FRAMES_48K: u64 = 48_000 * SOURCE_SECONDS as u64;

/// The deterministic test signal: stereo, two tones per channel with different frequencies and
/// slow amplitude envelopes on the left and right, so swapped, dropped or shifted channels and
/// samples show. Peak amplitude about 0.63 (no clipping after lossy coding).
fn source_filter(rate: u32, channels: &str) -> String {
    format!(
        "aevalsrc=exprs='(0.6+0.3*sin(2*PI*1.3*t))*(0.5*sin(2*PI*440*t)+0.2*sin(2*PI*2500*t))\
         |(0.6+0.3*cos(2*PI*0.7*t))*(0.4*sin(2*PI*660*t)+0.25*sin(2*PI*3300*t))'\
         :s={rate}:d={SOURCE_SECONDS}:c={channels}"
    )
}

/// How a fixture is made.
enum Recipe {
    /// `ffmpeg -f lavfi -i <test signal> <args> <out>`.
    Encode(&'static [&'static str]),
    /// Like `Encode`, with a second input: a 3 s, 64×64 test video (input 1).
    EncodeWithVideo(&'static [&'static str]),
    /// A second input: a 880 Hz sine, 22.05 kHz mono, as input 1 (for a second audio track).
    EncodeWithSecondAudio(&'static [&'static str]),
    /// Like `Encode`, with a filter graph applied to the signal first (e.g. an upmix).
    EncodeFiltered(&'static str, &'static [&'static str]),
    /// Another fixture with the RIFF and `data` chunk sizes patched to 0xFFFFFFFF, as a WAV
    /// written by a streaming server that does not know its length.
    StreamingWav(&'static str),
    /// Another fixture remuxed by a GStreamer pipeline fragment (`filesrc ! ... ! filesink`).
    GstRemux(&'static str, &'static str),
    /// Another fixture remuxed by ffmpeg (`ffmpeg -i <base> -c copy <args> <out>`).
    FfmpegRemux(&'static str, &'static [&'static str]),
    /// Another fixture remuxed to WebM by mkvmerge, the most common Matroska muxer.
    MkvMerge(&'static str),
    /// Another fixture converted by sox (`sox <base> <args> <out>`).
    Sox(&'static str, &'static [&'static str]),
    /// Another fixture compressed by WavPack's own encoder (`wavpack <args> <base> -o <out>`).
    WavPack(&'static str, &'static [&'static str]),
    /// Another fixture compressed by Monkey's Audio's Java port (`jmac c<level> <base> <out>`,
    /// level 1 to 5: fast to insane); it writes version 3.99 files.
    Jmac(&'static str, u8),
    /// Another fixture compressed by Musepack's encoder (`mpcenc <args> <base> <out>`; it
    /// writes stream version 8, and reads only 32, 37.8, 44.1 and 48 kHz).
    Mpcenc(&'static str, &'static [&'static str]),
    /// Another fixture with its bytes edited the way a real writer gets them wrong or
    /// different; the name says what the edit does and keys the cache.
    Patched(&'static str, &'static str, fn(&mut Vec<u8>)),
    /// `s16.wav` encoded to ADTS by FDK AAC (the `fdk-aac` crate; ffmpeg here has no HE-AAC
    /// encoder): audio object type 2 (LC), 5 (HE-AAC) or 29 (HE-AACv2), channels 1 or 2.
    FdkAac {
        aot: u8,
        channels: u16,
        bitrate: u32,
    },
    /// `s16.wav` encoded by FDK AAC to raw access units and muxed into MP4 by GStreamer's
    /// `mp4mux` with the encoder's AudioSpecificConfig: for AAC-LD (23) and AAC-ELD (39), which
    /// ADTS cannot carry and no encoder here writes into a container, and for HE-AAC signalled
    /// explicitly (5), which ADTS cannot either.
    FdkAacMp4 { aot: u8, bitrate: u32 },
}

/// The 5.1 upmix of the test signal: every channel different.
const PAN_5_1: &str = "pan=5.1|FL=c0|FR=c1|FC=0.5*c0+0.5*c1|LFE=0.1*c0|BL=0.7*c1|BR=0.6*c0";

/// ffmpeg's G.726 encoder at 16, 24, 32 and 40 kbit/s (2-5 bits a code) in WAV.
const fn g726_args(code_size: &'static str) -> [&'static str; 10] {
    [
        "-ar",
        "8000",
        "-ac",
        "1",
        "-c:a",
        "g726",
        "-code_size",
        code_size,
        "-f",
        "wav",
    ]
}
const G726_16K: [&str; 10] = g726_args("2");
const G726_24K: [&str; 10] = g726_args("3");
const G726_32K: [&str; 10] = g726_args("4");
const G726_40K: [&str; 10] = g726_args("5");

/// G.723.1 at 6.3 kbit/s (ffmpeg's encoder).
const G723_1_WAV: [&str; 10] = [
    "-ar", "8000", "-ac", "1", "-c:a", "g723_1", "-b:a", "6300", "-f", "wav",
];
const G723_1_AVI: [&str; 10] = [
    "-ar", "8000", "-ac", "1", "-c:a", "g723_1", "-b:a", "6300", "-f", "avi",
];

/// Every fixture the tests know, by file name. The extension is the container.
fn recipe(name: &str) -> Recipe {
    use Recipe::*;
    match name {
        "mp3_cbr.mp3" => Encode(&["-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3"]),
        "mp3_vbr.mp3" => Encode(&["-c:a", "libmp3lame", "-q:a", "4", "-f", "mp3"]),
        "mp2.mp2" => Encode(&["-c:a", "mp2", "-b:a", "192k", "-f", "mp2"]),
        "aac_adts.aac" => Encode(&["-c:a", "aac", "-b:a", "128k", "-f", "adts"]),
        "aac.m4a" => Encode(&[
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-movflags",
            "+faststart",
            "-f",
            "ipod",
        ]),
        "vorbis.ogg" => Encode(&["-c:a", "libvorbis", "-q:a", "4", "-f", "ogg"]),
        "opus.ogg" => Encode(&[
            "-ar", "48000", "-c:a", "libopus", "-b:a", "96k", "-f", "ogg",
        ]),
        // As a live server writes Ogg: a page per 20 ms packet, not ffmpeg's default of a page
        // per second, which a reader can only pass on whole.
        "opus_live.ogg" => Encode(&[
            "-ar",
            "48000",
            "-c:a",
            "libopus",
            "-b:a",
            "96k",
            "-page_duration",
            "20000",
            "-f",
            "ogg",
        ]),
        "vorbis_live.ogg" => Encode(&[
            "-c:a",
            "libvorbis",
            "-q:a",
            "4",
            "-page_duration",
            "20000",
            "-f",
            "ogg",
        ]),
        "opus.webm" => Encode(&[
            "-ar", "48000", "-c:a", "libopus", "-b:a", "96k", "-f", "webm",
        ]),
        // Opus in MP4: a `dOps` box, and an edit list that skips the pre-skip; and without
        // the edit list, where the `dOps` pre-skip alone says what to skip.
        "opus.mp4" => Encode(&[
            "-ar", "48000", "-c:a", "libopus", "-b:a", "96k", "-f", "mp4",
        ]),
        "opus_no_editlist.mp4" => Encode(&[
            "-ar",
            "48000",
            "-c:a",
            "libopus",
            "-b:a",
            "96k",
            "-use_editlist",
            "0",
            "-f",
            "mp4",
        ]),
        // One cluster per 0.5 s instead of ffmpeg's one per 5 s of audio.
        "opus_clusters.webm" => Encode(&[
            "-ar",
            "48000",
            "-c:a",
            "libopus",
            "-b:a",
            "96k",
            "-cluster_time_limit",
            "500",
            "-f",
            "webm",
        ]),
        // As a live WebM server writes it: Segment and Clusters of unknown size.
        "opus_streamable.webm" => GstRemux("opus.webm", "matroskademux ! webmmux streamable=true"),
        // mkvmerge laces two Opus frames per SimpleBlock and puts the last, padded frame alone
        // in a BlockGroup with its DiscardPadding.
        "opus_mkvmerge.webm" => MkvMerge("opus.ogg"),
        "vorbis.mka" => Encode(&["-c:a", "libvorbis", "-q:a", "4", "-f", "matroska"]),
        // The test signal is floating point: without `-sample_fmt s16` ffmpeg's FLAC encoder
        // picks s32 and writes 24-bit FLAC.
        "flac.flac" => Encode(&["-sample_fmt", "s16", "-c:a", "flac", "-f", "flac"]),
        "flac24.flac" => Encode(&["-sample_fmt", "s32", "-c:a", "flac", "-f", "flac"]),
        "flac.oga" => Encode(&["-sample_fmt", "s16", "-c:a", "flac", "-f", "ogg"]),
        "u8.wav" => Encode(&["-c:a", "pcm_u8", "-f", "wav"]),
        "s16.wav" => Encode(&["-c:a", "pcm_s16le", "-f", "wav"]),
        // ffmpeg writes WAVE_FORMAT_EXTENSIBLE for more than 16 bits per sample (and for more
        // than two channels); `assert_wav_format_tag` checks it in the tests.
        "s24.wav" => Encode(&["-c:a", "pcm_s24le", "-f", "wav"]),
        "s32.wav" => Encode(&["-c:a", "pcm_s32le", "-f", "wav"]),
        "f32.wav" => Encode(&["-c:a", "pcm_f32le", "-f", "wav"]),
        "alaw.wav" => Encode(&["-c:a", "pcm_alaw", "-f", "wav"]),
        "mulaw.wav" => Encode(&["-c:a", "pcm_mulaw", "-f", "wav"]),
        // MP3 in WAV (format tag 0x55), as ACM encoders wrote it; symphonia and the decodebin
        // chain refuse it.
        "mp3_in.wav" => Encode(&["-c:a", "libmp3lame", "-b:a", "128k", "-f", "wav"]),
        // ADPCM in WAV (telephony, games, old recorders): the last block is padded out.
        "ima_adpcm.wav" => Encode(&["-c:a", "adpcm_ima_wav", "-f", "wav"]),
        "ms_adpcm.wav" => Encode(&["-c:a", "adpcm_ms", "-f", "wav"]),
        // Telephony codecs in WAV (voice-mail systems, call recorders) and raw GSM (`.gsm`, as
        // Asterisk records it).
        "g722.wav" => Encode(&["-ar", "16000", "-ac", "1", "-c:a", "g722", "-f", "wav"]),
        "gsm.wav" => Encode(&["-ar", "8000", "-ac", "1", "-c:a", "libgsm_ms", "-f", "wav"]),
        "gsm.gsm" => Encode(&["-ar", "8000", "-ac", "1", "-c:a", "libgsm", "-f", "gsm"]),
        "g726_16k.wav" => Encode(&G726_16K),
        "g726_24k.wav" => Encode(&G726_24K),
        "g726_32k.wav" => Encode(&G726_32K),
        "g726_40k.wav" => Encode(&G726_40K),
        // The same codes as Sun's G.72x AU encodings (G.721 = G.726 at 32 kbit/s, G.723 at 24
        // and 40), which sox decodes with Sun's reference code: the reference for G.726.
        "g726_24k.au" => Patched("g726_24k.wav", "codes as Sun AU G.723-24", |b| {
            g726_wav_to_au(b, 3, 25)
        }),
        "g726_32k.au" => Patched("g726_32k.wav", "codes as Sun AU G.721", |b| {
            g726_wav_to_au(b, 4, 23)
        }),
        "g726_40k.au" => Patched("g726_40k.wav", "codes as Sun AU G.723-40", |b| {
            g726_wav_to_au(b, 5, 26)
        }),
        // 5.1, 16 bit: WAVE_FORMAT_EXTENSIBLE with a channel mask (0x3F).
        "s16_5.1.wav" => EncodeFiltered(PAN_5_1, &["-c:a", "pcm_s16le", "-f", "wav"]),
        "s16_streaming.wav" => StreamingWav("s16.wav"),
        // Surround Opus (channel mapping family 1) and Vorbis, from the same 5.1 upmix, and
        // 7.1 Opus.
        "aac_5.1.aac" => EncodeFiltered(PAN_5_1, &["-c:a", "aac", "-b:a", "384k", "-f", "adts"]),
        "aac_quad_pce.m4a" => EncodeFiltered(
            "pan=quad|FL=c0|FR=c1|BL=0.7*c1|BR=0.6*c0",
            &[
                "-c:a",
                "aac",
                "-b:a",
                "256k",
                "-movflags",
                "+faststart",
                "-f",
                "mp4",
            ],
        ),
        // The same quad in ADTS: channel configuration 0, the layout in a PCE in the frames.
        "aac_quad_pce.aac" => EncodeFiltered(
            "pan=quad|FL=c0|FR=c1|BL=0.7*c1|BR=0.6*c0",
            &["-c:a", "aac", "-b:a", "256k", "-f", "adts"],
        ),
        // Stereo described by a PCE rather than channel configuration 2, as some encoders do.
        "aac_pce_stereo.aac" => {
            Encode(&["-c:a", "aac", "-aac_pce", "1", "-b:a", "128k", "-f", "adts"])
        }
        "aac_5.1.m4a" => EncodeFiltered(
            PAN_5_1,
            &[
                "-c:a",
                "aac",
                "-b:a",
                "384k",
                "-movflags",
                "+faststart",
                "-f",
                "ipod",
            ],
        ),
        // Stereo under channel mapping family 1 (a mapping table of its own, as some encoders
        // write even for two channels) and family 255 (channels with no speaker assigned).
        // Opus in WebM without its CodecPrivate (the OpusHead), as some writers leave it out:
        // the element is then as a Void element of the same size.
        "opus_no_codec_private.webm" => Patched("opus.webm", "CodecPrivate made Void", |b| {
            void_codec_private(b)
        }),
        "opus_family1.ogg" => Encode(&[
            "-ar",
            "48000",
            "-c:a",
            "libopus",
            "-b:a",
            "96k",
            "-mapping_family",
            "1",
            "-f",
            "ogg",
        ]),
        "opus_family1.webm" => Encode(&[
            "-ar",
            "48000",
            "-c:a",
            "libopus",
            "-b:a",
            "96k",
            "-mapping_family",
            "1",
            "-f",
            "webm",
        ]),
        "opus_family255.ogg" => Encode(&[
            "-ar",
            "48000",
            "-c:a",
            "libopus",
            "-b:a",
            "96k",
            "-mapping_family",
            "255",
            "-f",
            "ogg",
        ]),
        "opus_family255.webm" => Encode(&[
            "-ar",
            "48000",
            "-c:a",
            "libopus",
            "-b:a",
            "96k",
            "-mapping_family",
            "255",
            "-f",
            "webm",
        ]),
        // Four unassigned channels, every one different (ffmpeg 5.1 decodes these wrongly, so
        // the reference is GStreamer's opusdec).
        "opus_family255_4ch.ogg" => EncodeFiltered(
            "pan=4.0|FL=c0|FR=c1|FC=0.5*c0+0.5*c1|BC=0.7*c1",
            &[
                "-ar",
                "48000",
                "-c:a",
                "libopus",
                "-b:a",
                "192k",
                "-mapping_family",
                "255",
                "-f",
                "ogg",
            ],
        ),
        "opus_5.1.ogg" => EncodeFiltered(
            PAN_5_1,
            &[
                "-ar",
                "48000",
                "-c:a",
                "libopus",
                "-b:a",
                "320k",
                "-mapping_family",
                "1",
                "-f",
                "ogg",
            ],
        ),
        "opus_5.1.webm" => EncodeFiltered(
            PAN_5_1,
            &[
                "-ar",
                "48000",
                "-c:a",
                "libopus",
                "-b:a",
                "320k",
                "-mapping_family",
                "1",
                "-f",
                "webm",
            ],
        ),
        "opus_7.1.ogg" => EncodeFiltered(
            "pan=7.1|FL=c0|FR=c1|FC=0.5*c0+0.5*c1|LFE=0.1*c0|BL=0.7*c1|BR=0.6*c0|SL=0.4*c0|SR=0.3*c1",
            &[
                "-ar",
                "48000",
                "-c:a",
                "libopus",
                "-b:a",
                "400k",
                "-mapping_family",
                "1",
                "-f",
                "ogg",
            ],
        ),
        "vorbis_5.1.ogg" => {
            EncodeFiltered(PAN_5_1, &["-c:a", "libvorbis", "-q:a", "6", "-f", "ogg"])
        }
        "s16be.aiff" => Encode(&["-c:a", "pcm_s16be", "-f", "aiff"]),
        // MP4 variants: the index (moov) after the media, as ffmpeg writes without
        // +faststart (and iTunes and phones); a video track before the audio; fragmented, as
        // media-source pipelines write; ALAC with the index last.
        "aac_moov_end.m4a" => Encode(&["-c:a", "aac", "-b:a", "128k", "-f", "ipod"]),
        // Two audio tracks: the source (44.1 kHz stereo), then a 22.05 kHz mono sine.
        "two_audio_tracks.m4a" => EncodeWithSecondAudio(&[
            "-map",
            "0:a",
            "-map",
            "1:a",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
        ]),
        "two_audio_tracks.ogg" => EncodeWithSecondAudio(&[
            "-map",
            "0:a",
            "-map",
            "1:a",
            "-c:a",
            "libvorbis",
            "-q:a",
            "4",
            "-f",
            "ogg",
        ]),
        "two_audio_tracks.mka" => EncodeWithSecondAudio(&[
            "-map",
            "0:a",
            "-map",
            "1:a",
            "-c:a",
            "flac",
            "-sample_fmt",
            "s16",
            "-f",
            "matroska",
        ]),
        // MPEG transport streams, as HLS segments and broadcast captures carry audio: ADTS AAC
        // behind an MPEG-2 video stream, MPEG audio alone, and AC-3.
        // The same stream cut 1000 bytes in, inside a packet, as a capture or a download that
        // did not start at a packet boundary.
        "aac_video_cut.ts" => Patched("aac_video.ts", "first 1000 bytes cut", |b| {
            b.drain(..1000);
        }),
        "aac_video.ts" => EncodeWithVideo(&[
            "-map",
            "1:v",
            "-map",
            "0:a",
            "-c:v",
            "mpeg2video",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-f",
            "mpegts",
        ]),
        "mp3.ts" => Encode(&["-c:a", "libmp3lame", "-b:a", "128k", "-f", "mpegts"]),
        // FLV as an RTMP push writes it: video first in the stream's header, AAC with its
        // config in a sequence header tag; MP3; PCM; µ-law at 8 kHz.
        "aac_video.flv" => EncodeWithVideo(&[
            "-map", "1:v", "-map", "0:a", "-c:v", "flv1", "-c:a", "aac", "-b:a", "128k", "-f",
            "flv",
        ]),
        "mp3.flv" => Encode(&["-c:a", "libmp3lame", "-b:a", "128k", "-f", "flv"]),
        "s16.flv" => Encode(&["-c:a", "pcm_s16le", "-f", "flv"]),
        "mulaw_8k.flv" => Encode(&["-ar", "8000", "-ac", "1", "-c:a", "pcm_mulaw", "-f", "flv"]),
        "he_aac.flv" => FfmpegRemux("he_aac.aac", &["-f", "flv"]),
        // AVI: MP3 behind MPEG-4 video (chunks cut by time, not by frame), PCM, AC-3, AAC.
        "mp3_video.avi" => EncodeWithVideo(&[
            "-map",
            "1:v",
            "-map",
            "0:a",
            "-c:v",
            "mpeg4",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            "-f",
            "avi",
        ]),
        "s16.avi" => Encode(&["-c:a", "pcm_s16le", "-f", "avi"]),
        "ac3.avi" => Encode(&["-c:a", "ac3", "-b:a", "192k", "-f", "avi"]),
        "aac.avi" => Encode(&["-c:a", "aac", "-b:a", "128k", "-f", "avi"]),
        "ima_adpcm.avi" => Encode(&["-c:a", "adpcm_ima_wav", "-f", "avi"]),
        "ms_adpcm.avi" => Encode(&["-c:a", "adpcm_ms", "-f", "avi"]),
        // What ffmpeg's Matroska muxer writes as A_MS/ACM (a WAVEFORMATEX as codec private).
        "ms_adpcm.mka" => Encode(&["-c:a", "adpcm_ms", "-f", "matroska"]),
        "ima_adpcm.mka" => Encode(&["-c:a", "adpcm_ima_wav", "-f", "matroska"]),
        "alaw.mka" => Encode(&["-c:a", "pcm_alaw", "-f", "matroska"]),
        "mulaw.mka" => Encode(&["-c:a", "pcm_mulaw", "-f", "matroska"]),
        "g722.mka" => Encode(&["-ar", "16000", "-ac", "1", "-c:a", "g722", "-f", "matroska"]),
        "gsm.mka" => Encode(&[
            "-ar",
            "8000",
            "-ac",
            "1",
            "-c:a",
            "libgsm_ms",
            "-f",
            "matroska",
        ]),
        "wma.mka" => Encode(&["-c:a", "wmav2", "-f", "matroska"]),
        "g722.avi" => Encode(&["-ar", "16000", "-ac", "1", "-c:a", "g722", "-f", "avi"]),
        "gsm.avi" => Encode(&["-ar", "8000", "-ac", "1", "-c:a", "libgsm_ms", "-f", "avi"]),
        // Apple's IMA ADPCM (`ima4`) in QuickTime, AIFF-C and CAF, and GSM in QuickTime.
        "ima4.mov" => Encode(&["-c:a", "adpcm_ima_qt", "-f", "mov"]),
        "ima4_mono.aiff" => Encode(&[
            "-ar",
            "8000",
            "-ac",
            "1",
            "-c:a",
            "adpcm_ima_qt",
            "-f",
            "aiff",
        ]),
        "ima4.aiff" => Encode(&["-c:a", "adpcm_ima_qt", "-f", "aiff"]),
        "ima4.caf" => Encode(&["-c:a", "adpcm_ima_qt", "-f", "caf"]),
        "gsm.mov" => Encode(&["-ar", "8000", "-ac", "1", "-c:a", "libgsm", "-f", "mov"]),
        // GSM in WAV as sox writes it.
        "gsm_sox.wav" => Sox(
            "s16.wav",
            &["-r", "8000", "-c", "1", "-e", "gsm-full-rate", "-t", "wav"],
        ),
        "yamaha_adpcm.avi" => Encode(&["-ar", "22050", "-c:a", "adpcm_yamaha", "-f", "avi"]),
        "g723_1.avi" => Encode(&G723_1_AVI),
        "nellymoser.flv" => Encode(&["-ar", "22050", "-c:a", "nellymoser", "-f", "flv"]),
        "video_only.flv" => EncodeWithVideo(&["-map", "1:v", "-c:v", "flv1", "-f", "flv"]),
        "ac3.ts" => Encode(&["-c:a", "ac3", "-f", "mpegts"]),
        "opus.ts" => Encode(&[
            "-ar", "48000", "-c:a", "libopus", "-b:a", "96k", "-f", "mpegts",
        ]),
        "opus_5.1.ts" => EncodeFiltered(
            PAN_5_1,
            &[
                "-ar",
                "48000",
                "-c:a",
                "libopus",
                "-b:a",
                "320k",
                "-mapping_family",
                "1",
                "-f",
                "mpegts",
            ],
        ),
        "opus_mpegtsmux.ts" => GstRemux("opus.ogg", "oggdemux ! opusparse ! mpegtsmux"),
        // Ogg Speex: wideband mono; narrowband stereo (in-band stereo) with 2 frames per packet;
        // ultra-wideband with variable bitrate.
        "speex.ogg" => Encode(&["-ar", "16000", "-ac", "1", "-c:a", "libspeex", "-f", "ogg"]),
        // The same packets in Matroska, as ffmpeg writes them (`A_MS/ACM`, tag 0xA109).
        "speex.mka" => Encode(&[
            "-ar", "16000", "-ac", "1", "-c:a", "libspeex", "-f", "matroska",
        ]),
        "speex_nb_stereo.ogg" => Encode(&[
            "-ar",
            "8000",
            "-ac",
            "2",
            "-c:a",
            "libspeex",
            "-frames_per_packet",
            "2",
            "-f",
            "ogg",
        ]),
        "speex_uwb_vbr.ogg" => Encode(&[
            "-ar", "32000", "-ac", "1", "-c:a", "libspeex", "-q:a", "6", "-f", "ogg",
        ]),
        "two_audio_tracks.ts" => EncodeWithSecondAudio(&[
            "-map", "0:a", "-map", "1:a", "-c:a", "aac", "-b:a", "128k", "-f", "mpegts",
        ]),
        // Ogg whose first stream is video (Theora), as ffmpeg writes a `.ogv`.
        "vorbis_theora.ogv" => EncodeWithVideo(&[
            "-map",
            "1:v",
            "-map",
            "0:a",
            "-c:v",
            "libtheora",
            "-c:a",
            "libvorbis",
            "-q:a",
            "4",
            "-f",
            "ogg",
        ]),
        // AMR (3GPP's reference encoders in GStreamer, at their highest modes), in the storage
        // format with its magic line (ffmpeg's AMR muxer through gst-libav).
        "amr_nb.amr" => GstRemux(
            "s16.wav",
            "wavparse ! audioconvert ! audioresample ! audio/x-raw,rate=8000,channels=1 ! \
             amrnbenc band-mode=7 ! avmux_amr",
        ),
        "amr_wb.amr" => GstRemux(
            "s16.wav",
            "wavparse ! audioconvert ! audioresample ! audio/x-raw,rate=16000,channels=1 ! \
             voamrwbenc band-mode=8 ! avmux_amr",
        ),
        // The same in 3GP (`samr`/`sawb` sample entries), as phones record voice: the index last
        // (GStreamer's default) and first.
        "amr_nb.3gp" => GstRemux(
            "s16.wav",
            "wavparse ! audioconvert ! audioresample ! audio/x-raw,rate=8000,channels=1 ! \
             amrnbenc band-mode=7 ! 3gppmux",
        ),
        "amr_wb.3gp" => GstRemux(
            "s16.wav",
            "wavparse ! audioconvert ! audioresample ! audio/x-raw,rate=16000,channels=1 ! \
             voamrwbenc band-mode=8 ! 3gppmux faststart=true",
        ),
        // A phone-style 3GP with two sound tracks: AMR first, then AAC (the signal at 44.1 kHz
        // stereo, by ffmpeg's AAC encoder through gst-libav).
        "amr_and_aac.3gp" => GstRemux(
            "s16.wav",
            "wavparse ! tee name=t ! queue ! audioconvert ! audioresample ! \
             audio/x-raw,rate=8000,channels=1 ! amrnbenc band-mode=7 ! mux. \
             t. ! queue ! audioconvert ! avenc_aac ! aacparse ! mux. 3gppmux name=mux",
        ),
        // WavPack: ffmpeg's encoder (16-bit, 32-bit, float, 5.1), WavPack's own for 8-bit,
        // 24-bit and hybrid lossy mode (without its correction file). ffmpeg 5.1's 8-bit files
        // fail libwavpack's checksums.
        "wavpack32.wv" => Encode(&["-sample_fmt", "s32p", "-c:a", "wavpack", "-f", "wv"]),
        "wavpack.wv" => Encode(&["-sample_fmt", "s16p", "-c:a", "wavpack", "-f", "wv"]),
        "wavpack8.wv" => WavPack("u8.wav", &[]),
        "wavpack_float.wv" => Encode(&["-sample_fmt", "fltp", "-c:a", "wavpack", "-f", "wv"]),
        "wavpack_5.1.wv" => EncodeFiltered(
            PAN_5_1,
            &["-sample_fmt", "s16p", "-c:a", "wavpack", "-f", "wv"],
        ),
        "wavpack24.wv" => WavPack("s24.wav", &["-hh"]),
        // DSD64 made here (no encoder in Debian writes DSD): `s16.wav` through a second-order
        // sigma-delta modulator, in Sony's DSF and Philips' DSDIFF.
        "dsd64.dsf" => Patched("s16.wav", "DSD64 DSF, sox + 2nd-order SDM v3", wav_to_dsf),
        "dsd64.dff" => Patched(
            "s16.wav",
            "DSD64 DSDIFF, sox + 2nd-order SDM v3",
            wav_to_dff,
        ),
        // True Audio from ffmpeg's encoder: 16-bit stereo, 8-bit, 24-bit, mono and 5.1.
        "tta.tta" => Encode(&["-sample_fmt", "s16", "-c:a", "tta", "-f", "tta"]),
        // True Audio in Matroska (`A_TTA1`), as ffmpeg and mkvmerge mux it.
        "tta.mka" => Encode(&["-sample_fmt", "s16", "-c:a", "tta", "-f", "matroska"]),
        "tta_mkvmerge.mka" => MkvMerge("tta.tta"),
        "tta24.mka" => FfmpegRemux("tta24.tta", &["-f", "matroska"]),
        // 100003 frames: a duration that is no whole number of milliseconds.
        "tta_odd.tta" => EncodeFiltered(
            "atrim=end_sample=100003",
            &["-sample_fmt", "s16", "-c:a", "tta", "-f", "tta"],
        ),
        "tta_odd.mka" => FfmpegRemux("tta_odd.tta", &["-f", "matroska"]),
        "tta8.tta" => Encode(&["-sample_fmt", "u8", "-c:a", "tta", "-f", "tta"]),
        "tta24.tta" => Encode(&[
            "-sample_fmt",
            "s32",
            "-bits_per_raw_sample",
            "24",
            "-c:a",
            "tta",
            "-f",
            "tta",
        ]),
        "tta_mono.tta" => Encode(&["-ac", "1", "-sample_fmt", "s16", "-c:a", "tta", "-f", "tta"]),
        "tta_5.1.tta" => {
            EncodeFiltered(PAN_5_1, &["-sample_fmt", "s16", "-c:a", "tta", "-f", "tta"])
        }
        // AC-3 and E-AC-3 from ffmpeg's encoders: raw, at their default and at low bit rates
        // (coupling lower, many mantissas sent with no bits and dithered), mono, 5.1, in
        // Matroska, MP4 and MPEG-TS.
        "ac3.ac3" => Encode(&["-c:a", "ac3", "-b:a", "192k", "-f", "ac3"]),
        "ac3_96k.ac3" => Encode(&["-c:a", "ac3", "-b:a", "96k", "-f", "ac3"]),
        "ac3_mono_48k.ac3" => Encode(&["-ar", "48000", "-ac", "1", "-c:a", "ac3", "-f", "ac3"]),
        "ac3_5.1.ac3" => EncodeFiltered(PAN_5_1, &["-c:a", "ac3", "-b:a", "448k", "-f", "ac3"]),
        "ac3.mka" => Encode(&["-c:a", "ac3", "-b:a", "192k", "-f", "matroska"]),
        "ac3.m4a" => Encode(&["-c:a", "ac3", "-b:a", "192k", "-f", "mp4"]),
        "eac3.eac3" => Encode(&["-c:a", "eac3", "-f", "eac3"]),
        "eac3_64k.eac3" => Encode(&["-c:a", "eac3", "-b:a", "64k", "-f", "eac3"]),
        "eac3_mono_32k.eac3" => Encode(&["-ar", "32000", "-ac", "1", "-c:a", "eac3", "-f", "eac3"]),
        "eac3_5.1.eac3" => EncodeFiltered(PAN_5_1, &["-c:a", "eac3", "-b:a", "384k", "-f", "eac3"]),
        "eac3.mka" => Encode(&["-c:a", "eac3", "-f", "matroska"]),
        "eac3.mp4" => Encode(&["-c:a", "eac3", "-f", "mp4"]),
        "eac3.ts" => Encode(&["-c:a", "eac3", "-f", "mpegts"]),
        // Yamaha ADPCM (game audio), which the decodebin chain refuses, stereo and mono.
        "yamaha_adpcm.wav" => Encode(&["-ar", "22050", "-c:a", "adpcm_yamaha", "-f", "wav"]),
        "yamaha_adpcm_mono.wav" => Encode(&[
            "-ar",
            "8000",
            "-ac",
            "1",
            "-c:a",
            "adpcm_yamaha",
            "-f",
            "wav",
        ]),
        // Dolby TrueHD in Matroska (ffmpeg's experimental encoder), which nothing here decodes.
        "truehd.mka" => Encode(&[
            "-ar", "48000", "-c:a", "truehd", "-strict", "-2", "-f", "matroska",
        ]),
        // G.723.1 in WAV, which nothing here decodes.
        "g723_1.wav" => Encode(&G723_1_WAV),
        // DTS (ffmpeg's experimental encoder) and WMA, which nothing here decodes.
        "dts.dts" => Encode(&["-c:a", "dca", "-strict", "-2", "-f", "dts"]),
        "wma.wma" => Encode(&["-c:a", "wmav2", "-f", "asf"]),
        // WavPack in Matroska (`A_WAVPACK4`: block headers cut down, the version in the track).
        "wavpack.mka" => Encode(&["-sample_fmt", "s16p", "-c:a", "wavpack", "-f", "matroska"]),
        "wavpack_5.1.mka" => EncodeFiltered(
            PAN_5_1,
            &["-sample_fmt", "s16p", "-c:a", "wavpack", "-f", "matroska"],
        ),
        "wavpack_hybrid.wv" => WavPack("s16.wav", &["-b192"]),
        "ape.ape" => Jmac("s16.wav", 2),
        "ape_extra_high.ape" => Jmac("s16.wav", 4),
        "ape8.ape" => Jmac("u8.wav", 1),
        // Musepack SV8: the default quality, and mono at 48 kHz in packets of 4 frames.
        "mpc.mpc" => Mpcenc("s16.wav", &["--standard"]),
        "mpc_mono_48k.mpc" => Mpcenc("s16_mono_48k.wav", &["--radio", "--num_frames", "1"]),
        "s16_mono_48k.wav" => Sox("s16.wav", &["-r", "48000", "-c", "1"]),
        "aac_video_first.mp4" => EncodeWithVideo(&[
            "-map",
            "1:v",
            "-map",
            "0:a",
            "-c:v",
            "mpeg4",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
        ]),
        "aac_fragmented.mp4" => Encode(&[
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-movflags",
            "frag_keyframe+empty_moov+default_base_moof",
            "-f",
            "mp4",
        ]),
        // The same in fragments of a second, as live packagers cut them.
        "aac_fragmented_1s.mp4" => Encode(&[
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-movflags",
            "frag_keyframe+empty_moov+default_base_moof",
            "-frag_duration",
            "1000000",
            "-f",
            "mp4",
        ]),
        "alac_moov_end.m4a" => Encode(&["-sample_fmt", "s16p", "-c:a", "alac", "-f", "ipod"]),
        // FLAC: 8-bit (sox writes it, ffmpeg does not), and a FLAC whose STREAMINFO MD5 no
        // longer matches its audio (one bit flipped in the checksum).
        "flac8.flac" => Sox("s16.wav", &["-b", "8"]),
        "flac_bad_md5.flac" => Patched("flac.flac", "MD5 bit flipped", |b| {
            assert_eq!(&b[..4], b"fLaC");
            b[4 + 4 + 18] ^= 1;
        }),
        // An ID3v2 tag before `fLaC`, as some taggers write it.
        "flac_id3v2.flac" => Patched("flac.flac", "ID3v2 prefix", |b| {
            let frame = b"TIT2\0\0\0\x06\0\0\x03Hello";
            let mut tag = b"ID3\x04\0\0\0\0\0\0".to_vec();
            tag[9] = frame.len() as u8;
            tag.extend_from_slice(frame);
            b.splice(0..0, tag);
        }),
        // A CD-DA CUESHEET whose track starts at a sample that is not a multiple of 588 (a
        // CD sector), as in mutagen's `silence-44-s.flac` (which libFLAC, ffmpeg and GStreamer
        // play): symphonia refuses the stream. (ffmpeg refuses this one for the cuesheet's
        // missing lead-out track; GStreamer's flacparse plays it.)
        "flac_cuesheet.flac" => Patched("flac.flac", "CD-DA CUESHEET, track at 1000", |b| {
            let mut body = vec![0u8; 128];
            body.extend(88_200u64.to_be_bytes());
            body.push(0x80);
            body.extend([0u8; 258]);
            body.push(1);
            body.extend(1000u64.to_be_bytes());
            body.push(1);
            body.extend([0u8; 26]);
            body.push(0);
            insert_flac_block(b, 5, &body);
        }),
        // A PICTURE block that says it is 0 bytes long, with a picture after it, as in mutagen's
        // `106-short-picture-block-size.flac`: what follows reads as blocks of nonsense (a
        // second STREAMINFO first). symphonia and ffmpeg refuse the stream; flacparse plays it.
        "flac_short_picture.flac" => Patched("flac.flac", "PICTURE claiming 0 bytes", |b| {
            insert_flac_block(b, 6, &[]);
            let mut picture = 0u32.to_be_bytes().to_vec();
            picture.extend(9u32.to_be_bytes());
            picture.extend(b"image/png");
            picture.extend(0u32.to_be_bytes());
            picture.extend([0u8; 16]);
            picture.extend(8u32.to_be_bytes());
            picture.extend(b"\x89PNG\r\n\x1a\n");
            let after_block = 4 + 4 + 34 + 4;
            b.splice(after_block..after_block, picture);
        }),
        // An OpusHead pre-skip of 5000 samples, longer than a 20 ms packet (encoders write
        // 312; mutagen's `example.opus` has 65535).
        "opus_long_preskip.ogg" => Patched("opus.ogg", "pre-skip 5000", |b| {
            assert_eq!(&b[28..36], b"OpusHead");
            b[38..40].copy_from_slice(&5000u16.to_le_bytes());
            let page_len = 27 + 1 + usize::from(b[27]);
            b[22..26].fill(0);
            let crc = ogg_crc(&b[..page_len]);
            b[22..26].copy_from_slice(&crc.to_le_bytes());
        }),
        // An Ogg Skeleton track beside the audio, as GStreamer's `oggmux skeleton=true` writes
        // it (the audio's first page first)...
        "opus_skeleton.ogg" => GstRemux("opus.ogg", "oggdemux ! oggmux skeleton=true"),
        // ...and with the Skeleton's first page first, as RFC 3533's Skeleton specification and
        // liboggz write it.
        "opus_skeleton_first.ogg" => Patched("opus_skeleton.ogg", "Skeleton page first", |b| {
            let page_len = |page: &[u8]| {
                let segments = usize::from(page[26]);
                27 + segments
                    + page[27..27 + segments]
                        .iter()
                        .map(|&l| usize::from(l))
                        .sum::<usize>()
            };
            let first = page_len(b);
            let second = page_len(&b[first..]);
            assert_eq!(
                &b[first + 28..first + 36],
                b"fishead\0",
                "the Skeleton page is second"
            );
            b[..first + second].rotate_left(first);
        }),
        // An ID3v2 tag in front of an Ogg file, as some taggers write it.
        "opus_id3v2.ogg" => Patched("opus.ogg", "ID3v2 prefix", |b| {
            let frame = b"TIT2\0\0\0\x06\0\0\x03Hello";
            let mut tag = b"ID3\x04\0\0\0\0\0\0".to_vec();
            tag[9] = frame.len() as u8;
            tag.extend_from_slice(frame);
            b.splice(0..0, tag);
        }),
        // STREAMINFO declaring twice the samples there are.
        "flac_long_header.flac" => Patched("flac.flac", "total samples doubled", |b| {
            let at = 4 + 4 + 13;
            let total = ((b[at] as u64 & 0x0f) << 32)
                | u32::from_be_bytes(b[at + 1..at + 5].try_into().unwrap()) as u64;
            let doubled = total * 2;
            b[at] = (b[at] & 0xf0) | ((doubled >> 32) as u8 & 0x0f);
            b[at + 1..at + 5].copy_from_slice(&(doubled as u32).to_be_bytes());
        }),
        // MP3 of 60 ms (a few frames), and MP3 whose Xing header is damaged: an absurd frame
        // count, and garbage in the flags and table.
        "mp3_few_frames.mp3" => Encode(&[
            "-t",
            "0.06",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            "-f",
            "mp3",
        ]),
        // An M4A without an edit list (moov at the end, as ffmpeg writes without faststart)...
        "aac_no_editlist.m4a" => Encode(&[
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-use_editlist",
            "0",
            "-f",
            "mp4",
        ]),
        // ...and with iTunes' gapless tag instead, as iTunes, Nero and afconvert write it:
        // 1024 samples of priming, 820 of padding, 132300 (0x204CC) of audio.
        "aac_itunsmpb.m4a" => Patched("aac_no_editlist.m4a", "iTunSMPB tag in moov", |b| {
            add_itunes_smpb(
                b,
                " 00000000 00000400 00000334 00000000000204CC 00000000 00000000",
            )
        }),
        // An ID3v2.4 tag whose flags announce an extended header that is not there (its first
        // frame follows), as in mutagen's `issue_21.id3`: symphonia's probe refuses the stream.
        "mp3_id3v24_no_extended_header.mp3" => Patched("mp3_cbr.mp3", "ID3v2.4 flags 0x40", |b| {
            let mut frame = b"TIT2".to_vec();
            frame.extend(6u32.to_be_bytes());
            frame.extend([0, 0, 3]);
            frame.extend(b"Punk\0");
            let mut tag = b"ID3\x04\x00\x40".to_vec();
            let size = frame.len() as u32;
            tag.extend([0, 0, (size >> 7) as u8 & 0x7f, size as u8 & 0x7f]);
            tag.extend(frame);
            b.splice(0..0, tag);
        }),
        // The Info frame's header says it is CRC-protected, but the tag sits where it would be
        // without a CRC, as in mutagen's `apev2-lyricsv2.mp3` (ffmpeg finds it there).
        "mp3_info_crc_flag.mp3" => Patched("mp3_cbr.mp3", "Info frame marked protected", |b| {
            let tag = xing_tag(b);
            let header = b[..tag]
                .windows(2)
                .rposition(|w| w[0] == 0xff && w[1] & 0xe0 == 0xe0)
                .expect("the Info frame's header");
            assert_eq!(b[header + 1] & 1, 1, "written unprotected");
            b[header + 1] &= !1;
        }),
        "mp3_xing_count.mp3" => Patched("mp3_cbr.mp3", "Xing frame count 0xFFFFFFFF", |b| {
            let at = xing_tag(b);
            b[at + 8..at + 12].fill(0xff);
        }),
        "mp3_xing_garbage.mp3" => Patched("mp3_cbr.mp3", "Xing fields garbage", |b| {
            let at = xing_tag(b);
            b[at + 4..at + 8].copy_from_slice(&15u32.to_be_bytes());
            b[at + 8..at + 120].fill(0x5a);
        }),
        // The stream's own tags as ffmpeg writes them: ID3v2, Vorbis comments, MP4 ilst.
        "tagged.mp3" => Encode(&[
            "-c:a",
            "libmp3lame",
            "-metadata",
            "title=A Test Signal",
            "-metadata",
            "artist=The Testers",
            "-metadata",
            "album=Fixtures",
            "-f",
            "mp3",
        ]),
        "tagged.ogg" => Encode(&[
            "-c:a",
            "libvorbis",
            "-metadata",
            "title=A Test Signal",
            "-metadata",
            "artist=The Testers",
            "-metadata",
            "album=Fixtures",
            "-f",
            "ogg",
        ]),
        "tagged.flac" => Encode(&[
            "-c:a",
            "flac",
            "-metadata",
            "title=A Test Signal",
            "-metadata",
            "artist=The Testers",
            "-metadata",
            "album=Fixtures",
            "-f",
            "flac",
        ]),
        "tagged.m4a" => Encode(&[
            "-c:a",
            "aac",
            "-metadata",
            "title=A Test Signal",
            "-metadata",
            "artist=The Testers",
            "-metadata",
            "album=Fixtures",
            "-movflags",
            "+faststart",
            "-f",
            "ipod",
        ]),
        // Tags taggers append after the last frame; their binary items hold false frame syncs.
        "mp3_ape_tag.mp3" => Patched("mp3_cbr.mp3", "APEv2 tag with header, then ID3v1", |b| {
            b.extend(ape_tag());
            b.extend(id3v1());
        }),
        "mp3_apev1_tag.mp3" => Patched("mp3_cbr.mp3", "APEv1 tag (no header), then ID3v1", |b| {
            b.extend(apev1_tag());
            b.extend(id3v1());
        }),
        "mp3_lyrics3.mp3" => Patched("mp3_cbr.mp3", "Lyrics3v2 tag, then ID3v1", |b| {
            b.extend(lyrics3v2());
            b.extend(id3v1());
        }),
        // PCM containers symphonia's readers refuse.
        "s16.rf64" => Encode(&["-c:a", "pcm_s16le", "-rf64", "always", "-f", "wav"]),
        // BW64 (ITU-R BS.2088) is RF64 with another magic; no encoder here writes it.
        "s16.bw64" => Patched("s16.rf64", "magic BW64", |b| {
            b[..4].copy_from_slice(b"BW64")
        }),
        "s16.w64" => Encode(&["-c:a", "pcm_s16le", "-f", "w64"]),
        // sox writes big-endian WAV (RIFX) for `-B`.
        "s16_rifx.wav" => Sox("s16.wav", &["-B"]),
        "s24_rifx.wav" => Sox("s24.wav", &["-B"]),
        // ffmpeg writes AIFF-C with `sowt` for little-endian samples.
        "s16le_sowt.aiff" => Encode(&["-c:a", "pcm_s16le", "-f", "aiff"]),
        "s24be.aiff" => Encode(&["-c:a", "pcm_s24be", "-f", "aiff"]),
        "f32be.aiff" => Encode(&["-c:a", "pcm_f32be", "-f", "aiff"]),
        "s16le.caf" => Encode(&["-c:a", "pcm_s16le", "-f", "caf"]),
        "s24be.caf" => Encode(&["-c:a", "pcm_s24be", "-f", "caf"]),
        "f32le.caf" => Encode(&["-c:a", "pcm_f32le", "-f", "caf"]),
        "alaw.caf" => Encode(&["-c:a", "pcm_alaw", "-f", "caf"]),
        // Sun AU, as ffmpeg writes it (size unknown: 0xffffffff).
        "s16.au" => Encode(&["-c:a", "pcm_s16be", "-f", "au"]),
        "f32.au" => Encode(&["-c:a", "pcm_f32be", "-f", "au"]),
        "mulaw.au" => Encode(&["-c:a", "pcm_mulaw", "-f", "au"]),
        // And as sox writes it (its size stated, 24-bit).
        "s24.au" => Sox("s16.wav", &["-b", "24", "-t", "au"]),
        // What 12- and 20-bit recorders write (no encoder here writes those widths): the
        // samples left-justified in 2 or 3 bytes with the low bits zero, the width in the
        // header (plain PCM for 12 bits, EXTENSIBLE's valid bits for 20).
        "s12.wav" => Patched("s16.wav", "12-bit plain PCM", |b| {
            set_fmt_u16(b, 14, 12);
            mask_samples(b, 2, 0xFFF0);
        }),
        "s20.wav" => Patched("s24.wav", "20 valid bits", |b| {
            set_fmt_u16(b, 18, 20);
            mask_samples(b, 3, 0xFFFFF0);
        }),
        // 24-bit samples in 4-byte containers with the plain PCM tag: block_align says 4 bytes
        // a sample, wBitsPerSample says 24.
        "s24in32.wav" => Patched("s32.wav", "plain PCM, 24 bits in 4 bytes", |b| {
            set_fmt_u16(b, 0, 1);
            set_fmt_u16(b, 14, 24);
            mask_samples(b, 4, 0xFFFF_FF00);
        }),
        // A-law with the 16-byte `fmt ` of plain PCM (no cbSize), and µ-law with a 20-byte one.
        "alaw_fmt16.wav" => Patched("alaw.wav", "fmt size 16", |b| resize_fmt(b, 16)),
        "mulaw_fmt20.wav" => Patched("mulaw.wav", "fmt size 20", |b| resize_fmt(b, 20)),
        // A LIST chunk before the data whose declared length is 3 too long, 6 too short, or
        // odd without the pad byte.
        "list_long.wav" => Patched("s16.wav", "LIST +3", |b| insert_list(b, 3, true)),
        "list_short.wav" => Patched("s16.wav", "LIST -6", |b| insert_list(b, -6, true)),
        "list_unpadded.wav" => {
            Patched("s16.wav", "LIST odd unpadded", |b| insert_list(b, 0, false))
        }
        // For sequences across rates: the same signal at 22.05 kHz mono.
        "aac_22k_mono.aac" => Encode(&[
            "-ar", "22050", "-ac", "1", "-c:a", "aac", "-b:a", "64k", "-f", "adts",
        ]),
        "flac_22k_mono.flac" => Encode(&[
            "-ar",
            "22050",
            "-ac",
            "1",
            "-sample_fmt",
            "s16",
            "-c:a",
            "flac",
            "-f",
            "flac",
        ]),
        // Its frames alone, as they follow another stream's frames when a FLAC source changes
        // format without a new header.
        "flac_22k_mono_frames.flac" => Patched(
            "flac_22k_mono.flac",
            "fLaC header removed",
            strip_flac_header,
        ),
        "mp3_22k_mono.mp3" => Encode(&[
            "-ar",
            "22050",
            "-ac",
            "1",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "64k",
            "-write_xing",
            "0",
            "-f",
            "mp3",
        ]),
        // Headerless PCM as TTS services send it (44.1 kHz stereo unless the name says).
        "s16be.l16" => Encode(&["-c:a", "pcm_s16be", "-f", "s16be"]),
        "s16le.pcm" => Encode(&["-c:a", "pcm_s16le", "-f", "s16le"]),
        "f32le.pcm" => Encode(&["-c:a", "pcm_f32le", "-f", "f32le"]),
        "mulaw_8k.ulaw" => Encode(&[
            "-ar",
            "8000",
            "-ac",
            "1",
            "-c:a",
            "pcm_mulaw",
            "-f",
            "mulaw",
        ]),
        "alaw_8k.alaw" => Encode(&["-ar", "8000", "-ac", "1", "-c:a", "pcm_alaw", "-f", "alaw"]),
        "s16le_24k_mono.pcm" => Encode(&[
            "-ar",
            "24000",
            "-ac",
            "1",
            "-c:a",
            "pcm_s16le",
            "-f",
            "s16le",
        ]),
        "aac_main.aac" => Encode(&[
            "-c:a",
            "aac",
            "-profile:a",
            "aac_main",
            "-b:a",
            "128k",
            "-f",
            "adts",
        ]),
        "aac_main.m4a" => Encode(&[
            "-c:a",
            "aac",
            "-profile:a",
            "aac_main",
            "-b:a",
            "128k",
            "-movflags",
            "+faststart",
            "-f",
            "ipod",
        ]),
        "he_aac.aac" => FdkAac {
            aot: 5,
            channels: 2,
            bitrate: 64_000,
        },
        "he_aac_mono.aac" => FdkAac {
            aot: 5,
            channels: 1,
            bitrate: 32_000,
        },
        "he_aac_v2.aac" => FdkAac {
            aot: 29,
            channels: 2,
            bitrate: 32_000,
        },
        "aac_ld.m4a" => FdkAacMp4 {
            aot: 23,
            bitrate: 128_000,
        },
        "aac_eld.m4a" => FdkAacMp4 {
            aot: 39,
            bitrate: 128_000,
        },
        // GStreamer's mp4mux writes the AudioSpecificConfig aacparse gives it: the LC core's,
        // with SBR and PS signalled only inside the frames (implicit signalling).
        "he_aac.m4a" => GstRemux("he_aac.aac", "aacparse ! mp4mux faststart=true"),
        // HE-AAC signalled explicitly (object type 5 in the AudioSpecificConfig), as FDK writes
        // it for raw access units.
        "he_aac_explicit.m4a" => FdkAacMp4 {
            aot: 5,
            bitrate: 64_000,
        },
        // LOAS/LATM, as DVB carries AAC: ffmpeg's muxer writes a StreamMuxConfig every 20
        // frames (audioMuxVersion 0).
        "aac.loas" => Encode(&["-c:a", "aac", "-b:a", "128k", "-f", "latm"]),
        "aac_latm.ts" => Encode(&[
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-f",
            "mpegts",
            "-mpegts_flags",
            "latm",
        ]),
        "he_aac.loas" => FfmpegRemux("he_aac.aac", &["-f", "latm"]),
        "he_aac_explicit.loas" => FfmpegRemux("he_aac_explicit.m4a", &["-f", "latm"]),
        "aac_22k_mono.loas" => FfmpegRemux("aac_22k_mono.aac", &["-f", "latm"]),
        "he_aac_v2.loas" => FfmpegRemux("he_aac_v2.aac", &["-f", "latm"]),
        // ffmpeg's TS muxer keeps ADTS as ADTS; LATM in, LATM out (stream type 0x11).
        "he_aac_v2_latm.ts" => FfmpegRemux("he_aac_v2.loas", &["-f", "mpegts"]),
        "he_aac_v2.m4a" => GstRemux("he_aac_v2.aac", "aacparse ! mp4mux faststart=true"),
        _ => panic!("unknown fixture {name}"),
    }
}

/// Three chained MPEG-1 layer III frame headers (128 kbit/s, 44.1 kHz) with zeroed bodies: what
/// a binary tag item (cover art, a waveform) may hold by chance, and a reader scanning for sync
/// takes for audio.
fn false_frames() -> Vec<u8> {
    let mut frame = vec![0u8; 417];
    frame[..4].copy_from_slice(&[0xff, 0xfb, 0x90, 0x00]);
    frame.repeat(3)
}

/// An APEv2 tag as foobar2000 and Mp3tag write it: header, items, footer.
fn ape_tag() -> Vec<u8> {
    let item = |key: &str, value: &[u8], flags: u32| {
        let mut item = (value.len() as u32).to_le_bytes().to_vec();
        item.extend(flags.to_le_bytes());
        item.extend(key.as_bytes());
        item.push(0);
        item.extend(value);
        item
    };
    let items = [
        item("Title", b"A test signal", 0),
        // Flags 1 << 1: binary item.
        item(
            "Cover Art (Front)",
            &[b"cover.jpg\0".to_vec(), false_frames()].concat(),
            2,
        ),
    ]
    .concat();
    let block = |is_header: bool| {
        let mut block = b"APETAGEX".to_vec();
        block.extend(2000u32.to_le_bytes());
        block.extend((items.len() as u32 + 32).to_le_bytes());
        block.extend(2u32.to_le_bytes());
        // Bit 31: the tag has a header; bit 29: this block is the header.
        block.extend(((1u32 << 31) | if is_header { 1 << 29 } else { 0 }).to_le_bytes());
        block.extend([0u8; 8]);
        block
    };
    [block(true), items.clone(), block(false)].concat()
}

/// An APEv1 tag as old taggers (Monkey's Audio, early foobar2000) wrote it: text items and a
/// footer, no header.
fn apev1_tag() -> Vec<u8> {
    let mut items = Vec::new();
    for (key, value) in [("Title", "A test signal"), ("Artist", "rsstreamdecoder")] {
        items.extend((value.len() as u32).to_le_bytes());
        items.extend(0u32.to_le_bytes());
        items.extend(key.as_bytes());
        items.push(0);
        items.extend(value.as_bytes());
    }
    let mut footer = b"APETAGEX".to_vec();
    footer.extend(1000u32.to_le_bytes());
    footer.extend((items.len() as u32 + 32).to_le_bytes());
    footer.extend(2u32.to_le_bytes());
    footer.extend([0u8; 12]);
    [items, footer].concat()
}

/// A Lyrics3 v2 tag: fields, then the size of everything before it as six digits, "LYRICS200".
fn lyrics3v2() -> Vec<u8> {
    let mut tag = b"LYRICSBEGININD00002\x0010LYR00030[00:01]la la la \xff\xfb\x90\x00 la".to_vec();
    tag.extend(false_frames());
    let size = tag.len();
    tag.extend(format!("{size:06}LYRICS200").as_bytes());
    tag
}

/// An ID3v1 tag: "TAG" and 125 bytes of fields.
fn id3v1() -> Vec<u8> {
    let mut tag = b"TAGA test signal".to_vec();
    tag.resize(128, 0);
    tag
}

/// Encodes `s16.wav` with FDK AAC to ADTS frames, or to raw access units and the
/// AudioSpecificConfig that describes them. The input is followed by two frames of silence so
/// that the encoder's look-ahead lets the whole signal out.
fn fdk_encode(aot: u8, channels: u16, bitrate: u32, raw: bool) -> (Vec<Vec<u8>>, Vec<u8>) {
    use fdk_aac::enc::{AudioObjectType, BitRate, ChannelMode, Encoder, EncoderParams, Transport};
    let wav = std::fs::read(fixture("s16.wav")).unwrap();
    let (data_at, _, data_len) = *wav_chunks(&wav)
        .iter()
        .find(|(_, id, _)| id == b"data")
        .expect("a data chunk");
    let stereo = s16le(&wav[data_at + 8..data_at + 8 + data_len as usize]);
    let mut input: Vec<i16> = match channels {
        1 => stereo.iter().step_by(2).copied().collect(),
        _ => stereo,
    };
    input.resize(input.len() + 2 * 2048 * channels as usize, 0);
    let encoder = Encoder::new(EncoderParams {
        bit_rate: BitRate::Cbr(bitrate),
        sample_rate: SOURCE_RATE,
        transport: if raw { Transport::Raw } else { Transport::Adts },
        channels: if channels == 1 {
            ChannelMode::Mono
        } else {
            ChannelMode::Stereo
        },
        audio_object_type: match aot {
            2 => AudioObjectType::Mpeg4LowComplexity,
            5 => AudioObjectType::Mpeg4HeAac,
            23 => AudioObjectType::Mpeg4LowDelay,
            29 => AudioObjectType::Mpeg4HeAacV2,
            39 => AudioObjectType::Mpeg4EnhancedLowDelay,
            _ => panic!("no FDK recipe for audio object type {aot}"),
        },
    })
    .expect("FDK AAC encoder");
    let info = encoder.info().expect("FDK encoder info");
    let config = info.confBuf[..info.confSize as usize].to_vec();
    let mut frames = Vec::new();
    let mut frame = vec![0u8; 16 * 1024];
    let mut at = 0;
    while at < input.len() {
        let info = encoder
            .encode(&input[at..], &mut frame)
            .expect("FDK encode");
        if info.output_size > 0 {
            frames.push(frame[..info.output_size].to_vec());
        }
        if info.input_consumed == 0 && info.output_size == 0 {
            break;
        }
        at += info.input_consumed;
    }
    (frames, config)
}

/// Muxes raw stereo AAC access units of `SOURCE_RATE` into MP4 with GStreamer's `mp4mux`,
/// which writes `config` (the AudioSpecificConfig) into the `esds` box.
/// `frame_samples`: output samples per frame (AAC-LD and ELD 512, HE-AAC 2048).
fn mux_raw_aac_to_mp4(frames: &[Vec<u8>], config: &[u8], frame_samples: u64, out: &Path) {
    init();
    let config_hex: String = config.iter().map(|b| format!("{b:02x}")).collect();
    let pipeline = launch(&format!(
        "appsrc name=src format=time caps=audio/mpeg,mpegversion=4,stream-format=raw,\
         framed=true,rate={SOURCE_RATE},channels=2,codec_data=(buffer){config_hex} \
         ! mp4mux faststart=true ! filesink location={}",
        out.display()
    ));
    let src = app_src(&pipeline);
    pipeline.set_state(gst::State::Playing).unwrap();
    for (i, frame) in frames.iter().enumerate() {
        let mut buffer = gst::Buffer::from_slice(frame.clone());
        let buffer_ref = buffer.get_mut().unwrap();
        let at = |n: u64| {
            gst::ClockTime::from_nseconds(
                n * frame_samples * 1_000_000_000 / u64::from(SOURCE_RATE),
            )
        };
        buffer_ref.set_pts(at(i as u64));
        buffer_ref.set_duration(at(i as u64 + 1) - at(i as u64));
        src.push_buffer(buffer).unwrap();
    }
    src.end_of_stream().unwrap();
    let message = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(20),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("mp4mux finished");
    assert_eq!(message.type_(), gst::MessageType::Eos, "{message:?}");
    pipeline.set_state(gst::State::Null).unwrap();
}

/// Flags that keep ffmpeg's output free of version strings and dates.
const BITEXACT: &[&str] = &[
    "-fflags",
    "+bitexact",
    "-flags:a",
    "+bitexact",
    "-map_metadata",
    "-1",
];

fn fixture_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp; fixtures live next to it.
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-fixtures")
}

/// Turns the first CodecPrivate element (ID 0x63A2, a one-byte size) into a Void element (ID
/// 0xEC, the same size written in two bytes): no byte after it moves.
fn void_codec_private(bytes: &mut [u8]) {
    let at = bytes
        .windows(2)
        .position(|w| w == [0x63, 0xa2])
        .expect("a CodecPrivate element");
    let size = bytes[at + 2];
    assert!(size & 0x80 != 0, "a one-byte size");
    bytes[at..at + 3].copy_from_slice(&[0xec, 0x40, size & 0x7f]);
}

/// The CRC-32 of an Ogg page (polynomial 0x04c11db7, not reflected, from 0), computed with its
/// checksum field zeroed.
pub fn ogg_crc(page: &[u8]) -> u32 {
    page.iter().fold(0u32, |crc, &byte| {
        (0..8).fold(crc ^ (u32::from(byte) << 24), |c, _| {
            if c & 0x8000_0000 != 0 {
                (c << 1) ^ 0x04c1_1db7
            } else {
                c << 1
            }
        })
    })
}

/// Inserts a metadata block of `kind` right after STREAMINFO.
fn insert_flac_block(bytes: &mut Vec<u8>, kind: u8, body: &[u8]) {
    assert_eq!(&bytes[..4], b"fLaC");
    let streaminfo_was_last = bytes[4] & 0x80 != 0;
    bytes[4] &= 0x7f;
    let mut block = vec![kind | if streaminfo_was_last { 0x80 } else { 0 }];
    block.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    block.extend_from_slice(body);
    bytes.splice(4 + 4 + 34..4 + 4 + 34, block);
}

/// Removes `fLaC` and the metadata blocks: the frames alone are left.
fn strip_flac_header(bytes: &mut Vec<u8>) {
    assert_eq!(&bytes[..4], b"fLaC");
    let mut at = 4;
    loop {
        let last = bytes[at] & 0x80 != 0;
        at += 4 + u32::from_be_bytes([0, bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        if last {
            break;
        }
    }
    bytes.drain(..at);
}

/// Appends `udta/meta/ilst/----` (`com.apple.iTunes`, `iTunSMPB` = `value`) to the `moov` box of
/// an MP4 whose last box is `moov`, so no sample offset moves.
fn add_itunes_smpb(bytes: &mut Vec<u8>, value: &str) {
    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        [
            &((payload.len() + 8) as u32).to_be_bytes()[..],
            kind,
            payload,
        ]
        .concat()
    }
    let full = |kind: &[u8; 4], text: &[u8]| mp4_box(kind, &[&[0u8; 4][..], text].concat());
    let data = mp4_box(
        b"data",
        &[&[0, 0, 0, 1, 0, 0, 0, 0][..], value.as_bytes()].concat(),
    );
    let tag = [
        full(b"mean", b"com.apple.iTunes"),
        full(b"name", b"iTunSMPB"),
        data,
    ]
    .concat();
    let ilst = mp4_box(b"ilst", &mp4_box(b"----", &tag));
    let mut hdlr = vec![0u8; 8];
    hdlr.extend(b"mdirappl");
    hdlr.extend([0u8; 9]);
    let meta = full(b"meta", &[mp4_box(b"hdlr", &hdlr), ilst].concat());
    let udta = mp4_box(b"udta", &meta);
    // Walk the top-level boxes to the last one, which must be moov.
    let mut at = 0;
    let mut last = 0;
    while at + 8 <= bytes.len() {
        last = at;
        at += u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    }
    assert_eq!(
        &bytes[last + 4..last + 8],
        b"moov",
        "moov is not the last box"
    );
    let size = u32::from_be_bytes(bytes[last..last + 4].try_into().unwrap()) as usize;
    bytes[last..last + 4].copy_from_slice(&((size + udta.len()) as u32).to_be_bytes());
    bytes.extend(udta);
}

/// FNV-1a, to key cached fixtures by their recipe (a changed recipe makes a new file).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Path of a fixture, created on first use with ffmpeg and cached in `target/test-fixtures/`.
/// Creation writes a temporary file and renames it, so test processes running in parallel
/// never see a partial file.
pub fn fixture(name: &str) -> PathBuf {
    let recipe = recipe(name);
    let key = match &recipe {
        Recipe::Encode(args) => format!("{}|{}", source_filter(0, ""), args.join(" ")),
        Recipe::EncodeWithVideo(args) => {
            format!("video|{}|{}", source_filter(0, ""), args.join(" "))
        }
        Recipe::EncodeWithSecondAudio(args) => {
            format!("audio2|{}|{}", source_filter(0, ""), args.join(" "))
        }
        Recipe::EncodeFiltered(filter, args) => {
            format!("{}|{filter}|{}", source_filter(0, ""), args.join(" "))
        }
        Recipe::StreamingWav(base) => format!("streaming|{}", fixture(base).display()),
        Recipe::GstRemux(base, pipeline) => format!("{pipeline}|{}", fixture(base).display()),
        Recipe::FfmpegRemux(base, args) => {
            format!("ffmpeg copy {}|{}", args.join(" "), fixture(base).display())
        }
        Recipe::MkvMerge(base) => format!("mkvmerge|{}", fixture(base).display()),
        Recipe::Sox(base, args) => {
            format!("sox -R {}|{}", args.join(" "), fixture(base).display())
        }
        Recipe::WavPack(base, args) => {
            format!("wavpack {}|{}", args.join(" "), fixture(base).display())
        }
        Recipe::Jmac(base, level) => format!("jmac {level}|{}", fixture(base).display()),
        Recipe::Mpcenc(base, args) => {
            format!("mpcenc {}|{}", args.join(" "), fixture(base).display())
        }
        Recipe::Patched(base, what, _) => format!("patch {what}|{}", fixture(base).display()),
        Recipe::FdkAacMp4 { aot, bitrate } => {
            format!("fdk mp4 {aot} {bitrate}|{}", fixture("s16.wav").display())
        }
        Recipe::FdkAac {
            aot,
            channels,
            bitrate,
        } => format!(
            "fdk {aot} {channels} {bitrate}|{}",
            fixture("s16.wav").display()
        ),
    };
    let dir = fixture_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let (stem, ext) = name.rsplit_once('.').unwrap();
    let path = dir.join(format!("{stem}-{:016x}.{ext}", fnv1a(&key)));
    if path.exists() {
        return path;
    }
    let tmp = dir.join(format!(
        ".tmp-{}-{:?}-{name}",
        std::process::id(),
        std::thread::current().id()
    ));
    match recipe {
        Recipe::Encode(args) => encode(&tmp, None, args),
        Recipe::EncodeWithVideo(args) => encode_with_inputs(
            &tmp,
            None,
            &["-f", "lavfi", "-i", "testsrc=d=3:s=64x64:r=10"],
            args,
        ),
        Recipe::EncodeWithSecondAudio(args) => encode_with_inputs(
            &tmp,
            None,
            &[
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=880:sample_rate=22050:duration=3",
            ],
            args,
        ),
        Recipe::EncodeFiltered(filter, args) => encode(&tmp, Some(filter), args),
        Recipe::StreamingWav(base) => {
            let mut bytes = std::fs::read(fixture(base)).unwrap();
            make_streaming_wav(&mut bytes);
            std::fs::write(&tmp, bytes).unwrap();
        }
        Recipe::GstRemux(base, pipeline) => remux(&fixture(base), pipeline, &tmp),
        Recipe::FfmpegRemux(base, args) => {
            run_tool(
                Command::new("ffmpeg")
                    .args(["-nostdin", "-v", "error", "-y", "-i"])
                    .arg(fixture(base))
                    .args(["-c", "copy"])
                    .args(args)
                    .arg(&tmp),
                "ffmpeg",
                &tmp,
            );
        }
        Recipe::MkvMerge(base) => {
            // WebM for a `.webm` name (only WebM's codecs), plain Matroska otherwise.
            let webm = name.ends_with(".webm").then_some("--webm");
            run_tool(
                Command::new("mkvmerge")
                    .args(["-q"])
                    .args(webm)
                    .arg("-o")
                    .arg(&tmp)
                    .arg(fixture(base)),
                "mkvmerge (mkvtoolnix)",
                &tmp,
            );
        }
        Recipe::Sox(base, args) => {
            run_tool(
                // Repeatable: sox dithers whenever it changes samples, from a random seed
                // unless told otherwise, and a fixture must be the same on every machine.
                Command::new("sox")
                    .arg("-R")
                    .arg(fixture(base))
                    .args(args)
                    .arg(&tmp),
                "sox",
                &tmp,
            );
        }
        Recipe::WavPack(base, args) => {
            run_tool(
                Command::new("wavpack")
                    .args(["-q", "-y"])
                    .args(args)
                    .arg(fixture(base))
                    .arg("-o")
                    .arg(&tmp),
                "wavpack",
                &tmp,
            );
        }
        Recipe::Jmac(base, level) => {
            run_tool(
                Command::new("jmac")
                    .arg(format!("c{level}"))
                    .arg(fixture(base))
                    .arg(&tmp),
                "jmac (libjmac-java)",
                &tmp,
            );
        }
        Recipe::Mpcenc(base, args) => {
            run_tool(
                Command::new("mpcenc")
                    .args(["--silent", "--overwrite"])
                    .args(args.iter())
                    .arg(fixture(base))
                    .arg(&tmp),
                "mpcenc (musepack-tools)",
                &tmp,
            );
        }
        Recipe::Patched(base, _, patch) => {
            let mut bytes = std::fs::read(fixture(base)).unwrap();
            patch(&mut bytes);
            std::fs::write(&tmp, bytes).unwrap();
        }
        Recipe::FdkAac {
            aot,
            channels,
            bitrate,
        } => {
            let (adts, _) = fdk_encode(aot, channels, bitrate, false);
            std::fs::write(&tmp, adts.concat()).unwrap();
        }
        Recipe::FdkAacMp4 { aot, bitrate } => {
            let (frames, config) = fdk_encode(aot, 2, bitrate, true);
            let frame_samples = match aot {
                23 | 39 => 512,
                5 | 29 => 2048,
                _ => 1024,
            };
            mux_raw_aac_to_mp4(&frames, &config, frame_samples, &tmp);
        }
    }
    std::fs::rename(&tmp, &path).unwrap();
    path
}

fn encode(out: &Path, filter: Option<&str>, args: &[&str]) {
    encode_with_inputs(out, filter, &[], args)
}

fn encode_with_inputs(out: &Path, filter: Option<&str>, inputs: &[&str], args: &[&str]) {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(source_filter(SOURCE_RATE, "stereo"))
        .args(inputs);
    if let Some(filter) = filter {
        cmd.args(["-af", filter]);
    }
    cmd.args(BITEXACT).args(args).arg(out);
    let output = cmd
        .output()
        .expect("ffmpeg must be installed to make test fixtures");
    assert!(
        output.status.success(),
        "ffmpeg failed making {}: {}",
        out.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs a tool that makes a fixture at `made`; fails the test with what the tool said when it
/// fails or is missing (`tool`: its name, and the Debian package when that differs).
fn run_tool(command: &mut Command, tool: &str, made: &Path) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{tool} must be installed to make test fixtures: {e}"));
    assert!(
        output.status.success() && made.exists(),
        "{tool} failed making {}: {}{}",
        made.display(),
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
}

fn remux(input: &Path, pipeline: &str, out: &Path) {
    let launch = format!(
        "filesrc location={} ! {pipeline} ! filesink location={}",
        input.display(),
        out.display()
    );
    run_tool(
        Command::new("gst-launch-1.0")
            .arg("-q")
            .args(launch.split_whitespace()),
        "gst-launch-1.0",
        out,
    );
}

/// Iterates over the chunks of a RIFF/WAVE file: (offset of the chunk id, id, declared size).
pub fn wav_chunks(bytes: &[u8]) -> Vec<(usize, [u8; 4], u32)> {
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(&bytes[8..12], b"WAVE");
    let mut chunks = Vec::new();
    let mut pos = 12;
    while pos + 8 <= bytes.len() {
        let id: [u8; 4] = bytes[pos..pos + 4].try_into().unwrap();
        let size = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap());
        chunks.push((pos, id, size));
        if &id == b"data" {
            break;
        }
        pos += 8 + size as usize + (size as usize & 1);
    }
    chunks
}

/// The sample bytes of a WAV file's `data` chunk.
pub fn wav_data(bytes: &[u8]) -> &[u8] {
    let (pos, _, size) = *wav_chunks(bytes)
        .iter()
        .find(|(_, chunk, _)| chunk == b"data")
        .expect("a data chunk");
    &bytes[pos + 8..(pos + 8 + size as usize).min(bytes.len())]
}

/// A WAV of G.726 codes (`bits` each, packed from each byte's most significant bit down, as
/// ffmpeg writes them) made into a Sun AU file of `encoding`, whose codes are packed from the
/// least significant bit up.
fn g726_wav_to_au(bytes: &mut Vec<u8>, bits: u32, encoding: u32) {
    let data = wav_data(bytes);
    let codes = data.len() as u32 * 8 / bits;
    let code = |index: u32| {
        (0..bits).fold(0u32, |value, bit| {
            let at = index * bits + bit;
            let set = data[(at / 8) as usize] >> (7 - at % 8) & 1;
            value << 1 | u32::from(set)
        })
    };
    let mut packed = vec![0u8; (codes * bits).div_ceil(8) as usize];
    for index in 0..codes {
        let value = code(index);
        for bit in 0..bits {
            let at = index * bits + bit;
            packed[(at / 8) as usize] |= ((value >> bit & 1) as u8) << (at % 8);
        }
    }
    let mut au = b".snd".to_vec();
    for field in [24, packed.len() as u32, encoding, 8000, 1] {
        au.extend(field.to_be_bytes());
    }
    au.extend(packed);
    *bytes = au;
}

/// sox's decode of `path` to S16 at its own rate and channels: Sun's reference G.72x decoders
/// for AU files.
pub fn sox_decode(path: &Path) -> Vec<i16> {
    let output = Command::new("sox")
        .arg(path)
        .args(["-t", "raw", "-e", "signed", "-b", "16", "-L", "-"])
        .output()
        .expect("sox must be installed");
    assert!(output.status.success(), "sox failed on {}", path.display());
    s16le(&output.stdout)
}

/// Offset of the Xing/Info tag in an MP3 from LAME.
fn xing_tag(bytes: &[u8]) -> usize {
    bytes
        .windows(4)
        .position(|w| w == b"Xing" || w == b"Info")
        .expect("a Xing/Info tag")
}

/// Offset of the body of the first chunk with this id in a RIFF/WAVE file.
pub fn chunk_body(bytes: &[u8], id: &[u8; 4]) -> usize {
    let (pos, _, _) = *wav_chunks(bytes)
        .iter()
        .find(|(_, chunk, _)| chunk == id)
        .unwrap_or_else(|| panic!("a {} chunk", String::from_utf8_lossy(id)));
    pos + 8
}

/// Sets a little-endian u16 field of the `fmt ` chunk body.
fn set_fmt_u16(bytes: &mut [u8], offset: usize, value: u16) {
    let at = chunk_body(bytes, b"fmt ") + offset;
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

/// ANDs every little-endian sample of `width` bytes in the `data` chunk with `mask`.
fn mask_samples(bytes: &mut [u8], width: usize, mask: u32) {
    let start = chunk_body(bytes, b"data");
    for sample in bytes[start..].chunks_exact_mut(width) {
        let mut value = [0u8; 4];
        value[..width].copy_from_slice(sample);
        let masked = (u32::from_le_bytes(value) & mask).to_le_bytes();
        sample.copy_from_slice(&masked[..width]);
    }
}

/// Rewrites the `fmt ` chunk to `size` bytes (cut, or padded with zeros) and fixes the RIFF
/// size.
fn resize_fmt(bytes: &mut Vec<u8>, size: usize) {
    let body = chunk_body(bytes, b"fmt ");
    let old = u32::from_le_bytes(bytes[body - 4..body].try_into().unwrap()) as usize;
    let mut new_body = bytes[body..body + old.min(size)].to_vec();
    new_body.resize(size, 0);
    bytes.splice(body..body + old, new_body);
    bytes[body - 4..body].copy_from_slice(&(size as u32).to_le_bytes());
    let riff = (bytes.len() - 8) as u32;
    bytes[4..8].copy_from_slice(&riff.to_le_bytes());
}

/// Inserts a 25-byte `LIST` chunk before `data` whose declared size is off by `error`, with or
/// without the pad byte RIFF requires after an odd-sized chunk.
fn insert_list(bytes: &mut Vec<u8>, error: i32, padded: bool) {
    let data = chunk_body(bytes, b"data") - 8;
    let body = b"INFOISFT\x0d\0\0\0rsstreamtest\0\0";
    assert_eq!(body.len(), 26);
    let body = &body[..25];
    let mut chunk = b"LIST".to_vec();
    chunk.extend_from_slice(&((25 + error) as u32).to_le_bytes());
    chunk.extend_from_slice(body);
    if padded {
        chunk.push(0);
    }
    bytes.splice(data..data, chunk);
    let riff = (bytes.len() - 8) as u32;
    bytes[4..8].copy_from_slice(&riff.to_le_bytes());
}

/// Patches the RIFF size and the `data` chunk size to 0xFFFFFFFF.
fn make_streaming_wav(bytes: &mut [u8]) {
    let (data_pos, _, _) = *wav_chunks(bytes)
        .iter()
        .find(|(_, id, _)| id == b"data")
        .expect("a data chunk");
    bytes[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes[data_pos + 4..data_pos + 8].copy_from_slice(&u32::MAX.to_le_bytes());
}

/// The `wFormatTag` of a WAV file's `fmt ` chunk (1 PCM, 3 float, 6 A-law, 7 µ-law,
/// 0xFFFE extensible).
pub fn wav_format_tag(bytes: &[u8]) -> u16 {
    let (pos, _, _) = *wav_chunks(bytes)
        .iter()
        .find(|(_, id, _)| id == b"fmt ")
        .expect("a fmt chunk");
    u16::from_le_bytes(bytes[pos + 8..pos + 10].try_into().unwrap())
}

// ---------------------------------------------------------------------------------------------
// Reference decode (ffmpeg)
// ---------------------------------------------------------------------------------------------

/// Rate and channel count of the first audio stream, as ffprobe sees them.
pub fn probe_stream(path: &Path) -> (u32, u32) {
    let field = |entry: &str| {
        probe_stream_entry(path, entry)
            .parse()
            .unwrap_or_else(|e| panic!("ffprobe {entry} of {}: {e}", path.display()))
    };
    (field("sample_rate"), field("channels"))
}

/// One field of the first audio stream as ffprobe reports it (e.g. `bits_per_raw_sample`).
pub fn probe_stream_entry(path: &Path, entry: &str) -> String {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "a:0"])
        .args([
            "-show_entries",
            &format!("stream={entry}"),
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe must be installed");
    assert!(
        output.status.success(),
        "ffprobe failed on {}",
        path.display()
    );
    // A transport stream's programs add lines of their own (empty with this entry): the
    // stream's value is the first line that has one. Side data (AC-3's audio service type in
    // MP4) adds an empty CSV column after it.
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| line.trim().trim_end_matches(','))
        .find(|line| !line.is_empty())
        .unwrap_or_default()
        .to_string()
}

/// An ffmpeg decode of a fixture.
pub struct Reference {
    /// Interleaved S16 samples.
    pub samples: Vec<i16>,
    pub rate: u32,
    pub channels: u32,
}

impl Reference {
    pub fn frames(&self) -> u64 {
        (self.samples.len() / self.channels as usize) as u64
    }
}

/// An independent decode of `path` with ffmpeg to interleaved S16LE, at the stream's own rate
/// and channel count when `rate`/`channels` are `None`, else resampled/remixed by ffmpeg.
/// Returns (samples, rate, channels).
pub fn reference_pcm(
    path: &Path,
    rate: Option<u32>,
    channels: Option<u32>,
) -> (Vec<i16>, u32, u32) {
    let (stream_rate, stream_channels) = probe_stream(path);
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-i"]).arg(path).args([
        "-f",
        "s16le",
        "-acodec",
        "pcm_s16le",
    ]);
    if let Some(rate) = rate {
        cmd.args(["-ar", &rate.to_string()]);
    }
    if let Some(channels) = channels {
        cmd.args(["-ac", &channels.to_string()]);
    }
    let output = cmd.arg("-").output().expect("ffmpeg must be installed");
    assert!(
        output.status.success(),
        "ffmpeg failed decoding {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let samples = s16le(&output.stdout);
    (
        samples,
        rate.unwrap_or(stream_rate),
        channels.unwrap_or(stream_channels),
    )
}

/// An ffmpeg decode of headerless PCM (`format` as ffmpeg names it: `s16be`, `mulaw`, ...) to
/// interleaved S16, at the stream's own rate and channels.
pub fn reference_raw(path: &Path, format: &str, rate: u32, channels: u32) -> Reference {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", format])
        .args(["-ar", &rate.to_string(), "-ac", &channels.to_string(), "-i"])
        .arg(path)
        .args(["-f", "s16le", "-acodec", "pcm_s16le", "-"])
        .output()
        .expect("ffmpeg must be installed");
    assert!(
        output.status.success(),
        "ffmpeg failed decoding {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let samples = s16le(&output.stdout);
    Reference {
        samples,
        rate,
        channels,
    }
}

/// ffmpeg's decode of one audio track (`index`, from 0) of a file with several, to interleaved
/// S16 at its own rate and channels.
pub fn reference_track(path: &Path, index: usize) -> Vec<i16> {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args([
            "-map",
            &format!("0:a:{index}"),
            "-f",
            "s16le",
            "-acodec",
            "pcm_s16le",
            "-",
        ])
        .output()
        .expect("ffmpeg must be installed");
    assert!(
        output.status.success(),
        "ffmpeg failed on {}",
        path.display()
    );
    s16le(&output.stdout)
}

/// `reference_pcm` as a struct.
pub fn reference(path: &Path, rate: Option<u32>, channels: Option<u32>) -> Reference {
    let (samples, rate, channels) = reference_pcm(path, rate, channels);
    Reference {
        samples,
        rate,
        channels,
    }
}

// ---------------------------------------------------------------------------------------------
// Driving the element
// ---------------------------------------------------------------------------------------------

/// How the input bytes are cut into buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// One buffer with everything.
    Whole,
    /// Buffers of `n` bytes (the last one shorter).
    Fixed(usize),
    /// Buffers of 1..=max bytes from a deterministic PRNG.
    Random { seed: u64, max: usize },
}

/// SplitMix64: a tiny deterministic PRNG, enough for chunk sizes and mutations.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
}

impl Chunking {
    /// The chunks of `bytes`, in order; they always cover all of `bytes`.
    pub fn split<'a>(&self, bytes: &'a [u8]) -> Vec<&'a [u8]> {
        match *self {
            Chunking::Whole => vec![bytes],
            Chunking::Fixed(n) => bytes.chunks(n.max(1)).collect(),
            Chunking::Random { seed, max } => {
                let mut rng = SplitMix64(seed);
                let mut out = Vec::new();
                let mut rest = bytes;
                while !rest.is_empty() {
                    let n = rng.range(1, max.max(1)).min(rest.len());
                    let (chunk, tail) = rest.split_at(n);
                    out.push(chunk);
                    rest = tail;
                }
                out
            }
        }
    }
}

/// What to run through the element.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Element properties, set before the element starts.
    pub props: Vec<(String, glib::SendValue)>,
    /// Caps upstream sends before the data (`None`: no caps at all, like filesrc).
    pub src_caps: Option<gst::Caps>,
    pub chunking: Chunking,
    /// Send a BYTES segment before the data, as filesrc / appsrc do.
    pub bytes_segment: bool,
    /// Send EOS after the data.
    pub eos: bool,
    /// Give up (panic) if the whole run takes longer than this: the element must never hang.
    pub timeout: Duration,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            props: Vec::new(),
            src_caps: None,
            chunking: Chunking::Whole,
            bytes_segment: true,
            eos: true,
            timeout: Duration::from_secs(300),
        }
    }
}

impl DecodeOptions {
    pub fn new(props: &[(&str, glib::SendValue)], chunking: Chunking) -> Self {
        DecodeOptions {
            props: props
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            chunking,
            ..Default::default()
        }
    }

    pub fn caps(mut self, caps: &str) -> Self {
        init();
        self.src_caps = Some(caps.parse().expect("valid caps"));
        self
    }
}

/// `sample-rate=0 channels=0`: keep the stream's rate and channels.
pub fn keep_props() -> Vec<(&'static str, glib::SendValue)> {
    vec![
        ("sample-rate", 0u32.to_send_value()),
        ("channels", 0u32.to_send_value()),
    ]
}

/// `keep_props` with FLAC's MD5 checked (`verify-checksums`, off by default): a mismatch is a
/// WARNING, which `Decoded::assert_well_formed` fails on.
pub fn verifying_keep_props() -> Vec<(&'static str, glib::SendValue)> {
    let mut props = keep_props();
    props.push(("verify-checksums", true.to_send_value()));
    props
}

/// One output buffer's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferInfo {
    pub pts: Option<gst::ClockTime>,
    pub duration: Option<gst::ClockTime>,
    pub offset: u64,
    pub offset_end: u64,
    pub discont: bool,
    /// Bytes.
    pub size: usize,
}

/// Something the element sent downstream, in order.
#[derive(Debug, Clone)]
pub enum Item {
    Event(gst::Event),
    /// Index into `Decoded::buffers`.
    Buffer(usize),
}

/// Everything that came out of a run.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    /// Every CAPS event seen downstream, in order.
    pub caps: Vec<gst::Caps>,
    /// Events and buffers in the order they left the element.
    pub items: Vec<Item>,
    pub buffers: Vec<BufferInfo>,
    /// All output samples, interleaved.
    pub samples: Vec<i16>,
    /// Rate and channels of the last caps (0 when no caps came).
    pub rate: u32,
    pub channels: u32,
    /// ERROR and WARNING messages on the element's bus, as "error text (debug)".
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// Flow returns of the buffer pushes that failed (pushing stops at the first).
    pub push_errors: Vec<gst::FlowError>,
    /// Whether the EOS event was accepted, and whether EOS came out downstream.
    pub eos_accepted: bool,
    pub eos_out: bool,
}

impl Decoded {
    pub fn frames(&self) -> u64 {
        if self.channels == 0 {
            0
        } else {
            (self.samples.len() / self.channels as usize) as u64
        }
    }

    /// Names of the events seen downstream, in order (for messages).
    pub fn event_names(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|item| match item {
                Item::Event(e) => e.type_().name().to_string(),
                Item::Buffer(i) => format!("buffer#{i}"),
            })
            .collect()
    }

    /// The output-side contracts every clean decode must meet:
    /// no ERROR (and no WARNING on a clean file), exactly one CAPS and one TIME SEGMENT before
    /// the first buffer, caps with the expected rate/channels, first buffer DISCONT and no
    /// other, PTS from 0 computed from the sample count (pts = offset * 1e9 / rate, floored),
    /// contiguous OFFSET/OFFSET_END in frames, DURATION = next PTS - PTS, EOS after the last
    /// buffer.
    pub fn assert_well_formed(&self, expect_rate: u32, expect_channels: u32) {
        assert!(
            self.errors.is_empty(),
            "ERROR messages: {}",
            summarize(&self.errors)
        );
        assert!(
            self.warnings.is_empty(),
            "WARNING messages on a clean file: {}",
            summarize(&self.warnings)
        );
        assert!(
            self.push_errors.is_empty(),
            "push failed: {:?}",
            self.push_errors
        );
        assert!(self.eos_accepted, "EOS refused");
        assert!(self.eos_out, "no EOS downstream: {:?}", self.event_names());
        assert!(!self.buffers.is_empty(), "no output buffers");

        // Events before the first buffer.
        let first_buffer = self
            .items
            .iter()
            .position(|i| matches!(i, Item::Buffer(_)))
            .unwrap();
        let before: Vec<&gst::Event> = self.items[..first_buffer]
            .iter()
            .filter_map(|i| match i {
                Item::Event(e) => Some(e),
                _ => None,
            })
            .collect();
        let caps_before = before
            .iter()
            .filter(|e| e.type_() == gst::EventType::Caps)
            .count();
        assert_eq!(
            caps_before,
            1,
            "CAPS events before the first buffer: {:?}",
            self.event_names()
        );
        let segments: Vec<&gst::Event> = before
            .iter()
            .copied()
            .filter(|e| e.type_() == gst::EventType::Segment)
            .collect();
        assert_eq!(
            segments.len(),
            1,
            "SEGMENT events before the first buffer: {:?}",
            self.event_names()
        );
        let gst::EventView::Segment(segment) = segments[0].view() else {
            unreachable!()
        };
        assert_eq!(
            segment.segment().format(),
            gst::Format::Time,
            "segment is not TIME: {:?}",
            segment.segment()
        );
        let caps_pos = self
            .items
            .iter()
            .position(|i| matches!(i, Item::Event(e) if e.type_() == gst::EventType::Caps));
        let segment_pos = self
            .items
            .iter()
            .position(|i| matches!(i, Item::Event(e) if e.type_() == gst::EventType::Segment));
        assert!(
            caps_pos < segment_pos,
            "CAPS after SEGMENT: {:?}",
            self.event_names()
        );
        // Only one CAPS in total for a single stream.
        assert_eq!(self.caps.len(), 1, "caps: {:?}", self.caps);

        // Caps content.
        let info = gst_audio::AudioInfo::from_caps(&self.caps[0]).expect("audio caps");
        assert_eq!(
            info.format(),
            gst_audio::AudioFormat::S16le,
            "{}",
            self.caps[0]
        );
        assert_eq!(
            info.layout(),
            gst_audio::AudioLayout::Interleaved,
            "{}",
            self.caps[0]
        );
        assert_eq!(info.rate(), expect_rate, "caps rate: {}", self.caps[0]);
        assert_eq!(
            info.channels(),
            expect_channels,
            "caps channels: {}",
            self.caps[0]
        );

        // EOS is the last thing and comes after every buffer.
        let eos_pos = self
            .items
            .iter()
            .position(|i| matches!(i, Item::Event(e) if e.type_() == gst::EventType::Eos));
        let last_buffer = self
            .items
            .iter()
            .rposition(|i| matches!(i, Item::Buffer(_)))
            .unwrap();
        assert!(
            eos_pos > Some(last_buffer),
            "EOS before a buffer: {:?}",
            self.event_names()
        );

        // Buffers.
        let frame_size = 2 * expect_channels as usize;
        let mut expected_offset = 0u64;
        for (i, b) in self.buffers.iter().enumerate() {
            assert_eq!(b.discont, i == 0, "buffer {i} DISCONT flag: {b:?}");
            assert_eq!(
                b.size % frame_size,
                0,
                "buffer {i} is not whole frames: {b:?}"
            );
            let frames = (b.size / frame_size) as u64;
            assert!(frames > 0, "empty buffer {i}: {b:?}");
            assert_eq!(b.offset, expected_offset, "buffer {i} OFFSET: {b:?}");
            assert_eq!(
                b.offset_end,
                b.offset + frames,
                "buffer {i} OFFSET_END: {b:?}"
            );
            let pts = frames_to_time(b.offset, expect_rate);
            let end = frames_to_time(b.offset_end, expect_rate);
            assert_eq!(b.pts, Some(pts), "buffer {i} PTS: {b:?}");
            assert_eq!(b.duration, Some(end - pts), "buffer {i} DURATION: {b:?}");
            if let Some(next) = self.buffers.get(i + 1) {
                // Contiguous: the next PTS is this PTS plus this duration.
                assert_eq!(
                    next.pts,
                    Some(end),
                    "gap after buffer {i}: {b:?} then {next:?}"
                );
            }
            expected_offset = b.offset_end;
        }
        assert_eq!(
            expected_offset,
            self.frames(),
            "OFFSET_END of the last buffer vs samples"
        );
    }
}

/// A list of messages for an assertion: the count and the first few.
pub fn summarize(messages: &[String]) -> String {
    const SHOWN: usize = 3;
    let mut text = format!(
        "{} message(s): {:?}",
        messages.len(),
        &messages[..messages.len().min(SHOWN)]
    );
    if messages.len() > SHOWN {
        text.push_str(&format!(" ... and {} more", messages.len() - SHOWN));
    }
    text
}

/// `frames * 1e9 / rate`, floored.
pub fn frames_to_time(frames: u64, rate: u32) -> gst::ClockTime {
    gst::ClockTime::from_nseconds((frames as u128 * 1_000_000_000 / rate as u128) as u64)
}

/// Runs `bytes` through a fresh `rsstreamdecoder` in a harness and collects everything.
pub fn decode_with_element(
    bytes: &[u8],
    props: &[(&str, glib::SendValue)],
    chunking: Chunking,
) -> Decoded {
    decode_with_options(bytes, &DecodeOptions::new(props, chunking))
}

/// `decode_with_element` on a fixture file.
pub fn decode_fixture(
    name: &str,
    props: &[(&str, glib::SendValue)],
    chunking: Chunking,
) -> Decoded {
    decode_with_element(&std::fs::read(fixture(name)).unwrap(), props, chunking)
}

/// Runs a pipeline description ending in `appsink name=sink` to its end and returns the bytes
/// the sink got and the first ERROR, if any. The wait for each buffer is bounded: an ERROR
/// stops the pipeline without an EOS at the sink.
pub fn run_to_appsink(description: &str) -> (Vec<u8>, Option<String>) {
    init();
    let pipeline = launch(description);
    let sink = pipeline
        .by_name("sink")
        .expect("an appsink named sink")
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut bytes = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) {
        bytes.extend_from_slice(&sample.buffer().unwrap().map_readable().unwrap());
    }
    let error = pipeline
        .bus()
        .unwrap()
        .pop_filtered(&[gst::MessageType::Error])
        .map(|m| format!("{m:?}"));
    pipeline.set_state(gst::State::Null).unwrap();
    (bytes, error)
}

/// S16LE bytes as samples.
pub fn s16le(bytes: &[u8]) -> Vec<i16> {
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// What a GStreamer chain makes of the file at `path`: `filesrc ! <decode> ! audioconvert !
/// S16LE ! appsink`, as samples; the chain must end without an ERROR.
pub fn gst_reference(path: &Path, decode: &str) -> Vec<i16> {
    let (bytes, error) = run_to_appsink(&format!(
        "filesrc location={} ! {decode} ! audioconvert ! audio/x-raw,format=S16LE ! \
         appsink name=sink sync=false",
        path.display()
    ));
    assert!(error.is_none(), "{decode} on {}: {error:?}", path.display());
    s16le(&bytes)
}

/// `decode_with_element` with every option. Runs on its own thread and panics if the run does
/// not finish within `options.timeout` (a hang is a bug, never a reason to block the suite).
pub fn decode_with_options(bytes: &[u8], options: &DecodeOptions) -> Decoded {
    init();
    let bytes = bytes.to_vec();
    let options = options.clone();
    let timeout = options.timeout;
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("harness".into())
        .spawn(move || {
            let result = run_harness(&bytes, &options);
            let _ = tx.send(result);
        })
        .unwrap();
    match rx.recv_timeout(timeout) {
        Ok(decoded) => {
            worker.join().unwrap();
            decoded
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The harness thread panicked: re-raise its panic here.
            match worker.join() {
                Err(payload) => std::panic::resume_unwind(payload),
                Ok(()) => unreachable!(),
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("the element did not finish within {timeout:?}: hang")
        }
    }
}

fn run_harness(bytes: &[u8], options: &DecodeOptions) -> Decoded {
    let element = gst::ElementFactory::make("rsstreamdecoder")
        .build()
        .expect("rsstreamdecoder element");
    for (name, value) in &options.props {
        element.set_property_from_value(name, value);
    }
    let bus = gst::Bus::new();
    element.set_bus(Some(&bus));

    // Record events and buffers in the order they leave the element.
    let log: Arc<Mutex<Vec<ProbeItem>>> = Arc::new(Mutex::new(Vec::new()));
    let srcpad = element.static_pad("src").unwrap();
    {
        let log = log.clone();
        srcpad.add_probe(
            gst::PadProbeType::BUFFER
                | gst::PadProbeType::BUFFER_LIST
                | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |_, info| {
                let mut log = log.lock().unwrap();
                match &info.data {
                    Some(gst::PadProbeData::Buffer(b)) => log.push(ProbeItem::Buffer(b.clone())),
                    Some(gst::PadProbeData::BufferList(list)) => {
                        for b in list.iter_owned() {
                            log.push(ProbeItem::Buffer(b));
                        }
                    }
                    Some(gst::PadProbeData::Event(e)) => log.push(ProbeItem::Event(e.clone())),
                    _ => {}
                }
                gst::PadProbeReturn::Ok
            },
        );
    }

    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    if let Some(caps) = &options.src_caps {
        assert!(
            h.push_event(gst::event::Caps::new(caps)),
            "caps event refused"
        );
    }
    if options.bytes_segment {
        let segment = gst::FormattedSegment::<gst::format::Bytes>::new();
        assert!(
            h.push_event(gst::event::Segment::new(&segment)),
            "segment refused"
        );
    }

    let mut decoded = Decoded::default();
    for chunk in options.chunking.split(bytes) {
        if let Err(e) = h.push(gst::Buffer::from_slice(chunk.to_vec())) {
            decoded.push_errors.push(e);
            break;
        }
    }
    if options.eos {
        decoded.eos_accepted = h.push_event(gst::event::Eos::new());
    }

    for msg in bus.iter() {
        match msg.view() {
            gst::MessageView::Error(e) => {
                decoded
                    .errors
                    .push(format!("{} ({:?})", e.error(), e.debug()))
            }
            gst::MessageView::Warning(w) => {
                decoded
                    .warnings
                    .push(format!("{} ({:?})", w.error(), w.debug()))
            }
            _ => {}
        }
    }

    let log = std::mem::take(&mut *log.lock().unwrap());
    for item in log {
        match item {
            ProbeItem::Event(event) => {
                match event.view() {
                    gst::EventView::Caps(c) => {
                        let caps = c.caps_owned();
                        if let Ok(info) = gst_audio::AudioInfo::from_caps(&caps) {
                            decoded.rate = info.rate();
                            decoded.channels = info.channels();
                        }
                        decoded.caps.push(caps);
                    }
                    gst::EventView::Eos(_) => decoded.eos_out = true,
                    _ => {}
                }
                decoded.items.push(Item::Event(event));
            }
            ProbeItem::Buffer(buffer) => {
                let map = buffer.map_readable().unwrap();
                decoded.samples.extend(
                    map.chunks_exact(2)
                        .map(|b| i16::from_le_bytes([b[0], b[1]])),
                );
                decoded.items.push(Item::Buffer(decoded.buffers.len()));
                decoded.buffers.push(BufferInfo {
                    pts: buffer.pts(),
                    duration: buffer.duration(),
                    offset: buffer.offset(),
                    offset_end: buffer.offset_end(),
                    discont: buffer.flags().contains(gst::BufferFlags::DISCONT),
                    size: map.len(),
                });
            }
        }
    }
    // Tear down: stops the element (and joins its thread) before the bus goes.
    drop(h);
    element.set_bus(None);
    decoded
}

enum ProbeItem {
    Event(gst::Event),
    Buffer(gst::Buffer),
}

// ---------------------------------------------------------------------------------------------
// Comparing signals
// ---------------------------------------------------------------------------------------------

/// Signal-to-noise ratio of `actual` against `reference` in dB over their common length:
/// 10·log10(Σref² / Σ(ref−actual)²). Identical signals give +∞.
pub fn snr_db(reference: &[i16], actual: &[i16]) -> f64 {
    let n = reference.len().min(actual.len());
    let (mut signal, mut noise) = (0f64, 0f64);
    for (&r, &a) in reference[..n].iter().zip(&actual[..n]) {
        signal += (r as f64).powi(2);
        noise += (r as f64 - a as f64).powi(2);
    }
    if noise == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (signal / noise).log10()
    }
}

/// Largest absolute sample difference over the common length.
pub fn max_abs_diff(reference: &[i16], actual: &[i16]) -> u32 {
    reference
        .iter()
        .zip(actual)
        .map(|(&r, &a)| (r as i32 - a as i32).unsigned_abs())
        .max()
        .unwrap_or(0)
}

/// The result of comparing two interleaved signals with the same channel count.
#[derive(Debug, Clone, Copy)]
pub struct Comparison {
    pub channels: u32,
    /// Frames in the reference and in the actual output.
    pub reference_frames: u64,
    pub actual_frames: u64,
    /// Compared over the common length.
    pub snr_db: f64,
    pub max_abs_diff: u32,
    /// Samples (not frames) that differ.
    pub differing_samples: usize,
}

impl Comparison {
    pub fn same_length(&self) -> bool {
        self.reference_frames == self.actual_frames
    }

    pub fn bit_exact(&self) -> bool {
        self.same_length() && self.differing_samples == 0
    }

    /// `actual_frames - reference_frames`.
    pub fn length_difference(&self) -> i64 {
        self.actual_frames as i64 - self.reference_frames as i64
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frames ours {} / reference {} ({:+}), SNR {:.2} dB, max |diff| {}, {} samples differ",
            self.actual_frames,
            self.reference_frames,
            self.length_difference(),
            self.snr_db,
            self.max_abs_diff,
            self.differing_samples
        )
    }
}

/// Compares over the common length (aligned at the start) and reports both lengths.
pub fn compare(reference: &[i16], actual: &[i16], channels: u32) -> Comparison {
    let ch = channels.max(1) as usize;
    let n = reference.len().min(actual.len()) / ch * ch;
    Comparison {
        channels,
        reference_frames: (reference.len() / ch) as u64,
        actual_frames: (actual.len() / ch) as u64,
        snr_db: snr_db(&reference[..n], &actual[..n]),
        max_abs_diff: max_abs_diff(&reference[..n], &actual[..n]),
        differing_samples: reference[..n]
            .iter()
            .zip(&actual[..n])
            .filter(|(r, a)| r != a)
            .count(),
    }
}

/// For diagnostics: the shift of `actual` against `reference` (in frames, positive when
/// `actual` is late) within ±`max_lag` that gives the best SNR, and that SNR.
pub fn best_lag(reference: &[i16], actual: &[i16], channels: u32, max_lag: i64) -> (i64, f64) {
    let ch = channels.max(1) as usize;
    let mut best = (0, f64::NEG_INFINITY);
    for lag in -max_lag..=max_lag {
        let shift = lag.unsigned_abs() as usize * ch;
        let (r, a) = if lag >= 0 {
            (reference, actual.get(shift..).unwrap_or(&[]))
        } else {
            (reference.get(shift..).unwrap_or(&[]), actual)
        };
        let n = r.len().min(a.len()) / ch * ch;
        if n == 0 {
            continue;
        }
        let snr = snr_db(&r[..n], &a[..n]);
        if snr > best.1 {
            best = (lag, snr);
        }
    }
    best
}

/// Averages interleaved channels into mono (rounded half away from zero), for comparing a mono
/// output against a multichannel reference.
pub fn downmix_to_mono(samples: &[i16], channels: u32) -> Vec<i16> {
    let ch = channels.max(1) as usize;
    samples
        .chunks_exact(ch)
        .map(|frame| {
            let sum: i32 = frame.iter().map(|&s| s as i32).sum();
            (sum as f64 / ch as f64).round() as i16
        })
        .collect()
}

/// round(frames * to / from).
pub fn rescale_frames(frames: u64, from: u32, to: u32) -> u64 {
    ((frames as u128 * to as u128 + from as u128 / 2) / from as u128) as u64
}

/// The interleaved 16-bit samples of a plain PCM WAV file, and its channel count.
fn wav_samples(wav: &[u8]) -> (Vec<i16>, usize) {
    let fmt = chunk_body(wav, b"fmt ");
    let channels = usize::from(u16::from_le_bytes([wav[fmt + 2], wav[fmt + 3]]));
    let data = chunk_body(wav, b"data");
    let samples = wav[data..]
        .chunks_exact(2)
        .map(|s| i16::from_le_bytes([s[0], s[1]]))
        .collect();
    (samples, channels)
}

/// Resampled to 64 × 44.1 kHz by sox and modulated to one bit by a second-order sigma-delta
/// modulator at half scale (as SACD's 0 dB is), as a DSD64 encoder does: per channel, bits
/// earliest first (the most significant of each byte).
fn dsd64_bits(wav: &[u8]) -> Vec<Vec<u8>> {
    use std::io::Write;
    let (_, channels) = wav_samples(wav);
    let mut sox = Command::new("sox")
        .args(["-t", "wav", "-", "-t", "f32", "-r", "2822400", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sox must be installed to make test fixtures");
    let mut stdin = sox.stdin.take().unwrap();
    let input = wav.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = sox.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "sox failed");
    let upsampled: Vec<f32> = output
        .stdout
        .chunks_exact(4)
        .map(|s| f32::from_le_bytes(s.try_into().unwrap()))
        .collect();
    (0..channels)
        .map(|channel| {
            let (mut first, mut second) = (0.0f64, 0.0f64);
            let mut bytes = Vec::with_capacity(upsampled.len() / channels / 8);
            let mut byte = 0u8;
            let input = upsampled.iter().skip(channel).step_by(channels);
            // Each bit comes out one step after its input (the loop's transfer is z^-1): the
            // first is dropped and one more step run, so bit k stands for input sample k.
            for (index, x) in input.chain([&0.0]).enumerate() {
                let y = if second >= 0.0 { 1.0 } else { -1.0 };
                first += f64::from(*x) * 0.5 - y;
                second += first - y;
                if index == 0 {
                    continue;
                }
                byte = (byte << 1) | u8::from(y > 0.0);
                if index % 8 == 0 {
                    bytes.push(byte);
                }
            }
            bytes
        })
        .collect()
}

/// A DSF file (1 bit per sample, least significant first; 4096-byte blocks) of `s16.wav`.
fn wav_to_dsf(bytes: &mut Vec<u8>) {
    const BLOCK: usize = 4096;
    let channels = dsd64_bits(bytes);
    let per_channel = channels[0].len();
    let groups = per_channel.div_ceil(BLOCK);
    let data_len = groups * BLOCK * channels.len();
    let mut out = Vec::new();
    out.extend(b"DSD ");
    out.extend(28u64.to_le_bytes());
    out.extend(((28 + 52 + 12 + data_len) as u64).to_le_bytes());
    out.extend(0u64.to_le_bytes());
    out.extend(b"fmt ");
    out.extend(52u64.to_le_bytes());
    for field in [
        1u32,
        0,
        if channels.len() == 2 { 2 } else { 1 },
        channels.len() as u32,
    ] {
        out.extend(field.to_le_bytes());
    }
    out.extend(2_822_400u32.to_le_bytes());
    out.extend(1u32.to_le_bytes());
    out.extend(((per_channel * 8) as u64).to_le_bytes());
    out.extend((BLOCK as u32).to_le_bytes());
    out.extend(0u32.to_le_bytes());
    out.extend(b"data");
    out.extend(((12 + data_len) as u64).to_le_bytes());
    for group in 0..groups {
        for channel in &channels {
            let mut block: Vec<u8> = channel
                .iter()
                .skip(group * BLOCK)
                .take(BLOCK)
                .map(|byte| byte.reverse_bits())
                .collect();
            block.resize(BLOCK, 0);
            out.extend(block);
        }
    }
    *bytes = out;
}

/// A DSDIFF file (uncompressed DSD, a byte per channel in turn) of `s16.wav`.
fn wav_to_dff(bytes: &mut Vec<u8>) {
    let channels = dsd64_bits(bytes);
    let chunk = |id: &[u8], body: &[u8]| {
        let mut out = id.to_vec();
        out.extend((body.len() as u64).to_be_bytes());
        out.extend(body);
        if body.len() % 2 == 1 {
            out.push(0);
        }
        out
    };
    let mut sound = b"SND ".to_vec();
    sound.extend(chunk(b"FS  ", &2_822_400u32.to_be_bytes()));
    let mut chnl = (channels.len() as u16).to_be_bytes().to_vec();
    for id in [b"SLFT", b"SRGT"].iter().take(channels.len()) {
        chnl.extend(*id);
    }
    sound.extend(chunk(b"CHNL", &chnl));
    sound.extend(chunk(b"CMPR", b"DSD \x0enot compressed\0"));
    let interleaved: Vec<u8> = (0..channels[0].len())
        .flat_map(|at| channels.iter().map(move |channel| channel[at]))
        .collect();
    let mut form = b"DSD ".to_vec();
    form.extend(chunk(b"FVER", &0x0105_0000u32.to_be_bytes()));
    form.extend(chunk(b"PROP", &sound));
    form.extend(chunk(b"DSD ", &interleaved));
    *bytes = chunk(b"FRM8", &form);
}
