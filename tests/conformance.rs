//! Public conformance files, vendored in `tests/data/` with their origin and licence: every
//! file must decode completely, match an independent decoder (ffmpeg) and pass its own checks
//! (FLAC: the STREAMINFO MD5 of the decoded audio, which a mismatch turns into a WARNING).

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn flac_test_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/flac-test-files");
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
    let files = flac_test_files();
    assert_eq!(files.len(), 14, "vendored files");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        // The MD5 check below means something only where the encoder stored one.
        assert_ne!(&bytes[26..42], &[0u8; 16], "{name}: no MD5 in STREAMINFO");
        let reference = reference(&path, None, None);
        let decoded = decode_with_element(&bytes, &keep_props(), Chunking::Fixed(4096));
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
