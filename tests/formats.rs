//! Every supported format, decoded by the element and compared with an independent ffmpeg
//! decode of the same file.
//!
//! Fixtures are made on demand by ffmpeg from a 3 s deterministic stereo test signal (see
//! `common::fixture`). Run with `cargo test --release --test formats -- --nocapture` to see the
//! figures (SNR, lengths) each test prints.

mod common;

use common::*;
use gst::prelude::*;

use gstrsstreamdecoder::decoder::{DecoderEvent, DecoderSettings, StreamDecoder};

/// How close our PCM must be to ffmpeg's at the stream's own rate and channels.
#[derive(Debug, Clone, Copy)]
enum Quality {
    /// Same samples, same length.
    BitExact,
    /// Every sample within this many LSB (the S16 rounding of wider samples differs: ffmpeg
    /// truncates 24/32-bit integers, we round).
    MaxDiff(u32),
    /// Lossy codecs: decoders differ in float precision and rounding; SNR at least this.
    Snr(f64),
}

/// Our length in frames relative to ffmpeg's, and which end differs.
#[derive(Debug, Clone, Copy)]
enum Length {
    /// Same number of frames as ffmpeg.
    Reference,
    /// We have `n` frames fewer than ffmpeg, missing at the start (ffmpeg keeps priming
    /// samples that we trim): compare against the reference from frame `n`.
    #[allow(dead_code)]
    ReferenceMinusAtStart(u64),
    /// We have `n` frames fewer than ffmpeg, missing at the end (ffmpeg keeps end padding that
    /// we trim).
    ReferenceMinusAtEnd(u64),
}

struct Case {
    fixture: &'static str,
    /// Container and codec as symphonia names them.
    container: &'static str,
    codec: &'static str,
    quality: Quality,
    length: Length,
    /// Length of the encoded signal when the format can carry it exactly (gapless info or
    /// lossless): our output must have exactly this many frames.
    original_frames: Option<u64>,
    /// Minimum SNR against ffmpeg's `-ar 48000 -ac 1` decode for the default-property run.
    min_snr_48k_mono: f64,
    /// The fixture whose ffmpeg decode is the reference, when not this one: for files made by
    /// editing another one's header, which ffmpeg misreads or refuses.
    reference: Option<&'static str>,
}

/// Detects what the core decoder sees (container and codec) by running it directly.
fn detect(bytes: &[u8]) -> (String, String) {
    let mut decoder = StreamDecoder::start(DecoderSettings::default()).unwrap();
    let mut events = decoder.push(bytes);
    events.extend(decoder.finish());
    events
        .into_iter()
        .find_map(|e| match e {
            DecoderEvent::Format(f) => Some((f.container, f.codec)),
            _ => None,
        })
        .unwrap_or_else(|| ("<none>".into(), "<none>".into()))
}

/// Decodes at the stream's own rate and channels and compares with ffmpeg.
fn check_keep(case: &Case) -> Decoded {
    let path = fixture(case.fixture);
    let bytes = std::fs::read(&path).unwrap();
    let reference = reference(&fixture(case.reference.unwrap_or(case.fixture)), None, None);
    // With FLAC's MD5 checked: a mismatch would be a WARNING.
    let decoded = decode_with_element(&bytes, &verifying_keep_props(), Chunking::Whole);
    let (container, codec) = detect(&bytes);
    let ch = reference.channels as usize;

    // Align the two signals as the length relation says before comparing.
    let (ref_cmp, ours_cmp): (&[i16], &[i16]) = match case.length {
        Length::ReferenceMinusAtStart(n) => (
            reference.samples.get(n as usize * ch..).unwrap_or(&[]),
            &decoded.samples,
        ),
        _ => (&reference.samples, &decoded.samples),
    };
    let cmp = compare(ref_cmp, ours_cmp, reference.channels);
    let (lag, lag_snr) = best_lag(
        &reference.samples,
        &decoded.samples,
        reference.channels,
        2200,
    );
    println!(
        "[keep] {:<18} {}/{} {} Hz {} ch: ours {} frames, ffmpeg {} frames, original {}; {cmp}; \
         best lag vs ffmpeg {lag:+} frames ({lag_snr:.2} dB); caps {:?}",
        case.fixture,
        container,
        codec,
        reference.rate,
        reference.channels,
        decoded.frames(),
        reference.frames(),
        case.original_frames
            .map_or("n/a".to_string(), |n| n.to_string()),
        decoded
            .caps
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>(),
    );

    decoded.assert_well_formed(reference.rate, reference.channels);
    assert_eq!(
        (container.as_str(), codec.as_str()),
        (case.container, case.codec),
        "detected container/codec"
    );

    if let Some(original) = case.original_frames {
        // The truth for lossless and gapless-capable formats.
        assert_eq!(
            decoded.frames(),
            original,
            "ours has {} frames, the encoded signal {original} (ffmpeg {}): gapless \
             information not applied?",
            decoded.frames(),
            reference.frames()
        );
    }
    let (expected, relation) = match case.length {
        Length::Reference => (reference.frames(), "ffmpeg's length".to_string()),
        Length::ReferenceMinusAtStart(n) | Length::ReferenceMinusAtEnd(n) => (
            reference.frames().saturating_sub(n),
            format!("ffmpeg's length - {n}"),
        ),
    };
    assert_eq!(
        decoded.frames(),
        expected,
        "ours has {} frames, expected {relation} = {expected} (ffmpeg {})",
        decoded.frames(),
        reference.frames()
    );
    match case.quality {
        Quality::BitExact => {
            assert!(cmp.bit_exact(), "not bit-exact: {cmp}");
        }
        Quality::MaxDiff(max) => {
            assert!(
                cmp.max_abs_diff <= max,
                "max |diff| {} > {max}: {cmp}",
                cmp.max_abs_diff
            );
        }
        Quality::Snr(min) => {
            assert!(
                cmp.snr_db >= min,
                "SNR {:.2} dB < {min} dB: {cmp}",
                cmp.snr_db
            );
        }
    }
    decoded
}

/// Decodes with the default properties (48 kHz mono) and checks the length against our own
/// native-rate decode (the contract: round(frames × 48000 / rate) ± 1) and the signal against
/// ffmpeg's resample + downmix.
fn check_default(case: &Case) {
    let path = fixture(case.fixture);
    let bytes = std::fs::read(&path).unwrap();
    let native = decode_with_element(&bytes, &keep_props(), Chunking::Whole);
    let decoded = decode_with_element(&bytes, &[], Chunking::Whole);
    let reference_path = fixture(case.reference.unwrap_or(case.fixture));
    let reference = reference(&reference_path, Some(48_000), Some(1));
    let expected = rescale_frames(native.frames(), native.rate, 48_000);
    let cmp = compare(&reference.samples, &decoded.samples, 1);
    let (lag, lag_snr) = best_lag(&reference.samples, &decoded.samples, 1, 200);
    println!(
        "[48k mono] {:<18} from {} Hz {} ch: ours {} frames, expected {expected} \
         (native {} frames), ffmpeg {} frames; {cmp}; best lag {lag:+} ({lag_snr:.2} dB)",
        case.fixture,
        native.rate,
        native.channels,
        decoded.frames(),
        native.frames(),
        reference.frames(),
    );
    decoded.assert_well_formed(48_000, 1);
    assert!(
        decoded.frames().abs_diff(expected) <= 1,
        "{} frames at 48 kHz, expected {expected} ± 1 from {} frames at {} Hz",
        decoded.frames(),
        native.frames(),
        native.rate
    );
    let snr = cmp.snr_db;
    assert!(
        snr >= case.min_snr_48k_mono,
        "SNR against ffmpeg's 48 kHz mono {snr:.2} dB < {} dB: {cmp}",
        case.min_snr_48k_mono
    );
}

// ---------------------------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------------------------

const F: u64 = SOURCE_FRAMES;

// SNR thresholds for the default-property runs (48 kHz mono against ffmpeg's `-ar 48000 -ac 1`,
// which for S16 output also averages L and R, and for 5.1 uses the same -3 dB centre/surround,
// LFE-dropped, normalised coefficients as the element): the two resamplers agree to 75-80 dB
// (the largest differences, up to ~150 LSB, are in the first and last few samples, where the
// filters see the abrupt start and end of the signal differently). 8-bit, A-law and µ-law
// carry broadband quantisation noise up to 22 kHz, which the two anti-aliasing filters treat
// differently near Nyquist: 55-59 dB. Opus is already at 48 kHz (only the downmix): 105 dB.
//
// Lossy SNR thresholds: the figure is against ffmpeg's decode of the same file, so it measures
// decoder agreement, not codec quality. Both sides are float decoders rounded to S16: they agree
// to 80-110 dB (a few samples differ by 1 LSB). A real defect (a dropped or repeated frame, a
// shifted or swapped channel, wrong gain) lands far below 30 dB. The thresholds sit about 10 dB
// under what was measured (see the report in the test output).

/// MP3 with a Xing/LAME header (ffmpeg's libmp3lame writes one): encoder delay and padding are
/// known, so the output is exactly the encoded signal's length. ffmpeg trims the same.
const MP3_CBR: Case = Case {
    fixture: "mp3_cbr.mp3",
    container: "mp3",
    codec: "mp3",
    quality: Quality::Snr(90.0),
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
/// MP3 in WAV: no LAME header there, so the priming and padding stay, as in ffmpeg's decode.
const MP3_IN_WAV: Case = Case {
    fixture: "mp3_in.wav",
    original_frames: None,
    ..MP3_CBR
};
const MP3_VBR: Case = Case {
    fixture: "mp3_vbr.mp3",
    container: "mp3",
    codec: "mp3",
    quality: Quality::Snr(90.0),
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
/// MP2 carries no gapless information: whole frames (115 × 1152 = 132480), same as ffmpeg.
const MP2: Case = Case {
    fixture: "mp2.mp2",
    container: "mp2",
    codec: "mp2",
    quality: Quality::Snr(70.0),
    length: Length::Reference,
    original_frames: None,
    min_snr_48k_mono: 65.0,
    reference: None,
};
/// ADTS carries no gapless information: the 1024 priming frames of the encoder and the padding
/// of the last frame stay (131 × 1024 = 134144), in ffmpeg's decode as in ours.
const AAC_ADTS: Case = Case {
    fixture: "aac_adts.aac",
    container: "aac",
    codec: "aac",
    quality: Quality::Snr(90.0),
    length: Length::Reference,
    original_frames: None,
    min_snr_48k_mono: 65.0,
    reference: None,
};
/// M4A written by ffmpeg has an edit list (`elst`: media_time 1024, duration 3 s) and an
/// `stts` whose total is 1024 + 132300: the file says exactly which frames are the signal.
/// The truth is 132300 frames. ffmpeg 5.1 applies the start of the edit (drops the 1024
/// priming frames) but decodes the last packet whole, so it outputs 133120 = 132300 + 820.
const AAC_M4A: Case = Case {
    fixture: "aac.m4a",
    container: "isomp4",
    codec: "aac",
    quality: Quality::Snr(90.0),
    length: Length::ReferenceMinusAtEnd(820),
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
/// Ogg Vorbis: the granule position of the last page gives the exact end.
const VORBIS_OGG: Case = Case {
    fixture: "vorbis.ogg",
    container: "ogg",
    codec: "vorbis",
    quality: Quality::Snr(95.0),
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
/// Ogg Opus: pre-skip at the start, last granule at the end.
const OPUS_OGG: Case = Case {
    fixture: "opus.ogg",
    container: "ogg",
    codec: "opus",
    quality: Quality::Snr(95.0),
    length: Length::Reference,
    original_frames: Some(SOURCE_FRAMES_48K),
    min_snr_48k_mono: 95.0,
    reference: None,
};
/// Ogg Opus beside a Skeleton track (GStreamer's `oggmux skeleton=true`), with the audio's first
/// page first or the Skeleton's: the Skeleton is passed over.
const OPUS_OGG_SKELETON: Case = Case {
    fixture: "opus_skeleton.ogg",
    ..OPUS_OGG
};
const OPUS_OGG_SKELETON_FIRST: Case = Case {
    fixture: "opus_skeleton_first.ogg",
    ..OPUS_OGG
};
/// Ogg Opus behind an ID3v2 tag: the probe finds the first page after it.
const OPUS_OGG_ID3V2: Case = Case {
    fixture: "opus_id3v2.ogg",
    ..OPUS_OGG
};
/// Ogg whose first stream is Theora video: the Vorbis stream after it is decoded.
const VORBIS_OGV_VIDEO_FIRST: Case = Case {
    fixture: "vorbis_theora.ogv",
    ..VORBIS_OGG
};
/// A pre-skip longer than a packet is trimmed in full (the libopus adapter trimmed it from the
/// first packet only).
const OPUS_OGG_LONG_PRESKIP: Case = Case {
    fixture: "opus_long_preskip.ogg",
    original_frames: Some(SOURCE_FRAMES_48K - (5000 - 312)),
    ..OPUS_OGG
};
/// WebM Opus: the pre-skip (CodecDelay, 312 frames) is trimmed by symphonia, and the end
/// padding that ffmpeg signals with a DiscardPadding element on the last block (648 frames
/// here), which symphonia ignores, by `mkv_padding`: exactly the encoded 144000 frames.
const OPUS_WEBM: Case = Case {
    fixture: "opus.webm",
    container: "matroska",
    codec: "opus",
    quality: Quality::Snr(95.0),
    length: Length::Reference,
    original_frames: Some(SOURCE_FRAMES_48K),
    min_snr_48k_mono: 95.0,
    reference: None,
};
/// Opus in MP4 as ffmpeg writes it: the edit list skips the 312 pre-skip frames and ends at
/// the original's last sample. symphonia's reader hands out the big-endian `dOps` box as if it
/// were an OpusHead (pre-skip 14337): before, the first packet was lost and the edit list's
/// skip came on top (143688 frames, 960 late). ffmpeg keeps the last packet whole.
const OPUS_MP4: Case = Case {
    fixture: "opus.mp4",
    container: "isomp4",
    length: Length::ReferenceMinusAtEnd(648),
    ..OPUS_WEBM
};
/// Without an edit list the `dOps` pre-skip alone is applied, and the last packet stays whole,
/// as in ffmpeg (its `stts` entry of 312 frames is not applied by either). The two agree to
/// 1 LSB up to the original's end; in the 648 frames of the last packet's padding after it,
/// libopus and ffmpeg's own decoder differ by tens of LSB, hence the lower whole-file SNR.
const OPUS_MP4_NO_EDIT_LIST: Case = Case {
    fixture: "opus_no_editlist.mp4",
    container: "isomp4",
    original_frames: None,
    quality: Quality::Snr(70.0),
    min_snr_48k_mono: 70.0,
    ..OPUS_WEBM
};
/// WebM Opus with a cluster every 0.5 s.
const OPUS_WEBM_CLUSTERS: Case = Case {
    fixture: "opus_clusters.webm",
    ..OPUS_WEBM
};
/// WebM Opus as a live server writes it (GStreamer's `webmmux streamable=true`): Segment and
/// Clusters of unknown size.
const OPUS_WEBM_STREAMABLE: Case = Case {
    fixture: "opus_streamable.webm",
    ..OPUS_WEBM
};
/// WebM Opus from mkvmerge: laced SimpleBlocks (two frames each).
const OPUS_WEBM_MKVMERGE: Case = Case {
    fixture: "opus_mkvmerge.webm",
    ..OPUS_WEBM
};
/// Vorbis in Matroska: ffmpeg writes no end information (no DiscardPadding for Vorbis), so
/// both decoders output the whole last block: 132800 frames.
const VORBIS_MKA: Case = Case {
    fixture: "vorbis.mka",
    container: "matroska",
    codec: "vorbis",
    quality: Quality::Snr(95.0),
    length: Length::Reference,
    original_frames: None,
    min_snr_48k_mono: 65.0,
    reference: None,
};
const FLAC: Case = Case {
    fixture: "flac.flac",
    container: "flac",
    codec: "flac",
    quality: Quality::BitExact,
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
/// 24-bit FLAC: ffmpeg truncates to 16 bits, we round: within 1 LSB.
const FLAC_24: Case = Case {
    fixture: "flac24.flac",
    container: "flac",
    codec: "flac",
    quality: Quality::MaxDiff(1),
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
/// WavPack, lossless: the source's samples (ffmpeg's decoder is the reference), and its
/// length. 24-bit and float: ffmpeg truncates to 16 bits, we round.
const WAVPACK: Case = Case {
    fixture: "wavpack.wv",
    container: "wavpack",
    codec: "wavpack",
    quality: Quality::BitExact,
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
/// WavPack in Matroska, stereo and 5.1 (three blocks per frame, in Matroska's layout).
const WAVPACK_MKA: Case = Case {
    fixture: "wavpack.mka",
    container: "matroska",
    ..WAVPACK
};
const WAVPACK_5_1_MKA: Case = Case {
    fixture: "wavpack_5.1.mka",
    container: "matroska",
    ..WAVPACK
};
/// 8-bit: quantisation noise up to Nyquist, as 8-bit WAV.
const WAVPACK_8: Case = Case {
    fixture: "wavpack8.wv",
    min_snr_48k_mono: 45.0,
    ..WAVPACK
};
const WAVPACK_24: Case = Case {
    fixture: "wavpack24.wv",
    quality: Quality::MaxDiff(1),
    ..WAVPACK
};
const WAVPACK_32: Case = Case {
    fixture: "wavpack32.wv",
    quality: Quality::MaxDiff(1),
    ..WAVPACK
};
const WAVPACK_FLOAT: Case = Case {
    fixture: "wavpack_float.wv",
    quality: Quality::MaxDiff(1),
    ..WAVPACK
};
/// Six channels in three blocks per frame (two stereo pairs and two mono blocks).
const WAVPACK_5_1: Case = Case {
    fixture: "wavpack_5.1.wv",
    ..WAVPACK
};
/// Hybrid mode without its correction file: lossy, but both decoders compute the same
/// integers. Its noise, shaped up to Nyquist, meets two different resamplers at 48 kHz (63 dB).
const WAVPACK_HYBRID: Case = Case {
    fixture: "wavpack_hybrid.wv",
    min_snr_48k_mono: 55.0,
    ..WAVPACK
};
/// Monkey's Audio (APE 3.99, made by its Java port), lossless: the source's samples, as
/// ffmpeg's decoder gives them, at normal and extra high compression, and 8-bit mono.
const APE: Case = Case {
    fixture: "ape.ape",
    container: "ape",
    codec: "ape",
    quality: Quality::BitExact,
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
const APE_EXTRA_HIGH: Case = Case {
    fixture: "ape_extra_high.ape",
    ..APE
};
/// 8-bit: quantisation noise up to Nyquist, as 8-bit WAV.
const APE_8: Case = Case {
    fixture: "ape8.ape",
    min_snr_48k_mono: 45.0,
    ..APE
};
/// True Audio (lossless, from ffmpeg's encoder, decoded by our own decoder): the source's
/// samples, as ffmpeg's decoder gives them.
const TTA: Case = Case {
    fixture: "tta.tta",
    container: "tta",
    codec: "tta",
    quality: Quality::BitExact,
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
/// 8-bit: quantisation noise up to Nyquist, as 8-bit WAV.
const TTA_8: Case = Case {
    fixture: "tta8.tta",
    min_snr_48k_mono: 45.0,
    ..TTA
};
/// 24-bit: we round to S16, ffmpeg truncates.
const TTA_24: Case = Case {
    fixture: "tta24.tta",
    quality: Quality::MaxDiff(1),
    ..TTA
};
/// In Matroska, which the decodebin chain does not play ("missing plug-in"): the last frame's
/// length from the segment's duration.
const TTA_MKA: Case = Case {
    fixture: "tta.mka",
    container: "matroska",
    ..TTA
};
const TTA_MKVMERGE: Case = Case {
    fixture: "tta_mkvmerge.mka",
    ..TTA_MKA
};
const TTA_24_MKA: Case = Case {
    fixture: "tta24.mka",
    container: "matroska",
    ..TTA_24
};
const TTA_MONO: Case = Case {
    fixture: "tta_mono.tta",
    ..TTA
};
/// Six channels, coded as differences from one another.
const TTA_5_1: Case = Case {
    fixture: "tta_5.1.tta",
    ..TTA
};
/// AC-3 (our own decoder). Decoders differ by their dither (noise put where the encoder sent no
/// mantissa bits, random by design): at 192 kbit/s that is all the difference (76 dB); at 96
/// kbit/s, where much more is dithered, 58 dB. AC-3 carries no gapless information: the
/// encoder's priming and padding stay, as in ffmpeg's decode.
const AC3: Case = Case {
    fixture: "ac3.ac3",
    container: "ac3",
    codec: "ac3",
    quality: Quality::Snr(66.0),
    length: Length::Reference,
    original_frames: None,
    min_snr_48k_mono: 60.0,
    reference: None,
};
const AC3_96K: Case = Case {
    fixture: "ac3_96k.ac3",
    quality: Quality::Snr(50.0),
    min_snr_48k_mono: 50.0,
    ..AC3
};
/// Mono at ffmpeg's default 96 kbit/s: more dithered mantissas, as at 96 kbit/s stereo.
const AC3_MONO_48K: Case = Case {
    fixture: "ac3_mono_48k.ac3",
    quality: Quality::Snr(52.0),
    min_snr_48k_mono: 52.0,
    ..AC3
};
/// Five channels and LFE, in GStreamer's order with their channel mask in keep mode.
const AC3_5_1: Case = Case {
    fixture: "ac3_5.1.ac3",
    ..AC3
};
const AC3_MKA: Case = Case {
    fixture: "ac3.mka",
    container: "matroska",
    ..AC3
};
/// The edit list trims the encoder's priming, as ffmpeg does.
const AC3_M4A: Case = Case {
    fixture: "ac3.m4a",
    container: "isomp4",
    ..AC3
};
const AC3_TS: Case = Case {
    fixture: "ac3.ts",
    container: "ac3",
    ..AC3
};
/// E-AC-3 (Dolby Digital Plus) from ffmpeg's encoder, our own decoder: as for AC-3, the two
/// decoders differ by their dither only (at 64 kbit/s, where most mantissas are dithered, 47
/// dB against each other, 38.6 dB each against the source).
const EAC3: Case = Case {
    fixture: "eac3.eac3",
    codec: "eac3",
    quality: Quality::Snr(64.0),
    ..AC3
};
const EAC3_64K: Case = Case {
    fixture: "eac3_64k.eac3",
    quality: Quality::Snr(40.0),
    min_snr_48k_mono: 40.0,
    ..EAC3
};
const EAC3_MONO_32K: Case = Case {
    fixture: "eac3_mono_32k.eac3",
    ..EAC3
};
const EAC3_5_1: Case = Case {
    fixture: "eac3_5.1.eac3",
    ..EAC3
};
const EAC3_MKA: Case = Case {
    fixture: "eac3.mka",
    container: "matroska",
    ..EAC3
};
const EAC3_MP4: Case = Case {
    fixture: "eac3.mp4",
    container: "isomp4",
    ..EAC3
};
const EAC3_TS: Case = Case {
    fixture: "eac3.ts",
    ..EAC3
};
/// 8-bit FLAC from sox; its MD5 is verified (a mismatch would be a WARNING). Its quantisation
/// noise reaches Nyquist like 8-bit WAV's: the same 48 kHz threshold.
const FLAC_8: Case = Case {
    fixture: "flac8.flac",
    min_snr_48k_mono: 45.0,
    ..FLAC
};
const FLAC_OGG: Case = Case {
    fixture: "flac.oga",
    container: "ogg",
    codec: "flac",
    quality: Quality::BitExact,
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
const WAV_U8: Case = Case {
    fixture: "u8.wav",
    container: "wave",
    codec: "pcm_u8",
    quality: Quality::BitExact,
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 45.0,
    reference: None,
};
const WAV_S16: Case = Case {
    fixture: "s16.wav",
    container: "wave",
    codec: "pcm_s16le",
    quality: Quality::BitExact,
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
/// WAVE_FORMAT_EXTENSIBLE, 24 bit. ffmpeg truncates to 16 bits, we round: within 1 LSB.
const WAV_S24: Case = Case {
    fixture: "s24.wav",
    container: "wave",
    codec: "pcm_s24le",
    quality: Quality::MaxDiff(1),
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
/// WAVE_FORMAT_EXTENSIBLE, 32 bit integer.
const WAV_S32: Case = Case {
    fixture: "s32.wav",
    container: "wave",
    codec: "pcm_s32le",
    quality: Quality::MaxDiff(1),
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
/// WAVE_FORMAT_EXTENSIBLE, 32 bit float.
const WAV_F32: Case = Case {
    fixture: "f32.wav",
    container: "wave",
    codec: "pcm_f32le",
    quality: Quality::MaxDiff(1),
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
const WAV_ALAW: Case = Case {
    fixture: "alaw.wav",
    container: "wave",
    codec: "pcm_alaw",
    quality: Quality::BitExact,
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 45.0,
    reference: None,
};
const WAV_MULAW: Case = Case {
    fixture: "mulaw.wav",
    container: "wave",
    codec: "pcm_mulaw",
    quality: Quality::BitExact,
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 45.0,
    reference: None,
};
/// WAVE_FORMAT_EXTENSIBLE, 16 bit 5.1 with channel mask 0x3F (kept: 6 channels out with the
/// same mask; default: downmixed to mono).
const WAV_EXTENSIBLE_5_1: Case = Case {
    fixture: "s16_5.1.wav",
    container: "wave",
    codec: "pcm_s16le",
    quality: Quality::BitExact,
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
/// RIFF and data sizes 0xFFFFFFFF: the data runs to the end of the stream.
const WAV_STREAMING: Case = Case {
    fixture: "s16_streaming.wav",
    container: "wave",
    codec: "pcm_s16le",
    quality: Quality::BitExact,
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};
const AIFF: Case = Case {
    fixture: "s16be.aiff",
    container: "aiff",
    codec: "pcm_s16be",
    quality: Quality::BitExact,
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};

/// A PCM container variant: lossless, the encoded signal's length, the detected container and
/// codec, and how close to ffmpeg's decode (bit-exact for 16-bit and A-law/µ-law samples,
/// within 1 LSB for wider ones: ffmpeg truncates to 16 bits, we round).
const fn pcm_case(
    fixture: &'static str,
    container: &'static str,
    codec: &'static str,
    quality: Quality,
    reference: Option<&'static str>,
) -> Case {
    Case {
        fixture,
        container,
        codec,
        quality,
        length: Length::Reference,
        original_frames: Some(F),
        min_snr_48k_mono: 45.0,
        reference,
    }
}

/// ADPCM's last block is padded out to a whole block: ffmpeg's length, not the signal's.
const WAV_IMA_ADPCM: Case = Case {
    original_frames: None,
    ..pcm_case(
        "ima_adpcm.wav",
        "wave",
        "adpcm_ima_wav",
        Quality::BitExact,
        None,
    )
};
const WAV_MS_ADPCM: Case = Case {
    original_frames: None,
    ..pcm_case("ms_adpcm.wav", "wave", "adpcm_ms", Quality::BitExact, None)
};
/// Telephony codecs in WAV, decoded with spandsp: G.722 at 16 kHz, Microsoft's GSM 6.10 at
/// 8 kHz (ffmpeg's native decoders are bit-exact for both). The last GSM block is padded out.
const WAV_G722: Case = Case {
    original_frames: None,
    ..pcm_case("g722.wav", "wave", "g722", Quality::BitExact, None)
};
const WAV_GSM: Case = Case {
    original_frames: None,
    ..pcm_case("gsm.wav", "wave", "gsm_ms", Quality::BitExact, None)
};
const RF64: Case = pcm_case("s16.rf64", "rf64", "pcm_s16le", Quality::BitExact, None);
/// ffmpeg 5.1 reads BW64 as RF64.
const BW64: Case = pcm_case("s16.bw64", "bw64", "pcm_s16le", Quality::BitExact, None);
const WAVE64: Case = pcm_case("s16.w64", "wave64", "pcm_s16le", Quality::BitExact, None);
/// ffmpeg 5.1 reads RIFX's big-endian 16-bit samples as little-endian and refuses RIFX
/// EXTENSIBLE: the references are the little-endian files sox converted.
const RIFX_S16: Case = pcm_case(
    "s16_rifx.wav",
    "rifx",
    "pcm_s16be",
    Quality::BitExact,
    Some("s16.wav"),
);
const RIFX_S24: Case = pcm_case(
    "s24_rifx.wav",
    "rifx",
    "pcm_s24be",
    Quality::MaxDiff(1),
    Some("s24.wav"),
);
const AIFC_SOWT: Case = pcm_case(
    "s16le_sowt.aiff",
    "aiff",
    "pcm_s16le",
    Quality::BitExact,
    None,
);
const AIFF_S24: Case = pcm_case("s24be.aiff", "aiff", "pcm_s24be", Quality::MaxDiff(1), None);
const AIFC_F32: Case = pcm_case("f32be.aiff", "aiff", "pcm_f32be", Quality::MaxDiff(1), None);
const CAF_S16: Case = pcm_case("s16le.caf", "caf", "pcm_s16le", Quality::BitExact, None);
const CAF_S24: Case = pcm_case("s24be.caf", "caf", "pcm_s24be", Quality::MaxDiff(1), None);
const CAF_F32: Case = pcm_case("f32le.caf", "caf", "pcm_f32le", Quality::MaxDiff(1), None);
const CAF_ALAW: Case = pcm_case("alaw.caf", "caf", "pcm_alaw", Quality::BitExact, None);
/// Sun AU (`.au`), which symphonia has no reader for; the decodebin chain reads it.
const AU_S16: Case = pcm_case("s16.au", "au", "pcm_s16be", Quality::BitExact, None);
const AU_F32: Case = pcm_case("f32.au", "au", "pcm_f32be", Quality::MaxDiff(1), None);
const AU_MULAW: Case = pcm_case("mulaw.au", "au", "pcm_mulaw", Quality::BitExact, None);
const AU_S24: Case = pcm_case("s24.au", "au", "pcm_s24be", Quality::MaxDiff(1), None);
const WAV_S12: Case = pcm_case("s12.wav", "wave", "pcm_s16le", Quality::BitExact, None);
const WAV_S20: Case = pcm_case("s20.wav", "wave", "pcm_s24le", Quality::MaxDiff(1), None);
/// ffmpeg reads 3-byte samples where block_align says 4: the reference is the file before the
/// edit (its top 24 bits are the same samples).
const WAV_S24_IN_32: Case = pcm_case(
    "s24in32.wav",
    "wave",
    "pcm_s32le",
    Quality::MaxDiff(1),
    Some("s32.wav"),
);
const WAV_ALAW_FMT16: Case = pcm_case(
    "alaw_fmt16.wav",
    "wave",
    "pcm_alaw",
    Quality::BitExact,
    None,
);
const WAV_MULAW_FMT20: Case = pcm_case(
    "mulaw_fmt20.wav",
    "wave",
    "pcm_mulaw",
    Quality::BitExact,
    None,
);
const WAV_LIST_LONG: Case = pcm_case(
    "list_long.wav",
    "wave",
    "pcm_s16le",
    Quality::BitExact,
    Some("s16.wav"),
);
const WAV_LIST_SHORT: Case = pcm_case(
    "list_short.wav",
    "wave",
    "pcm_s16le",
    Quality::BitExact,
    Some("s16.wav"),
);
const WAV_LIST_UNPADDED: Case = pcm_case(
    "list_unpadded.wav",
    "wave",
    "pcm_s16le",
    Quality::BitExact,
    Some("s16.wav"),
);

/// M4A with the index (moov) after the media, as ffmpeg writes without +faststart: held in
/// memory until the index arrives, then the same as the faststart file.
const AAC_M4A_MOOV_END: Case = Case {
    fixture: "aac_moov_end.m4a",
    ..AAC_M4A
};
/// MP4 whose first track is video: the first audio track is decoded.
const AAC_MP4_VIDEO_FIRST: Case = Case {
    fixture: "aac_video_first.mp4",
    ..AAC_M4A
};
/// ADTS AAC in an MPEG transport stream, behind a video stream: the transport stream is
/// unwrapped (`container::ts_unwrap`) and the ADTS reader gets the audio.
const AAC_TS: Case = Case {
    fixture: "aac_video.ts",
    ..AAC_ADTS
};
/// AAC in LOAS/LATM, as DVB broadcasts carry it: the access units are bit-packed behind mux
/// headers, the AudioSpecificConfig repeated every 20 frames (ffmpeg's muxer). The same
/// samples as the ADTS file's; the decodebin chain refuses the raw `.loas` (not negotiated).
const AAC_LOAS: Case = Case {
    fixture: "aac.loas",
    container: "loas",
    ..AAC_ADTS
};
/// LATM in an MPEG transport stream (stream type 0x11), as DVB-T2 and DVB-S2 send AAC.
const AAC_LATM_TS: Case = Case {
    fixture: "aac_latm.ts",
    container: "loas",
    ..AAC_ADTS
};
/// A transport stream that starts inside a packet: from the first whole packet on.
const AAC_TS_CUT: Case = Case {
    fixture: "aac_video_cut.ts",
    ..AAC_ADTS
};
/// MP3 in an MPEG transport stream (no LAME header there: the priming stays, as in ffmpeg's).
const MP3_TS: Case = Case {
    fixture: "mp3.ts",
    original_frames: None,
    ..MP3_CBR
};
/// FLV (what RTMP servers record and HTTP-FLV streams send): AAC behind a video stream, MP3 (no
/// LAME header: the priming stays, as in ffmpeg's), PCM and µ-law. symphonia has no FLV reader.
const AAC_FLV: Case = Case {
    fixture: "aac_video.flv",
    container: "flv",
    ..AAC_ADTS
};
const MP3_FLV: Case = Case {
    fixture: "mp3.flv",
    container: "flv",
    ..MP3_TS
};
const S16_FLV: Case = pcm_case("s16.flv", "flv", "pcm_s16le", Quality::BitExact, None);
const MULAW_8K_FLV: Case = Case {
    fixture: "mulaw_8k.flv",
    codec: "pcm_mulaw",
    original_frames: None,
    ..S16_FLV
};
/// AVI (symphonia has no reader; the decodebin chain decodes it): MP3 behind video, whose chunks
/// are cut again into frames, PCM, AC-3 and AAC.
const MP3_AVI: Case = Case {
    fixture: "mp3_video.avi",
    container: "avi",
    ..MP3_TS
};
const S16_AVI: Case = pcm_case("s16.avi", "avi", "pcm_s16le", Quality::BitExact, None);
const AC3_AVI: Case = Case {
    fixture: "ac3.avi",
    container: "avi",
    ..AC3
};
/// IMA and Microsoft ADPCM blocks, decoded by symphonia's ADPCM codec: bit-exact against ffmpeg
/// (the last block's padding included, as in ffmpeg's decode).
const IMA_ADPCM_AVI: Case = Case {
    fixture: "ima_adpcm.avi",
    codec: "adpcm_ima_wav",
    original_frames: None,
    ..S16_AVI
};
const MS_ADPCM_AVI: Case = Case {
    fixture: "ms_adpcm.avi",
    codec: "adpcm_ms",
    ..IMA_ADPCM_AVI
};
/// What ffmpeg writes as `A_MS/ACM` in Matroska (a WAVEFORMATEX as the codec private data):
/// bit-exact against ffmpeg's decode, as the same codecs in WAV and AVI.
const MS_ADPCM_MKA: Case = Case {
    fixture: "ms_adpcm.mka",
    container: "matroska",
    ..MS_ADPCM_AVI
};
const IMA_ADPCM_MKA: Case = Case {
    fixture: "ima_adpcm.mka",
    container: "matroska",
    ..IMA_ADPCM_AVI
};
const ALAW_MKA: Case = Case {
    fixture: "alaw.mka",
    container: "matroska",
    ..WAV_ALAW
};
const MULAW_MKA: Case = Case {
    fixture: "mulaw.mka",
    container: "matroska",
    ..WAV_MULAW
};
const G722_MKA: Case = Case {
    fixture: "g722.mka",
    container: "matroska",
    ..WAV_G722
};
const GSM_MKA: Case = Case {
    fixture: "gsm.mka",
    container: "matroska",
    ..WAV_GSM
};
/// Yamaha ADPCM, which the decodebin chain does not play (`wavparse` has no caps for it). Its
/// noise fills the band, where the two resamplers differ most (44 dB measured).
const WAV_YAMAHA_ADPCM: Case = Case {
    original_frames: None,
    min_snr_48k_mono: 38.0,
    ..pcm_case(
        "yamaha_adpcm.wav",
        "wave",
        "adpcm_yamaha",
        Quality::BitExact,
        None,
    )
};
const YAMAHA_ADPCM_AVI: Case = Case {
    fixture: "yamaha_adpcm.avi",
    container: "avi",
    ..WAV_YAMAHA_ADPCM
};
const WAV_YAMAHA_ADPCM_MONO: Case = Case {
    fixture: "yamaha_adpcm_mono.wav",
    ..WAV_YAMAHA_ADPCM
};
const WAV_GSM_SOX: Case = Case {
    fixture: "gsm_sox.wav",
    ..WAV_GSM
};
/// Apple's IMA ADPCM, which symphonia's MP4 reader leaves unnamed (ours decodes it: symphonia's
/// codec rounds as IMA's WAV decoders do, not as Apple's), and GSM in QuickTime. The last
/// block is padded out.
const IMA4_MOV: Case = Case {
    original_frames: None,
    ..pcm_case(
        "ima4.mov",
        "isomp4",
        "adpcm_ima_qt",
        Quality::BitExact,
        None,
    )
};
const IMA4_AIFF: Case = Case {
    fixture: "ima4.aiff",
    container: "aiff",
    ..IMA4_MOV
};
/// At 8 kHz ADPCM's noise fills the band up to 4 kHz, where the two resamplers' filters differ
/// most (measured 42.5 dB).
const IMA4_MONO_AIFF: Case = Case {
    fixture: "ima4_mono.aiff",
    min_snr_48k_mono: 38.0,
    ..IMA4_AIFF
};
const IMA4_CAF: Case = Case {
    fixture: "ima4.caf",
    container: "caf",
    ..IMA4_MOV
};
const GSM_MOV: Case = Case {
    fixture: "gsm.mov",
    container: "isomp4",
    codec: "gsm",
    ..WAV_GSM
};
/// The telephony codecs in AVI, as in WAV.
const G722_AVI: Case = Case {
    fixture: "g722.avi",
    container: "avi",
    ..WAV_G722
};
const GSM_AVI: Case = Case {
    fixture: "gsm.avi",
    container: "avi",
    ..WAV_GSM
};
const AAC_AVI: Case = Case {
    fixture: "aac.avi",
    container: "avi",
    ..AAC_ADTS
};
/// Opus in an MPEG transport stream (ffmpeg's muxer; GStreamer's `mpegtsmux` below): the access
/// units' control headers trim the pre-skip and the end padding, which ffmpeg's decode of the
/// transport stream keeps; the same packets in Ogg are the reference.
const OPUS_TS: Case = Case {
    fixture: "opus.ts",
    container: "mpegts",
    reference: Some("opus.ogg"),
    ..OPUS_OGG
};
const OPUS_5_1_TS: Case = Case {
    fixture: "opus_5.1.ts",
    reference: Some("opus_5.1.ogg"),
    ..OPUS_TS
};
const OPUS_MPEGTSMUX_TS: Case = Case {
    fixture: "opus_mpegtsmux.ts",
    ..OPUS_TS
};
/// Fragmented MP4 (empty moov, then moof/mdat pairs), as media-source pipelines write it.
/// ffmpeg writes no edit list into its empty moov: the priming and padding stay, in ffmpeg's
/// decode as in ours (131 × 1024 frames).
const AAC_MP4_FRAGMENTED: Case = Case {
    fixture: "aac_fragmented.mp4",
    length: Length::Reference,
    original_frames: None,
    ..AAC_M4A
};
/// The same in fragments of a second (three moof/mdat pairs).
const AAC_MP4_FRAGMENTED_1S: Case = Case {
    fixture: "aac_fragmented_1s.mp4",
    ..AAC_MP4_FRAGMENTED
};
/// ALAC in M4A with the index last: lossless.
const ALAC_M4A_MOOV_END: Case = Case {
    fixture: "alac_moov_end.m4a",
    container: "isomp4",
    codec: "alac",
    quality: Quality::BitExact,
    length: Length::Reference,
    original_frames: Some(F),
    min_snr_48k_mono: 65.0,
    reference: None,
};

/// 5.1 Opus (mapping family 1) through libopus's multistream decoder: kept as 6 channels in
/// WAVE order with mask 0x3F (ffmpeg's 5.1 order is the same), or downmixed.
const OPUS_5_1_OGG: Case = Case {
    fixture: "opus_5.1.ogg",
    ..OPUS_OGG
};
const OPUS_5_1_WEBM: Case = Case {
    fixture: "opus_5.1.webm",
    ..OPUS_WEBM
};
/// 7.1: Vorbis order FL FC FR SL SR RL RR LFE, out in WAVE order (also ffmpeg's 7.1 order).
const OPUS_7_1_OGG: Case = Case {
    fixture: "opus_7.1.ogg",
    ..OPUS_OGG
};
/// Stereo Opus whose OpusHead names mapping family 1 (with its own mapping table) or 255 (no
/// speakers assigned): symphonia's Ogg reader refused family 255 outright and the decoder both
/// ("only channel mapping families 0 and 1", "mapping family 1 needs 1 to 8 channels").
const OPUS_FAMILY1_OGG: Case = Case {
    fixture: "opus_family1.ogg",
    ..OPUS_OGG
};
const OPUS_FAMILY1_WEBM: Case = Case {
    fixture: "opus_family1.webm",
    ..OPUS_WEBM
};
/// WebM Opus whose CodecPrivate (the OpusHead) is missing: the pre-skip comes from the track's
/// CodecDelay. Before: 312 frames of pre-roll too many.
const OPUS_WEBM_NO_CODEC_PRIVATE: Case = Case {
    fixture: "opus_no_codec_private.webm",
    reference: Some("opus.webm"),
    ..OPUS_WEBM
};
const OPUS_FAMILY255_OGG: Case = Case {
    fixture: "opus_family255.ogg",
    ..OPUS_OGG
};
const OPUS_FAMILY255_WEBM: Case = Case {
    fixture: "opus_family255.webm",
    ..OPUS_WEBM
};
/// 5.1 Vorbis: symphonia's decoder puts the channels in WAVE order itself.
const VORBIS_5_1_OGG: Case = Case {
    fixture: "vorbis_5.1.ogg",
    ..VORBIS_OGG
};

macro_rules! format_tests {
    ($($keep:ident, $default:ident => $case:expr;)*) => {
        $(
            #[test]
            fn $keep() {
                check_keep(&$case);
            }

            #[test]
            fn $default() {
                check_default(&$case);
            }
        )*
    };
}

/// HE-AAC and multichannel AAC need FDK AAC; a build without it says so (see `tests/element.rs`).
#[cfg(feature = "fdk-aac")]
mod fdk_aac {
    use super::*;

    /// HE-AAC (SBR) from FDK AAC, in ADTS: a 22.05 kHz core whose SBR data, signalled only inside
    /// the frames, doubles the rate to 44.1 kHz. Decoded by FDK here and by ffmpeg's own decoder
    /// for the reference (a build without FDK gives 22.05 kHz without the upper band). SBR rebuilds
    /// the upper band from envelopes and noise, and the two decoders do it in fixed and floating
    /// point: they agree to 64-81 dB at 44.1 kHz, 52-67 dB after the two resamplers (which treat the
    /// rebuilt band up to 20 kHz differently). A frame out of place or a wrong rate is below 20 dB.
    const HE_AAC_ADTS: Case = Case {
        fixture: "he_aac.aac",
        container: "aac",
        codec: "aac",
        quality: Quality::Snr(55.0),
        length: Length::Reference,
        original_frames: None,
        min_snr_48k_mono: 45.0,
        reference: None,
    };
    /// 5.1 AAC-LC (channel configuration 6), which symphonia refuses ("aac too complex"): FDK
    /// decodes it, in fixed point to 16 bits, and agrees with ffmpeg's float decoder to 72-75 dB
    /// (up to 90 LSB in the first two frames). Out in WAVE order with mask 0x3f, as ffmpeg's.
    const AAC_5_1_ADTS: Case = Case {
        fixture: "aac_5.1.aac",
        quality: Quality::Snr(65.0),
        ..AAC_ADTS
    };
    const AAC_5_1_M4A: Case = Case {
        fixture: "aac_5.1.m4a",
        quality: Quality::Snr(65.0),
        ..AAC_M4A
    };
    /// Quad AAC-LC in M4A: four channels have no standard AAC configuration, so ffmpeg writes
    /// a program config element (two front, two back); FDK reads it, and the speakers come out
    /// as it says (mask 0x33, not the centre channels the count alone would give).
    const AAC_QUAD_PCE_M4A: Case = Case {
        fixture: "aac_quad_pce.m4a",
        quality: Quality::Snr(65.0),
        ..AAC_M4A
    };
    /// The quad in ADTS: channel configuration 0 in every header, the layout in a program
    /// config element at the start of the frames. symphonia's reader passes no channel count;
    /// FDK's own ADTS parser reads the PCE.
    const AAC_QUAD_PCE_ADTS: Case = Case {
        fixture: "aac_quad_pce.aac",
        quality: Quality::Snr(65.0),
        ..AAC_ADTS
    };
    /// Stereo described by a PCE rather than channel configuration 2: FDK in fixed point
    /// against ffmpeg's float decoder.
    const AAC_PCE_STEREO_ADTS: Case = Case {
        fixture: "aac_pce_stereo.aac",
        quality: Quality::Snr(65.0),
        ..AAC_ADTS
    };
    const HE_AAC_MONO_ADTS: Case = Case {
        fixture: "he_aac_mono.aac",
        ..HE_AAC_ADTS
    };
    /// HE-AACv2 (SBR + PS): a mono 22.05 kHz core that decodes to 44.1 kHz stereo.
    const HE_AAC_V2_ADTS: Case = Case {
        fixture: "he_aac_v2.aac",
        ..HE_AAC_ADTS
    };
    /// HE-AAC in LOAS/LATM: FDK's ADTS frames remuxed by ffmpeg (SBR signalled inside the
    /// frames), and FDK's raw frames whose AudioSpecificConfig signals SBR explicitly (object
    /// type 5, core rate and output rate); HE-AACv2 in an MPEG transport stream.
    const HE_AAC_LOAS: Case = Case {
        fixture: "he_aac.loas",
        container: "loas",
        ..HE_AAC_ADTS
    };
    const HE_AAC_EXPLICIT_LOAS: Case = Case {
        fixture: "he_aac_explicit.loas",
        container: "loas",
        ..HE_AAC_ADTS
    };
    const HE_AAC_FLV: Case = Case {
        fixture: "he_aac.flv",
        container: "flv",
        ..HE_AAC_ADTS
    };
    const HE_AAC_V2_LATM_TS: Case = Case {
        fixture: "he_aac_v2_latm.ts",
        container: "loas",
        ..HE_AAC_ADTS
    };
    /// mp4mux's edit list gives the duration in milliseconds (3065 ms): one frame fewer than the
    /// 66 whole frames ffmpeg outputs.
    const HE_AAC_M4A: Case = Case {
        fixture: "he_aac.m4a",
        container: "isomp4",
        length: Length::ReferenceMinusAtEnd(1),
        ..HE_AAC_ADTS
    };
    const HE_AAC_V2_M4A: Case = Case {
        fixture: "he_aac_v2.m4a",
        ..HE_AAC_M4A
    };

    /// AAC-LD and AAC-ELD (low delay, 512-sample frames) from FDK's encoder in MP4, which
    /// FDK decodes from the AudioSpecificConfig; ffmpeg's own decoder is the reference.
    const AAC_LD_M4A: Case = Case {
        fixture: "aac_ld.m4a",
        container: "isomp4",
        codec: "aac",
        quality: Quality::Snr(60.0),
        length: Length::Reference,
        original_frames: None,
        min_snr_48k_mono: 45.0,
        reference: None,
    };
    const AAC_ELD_M4A: Case = Case {
        fixture: "aac_eld.m4a",
        ..AAC_LD_M4A
    };
    format_tests! {
        keep_he_aac_adts, default_he_aac_adts => HE_AAC_ADTS;
        keep_he_aac_mono_adts, default_he_aac_mono_adts => HE_AAC_MONO_ADTS;
        keep_he_aac_v2_adts, default_he_aac_v2_adts => HE_AAC_V2_ADTS;
        keep_he_aac_m4a, default_he_aac_m4a => HE_AAC_M4A;
        keep_he_aac_v2_m4a, default_he_aac_v2_m4a => HE_AAC_V2_M4A;
        keep_aac_5_1_adts, default_aac_5_1_adts => AAC_5_1_ADTS;
        keep_aac_5_1_m4a, default_aac_5_1_m4a => AAC_5_1_M4A;
        keep_aac_quad_pce_m4a, default_aac_quad_pce_m4a => AAC_QUAD_PCE_M4A;
        keep_aac_quad_pce_adts, default_aac_quad_pce_adts => AAC_QUAD_PCE_ADTS;
        keep_aac_pce_stereo_adts, default_aac_pce_stereo_adts => AAC_PCE_STEREO_ADTS;
        keep_aac_ld_m4a, default_aac_ld_m4a => AAC_LD_M4A;
        keep_aac_eld_m4a, default_aac_eld_m4a => AAC_ELD_M4A;
        keep_he_aac_loas, default_he_aac_loas => HE_AAC_LOAS;
        keep_he_aac_flv, default_he_aac_flv => HE_AAC_FLV;
        keep_he_aac_explicit_loas, default_he_aac_explicit_loas => HE_AAC_EXPLICIT_LOAS;
        keep_he_aac_v2_latm_ts, default_he_aac_v2_latm_ts => HE_AAC_V2_LATM_TS;
    }
}

format_tests! {
    keep_mp3_cbr, default_mp3_cbr => MP3_CBR;
    keep_mp3_vbr, default_mp3_vbr => MP3_VBR;
    keep_mp2, default_mp2 => MP2;
    keep_aac_adts, default_aac_adts => AAC_ADTS;
    keep_aac_m4a, default_aac_m4a => AAC_M4A;
    keep_vorbis_ogg, default_vorbis_ogg => VORBIS_OGG;
    keep_opus_ogg, default_opus_ogg => OPUS_OGG;
    keep_opus_webm, default_opus_webm => OPUS_WEBM;
    keep_opus_mp4, default_opus_mp4 => OPUS_MP4;
    keep_opus_mp4_no_edit_list, default_opus_mp4_no_edit_list => OPUS_MP4_NO_EDIT_LIST;
    keep_opus_webm_clusters, default_opus_webm_clusters => OPUS_WEBM_CLUSTERS;
    keep_opus_webm_streamable, default_opus_webm_streamable => OPUS_WEBM_STREAMABLE;
    keep_opus_webm_mkvmerge, default_opus_webm_mkvmerge => OPUS_WEBM_MKVMERGE;
    keep_vorbis_mka, default_vorbis_mka => VORBIS_MKA;
    keep_flac, default_flac => FLAC;
    keep_flac_24bit, default_flac_24bit => FLAC_24;
    keep_wavpack, default_wavpack => WAVPACK;
    keep_wavpack_8bit, default_wavpack_8bit => WAVPACK_8;
    keep_wavpack_24bit, default_wavpack_24bit => WAVPACK_24;
    keep_wavpack_32bit, default_wavpack_32bit => WAVPACK_32;
    keep_wavpack_float, default_wavpack_float => WAVPACK_FLOAT;
    keep_wavpack_5_1, default_wavpack_5_1 => WAVPACK_5_1;
    keep_wavpack_hybrid, default_wavpack_hybrid => WAVPACK_HYBRID;
    keep_tta, default_tta => TTA;
    keep_tta8, default_tta8 => TTA_8;
    keep_tta24, default_tta24 => TTA_24;
    keep_tta_mono, default_tta_mono => TTA_MONO;
    keep_tta_mka, default_tta_mka => TTA_MKA;
    keep_tta_mkvmerge, default_tta_mkvmerge => TTA_MKVMERGE;
    keep_tta_24_mka, default_tta_24_mka => TTA_24_MKA;
    keep_tta_5_1, default_tta_5_1 => TTA_5_1;
    keep_ape, default_ape => APE;
    keep_ac3, default_ac3 => AC3;
    keep_ac3_96k, default_ac3_96k => AC3_96K;
    keep_ac3_mono_48k, default_ac3_mono_48k => AC3_MONO_48K;
    keep_ac3_5_1, default_ac3_5_1 => AC3_5_1;
    keep_ac3_mka, default_ac3_mka => AC3_MKA;
    keep_ac3_m4a, default_ac3_m4a => AC3_M4A;
    keep_ac3_ts, default_ac3_ts => AC3_TS;
    keep_eac3, default_eac3 => EAC3;
    keep_eac3_64k, default_eac3_64k => EAC3_64K;
    keep_eac3_mono_32k, default_eac3_mono_32k => EAC3_MONO_32K;
    keep_eac3_5_1, default_eac3_5_1 => EAC3_5_1;
    keep_eac3_mka, default_eac3_mka => EAC3_MKA;
    keep_eac3_ts, default_eac3_ts => EAC3_TS;
    keep_eac3_mp4, default_eac3_mp4 => EAC3_MP4;
    keep_ape_extra_high, default_ape_extra_high => APE_EXTRA_HIGH;
    keep_ape8, default_ape8 => APE_8;
    keep_wavpack_mka, default_wavpack_mka => WAVPACK_MKA;
    keep_wavpack_5_1_mka, default_wavpack_5_1_mka => WAVPACK_5_1_MKA;
    keep_flac_ogg, default_flac_ogg => FLAC_OGG;
    keep_flac_8bit, default_flac_8bit => FLAC_8;
    keep_wav_u8, default_wav_u8 => WAV_U8;
    keep_wav_s16, default_wav_s16 => WAV_S16;
    keep_wav_s24, default_wav_s24 => WAV_S24;
    keep_wav_s32, default_wav_s32 => WAV_S32;
    keep_wav_f32, default_wav_f32 => WAV_F32;
    keep_wav_alaw, default_wav_alaw => WAV_ALAW;
    keep_wav_mulaw, default_wav_mulaw => WAV_MULAW;
    keep_wav_ima_adpcm, default_wav_ima_adpcm => WAV_IMA_ADPCM;
    keep_mp3_in_wav, default_mp3_in_wav => MP3_IN_WAV;
    keep_wav_ms_adpcm, default_wav_ms_adpcm => WAV_MS_ADPCM;
    keep_wav_extensible_5_1, default_wav_extensible_5_1 => WAV_EXTENSIBLE_5_1;
    keep_wav_streaming, default_wav_streaming => WAV_STREAMING;
    keep_aiff, default_aiff => AIFF;
    keep_aac_m4a_moov_end, default_aac_m4a_moov_end => AAC_M4A_MOOV_END;
    keep_aac_mp4_video_first, default_aac_mp4_video_first => AAC_MP4_VIDEO_FIRST;
    keep_opus_ogg_skeleton, default_opus_ogg_skeleton => OPUS_OGG_SKELETON;
    keep_opus_ogg_skeleton_first, default_opus_ogg_skeleton_first => OPUS_OGG_SKELETON_FIRST;
    keep_opus_ogg_id3v2, default_opus_ogg_id3v2 => OPUS_OGG_ID3V2;
    keep_vorbis_ogv_video_first, default_vorbis_ogv_video_first => VORBIS_OGV_VIDEO_FIRST;
    keep_aac_ts, default_aac_ts => AAC_TS;
    keep_opus_ogg_long_preskip, default_opus_ogg_long_preskip => OPUS_OGG_LONG_PRESKIP;
    keep_aac_ts_cut, default_aac_ts_cut => AAC_TS_CUT;
    keep_aac_loas, default_aac_loas => AAC_LOAS;
    keep_aac_latm_ts, default_aac_latm_ts => AAC_LATM_TS;
    keep_mp3_ts, default_mp3_ts => MP3_TS;
    keep_aac_flv, default_aac_flv => AAC_FLV;
    keep_mp3_avi, default_mp3_avi => MP3_AVI;
    keep_s16_avi, default_s16_avi => S16_AVI;
    keep_ac3_avi, default_ac3_avi => AC3_AVI;
    keep_aac_avi, default_aac_avi => AAC_AVI;
    keep_ima_adpcm_avi, default_ima_adpcm_avi => IMA_ADPCM_AVI;
    keep_ms_adpcm_avi, default_ms_adpcm_avi => MS_ADPCM_AVI;
    keep_g722_avi, default_g722_avi => G722_AVI;
    keep_wav_gsm_sox, default_wav_gsm_sox => WAV_GSM_SOX;
    keep_wav_yamaha_adpcm, default_wav_yamaha_adpcm => WAV_YAMAHA_ADPCM;
    keep_wav_yamaha_adpcm_mono, default_wav_yamaha_adpcm_mono => WAV_YAMAHA_ADPCM_MONO;
    keep_yamaha_adpcm_avi, default_yamaha_adpcm_avi => YAMAHA_ADPCM_AVI;
    keep_ima4_mov, default_ima4_mov => IMA4_MOV;
    keep_ima4_aiff, default_ima4_aiff => IMA4_AIFF;
    keep_ima4_mono_aiff, default_ima4_mono_aiff => IMA4_MONO_AIFF;
    keep_ima4_caf, default_ima4_caf => IMA4_CAF;
    keep_gsm_mov, default_gsm_mov => GSM_MOV;
    keep_gsm_avi, default_gsm_avi => GSM_AVI;
    keep_ms_adpcm_mka, default_ms_adpcm_mka => MS_ADPCM_MKA;
    keep_ima_adpcm_mka, default_ima_adpcm_mka => IMA_ADPCM_MKA;
    keep_alaw_mka, default_alaw_mka => ALAW_MKA;
    keep_mulaw_mka, default_mulaw_mka => MULAW_MKA;
    keep_g722_mka, default_g722_mka => G722_MKA;
    keep_gsm_mka, default_gsm_mka => GSM_MKA;
    keep_mp3_flv, default_mp3_flv => MP3_FLV;
    keep_s16_flv, default_s16_flv => S16_FLV;
    keep_mulaw_8k_flv, default_mulaw_8k_flv => MULAW_8K_FLV;
    keep_opus_ts, default_opus_ts => OPUS_TS;
    keep_opus_5_1_ts, default_opus_5_1_ts => OPUS_5_1_TS;
    keep_opus_mpegtsmux_ts, default_opus_mpegtsmux_ts => OPUS_MPEGTSMUX_TS;
    keep_aac_mp4_fragmented, default_aac_mp4_fragmented => AAC_MP4_FRAGMENTED;
    keep_aac_mp4_fragmented_1s, default_aac_mp4_fragmented_1s => AAC_MP4_FRAGMENTED_1S;
    keep_alac_m4a_moov_end, default_alac_m4a_moov_end => ALAC_M4A_MOOV_END;
    keep_opus_5_1_ogg, default_opus_5_1_ogg => OPUS_5_1_OGG;
    keep_opus_5_1_webm, default_opus_5_1_webm => OPUS_5_1_WEBM;
    keep_opus_7_1_ogg, default_opus_7_1_ogg => OPUS_7_1_OGG;
    keep_opus_family1_ogg, default_opus_family1_ogg => OPUS_FAMILY1_OGG;
    keep_opus_webm_no_codec_private, default_opus_webm_no_codec_private => OPUS_WEBM_NO_CODEC_PRIVATE;
    keep_opus_family1_webm, default_opus_family1_webm => OPUS_FAMILY1_WEBM;
    keep_opus_family255_ogg, default_opus_family255_ogg => OPUS_FAMILY255_OGG;
    keep_opus_family255_webm, default_opus_family255_webm => OPUS_FAMILY255_WEBM;
    keep_vorbis_5_1_ogg, default_vorbis_5_1_ogg => VORBIS_5_1_OGG;
    keep_rf64, default_rf64 => RF64;
    keep_bw64, default_bw64 => BW64;
    keep_wave64, default_wave64 => WAVE64;
    keep_rifx_s16, default_rifx_s16 => RIFX_S16;
    keep_rifx_s24, default_rifx_s24 => RIFX_S24;
    keep_aifc_sowt, default_aifc_sowt => AIFC_SOWT;
    keep_aiff_s24, default_aiff_s24 => AIFF_S24;
    keep_aifc_f32, default_aifc_f32 => AIFC_F32;
    keep_caf_s16, default_caf_s16 => CAF_S16;
    keep_caf_s24, default_caf_s24 => CAF_S24;
    keep_caf_f32, default_caf_f32 => CAF_F32;
    keep_caf_alaw, default_caf_alaw => CAF_ALAW;
    keep_au_s16, default_au_s16 => AU_S16;
    keep_au_f32, default_au_f32 => AU_F32;
    keep_au_mulaw, default_au_mulaw => AU_MULAW;
    keep_au_s24, default_au_s24 => AU_S24;
    keep_wav_g722, default_wav_g722 => WAV_G722;
    keep_wav_gsm, default_wav_gsm => WAV_GSM;
    keep_wav_s12, default_wav_s12 => WAV_S12;
    keep_wav_s20, default_wav_s20 => WAV_S20;
    keep_wav_s24_in_32, default_wav_s24_in_32 => WAV_S24_IN_32;
    keep_wav_alaw_fmt16, default_wav_alaw_fmt16 => WAV_ALAW_FMT16;
    keep_wav_mulaw_fmt20, default_wav_mulaw_fmt20 => WAV_MULAW_FMT20;
    keep_wav_list_long, default_wav_list_long => WAV_LIST_LONG;
    keep_wav_list_short, default_wav_list_short => WAV_LIST_SHORT;
    keep_wav_list_unpadded, default_wav_list_unpadded => WAV_LIST_UNPADDED;
}

/// The fixtures are what the tests claim: WAVE_FORMAT_EXTENSIBLE where expected, plain tags
/// elsewhere, the streaming WAV has both sizes at 0xFFFFFFFF, the FLAC files have the intended
/// bit depth, and the signal is not silence.
/// Four channels with no speakers assigned (mapping family 255) in Ogg, each a different
/// signal: symphonia's reader refuses the stream, so its first page is relabelled
/// (`container::ogg_opus`) and the decoder gets the real OpusHead. The channels come out in the
/// stream's order, as GStreamer's opusdec gives them (the reference here: ffmpeg 5.1 mixes such
/// channels up), also in 1000-byte pushes.
#[test]
fn opus_family_255_keeps_unassigned_channels_in_order() {
    let path = fixture("opus_family255_4ch.ogg");
    let reference = gst_reference(&path, "decodebin");
    let bytes = std::fs::read(&path).unwrap();
    for chunking in [Chunking::Whole, Chunking::Fixed(1000)] {
        let decoded = decode_with_element(&bytes, &keep_props(), chunking);
        decoded.assert_well_formed(48_000, 4);
        let cmp = compare(&reference, &decoded.samples, 4);
        println!("opus_family255_4ch.ogg {chunking:?}: {cmp}");
        assert_eq!(decoded.frames(), SOURCE_FRAMES_48K);
        assert!(cmp.same_length(), "{cmp}");
        assert!(cmp.snr_db > 100.0, "{cmp}");
    }
}

#[test]
fn fixtures_are_what_the_tests_claim() {
    for (name, tag) in [
        ("u8.wav", 1),
        ("s16.wav", 1),
        ("s24.wav", 0xFFFE),
        ("s32.wav", 0xFFFE),
        ("f32.wav", 0xFFFE),
        ("alaw.wav", 6),
        ("mulaw.wav", 7),
        ("ms_adpcm.wav", 2),
        ("ima_adpcm.wav", 0x11),
        ("mp3_in.wav", 0x55),
        ("s16_5.1.wav", 0xFFFE),
        ("s16_streaming.wav", 1),
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        assert_eq!(wav_format_tag(&bytes), tag, "{name}");
    }
    let bytes = std::fs::read(fixture("s16_streaming.wav")).unwrap();
    assert_eq!(&bytes[4..8], &[0xFF; 4]);
    let chunks = wav_chunks(&bytes);
    let data = chunks.iter().find(|(_, id, _)| id == b"data").unwrap();
    assert_eq!(data.2, u32::MAX);

    for (name, bits) in [
        ("flac.flac", "16"),
        ("flac.oga", "16"),
        ("flac24.flac", "24"),
    ] {
        assert_eq!(
            probe_stream_entry(&fixture(name), "bits_per_raw_sample"),
            bits,
            "{name}"
        );
    }

    // Loud enough, and left and right differ.
    let reference = reference(&fixture("s16.wav"), None, None);
    assert_eq!(reference.frames(), F);
    let peak = reference
        .samples
        .iter()
        .map(|s| s.unsigned_abs())
        .max()
        .unwrap();
    assert!(peak > 16_000, "peak {peak}");
    let (left, right): (Vec<i16>, Vec<i16>) = reference
        .samples
        .chunks_exact(2)
        .map(|f| (f[0], f[1]))
        .unzip();
    assert!(snr_db(&left, &right) < 3.0, "left and right too similar");
}

// ---------------------------------------------------------------------------------------------
// Chunking invariance
// ---------------------------------------------------------------------------------------------

/// The same file pushed in 1-byte, 7-byte, 4096-byte, random-size and whole buffers gives
/// bit-identical PCM (default properties: resampling to 48 kHz mono is part of the path).
fn check_chunking_invariance(
    name: &str,
    props: &[(&str, gst::glib::SendValue)],
    rate: u32,
    channels: u32,
) {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let whole = decode_with_element(&bytes, props, Chunking::Whole);
    whole.assert_well_formed(rate, channels);
    println!(
        "[chunking] {name}: whole: {} frames in {} buffers",
        whole.frames(),
        whole.buffers.len()
    );
    for chunking in [
        Chunking::Fixed(1),
        Chunking::Fixed(7),
        Chunking::Fixed(4096),
        Chunking::Random { seed: 1, max: 3000 },
        Chunking::Random {
            seed: 0xdecade,
            max: 20_000,
        },
    ] {
        let decoded = decode_with_element(&bytes, props, chunking);
        println!(
            "[chunking] {name}: {chunking:?}: {} frames in {} buffers",
            decoded.frames(),
            decoded.buffers.len()
        );
        decoded.assert_well_formed(rate, channels);
        assert_eq!(
            decoded.frames(),
            whole.frames(),
            "{chunking:?}: length differs"
        );
        let cmp = compare(&whole.samples, &decoded.samples, channels);
        assert!(
            cmp.bit_exact(),
            "{chunking:?} differs from whole-buffer decoding: {cmp}"
        );
    }
}

#[test]
fn chunking_invariance_mp3() {
    check_chunking_invariance("mp3_cbr.mp3", &[], 48_000, 1);
}

#[test]
fn chunking_invariance_mp3_keep() {
    check_chunking_invariance("mp3_vbr.mp3", &keep_props(), 44_100, 2);
}

/// True Audio in Matroska whose length is no whole number of milliseconds: the segment states
/// its duration to the millisecond (ffmpeg rounds it there), so the last frame's length comes
/// from its bits. ffmpeg's own decode of the Matroska file loses that frame.
#[test]
fn tta_in_matroska_ends_where_its_last_frame_does() {
    let tta = decode_fixture("tta_odd.tta", &keep_props(), Chunking::Whole);
    assert_eq!(tta.frames(), 100_003);
    for chunking in [Chunking::Whole, Chunking::Fixed(7)] {
        let bytes = std::fs::read(fixture("tta_odd.mka")).unwrap();
        let mka = decode_with_element(&bytes, &keep_props(), chunking);
        assert!(
            mka.warnings.is_empty() && mka.errors.is_empty(),
            "{:?}",
            mka.errors
        );
        let cmp = compare(&tta.samples, &mka.samples, 2);
        assert!(cmp.bit_exact(), "{chunking:?}: {cmp}");
    }
    let ffmpeg = reference(&fixture("tta_odd.mka"), None, None);
    println!(
        "[tta] 100003 frames in Matroska: ours 100003, ffmpeg {}",
        ffmpeg.frames()
    );
}

/// Speex in Matroska (`A_MS/ACM`, which symphonia's reader leaves unnamed; the decodebin chain
/// fails on it too): the samples of the same packets in Ogg, which are bit-exact against
/// libspeex (`speex_ogg_matches_libspeex`). Ogg's last granule position trims the end, which
/// Matroska does not say: at most one packet more.
#[test]
fn speex_in_matroska_decodes_like_its_ogg() {
    let ogg = decode_fixture("speex.ogg", &keep_props(), Chunking::Whole);
    for chunking in [Chunking::Whole, Chunking::Fixed(7)] {
        let mka = decode_fixture("speex.mka", &keep_props(), chunking);
        mka.assert_well_formed(16_000, 1);
        assert!(mka.errors.is_empty(), "{:?}", mka.errors);
        let extra = mka.frames() - ogg.frames();
        println!(
            "[speex] Matroska {} frames, Ogg {} ({chunking:?})",
            mka.frames(),
            ogg.frames()
        );
        assert!(extra < 320, "{extra} frames more than the Ogg file");
        assert!(mka.samples[..ogg.samples.len()] == ogg.samples[..]);
    }
}

/// Coded blocks that pieces cut anywhere: GSM's 65 bytes, stereo `ima4`'s 68 in AIFF-C and
/// QuickTime, Yamaha ADPCM's stereo bytes.
#[test]
fn chunking_invariance_coded_blocks() {
    check_chunking_invariance("gsm.wav", &keep_props(), 8000, 1);
    check_chunking_invariance("ima4.aiff", &keep_props(), 44_100, 2);
    check_chunking_invariance("ima4.mov", &keep_props(), 44_100, 2);
    check_chunking_invariance("yamaha_adpcm.wav", &[], 48_000, 1);
    check_chunking_invariance("tta.mka", &keep_props(), 44_100, 2);
}

#[test]
fn chunking_invariance_opus_ogg() {
    check_chunking_invariance("opus.ogg", &[], 48_000, 1);
}

// ---------------------------------------------------------------------------------------------
// Hints: the `format` property and upstream caps
// ---------------------------------------------------------------------------------------------

fn keep_with(
    extra: &[(&'static str, gst::glib::SendValue)],
) -> Vec<(&'static str, gst::glib::SendValue)> {
    let mut props = keep_props();
    props.extend(extra.iter().cloned());
    props
}

/// Decodes `name` with the given options and checks the PCM equals the unhinted decode.
fn check_same_as_probe(name: &str, options: DecodeOptions, label: &str) {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let (rate, channels) = probe_stream(&fixture(name));
    let probed = decode_with_element(&bytes, &keep_props(), Chunking::Whole);
    probed.assert_well_formed(rate, channels);
    let hinted = decode_with_options(&bytes, &options);
    let cmp = compare(&probed.samples, &hinted.samples, channels);
    println!("[hint] {name} {label} ({:?}): {cmp}", options.chunking);
    hinted.assert_well_formed(rate, channels);
    assert!(
        cmp.bit_exact(),
        "{label}: differs from the probed decode: {cmp}"
    );
}

#[test]
fn hint_format_mp3_on_mp3() {
    let options = DecodeOptions::new(
        &keep_with(&[("format", "mp3".to_send_value())]),
        Chunking::Whole,
    );
    check_same_as_probe("mp3_cbr.mp3", options, "format=mp3");
}

#[test]
fn hint_format_wav_mime_with_codecs_on_wav() {
    let path = fixture("s16.wav");
    let bytes = std::fs::read(&path).unwrap();
    let reference = reference(&path, None, None);
    for chunking in [Chunking::Whole, Chunking::Fixed(100)] {
        let decoded = decode_with_element(
            &bytes,
            &keep_with(&[("format", "audio/wav; codecs=1".to_send_value())]),
            chunking,
        );
        decoded.assert_well_formed(reference.rate, reference.channels);
        let cmp = compare(&reference.samples, &decoded.samples, reference.channels);
        println!("[hint] s16.wav format=\"audio/wav; codecs=1\" ({chunking:?}): {cmp}");
        assert!(cmp.bit_exact(), "{cmp}");
    }
}

#[test]
fn hint_wrong_format_flac_on_mp3_falls_back_to_probe() {
    for chunking in [Chunking::Whole, Chunking::Fixed(100), Chunking::Fixed(1)] {
        let options =
            DecodeOptions::new(&keep_with(&[("format", "flac".to_send_value())]), chunking);
        check_same_as_probe("mp3_cbr.mp3", options, "format=flac (wrong)");
    }
}

#[test]
fn hint_wrong_format_wav_on_ogg_opus_falls_back_to_probe() {
    let options = DecodeOptions::new(
        &keep_with(&[("format", "wav".to_send_value())]),
        Chunking::Fixed(512),
    );
    check_same_as_probe("opus.ogg", options, "format=wav (wrong)");
}

/// Sun AU by the `format` property and typefind's caps; an AU file under `audio/basic` (headerless
/// µ-law by RFC 2046, and what web servers call `.au` files) is read by its header; two AU files
/// whose headers state their lengths, back to back, each decode whole.
#[test]
fn au_by_hints_and_back_to_back() {
    for chunking in [Chunking::Whole, Chunking::Fixed(333)] {
        let options = DecodeOptions::new(&keep_with(&[("format", "au".to_send_value())]), chunking);
        check_same_as_probe("s16.au", options, "format=au");
        let options = DecodeOptions::new(&keep_props(), chunking).caps("audio/x-au");
        check_same_as_probe("s16.au", options, "caps audio/x-au");
        let options = DecodeOptions::new(
            &keep_with(&[("format", "audio/basic".to_send_value())]),
            chunking,
        );
        check_same_as_probe("mulaw.au", options, "format=audio/basic");
    }
    let bytes = std::fs::read(fixture("s24.au")).unwrap();
    let clean = decode_with_element(&bytes, &keep_props(), Chunking::Whole);
    let twice = decode_with_element(
        &[&bytes[..], &bytes[..]].concat(),
        &keep_props(),
        Chunking::Fixed(1000),
    );
    assert!(
        twice.warnings.is_empty() && twice.errors.is_empty(),
        "{:?}",
        twice.warnings
    );
    assert!(twice.samples == [&clean.samples[..], &clean.samples[..]].concat());
}

/// G.726 as ffmpeg encodes it in WAV, at 24, 32 and 40 kbit/s, and the same codes in Sun AU
/// files: against Sun's reference decoder (sox's G.721/G.723), in any chunking: bit-exact but
/// for one sample one 14-bit step apart.
/// ffmpeg's own G.726 is not that reference (35-42 dB from it at 16-32 kbit/s), so there ffmpeg
/// is only the yardstick for the signal: ours is as close to the encoded signal as ffmpeg's
/// decode is (16 kbit/s, which Sun's code lacks, is held to that alone). At 40 kbit/s ffmpeg's
/// encoder and decoder agree with each other and with nothing else: Sun's decoder and ours
/// make noise of its files (5 dB from the signal, where ffmpeg's decode is 27 dB), and ffmpeg's
/// decoder makes 8 dB of spandsp's encoding of the same signal.
#[test]
fn g726_matches_suns_reference_decoder() {
    let source = reference(&fixture("s16.wav"), Some(8000), Some(1));
    for (kbits, sun) in [("16", false), ("24", true), ("32", true), ("40", true)] {
        let wav = fixture(&format!("g726_{kbits}k.wav"));
        let bytes = std::fs::read(&wav).unwrap();
        let ours = decode_with_element(&bytes, &keep_props(), Chunking::Fixed(7));
        ours.assert_well_formed(8000, 1);
        assert!(ours.warnings.is_empty() && ours.errors.is_empty());
        let ffmpeg = reference(&wav, None, None);
        assert_eq!(
            ours.frames(),
            ffmpeg.frames(),
            "{kbits} kbit/s: ffmpeg's length"
        );
        let ours_to_source = compare(&source.samples, &ours.samples, 1).snr_db;
        let ffmpeg_to_source = compare(&source.samples, &ffmpeg.samples, 1).snr_db;
        println!(
            "[g726] {kbits} kbit/s: against the signal ours {ours_to_source:.2} dB, ffmpeg \
             {ffmpeg_to_source:.2} dB; ours against ffmpeg: {}",
            compare(&ffmpeg.samples, &ours.samples, 1)
        );
        if kbits != "40" {
            assert!(ours_to_source > ffmpeg_to_source - 1.5);
        }
        if sun {
            let au = fixture(&format!("g726_{kbits}k.au"));
            let sun_decode = sox_decode(&au);
            let au_bytes = std::fs::read(&au).unwrap();
            let from_au = decode_with_element(&au_bytes, &keep_props(), Chunking::Fixed(5));
            for (what, samples) in [("WAV", &ours.samples), ("AU", &from_au.samples)] {
                let cmp = compare(&sun_decode, samples, 1);
                println!("[g726] {kbits} kbit/s {what} against Sun's decoder: {cmp}");
                // One step of G.726's 14-bit output at one sample in 24000 at 24 kbit/s
                // (-12004 against -12008), where Sun's code and spandsp round the
                // reconstructed signal differently; the decoder states stay the same.
                assert!(
                    cmp.same_length() && cmp.max_abs_diff <= 4 && cmp.differing_samples <= 2,
                    "{kbits} kbit/s {what} against Sun's decoder: {cmp}"
                );
            }
        }
    }
    // At 48 kHz mono: six times the frames.
    let bytes = std::fs::read(fixture("g726_32k.wav")).unwrap();
    let native = decode_with_element(&bytes, &keep_props(), Chunking::Whole);
    let decoded = decode_with_element(&bytes, &[], Chunking::Whole);
    decoded.assert_well_formed(48_000, 1);
    assert!(decoded.frames().abs_diff(native.frames() * 6) <= 1);
}

/// Telephony codecs without a header, as RTP depayloaders and TTS/voice APIs hand them over:
/// by caps (what `rtpg722depay`, `rtpg726depay`, `rtpgsmdepay` and `wavparse` send) and by the
/// `format` property (RFC 3551 names), each the same samples as the file they came from.
#[test]
fn headerless_telephony_codecs_by_caps_and_format() {
    let samples_of = |name: &str| {
        let bytes = std::fs::read(fixture(name)).unwrap();
        decode_with_element(&bytes, &keep_props(), Chunking::Whole).samples
    };
    let wav_payload = |name: &str| wav_data(&std::fs::read(fixture(name)).unwrap()).to_vec();
    let au_payload = |name: &str| std::fs::read(fixture(name)).unwrap()[24..].to_vec();
    let gsm = std::fs::read(fixture("gsm.gsm")).unwrap();
    let gsm_reference = reference_raw(&fixture("gsm.gsm"), "gsm", 8000, 1).samples;
    let by_caps = [
        (
            "audio/G722, rate=(int)16000, channels=(int)1",
            wav_payload("g722.wav"),
            samples_of("g722.wav"),
        ),
        (
            "audio/x-adpcm, layout=(string)g726, bitrate=(int)32000, rate=(int)8000, channels=(int)1",
            wav_payload("g726_32k.wav"),
            samples_of("g726_32k.wav"),
        ),
        (
            "audio/ms-gsm, rate=(int)8000, channels=(int)1",
            wav_payload("gsm.wav"),
            samples_of("gsm.wav"),
        ),
        (
            "audio/x-gsm, rate=(int)8000, channels=(int)1",
            gsm.clone(),
            gsm_reference.clone(),
        ),
    ];
    for (caps, payload, expected) in by_caps {
        for chunking in [Chunking::Whole, Chunking::Fixed(7)] {
            let options = DecodeOptions::new(&keep_props(), chunking).caps(caps);
            let decoded = decode_with_options(&payload, &options);
            assert!(decoded.errors.is_empty(), "{caps}: {:?}", decoded.errors);
            let cmp = compare(&expected, &decoded.samples, 1);
            assert!(cmp.bit_exact(), "{caps} ({chunking:?}): {cmp}");
        }
    }
    let by_format = [
        ("audio/GSM", gsm, gsm_reference),
        (
            "audio/G722;rate=8000",
            wav_payload("g722.wav"),
            samples_of("g722.wav"),
        ),
        // RFC 3551's bit order is Sun's.
        (
            "audio/G726-32",
            au_payload("g726_32k.au"),
            samples_of("g726_32k.au"),
        ),
        (
            "g726-40",
            au_payload("g726_40k.au"),
            samples_of("g726_40k.au"),
        ),
    ];
    for (format, payload, expected) in by_format {
        let props = keep_with(&[("format", format.to_send_value())]);
        let decoded = decode_with_element(&payload, &props, Chunking::Fixed(100));
        assert!(decoded.errors.is_empty(), "{format}: {:?}", decoded.errors);
        let cmp = compare(&expected, &decoded.samples, 1);
        assert!(cmp.bit_exact(), "{format}: {cmp}");
    }
}

/// LOAS by caps (as `aacparse` and `tsdemux` name it) and by the `format` property; and a LOAS
/// hint on ADTS falls back to the probe.
#[test]
fn hint_loas_by_caps_and_format() {
    for chunking in [Chunking::Whole, Chunking::Fixed(333)] {
        let options = DecodeOptions::new(&keep_props(), chunking)
            .caps("audio/mpeg, mpegversion=(int)4, stream-format=(string)loas");
        check_same_as_probe("aac.loas", options, "caps stream-format=loas");
        let options =
            DecodeOptions::new(&keep_with(&[("format", "loas".to_send_value())]), chunking);
        check_same_as_probe("aac.loas", options, "format=loas");
        let options =
            DecodeOptions::new(&keep_with(&[("format", "latm".to_send_value())]), chunking);
        check_same_as_probe("aac_adts.aac", options, "format=latm (wrong)");
    }
}

#[test]
fn hint_caps_adts_on_adts() {
    for chunking in [Chunking::Whole, Chunking::Fixed(333)] {
        let options = DecodeOptions::new(&keep_props(), chunking)
            .caps("audio/mpeg, mpegversion=(int)4, stream-format=(string)adts");
        check_same_as_probe(
            "aac_adts.aac",
            options,
            "caps audio/mpeg,mpegversion=4,adts",
        );
    }
}

#[test]
fn hint_caps_mpeg1_on_mp3() {
    for chunking in [Chunking::Whole, Chunking::Fixed(333)] {
        let options =
            DecodeOptions::new(&keep_props(), chunking).caps("audio/mpeg, mpegversion=(int)1");
        check_same_as_probe("mp3_vbr.mp3", options, "caps audio/mpeg,mpegversion=1");
    }
}

#[test]
fn hint_caps_wrong_mpeg1_on_flac_falls_back_to_probe() {
    let options = DecodeOptions::new(&keep_props(), Chunking::Fixed(1000))
        .caps("audio/mpeg, mpegversion=(int)1");
    check_same_as_probe(
        "flac.flac",
        options,
        "caps audio/mpeg,mpegversion=1 (wrong)",
    );
}

/// AMR and AMR-WB, in their storage format (`.amr`, RFC 4867) and in 3GP (index last and
/// first): the same samples as GStreamer's `amrnbdec` and `amrwbdec`, which use the same 3GPP
/// reference decoders (opencore-amr), whole and in pieces; and 3 s at 48 kHz mono.
#[test]
fn amr_matches_the_reference_decoders() {
    for (name, rate, demux, decoder, container) in [
        ("amr_nb.amr", 8_000, "amrparse", "amrnbdec", "amr"),
        ("amr_wb.amr", 16_000, "amrparse", "amrwbdec", "amr"),
        ("amr_nb.3gp", 8_000, "qtdemux", "amrnbdec", "isomp4"),
        ("amr_wb.3gp", 16_000, "qtdemux", "amrwbdec", "isomp4"),
    ] {
        let path = fixture(name);
        let reference = gst_reference(&path, &format!("{demux} ! {decoder}"));
        assert_eq!(reference.len(), 3 * rate as usize, "{name}: the reference");
        for chunking in [
            Chunking::Whole,
            Chunking::Fixed(7),
            Chunking::Random { seed: 5, max: 900 },
        ] {
            let kept = decode_fixture(name, &keep_props(), chunking);
            kept.assert_well_formed(rate, 1);
            assert!(kept.warnings.is_empty(), "{name}: {:?}", kept.warnings);
            assert!(
                kept.samples == reference,
                "{name} {chunking:?}: differs from {decoder}"
            );
        }
        assert_eq!(
            detect(&std::fs::read(&path).unwrap()).0,
            container,
            "{name}"
        );
        let at_48k = decode_fixture(name, &[], Chunking::Whole);
        at_48k.assert_well_formed(48_000, 1);
        assert_eq!(at_48k.frames(), 3 * 48_000, "{name}");
    }
}

/// A 3GP with an AMR track and an AAC track: the AMR track counts as the first audio track (it
/// has no codec in symphonia's track list until `container::mp4_amr` names it), `audio-track=1`
/// picks the AAC one, and there is no third.
#[test]
fn amr_tracks_count_among_the_audio_tracks_of_a_3gp() {
    let path = fixture("amr_and_aac.3gp");
    let bytes = std::fs::read(&path).unwrap();
    let amr = gst_reference(&path, "qtdemux name=demux demux.audio_0 ! amrnbdec");
    assert_eq!(amr.len(), 3 * 8_000);
    for props in [keep_props(), {
        let mut props = keep_props();
        props.push(("audio-track", 0u32.to_send_value()));
        props
    }] {
        let decoded = decode_with_element(&bytes, &props, Chunking::Fixed(1000));
        decoded.assert_well_formed(8_000, 1);
        assert!(
            decoded.samples == amr,
            "the AMR track differs from amrnbdec"
        );
    }

    let mut props = keep_props();
    props.push(("audio-track", 1u32.to_send_value()));
    let decoded = decode_with_element(&bytes, &props, Chunking::Fixed(1000));
    decoded.assert_well_formed(44_100, 2);
    // Two float decoders; past the first 0.1 s, as they start the first frame (the encoder's
    // priming, no edit list from this muxer) differently.
    let ffmpeg = reference_track(&path, 1);
    let skip = 2 * 4_410;
    let (lag, snr) = best_lag(&ffmpeg[skip..], &decoded.samples[skip..], 2, 2048);
    assert!(snr > 80.0, "the AAC track: {snr:.1} dB at lag {lag}");

    props.pop();
    props.push(("audio-track", 2u32.to_send_value()));
    let decoded = decode_with_element(&bytes, &props, Chunking::Whole);
    assert_eq!(decoded.errors.len(), 1, "{:?}", decoded.errors);
    assert!(
        decoded.errors[0].contains("but the stream has 2"),
        "{:?}",
        decoded.errors
    );
}

/// Where each WavPack block of `bytes` starts (a file of whole blocks, no tags).
fn wavpack_blocks(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        assert_eq!(&bytes[at..at + 4], b"wvpk", "a block at {at}");
        starts.push(at);
        at += 8 + u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
    }
    starts
}

/// Bytes a reader of ours must refuse: no audio, one ERROR whose text holds every one of
/// `words`.
fn assert_refused_saying(bytes: &[u8], words: &[&str]) {
    let decoded = decode_with_element(bytes, &keep_props(), Chunking::Whole);
    assert!(decoded.samples.is_empty());
    assert_eq!(decoded.errors.len(), 1, "{:?}", decoded.errors);
    assert!(
        words.iter().all(|word| decoded.errors[0].contains(word)),
        "{:?}",
        decoded.errors
    );
}

/// What every file format read by a reader of ours survives: any pieces give the whole-buffer
/// decode; an APEv2 and an ID3v1 tag after the end are not audio; a second file right after
/// the first decodes whole.
fn assert_pieces_tags_and_a_second_file(bytes: &[u8], second: &[u8]) {
    let clean = decode_with_element(bytes, &keep_props(), Chunking::Whole);
    for chunking in [Chunking::Fixed(7), Chunking::Random { seed: 5, max: 3000 }] {
        let pieces = decode_with_element(bytes, &keep_props(), chunking);
        assert!(pieces.warnings.is_empty() && pieces.errors.is_empty());
        assert!(pieces.samples == clean.samples, "{chunking:?}");
    }
    let mut tagged = bytes.to_vec();
    tagged.extend(b"APETAGEX");
    tagged.extend([0u8; 24]);
    tagged.extend(b"TAG");
    tagged.extend([b' '; 125]);
    let decoded = decode_with_element(&tagged, &keep_props(), Chunking::Fixed(4096));
    assert!(decoded.warnings.is_empty() && decoded.errors.is_empty());
    assert!(decoded.samples == clean.samples, "tags at the end");
    let second_clean = decode_with_element(second, &keep_props(), Chunking::Whole);
    let mut sequence = bytes.to_vec();
    sequence.extend(second);
    let decoded = decode_with_element(&sequence, &keep_props(), Chunking::Fixed(4096));
    assert!(
        decoded.warnings.is_empty() && decoded.errors.is_empty(),
        "{:?} {:?}",
        decoded.warnings,
        decoded.errors
    );
    assert!(decoded.samples[..clean.samples.len()] == clean.samples[..]);
    assert!(decoded.samples[clean.samples.len()..] == second_clean.samples[..]);
}

/// Monkey's Audio in any pieces, damaged, cut short, tagged, and files back to back: every frame
/// that can be decoded comes out, each loss is a WARNING.
#[test]
fn ape_survives_pieces_damage_and_tags() {
    let bytes = std::fs::read(fixture("ape.ape")).unwrap();
    let clean = decode_with_element(&bytes, &keep_props(), Chunking::Whole);
    assert_eq!(clean.frames(), SOURCE_FRAMES);
    // Then 8-bit as the second file.
    assert_pieces_tags_and_a_second_file(&bytes, &std::fs::read(fixture("ape8.ape")).unwrap());
    // Frames of 73728 samples (compression levels up to high): 132300 samples are two, the
    // second one 58572 long. The seek table's second entry says where it starts.
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let head = u32_at(8) + u32_at(12);
    let second = u32_at(head + 4);
    let first_samples = 2 * 73_728;

    // Damage inside the second frame: it fails its checksum, a WARNING, the first frame intact.
    let mut damaged = bytes.clone();
    damaged[second + 500..second + 600].fill(0x55);
    let decoded = decode_with_element(&damaged, &keep_props(), Chunking::Fixed(4096));
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert!(!decoded.warnings.is_empty(), "the damage is reported");
    assert!(decoded.samples[..] == clean.samples[..first_samples]);

    // Cut inside the second frame: the first frame, then the end, with a WARNING that the
    // stream ended short of its length.
    let cut = decode_with_element(
        &bytes[..second + 1000],
        &keep_props(),
        Chunking::Fixed(4096),
    );
    assert!(cut.errors.is_empty(), "{:?}", cut.errors);
    assert!(cut.samples[..] == clean.samples[..first_samples]);
}

/// WavPack as a network delivers it: in any pieces, joined late, with damage inside a block and
/// between blocks, with tags at the end, and with its first header broken (the WAV header
/// inside must not play the compressed audio as noise).
#[test]
fn wavpack_survives_pieces_damage_and_tags() {
    let surround = decode_fixture("wavpack_5.1.wv", &keep_props(), Chunking::Whole);
    assert_eq!(surround.frames(), SOURCE_FRAMES);
    for chunking in [Chunking::Fixed(7), Chunking::Random { seed: 3, max: 5000 }] {
        let pieces = decode_fixture("wavpack_5.1.wv", &keep_props(), chunking);
        assert!(pieces.warnings.is_empty(), "{:?}", pieces.warnings);
        assert!(pieces.samples == surround.samples, "{chunking:?}");
    }

    let bytes = std::fs::read(fixture("wavpack.wv")).unwrap();
    let blocks = wavpack_blocks(&bytes);
    let clean = decode_with_element(&bytes, &keep_props(), Chunking::Whole);
    let block_frames = 22_050; // ffmpeg's blocks: half a second
    let block_samples = block_frames * 2;
    assert!(blocks.len() >= 4 && clean.frames() == SOURCE_FRAMES);

    // Joined in the middle of the first block: from the second on, and no complaint. (The
    // next block must start within the 32 KiB the probe looks at.)
    let late = decode_with_element(&bytes[blocks[1] - 5000..], &keep_props(), Chunking::Whole);
    assert!(
        late.errors.is_empty() && late.warnings.is_empty(),
        "{:?} {:?}",
        late.errors,
        late.warnings
    );
    assert!(
        late.samples == clean.samples[block_samples..],
        "joined late"
    );

    // Damage inside the second block: its checksum fails, it is skipped with a WARNING, and
    // every other block comes out as it was.
    let mut damaged = bytes.clone();
    damaged[blocks[1] + 2000..blocks[1] + 2100].fill(0x55);
    let decoded = decode_with_element(&damaged, &keep_props(), Chunking::Fixed(4096));
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert_eq!(decoded.warnings.len(), 1, "{:?}", decoded.warnings);
    assert!(decoded.samples[..block_samples] == clean.samples[..block_samples]);
    let after = clean.samples.len() - 2 * block_samples;
    assert!(
        decoded
            .samples
            .ends_with(&clean.samples[2 * block_samples..])
    );
    assert!(decoded.samples.len() >= block_samples + after);

    // Junk between two blocks: a WARNING, no audio lost.
    let mut junk = bytes.clone();
    junk.splice(blocks[2]..blocks[2], [0x77u8; 50]);
    let decoded = decode_with_element(&junk, &keep_props(), Chunking::Fixed(4096));
    assert_eq!(decoded.warnings.len(), 1, "{:?}", decoded.warnings);
    assert!(decoded.samples == clean.samples, "junk between blocks");

    // An APEv2 tag and an ID3v1 tag at the end, as WavPack's tools write them: not audio.
    let mut tagged = bytes.clone();
    tagged.extend(b"APETAGEX");
    tagged.extend([0u8; 24]);
    tagged.extend(b"TAG");
    tagged.extend([b' '; 125]);
    let decoded = decode_with_element(&tagged, &keep_props(), Chunking::Fixed(4096));
    assert!(decoded.warnings.is_empty() && decoded.errors.is_empty());
    assert!(decoded.samples == clean.samples, "tags at the end");

    // Files back to back, in another format between: each one whole, with new caps for each
    // change of format.
    let mut sequence = bytes.clone();
    sequence.extend(std::fs::read(fixture("wavpack_5.1.wv")).unwrap());
    sequence.extend(&bytes);
    let decoded = decode_with_element(&sequence, &keep_props(), Chunking::Fixed(4096));
    assert!(decoded.warnings.is_empty() && decoded.errors.is_empty());
    let channels: Vec<i32> = decoded
        .caps
        .iter()
        .map(|caps| caps.structure(0).unwrap().get::<i32>("channels").unwrap())
        .collect();
    assert_eq!(channels, [2, 6, 2]);
    let stereo = clean.samples.len();
    assert_eq!(decoded.samples.len(), 2 * stereo + surround.samples.len());
    assert!(decoded.samples[..stereo] == clean.samples[..]);
    assert!(decoded.samples[stereo..stereo + surround.samples.len()] == surround.samples[..]);
    assert!(decoded.samples.ends_with(&clean.samples));

    // DSD (1-bit) audio, which this element does not decode: an ERROR that says so.
    let mut dsd = bytes.clone();
    for &at in &blocks {
        dsd[at + 27] |= 0x80; // the DSD flag, the top bit of the flags
    }
    let decoded = decode_with_element(&dsd, &keep_props(), Chunking::Fixed(4096));
    assert!(
        decoded.errors.len() == 1 && decoded.errors[0].contains("DSD (1-bit) audio"),
        "{:?}",
        decoded.errors
    );

    // A first header that is not one, then a WAV file: an ERROR, and no noise.
    let mut broken = b"wvpk".to_vec();
    broken.extend([0x5a; 28]);
    broken.extend(std::fs::read(fixture("s16.wav")).unwrap());
    let decoded = decode_with_element(&broken, &keep_props(), Chunking::Fixed(1000));
    assert_eq!(decoded.errors.len(), 1, "{:?}", decoded.errors);
    assert!(decoded.samples.is_empty(), "no PCM");
}

/// ffmpeg's decode of `name` with libspeex (its own Speex decoder differs from the reference
/// one), interleaved S16, at the stream's rate and channels unless `rate_channels` says.
fn libspeex_reference(name: &str, rate_channels: Option<(u32, u32)>) -> Vec<i16> {
    let mut cmd = std::process::Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-c:a", "libspeex", "-i"])
        .arg(fixture(name))
        .args(["-f", "s16le", "-acodec", "pcm_s16le"]);
    if let Some((rate, channels)) = rate_channels {
        cmd.args(["-ar", &rate.to_string(), "-ac", &channels.to_string()]);
    }
    let output = cmd.arg("-").output().expect("ffmpeg must be installed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    s16le(&output.stdout)
}

/// Ogg Speex (narrowband stereo with two frames per packet, wideband, ultra-wideband VBR),
/// decoded with libspeex and its perceptual enhancement as GStreamer's `speexdec` and ffmpeg's
/// `libspeex` decoder do: the same samples as ffmpeg's, to the sample and in any chunking, and
/// the same length (the last page's granule position trims the last packet).
#[test]
fn speex_ogg_matches_libspeex() {
    for (name, rate, channels) in [
        ("speex.ogg", 16_000, 1),
        ("speex_nb_stereo.ogg", 8_000, 2),
        ("speex_uwb_vbr.ogg", 32_000, 1),
    ] {
        let reference = libspeex_reference(name, None);
        for chunking in [Chunking::Whole, Chunking::Fixed(97)] {
            let kept = decode_fixture(name, &keep_props(), chunking);
            kept.assert_well_formed(rate, channels);
            assert!(kept.warnings.is_empty(), "{name}: {:?}", kept.warnings);
            assert_eq!(kept.samples.len(), reference.len(), "{name}");
            assert!(kept.samples == reference, "{name}: differs from libspeex");
        }
        let (container, codec) = detect(&std::fs::read(fixture(name)).unwrap());
        assert_eq!(
            (container.as_str(), codec.as_str()),
            ("ogg", "speex"),
            "{name}"
        );
        let at_48k = decode_fixture(name, &[], Chunking::Whole);
        at_48k.assert_well_formed(48_000, 1);
        let reference_48k = libspeex_reference(name, Some((48_000, 1)));
        assert!(
            at_48k.frames().abs_diff(reference_48k.len() as u64) <= 1,
            "{name}: {} frames at 48 kHz, ffmpeg {}",
            at_48k.frames(),
            reference_48k.len()
        );
        // The signal stops at full amplitude (the granule position cuts it), where the two
        // resamplers' flushes differ: compared up to its last 10 ms.
        let interior = reference_48k.len().min(at_48k.samples.len()) - 480;
        let snr = snr_db(&reference_48k[..interior], &at_48k.samples[..interior]);
        println!(
            "{name}: {} frames at {rate} Hz, SNR at 48 kHz mono {snr:.1} dB",
            reference.len() / channels as usize
        );
        // Speex's coding noise reaches Nyquist, where the two resamplers' transition bands
        // differ: the threshold of 8-bit PCM (see `pcm_case`); the samples themselves were
        // compared exactly above.
        assert!(snr > 45.0, "{name}: SNR {snr:.1} dB at 48 kHz");
    }
}

/// The samples libmpcdec's synthesis filter delays its output by, which it trims and ffmpeg's
/// Musepack decoder does not (nor the last frame's padding).
const MUSEPACK_DELAY: u64 = 481;

/// ffmpeg's decode of a Musepack file from its 482nd sample: at the stream's own rate and
/// channels, or resampled and downmixed to 48 kHz mono.
fn musepack_reference(path: &std::path::Path, to_48k_mono: bool) -> Vec<i16> {
    let mut command = std::process::Command::new("ffmpeg");
    command
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-af", &format!("atrim=start_sample={MUSEPACK_DELAY}")]);
    if to_48k_mono {
        command.args(["-ar", "48000", "-ac", "1"]);
    }
    let output = command
        .args(["-f", "s16le", "-acodec", "pcm_s16le", "-"])
        .output()
        .expect("ffmpeg must be installed");
    assert!(
        output.status.success(),
        "ffmpeg failed on {}",
        path.display()
    );
    s16le(&output.stdout)
}

/// Musepack SV8 from its own encoder (`mpcenc`), decoded by libmpcdec's frame decoder behind
/// our reader: the encoded signal's exact length (SV8 is gapless), the same samples as
/// ffmpeg's independent decoder after the synthesis delay, in any pieces.
#[test]
fn musepack_matches_ffmpeg_after_its_synthesis_delay() {
    for (name, rate, channels) in [("mpc.mpc", 44_100, 2), ("mpc_mono_48k.mpc", 48_000, 1)] {
        let path = fixture(name);
        let bytes = std::fs::read(&path).unwrap();
        let (container, codec) = detect(&bytes);
        assert_eq!((container.as_str(), codec.as_str()), ("mpc", "musepack"));
        let ours = decode_with_element(&bytes, &keep_props(), Chunking::Whole);
        ours.assert_well_formed(rate, channels);
        assert!(ours.warnings.is_empty() && ours.errors.is_empty());
        let encoded = u64::from(rate) * SOURCE_SECONDS as u64;
        assert_eq!(ours.frames(), encoded, "{name}: the encoded length");
        let reference = musepack_reference(&path, false);
        let cmp = compare(&reference, &ours.samples, channels);
        let (lag, lag_snr) = best_lag(&reference, &ours.samples, channels, 1200);
        println!(
            "[keep] {name}: ours {} frames, ffmpeg {} after its delay; {cmp}; best lag {lag:+} \
             ({lag_snr:.2} dB)",
            ours.frames(),
            reference.len() / channels as usize
        );
        assert!(cmp.snr_db >= 80.0 && cmp.max_abs_diff <= 1, "{name}: {cmp}");
        for chunking in [Chunking::Fixed(7), Chunking::Random { seed: 5, max: 3000 }] {
            let pieces = decode_with_element(&bytes, &keep_props(), chunking);
            assert!(pieces.warnings.is_empty() && pieces.errors.is_empty());
            assert!(pieces.samples == ours.samples, "{name}: {chunking:?}");
        }

        let default = decode_with_element(&bytes, &[], Chunking::Whole);
        default.assert_well_formed(48_000, 1);
        let expected = rescale_frames(ours.frames(), rate, 48_000);
        assert!(
            default.frames().abs_diff(expected) <= 1,
            "{name}: 48 kHz length"
        );
        let cmp = compare(&musepack_reference(&path, true), &default.samples, 1);
        println!("[48k mono] {name}: {cmp}");
        assert!(cmp.snr_db >= 65.0, "{name} at 48 kHz mono: {cmp}");
    }
}

/// Where each SV8 audio packet (`AP`) of a Musepack file starts.
fn musepack_audio_packets(bytes: &[u8]) -> Vec<usize> {
    let mut at = 4;
    let mut packets = Vec::new();
    while at + 3 <= bytes.len() {
        let key = &bytes[at..at + 2];
        let mut size = 0usize;
        let mut header = 2;
        loop {
            let byte = bytes[at + header];
            header += 1;
            size = (size << 7) | usize::from(byte & 0x7f);
            if byte & 0x80 == 0 {
                break;
            }
        }
        if key == b"AP" {
            packets.push(at);
        }
        if key == b"SE" {
            break;
        }
        at += size;
    }
    packets
}

#[test]
fn musepack_survives_pieces_damage_and_tags() {
    let bytes = std::fs::read(fixture("mpc.mpc")).unwrap();
    let clean = decode_with_element(&bytes, &keep_props(), Chunking::Whole);
    assert_eq!(clean.frames(), SOURCE_FRAMES);
    // Then 48 kHz mono as the second file (new caps between them).
    let mono = std::fs::read(fixture("mpc_mono_48k.mpc")).unwrap();
    assert_pieces_tags_and_a_second_file(&bytes, &mono);
    // Packets of 64 frames: 132300 samples are two, the first giving 64 × 1152 less the
    // decoder's delay.
    let packets = musepack_audio_packets(&bytes);
    assert_eq!(packets.len(), 2, "{packets:?}");
    let first_samples = 2 * (64 * 1152 - MUSEPACK_DELAY as usize);

    // Damage inside the second packet: no ERROR, the first packet intact.
    let mut damaged = bytes.clone();
    damaged[packets[1] + 500..packets[1] + 600].fill(0x55);
    let decoded = decode_with_element(&damaged, &keep_props(), Chunking::Fixed(4096));
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert!(decoded.samples[..first_samples] == clean.samples[..first_samples]);

    // Cut inside the second packet: the first packet, then the end.
    let cut = decode_with_element(
        &bytes[..packets[1] + 1000],
        &keep_props(),
        Chunking::Fixed(4096),
    );
    assert!(cut.errors.is_empty(), "{:?}", cut.errors);
    assert!(cut.samples[..] == clean.samples[..first_samples]);

    // A stream header of unknown length (a sample count of 0, as a writer streaming its
    // output may leave it): every frame, the last packet's too, the end not trimmed.
    assert_eq!(&bytes[4..7], b"SH\x0e", "a stream header of 11 bytes first");
    let payload = &bytes[7..18];
    let mut unknown = payload[4..].to_vec();
    let samples_len = unknown[1..].iter().position(|b| b & 0x80 == 0).unwrap() + 1;
    unknown.splice(1..1 + samples_len, [0u8]);
    let mut header = b"SH".to_vec();
    header.push((2 + 1 + 4 + unknown.len()) as u8);
    header.extend(crc32fast::hash(&unknown).to_be_bytes());
    header.extend(&unknown);
    let mut streamed = bytes[..4].to_vec();
    streamed.extend(header);
    streamed.extend(&bytes[18..]);
    let decoded = decode_with_element(&streamed, &keep_props(), Chunking::Fixed(4096));
    assert!(decoded.warnings.is_empty() && decoded.errors.is_empty());
    assert_eq!(
        decoded.frames(),
        116 * 1152 - MUSEPACK_DELAY,
        "all 116 frames"
    );
    assert!(decoded.samples[..clean.samples.len()] == clean.samples[..]);

    // A stream header whose CRC fails: one ERROR that says so, no audio.
    let mut bad_header = bytes.clone();
    bad_header[12] ^= 0x01;
    assert_refused_saying(&bad_header, &["Musepack", "CRC"]);
}

/// 24-bit True Audio to the sample, below the element's S16 output: our reader and decoder, run
/// directly, give the 24-bit source's samples exactly (ffmpeg's round trip is lossless too).
#[test]
fn tta_24_bit_decodes_to_the_sample() {
    use gstrsstreamdecoder::codecs::tta::TtaDecoder;
    use gstrsstreamdecoder::container::tta::TtaReader;
    use symphonia::core::codecs::CodecParameters;
    use symphonia::core::codecs::audio::AudioDecoderOptions;
    use symphonia::core::codecs::registry::RegisterableAudioDecoder;
    use symphonia::core::formats::FormatReader;
    use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};

    let bytes = std::fs::read(fixture("tta24.tta")).unwrap();
    let source = MediaSourceStream::new(
        Box::new(std::io::Cursor::new(bytes)),
        MediaSourceStreamOptions::default(),
    );
    let mut reader = TtaReader::try_new(source).unwrap();
    let Some(CodecParameters::Audio(params)) = reader.tracks()[0].codec_params.clone() else {
        panic!("no audio parameters");
    };
    let mut decoder =
        TtaDecoder::try_registry_new(&params, &AudioDecoderOptions::default()).unwrap();
    let mut decoded: Vec<i32> = Vec::new();
    while let Some(packet) = reader.next_packet().unwrap() {
        let mut frame: Vec<i32> = Vec::new();
        decoder
            .decode(&packet)
            .unwrap()
            .copy_to_vec_interleaved(&mut frame);
        decoded.extend(frame);
    }
    let wav = std::fs::read(fixture("s24.wav")).unwrap();
    let data = chunk_body(&wav, b"data");
    let source: Vec<i32> = wav[data..]
        .chunks_exact(3)
        .map(|s| i32::from_le_bytes([0, s[0], s[1], s[2]]))
        .collect();
    assert_eq!(decoded.len(), source.len());
    assert!(decoded == source, "not the source's 24-bit samples");
}

#[test]
fn tta_survives_pieces_damage_and_tags() {
    let bytes = std::fs::read(fixture("tta.tta")).unwrap();
    let clean = decode_with_element(&bytes, &keep_props(), Chunking::Whole);
    assert_eq!(clean.frames(), SOURCE_FRAMES);
    // Then mono as the second file.
    let mono = std::fs::read(fixture("tta_mono.tta")).unwrap();
    assert_pieces_tags_and_a_second_file(&bytes, &mono);
    // Frames of 256 × 44100 / 245 = 46080 samples: three, the seek table after the 22-byte
    // header giving their lengths.
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let first_frame = 22 + 3 * 4 + 4;
    let second = first_frame + u32_at(22);
    let first_samples = 2 * 46_080;

    // Damage inside the second frame: it fails its CRC, a WARNING, the other two intact.
    let mut damaged = bytes.clone();
    damaged[second + 500..second + 600].fill(0x55);
    let decoded = decode_with_element(&damaged, &keep_props(), Chunking::Fixed(4096));
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert!(!decoded.warnings.is_empty(), "the damage is reported");
    assert!(decoded.samples[..first_samples] == clean.samples[..first_samples]);
    assert!(decoded.samples[first_samples..] == clean.samples[2 * first_samples..]);

    // Cut inside the second frame: the first frame, then the end.
    let cut = decode_with_element(
        &bytes[..second + 1000],
        &keep_props(),
        Chunking::Fixed(4096),
    );
    assert!(cut.errors.is_empty(), "{:?}", cut.errors);
    assert!(cut.samples[..] == clean.samples[..first_samples]);

    // A header whose CRC fails: one ERROR that says so, no audio.
    let mut bad_header = bytes.clone();
    bad_header[10] ^= 0x01;
    assert_refused_saying(&bad_header, &["True Audio", "CRC"]);
}

/// DSD64 (made here by a sigma-delta modulator at half scale, see `common`) in DSF and
/// DSDIFF: the two containers give the same samples, any pieces give the same samples, and at
/// 48 kHz mono the result is the source at half scale (as against ffmpeg's decode: a different
/// filter with another delay, compared at its best whole-sample lag).
#[test]
fn dsd_decodes_to_its_source() {
    let dsf = std::fs::read(fixture("dsd64.dsf")).unwrap();
    let dff = std::fs::read(fixture("dsd64.dff")).unwrap();
    let kept = decode_with_element(&dsf, &keep_props(), Chunking::Whole);
    kept.assert_well_formed(88_200, 2);
    assert!(kept.warnings.is_empty() && kept.errors.is_empty());
    assert_eq!(
        kept.frames(),
        2 * SOURCE_FRAMES,
        "64 × 132300 bits, 32 a sample"
    );
    let source = reference(&fixture("s16.wav"), Some(48_000), Some(1));
    let half: Vec<i16> = source.samples.iter().map(|&s| s / 2).collect();
    for (name, bytes) in [("dsd64.dsf", &dsf), ("dsd64.dff", &dff)] {
        let (container, codec) = detect(bytes);
        assert_eq!(codec, "dsd", "{name}: {container}");
        let whole = decode_with_element(bytes, &keep_props(), Chunking::Whole);
        assert!(whole.samples == kept.samples, "{name}: as the DSF");
        for chunking in [
            Chunking::Fixed(7),
            Chunking::Random {
                seed: 5,
                max: 30_000,
            },
        ] {
            let pieces = decode_with_element(bytes, &keep_props(), chunking);
            assert!(pieces.warnings.is_empty() && pieces.errors.is_empty());
            assert!(pieces.samples == kept.samples, "{name}: {chunking:?}");
        }
        let ours = decode_with_element(bytes, &[], Chunking::Whole);
        ours.assert_well_formed(48_000, 1);
        assert_eq!(ours.frames(), SOURCE_FRAMES_48K);
        let cmp = compare(&half, &ours.samples, 1);
        let (lag, lag_snr) = best_lag(&half, &ours.samples, 1, 200);
        let ffmpeg = reference(&fixture(name), Some(48_000), Some(1));
        let (ffmpeg_lag, ffmpeg_snr) = best_lag(&ffmpeg.samples, &ours.samples, 1, 200);
        println!(
            "[48k mono] {name}: ours {} frames; against the source at half scale: {cmp}, best \
             lag {lag:+} ({lag_snr:.2} dB); against ffmpeg ({} frames): best lag \
             {ffmpeg_lag:+} ({ffmpeg_snr:.2} dB)",
            ours.frames(),
            ffmpeg.frames()
        );
        assert!(cmp.snr_db >= 55.0, "{name}: {cmp}");
        assert!(
            ffmpeg_snr >= 20.0,
            "{name}: {ffmpeg_snr:.1} dB against ffmpeg"
        );
    }
}

#[test]
fn dsd_survives_cuts_tags_and_compression_it_cannot_decode() {
    let dsf = std::fs::read(fixture("dsd64.dsf")).unwrap();
    let dff = std::fs::read(fixture("dsd64.dff")).unwrap();
    let clean = decode_with_element(&dsf, &keep_props(), Chunking::Whole);
    // DSF's ID3v2 tag after the data: not audio.
    let mut tagged = dsf.clone();
    tagged.extend(b"ID3\x03\x00\x00\x00\x00\x00\x0a");
    tagged.extend([0u8; 10]);
    let decoded = decode_with_element(&tagged, &keep_props(), Chunking::Fixed(4096));
    assert!(decoded.warnings.is_empty() && decoded.errors.is_empty());
    assert!(decoded.samples == clean.samples, "a tag at the end");
    // A sample count of half the data (as mutagen's `5644800-2ch-s01-silence.dsf` has an
    // eighth): that many samples, the rest of the data chunk read past, no ERROR.
    let mut short = dsf.clone();
    let samples = u64::from_le_bytes(short[64..72].try_into().unwrap());
    short[64..72].copy_from_slice(&(samples / 2).to_le_bytes());
    short.extend(b"ID3\x03\x00\x00\x00\x00\x00\x0a");
    short.extend([0u8; 10]);
    let decoded = decode_with_element(&short, &keep_props(), Chunking::Fixed(4096));
    assert!(decoded.warnings.is_empty() && decoded.errors.is_empty());
    assert_eq!(decoded.frames(), clean.frames() / 2);
    // Cut inside the DSDIFF data: what came before, then the end.
    let cut = decode_with_element(&dff[..dff.len() / 2], &keep_props(), Chunking::Fixed(4096));
    assert!(cut.errors.is_empty(), "{:?}", cut.errors);
    assert!(cut.frames() > clean.frames() / 3 && cut.frames() < clean.frames() / 2 + 1);
    assert!(cut.samples[..20_000] == clean.samples[..20_000]);
    // DST-compressed DSDIFF: one ERROR that says so.
    let at = dff.windows(4).position(|w| w == b"DSD ").unwrap();
    let data = at + 4 + dff[at + 4..].windows(4).position(|w| w == b"DSD ").unwrap();
    let mut dst = dff.clone();
    dst[data..data + 4].copy_from_slice(b"DST ");
    assert_refused_saying(&dst, &["DST"]);
}

/// Where each AC-3 frame of `bytes` starts (a stream of whole frames).
fn ac3_frames(bytes: &[u8]) -> Vec<usize> {
    use gstrsstreamdecoder::codecs::ac3::header::FrameHeader;
    let mut starts = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..).and_then(FrameHeader::parse) {
        starts.push(at);
        at += header.frame_bytes;
    }
    assert_eq!(at, bytes.len(), "whole frames");
    starts
}

/// Raw AC-3 in any pieces, damaged, with junk between frames, cut short, tagged, followed by a
/// stream of another rate and layout (new caps), behind an ID3v2 tag, joined mid-frame; E-AC-3
/// in pieces, tagged and followed by AC-3.
#[test]
fn ac3_survives_pieces_damage_and_junk() {
    let bytes = std::fs::read(fixture("ac3.ac3")).unwrap();
    let mono = std::fs::read(fixture("ac3_mono_48k.ac3")).unwrap();
    assert_pieces_tags_and_a_second_file(&bytes, &mono);
    let clean = decode_with_element(&bytes, &keep_props(), Chunking::Whole);
    let frames = ac3_frames(&bytes);
    let frame_values = 1536 * 2;

    // A damaged frame (its CRC fails): one WARNING, that frame missing, the next one's first
    // block overlapped with the frame before the damaged one, the rest as before.
    let mut damaged = bytes.clone();
    damaged[frames[10] + 100] ^= 0x55;
    let decoded = decode_with_element(&damaged, &keep_props(), Chunking::Fixed(4096));
    assert_eq!(decoded.warnings.len(), 1, "{:?}", decoded.warnings);
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert_eq!(decoded.frames(), clean.frames() - 1536);
    assert!(decoded.samples[..10 * frame_values] == clean.samples[..10 * frame_values]);
    assert!(decoded.samples[11 * frame_values..] == clean.samples[12 * frame_values..]);

    // Junk between two frames: passed over with one WARNING, every frame decoded.
    let mut junk = bytes[..frames[20]].to_vec();
    junk.extend((0..300u32).map(|i| (i * 7 + 1) as u8));
    junk.extend(&bytes[frames[20]..]);
    let decoded = decode_with_element(&junk, &keep_props(), Chunking::Random { seed: 3, max: 999 });
    assert_eq!(decoded.warnings.len(), 1, "{:?}", decoded.warnings);
    assert!(decoded.samples == clean.samples, "junk between frames");

    // Cut inside a frame: the frames before it, quietly.
    let decoded = decode_with_element(
        &bytes[..frames[30] + 50],
        &keep_props(),
        Chunking::Fixed(4096),
    );
    assert!(decoded.warnings.is_empty() && decoded.errors.is_empty());
    assert!(decoded.samples[..] == clean.samples[..30 * frame_values]);

    // Behind an ID3v2 tag, or joined a few bytes into a frame (the probe finds the next one).
    let mut tagged = b"ID3\x03\x00\x00\x00\x00\x00\x64".to_vec();
    tagged.extend([0u8; 100]);
    tagged.extend(&bytes);
    let decoded = decode_with_element(&tagged, &keep_props(), Chunking::Fixed(1000));
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert!(decoded.samples == clean.samples, "behind an ID3v2 tag");
    let decoded = decode_with_element(&bytes[5..], &keep_props(), Chunking::Fixed(1000));
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert_eq!(
        decoded.frames(),
        clean.frames() - 1536,
        "joined inside the first frame"
    );

    // E-AC-3 the same way, followed by an AC-3 stream.
    let eac3 = std::fs::read(fixture("eac3.eac3")).unwrap();
    assert_pieces_tags_and_a_second_file(&eac3, &mono);
}

/// The offset and type of each tag of an FLV file.
fn flv_tags(bytes: &[u8]) -> Vec<(usize, u8)> {
    let mut tags = Vec::new();
    let mut at = u32::from_be_bytes(bytes[5..9].try_into().unwrap()) as usize + 4;
    while at + 11 <= bytes.len() {
        let len = u32::from_be_bytes([0, bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
        tags.push((at, bytes[at]));
        at += 11 + len + 4;
    }
    assert_eq!(at, bytes.len(), "whole tags");
    tags
}

/// FLV in any pieces, damaged, cut, and followed by another FLV; codecs it does not decode and
/// files without audio are named.
#[test]
fn flv_survives_pieces_and_damage_and_names_what_it_cannot_decode() {
    let bytes = std::fs::read(fixture("aac_video.flv")).unwrap();
    assert_pieces_tags_and_a_second_file(&bytes, &std::fs::read(fixture("mulaw_8k.flv")).unwrap());
    let clean = decode_with_element(&bytes, &keep_props(), Chunking::Whole);
    let audio: Vec<usize> = flv_tags(&bytes)
        .into_iter()
        .filter(|&(_, kind)| kind == 8)
        .map(|(at, _)| at)
        .collect();
    let values = 1024 * 2;
    // audio[0] is the AAC sequence header; audio[k] holds frame k - 1.
    // A damaged tag header: one WARNING, that frame missing, the ones after it back.
    let mut damaged = bytes.clone();
    damaged[audio[11]] = 0x55;
    let decoded = decode_with_element(&damaged, &keep_props(), Chunking::Fixed(4096));
    assert_eq!(decoded.warnings.len(), 1, "{:?}", decoded.warnings);
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert_eq!(decoded.frames(), clean.frames() - 1024);
    assert!(decoded.samples[..10 * values] == clean.samples[..10 * values]);
    let after = snr_db(
        &clean.samples[12 * values..],
        &decoded.samples[11 * values..],
    );
    assert!(after > 60.0, "{after:.1} dB after the lost frame");
    // Cut inside a tag: the frames before it, quietly.
    let cut = decode_with_element(
        &bytes[..audio[30] + 20],
        &keep_props(),
        Chunking::Fixed(4096),
    );
    assert!(
        cut.warnings.is_empty() && cut.errors.is_empty(),
        "{:?}",
        cut.warnings
    );
    assert!(cut.samples[..] == clean.samples[..29 * values]);
    assert_refused_saying(
        &std::fs::read(fixture("nellymoser.flv")).unwrap(),
        &["Nellymoser"],
    );
    assert_refused_saying(
        &std::fs::read(fixture("video_only.flv")).unwrap(),
        &["FLV", "no audio"],
    );
}

/// AVI in any pieces, followed by another AVI, cut; a codec it does not decode is named.
#[test]
fn avi_survives_pieces_and_cuts_and_names_what_it_cannot_decode() {
    let bytes = std::fs::read(fixture("mp3_video.avi")).unwrap();
    assert_pieces_tags_and_a_second_file(&bytes, &std::fs::read(fixture("s16.avi")).unwrap());
    let clean = decode_with_element(&bytes, &keep_props(), Chunking::Whole);
    // Cut in the middle: the whole frames before the cut, quietly.
    let cut = decode_with_element(
        &bytes[..bytes.len() / 2],
        &keep_props(),
        Chunking::Fixed(4096),
    );
    assert!(
        cut.warnings.is_empty() && cut.errors.is_empty(),
        "{:?}",
        cut.warnings
    );
    assert!(cut.frames() > clean.frames() / 4, "{} frames", cut.frames());
    let n = cut.samples.len();
    assert!(cut.samples[..n - 1152 * 2] == clean.samples[..n - 1152 * 2]);
    assert_refused_saying(
        &std::fs::read(fixture("g723_1.avi")).unwrap(),
        &["AVI", "format tag 0x0042"],
    );
}

/// The start of each LOAS frame in `bytes`, and whether it carries a StreamMuxConfig.
fn loas_frames(bytes: &[u8]) -> Vec<(usize, bool)> {
    use gstrsstreamdecoder::container::loas::frame_len;
    let mut frames = Vec::new();
    let mut at = 0;
    while let Some(len) = bytes.get(at..).and_then(frame_len) {
        // useSameStreamMux, the first bit after the header: 0 when a config follows.
        frames.push((at, bytes[at + 3] & 0x80 == 0));
        at += len;
    }
    assert_eq!(at, bytes.len(), "whole frames");
    frames
}

/// LOAS/LATM AAC in any pieces, with tags after it, followed by a stream of another rate and
/// layout, damaged, with junk between frames, cut, and joined mid-stream where frames come
/// before the first StreamMuxConfig: every frame that can be decoded comes out.
#[test]
fn loas_survives_pieces_damage_and_joins() {
    let bytes = std::fs::read(fixture("aac.loas")).unwrap();
    let mono = std::fs::read(fixture("aac_22k_mono.loas")).unwrap();
    assert_pieces_tags_and_a_second_file(&bytes, &mono);
    let clean = decode_with_element(&bytes, &keep_props(), Chunking::Whole);
    let frames = loas_frames(&bytes);
    let with_config: Vec<usize> = (0..frames.len()).filter(|&i| frames[i].1).collect();
    assert_eq!(
        &with_config[..3],
        &[0, 20, 40],
        "ffmpeg repeats the config every 20 frames"
    );
    let values = 1024 * 2;

    // A frame whose sync word is damaged: one WARNING, that frame missing (the next one then
    // overlaps with the one before the damage), the rest as before but for the noise that
    // perceptual noise substitution puts in, from a generator whose state runs on from frame
    // to frame (1 LSB in most frames, up to 38 in the quiet end).
    let mut damaged = bytes.clone();
    damaged[frames[10].0] ^= 0x10;
    let decoded = decode_with_element(&damaged, &keep_props(), Chunking::Fixed(4096));
    assert_eq!(decoded.warnings.len(), 1, "{:?}", decoded.warnings);
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert_eq!(decoded.frames(), clean.frames() - 1024);
    assert!(decoded.samples[..10 * values] == clean.samples[..10 * values]);
    let after = snr_db(
        &clean.samples[12 * values..],
        &decoded.samples[11 * values..],
    );
    eprintln!("after the lost frame: {after:.1} dB");
    assert!(after > 60.0, "{after:.1} dB");

    // Junk between two frames, holding false sync words: passed over with one WARNING.
    let mut junk = bytes[..frames[30].0].to_vec();
    for i in 0..40u32 {
        junk.extend([0x56, 0xe0 | (i % 3) as u8, (i * 37) as u8, 0x11, 0x22]);
    }
    junk.extend(&bytes[frames[30].0..]);
    let decoded = decode_with_element(&junk, &keep_props(), Chunking::Random { seed: 3, max: 999 });
    assert_eq!(decoded.warnings.len(), 1, "{:?}", decoded.warnings);
    assert!(decoded.samples == clean.samples, "junk between frames");

    // Cut inside a frame: the frames before it, quietly.
    let cut = decode_with_element(
        &bytes[..frames[50].0 + 40],
        &keep_props(),
        Chunking::Fixed(4096),
    );
    assert!(
        cut.warnings.is_empty() && cut.errors.is_empty(),
        "{:?}",
        cut.warnings
    );
    assert!(cut.samples[..] == clean.samples[..50 * values]);

    // Joined at frame 25, a few bytes into frame 24: frames 25 to 39 have no config before
    // them and are passed over; from frame 40 on, all of them (the first without the frame
    // before it to overlap with).
    let joined = &bytes[frames[24].0 + 5..];
    let decoded = decode_with_element(
        joined,
        &keep_props(),
        Chunking::Random { seed: 4, max: 700 },
    );
    assert!(decoded.errors.is_empty(), "{:?}", decoded.errors);
    assert_eq!(decoded.frames(), clean.frames() - 40 * 1024);
    let after = snr_db(&clean.samples[41 * values..], &decoded.samples[values..]);
    eprintln!("after the join: {after:.1} dB");
    assert!(after > 60.0, "{after:.1} dB");
}

/// E-AC-3 whose frames each have a dependent substream after them (as 7.1 streams carry the
/// channels beyond 5.1), and frames of a second program (substream 1): both are passed over, and
/// the first program decodes as it does alone. ffmpeg's encoder writes neither, so they are made
/// here from its frames: copies with the stream type or substream changed and the CRC made
/// right again.
#[test]
fn eac3_dependent_substreams_and_other_programs_are_passed_over() {
    use gstrsstreamdecoder::codecs::ac3::header::{FrameHeader, crc16};
    let bytes = std::fs::read(fixture("eac3.eac3")).unwrap();
    let clean = decode_with_element(&bytes, &keep_props(), Chunking::Whole);
    let relabelled = |frame: &[u8], byte2: u8| {
        let mut copy = frame.to_vec();
        copy[2] = byte2 | (copy[2] & 0x07);
        let end = copy.len() - 2;
        let crc = crc16(&copy[2..end]);
        copy[end..].copy_from_slice(&crc.to_be_bytes());
        copy
    };
    let mut with_others = Vec::new();
    let mut at = 0;
    while let Some(header) = bytes.get(at..).and_then(FrameHeader::parse) {
        let frame = &bytes[at..at + header.frame_bytes];
        with_others.extend_from_slice(frame);
        // Stream type 1 (dependent), substream 0; then stream type 0, substream 1.
        with_others.extend(relabelled(frame, 0b0100_0000));
        with_others.extend(relabelled(frame, 0b0000_1000));
        at += header.frame_bytes;
    }
    assert_eq!(with_others.len(), 3 * bytes.len());
    for chunking in [Chunking::Whole, Chunking::Random { seed: 9, max: 2000 }] {
        let decoded = decode_with_element(&with_others, &keep_props(), chunking);
        assert!(
            decoded.warnings.is_empty() && decoded.errors.is_empty(),
            "{:?} {:?}",
            decoded.warnings,
            decoded.errors
        );
        assert!(decoded.samples == clean.samples, "{chunking:?}");
    }
}

/// Formats nothing here decodes are named in the ERROR, not just "no supported audio format".
#[test]
fn dts_wma_and_wav_codecs_are_refused_by_name() {
    for (name, words) in [
        ("dts.dts", &["DTS"][..]),
        ("wma.wma", &["ASF", "Windows Media"][..]),
        // WAV whose codec neither our reader nor symphonia's decodes: symphonia's reader
        // would only say "unsupported wave format".
        ("g723_1.wav", &["WAV with G.723.1 audio", "0x0042"][..]),
        // A codec the Matroska reader names that nothing here decodes.
        (
            "truehd.mka",
            &["matroska audio track holds Dolby TrueHD"][..],
        ),
        // An `A_MS/ACM` track, which symphonia leaves unnamed ("no audio track").
        (
            "wma.mka",
            &["matroska audio track holds Windows Media Audio", "0x0161"][..],
        ),
    ] {
        assert_refused_saying(&std::fs::read(fixture(name)).unwrap(), words);
    }
}
