//! Mutation corpus: real fixtures with flipped bytes, zeroed runs, cuts and splices, fed to the
//! GStreamer-free decoder core in random chunks. Whatever a server sends, the decoder must end
//! (with PCM, a warning or an error) without panicking or hanging (DESIGN.md contract 6).

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::*;
use gstrsstreamdecoder::decoder::{DecoderEvent, DecoderSettings, ErrorKind, StreamDecoder};

const FIXTURES: [&str; 35] = [
    "mp3_cbr.mp3",
    "aac_adts.aac",
    "aac.m4a",
    "vorbis.ogg",
    "opus.ogg",
    "opus.webm",
    "opus_clusters.webm",
    "opus_streamable.webm",
    "opus_mkvmerge.webm",
    "vorbis.mka",
    "flac.flac",
    "s16.wav",
    "s16be.aiff",
    "s16.rf64",
    "s16.w64",
    "s24_rifx.wav",
    "s16le_sowt.aiff",
    "s16le.caf",
    "s24in32.wav",
    "list_unpadded.wav",
    "ac3.ac3",
    "eac3.eac3",
    "aac.loas",
    "s16.au",
    "aac_video.flv",
    "mp3_video.avi",
    "g722.wav",
    "g726_40k.au",
    "gsm.wav",
    "ima4.mov",
    "yamaha_adpcm.wav",
    "tta_odd.mka",
    "speex.mka",
    "ms_adpcm.mka",
    "gsm.mka",
];
/// Cases per fixture; `MUTATIONS=1000 cargo test --release --test mutations` digs deeper.
fn mutations_per_fixture() -> u64 {
    std::env::var("MUTATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(12)
}

fn mutate(original: &[u8], rng: &mut SplitMix64) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for _ in 0..rng.range(1, 4) {
        let len = bytes.len().max(1);
        match rng.range(0, 4) {
            // Flip random bits, also in the headers.
            0 => {
                for _ in 0..rng.range(1, 64) {
                    let at = rng.range(0, len - 1).min(rng.range(0, 4096));
                    if let Some(byte) = bytes.get_mut(at) {
                        *byte ^= 1 << rng.range(0, 7);
                    }
                }
            }
            // Zero or 0xFF a run.
            1 => {
                let at = rng.range(0, len - 1);
                let end = (at + rng.range(1, 5000)).min(bytes.len());
                let fill = if rng.range(0, 1) == 0 { 0 } else { 0xff };
                bytes[at..end].fill(fill);
            }
            // Cut the stream short.
            2 => bytes.truncate(rng.range(0, len)),
            // Splice a copy of one region somewhere else.
            3 => {
                let from = rng.range(0, len - 1);
                let chunk: Vec<u8> =
                    bytes[from..(from + rng.range(1, 3000)).min(bytes.len())].to_vec();
                let at = rng.range(0, bytes.len());
                bytes.splice(at..at, chunk);
            }
            // Random noise inserted.
            _ => {
                let at = rng.range(0, bytes.len());
                let noise: Vec<u8> = (0..rng.range(1, 2000))
                    .map(|_| rng.next_u64() as u8)
                    .collect();
                bytes.splice(at..at, noise);
            }
        }
    }
    bytes
}

/// Decodes in random chunks on another thread; returns the PCM length and the error.
fn decode(bytes: Vec<u8>, seed: u64) -> (usize, Option<(ErrorKind, String)>) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut decoder =
            StreamDecoder::start(DecoderSettings::new(Some(48_000), Some(1), None)).unwrap();
        let mut events = Vec::new();
        for chunk in (Chunking::Random { seed, max: 5000 }).split(&bytes) {
            events.extend(decoder.push(chunk));
        }
        events.extend(decoder.finish());
        let pcm = events
            .iter()
            .map(|e| match e {
                DecoderEvent::Pcm(p) => p.len(),
                _ => 0,
            })
            .sum();
        let error = events.iter().find_map(|e| match e {
            DecoderEvent::Error(e) => Some((e.kind, e.message.clone())),
            _ => None,
        });
        let _ = tx.send((pcm, error));
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the decoder hung or its thread died")
}

#[test]
fn mutated_streams_never_panic_or_hang() {
    let mut summary = Vec::new();
    let cases = mutations_per_fixture();
    for (index, name) in FIXTURES.iter().enumerate() {
        let original = std::fs::read(fixture(name)).unwrap();
        let mut rng = SplitMix64(0x5eed + index as u64);
        let (mut with_pcm, mut errors) = (0, 0);
        for case in 0..cases {
            let mutated = mutate(&original, &mut rng);
            let (pcm, error) = decode(mutated, case);
            if let Some((ErrorKind::Internal, message)) = &error {
                panic!("{name} case {case}: internal error (a panic): {message}");
            }
            with_pcm += (pcm > 0) as u32;
            errors += error.is_some() as u32;
        }
        summary.push(format!(
            "{name}: {with_pcm}/{cases} gave PCM, {errors} ended in an error"
        ));
    }
    println!("{}", summary.join("\n"));
}
