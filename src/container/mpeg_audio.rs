//! MPEG audio elementary streams (MP1, MP2, MP3): frames cut into packets for the MPEG audio
//! decoder, with the Xing/Info/LAME and VBRI headers' gapless information.
//!
//! Written here because symphonia's MPEG reader refuses what the ISO/IEC 11172-4 compliance
//! streams and real files hold: free-format streams (no bitrate in the header, as `he_free`),
//! a stream of a single frame, or a frame followed by a tag instead of another frame (it wants
//! two frames in a row to accept the first), and a first frame whose mode differs from the
//! second's. Where one file ends and the next begins (ID3 tags, Xing headers, format changes)
//! is found before the reader sees the bytes, by `mpeg_split`; this reader reads one file.

use std::collections::VecDeque;
use std::io::Read;

use symphonia::core::audio::layouts::{CHANNEL_LAYOUT_MONO, CHANNEL_LAYOUT_STEREO};
use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::well_known::{CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3};
use symphonia::core::errors::{Error as SymphoniaError, Result, SeekErrorKind, seek_error};
use symphonia::core::formats::probe::{
    ProbeDataMatchSpec, ProbeFormatData, ProbeableFormat, Score, Scoreable,
};
use symphonia::core::formats::well_known::{FORMAT_ID_MP1, FORMAT_ID_MP2, FORMAT_ID_MP3};
use symphonia::core::formats::{
    FormatInfo, FormatOptions, FormatReader, SeekMode, SeekTo, SeekedTo, Track,
};
use symphonia::core::io::{MediaSourceStream, ReadBytes, ScopedStream};
use symphonia::core::meta::{Metadata, MetadataLog};
use symphonia::core::packet::{Packet, PacketBuilder};
use symphonia::core::units::{Duration, Timestamp};

/// A frame header is four bytes.
const HEADER_LEN: usize = 4;
/// The longest free-format frame looked for: 640 kbit/s layer III at 8 kHz would be 2 x 2880
/// bytes; minimp3 looks as far, no real encoder writes longer.
const MAX_FREE_FORMAT_LEN: usize = 2 * 2880;
/// An ID3v1 tag: `TAG` and 125 bytes.
const ID3V1_LEN: usize = 128;
/// An APE tag's header or footer: `APETAGEX` and 24 bytes.
const APE_FOOTER_LEN: usize = 32;

/// The decoder delay every MPEG audio decoder adds (528 samples of the filter bank, plus one),
/// which LAME's encoder delay does not include.
const DECODER_DELAY: u32 = 529;

/// The fields of an MPEG audio frame header this reader needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5.
    pub version: u8,
    /// 1, 2 or 3.
    pub layer: u8,
    pub sample_rate: u32,
    /// kbit/s; 0 in a free-format stream.
    bitrate: u32,
    padding: bool,
    pub mono: bool,
    protected: bool,
}

const BITRATES_MPEG1: [[u32; 14]; 3] = [
    [
        32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    [
        32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    [
        32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
];
const BITRATES_MPEG2: [[u32; 14]; 2] = [
    [
        32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];

impl FrameHeader {
    /// The header at the start of `b`, if it is a valid one (free format included).
    pub fn parse(b: &[u8]) -> Option<FrameHeader> {
        let b: [u8; 4] = b.get(..HEADER_LEN)?.try_into().ok()?;
        if b[0] != 0xff || b[1] & 0xe0 != 0xe0 {
            return None;
        }
        let version = (b[1] >> 3) & 3;
        let layer = 4 - ((b[1] >> 1) & 3);
        let bitrate_index = (b[2] >> 4) as usize;
        let rate_index = ((b[2] >> 2) & 3) as usize;
        if version == 1 || layer == 4 || bitrate_index == 15 || rate_index == 3 {
            return None;
        }
        let mpeg1 = version == 3;
        let bitrate = match bitrate_index {
            0 => 0,
            i if mpeg1 => BITRATES_MPEG1[layer as usize - 1][i - 1],
            i => BITRATES_MPEG2[usize::from(layer != 1)][i - 1],
        };
        let base_rate = [44_100, 48_000, 32_000][rate_index];
        Some(FrameHeader {
            version,
            layer,
            sample_rate: match version {
                3 => base_rate,
                2 => base_rate / 2,
                _ => base_rate / 4,
            },
            bitrate,
            padding: b[2] & 2 != 0,
            mono: b[3] >> 6 == 3,
            protected: b[1] & 1 == 0,
        })
    }

    fn mpeg1(&self) -> bool {
        self.version == 3
    }

    /// Samples per channel in the frame.
    pub fn samples(&self) -> u32 {
        frame_samples(self.layer, self.sample_rate)
    }

    /// A free-format frame: no bitrate in the header, so no length of its own.
    pub fn is_free_format(&self) -> bool {
        self.bitrate == 0
    }

    fn padding_len(&self) -> usize {
        match (self.padding, self.layer) {
            (false, _) => 0,
            (true, 1) => 4,
            (true, _) => 1,
        }
    }

    /// The frame's length in bytes, header included; `free_len` is the free-format length
    /// without padding, once known.
    pub fn len(&self, free_len: Option<usize>) -> Option<usize> {
        let unpadded = match self.bitrate {
            0 => free_len?,
            kbps => {
                let bits = kbps * 1000 * self.samples();
                let slot = if self.layer == 1 { 4 } else { 1 };
                (bits / 8 / self.sample_rate / slot) as usize * slot as usize
            }
        };
        Some(unpadded + self.padding_len())
    }

    /// Whether `other` can be the next frame of the same stream: version, layer, rate and
    /// free format or not (minimp3's test; the mode may change).
    pub fn same_stream(&self, other: &FrameHeader) -> bool {
        self.version == other.version
            && self.layer == other.layer
            && self.sample_rate == other.sample_rate
            && (self.bitrate == 0) == (other.bitrate == 0)
    }

    /// Where a Xing/Info tag would start in a layer III frame: after the side information.
    fn info_tag_offset(&self) -> usize {
        let side_info = match (self.mpeg1(), self.mono) {
            (true, false) => 32,
            (true, true) | (false, false) => 17,
            (false, true) => 9,
        };
        HEADER_LEN + usize::from(self.protected) * 2 + side_info
    }

    pub fn codec_and_format(
        &self,
    ) -> (
        symphonia::core::codecs::audio::AudioCodecId,
        &'static FormatInfo,
    ) {
        match self.layer {
            1 => (CODEC_ID_MP1, &MP1_INFO),
            2 => (CODEC_ID_MP2, &MP2_INFO),
            _ => (CODEC_ID_MP3, &MP3_INFO),
        }
    }
}

/// Samples per channel in an MPEG audio frame of this layer and sample rate.
pub fn frame_samples(layer: u8, sample_rate: u32) -> u32 {
    match layer {
        1 => 384,
        // MPEG-2 and 2.5 (below 32 kHz) carry one granule per layer III frame.
        3 if sample_rate < 32_000 => 576,
        _ => 1152,
    }
}

/// The whole length (header, body, footer) of the ID3v2 tag that starts `ahead`, from its
/// first 10 bytes.
pub fn id3v2_len(ahead: &[u8]) -> Option<usize> {
    if !ahead.starts_with(b"ID3") || ahead.len() < 10 {
        return None;
    }
    let size = ahead[6..10]
        .iter()
        .fold(0usize, |acc, b| (acc << 7) | (*b & 0x7f) as usize);
    let footer = if ahead[5] & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// The bytes to drop for the APE tag header or footer that starts `ahead` (24 bytes are
/// enough to tell). A header is followed by the items and a footer, which its size counts; a
/// footer alone comes after items already passed, so it is only itself.
pub fn ape_len(ahead: &[u8]) -> Option<usize> {
    if !ahead.starts_with(b"APETAGEX") || ahead.len() < 24 {
        return None;
    }
    let size = u32::from_le_bytes(ahead[12..16].try_into().unwrap()) as usize;
    // Flags bit 29: this block is the header.
    let is_header = ahead[23] & 0x20 != 0;
    Some(if is_header {
        APE_FOOTER_LEN + size
    } else {
        APE_FOOTER_LEN
    })
}

/// A tag that may sit between or after frames, and its length when the bytes tell it.
fn tag_len(ahead: &[u8]) -> Option<usize> {
    if ahead.starts_with(b"TAG") {
        return Some(ID3V1_LEN);
    }
    id3v2_len(ahead).or_else(|| ape_len(ahead))
}

/// Whether the bytes start like a tag (enough of them to tell, or fewer at the end).
pub(super) fn starts_with_tag(ahead: &[u8]) -> bool {
    [&b"TAG"[..], b"ID3", b"APETAGEX", b"LYRICSBEGIN"]
        .iter()
        .any(|marker| ahead.starts_with(marker))
}

static MP1_INFO: FormatInfo = FormatInfo {
    format: FORMAT_ID_MP1,
    short_name: "mp1",
    long_name: "MPEG Audio Layer 1 Native",
};
static MP2_INFO: FormatInfo = FormatInfo {
    format: FORMAT_ID_MP2,
    short_name: "mp2",
    long_name: "MPEG Audio Layer 2 Native",
};
static MP3_INFO: FormatInfo = FormatInfo {
    format: FORMAT_ID_MP3,
    short_name: "mp3",
    long_name: "MPEG Audio Layer 3 Native",
};

/// Bytes read from the source and not yet handed out: frames are recognised by what follows
/// them, so the reader looks ahead.
struct Lookahead<'s> {
    source: MediaSourceStream<'s>,
    bytes: VecDeque<u8>,
    ended: bool,
}

impl Lookahead<'_> {
    /// Makes `n` bytes available unless the stream ends first; true when they are.
    fn fill(&mut self, n: usize) -> bool {
        let mut chunk = [0u8; 4096];
        while self.bytes.len() < n && !self.ended {
            let want = (n - self.bytes.len()).min(chunk.len());
            // Everything read so far is in `bytes`: the ring need not keep it.
            super::source::restart_read_ahead(&mut self.source);
            match self.source.read(&mut chunk[..want]) {
                Ok(0) | Err(_) => self.ended = true,
                Ok(got) => self.bytes.extend(&chunk[..got]),
            }
        }
        self.bytes.len() >= n
    }

    /// Up to `n` bytes from the current position, as many as are there.
    fn peek(&mut self, n: usize) -> &[u8] {
        self.fill(n);
        let len = n.min(self.bytes.len());
        &self.bytes.make_contiguous()[..len]
    }

    fn skip(&mut self, n: usize) {
        self.fill(n);
        self.bytes.drain(..n.min(self.bytes.len()));
    }
}

/// A [`FormatReader`] for MPEG audio elementary streams.
pub struct MpegAudioReader<'s> {
    ahead: Lookahead<'s>,
    info: &'static FormatInfo,
    tracks: Vec<Track>,
    media_info: symphonia::core::formats::MediaInfo,
    metadata: MetadataLog,
    /// The first audio frame, found by `try_new` and not handed out yet.
    first_audio: Option<Found>,
    /// The last frame handed out: the next one must be of the same stream or be confirmed.
    last: Option<FrameHeader>,
    /// Free-format frame length without padding, once found.
    free_len: Option<usize>,
    next_ts: Timestamp,
    /// Where the stream's audio ends, from the Xing/LAME header (for the end trim).
    end_ts: Option<Timestamp>,
}

/// A frame found at the start of the lookahead.
struct Found {
    header: FrameHeader,
    len: usize,
}

impl<'s> MpegAudioReader<'s> {
    /// Reads up to the first audio frame (past an ID3v2 tag, junk and a Xing/Info/LAME or
    /// VBRI frame, whose figures it keeps).
    pub fn try_new(source: MediaSourceStream<'s>, opts: FormatOptions) -> Result<Self> {
        let mut ahead = Lookahead {
            source,
            bytes: VecDeque::new(),
            ended: false,
        };
        let mut free_len = None;
        let Some(first) = find_frame(&mut ahead, None, &mut free_len, MAX_JUNK_BEFORE_FIRST) else {
            return Err(SymphoniaError::Unsupported(
                "mpeg audio: no frame in the first bytes",
            ));
        };
        let header = first.header;
        let (_, info) = header.codec_and_format();
        let mut track = header_track(&header);
        let mut end_ts = None;
        let mut next_ts = Timestamp::ZERO;
        let summary = info_frame(ahead.peek(first.len), &header);
        let (first_audio, last) = match &summary {
            // The stream's own header: no audio, and the frame right after it needs no
            // confirmation.
            Some(_) => {
                ahead.skip(first.len);
                (None, Some(header))
            }
            // The first frame is confirmed already: the first packet needs no second look.
            None => (Some(first), None),
        };
        if let Some(mut summary) = summary {
            // Figures that trim more than the stream holds (LAME 3.97 wrote them for very short
            // inputs, as in mutagen's `lame397v9short.mp3`) cannot all be right: the delay is
            // kept, the padding dropped, rather than the whole stream.
            if let (Some(frames), Some((delay, padding))) =
                (summary.frames, summary.delay_padding.as_mut())
            {
                let total = u64::from(frames) * u64::from(header.samples());
                if u64::from(*delay) + u64::from(*padding) >= total {
                    *padding = 0;
                    if u64::from(*delay) >= total {
                        summary.delay_padding = None;
                    }
                }
            }
            let (delay, padding) = summary.delay_padding.unwrap_or((0, 0));
            if summary.delay_padding.is_some() {
                track.with_delay(delay).with_padding(padding);
            }
            if let Some(frames) = summary.frames {
                let total = u64::from(frames) * u64::from(header.samples());
                let frames = total.saturating_sub(u64::from(delay) + u64::from(padding));
                track.with_num_frames(frames);
                track.with_duration(Duration::from(frames));
                end_ts = Timestamp::try_from(frames).ok();
            }
            next_ts = Timestamp::from(-i64::from(delay));
        }
        Ok(MpegAudioReader {
            ahead,
            info,
            media_info: symphonia::core::formats::MediaInfo::from_track(&track),
            tracks: vec![track],
            metadata: opts.external_data.metadata.unwrap_or_default(),
            first_audio,
            last,
            free_len,
            next_ts,
            end_ts,
        })
    }
}

/// The track of MPEG audio frames (FLV and AVI chunks), from the first frame's header.
pub fn frames_track(frames: &[u8]) -> Option<Track> {
    FrameHeader::parse(frames).map(|header| header_track(&header))
}

/// The track of MPEG audio whose first frame has this header.
fn header_track(header: &FrameHeader) -> Track {
    let (codec, _) = header.codec_and_format();
    let mut params = AudioCodecParameters::new();
    params
        .for_codec(codec)
        .with_sample_rate(header.sample_rate)
        .with_channels(if header.mono {
            CHANNEL_LAYOUT_MONO
        } else {
            CHANNEL_LAYOUT_STEREO
        });
    super::audio_track(params)
}

/// Samples in whole MPEG audio frames (an FLV tag, an AVI packet).
pub fn frames_samples(mut frames: &[u8]) -> u64 {
    let mut samples = 0;
    while let Some(header) = FrameHeader::parse(frames) {
        samples += u64::from(header.samples());
        match header.len(None) {
            Some(len) if len > 0 && len <= frames.len() => frames = &frames[len..],
            _ => break,
        }
    }
    samples
}

/// Junk skipped looking for the first frame before giving up (the probe looks as far).
const MAX_JUNK_BEFORE_FIRST: usize = 32 * 1024;

/// Where a layer III frame's Xing/Info tag starts, if it carries one: after the side
/// information, behind the CRC of a protected frame, or where it would be without the CRC, as
/// some encoders write it even in protected frames (mutagen's `apev2-lyricsv2.mp3`; ffmpeg and
/// mpg123 look there too).
pub fn xing_tag_at(frame: &[u8]) -> Option<usize> {
    let header = FrameHeader::parse(frame).filter(|h| h.layer == 3)?;
    let at = header.info_tag_offset();
    let without_crc = at - 2 * usize::from(header.protected);
    [at, without_crc]
        .into_iter()
        .find(|&at| matches!(frame.get(at..at + 4), Some(b"Xing" | b"Info")))
}

/// What a Xing/Info/LAME or VBRI frame says.
struct InfoFrame {
    /// Audio frames after this one.
    frames: Option<u32>,
    /// Samples to trim at the start (the encoder's and the decoder's delay) and at the end.
    delay_padding: Option<(u32, u32)>,
}

/// The frame's Xing/Info (with LAME's extension) or VBRI header, if it carries one. A damaged
/// one still makes the frame a header frame, with no figures: it holds no audio, and refusing
/// the stream for it would lose the rest.
fn info_frame(frame: &[u8], header: &FrameHeader) -> Option<InfoFrame> {
    if header.layer != 3 {
        return None;
    }
    if let Some(tag_at) = xing_tag_at(frame) {
        let tag = if tag_at == header.info_tag_offset() {
            nanomp3::VbrTag::parse(frame)
        } else {
            // The parser looks after the CRC of a protected frame: show it one without.
            let mut unprotected = frame.to_vec();
            unprotected[1] |= 1;
            nanomp3::VbrTag::parse(&unprotected)
        };
        return Some(InfoFrame {
            frames: tag.and_then(|t| t.frames),
            delay_padding: tag.and_then(|t| t.encoder_delay_padding).map(|(d, p)| {
                (
                    DECODER_DELAY + u32::from(d),
                    u32::from(p).saturating_sub(DECODER_DELAY),
                )
            }),
        });
    }
    // VBRI sits 32 bytes after the header, whatever the side information's size.
    if frame.get(HEADER_LEN + 32..HEADER_LEN + 36) == Some(b"VBRI") {
        let count = frame.get(HEADER_LEN + 46..HEADER_LEN + 50);
        return Some(InfoFrame {
            frames: count.map(|b| u32::from_be_bytes(b.try_into().unwrap())),
            delay_padding: None,
        });
    }
    None
}

/// Finds the next frame at or after the lookahead's start, dropping tags and junk before it.
/// `last` is the previous frame: a frame of the same stream right where it should be is taken
/// at once; any other must be confirmed by what follows it (the next frame, a tag, or the end
/// of the stream), as a sync word in junk is not a frame.
fn find_frame(
    ahead: &mut Lookahead<'_>,
    last: Option<&FrameHeader>,
    free_len: &mut Option<usize>,
    max_junk: usize,
) -> Option<Found> {
    let mut junk = 0;
    let mut trusted = last.copied();
    loop {
        let bytes = ahead.peek(10);
        if bytes.len() < HEADER_LEN {
            return None;
        }
        if let Some(header) = FrameHeader::parse(bytes) {
            let same = trusted.is_some_and(|t| t.same_stream(&header));
            let len = match header.len(*free_len) {
                Some(len) => Some(len),
                None => free_format_len(ahead.peek(FREE_FORMAT_WINDOW), &header, free_len),
            };
            if let Some(len) = len
                && (same || confirmed(ahead.peek(len + CONFIRM_LEN), &header, len, *free_len))
            {
                return Some(Found { header, len });
            }
        } else if let Some(len) = tag_len(ahead.peek(APE_FOOTER_LEN)) {
            ahead.skip(len);
            continue;
        }
        // Not a frame here: one byte of junk, and whatever follows must prove itself.
        ahead.skip(1);
        trusted = None;
        junk += 1;
        if junk > max_junk {
            return None;
        }
    }
}

/// Bytes looked at to find a free-format frame's length: two of the longest frames.
const FREE_FORMAT_WINDOW: usize = 2 * MAX_FREE_FORMAT_LEN + 2 * HEADER_LEN;
/// Bytes after a frame looked at to confirm it: a header, or a tag's first bytes.
const CONFIRM_LEN: usize = 11;

/// The length of the free-format frame that starts `window` (which holds
/// [`FREE_FORMAT_WINDOW`] bytes, or all the stream has left): where the next frame of the
/// stream starts, confirmed by the one after, as minimp3 finds it. Kept in `free_len` for the
/// frames that follow.
fn free_format_len(
    window: &[u8],
    header: &FrameHeader,
    free_len: &mut Option<usize>,
) -> Option<usize> {
    let header_at = |at: usize| {
        FrameHeader::parse(window.get(at..)?)
            .filter(|h| h.is_free_format() && h.same_stream(header))
    };
    (HEADER_LEN + 1..=MAX_FREE_FORMAT_LEN).find_map(|distance| {
        let next = header_at(distance)?;
        let unpadded = distance - header.padding_len();
        let after_next = distance + unpadded + next.padding_len();
        if after_next + HEADER_LEN > window.len() || header_at(after_next).is_some() {
            *free_len = Some(unpadded);
            Some(distance)
        } else {
            None
        }
    })
}

/// Whether the frame of `len` bytes that starts `window` (which holds `len` +
/// [`CONFIRM_LEN`] bytes, or all the stream has left) is followed by another frame of the same
/// stream, a tag, or the end of the stream (a stream of a single frame).
fn confirmed(window: &[u8], header: &FrameHeader, len: usize, free_len: Option<usize>) -> bool {
    let Some(after) = window.get(len..) else {
        // The frame is cut by the end of the stream: not a frame to decode.
        return false;
    };
    if after.len() < HEADER_LEN || starts_with_tag(after) {
        return true;
    }
    FrameHeader::parse(after)
        .is_some_and(|next| next.same_stream(header) && (next.bitrate != 0 || free_len.is_some()))
}

impl FormatReader for MpegAudioReader<'_> {
    fn format_info(&self) -> &FormatInfo {
        self.info
    }

    fn media_info(&self) -> &symphonia::core::formats::MediaInfo {
        &self.media_info
    }

    fn metadata(&mut self) -> Metadata<'_> {
        self.metadata.metadata()
    }

    fn seek(&mut self, _mode: SeekMode, _to: SeekTo) -> Result<SeekedTo> {
        seek_error(SeekErrorKind::Unseekable)
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        let last = self.last;
        let found = match self.first_audio.take() {
            Some(found) => found,
            None => {
                let found = find_frame(
                    &mut self.ahead,
                    last.as_ref(),
                    &mut self.free_len,
                    usize::MAX,
                );
                let Some(found) = found else {
                    return Ok(None);
                };
                found
            }
        };
        if !self.ahead.fill(found.len) {
            // A frame cut by the end of the stream.
            return Ok(None);
        }
        // Copied as one slice: collecting the drain goes byte by byte.
        let data: Box<[u8]> = self.ahead.bytes.make_contiguous()[..found.len].into();
        self.ahead.bytes.drain(..found.len);
        self.last = Some(found.header);
        let dur = Duration::from(u64::from(found.header.samples()));
        let pts = self.next_ts;
        self.next_ts = pts.checked_add(dur).unwrap_or(Timestamp::MAX);
        Ok(Some(
            PacketBuilder::new()
                .track_id(0)
                .pts(pts)
                .trimmed_dur(dur, self.end_ts)
                .data(data)
                .build(),
        ))
    }

    fn into_inner<'a>(self: Box<Self>) -> MediaSourceStream<'a>
    where
        Self: 'a,
    {
        self.ahead.source
    }
}

impl Scoreable for MpegAudioReader<'_> {
    /// A frame header whose frame is followed by another frame of the stream, or by a tag, or
    /// that ends exactly where the stream does.
    fn score(mut source: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        let mut head = [0u8; HEADER_LEN];
        source.read_buf_exact(&mut head)?;
        let Some(header) = FrameHeader::parse(&head) else {
            return Ok(Score::Unsupported);
        };
        let want = match header.len(None) {
            Some(len) => len + CONFIRM_LEN,
            None => FREE_FORMAT_WINDOW,
        };
        // The scope (16 KiB) is longer than `want`: a short read is the end of the stream.
        let mut window = head.to_vec();
        window.resize(want, 0);
        let mut filled = HEADER_LEN;
        while filled < want {
            match source.read_buf(&mut window[filled..]) {
                Ok(0) | Err(_) => break,
                Ok(got) => filled += got,
            }
        }
        window.truncate(filled);
        let mut free_len = None;
        let len = match header.len(None) {
            Some(len) => Some(len),
            None => free_format_len(&window, &header, &mut free_len),
        };
        Ok(match len {
            Some(len) if confirmed(&window, &header, len, free_len) => Score::Supported(255),
            _ => Score::Unsupported,
        })
    }
}

impl ProbeableFormat<'_> for MpegAudioReader<'_> {
    fn try_probe_new(
        source: MediaSourceStream<'_>,
        opts: FormatOptions,
    ) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(MpegAudioReader::try_new(source, opts)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        // The second byte of a sync word: MPEG-1, 2 and 2.5, layers I-III, with or without CRC
        // (FLAC's and ADTS's sync words have layer bits 00, which `FrameHeader::parse` refuses).
        const MARKERS: [&[u8]; 18] = [
            &[0xff, 0xe2],
            &[0xff, 0xe3],
            &[0xff, 0xe4],
            &[0xff, 0xe5],
            &[0xff, 0xe6],
            &[0xff, 0xe7],
            &[0xff, 0xf2],
            &[0xff, 0xf3],
            &[0xff, 0xf4],
            &[0xff, 0xf5],
            &[0xff, 0xf6],
            &[0xff, 0xf7],
            &[0xff, 0xfa],
            &[0xff, 0xfb],
            &[0xff, 0xfc],
            &[0xff, 0xfd],
            &[0xff, 0xfe],
            &[0xff, 0xff],
        ];
        static DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["mp3", "mp2", "mp1"],
                mime_types: &["audio/mpeg"],
                markers: &MARKERS,
            },
            info: MP3_INFO,
        }];
        &DATA
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An MPEG-1 layer III frame at 44.1 kHz, stereo: 128 kbit/s (417 bytes, 418 padded) or
    /// free format (bitrate index 0) of `free_len` bytes.
    fn frame(free_len: Option<usize>, padded: bool, fill: u8) -> Vec<u8> {
        let bitrate_bits = if free_len.is_some() { 0x00 } else { 0x90 };
        let len = free_len.unwrap_or(417) + usize::from(padded);
        let mut f = vec![fill; len];
        f[..4].copy_from_slice(&[0xff, 0xfb, bitrate_bits | u8::from(padded) << 1, 0x00]);
        f
    }

    fn reader(bytes: Vec<u8>) -> MpegAudioReader<'static> {
        let source =
            MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes)), Default::default());
        MpegAudioReader::try_new(source, FormatOptions::default()).unwrap()
    }

    fn packet_lens(mut reader: MpegAudioReader<'static>) -> Vec<usize> {
        std::iter::from_fn(|| reader.next_packet().unwrap().map(|p| p.data.len())).collect()
    }

    #[test]
    fn parses_headers_and_frame_lengths() {
        let h = FrameHeader::parse(&[0xff, 0xfb, 0x90, 0x00]).unwrap();
        assert_eq!(
            (h.layer, h.sample_rate, h.len(None), h.samples()),
            (3, 44_100, Some(417), 1152)
        );
        // MPEG-2 layer III, 24 kHz, 64 kbit/s: 576 samples, 192 bytes.
        let h = FrameHeader::parse(&[0xff, 0xf3, 0x84, 0xc0]).unwrap();
        assert_eq!(
            (h.sample_rate, h.len(None), h.samples(), h.mono),
            (24_000, Some(192), 576, true)
        );
        // Layer I, 32 kHz, 384 kbit/s: 576 bytes in 4-byte slots.
        let h = FrameHeader::parse(&[0xff, 0xfe, 0xc8, 0x04]).unwrap();
        assert_eq!((h.layer, h.len(None), h.samples()), (1, Some(576), 384));
        // Free format: no length without the stream's.
        let h = FrameHeader::parse(&[0xff, 0xfb, 0x02, 0x00]).unwrap();
        assert_eq!((h.len(None), h.len(Some(391))), (None, Some(392)));
        // Reserved version, layer, bitrate or rate; ADTS and FLAC sync words.
        for bad in [
            [0xff, 0xeb, 0x90, 0],
            [0xff, 0xf9, 0x90, 0],
            [0xff, 0xfb, 0xf0, 0],
            [0xff, 0xfb, 0x9c, 0],
            [0xff, 0xf8, 0x90, 0],
        ] {
            assert_eq!(FrameHeader::parse(&bad), None, "{bad:02x?}");
        }
    }

    #[test]
    fn free_format_frames_are_cut_where_the_next_one_starts() {
        let stream: Vec<u8> = (0..6)
            .flat_map(|i| frame(Some(391), i % 3 == 1, 0x11))
            .collect();
        assert_eq!(packet_lens(reader(stream)), [391, 392, 391, 391, 392, 391]);
    }

    #[test]
    fn a_single_frame_with_or_without_a_tag_is_a_stream() {
        let alone = frame(None, false, 0x22);
        assert_eq!(packet_lens(reader(alone.clone())), [417]);
        let mut id3v1 = b"TAG".to_vec();
        id3v1.resize(ID3V1_LEN, b' ');
        assert_eq!(packet_lens(reader([alone.clone(), id3v1].concat())), [417]);
        let mut id3v2 = b"ID3\x04\x00\x00\x00\x00\x00\x05".to_vec();
        id3v2.extend([0u8; 5]);
        assert_eq!(packet_lens(reader([id3v2, alone.clone()].concat())), [417]);
        // A frame cut short is no frame.
        let source = MediaSourceStream::new(
            Box::new(std::io::Cursor::new(alone[..300].to_vec())),
            Default::default(),
        );
        assert!(MpegAudioReader::try_new(source, FormatOptions::default()).is_err());
    }

    #[test]
    fn junk_before_and_between_frames_is_skipped() {
        let good = frame(None, false, 0x33);
        // A sync word in the junk whose "frame" is not followed by another.
        let junk = [0x00, 0xff, 0xfb, 0x90, 0x00, 0x12, 0x34];
        let stream = [&junk[..], &good, &good, &junk, &good].concat();
        assert_eq!(packet_lens(reader(stream)), [417, 417, 417]);
    }

    /// A Xing frame declaring `frames` audio frames, with a LAME tag's `delay` and `padding`.
    fn lame_frame(frames: u32, delay: u16, padding: u16) -> Vec<u8> {
        let mut f = frame(None, false, 0);
        let at = FrameHeader::parse(&f).unwrap().info_tag_offset();
        f[at..at + 4].copy_from_slice(b"Xing");
        f[at + 4..at + 8].copy_from_slice(&1u32.to_be_bytes());
        f[at + 8..at + 12].copy_from_slice(&frames.to_be_bytes());
        let lame = at + 12;
        f[lame..lame + 9].copy_from_slice(b"LAME3.97 ");
        f[lame + 21] = (delay >> 4) as u8;
        f[lame + 22] = ((delay & 0xf) << 4) as u8 | (padding >> 8) as u8;
        f[lame + 23] = padding as u8;
        f
    }

    #[test]
    fn gapless_figures_that_trim_more_than_the_stream_keep_the_audio_after_the_delay() {
        let audio = frame(None, false, 0x55);
        let stream = |xing: Vec<u8>| [xing, audio.clone(), audio.clone(), audio.clone()].concat();
        // Consistent: 3 × 1152 − (576 + 529) − (1000 − 529).
        let r = reader(stream(lame_frame(3, 576, 1000)));
        assert_eq!(r.tracks()[0].num_frames, Some(3 * 1152 - 1105 - 471));
        // Delay and padding more than the 3456 samples (LAME 3.97 on a very short input):
        // the padding is dropped, not the stream.
        let r = reader(stream(lame_frame(3, 576, 3000)));
        assert_eq!(r.tracks()[0].num_frames, Some(3 * 1152 - 1105));
        // A delay longer than the stream: neither is applied.
        let r = reader(stream(lame_frame(3, 4000, 0)));
        assert_eq!(r.tracks()[0].num_frames, Some(3 * 1152));
        assert_eq!(packet_lens(r), [417, 417, 417]);
    }

    #[test]
    fn a_damaged_xing_frame_is_no_audio_and_no_reason_to_refuse_the_stream() {
        // 32 kbit/s: a 104-byte frame, too short for what its flags promise (a frame count,
        // a byte count, a 100-byte TOC and a LAME tag).
        let mut damaged = frame(None, false, 0);
        damaged[2] = 0x10;
        damaged.truncate(104);
        let at = FrameHeader::parse(&damaged).unwrap().info_tag_offset();
        damaged[at..at + 4].copy_from_slice(b"Info");
        damaged[at + 7] = 0x0f;
        let good = frame(None, false, 0x44);
        let r = reader([damaged, good.clone(), good].concat());
        assert_eq!(r.tracks()[0].num_frames, None);
        assert_eq!(packet_lens(r), [417, 417]);
    }
}
