//! Feeds arbitrary bytes to the MP4 layout check and, for a media-first layout, to the holding
//! of the file until its index (`container::mp4`). Fails on a panic or a hang; checks that the
//! layout check leaves the stream where it found it.

#![no_main]

use std::io::Cursor;

use gstrsstreamdecoder::container::mp4::{Layout, hold_until_index, layout};
use libfuzzer_sys::fuzz_target;
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions, ReadBytes};

fuzz_target!(|input: &[u8]| {
    let mut source = MediaSourceStream::new(
        Box::new(Cursor::new(input.to_vec())),
        MediaSourceStreamOptions::default(),
    );
    let Ok(found) = layout(&mut source) else {
        return;
    };
    assert_eq!(source.pos(), 0, "the layout check consumed bytes");
    if found == Some(Layout::MediaFirst) {
        if let Ok(held) = hold_until_index(&mut source, 1 << 20) {
            assert!(held.len() <= input.len());
            assert_eq!(&held[..], &input[..held.len()]);
        }
        let _ = source.read_byte();
    }
});
