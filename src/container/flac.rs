//! FLAC headers symphonia's reader needs and does not get.
//!
//! A header with a metadata block symphonia 0.6 cannot parse makes it refuse the whole stream,
//! although the audio is intact: a VORBIS_COMMENT block whose tag count or length runs past the
//! block ("out of bounds"), a CUESHEET that breaks one of its rules (CD-DA track offsets that
//! are not multiples of 588 samples, as in mutagen's `silence-44-s.flac`, which libFLAC, ffmpeg
//! and GStreamer play), a PICTURE or APPLICATION block cut short. [`repaired_header`] runs
//! symphonia's own parser over each such block and turns the ones it refuses into PADDING of the
//! same length (one byte changes, the block's information is lost, the audio is not). Only
//! headers that fit in the source's read-ahead are looked at; the rest are left to symphonia as
//! they are.
//!
//! Old Flake versions (0.11) wrote variable-block-size streams with the fixed-block-size flag in
//! every frame header and the first sample's number where the frame number belongs; symphonia's
//! reader finds no frame it accepts in them. [`repaired_header`] then states one block size in
//! STREAMINFO (the largest), which makes the reader take the header, and the frame reader
//! (`container::flac_frames`) stamps each packet with the samples before it, as the frames mean.
//!
//! A block whose length is wrong (mutagen's `106-short-picture-block-size.flac`: a PICTURE that
//! says 0 bytes, with the picture after it) makes everything after it read as blocks of nonsense,
//! and symphonia refuses the stream (so does ffmpeg). When the walk meets a block no encoder
//! writes there (a second STREAMINFO, a reserved type), [`repaired_header`] keeps the blocks
//! before it and goes on at the first frame that matches STREAMINFO.
//!
//! A stream joined after its start (an Icecast FLAC stream, a file cut) has no header at all:
//! [`header_for_frames`] finds two frames in a row and writes the STREAMINFO block their
//! headers imply, which symphonia's reader then takes as the stream's.

use std::io;

use symphonia::core::io::{BufReader, MediaSourceStream, ReadBytes, ScopedStream};
use symphonia::core::units::TimeBase;
use symphonia::default::meta::embedded::flac as flac_meta;

/// How much of the header is looked at (the source's read-ahead holds 64 KiB).
const LOOK_LIMIT: u64 = 48 * 1024;
const BLOCK_STREAMINFO: u8 = 0;
const BLOCK_PADDING: u8 = 1;
const BLOCK_APPLICATION: u8 = 2;
const BLOCK_VORBIS_COMMENT: u8 = 4;
const BLOCK_CUESHEET: u8 = 5;
const BLOCK_PICTURE: u8 = 6;

/// A FLAC header as symphonia's reader needs it, and what was changed.
#[derive(Debug, PartialEq, Eq)]
pub struct RepairedHeader {
    /// `fLaC` and the metadata blocks, up to the first frame.
    pub bytes: Vec<u8>,
    /// The blocks symphonia refuses that became PADDING, by name ("CUESHEET block", ...).
    pub dropped_blocks: Vec<&'static str>,
    /// An old Flake variable-block-size stream: its packets are stamped by counting samples.
    pub old_variable_blocks: bool,
    /// Where the blocks went wrong and where the first frame was found instead (byte offsets):
    /// the bytes between were dropped.
    pub skipped_to_frames: Option<(usize, usize)>,
}

/// If the stream at the source's position is FLAC with a malformed VORBIS_COMMENT block or in
/// old Flake's variable-block-size format, consumes the metadata and returns it repaired;
/// otherwise leaves the source where it was and returns `None`.
pub fn repaired_header(source: &mut MediaSourceStream<'_>) -> io::Result<Option<RepairedHeader>> {
    let Some(walk) = super::source::look_ahead(source, walk_header)? else {
        return Ok(None);
    };
    if walk.unreadable_blocks.is_empty()
        && walk.old_variable_blocks.is_none()
        && walk.astray.is_none()
    {
        return Ok(None);
    }
    let mut bytes = vec![0u8; walk.len];
    source.read_buf_exact(&mut bytes)?;
    for &(at, _) in &walk.unreadable_blocks {
        bytes[at] = (bytes[at] & 0x80) | BLOCK_PADDING;
    }
    if let Some(astray) = &walk.astray {
        bytes.truncate(astray.at);
        bytes[astray.last_block_at] |= 0x80;
    }
    if let Some(largest) = walk.old_variable_blocks {
        // STREAMINFO's minimum block size, right after its block header.
        bytes[STREAMINFO_BODY..STREAMINFO_BODY + 2].copy_from_slice(&largest.to_be_bytes());
    }
    Ok(Some(RepairedHeader {
        bytes,
        dropped_blocks: walk
            .unreadable_blocks
            .iter()
            .map(|&(_, name)| name)
            .collect(),
        old_variable_blocks: walk.old_variable_blocks.is_some(),
        skipped_to_frames: walk.astray.map(|astray| (astray.at, walk.len)),
    }))
}

/// Where the STREAMINFO body starts: after `fLaC` and its block header.
const STREAMINFO_BODY: usize = 8;

/// What walking the metadata blocks found.
struct HeaderWalk {
    /// Bytes of `fLaC` and the metadata blocks.
    len: usize,
    /// Offsets and names of the blocks symphonia's parser refuses.
    unreadable_blocks: Vec<(usize, &'static str)>,
    /// STREAMINFO's largest block size when the stream is old Flake's variable-block-size
    /// format: STREAMINFO's sizes differ, yet the first frame says its block size is fixed.
    old_variable_blocks: Option<u16>,
    /// The blocks went wrong: `len` is then where the first frame starts.
    astray: Option<Astray>,
}

/// Where a header walk met a block no encoder writes there.
struct Astray {
    /// Offset of that block: the header kept ends here.
    at: usize,
    /// Offset of the last block kept, which is marked as the last.
    last_block_at: usize,
}

/// Walks the metadata blocks and looks at the first frame's sync code; `None` when this is not
/// FLAC or the header is not within reach.
fn walk_header<R: ReadBytes>(source: &mut R) -> io::Result<Option<HeaderWalk>> {
    if source.read_quad_bytes()? != *b"fLaC" {
        return Ok(None);
    }
    let mut offset = 4usize;
    let mut unreadable_blocks = Vec::new();
    let mut block_sizes = None;
    let mut format = None;
    let mut last_block_at = offset;
    loop {
        let kind = source.read_u8()?;
        let len = source.read_be_u24()? as usize;
        let block_kind = kind & 0x7f;
        if offset > 4
            && (block_kind == BLOCK_STREAMINFO || block_kind > BLOCK_PICTURE)
            && let Some(format) = format
        {
            // A second STREAMINFO or a reserved type: a block before had a wrong length.
            let Some(frames_at) = first_frame_after(source, offset + 4, format)? else {
                return Ok(None);
            };
            return Ok(Some(HeaderWalk {
                len: frames_at,
                unreadable_blocks,
                old_variable_blocks: None,
                astray: Some(Astray {
                    at: offset,
                    last_block_at,
                }),
            }));
        }
        last_block_at = offset;
        if (offset + 4 + len) as u64 > LOOK_LIMIT {
            return Ok(None);
        }
        let last = kind & 0x80 != 0;
        let kind = kind & 0x7f;
        match kind {
            BLOCK_STREAMINFO if offset == 4 && len >= 4 => {
                let mut body = vec![0u8; len];
                source.read_buf_exact(&mut body)?;
                block_sizes = Some((
                    u16::from_be_bytes([body[0], body[1]]),
                    u16::from_be_bytes([body[2], body[3]]),
                ));
                format = streaminfo_format(&body);
            }
            BLOCK_VORBIS_COMMENT | BLOCK_CUESHEET | BLOCK_PICTURE | BLOCK_APPLICATION => {
                let mut body = vec![0u8; len];
                source.read_buf_exact(&mut body)?;
                let sample_rate = format.map_or(0, |(rate, ..)| rate);
                if let Some(name) = refused_block(kind, &body, sample_rate) {
                    unreadable_blocks.push((offset, name));
                }
            }
            _ => source.ignore_bytes(len as u64)?,
        }
        offset += 4 + len;
        if last {
            break;
        }
    }
    // The first frame's sync code: 0xFFF8 says fixed block size, 0xFFF9 variable. Not
    // consumed: the caller rewinds to the start anyway.
    let mut sync = [0u8; 2];
    let fixed_sync = source.read_buf_exact(&mut sync).is_ok() && sync == [0xff, 0xf8];
    let old_variable_blocks = match block_sizes {
        Some((min, max)) if min != max && fixed_sync => Some(max),
        _ => None,
    };
    Ok(Some(HeaderWalk {
        len: offset,
        unreadable_blocks,
        old_variable_blocks,
        astray: None,
    }))
}

/// The offset of the first frame header at or after the source's position (which is at
/// offset `at` of the stream) that stands at the stream's start (number 0) and agrees with
/// STREAMINFO's `(rate, channels, bits)`; looked for within the header's reach, reading no
/// further than the frame.
fn first_frame_after<R: ReadBytes>(
    source: &mut R,
    at: usize,
    (rate, channels, bits): (u32, u8, u8),
) -> io::Result<Option<usize>> {
    /// The longest frame header: sync, codes, a 7-byte number, block size, rate, CRC-8.
    const MAX_FRAME_HEADER_LEN: usize = 16;
    let is_first_frame = |bytes: &[u8]| {
        may_start_frame_header(&bytes[..2])
            && frame_header(bytes).is_some_and(|h| {
                h.number == 0
                    && h.channels == channels
                    && (h.sample_rate == 0 || h.sample_rate == rate)
                    && (h.bits_per_sample == 0 || h.bits_per_sample == bits)
            })
    };
    let mut window = vec![0u8; (LOOK_LIMIT as usize).saturating_sub(at)];
    let (mut filled, mut searched) = (0, 0);
    while filled < window.len() {
        let read = match source.read_buf(&mut window[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(e),
        };
        filled += read;
        // A header is looked at once all of it can have arrived, or at the end of the stream.
        let ready = if read == 0 {
            filled.saturating_sub(1)
        } else {
            filled.saturating_sub(MAX_FRAME_HEADER_LEN)
        };
        if let Some(i) = (searched..ready).find(|&i| is_first_frame(&window[i..filled])) {
            return Ok(Some(at + i));
        }
        searched = searched.max(ready);
        if read == 0 {
            break;
        }
    }
    Ok(None)
}

/// The block's name if symphonia's reader would refuse the stream over it: its own parser fails
/// on the body, read within the block's length as the reader reads it.
fn refused_block(kind: u8, body: &[u8], sample_rate: u32) -> Option<&'static str> {
    let mut block = ScopedStream::new(BufReader::new(body), body.len() as u64);
    let (name, refused) = match kind {
        // Checked by hand: symphonia's own parser drops the tags of a malformed block it reads
        // to the end, but refuses one whose lengths run past the block.
        BLOCK_VORBIS_COMMENT => (
            "VORBIS_COMMENT block (its tags)",
            !comments_are_well_formed(body),
        ),
        BLOCK_CUESHEET => (
            "CUESHEET block",
            TimeBase::try_new(1, sample_rate)
                .is_none_or(|tb| flac_meta::read_flac_cuesheet_block(&mut block, tb).is_err()),
        ),
        // Its lengths are checked first: the parser allocates what they say before reading.
        BLOCK_PICTURE => (
            "PICTURE block",
            !picture_lengths_fit(body) || flac_meta::read_flac_picture_block(&mut block).is_err(),
        ),
        BLOCK_APPLICATION => (
            "APPLICATION block",
            flac_meta::read_flac_application_block(&mut block, body.len() as u32).is_err(),
        ),
        _ => return None,
    };
    refused.then_some(name)
}

/// A PICTURE body: type, media type, description, four numbers, data; every length within it.
fn picture_lengths_fit(body: &[u8]) -> bool {
    let length_at = |at: usize| -> Option<usize> {
        Some(u32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let fits = || -> Option<bool> {
        let description_at = 8usize.checked_add(length_at(4)?)?;
        let numbers_at = description_at
            .checked_add(4)?
            .checked_add(length_at(description_at)?)?;
        let data_at = numbers_at.checked_add(20)?;
        Some(data_at.checked_add(length_at(numbers_at + 16)?)? <= body.len())
    };
    fits().unwrap_or(false)
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

/// The shortest FLAC frame header: sync and codes (4), a 1-byte coded number, the CRC-8.
const MIN_FRAME_HEADER_LEN: usize = 6;

/// What a FLAC frame header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub variable_block_size: bool,
    pub block_size: u32,
    /// 0: as STREAMINFO says.
    pub sample_rate: u32,
    pub channels: u8,
    /// 0: as STREAMINFO says.
    pub bits_per_sample: u8,
    /// The frame number (fixed block size) or the first sample's number (variable).
    pub number: u64,
    /// Bytes of the header, its CRC-8 included.
    pub len: usize,
}

impl FrameHeader {
    /// The number the next frame of the same stream carries.
    pub fn next_number(&self) -> u64 {
        if self.variable_block_size {
            self.number + u64::from(self.block_size)
        } else {
            self.number + 1
        }
    }
}

/// CRC-8 with polynomial x^8 + x^2 + x + 1, as FLAC frame headers carry it.
pub fn crc8(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |crc, byte| {
        (0..8).fold(crc ^ byte, |c, _| {
            if c & 0x80 != 0 {
                (c << 1) ^ 0x07
            } else {
                c << 1
            }
        })
    })
}

/// The frame header at the start of `b`, if it is one whose CRC-8 matches and which states
/// its own sample rate and bit depth (a frame may defer both to STREAMINFO, which a stream
/// joined late does not have).
fn parse_frame_header(b: &[u8]) -> Option<FrameHeader> {
    frame_header(b).filter(|h| h.sample_rate != 0 && h.bits_per_sample != 0)
}

/// Whether `bytes` start with as much of a frame header's sync code as they hold (all of it
/// from two bytes on; nothing contradicts it in none).
pub fn may_start_frame_header(bytes: &[u8]) -> bool {
    match bytes {
        [] => true,
        [first] => *first == 0xff,
        [first, second, ..] => *first == 0xff && second & 0xfe == 0xf8,
    }
}

/// The frame header at the start of `b`, if it is one whose CRC-8 matches.
pub fn frame_header(b: &[u8]) -> Option<FrameHeader> {
    if b.len() < 6 || !may_start_frame_header(b) || b[3] & 1 != 0 {
        return None;
    }
    // The coded number: UTF-8's scheme, up to 36 bits.
    let lead = b[4].leading_ones() as usize;
    let extra = match lead {
        0 => 0,
        2..=7 => lead - 1,
        _ => return None,
    };
    let mut number = u64::from(b[4] & (0x7f >> lead));
    for byte in b.get(5..5 + extra)? {
        if byte & 0xc0 != 0x80 {
            return None;
        }
        number = (number << 6) | u64::from(byte & 0x3f);
    }
    let mut at = 5 + extra;
    let mut read = |n: usize| -> Option<u32> {
        let v = b
            .get(at..at + n)?
            .iter()
            .fold(0u32, |acc, x| (acc << 8) | u32::from(*x));
        at += n;
        Some(v)
    };
    let block_size = match b[2] >> 4 {
        0 => return None,
        1 => 192,
        n @ 2..=5 => 576 << (n - 2),
        6 => read(1)? + 1,
        7 => read(2)? + 1,
        n => 256 << (n - 8),
    };
    let sample_rate = match b[2] & 0xf {
        0 => 0,
        1 => 88_200,
        2 => 176_400,
        3 => 192_000,
        4 => 8_000,
        5 => 16_000,
        6 => 22_050,
        7 => 24_000,
        8 => 32_000,
        9 => 44_100,
        10 => 48_000,
        11 => 96_000,
        12 => read(1)? * 1000,
        13 => read(2)?,
        14 => read(2)? * 10,
        _ => return None,
    };
    let channels = match b[3] >> 4 {
        n @ 0..=7 => n + 1,
        8..=10 => 2,
        _ => return None,
    };
    let bits_per_sample = match (b[3] >> 1) & 7 {
        0 => 0,
        1 => 8,
        2 => 12,
        4 => 16,
        5 => 20,
        6 => 24,
        7 => 32,
        _ => return None,
    };
    if crc8(&b[..at]) != *b.get(at)? {
        return None;
    }
    Some(FrameHeader {
        variable_block_size: b[1] & 1 != 0,
        block_size,
        sample_rate,
        channels,
        bits_per_sample,
        number,
        len: at + 1,
    })
}

/// Where the FLAC frames in `bytes` (a stream's first bytes, with no `fLaC` header) start, and
/// the `fLaC` marker and STREAMINFO block to read them with. Two frames must follow each
/// other with the same format and consecutive numbers: a lone sync word with a matching CRC-8
/// is one chance in a few hundred in other data, two in a row are not.
pub fn header_for_frames(bytes: &[u8]) -> Option<(usize, Vec<u8>)> {
    let is_sync = |i: usize| bytes[i] == 0xff && bytes[i + 1] & 0xfe == 0xf8;
    let candidates = (0..bytes.len().saturating_sub(1)).filter(|&i| is_sync(i));
    let mut found = None;
    'search: for (i, first) in
        candidates.filter_map(|i| parse_frame_header(&bytes[i..]).map(|h| (i, h)))
    {
        let next_number = first.next_number();
        // A frame of silence is a header and a few bytes: look right after this header.
        for j in i + MIN_FRAME_HEADER_LEN..bytes.len().saturating_sub(1) {
            if !is_sync(j) {
                continue;
            }
            if let Some(second) = parse_frame_header(&bytes[j..])
                && second.number == next_number
                && (second.sample_rate, second.channels, second.bits_per_sample)
                    == (first.sample_rate, first.channels, first.bits_per_sample)
                && second.variable_block_size == first.variable_block_size
            {
                found = Some((i, first));
                break 'search;
            }
        }
    }
    let (at, frame) = found?;
    Some((at, streaminfo_for(&frame)))
}

/// The sample rate, channel count and bit depth a STREAMINFO block's body states (the fields
/// [`streaminfo_for`] writes); `None` when the body is too short to hold them.
pub fn streaminfo_format(body: &[u8]) -> Option<(u32, u8, u8)> {
    // Rate (20 bits), channels - 1 (3), bits - 1 (5), from body offset 10.
    let packed = u32::from_be_bytes(body.get(10..14)?.try_into().ok()?);
    let channels = ((packed >> 9) & 7) as u8 + 1;
    Some((packed >> 12, channels, ((packed >> 4) & 0x1f) as u8 + 1))
}

/// A `fLaC` marker and the STREAMINFO block that describe frames like `frame`, which must state
/// its sample rate and bit depth: block sizes, frame sizes unknown (0), rate, channels, depth,
/// length unknown (0), no MD5 (all zero: nothing to check).
pub fn streaminfo_for(frame: &FrameHeader) -> Vec<u8> {
    let (min_block, max_block) = if frame.variable_block_size {
        (16, 65_535)
    } else {
        // A 65536-sample block does not fit STREAMINFO's 16 bits; no encoder writes one.
        (frame.block_size.min(65_535), frame.block_size.min(65_535))
    };
    let mut header = b"fLaC".to_vec();
    header.extend([0x80, 0, 0, 34]);
    header.extend((min_block as u16).to_be_bytes());
    header.extend((max_block as u16).to_be_bytes());
    header.extend([0u8; 6]);
    let packed = (u64::from(frame.sample_rate) << 44)
        | (u64::from(frame.channels - 1) << 41)
        | (u64::from(frame.bits_per_sample - 1) << 36);
    header.extend(packed.to_be_bytes());
    header.extend([0u8; 16]);
    header
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
        flac_then(blocks, b"\xff\xf8 frames")
    }

    fn flac_then(blocks: &[(u8, Vec<u8>)], frames: &[u8]) -> Vec<u8> {
        let mut out = b"fLaC".to_vec();
        for (i, (kind, body)) in blocks.iter().enumerate() {
            let last = if i + 1 == blocks.len() { 0x80 } else { 0 };
            out.push(last | kind);
            out.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
            out.extend_from_slice(body);
        }
        out.extend_from_slice(frames);
        out
    }

    fn run(bytes: Vec<u8>) -> (Option<RepairedHeader>, u64) {
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
        assert!(
            repaired.dropped_blocks == ["VORBIS_COMMENT block (its tags)"]
                && !repaired.old_variable_blocks
        );
        let repaired = repaired.bytes;
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

    /// A CD-DA CUESHEET of one track starting at `track_offset` samples, no indices.
    fn cuesheet(track_offset: u64) -> Vec<u8> {
        let mut body = vec![0u8; 128];
        body.extend(88_200u64.to_be_bytes());
        body.push(0x80);
        body.extend([0u8; 258]);
        body.push(1);
        body.extend(track_offset.to_be_bytes());
        body.push(1);
        body.extend([0u8; 12 + 2 + 12]);
        body.push(0);
        body
    }

    /// A PICTURE whose data length says `claimed` for 4 bytes of data.
    fn picture(claimed: u32) -> Vec<u8> {
        let mut body = 3u32.to_be_bytes().to_vec();
        body.extend(9u32.to_be_bytes());
        body.extend(b"image/png");
        body.extend(0u32.to_be_bytes());
        body.extend([0u8; 16]);
        body.extend(claimed.to_be_bytes());
        body.extend([1, 2, 3, 4]);
        body
    }

    #[test]
    fn blocks_symphonia_refuses_become_padding() {
        // CD-DA track offsets must be multiples of 588 samples for symphonia (not for libFLAC,
        // ffmpeg or GStreamer); a PICTURE whose data runs past the block.
        for (block, good, bad, name) in [
            (
                BLOCK_CUESHEET,
                cuesheet(588 * 3),
                cuesheet(1000),
                "CUESHEET block",
            ),
            (BLOCK_PICTURE, picture(4), picture(40), "PICTURE block"),
            (
                BLOCK_PICTURE,
                picture(4),
                picture(u32::MAX),
                "PICTURE block",
            ),
        ] {
            let (none, pos) = run(flac(&[streaminfo(4096, 4096), (block, good)]));
            assert_eq!((none, pos), (None, 0), "{name}: a good block is left alone");
            let file = flac(&[
                streaminfo(4096, 4096),
                (block, bad),
                (BLOCK_PADDING, vec![0; 8]),
            ]);
            let (repaired, _) = run(file.clone());
            let repaired = repaired.expect("a repair");
            assert_eq!(repaired.dropped_blocks, [name]);
            let at = 4 + 4 + 34;
            assert_eq!(repaired.bytes[at], BLOCK_PADDING, "{name}");
            let mut expected = file[..repaired.bytes.len()].to_vec();
            expected[at] = BLOCK_PADDING;
            assert_eq!(repaired.bytes, expected, "{name}: nothing else changes");
            // symphonia's reader refuses the file and takes the repaired header (it then wants
            // a frame, which these files do not have).
            let refusal = |header: Vec<u8>| {
                let source = MediaSourceStream::new(
                    Box::new(Cursor::new(header)),
                    MediaSourceStreamOptions::default(),
                );
                match symphonia::default::formats::FlacReader::try_new(source, Default::default()) {
                    Err(e) => e.to_string(),
                    Ok(_) => "reads it".to_string(),
                }
            };
            let wants_a_frame = "unexpected end of file";
            assert_ne!(refusal(file), wants_a_frame, "{name}");
            assert_eq!(refusal(repaired.bytes), wants_a_frame, "{name}");
        }
    }

    /// STREAMINFO with block sizes `min` and `max`, 44.1 kHz, stereo, 16 bits.
    fn streaminfo(min: u16, max: u16) -> (u8, Vec<u8>) {
        let mut body = min.to_be_bytes().to_vec();
        body.extend(max.to_be_bytes());
        body.extend([0u8; 6]);
        body.extend(((44_100u64 << 44) | (1 << 41) | (15 << 36)).to_be_bytes());
        body.extend([0u8; 16]);
        (BLOCK_STREAMINFO, body)
    }

    #[test]
    fn streaminfo_states_the_format_it_was_written_with() {
        let frame = FrameHeader {
            variable_block_size: false,
            block_size: 4096,
            sample_rate: 22_050,
            channels: 6,
            bits_per_sample: 24,
            number: 0,
            len: 6,
        };
        let header = streaminfo_for(&frame);
        assert_eq!(
            streaminfo_format(&header[STREAMINFO_BODY..]),
            Some((22_050, 6, 24))
        );
        assert_eq!(streaminfo_format(&header[STREAMINFO_BODY..][..13]), None);
    }

    #[test]
    fn old_flake_variable_block_sizes_state_one_block_size() {
        // Sizes differ, frames say "fixed": old Flake. STREAMINFO's minimum becomes the maximum.
        let file = flac_then(&[streaminfo(576, 4608)], b"\xff\xf8\xc9\x18\x00");
        let (repaired, pos) = run(file.clone());
        let repaired = repaired.expect("a repair");
        assert!(repaired.old_variable_blocks && repaired.dropped_blocks.is_empty());
        assert_eq!(pos as usize, repaired.bytes.len());
        assert_eq!(
            repaired.bytes.len(),
            file.len() - 5,
            "up to the first frame"
        );
        let mut expected = file[..repaired.bytes.len()].to_vec();
        expected[8..10].copy_from_slice(&4608u16.to_be_bytes());
        assert_eq!(repaired.bytes, expected, "nothing else changes");
        // Variable sizes with variable-size frames, or one size: nothing to repair.
        for file in [
            flac_then(&[streaminfo(576, 4608)], b"\xff\xf9\xc9\x18\x00"),
            flac_then(&[streaminfo(4096, 4096)], b"\xff\xf8\xc9\x18\x00"),
        ] {
            assert_eq!(run(file), (None, 0));
        }
    }

    /// A fixed-block-size frame header: 4096 samples, 44.1 kHz, stereo, 16 bits, frame `n`.
    fn frame_header(n: u8) -> Vec<u8> {
        let mut h = vec![0xff, 0xf8, 0xc9, 0x18, n];
        h.push(crc8(&h));
        h
    }

    #[test]
    fn frame_headers_are_checked_by_their_crc() {
        let h = parse_frame_header(&frame_header(3)).unwrap();
        assert_eq!(
            (
                h.block_size,
                h.sample_rate,
                h.channels,
                h.bits_per_sample,
                h.number
            ),
            (4096, 44_100, 2, 16, 3)
        );
        let mut bad = frame_header(3);
        bad[5] ^= 1;
        assert_eq!(parse_frame_header(&bad), None);
    }

    #[test]
    fn two_frames_in_a_row_imply_a_streaminfo() {
        let junk = [0x12u8, 0xff, 0xf8, 0x00];
        let stream = [
            &junk[..],
            &frame_header(7),
            &[0x55; 40],
            &frame_header(8),
            &[0x66; 40],
        ]
        .concat();
        let (at, header) = header_for_frames(&stream).unwrap();
        assert_eq!(at, junk.len());
        assert_eq!(&header[..8], b"fLaC\x80\x00\x00\x22");
        // Block sizes 4096, 44100 Hz, 2 channels, 16 bits, no length, no MD5.
        assert_eq!(&header[8..12], &[0x10, 0x00, 0x10, 0x00]);
        assert_eq!(&header[18..22], &[0x0a, 0xc4, 0x42, 0xf0]);
        assert!(header[22..].iter().all(|&b| b == 0));
        // A frame alone, or two that do not follow each other, are no proof.
        assert_eq!(
            header_for_frames(&[&frame_header(7)[..], &[0x55; 40]].concat()),
            None
        );
        let apart = [&frame_header(7)[..], &[0x55; 40], &frame_header(9)].concat();
        assert_eq!(header_for_frames(&apart), None);
    }
}
