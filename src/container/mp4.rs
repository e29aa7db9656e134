//! MP4/M4A/MOV files whose `moov` box (the index) comes after `mdat` (the media): what iTunes,
//! phones and ffmpeg without `+faststart` write.
//!
//! Symphonia's MP4 reader needs `moov` before it can read a single packet, and on a stream it
//! cannot seek ahead to find it ("missing moov atom"). So the file is held in memory, box by
//! box, until its `moov` has arrived (up to a limit), and symphonia reads that copy, which it
//! can seek in. No sound comes out before `moov`: the index is what says where the audio is.

use std::io;

use symphonia::core::io::{MediaSourceStream, ReadBytes};

/// Default of the element's `mp4-buffer-limit`.
pub const DEFAULT_BUFFER_LIMIT: u64 = 64 * 1024 * 1024;

/// Where the index of an MP4 file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `moov` before `mdat` (faststart) or a fragmented file: readable as it streams.
    IndexFirst,
    /// `mdat` first: the file must be held until its `moov` arrives.
    MediaFirst,
}

/// How far the look at the top-level boxes may go before it gives up (small boxes such as
/// `ftyp`, `free` and `wide` come before `moov` or `mdat`).
const LOOK_LIMIT: u64 = 16 * 1024;

/// Looks at the top-level boxes at the source's position, without consuming them. `None` when
/// the stream does not start with an ISO base media box.
pub fn layout(source: &mut MediaSourceStream<'_>) -> io::Result<Option<Layout>> {
    super::source::look_ahead(source, find_layout)
}

fn find_layout(source: &mut MediaSourceStream<'_>) -> io::Result<Option<Layout>> {
    let mut walked = 0u64;
    let mut first = true;
    loop {
        let (kind, size, header_len) = match read_box_header(source) {
            Ok(Some(header)) => header,
            Ok(None) => return Ok(None),
            // A stream too short to hold a box header is not an MP4 we can say anything about.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        };
        if first
            && !matches!(
                &kind,
                b"ftyp" | b"moov" | b"mdat" | b"wide" | b"free" | b"skip"
            )
        {
            return Ok(None);
        }
        first = false;
        match &kind {
            b"moov" | b"moof" => return Ok(Some(Layout::IndexFirst)),
            b"mdat" => return Ok(Some(Layout::MediaFirst)),
            _ => {}
        }
        let body = size.saturating_sub(header_len);
        walked = walked.saturating_add(size);
        if size == 0 || walked > LOOK_LIMIT {
            // A box to the end of the file, or a long run of other boxes: let the reader decide.
            return Ok(Some(Layout::IndexFirst));
        }
        source.ignore_bytes(body)?;
    }
}

/// A box header: (type, total size, header length). Size 0 means "to the end of the file".
fn read_box_header<R: ReadBytes>(source: &mut R) -> io::Result<Option<([u8; 4], u64, u64)>> {
    let size = source.read_be_u32()? as u64;
    let kind = source.read_quad_bytes()?;
    if !kind.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        return Ok(None);
    }
    let (size, header_len) = match size {
        1 => (source.read_be_u64()?, 16),
        size => (size, 8),
    };
    if size != 0 && size < header_len {
        return Ok(None);
    }
    Ok(Some((kind, size, header_len)))
}

/// Reads a `mdat`-first file from the source's position into memory, up to and including its
/// `moov` box. Fails with a message for the user when the file holds more than `limit` bytes
/// before the end of `moov`, or ends without one.
pub fn hold_until_index(source: &mut MediaSourceStream<'_>, limit: u64) -> Result<Vec<u8>, String> {
    let mut held = Vec::new();
    let too_big = |held: u64| {
        format!(
            "the MP4 file keeps its index (moov box) after more than {} MiB of media: more than \
             the mp4-buffer-limit of {} MiB that may be held in memory; remux it with the index \
             first (ffmpeg -i in.m4a -c copy -movflags +faststart out.m4a) or raise the limit",
            held / (1024 * 1024),
            limit / (1024 * 1024)
        )
    };
    let ended = |held: usize, e: io::Error| {
        format!(
            "the MP4 file ended before its index (moov box) arrived, after {held} bytes that \
             cannot be read without it ({e})"
        )
    };
    loop {
        let start = held.len();
        let (kind, size, header_len) = read_box_header(source)
            .map_err(|e| ended(start, e))?
            .ok_or_else(|| "the MP4 file has a damaged box header before its index".to_string())?;
        if size == 0 {
            return Err(
                "the MP4 file's media runs to the end of the file, so its index never arrives"
                    .into(),
            );
        }
        if (held.len() as u64).saturating_add(size) > limit {
            return Err(too_big((held.len() as u64).saturating_add(size)));
        }
        // The header as it was, then the body.
        held.extend_from_slice(&(if header_len == 16 { 1 } else { size as u32 }).to_be_bytes());
        held.extend_from_slice(&kind);
        if header_len == 16 {
            held.extend_from_slice(&size.to_be_bytes());
        }
        held.resize(start + size as usize, 0);
        source
            .read_buf_exact(&mut held[start + header_len as usize..])
            .map_err(|e| ended(start, e))?;
        if kind == *b"moov" {
            return Ok(held);
        }
    }
}

/// An MP4 box of type `kind` around `body`: what the MP4 modules' tests build files from.
#[cfg(test)]
pub(super) fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use symphonia::core::io::MediaSourceStreamOptions;

    use super::mp4_box;

    fn source(bytes: Vec<u8>) -> MediaSourceStream<'static> {
        MediaSourceStream::new(
            Box::new(Cursor::new(bytes)),
            MediaSourceStreamOptions::default(),
        )
    }

    #[test]
    fn tells_the_layouts_apart_without_consuming() {
        let ftyp = mp4_box(b"ftyp", b"M4A \0\0\0\0");
        let moov = mp4_box(b"moov", &[7; 100]);
        let mdat = mp4_box(b"mdat", &[9; 5000]);
        let faststart = [ftyp.clone(), moov.clone(), mdat.clone()].concat();
        let mut s = source(faststart);
        assert_eq!(layout(&mut s).unwrap(), Some(Layout::IndexFirst));
        assert_eq!(s.pos(), 0);
        let media_first = [ftyp.clone(), mdat.clone(), moov.clone()].concat();
        let mut s = source(media_first.clone());
        assert_eq!(layout(&mut s).unwrap(), Some(Layout::MediaFirst));
        assert_eq!(s.pos(), 0);
        assert_eq!(
            layout(&mut source(b"ID3\x04junkjunk".to_vec())).unwrap(),
            None
        );
        assert_eq!(layout(&mut source(b"RIFF".to_vec())).unwrap(), None);

        // The whole file is held, and what follows it stays in the source.
        let mut stream = media_first.clone();
        stream.extend_from_slice(b"NEXT FILE");
        let mut s = source(stream);
        assert_eq!(hold_until_index(&mut s, 1 << 20).unwrap(), media_first);
        assert_eq!(s.read_quad_bytes().unwrap(), *b"NEXT");
    }

    /// Found by fuzzing: a 64-bit box size near 2^64 overflowed the limit check.
    #[test]
    fn a_huge_box_size_is_over_the_limit() {
        let input = include_bytes!("../../tests/data/fuzz-mp4-box-size-overflow.mp4");
        let mut s = source(input.to_vec());
        assert_eq!(layout(&mut s).unwrap(), Some(Layout::MediaFirst));
        let error = hold_until_index(&mut s, 1 << 20).unwrap_err();
        assert!(error.contains("mp4-buffer-limit"), "{error}");
    }

    #[test]
    fn holding_is_bounded_and_says_why() {
        let file = [
            mp4_box(b"ftyp", b"M4A \0\0\0\0"),
            mp4_box(b"mdat", &vec![9; 3 << 20]),
            mp4_box(b"moov", &[7; 100]),
        ]
        .concat();
        let error = hold_until_index(&mut source(file.clone()), 2 << 20).unwrap_err();
        assert!(
            error.contains("faststart") && error.contains("mp4-buffer-limit"),
            "{error}"
        );
        let cut = file[..file.len() - 50].to_vec();
        let error = hold_until_index(&mut source(cut), 8 << 20).unwrap_err();
        assert!(error.contains("ended before its index"), "{error}");
    }
}
