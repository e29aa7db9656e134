//! Headerless PCM, the way TTS services and GStreamer pipelines send it: described by the
//! `format` property (MIME type with parameters or a short name, plus `input-rate` /
//! `input-channels`) or by upstream caps (`audio/x-raw` of any format and layout,
//! `audio/x-mulaw`, `audio/x-alaw`). Every case is compared with an independent decode: ffmpeg
//! reading the same bytes with an explicit format, or the 16-bit WAV the bytes were made from.

mod common;

use common::*;
use gst::prelude::*;

type Props = Vec<(&'static str, gst::glib::SendValue)>;

fn format_prop(format: &str) -> (&'static str, gst::glib::SendValue) {
    ("format", format.to_send_value())
}

/// Keep mode plus extra properties.
fn keep_with(
    extra: &[(&'static str, gst::glib::SendValue)],
) -> Vec<(&'static str, gst::glib::SendValue)> {
    let mut props = keep_props();
    props.extend_from_slice(extra);
    props
}

fn assert_matches(decoded: &Decoded, reference: &Reference, quality_lsb: u32, label: &str) {
    decoded.assert_well_formed(reference.rate, reference.channels);
    let cmp = compare(&reference.samples, &decoded.samples, reference.channels);
    println!("{label}: {cmp}");
    assert_eq!(decoded.frames(), reference.frames(), "{label}: length");
    assert!(
        cmp.max_abs_diff <= quality_lsb,
        "{label}: max |diff| {} > {quality_lsb}: {cmp}",
        cmp.max_abs_diff
    );
}

#[test]
fn format_property_names_headerless_pcm() {
    let s16 = reference(&fixture("s16.wav"), None, None);
    let cases: [(&str, &str, Props); 4] = [
        // RFC 2586: L16 is big-endian; rate and channels as MIME parameters.
        (
            "s16be.l16",
            "audio/L16;rate=44100;channels=2",
            keep_with(&[]),
        ),
        (
            "s16le.pcm",
            "audio/pcm; rate=44100; channels=2",
            keep_with(&[]),
        ),
        // A short name, rate and channels from the properties.
        (
            "s16le.pcm",
            "pcm_s16le",
            keep_with(&[
                ("input-rate", 44_100u32.to_send_value()),
                ("input-channels", 2u32.to_send_value()),
            ]),
        ),
        (
            "f32le.pcm",
            "f32le",
            keep_with(&[
                ("input-rate", 44_100u32.to_send_value()),
                ("input-channels", 2u32.to_send_value()),
            ]),
        ),
    ];
    for (name, format, mut props) in cases {
        props.push(format_prop(format));
        let bytes = std::fs::read(fixture(name)).unwrap();
        let decoded = decode_with_element(&bytes, &props, Chunking::Fixed(4096));
        // f32 to S16: ffmpeg and we round differently by at most 1 LSB.
        let lsb = if name.starts_with("f32") { 1 } else { 0 };
        assert_matches(&decoded, &s16, lsb, &format!("{name} as {format}"));
    }
}

#[test]
fn g711_by_mime_type_and_caps() {
    for (name, ffmpeg_format, format, caps) in [
        (
            "mulaw_8k.ulaw",
            "mulaw",
            "audio/basic",
            "audio/x-mulaw,rate=8000,channels=1",
        ),
        (
            "alaw_8k.alaw",
            "alaw",
            "audio/PCMA",
            "audio/x-alaw,rate=8000,channels=1",
        ),
    ] {
        let path = fixture(name);
        let bytes = std::fs::read(&path).unwrap();
        let reference = reference_raw(&path, ffmpeg_format, 8000, 1);
        let by_property = decode_with_element(
            &bytes,
            &keep_with(&[format_prop(format)]),
            Chunking::Fixed(160),
        );
        assert_matches(&by_property, &reference, 0, &format!("{name} as {format}"));
        let by_caps = decode_with_options(
            &bytes,
            &DecodeOptions::new(&keep_props(), Chunking::Fixed(160)).caps(caps),
        );
        assert_matches(&by_caps, &reference, 0, &format!("{name} with {caps}"));
    }
}

/// 24 kHz mono TTS output to the default 48 kHz: the usual voice-agent case.
#[test]
fn l16_at_24k_resamples_to_the_default_output() {
    let path = fixture("s16le_24k_mono.pcm");
    let bytes = std::fs::read(&path).unwrap();
    let native = reference_raw(&path, "s16le", 24_000, 1);
    let decoded = decode_with_element(
        &bytes,
        &[format_prop("audio/pcm;rate=24000")],
        Chunking::Fixed(960),
    );
    decoded.assert_well_formed(48_000, 1);
    let expected = rescale_frames(native.frames(), 24_000, 48_000);
    assert!(
        decoded.frames().abs_diff(expected) <= 1,
        "{} frames, expected {expected}",
        decoded.frames()
    );
    let ffmpeg_48k = reference_pcm(&fixture("s16.wav"), Some(48_000), Some(1)).0;
    // The same signal, resampled from 24 kHz by us and from 44.1 kHz by ffmpeg: both are the
    // test tones, so they agree well below the 12 kHz band edge.
    let cmp = compare(&ffmpeg_48k, &decoded.samples, 1);
    println!("24 kHz L16 to 48 kHz: {cmp}");
    assert!(cmp.snr_db > 30.0, "{cmp}");
}

#[test]
fn a_rate_is_required_and_its_absence_is_a_clear_error() {
    let bytes = std::fs::read(fixture("s16le.pcm")).unwrap();
    let decoded = decode_with_element(&bytes, &[format_prop("pcm_s16le")], Chunking::Fixed(4096));
    assert_eq!(decoded.errors.len(), 1, "{:?}", decoded.errors);
    assert!(
        decoded.errors[0].contains("headerless PCM needs a sample rate")
            && decoded.errors[0].contains("input-rate"),
        "{:?}",
        decoded.errors
    );
    assert_eq!(decoded.frames(), 0);
}

/// Frames split across buffers at every possible place give the same PCM.
#[test]
fn raw_pcm_is_chunking_invariant() {
    let bytes = std::fs::read(fixture("s16be.l16")).unwrap();
    let bytes = &bytes[..40_000];
    let props = [format_prop("audio/L16;rate=44100;channels=2")];
    let whole = decode_with_element(bytes, &props, Chunking::Whole);
    for chunking in [
        Chunking::Fixed(1),
        Chunking::Fixed(3),
        Chunking::Random { seed: 5, max: 61 },
    ] {
        let decoded = decode_with_element(bytes, &props, chunking);
        assert_eq!(decoded.samples, whole.samples, "{chunking:?}");
    }
}

/// Runs `filesrc ! wavparse ! audioconvert ! <caps> ! rsstreamdecoder (keep) ! appsink` and
/// returns the S16 samples: GStreamer's own converter produces the raw format, with real caps
/// negotiation in front of the element.
fn through_pipeline(wav: &std::path::Path, caps: &str) -> (Vec<i16>, Option<String>) {
    let (bytes, error) = run_to_appsink(&format!(
        "filesrc location={} ! wavparse ! audioconvert dithering=none noise-shaping=none ! \
         {caps} ! rsstreamdecoder sample-rate=0 channels=0 ! appsink name=sink sync=false",
        wav.display()
    ));
    (s16le(&bytes), error)
}

/// Every GStreamer raw format that holds 16-bit samples exactly, in both layouts: the output is
/// bit-identical to the 16-bit source.
#[test]
fn audio_x_raw_caps_of_every_wide_format_and_layout() {
    let wav = fixture("s16.wav");
    let source = reference(&wav, None, None);
    for format in [
        "S16LE", "S16BE", "U16LE", "U16BE", "S24LE", "S24BE", "U24LE", "S24_32LE", "S24_32BE",
        "U24_32LE", "S20LE", "S20BE", "S18LE", "U18BE", "S32LE", "S32BE", "U32LE", "F32LE",
        "F32BE", "F64LE", "F64BE",
    ] {
        for layout in ["interleaved", "non-interleaved"] {
            let caps = format!("audio/x-raw,format={format},layout={layout}");
            let (samples, error) = through_pipeline(&wav, &caps);
            assert!(error.is_none(), "{caps}: {error:?}");
            let cmp = compare(&source.samples, &samples, 2);
            assert!(cmp.bit_exact(), "{caps}: {cmp}");
        }
    }
}

/// 8-bit formats lose precision on the way in (GStreamer's converter truncates): the decode
/// is within that quantisation of the source.
#[test]
fn audio_x_raw_caps_of_8_bit_formats() {
    let wav = fixture("s16.wav");
    let source = reference(&wav, None, None);
    for format in ["S8", "U8"] {
        let caps = format!("audio/x-raw,format={format}");
        let (samples, error) = through_pipeline(&wav, &caps);
        assert!(error.is_none(), "{caps}: {error:?}");
        let cmp = compare(&source.samples, &samples, 2);
        println!("{caps}: {cmp}");
        assert!(
            cmp.same_length() && cmp.max_abs_diff <= 256,
            "{caps}: {cmp}"
        );
    }
}

/// New raw caps mid-stream (a TTS service that switches voice and rate): the first stream is
/// drained, the second starts with new caps downstream, and nothing is lost.
#[test]
fn raw_caps_change_mid_stream_starts_a_new_stream() {
    init();
    let element = gst::ElementFactory::make("rsstreamdecoder")
        .property("sample-rate", 0u32)
        .property("channels", 0u32)
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    let first = reference_raw(&fixture("s16le_24k_mono.pcm"), "s16le", 24_000, 1);
    let second = reference(&fixture("s16.wav"), None, None);
    let as_bytes =
        |samples: &[i16]| -> Vec<u8> { samples.iter().flat_map(|s| s.to_le_bytes()).collect() };
    let mut pushed = Vec::new();
    for (caps, samples) in [
        (
            "audio/x-raw,format=S16LE,rate=24000,channels=1,layout=interleaved",
            &first.samples,
        ),
        (
            "audio/x-raw,format=S16LE,rate=44100,channels=2,layout=interleaved",
            &second.samples,
        ),
    ] {
        assert!(h.push_event(gst::event::Caps::new(&caps.parse().unwrap())));
        if pushed.is_empty() {
            let segment = gst::FormattedSegment::<gst::format::Bytes>::new();
            assert!(h.push_event(gst::event::Segment::new(&segment)));
        }
        for chunk in as_bytes(samples).chunks(3000) {
            h.push(gst::Buffer::from_slice(chunk.to_vec())).unwrap();
        }
        pushed.push(samples.len());
    }
    assert!(h.push_event(gst::event::Eos::new()));
    let mut caps_seen = Vec::new();
    let mut out: Vec<Vec<i16>> = Vec::new();
    while let Some(event) = h.try_pull_event() {
        if let gst::EventView::Caps(c) = event.view() {
            caps_seen.push(c.caps_owned());
        }
    }
    // OFFSET counts frames from the start of each stream's format: 0 starts the next one.
    let mut last_pts = None;
    while let Some(buffer) = h.try_pull() {
        let map = buffer.map_readable().unwrap();
        if buffer.offset() == 0 {
            out.push(Vec::new());
        }
        assert!(buffer.pts() >= last_pts, "timestamps go back");
        last_pts = buffer.pts();
        out.last_mut()
            .expect("the first buffer has offset 0")
            .extend(
                map.chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]])),
            );
    }
    assert_eq!(caps_seen.len(), 2, "{caps_seen:?}");
    let rate = |c: &gst::Caps| c.structure(0).unwrap().get::<i32>("rate").unwrap();
    assert_eq!((rate(&caps_seen[0]), rate(&caps_seen[1])), (24_000, 44_100));
    assert_eq!(out.len(), 2, "two streams");
    assert_eq!(out[0], first.samples, "first stream complete and exact");
    assert_eq!(out[1], second.samples, "second stream complete and exact");
    // The second stream starts where the first ended.
    let first_end = frames_to_time(first.frames(), 24_000);
    assert!(last_pts.unwrap() >= first_end);
}
