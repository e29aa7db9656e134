//! Feeds arbitrary bytes to our own PCM container parsers (`container::riff`, `aiff`, `caf`)
//! and, when a header parses, reads every packet the PCM reader cuts from the rest.
//!
//! Fails on a panic or a hang; checks that every packet holds whole frames and that the
//! packet timestamps are contiguous.

#![no_main]

use std::io::Cursor;

use gstrsstreamdecoder::container::{PcmStreamReader, parse_pcm_header};
use libfuzzer_sys::fuzz_target;
use symphonia::core::formats::FormatReader;
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};

fuzz_target!(|input: &[u8]| {
    let mut source = MediaSourceStream::new(
        Box::new(Cursor::new(input.to_vec())),
        MediaSourceStreamOptions::default(),
    );
    let Ok((info, header)) = parse_pcm_header(&mut source) else {
        return;
    };
    let frame_bytes = header.layout.frame_bytes();
    let mut reader = PcmStreamReader::new(source, info, header);
    let mut next_pts = 0u64;
    while let Ok(Some(packet)) = reader.next_packet() {
        assert_eq!(packet.data.len() % frame_bytes, 0, "partial frame");
        assert_eq!(packet.pts.get() as u64, next_pts, "timestamps jump");
        next_pts += packet.dur.get();
    }
});
