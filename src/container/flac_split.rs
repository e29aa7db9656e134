//! Ends reads where a FLAC stream's frames change format: sample rate, channel count or bit
//! depth (the IETF testbench's "uncommon" files 01-04 do it; so does a stream whose source
//! changes without a new `fLaC` header).
//!
//! Symphonia's FLAC reader checks every frame header against STREAMINFO and takes a frame in
//! another format for part of the frame before it, and its decoder decodes a frame with the
//! STREAMINFO's rate and channel layout: after a change, the audio came out at the wrong speed
//! or not at all, without a word. [`FlacWatch`], a `ByteWatch` on the byte queue (see `watch`),
//! finds the first frame in a new format, confirmed by the frame after it (same format, the
//! next number), ends the reader's reads there, and after the boundary hands out a `fLaC`
//! header with the STREAMINFO that describes the new frames, so a fresh reader and decoder take
//! over with the right format.
//!
//! A `fLaC` header among the frames (FLAC files concatenated, or a source that restarts its
//! encoder) is a boundary too: the reader would take it for damage and go on with the first
//! header's format and length. There the new header itself follows the boundary.
//!
//! Only streams that start with a `fLaC` header (after an ID3v2 tag, if any) are watched: the
//! header gives the format to compare with. A frame header is recognised by its sync code and
//! CRC-8; frames of the current format are not walked one by one (their length is not in the
//! header), so the watcher looks at every sync code in the audio, which costs a byte search.

use std::borrow::Cow;

use crate::container::flac::{
    FrameHeader, frame_header, may_start_frame_header, streaminfo_for, streaminfo_format,
};
use crate::container::mpeg_audio::id3v2_len;
use crate::watch::{Ahead, ByteWatch, Queue};

/// The longest FLAC frame header.
const MAX_HEADER: usize = 16;

/// Bytes of a metadata block header.
const BLOCK_HEADER: usize = 4;

/// How far past a frame in a new format the next one must be found for the change to count;
/// reads wait at the first one meanwhile, so this also bounds what is held back. Real frames
/// are a few KiB to a few tens of KiB.
const CONFIRM_WITHIN: u64 = 256 * 1024;

/// What a frame must share with the frames before it, as STREAMINFO states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Format {
    sample_rate: u32,
    channels: u8,
    bits_per_sample: u8,
}

impl Format {
    /// The format of `frame`, where it defers to STREAMINFO taking `self`'s values.
    fn of(&self, frame: &FrameHeader) -> Format {
        Format {
            sample_rate: match frame.sample_rate {
                0 => self.sample_rate,
                rate => rate,
            },
            channels: frame.channels,
            bits_per_sample: match frame.bits_per_sample {
                0 => self.bits_per_sample,
                bits => bits,
            },
        }
    }
}

/// Where the next stream starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Boundary {
    /// At frames in a new format, with no header of their own.
    NewFormat(FrameHeader),
    /// At a `fLaC` header.
    NewHeader,
}

/// Bytes that start a FLAC stream's header: `fLaC`, then the header of its first metadata
/// block, which must be STREAMINFO (type 0, 34 bytes). The byte at `LAST_FLAG` may also have its
/// top bit set (STREAMINFO is the only block).
const STREAM_HEADER: [u8; 8] = *b"fLaC\x00\x00\x00\x22";
const LAST_FLAG: usize = 4;

/// Whether `bytes` (at most 8 of them) could start a [`STREAM_HEADER`].
fn starts_stream_header(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .zip(STREAM_HEADER)
        .enumerate()
        .all(|(i, (&byte, expected))| byte == expected || (i == LAST_FLAG && byte == 0x80))
}

/// Where a [`STREAM_HEADER`] is in `bytes`: whole, or cut off by the end of `bytes`.
enum HeaderSearch {
    Whole(usize),
    CutOff(usize),
    None,
}

fn find_stream_header(bytes: &[u8]) -> HeaderSearch {
    let mut from = 0;
    while let Some(offset) = memchr::memmem::find(&bytes[from..], b"fLaC") {
        let at = from + offset;
        let rest = &bytes[at..];
        if starts_stream_header(rest) {
            return if rest.len() >= STREAM_HEADER.len() {
                HeaderSearch::Whole(at)
            } else {
                HeaderSearch::CutOff(at)
            };
        }
        from = at + 1;
    }
    // "f", "fL" or "fLa" at the very end.
    let tail = bytes.len().saturating_sub(3);
    match (tail..bytes.len()).find(|&i| starts_stream_header(&bytes[i..])) {
        Some(at) => HeaderSearch::CutOff(at),
        None => HeaderSearch::None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// At the stream's start: an ID3v2 tag, `fLaC`, or something else.
    Start,
    /// In the metadata blocks; the last one ends the header.
    Metadata { last_seen: bool },
    /// In the frames.
    Frames,
    /// Not a FLAC stream with a header: nothing to do.
    Off,
}

#[derive(Debug)]
pub struct FlacWatch {
    phase: Phase,
    /// Stream offset of the next byte to look at. Reads go no further until a change is ruled
    /// out there.
    scanned: u64,
    /// The current frames' format (from STREAMINFO, then from the frames after each change).
    format: Option<Format>,
    /// A frame in `format` has been seen: until then a frame in another format means the header
    /// is wrong (the probe and `container::flac` deal with that), not that the format changed.
    format_seen: bool,
    /// A frame in another format at this offset, waiting for the frame after it.
    candidate: Option<(u64, FrameHeader)>,
    /// The next stream starts at this offset: reads end there until the decoder passes it.
    boundary: Option<(u64, Boundary)>,
    /// The header to hand out before the frames after a boundary, and how much went out.
    header: Vec<u8>,
    header_sent: usize,
}

impl FlacWatch {
    /// Watches the stream from its offset `position` on, which must be its start.
    pub fn new(position: u64) -> Self {
        FlacWatch {
            phase: Phase::Start,
            scanned: position,
            format: None,
            format_seen: false,
            candidate: None,
            boundary: None,
            header: Vec::new(),
            header_sent: 0,
        }
    }

    /// True when the next stream starts at stream offset `position` and reads end there.
    pub fn at_boundary(&self, position: u64) -> bool {
        self.boundary.is_some_and(|(at, _)| at == position)
    }

    /// Lets reads go on into the next stream: frames in a new format behind a header that
    /// describes them, or a stream with its own header.
    pub fn pass_boundary(&mut self) {
        let frame = match self.boundary.take() {
            None => return,
            Some((_, Boundary::NewFormat(frame))) => frame,
            Some((_, Boundary::NewHeader)) => {
                // Its header is read like the first one's.
                self.phase = Phase::Start;
                self.format = None;
                self.format_seen = false;
                return;
            }
        };
        let format = self.format.map(|f| f.of(&frame));
        self.format = format;
        let mut described = frame;
        if let Some(format) = format {
            described.sample_rate = format.sample_rate;
            described.bits_per_sample = format.bits_per_sample;
        }
        self.header = streaminfo_for(&described);
        self.header_sent = 0;
    }

    /// Looks at the bytes from `scanned` on; returns false when more bytes are needed.
    fn step(&mut self, bytes: &[u8], closed: bool) -> bool {
        match self.phase {
            Phase::Start => {
                if bytes.len() < 4 && !closed && b"fLaC".starts_with(bytes) {
                    return false;
                }
                if bytes.starts_with(b"ID3") {
                    return match id3v2_len(bytes) {
                        Some(len) => {
                            self.scanned += len as u64;
                            true
                        }
                        None if bytes.len() < 10 && !closed => false,
                        None => {
                            self.phase = Phase::Off;
                            true
                        }
                    };
                }
                if bytes.starts_with(b"fLaC") {
                    self.scanned += 4;
                    self.phase = Phase::Metadata { last_seen: false };
                } else {
                    self.phase = Phase::Off;
                }
                true
            }
            Phase::Metadata { last_seen: true } => {
                self.phase = if self.format.is_some() {
                    Phase::Frames
                } else {
                    Phase::Off
                };
                true
            }
            Phase::Metadata { last_seen: false } => {
                let Some(block) = bytes.get(..BLOCK_HEADER) else {
                    return closed && self.off();
                };
                let len = u32::from_be_bytes([0, block[1], block[2], block[3]]) as usize;
                if block[0] & 0x7f == 0 {
                    let Some((sample_rate, channels, bits_per_sample)) =
                        streaminfo_format(&bytes[BLOCK_HEADER..])
                    else {
                        return closed && self.off();
                    };
                    self.format = Some(Format {
                        sample_rate,
                        channels,
                        bits_per_sample,
                    });
                }
                self.scanned += (BLOCK_HEADER + len) as u64;
                self.phase = Phase::Metadata {
                    last_seen: block[0] & 0x80 != 0,
                };
                true
            }
            Phase::Frames => self.scan_frames(bytes, closed),
            Phase::Off => false,
        }
    }

    fn off(&mut self) -> bool {
        self.phase = Phase::Off;
        true
    }

    /// Looks for a frame in another format; returns false when more bytes are needed.
    fn scan_frames(&mut self, bytes: &[u8], closed: bool) -> bool {
        let Some(format) = self.format else {
            return self.off();
        };
        // Frame headers are looked for before the next stream header only.
        let search = find_stream_header(bytes);
        let limit = match search {
            HeaderSearch::Whole(at) | HeaderSearch::CutOff(at) => at,
            HeaderSearch::None => bytes.len(),
        };
        let mut at = 0;
        while at < limit
            && let Some(offset) = memchr::memchr(0xff, &bytes[at..limit])
        {
            let i = at + offset;
            let header = &bytes[i..];
            let parsed = frame_header(header);
            if parsed.is_none()
                && may_start_frame_header(header)
                && header.len() < MAX_HEADER
                && !closed
            {
                // Maybe a header, not all here yet: look again when it is. (A whole header
                // goes through at once: the frame before it may be waiting for it.)
                self.scanned += i as u64;
                return false;
            }
            at = i + 1;
            if let Some((candidate_at, _)) = self.candidate
                && self.scanned + i as u64 > candidate_at + CONFIRM_WITHIN
            {
                // No next frame in the new format: it was a false sync.
                self.scanned = candidate_at + 1;
                self.candidate = None;
                return true;
            }
            let Some(frame) = parsed else {
                continue;
            };
            let frame_format = format.of(&frame);
            if !self.format_seen {
                if frame_format != format {
                    return self.off();
                }
                self.format_seen = true;
            }
            match self.candidate {
                None if frame_format != format => {
                    self.candidate = Some((self.scanned + i as u64, frame));
                    at = i + frame.len;
                }
                Some((candidate_at, candidate)) => {
                    if frame_format == format.of(&candidate)
                        && frame.number == candidate.next_number()
                    {
                        // Two frames in a row in the new format: it starts at the first.
                        self.boundary = Some((candidate_at, Boundary::NewFormat(candidate)));
                        self.candidate = None;
                        self.scanned += i as u64;
                        return false;
                    }
                    if frame_format == format {
                        // The frames go on as before: that was a false sync.
                        self.scanned = candidate_at + 1;
                        self.candidate = None;
                        return true;
                    }
                }
                None => {}
            }
        }
        match search {
            HeaderSearch::Whole(at) => {
                // A frame in another format before it was a false sync or a lone frame; the
                // stream goes on to the new header either way.
                self.candidate = None;
                self.boundary = Some((self.scanned + at as u64, Boundary::NewHeader));
                self.scanned += at as u64;
                return false;
            }
            HeaderSearch::CutOff(at) if !closed => {
                self.scanned += at as u64;
                return false;
            }
            _ => {}
        }
        if let Some((candidate_at, _)) = self.candidate
            && self.scanned + bytes.len() as u64 > candidate_at + CONFIRM_WITHIN
        {
            self.scanned = candidate_at + 1;
            self.candidate = None;
            return true;
        }
        if closed {
            // Nothing confirmed the candidate before the end: a lone frame in another format is
            // as likely a false sync in the last frame, which cutting would lose.
            self.candidate = None;
        }
        self.scanned += bytes.len() as u64;
        false
    }
}

impl ByteWatch for FlacWatch {
    fn ahead(&mut self, queue: &mut Queue<'_>) -> Ahead {
        while self.boundary.is_none() && self.phase != Phase::Off && self.scanned < queue.end() {
            let from = self.scanned.max(queue.position());
            self.scanned = from;
            // The queue's ring buffer in place (making it contiguous would move it on every
            // push); where it wraps, a few bytes on each side are copied together.
            let (front, back) = queue.slices_from(from);
            let (bytes, whole): (Cow<'_, [u8]>, bool) = if back.is_empty() {
                (Cow::Borrowed(front), true)
            } else if front.len() > 2 * MAX_HEADER {
                (Cow::Borrowed(front), false)
            } else {
                let take = back.len().min(4 * MAX_HEADER);
                (
                    Cow::Owned([front, &back[..take]].concat()),
                    take == back.len(),
                )
            };
            let closed = queue.closed() && whole;
            if !self.step(&bytes, closed) && (whole || self.scanned == from) {
                break;
            }
        }
        let nothing_more = queue.closed() && self.scanned >= queue.end();
        if self.boundary.is_none() && (self.phase == Phase::Off || nothing_more) {
            // No change found, or none can be confirmed any more: nothing to hold back.
            self.candidate = None;
            return Ahead::ANY;
        }
        match (self.boundary, self.candidate) {
            (Some((at, _)), _) => Ahead {
                stop: true,
                ..Ahead::until(at)
            },
            (None, Some((at, _))) => Ahead::until(at),
            (None, None) => Ahead::until(self.scanned),
        }
    }

    fn insert(&mut self, buf: &mut [u8]) -> usize {
        let rest = &self.header[self.header_sent..];
        let count = rest.len().min(buf.len());
        buf[..count].copy_from_slice(&rest[..count]);
        self.header_sent += count;
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::testing::{Feed, Read};

    /// A FLAC stream's header: `fLaC` and a STREAMINFO block for 4096-sample blocks.
    fn header(rate: u32, channels: u8, bits: u8) -> Vec<u8> {
        let frame = FrameHeader {
            variable_block_size: false,
            block_size: 4096,
            sample_rate: rate,
            channels,
            bits_per_sample: bits,
            number: 0,
            len: 0,
        };
        streaminfo_for(&frame)
    }

    /// A frame: a fixed-block-size header (4096 samples) numbered `n` in the format that the
    /// rate code and channels say, 16 bits, then `body` bytes of 0x55.
    fn frame(n: u8, rate_code: u8, channels: u8, body: usize) -> Vec<u8> {
        let mut f = vec![
            0xff,
            0xf8,
            0xc0 | rate_code,
            ((channels - 1) << 4) | 0x08,
            n,
        ];
        f.push(crate::container::flac::crc8(&f));
        f.resize(f.len() + body, 0x55);
        f
    }

    const R44: u8 = 9;
    const R22: u8 = 6;

    fn stream(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }

    /// Feeds `all` in pieces of `piece` bytes and reads it as the decoder does, passing each
    /// boundary; the bytes each reader got.
    fn streams_read(all: &[u8], piece: usize) -> Vec<Vec<u8>> {
        let mut feed = Feed::default();
        let mut watch = FlacWatch::new(0);
        let mut streams = vec![Vec::new()];
        for chunk in all.chunks(piece) {
            feed.push(chunk);
            loop {
                let (bytes, read) = feed.read_run(&mut watch, 50);
                streams.last_mut().unwrap().extend(bytes);
                if read != Read::Stop {
                    break;
                }
                assert!(watch.at_boundary(feed.position()));
                watch.pass_boundary();
                streams.push(Vec::new());
            }
        }
        feed.close();
        let (bytes, read) = feed.read_run(&mut watch, 50);
        streams.last_mut().unwrap().extend(bytes);
        assert_eq!(read, Read::End);
        streams
    }

    #[test]
    fn frames_in_a_new_format_start_a_new_stream_behind_their_own_header() {
        let first = stream(&[
            header(44_100, 2, 16),
            frame(0, R44, 2, 100),
            frame(1, R44, 2, 100),
        ]);
        let second = stream(&[frame(2, R22, 1, 80), frame(3, R22, 1, 80)]);
        let all = [first.clone(), second.clone()].concat();
        for piece in [1, 7, 64, all.len()] {
            assert_eq!(
                streams_read(&all, piece),
                [
                    first.clone(),
                    [header(22_050, 1, 16), second.clone()].concat()
                ],
                "piece {piece}: the first stream whole, then the second behind its header"
            );
        }
    }

    #[test]
    fn a_new_stream_header_among_the_frames_starts_a_new_stream() {
        // Two files in the same format, then one in another, each with its own header.
        let files = [
            stream(&[
                header(44_100, 2, 16),
                frame(0, R44, 2, 100),
                frame(1, R44, 2, 90),
            ]),
            stream(&[header(44_100, 2, 16), frame(0, R44, 2, 80)]),
            stream(&[
                header(22_050, 1, 16),
                frame(0, R22, 1, 70),
                frame(1, R22, 1, 70),
            ]),
        ];
        let all = files.concat();
        for piece in [1, 3, 7, 64, all.len()] {
            assert_eq!(
                streams_read(&all, piece),
                files,
                "piece {piece}: each file whole, nothing inserted"
            );
        }
    }

    #[test]
    fn a_stream_header_cut_off_by_the_end_is_audio() {
        // "fLaC" and part of a STREAMINFO header at the very end: nothing follows, so no stream
        // starts there and every byte goes to the reader.
        let mut all = stream(&[header(44_100, 2, 16), frame(0, R44, 2, 100)]);
        all.extend(b"fLaC\x00\x00");
        let mut feed = Feed::default();
        let mut watch = FlacWatch::new(0);
        feed.push(&all);
        let (held, read) = feed.read_run(&mut watch, 64);
        assert_eq!((held.len(), read), (all.len() - 6, Read::Wait));
        feed.close();
        assert_eq!(
            feed.read_run(&mut watch, 64),
            (b"fLaC\x00\x00".to_vec(), Read::End)
        );
    }

    #[test]
    fn one_stray_header_in_another_format_is_no_change() {
        // A frame whose body happens to hold a valid header in another format, then more
        // frames in the stream's own format.
        let mut body_with_false_sync = frame(1, R44, 2, 10);
        body_with_false_sync.extend(frame(9, R22, 1, 10));
        let all = stream(&[
            header(44_100, 2, 16),
            frame(0, R44, 2, 100),
            body_with_false_sync,
            frame(2, R44, 2, 100),
            frame(3, R44, 2, 100),
        ]);
        let mut feed = Feed::default();
        let mut watch = FlacWatch::new(0);
        feed.push(&all);
        feed.close();
        assert_eq!(feed.read_run(&mut watch, 64), (all, Read::End));
    }

    #[test]
    fn a_lone_header_in_another_format_before_the_end_or_far_from_any_other_is_no_change() {
        let start = stream(&[header(44_100, 2, 16), frame(0, R44, 2, 100)]);
        // At the end: once the stream is closed, everything goes out.
        let at_end = [start.clone(), frame(1, R22, 1, 100)].concat();
        // Followed by more than `CONFIRM_WITHIN` bytes without another frame header.
        let far = [
            start,
            frame(1, R22, 1, 100),
            vec![0x55; CONFIRM_WITHIN as usize + 1000],
        ]
        .concat();
        for (all, closed) in [(at_end, true), (far, false)] {
            let mut feed = Feed::default();
            let mut watch = FlacWatch::new(0);
            feed.push(&all);
            if closed {
                feed.close();
            }
            let (bytes, read) = feed.read_run(&mut watch, 4096);
            assert_eq!(bytes.len(), all.len());
            assert_eq!(read, if closed { Read::End } else { Read::Wait });
        }
    }

    #[test]
    fn a_header_that_disagrees_with_every_frame_is_no_change() {
        // STREAMINFO says 22.05 kHz mono; the frames are 44.1 kHz stereo from the first on.
        let all = stream(&[
            header(22_050, 1, 16),
            frame(0, R44, 2, 100),
            frame(1, R44, 2, 100),
        ]);
        let mut feed = Feed::default();
        let mut watch = FlacWatch::new(0);
        feed.push(&all);
        assert_eq!(feed.read_run(&mut watch, 64), (all, Read::Wait));
    }

    #[test]
    fn other_streams_pass_untouched() {
        for bytes in [
            b"ID3\x04\x00\x00\x00\x00\x00\x02abOggS and more".to_vec(),
            vec![0xff, 0xfb, 0x90, 0x00, 1, 2, 3],
            [
                &frame(0, R44, 2, 10)[..],
                &frame(1, R22, 1, 10),
                &frame(2, R22, 1, 10),
            ]
            .concat(),
        ] {
            let mut feed = Feed::default();
            let mut watch = FlacWatch::new(0);
            feed.push(&bytes);
            assert_eq!(feed.read_run(&mut watch, 64), (bytes, Read::Wait));
        }
    }
}
