//! Finds where one MPEG audio file ends and the next begins in a byte stream: MPEG-1/2 layer
//! I-III frames and AAC in ADTS frames.
//!
//! Symphonia's MPEG reader treats a concatenation of MP3 files as one file: it discards the
//! second file's Xing/LAME frame and keeps trimming to the first file's frame count, so
//! everything after the first file is lost. No crate splits such a stream, so this walks the
//! frame chain itself: once two frames chain exactly ("locked"), an ID3v2 tag, an ID3v1 tag or a
//! Xing/Info/VBRI frame where the next frame should be, or a frame past the count the file's own
//! Xing header declared, marks the start of a new file. So does a change of the stream's format
//! (sample rate, MPEG layer, AAC profile or channel configuration), confirmed by the next
//! frame: the readers (symphonia's for ADTS, `container::mpeg_audio` for MPEG audio) describe
//! the stream by its first frame, symphonia's AAC decoder fails on every frame after such a
//! change, and a new file brings its own Xing/LAME gapless figures (a change of MPEG mode, mono
//! or stereo, is not one: the MPEG audio decoder follows it). [`MpegWatch`], the
//! splitter as a `ByteWatch` on the byte queue (see `watch`), then ends the current reader's
//! reads there so a fresh one (with its own gapless info) takes over.

use std::collections::VecDeque;

use crate::container::mpeg_audio::{ape_len, id3v2_len};
use crate::watch::{Ahead, ByteWatch, Queue};

/// What to do with the bytes at the walker's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// These many bytes belong to the current file.
    Advance(usize),
    /// A new file starts here.
    Boundary,
    /// These many bytes are no audio and no file of their own (an APE or Lyrics3 tag after
    /// the last frame): drop them before the reader sees them.
    Skip(usize),
    /// Not enough bytes to decide.
    NeedMore,
}

#[derive(Debug, Default, Clone)]
pub struct MpegSplitter {
    /// Two frames chained exactly: positions are trusted frame starts.
    locked: bool,
    /// Frames seen in the current file, the Xing/Info frame included.
    frames_in_file: u32,
    /// Frames the file's Xing/Info header declares (audio frames, without the tag frame).
    declared_frames: Option<u32>,
    /// Nothing but tags seen yet in the current file.
    at_file_start: bool,
    /// An ID3v1 tag ended the file: whatever follows is a new file.
    after_trailing_tag: bool,
    /// The lock was lost inside a file: bytes are being skipped until frames chain again.
    resyncing: bool,
    /// Damage seen so far and not yet reported: (times sync was regained, bytes skipped).
    damage: (u32, u64),
    /// The format of the current file's first frame.
    file_format: Option<FormatKey>,
}

/// The fields of an MPEG audio or ADTS frame header that matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameHeader {
    /// 0: MPEG 2.5, 2: MPEG 2, 3: MPEG 1, [`ADTS`]: AAC in ADTS.
    version: u8,
    /// 1-3 for MPEG audio, 0 for ADTS.
    layer: u8,
    sample_rate: u32,
    /// MPEG: 1 for mono, 2 for the stereo modes; ADTS: the channel configuration.
    channels: u8,
    /// ADTS: the AAC profile; 0 for MPEG audio.
    profile: u8,
    len: usize,
}

/// `FrameHeader::version` of an ADTS frame.
const ADTS: u8 = 4;

/// What must stay the same from frame to frame within one file.
type FormatKey = (u8, u8, u32, u8, u8);

impl FrameHeader {
    fn format_key(&self) -> FormatKey {
        // The MPEG audio decoder follows a change of mode (mono, stereo) within a stream with
        // its state intact, as the compliance stream `he_mode` requires; a new decoder would
        // lose the bit reservoir and the filter bank's overlap. symphonia's AAC decoder keeps
        // the first frame's channel configuration, so for ADTS such a change is a new file.
        let channels = if self.version == ADTS {
            self.channels
        } else {
            0
        };
        (
            self.version,
            self.layer,
            self.sample_rate,
            channels,
            self.profile,
        )
    }
}

impl MpegSplitter {
    pub fn new() -> Self {
        MpegSplitter {
            at_file_start: true,
            ..Default::default()
        }
    }

    /// Starts over for the file that begins at the current position.
    pub fn start_file(&mut self) {
        *self = MpegSplitter::new();
    }

    /// Damage found since the last call: (times frame sync was lost and regained inside a
    /// file, bytes skipped to regain it).
    pub fn take_damage(&mut self) -> (u32, u64) {
        std::mem::take(&mut self.damage)
    }

    /// For a file of ADTS frames whose profile is not AAC-LC (Main, SSR, LTP): the
    /// AudioSpecificConfig its headers describe. symphonia's ADTS reader passes neither the
    /// profile nor a config on, so the decoder would take such a stream for AAC-LC.
    pub fn adts_config_unless_lc(&self) -> Option<[u8; 2]> {
        let (version, _, sample_rate, channels, profile) = self.file_format?;
        const LC: u8 = 1;
        if version != ADTS || profile == LC {
            return None;
        }
        let rate_index = MPEG4_SAMPLE_RATES.iter().position(|&r| r == sample_rate)? as u8;
        // The ADTS profile is the MPEG-4 audio object type less one.
        let object_type = profile + 1;
        Some([
            (object_type << 3) | (rate_index >> 1),
            ((rate_index & 1) << 7) | (channels << 3),
        ])
    }

    /// Decides about the bytes at the walker's position; `ahead` holds what is available from
    /// there. `Advance` may step past the available bytes (a tag or a frame still arriving).
    pub fn step(&mut self, ahead: &[u8]) -> Step {
        if ahead.len() < 10 {
            return Step::NeedMore;
        }
        if self.after_trailing_tag {
            return Step::Boundary;
        }
        if let Some(tag_len) = id3v2_len(ahead) {
            if self.at_file_start {
                return Step::Advance(tag_len);
            }
            if self.locked {
                return Step::Boundary;
            }
        }
        if let Some(step) = trailing_tag(ahead, self.locked) {
            return step;
        }
        if self.locked && ahead.starts_with(b"TAG") {
            self.after_trailing_tag = true;
            return Step::Advance(128);
        }
        let Some(header) = parse_header(ahead) else {
            // Junk or damage: lose the lock and look for the next frame byte by byte.
            if self.locked && self.frames_in_file > 0 {
                self.resyncing = true;
            }
            self.locked = false;
            if self.resyncing {
                self.damage.1 += 1;
            }
            return Step::Advance(1);
        };
        if !self.locked {
            let Some(next) = ahead.get(header.len..header.len + 7) else {
                return Step::NeedMore;
            };
            match parse_header(next) {
                Some(h)
                    if h.version == header.version
                        && h.layer == header.layer
                        && h.sample_rate == header.sample_rate =>
                {
                    self.locked = true;
                    if std::mem::take(&mut self.resyncing) {
                        self.damage.0 += 1;
                    }
                }
                _ => {
                    if self.resyncing {
                        self.damage.1 += 1;
                    }
                    return Step::Advance(1);
                }
            }
        }
        if ahead.len() < INFO_TAG_END {
            return Step::NeedMore;
        }
        match self.file_format {
            None => self.file_format = Some(header.format_key()),
            Some(key) if key != header.format_key() => {
                // A new format: a new file, if the frame after this one agrees; else damage.
                let Some(next) = ahead.get(header.len..header.len + 7) else {
                    return Step::NeedMore;
                };
                if parse_header(next).is_some_and(|h| h.format_key() == header.format_key()) {
                    return Step::Boundary;
                }
                self.locked = false;
                self.resyncing = true;
                self.damage.1 += 1;
                return Step::Advance(1);
            }
            Some(_) => {}
        }
        if let Some(declared) = info_tag_frames(ahead, &header) {
            if self.frames_in_file > 0 {
                return Step::Boundary;
            }
            self.declared_frames = declared;
        } else if self
            .declared_frames
            .is_some_and(|declared| self.frames_in_file > declared)
        {
            return Step::Boundary;
        }
        self.frames_in_file += 1;
        self.at_file_start = false;
        Step::Advance(header.len)
    }
}

/// The splitter on the byte queue (see `watch`): reads end at the start of each new file, and
/// trailing tags are dropped before the reader sees them.
#[derive(Debug)]
pub struct MpegWatch {
    splitter: MpegSplitter,
    /// Stream offset up to which the splitter has assigned bytes to the current file.
    decided_until: u64,
    /// Stream ranges `[start, end)` the splitter found to be no audio (trailing tags): never
    /// handed to the reader. The queue keeps them until the reader gets there, so every
    /// watcher's stream offsets hold.
    dropped: VecDeque<(u64, u64)>,
    /// A new file starts at `decided_until`.
    boundary: bool,
}

impl MpegWatch {
    /// Splits the stream from its offset `position` on.
    pub fn new(position: u64) -> Self {
        MpegWatch {
            splitter: MpegSplitter::new(),
            decided_until: position,
            dropped: VecDeque::new(),
            boundary: false,
        }
    }

    /// True when a new file starts at stream offset `position` and reads end there.
    pub fn at_boundary(&self, position: u64) -> bool {
        self.boundary && position == self.decided_until
    }

    /// Lets reads go on into the next file.
    pub fn pass_boundary(&mut self) {
        self.boundary = false;
        self.splitter.start_file();
    }

    /// See [`MpegSplitter::take_damage`].
    pub fn take_damage(&mut self) -> (u32, u64) {
        self.splitter.take_damage()
    }

    /// See [`MpegSplitter::adts_config_unless_lc`].
    pub fn adts_config_unless_lc(&self) -> Option<[u8; 2]> {
        self.splitter.adts_config_unless_lc()
    }
}

impl ByteWatch for MpegWatch {
    fn ahead(&mut self, queue: &mut Queue<'_>) -> Ahead {
        // The splitter decides about the bytes past `decided_until`.
        while !self.boundary {
            if self.decided_until >= queue.end() {
                if queue.closed() {
                    self.decided_until = u64::MAX;
                }
                break;
            }
            match self
                .splitter
                .step(queue.contiguous_from(self.decided_until))
            {
                Step::Advance(n) => self.decided_until += n as u64,
                Step::Boundary => self.boundary = true,
                Step::Skip(n) => {
                    let end = self.decided_until + n as u64;
                    self.dropped.push_back((self.decided_until, end));
                    self.decided_until = end;
                }
                Step::NeedMore if queue.closed() => self.decided_until = u64::MAX,
                Step::NeedMore => break,
            }
        }
        // At a dropped range: drop what of it has arrived, and forget it once passed.
        let mut position = queue.position();
        while let Some(&(start, end)) = self.dropped.front() {
            if position < start {
                break;
            }
            position = position.max(end.min(queue.end()));
            if position < end {
                break;
            }
            self.dropped.pop_front();
        }
        let dropped_from = self.dropped.front().map_or(u64::MAX, |(start, _)| *start);
        Ahead {
            drop_until: position,
            read_until: self.decided_until.min(dropped_from),
            stop: self.boundary && dropped_from >= self.decided_until,
        }
    }
}

/// The most bytes to look through for the end of a Lyrics3 tag (its own limit is 999999, but
/// real ones hold a few KiB of text); past it the bytes count as junk.
const LYRICS3_MAX: usize = 256 * 1024;

/// An APEv2 tag (with its header) or a Lyrics3 tag where a frame should start: the tagging
/// formats MP3 files carry at their end, besides ID3v1. symphonia's reader would scan them for
/// frame sync, and binary items (cover art) hold false syncs it decodes as noise.
fn trailing_tag(ahead: &[u8], locked: bool) -> Option<Step> {
    // Only after a frame chain: elsewhere (junk, another container) these bytes are data.
    if !locked {
        return None;
    }
    if ahead.starts_with(b"APETAGEX") {
        // A header drops the whole tag; a footer right after the last frame (a tag without
        // items) just itself.
        return Some(ape_len(ahead).map_or(Step::NeedMore, Step::Skip));
    }
    const LYRICS3: &[u8] = b"LYRICSBEGIN";
    if ahead.len() < LYRICS3.len() && LYRICS3.starts_with(ahead) {
        return Some(Step::NeedMore);
    }
    if ahead.starts_with(LYRICS3) {
        let end = [&b"LYRICS200"[..], b"LYRICSEND"].iter().find_map(|marker| {
            ahead[..ahead.len().min(LYRICS3_MAX)]
                .windows(marker.len())
                .position(|w| w == *marker)
                .map(|at| at + marker.len())
        });
        return match end {
            Some(end) => Some(Step::Skip(end)),
            None if ahead.len() < LYRICS3_MAX => Some(Step::NeedMore),
            None => None,
        };
    }
    apev1_tag(ahead)
}

/// The most bytes an APEv1 tag is looked for in: version 1 holds text items only, a few KiB.
const APEV1_MAX: usize = 16 * 1024;

/// An APE tag without a header (APEv1, and APEv2 written so): items, then a footer whose size
/// counts the items and itself. Where a frame should start, bytes shaped like an item (value
/// length, flags, a printable key and its NUL) are that tag if such a footer follows at the
/// distance its size says.
fn apev1_tag(ahead: &[u8]) -> Option<Step> {
    let le32 = |at: usize| {
        ahead
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
    };
    let (value_len, flags) = (le32(0)?, le32(4)?);
    if value_len > APEV1_MAX || flags & !0x7 != 0 {
        return None;
    }
    let key = ahead.get(8..)?;
    let key_len = match key
        .iter()
        .take(256)
        .position(|b| !(0x20..=0x7e).contains(b))
    {
        Some(len) => len,
        // A key still arriving.
        None if key.len() < 256 => return Some(Step::NeedMore),
        None => return None,
    };
    if key_len < 2 || key[key_len] != 0 {
        return None;
    }
    let window = &ahead[..ahead.len().min(APEV1_MAX)];
    let footer = window
        .windows(8)
        .enumerate()
        .filter(|(_, w)| *w == b"APETAGEX")
        .map(|(at, _)| at)
        .find(|&at| le32(at + 12) == Some(at + 32));
    match footer {
        Some(at) => Some(Step::Skip(at + 32)),
        None if ahead.len() < APEV1_MAX => Some(Step::NeedMore),
        None => None,
    }
}

/// Bytes needed to look for an info tag: header, the longest side info, tag id, flags, count.
const INFO_TAG_END: usize = 4 + 32 + 12;

fn parse_header(bytes: &[u8]) -> Option<FrameHeader> {
    let b = bytes.get(..4)?;
    if b[0] != 0xff || b[1] & 0xe0 != 0xe0 {
        return None;
    }
    if b[1] & 0xf6 == 0xf0 {
        return parse_adts_header(bytes);
    }
    // The MPEG audio reader's parser; a free-format frame has no length of its own, so it is
    // not one here (the reader finds its length from the frames around it).
    let h = crate::container::mpeg_audio::FrameHeader::parse(b)?;
    Some(FrameHeader {
        version: h.version,
        layer: h.layer,
        sample_rate: h.sample_rate,
        channels: if h.mono { 1 } else { 2 },
        profile: 0,
        len: h.len(None)?,
    })
}

/// Whether `bytes` start with an ADTS frame header this splitter accepts.
pub fn starts_with_adts_header(bytes: &[u8]) -> bool {
    bytes
        .get(..2)
        .is_some_and(|b| b[0] == 0xff && b[1] & 0xf6 == 0xf0)
        && parse_adts_header(bytes).is_some()
}

/// The MPEG-4 sampling frequency table (ISO/IEC 14496-3, 1.6.3.4), indexed as ADTS headers
/// and AudioSpecificConfigs index it.
pub const MPEG4_SAMPLE_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// An ADTS header: 12 sync bits, the layer bits 00, then profile, sampling frequency index,
/// channel configuration and the 13-bit frame length (header included).
fn parse_adts_header(bytes: &[u8]) -> Option<FrameHeader> {
    let b = bytes.get(..6)?;
    let sample_rate = *MPEG4_SAMPLE_RATES.get(((b[2] >> 2) & 0xf) as usize)?;
    let header_len = if b[1] & 1 == 0 { 9 } else { 7 };
    let len = ((b[3] as usize & 3) << 11) | ((b[4] as usize) << 3) | (b[5] as usize >> 5);
    if len < header_len {
        return None;
    }
    Some(FrameHeader {
        version: ADTS,
        layer: 0,
        sample_rate,
        channels: ((b[2] & 1) << 2) | (b[3] >> 6),
        profile: b[2] >> 6,
        len,
    })
}

/// If the frame carries a Xing/Info or VBRI tag, the number of audio frames it declares.
fn info_tag_frames(frame: &[u8], header: &FrameHeader) -> Option<Option<u32>> {
    if header.layer != 3 {
        return None;
    }
    let be32 = |at: usize| {
        frame
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    if let Some(xing) = crate::container::mpeg_audio::xing_tag_at(frame) {
        let flags = be32(xing + 4)?;
        return Some(if flags & 1 != 0 { be32(xing + 8) } else { None });
    }
    if frame.get(36..40) == Some(b"VBRI") {
        return Some(be32(36 + 14));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An MPEG-1 layer III frame at 44.1 kHz, 128 kb/s, stereo (417 bytes).
    fn frame(fill: u8) -> Vec<u8> {
        let mut f = vec![fill; 417];
        f[..4].copy_from_slice(&[0xff, 0xfb, 0x90, 0x00]);
        f
    }

    fn xing_frame(frames: u32) -> Vec<u8> {
        let mut f = frame(0);
        f[36..40].copy_from_slice(b"Xing");
        f[40..44].copy_from_slice(&1u32.to_be_bytes());
        f[44..48].copy_from_slice(&frames.to_be_bytes());
        f
    }

    fn id3(size: usize) -> Vec<u8> {
        let mut tag = b"ID3\x04\x00\x00".to_vec();
        tag.extend([
            (size >> 21) as u8 & 0x7f,
            (size >> 14) as u8 & 0x7f,
            (size >> 7) as u8 & 0x7f,
            size as u8 & 0x7f,
        ]);
        tag.extend(vec![0x55; size]);
        tag
    }

    /// Runs the splitter over a whole stream; returns the boundary offsets.
    fn boundaries(stream: &[u8]) -> Vec<usize> {
        let mut splitter = MpegSplitter::new();
        let mut pos = 0;
        let mut found = Vec::new();
        while pos < stream.len() {
            match splitter.step(&stream[pos..]) {
                Step::Advance(n) | Step::Skip(n) => pos += n,
                Step::Boundary => {
                    found.push(pos);
                    splitter.start_file();
                    // A new file starts with something to advance over, unless it is too
                    // short to lock on (the stream buffer then hands out the rest at the end).
                    match splitter.step(&stream[pos..]) {
                        Step::Advance(n) | Step::Skip(n) => pos += n,
                        Step::NeedMore => break,
                        Step::Boundary => panic!("boundary at a file start"),
                    }
                }
                Step::NeedMore => break,
            }
        }
        found
    }

    #[test]
    fn parses_frame_lengths() {
        let h = parse_header(&[0xff, 0xfb, 0x90, 0x00]).unwrap();
        assert_eq!(
            (h.version, h.layer, h.sample_rate, h.len),
            (3, 3, 44_100, 417)
        );
        let padded = parse_header(&[0xff, 0xfb, 0x92, 0x00]).unwrap();
        assert_eq!(padded.len, 418);
        // MPEG-2 layer III, 24 kHz, 64 kb/s: 72 * 64000 / 24000 = 192.
        let v2 = parse_header(&[0xff, 0xf3, 0x84, 0x00]).unwrap();
        assert_eq!((v2.sample_rate, v2.len), (24_000, 192));
        // MPEG-1 layer II, 48 kHz, 192 kb/s: 144 * 192000 / 48000 = 576.
        let l2 = parse_header(&[0xff, 0xfd, 0xa4, 0x00]).unwrap();
        assert_eq!((l2.layer, l2.len), (2, 576));
        // ADTS, AAC LC, 44.1 kHz, 2 channels, 371 bytes.
        let adts = parse_header(&adts_header(4, 2, 371)).unwrap();
        assert_eq!(
            (adts.version, adts.sample_rate, adts.channels, adts.len),
            (ADTS, 44_100, 2, 371)
        );
        assert!(parse_header(b"OggS").is_none());
    }

    fn file(tag: bool, audio_frames: u32, fill: u8) -> Vec<u8> {
        let mut out = if tag { id3(300) } else { Vec::new() };
        out.extend(xing_frame(audio_frames));
        for _ in 0..audio_frames {
            out.extend(frame(fill));
        }
        out
    }

    #[test]
    fn finds_the_start_of_each_file() {
        let a = file(true, 5, 0x11);
        let b = file(false, 4, 0x22);
        let c = file(true, 6, 0x33);
        let stream = [a.clone(), b.clone(), c].concat();
        assert_eq!(boundaries(&stream), [a.len(), a.len() + b.len()]);
    }

    #[test]
    fn declared_frame_count_ends_a_file_without_tags() {
        let mut stream = file(false, 3, 0x11);
        let first = stream.len();
        for _ in 0..4 {
            stream.extend(frame(0x44));
        }
        assert_eq!(boundaries(&stream), [first]);
    }

    #[test]
    fn id3v1_tag_ends_a_file() {
        let mut stream = file(false, 3, 0x11);
        stream.extend(b"TAG");
        stream.extend(vec![0x20; 125]);
        let first = stream.len();
        stream.extend(file(false, 2, 0x22));
        assert_eq!(boundaries(&stream), [first]);
    }

    #[test]
    fn junk_between_frames_is_no_boundary() {
        // Junk inside a file (between its first and second audio frames) loses the lock for
        // a moment but starts no new file.
        let mut stream = file(true, 3, 0x11);
        let second_audio_frame = stream.len() - 2 * 417;
        stream.splice(second_audio_frame..second_audio_frame, vec![0x00; 50]);
        assert!(boundaries(&stream).is_empty());
        // Frames past the count the Xing header declared belong to a new file.
        stream.extend(frame(0x11));
        assert_eq!(boundaries(&stream), [stream.len() - 417]);
    }

    #[test]
    fn damage_inside_a_file_is_counted() {
        let mut stream = file(false, 6, 0x11);
        let third = 417 * 3;
        stream[third..third + 600].fill(0);
        let mut splitter = MpegSplitter::new();
        let mut pos = 0;
        while let Step::Advance(n) = splitter.step(&stream[pos..]) {
            pos += n;
        }
        // Frame 3 (417 bytes) and 183 bytes of frame 4 are zeros: sync comes back at frame 5.
        assert_eq!(splitter.take_damage(), (1, 417 * 2));
        assert_eq!(splitter.take_damage(), (0, 0));
    }

    fn adts_header(rate_index: u8, channels: u8, len: usize) -> [u8; 7] {
        [
            0xff,
            0xf1,
            0x40 | (rate_index << 2) | (channels >> 2),
            ((channels & 3) << 6) | ((len >> 11) & 3) as u8,
            (len >> 3) as u8,
            ((len & 7) << 5) as u8 | 0x1f,
            0xfc,
        ]
    }

    fn adts_frames(rate_index: u8, channels: u8, count: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..count {
            let len = 300 + i % 7;
            out.extend(adts_header(rate_index, channels, len));
            out.extend(vec![0x21; len - 7]);
        }
        out
    }

    #[test]
    fn adts_profiles_other_than_lc_give_their_config() {
        let config = |profile: u8| {
            let mut stream = adts_frames(4, 2, 4);
            let starts: Vec<usize> = (0..stream.len())
                .filter(|&i| stream[i..].starts_with(&[0xff, 0xf1]))
                .collect();
            for start in starts {
                stream[start + 2] = (stream[start + 2] & 0x3f) | (profile << 6);
            }
            let mut splitter = MpegSplitter::new();
            let mut pos = 0;
            while let Step::Advance(n) = splitter.step(&stream[pos..]) {
                pos += n;
            }
            splitter.adts_config_unless_lc()
        };
        assert_eq!(config(1), None, "AAC-LC");
        // Main (object type 1), 44.1 kHz (index 4), stereo: 00001 0100 0010 000.
        assert_eq!(config(0), Some([0x0a, 0x10]));
        // LTP (object type 4).
        assert_eq!(config(3), Some([0x22, 0x10]));
        let mp3 = file(false, 3, 0x11);
        let mut splitter = MpegSplitter::new();
        let mut pos = 0;
        while let Step::Advance(n) = splitter.step(&mp3[pos..]) {
            pos += n;
        }
        assert_eq!(splitter.adts_config_unless_lc(), None, "MP3");
    }

    #[test]
    fn a_change_of_format_starts_a_new_file() {
        // ADTS: 44.1 kHz stereo, then 22.05 kHz mono.
        let first = adts_frames(4, 2, 10);
        let stream = [first.clone(), adts_frames(7, 1, 10)].concat();
        assert_eq!(boundaries(&stream), [first.len()]);
        // MP3: 44.1 kHz, then 48 kHz (128 kb/s: 384 bytes).
        let mut at_48k = frame(0x22);
        at_48k[2] = 0x94;
        at_48k.truncate(384);
        let at_44k = file(false, 3, 0x11);
        let stream = [at_44k.clone(), at_48k.clone(), at_48k.clone(), at_48k].concat();
        assert_eq!(boundaries(&stream), [at_44k.len()]);
    }

    #[test]
    fn a_change_of_mpeg_mode_is_no_new_file() {
        // Stereo, then mono at the same rate: one stream, as the compliance stream `he_mode`
        // (mono, dual channel, stereo, joint stereo, mono) is.
        let mut mono = frame(0x22);
        mono[3] = 0xc0;
        let stereo = frame(0x11);
        let stream = [xing_frame(4), stereo.clone(), stereo, mono.clone(), mono].concat();
        assert!(boundaries(&stream).is_empty());
    }

    #[test]
    fn joint_stereo_and_one_odd_frame_are_no_change_of_format() {
        // Stereo and joint stereo frames mixed: the same format.
        let mut stream = file(false, 4, 0x11);
        stream[417 * 2 + 3] = 0x40;
        assert!(boundaries(&stream).is_empty());
        // A single ADTS header damaged into another rate is damage, not a new file.
        let mut stream = adts_frames(4, 2, 10);
        stream[300 * 3 + 3 + 2] = 0x40 | (7 << 2);
        assert!(boundaries(&stream).is_empty());
    }

    #[test]
    fn other_formats_never_split() {
        let mut ogg = b"OggS".to_vec();
        let mut x = 12345u32;
        for _ in 0..100_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            ogg.push((x >> 16) as u8);
        }
        assert!(boundaries(&ogg).is_empty());
    }
    /// Reads `stream`, pushed in pieces of `chunk` bytes, through the watcher; returns the
    /// bytes of each file the reader got.
    /// The files the reader gets from `stream` on the queue, pushed whole and in 1-, 7- and
    /// 100-byte pieces, are `files`.
    fn assert_reads_files(stream: &[u8], files: &[Vec<u8>]) {
        for chunk in [1, 7, 100, stream.len()] {
            assert_eq!(read_files(stream, chunk), files, "chunk {chunk}");
        }
    }

    fn read_files(stream: &[u8], chunk: usize) -> Vec<Vec<u8>> {
        use crate::watch::testing::{Feed, Read};
        let mut feed = Feed::default();
        let mut watch = MpegWatch::new(0);
        let mut files = vec![Vec::new()];
        let mut drive = |feed: &mut Feed, files: &mut Vec<Vec<u8>>| {
            loop {
                let (bytes, end) = feed.read_run(&mut watch, 100);
                files.last_mut().unwrap().extend(bytes);
                match end {
                    Read::Stop => {
                        assert!(watch.at_boundary(feed.position()));
                        watch.pass_boundary();
                        assert!(!watch.at_boundary(feed.position()));
                        files.push(Vec::new());
                    }
                    Read::End => return true,
                    _ => return false,
                }
            }
        };
        for part in stream.chunks(chunk) {
            feed.push(part);
            assert!(!drive(&mut feed, &mut files), "not the end before close");
        }
        feed.close();
        assert!(drive(&mut feed, &mut files));
        files
    }

    #[test]
    fn on_the_queue_reads_end_at_each_file() {
        let a = file(true, 5, 0x11);
        let b = file(false, 4, 0x22);
        let stream = [a.clone(), b.clone()].concat();
        assert_reads_files(&stream, &[a, b]);
    }

    #[test]
    fn an_ape_tag_without_a_header_is_dropped_too() {
        let a = file(false, 3, 0x11);
        let b = file(false, 2, 0x22);
        // APEv1: one item (value length, flags, key, NUL, value), then the footer.
        let mut items = 5u32.to_le_bytes().to_vec();
        items.extend(0u32.to_le_bytes());
        items.extend(b"Title\0Hello");
        let mut tag = items.clone();
        tag.extend(b"APETAGEX");
        tag.extend(1000u32.to_le_bytes());
        tag.extend(((items.len() + 32) as u32).to_le_bytes());
        tag.extend(1u32.to_le_bytes());
        tag.extend([0; 12]);
        let stream = [a.clone(), tag, b.clone()].concat();
        assert_reads_files(&stream, &[a, b]);
    }

    #[test]
    fn on_the_queue_a_trailing_ape_tag_never_reaches_the_reader() {
        let a = file(false, 3, 0x11);
        let b = file(false, 2, 0x22);
        // An APEv2 tag with its header: 32-byte header, 40 bytes of items, 32-byte footer.
        let mut tag = b"APETAGEX".to_vec();
        tag.extend(2000u32.to_le_bytes());
        tag.extend(72u32.to_le_bytes());
        tag.extend(1u32.to_le_bytes());
        tag.extend((1u32 << 29).to_le_bytes());
        tag.extend([0; 8]);
        tag.extend([0xff; 40]);
        tag.extend(b"APETAGEX");
        tag.extend([0; 24]);
        let stream = [a.clone(), tag, b.clone()].concat();
        assert_reads_files(&stream, &[a, b]);
    }
}
