//! Public conformance files, vendored in `tests/data/` with their origin and licence: every
//! file must decode completely, match an independent decoder (ffmpeg) and pass its own checks
//! (FLAC: the STREAMINFO MD5 of the decoded audio, which a mismatch turns into a WARNING).

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn flac_test_files(subdir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/flac-test-files")
        .join(subdir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "flac"))
        .collect();
    files.sort();
    files
}

#[test]
fn ietf_cellar_flac_testbench_subset() {
    let files = flac_test_files("");
    assert_eq!(files.len(), 15, "vendored files");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        // The MD5 check below means something only where the encoder stored one.
        assert_ne!(&bytes[26..42], &[0u8; 16], "{name}: no MD5 in STREAMINFO");
        let reference = reference(&path, None, None);
        let decoded = decode_with_element(&bytes, &verifying_keep_props(), Chunking::Fixed(4096));
        let bits: u32 = probe_stream_entry(&path, "bits_per_raw_sample")
            .parse()
            .unwrap();
        let cmp = compare(&reference.samples, &decoded.samples, reference.channels);
        println!(
            "{name}: {} Hz, {} ch, {bits} bit: {} frames; {cmp}",
            reference.rate,
            reference.channels,
            decoded.frames()
        );
        // No ERROR, no WARNING (so the MD5 matched), the right caps, timestamps and EOS.
        decoded.assert_well_formed(reference.rate, reference.channels);
        assert_eq!(decoded.frames(), reference.frames(), "{name}: length");
        // Up to 16 bits both decoders give the samples exactly; above, ffmpeg truncates to
        // 16 bits and we round.
        let max_diff = if bits > 16 { 1 } else { 0 };
        assert!(cmp.max_abs_diff <= max_diff, "{name}: {cmp}");
    }
}

/// What happens to each deliberately broken file. `Decodes` and `Warns` compare with ffmpeg's
/// length; we decode 03, 06, 07 and 11, where ffmpeg gets nothing.
#[derive(Debug)]
enum Outcome {
    /// All the audio, no message.
    Decodes,
    /// What ffmpeg also gets, and a WARNING containing this.
    Warns(&'static str),
    /// The audio though ffmpeg gets none.
    DecodesWhereFfmpegFails,
    /// An ERROR containing this, no audio.
    Fails(&'static str),
}

/// How many S16 samples ffmpeg gets out of a damaged file (it exits with an error on some).
fn ffmpeg_samples_despite_errors(path: &Path) -> u64 {
    let output = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "quiet", "-i"])
        .arg(path)
        .args(["-f", "s16le", "-"])
        .output()
        .expect("ffmpeg must be installed");
    output.stdout.len() as u64 / 2
}

#[test]
fn ietf_cellar_flac_faulty_files() {
    use Outcome::*;
    let expected = [
        // The frames are bigger than STREAMINFO says: symphonia stops after the first, as
        // ffmpeg does.
        ("01", Warns("the stream ended after 0.15 s of the 4.25 s")),
        ("02", Decodes),
        // STREAMINFO's bit depth differs from the frames': symphonia refuses the header, and
        // the frames are decoded as their own headers say, with a WARNING.
        ("03", DecodesWhereFfmpegFails),
        // STREAMINFO says 5 channels, the frames carry 1: symphonia refuses the header; the
        // frames are decoded as their own headers say, as ffmpeg does, with a WARNING.
        ("04", Warns("the FLAC header could not be read")),
        // STREAMINFO says fewer samples than there are: all of them come out.
        ("05", Decodes),
        // No STREAMINFO block at all: the frames say what it would have.
        ("06", DecodesWhereFfmpegFails),
        ("07", DecodesWhereFfmpegFails),
        ("08", Fails("minimum block length is 16 samples")),
        // A VORBIS_COMMENT that claims 10 tags and holds 1: symphonia alone refuses the stream;
        // the block is dropped (`container::flac`) and everything decodes, as in ffmpeg.
        ("10", Warns("VORBIS_COMMENT block (its tags) is malformed")),
        // A metadata block length that runs into the audio: the header is refused, the
        // frames decode as their own headers say, with a WARNING.
        ("11", DecodesWhereFfmpegFails),
    ];
    let files = flac_test_files("faulty");
    assert_eq!(files.len(), expected.len(), "vendored faulty files");
    for (path, (number, outcome)) in files.iter().zip(expected) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(name.starts_with(number), "{name}");
        let bytes = std::fs::read(path).unwrap();
        let decoded = decode_with_element(&bytes, &verifying_keep_props(), Chunking::Fixed(4096));
        let ffmpeg = ffmpeg_samples_despite_errors(path);
        println!(
            "{name}: {} samples (ffmpeg {ffmpeg}); errors {:?}; warnings {:?}",
            decoded.samples.len(),
            decoded.errors,
            decoded.warnings
        );
        let ours = decoded.samples.len() as u64;
        match outcome {
            Decodes => {
                assert!(
                    decoded.errors.is_empty() && decoded.warnings.is_empty(),
                    "{name}"
                );
                assert_eq!(ours, ffmpeg, "{name}");
            }
            Warns(text) => {
                assert!(decoded.errors.is_empty(), "{name}: {:?}", decoded.errors);
                assert!(
                    decoded.warnings.iter().any(|w| w.contains(text)),
                    "{name}: {:?}",
                    decoded.warnings
                );
                assert_eq!(ours, ffmpeg, "{name}");
            }
            DecodesWhereFfmpegFails => {
                assert!(decoded.errors.is_empty(), "{name}: {:?}", decoded.errors);
                assert!(
                    ours > 0 && ffmpeg == 0,
                    "{name}: ours {ours}, ffmpeg {ffmpeg}"
                );
            }
            Fails(text) => {
                assert_eq!(decoded.errors.len(), 1, "{name}: {:?}", decoded.errors);
                assert!(
                    decoded.errors[0].contains(text),
                    "{name}: {:?}",
                    decoded.errors
                );
                assert_eq!(ours, 0, "{name}");
            }
        }
    }
}

/// PSNR of `actual` against `reference` over their common length, as minimp3's conformance
/// test computes it, and the largest difference.
fn psnr_and_max_diff(reference: &[i16], actual: &[i16]) -> (f64, u32) {
    let n = reference.len().min(actual.len());
    let (mut squares, mut max) = (0f64, 0u32);
    for (r, a) in reference[..n].iter().zip(&actual[..n]) {
        let d = (i32::from(*r) - i32::from(*a)).unsigned_abs();
        squares += f64::from(d) * f64::from(d);
        max = max.max(d);
    }
    let mse = squares / n.max(1) as f64;
    let psnr = if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (32767.0f64 * 32767.0 / mse).log10()
    };
    (psnr, max)
}

#[test]
fn iso_mpeg_audio_compliance_streams() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mpeg-audio-compliance");
    let mut streams: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "bit"))
        .collect();
    streams.sort();
    assert_eq!(streams.len(), 23, "vendored streams");
    for path in streams
        .into_iter()
        .filter(|path| !path.to_string_lossy().contains("compl-sideinfo"))
    {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        // The reference: the stream's samples in order, stored as one channel (see the README).
        let reference = reference(&path.with_extension("pcm.flac"), None, None).samples;
        let decoded = decode_with_element(&bytes, &keep_props(), Chunking::Fixed(4096));
        assert!(
            decoded.errors.is_empty() && decoded.warnings.is_empty() && decoded.eos_out,
            "{name}: {:?} {:?}",
            decoded.errors,
            decoded.warnings
        );
        let ours = &decoded.samples;
        // The references come from a decoder that leaves out the frames whose bit reservoir
        // lies before the stream's start (l3-sin1k0db's first two); we give silence of their
        // length, which keeps the timeline. Some references also lack the last frame; the
        // Layer I and II ones are padded with zeros to a power of two.
        let extra = ours.len().saturating_sub(reference.len());
        let start = if extra > 0 && ours[..extra].iter().all(|&s| s == 0) {
            let (aligned, _) = psnr_and_max_diff(&reference, &ours[extra..]);
            let (unaligned, _) = psnr_and_max_diff(&reference, ours);
            if aligned > unaligned { extra } else { 0 }
        } else {
            0
        };
        let ours = &ours[start..];
        let (psnr, max_diff) = psnr_and_max_diff(&reference, ours);
        println!(
            "{name}: {} Hz, {} samples (reference {}), {start} leading silent samples skipped; \
             PSNR {psnr:.1} dB, max diff {max_diff}",
            decoded.rate,
            decoded.samples.len(),
            reference.len()
        );
        assert!(
            ours.len() <= reference.len() + 2 * 1152,
            "{name}: {} samples for a reference of {}",
            ours.len(),
            reference.len()
        );
        // The Layer I references hold up to a frame more than their streams (ffmpeg gives a
        // frame less than we do); the comparison covers what both have.
        let reference_audio = reference.iter().rposition(|&s| s != 0).map_or(0, |i| i + 1);
        assert!(
            reference_audio <= ours.len() + 2 * 1152,
            "{name}: {} samples, the reference has audio up to {reference_audio}",
            ours.len(),
        );
        // minimp3's criterion, and ISO/IEC 11172-4's full-accuracy bound on any one sample.
        assert!(psnr > 96.0, "{name}: PSNR {psnr:.1} dB");
        assert!(max_diff <= 2, "{name}: largest difference {max_diff}");
    }
}

/// minimp3's three copies of `l3-compl` with deliberately broken side information (big_values,
/// block type, part2_3_length). Where a frame's side info is impossible, minimp3 (whose output
/// is the reference) drops the frame; we skip it too (a WARNING) but keep the timeline with
/// silence of its length. So every reference frame must come out, in order, to ISO's
/// full-accuracy bound, with only silent frames between them.
#[test]
fn mpeg_audio_streams_with_broken_side_info() {
    const FRAME: usize = 1152;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mpeg-audio-compliance");
    for part in ["bigvalues", "blocktype", "size"] {
        let name = format!("l3-nonstandard-compl-sideinfo-{part}");
        let bytes = std::fs::read(dir.join(format!("{name}.bit"))).unwrap();
        let reference = reference(&dir.join(format!("{name}.pcm.flac")), None, None).samples;
        let decoded = decode_with_element(&bytes, &keep_props(), Chunking::Fixed(4096));
        assert!(
            decoded.errors.is_empty() && decoded.eos_out,
            "{name}: {:?}",
            decoded.errors
        );
        assert!(
            decoded.warnings.iter().any(|w| w.contains("corrupt")),
            "{name}: the skipped frames are reported: {:?}",
            decoded.warnings
        );
        assert_eq!(decoded.rate, 48_000, "{name}");
        let mut theirs = reference.chunks(FRAME).peekable();
        // Our frames that are the reference's, in order: compared as a whole below.
        let mut aligned: Vec<i16> = Vec::with_capacity(reference.len());
        let mut silent = 0;
        for frame in decoded.samples.chunks(FRAME) {
            let same = theirs.peek().is_some_and(|expected| {
                frame.len() == expected.len() && psnr_and_max_diff(expected, frame).1 <= 2
            });
            if same {
                theirs.next();
                aligned.extend_from_slice(frame);
            } else {
                assert!(
                    frame.iter().all(|&s| s == 0),
                    "{name}: our frame {} is neither the reference's next frame nor silence",
                    aligned.len() / FRAME + silent
                );
                silent += 1;
            }
        }
        let left = theirs.count();
        let matched = aligned.len().div_ceil(FRAME);
        let (psnr, max_diff) = psnr_and_max_diff(&reference, &aligned);
        println!(
            "{name}: {matched} frames as the reference (max diff {max_diff}, PSNR {psnr:.1} dB), \
             {silent} silent frames where it has none, {left} reference frames missing"
        );
        assert_eq!(left, 0, "{name}: reference frames missing");
        assert!(silent <= 4, "{name}: {silent} silent frames");
        assert!(
            psnr > 96.0 && max_diff <= 2,
            "{name}: PSNR {psnr:.1}, max {max_diff}"
        );
    }
}

/// Files from WavPack's own encoder (vendored, see `tests/data/wavpack-test-files/README.md`):
/// every one decodes without a complaint to the length and samples of ffmpeg's WavPack decoder,
/// an implementation independent of the libwavpack we decode with (±1 LSB: ffmpeg truncates
/// wider samples to 16 bits, we round).
#[test]
fn wavpack_encoder_test_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wavpack-test-files");
    for (name, rate, channels) in [
        ("float32.wv", 48_000, 1),
        ("int32.wv", 48_000, 1),
        ("lossy24.wv", 48_000, 2),
        ("mchan.wv", 44_100, 6),
    ] {
        let path = dir.join(name);
        let reference = reference(&path, None, None);
        for chunking in [Chunking::Fixed(4096), Chunking::Fixed(7)] {
            let decoded =
                decode_with_element(&std::fs::read(&path).unwrap(), &keep_props(), chunking);
            decoded.assert_well_formed(rate, channels);
            assert!(
                decoded.warnings.is_empty(),
                "{name}: {:?}",
                decoded.warnings
            );
            assert_eq!(decoded.frames(), reference.frames(), "{name}");
            let (psnr, max_diff) = psnr_and_max_diff(&reference.samples, &decoded.samples);
            println!(
                "{name}: {} frames, PSNR {psnr:.1} dB, max diff {max_diff}",
                decoded.frames()
            );
            assert!(max_diff <= 1, "{name}: largest difference {max_diff}");
        }
    }
}
