//! Repairs a FLAC header whose VORBIS_COMMENT block is malformed (a tag count or length that
//! runs past the block), which symphonia 0.6 refuses with the whole stream ("out of bounds"),
//! although the audio is intact. The block is turned into PADDING of the same length: one
//! byte changes, the tags are lost, the audio is not. Only headers that fit in the source's
//! read-ahead are looked at; the rest are left to symphonia as they are.

use std::io;

use symphonia::core::io::{MediaSourceStream, ReadBytes, SeekBuffered};

/// How much of the header is looked at (the source's read-ahead holds 64 KiB).
const LOOK_LIMIT: u64 = 48 * 1024;
const BLOCK_PADDING: u8 = 1;
const BLOCK_VORBIS_COMMENT: u8 = 4;

/// If the stream at the source's position is FLAC with a malformed VORBIS_COMMENT block,
/// consumes the metadata and returns it repaired; otherwise leaves the source where it was and
/// returns `None`.
pub fn repaired_header(source: &mut MediaSourceStream<'_>) -> io::Result<Option<Vec<u8>>> {
    let start = source.pos();
    let damaged = find_damaged_comments(source);
    let header_len = source.pos() - start;
    source.seek_buffered(start);
    let Some(damaged) = damaged? else {
        return Ok(None);
    };
    let mut header = vec![0u8; header_len as usize];
    source.read_buf_exact(&mut header)?;
    for at in damaged {
        header[at] = (header[at] & 0x80) | BLOCK_PADDING;
    }
    Ok(Some(header))
}

/// Walks the metadata blocks; returns the offsets of the block headers of malformed
/// VORBIS_COMMENT blocks when there are any and the whole header was within reach.
fn find_damaged_comments<R: ReadBytes>(source: &mut R) -> io::Result<Option<Vec<usize>>> {
    if source.read_quad_bytes()? != *b"fLaC" {
        return Ok(None);
    }
    let mut offset = 4usize;
    let mut damaged = Vec::new();
    loop {
        let kind = source.read_u8()?;
        let len = source.read_be_u24()? as usize;
        if (offset + 4 + len) as u64 > LOOK_LIMIT {
            return Ok(None);
        }
        if kind & 0x7f == BLOCK_VORBIS_COMMENT {
            let mut body = vec![0u8; len];
            source.read_buf_exact(&mut body)?;
            if !comments_are_well_formed(&body) {
                damaged.push(offset);
            }
        } else {
            source.ignore_bytes(len as u64)?;
        }
        offset += 4 + len;
        if kind & 0x80 != 0 {
            return Ok((!damaged.is_empty()).then_some(damaged));
        }
    }
}

/// A VORBIS_COMMENT body: vendor string, comment count, that many comments, each a 32-bit
/// little-endian length and its bytes, all within the block.
fn comments_are_well_formed(body: &[u8]) -> bool {
    let mut at = 0usize;
    let next_u32 = |at: &mut usize| -> Option<usize> {
        let bytes = body.get(*at..*at + 4)?;
        *at += 4;
        Some(u32::from_le_bytes(bytes.try_into().ok()?) as usize)
    };
    let Some(vendor) = next_u32(&mut at) else {
        return false;
    };
    at = at.saturating_add(vendor);
    let Some(count) = next_u32(&mut at) else {
        return false;
    };
    for _ in 0..count {
        let Some(len) = next_u32(&mut at) else {
            return false;
        };
        at = at.saturating_add(len);
        if at > body.len() {
            return false;
        }
    }
    at <= body.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use symphonia::core::io::MediaSourceStreamOptions;

    fn comments(vendor: &[u8], tags: &[&[u8]], claimed: u32) -> Vec<u8> {
        let mut body = (vendor.len() as u32).to_le_bytes().to_vec();
        body.extend_from_slice(vendor);
        body.extend_from_slice(&claimed.to_le_bytes());
        for tag in tags {
            body.extend_from_slice(&(tag.len() as u32).to_le_bytes());
            body.extend_from_slice(tag);
        }
        body
    }

    fn flac(blocks: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut out = b"fLaC".to_vec();
        for (i, (kind, body)) in blocks.iter().enumerate() {
            let last = if i + 1 == blocks.len() { 0x80 } else { 0 };
            out.push(last | kind);
            out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
            out.extend_from_slice(body);
        }
        out.extend_from_slice(b"\xff\xf8 frames");
        out
    }

    fn run(bytes: Vec<u8>) -> (Option<Vec<u8>>, u64) {
        let mut source = MediaSourceStream::new(
            Box::new(Cursor::new(bytes)),
            MediaSourceStreamOptions::default(),
        );
        let repaired = repaired_header(&mut source).unwrap();
        (repaired, source.pos())
    }

    #[test]
    fn a_malformed_comment_block_becomes_padding() {
        let good = comments(b"ref", &[b"TITLE=x"], 1);
        let bad = comments(b"ref", &[b"TITLE=x"], 10);
        assert!(comments_are_well_formed(&good));
        assert!(!comments_are_well_formed(&bad));
        assert!(!comments_are_well_formed(&[1, 0]));

        let streaminfo = (0, vec![0u8; 34]);
        let file = flac(&[streaminfo.clone(), (4, bad), (1, vec![0; 10])]);
        let (repaired, pos) = run(file.clone());
        let repaired = repaired.expect("a repair");
        assert_eq!(pos as usize, repaired.len(), "the header is consumed");
        assert_eq!(repaired.len(), file.len() - 9, "up to the first frame");
        let at = 4 + 4 + 34;
        assert_eq!(repaired[at], BLOCK_PADDING);
        let mut expected = file[..repaired.len()].to_vec();
        expected[at] = BLOCK_PADDING;
        assert_eq!(repaired, expected, "nothing else changes");

        // Well-formed, or not FLAC: untouched and not consumed.
        let (none, pos) = run(flac(&[streaminfo, (4, good)]));
        assert_eq!((none, pos), (None, 0));
        let (none, pos) = run(b"ID3\x04 something else".to_vec());
        assert_eq!((none, pos), (None, 0));
    }
}
