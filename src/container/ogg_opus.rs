//! Ogg Opus (RFC 7845): the reader for Ogg streams whose first logical stream is Opus, and the
//! look at an Ogg stream's first page that decides whether it is.
//!
//! Written here rather than read with symphonia's Ogg reader for three reasons. That reader
//! hands a page's packets out only once the whole page is in (see `ogg_pages`), a second late
//! with the pages ffmpeg and libopusenc write; it keeps a read-ahead ring that grows to 128 KiB
//! per stream, where this one keeps none (the ring restarts at its first byte between pages);
//! and it refuses channel mapping family 255 (channels with no speaker assigned), which
//! `codecs::opus_multistream` decodes. Ogg Vorbis and Ogg FLAC, and Ogg files whose first
//! stream is something else (a Skeleton track, video), still go to symphonia's reader.
//!
//! Timestamps count samples at 48 kHz from the stream's first packet, pre-skip included (the
//! decoder trims the pre-skip, as RFC 7845 section 4.2 asks). The last page's granule position
//! trims the end of the last packets (section 4.4). Chained streams (one Ogg Opus file after
//! another, as TTS services send sentences) come out one after the other: a new first page ends
//! the stream being read, and the reader says `ResetRequired` with the new stream's track.

use std::io;

use symphonia::core::audio::Channels;
use symphonia::core::audio::layouts::{CHANNEL_LAYOUT_MONO, CHANNEL_LAYOUT_STEREO};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::errors::{Error as SymphoniaError, Result, SeekErrorKind, seek_error};
use symphonia::core::formats::well_known::FORMAT_ID_OGG;
use symphonia::core::formats::{
    FormatInfo, FormatReader, MediaInfo, SeekMode, SeekTo, SeekedTo, Track,
};
use symphonia::core::io::{BufReader, MediaSourceStream, ReadBytes, SeekBuffered};
use symphonia::core::meta::{Metadata, MetadataBuilder, MetadataLog};
use symphonia::core::packet::{Packet, PacketBuilder};
use symphonia::core::units::{Duration, Timestamp};
use symphonia_metadata::embedded::vorbis::{VORBIS_COMMENT_METADATA_INFO, read_vorbis_comment};

use crate::codecs::opus_multistream::OpusHead;
use crate::container::ogg_check::page_len;
use crate::container::ogg_pages::{Event, PageHeader, PageReader};
use crate::container::source::Unseekable;

/// Bytes of the page header before the lacing values.
const PAGE_HEADER: usize = 27;
/// The largest first page looked at: an OpusHead is 19 bytes and a mapping table of at most 257.
const MAX_HEAD_PAGE: usize = 1024;
/// Opus always counts time at 48 kHz in Ogg (RFC 7845 section 4).
const RATE: u32 = 48_000;

static OGG_OPUS_INFO: FormatInfo = FormatInfo {
    format: FORMAT_ID_OGG,
    short_name: "ogg",
    long_name: "Ogg Opus",
};

/// What the first page of an Ogg stream says.
#[derive(Debug, PartialEq, Eq)]
pub enum FirstPage {
    /// The first logical stream is Opus with a channel mapping that can be decoded:
    /// [`OggOpusReader`] reads it.
    Opus,
    /// A mapping nothing here decodes: why, for the ERROR message.
    Unsupported(String),
    /// The first stream of the Ogg file is in a codec nothing here decodes (Speex, CELT, Theora
    /// video): its name, for the ERROR if no other stream can be decoded.
    Undecoded(&'static str),
    /// Anything else.
    Other,
}

/// Looks at the Ogg page at the source's position, if any, and leaves the source where it was.
pub fn first_page(source: &mut MediaSourceStream<'_>) -> FirstPage {
    let start = source.pos();
    let mut header = [0u8; PAGE_HEADER];
    // Look no further than an OpusHead page can be: reading on would wait for bytes another
    // container's reader may not need yet, and could go past what the source can rewind.
    let peeked = source.read_buf_exact(&mut header[..4]).and_then(|_| {
        if &header[..4] != b"OggS" {
            return Ok(None);
        }
        source.read_buf_exact(&mut header[4..])?;
        let mut page = header.to_vec();
        page.resize(PAGE_HEADER + header[26] as usize, 0);
        source.read_buf_exact(&mut page[PAGE_HEADER..])?;
        let len = page_len(&page).unwrap_or(page.len());
        if len > MAX_HEAD_PAGE {
            return Ok(None);
        }
        let body_at = page.len();
        page.resize(len, 0);
        source.read_buf_exact(&mut page[body_at..])?;
        Ok(Some(page))
    });
    source.seek_buffered(start);
    match peeked {
        Ok(Some(page)) => classify(&page),
        _ => FirstPage::Other,
    }
}

fn classify(page: &[u8]) -> FirstPage {
    let Some(head) = first_page_body(page).and_then(OpusHead::parse) else {
        return undecoded_codec(page).map_or(FirstPage::Other, FirstPage::Undecoded);
    };
    match (head.mapping_family, head.channels) {
        (0, 1..=2) | (1 | 255, 1..=8) => FirstPage::Opus,
        (family, channels) => FirstPage::Unsupported(format!(
            "Ogg Opus with channel mapping family {family} and {channels} channels is not \
             supported (family 0 with 1 or 2 channels, and families 1 and 255 with up to 8, are)"
        )),
    }
}

/// The body of `page` when it is the first page of a logical stream (BOS, stream version 0),
/// where a codec's identification header starts.
fn first_page_body(page: &[u8]) -> Option<&[u8]> {
    let first_page = page.get(..4)? == b"OggS" && page[4] == 0 && page[5] & 0x02 != 0;
    let segments = *page.get(26)? as usize;
    page.get(PAGE_HEADER + segments..).filter(|_| first_page)
}

/// The codec of a first page's stream, by its header packet's magic, when it is one nothing here
/// decodes.
fn undecoded_codec(page: &[u8]) -> Option<&'static str> {
    let packet = first_page_body(page)?;
    if packet.starts_with(b"Speex   ") {
        Some("Speex")
    } else if packet.starts_with(b"CELT    ") {
        Some("CELT")
    } else if packet.starts_with(b"\x80theora") {
        Some("Theora video")
    } else {
        None
    }
}

/// Samples (at 48 kHz) in an Opus packet, from its TOC byte (RFC 6716 section 3.1); 0 for a
/// packet too short to say.
pub fn packet_samples(packet: &[u8]) -> u64 {
    let Some(&toc) = packet.first() else {
        return 0;
    };
    let config = toc >> 3;
    // Frame length in 1/400 s (2.5 ms) units, by configuration (RFC 6716 table 2).
    let frame_units: u64 = match config {
        0..=11 => [4, 8, 16, 24][usize::from(config % 4)],
        12..=15 => [4, 8][usize::from(config % 2)],
        _ => [1, 2, 4, 8][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => packet.get(1).map_or(0, |count| u64::from(count & 0x3f)),
    };
    frames * frame_units * u64::from(RATE) / 400
}

/// One logical Opus stream of the file.
#[derive(Debug)]
struct Logical {
    serial: u32,
    /// Sequence number of the last page read.
    sequence: Option<u32>,
    /// The granule position of the page being read, and whether it ends the stream.
    page_granule: Option<u64>,
    page_is_last: bool,
    /// Samples of the packets handed out, pre-skip included: the next packet's timestamp.
    position: u64,
    /// The granule position where the first packet starts (non-zero for a stream joined or cut
    /// after its start), known once a page with a granule position has ended.
    start: Option<u64>,
    /// The stream's last page has been read: only a new stream's first page follows.
    ended: bool,
}

impl Logical {
    fn new(serial: u32) -> Self {
        Logical {
            serial,
            sequence: None,
            page_granule: None,
            page_is_last: false,
            position: 0,
            start: None,
            ended: false,
        }
    }

    /// The page being read has ended: its granule position says where the stream is. After
    /// damage (a page dropped), the position moves to where the next packet really is.
    fn page_ended(&mut self) {
        if let Some(granule) = self.page_granule.take() {
            let start = *self
                .start
                .get_or_insert(granule.saturating_sub(self.position));
            self.position = granule.saturating_sub(start);
        }
    }
}

/// Reads the Opus stream(s) of an Ogg file whose first logical stream is Opus.
pub struct OggOpusReader<'s> {
    source: MediaSourceStream<'s>,
    pages: PageReader,
    stream: Logical,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    /// A packet read while looking for the OpusTags that was not one: the first audio packet.
    first_audio: Option<Vec<u8>>,
    /// The header of a page that starts another logical stream, read at the end of this one.
    pending_first_page: Option<PageHeader>,
    /// The first page of a following stream in another codec: given back by `into_inner`.
    unread: Option<Vec<u8>>,
    done: bool,
}

impl<'s> OggOpusReader<'s> {
    /// Reads the stream's OpusHead and OpusTags. The source is at the first page, which
    /// [`first_page`] found to be Opus.
    pub fn try_new(source: MediaSourceStream<'s>) -> Result<Self> {
        let mut reader = OggOpusReader {
            source,
            pages: PageReader::new(),
            stream: Logical::new(0),
            tracks: Vec::new(),
            media_info: MediaInfo::default(),
            metadata: MetadataLog::default(),
            first_audio: None,
            pending_first_page: None,
            unread: None,
            done: false,
        };
        let header = loop {
            match reader.pages.next(&mut reader.source, PageHeader::first)? {
                Event::Page { header, .. } => break header,
                Event::End => {
                    return Err(SymphoniaError::IoError(io::ErrorKind::UnexpectedEof.into()));
                }
                _ => {}
            }
        };
        if !reader.start_stream(header)? {
            return Err(SymphoniaError::Unsupported(
                "ogg: the first stream is not Opus",
            ));
        }
        Ok(reader)
    }

    /// Reads the identification and comment headers of the stream whose first page is
    /// `header`. False if that stream is not Opus: its first page is kept for `into_inner`.
    fn start_stream(&mut self, header: PageHeader) -> Result<bool> {
        let serial = header.serial();
        let head = loop {
            match self
                .pages
                .next(&mut self.source, |h| h.serial() == serial)?
            {
                Event::Packet(packet) => break packet,
                Event::Damaged => {
                    return Err(SymphoniaError::DecodeError("ogg: damaged first page"));
                }
                Event::End => {
                    return Err(SymphoniaError::IoError(io::ErrorKind::UnexpectedEof.into()));
                }
                Event::Page { .. } => {}
            }
        };
        let Some(parsed) = OpusHead::parse(&head).filter(|h| h.channels > 0) else {
            let mut page = header.into_bytes();
            page.extend_from_slice(&head);
            self.unread = Some(page);
            return Ok(false);
        };
        self.stream = Logical::new(serial);
        self.stream.sequence = Some(header.sequence());
        let channels = match parsed.channels {
            1 => CHANNEL_LAYOUT_MONO,
            2 => CHANNEL_LAYOUT_STEREO,
            n => Channels::Discrete(u16::from(n)),
        };
        let mut params = AudioCodecParameters::new();
        params
            .for_codec(CODEC_ID_OPUS)
            .with_sample_rate(RATE)
            .with_channels(channels)
            .with_extra_data(head.into_boxed_slice());
        let mut track = Track::new(serial);
        track
            .with_codec_params(CodecParameters::Audio(params))
            .with_delay(u32::from(parsed.pre_skip));
        self.media_info = MediaInfo::from_track(&track);
        self.tracks = vec![track];
        // The comment header comes next, alone on its page(s) (RFC 7845 section 3). Damage before
        // it is skipped like damage anywhere (the audio packets report theirs).
        let tags = loop {
            match self.next_event() {
                Err(SymphoniaError::DecodeError(_)) => continue,
                other => break other?,
            }
        };
        match tags {
            Some(packet) if packet.starts_with(b"OpusTags") => {
                let mut builder = MetadataBuilder::new(VORBIS_COMMENT_METADATA_INFO);
                let mut side_data = Vec::new();
                let mut comment = BufReader::new(&packet[8..]);
                // Damaged tags lose the tags, not the audio.
                if read_vorbis_comment(&mut comment, &mut builder, &mut side_data).is_ok() {
                    self.metadata.push(builder.build());
                }
            }
            other => self.first_audio = other,
        }
        // Header pages have granule position 0: the audio's own pages say where it starts.
        self.stream.page_granule = None;
        Ok(true)
    }

    /// The next packet of the stream being read; `None` at its end (the end of the input, or
    /// the first page of another stream, kept in `pending_first_page`).
    fn next_event(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            let serial = self.stream.serial;
            let ended = self.stream.ended;
            let started = self.stream.position > 0;
            let event = self.pages.next(&mut self.source, |h| {
                (h.serial() == serial && !ended && !h.first()) || (h.first() && started)
            })?;
            match event {
                Event::Page { header, junk } => {
                    self.stream.page_ended();
                    if header.first() {
                        self.pending_first_page = Some(header);
                        return Ok(None);
                    }
                    let expected = self.stream.sequence.map(|s| s.wrapping_add(1));
                    self.stream.sequence = Some(header.sequence());
                    self.stream.page_granule = header.granule();
                    self.stream.page_is_last = header.last();
                    self.stream.ended = header.last();
                    if expected.is_some_and(|e| e != header.sequence()) {
                        return Err(SymphoniaError::DecodeError(
                            "ogg: pages of the Opus stream are missing (lost or damaged)",
                        ));
                    }
                    if junk > 0 {
                        return Err(SymphoniaError::DecodeError(
                            "ogg: skipped bytes that are not Ogg pages",
                        ));
                    }
                }
                Event::Packet(packet) => return Ok(Some(packet)),
                Event::Damaged => {
                    // Its granule position may be the damage: the next page's says where the
                    // stream is.
                    self.stream.page_granule = None;
                    return Err(SymphoniaError::DecodeError(
                        "ogg: skipped a damaged Ogg page (its checksum failed)",
                    ));
                }
                Event::End => {
                    self.stream.page_ended();
                    return Ok(None);
                }
            }
        }
    }

    /// A packet of audio with its timestamp, and its end trimmed where the last page's granule
    /// position says the stream ends.
    fn audio_packet(&mut self, data: Vec<u8>) -> Packet {
        let samples = packet_samples(&data);
        let pts = self.stream.position;
        self.stream.position += samples;
        let mut trim = 0;
        if self.stream.page_is_last
            && let Some(granule) = self.stream.page_granule
        {
            // A stream of a single page cannot tell a late start from end padding: it starts at
            // 0, as symphonia's reader takes it too.
            let end = self.stream.start.unwrap_or(0) + self.stream.position;
            trim = end.saturating_sub(granule).min(samples);
        }
        PacketBuilder::new()
            .track_id(self.stream.serial)
            .pts(Timestamp::try_from(pts).unwrap_or(Timestamp::MAX))
            .dur(Duration::from(samples - trim))
            .trim_end(Duration::from(trim))
            .data(data)
            .build()
    }
}

impl FormatReader for OggOpusReader<'_> {
    fn format_info(&self) -> &FormatInfo {
        &OGG_OPUS_INFO
    }

    fn media_info(&self) -> &MediaInfo {
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
        if let Some(data) = self.first_audio.take() {
            return Ok(Some(self.audio_packet(data)));
        }
        if self.done {
            return Ok(None);
        }
        if let Some(data) = self.next_event()? {
            return Ok(Some(self.audio_packet(data)));
        }
        let Some(header) = self.pending_first_page.take() else {
            self.done = true;
            return Ok(None);
        };
        if self.start_stream(header)? {
            // A chained Opus stream: a new track, and a decoder for it.
            Err(SymphoniaError::ResetRequired)
        } else {
            // Another codec follows: whoever reads on gets its first page back.
            self.done = true;
            Ok(None)
        }
    }

    fn into_inner<'a>(self: Box<Self>) -> MediaSourceStream<'a>
    where
        Self: 'a,
    {
        match self.unread {
            None => self.source,
            Some(page) => MediaSourceStream::new(
                Box::new(Unseekable::new(io::Read::chain(
                    io::Cursor::new(page),
                    self.source,
                ))),
                Default::default(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::ogg_pages::tests::page;

    /// An OpusHead of `channels` channels, each its own stream, in `family`.
    fn opus_head(family: u8, channels: u8, pre_skip: u16) -> Vec<u8> {
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, channels]);
        head.extend_from_slice(&pre_skip.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes());
        head.push(family);
        if family != 0 {
            head.extend_from_slice(&[channels, 0]);
            head.extend(0..channels);
        }
        head
    }

    fn tags(title: &str) -> Vec<u8> {
        let mut tags = b"OpusTags".to_vec();
        tags.extend(4u32.to_le_bytes());
        tags.extend(b"test");
        tags.extend(1u32.to_le_bytes());
        let comment = format!("TITLE={title}");
        tags.extend((comment.len() as u32).to_le_bytes());
        tags.extend(comment.as_bytes());
        tags
    }

    /// A 20 ms CELT packet (configuration 31, one frame) whose second byte is `mark`.
    fn packet(mark: u8) -> Vec<u8> {
        vec![31 << 3, mark, 0, 0]
    }

    /// An Ogg Opus stream of `serial`: head and tags pages, then pages of `per_page` packets,
    /// `packets` in all, the last page's granule position cut `cut` samples short.
    fn stream(serial: u32, packets: u8, per_page: usize, cut: u64) -> Vec<u8> {
        let mut bytes = page(serial, 0, 0x02, 0, &[&opus_head(0, 1, 312)], false);
        bytes.extend(page(serial, 1, 0, 0, &[&tags("one")], false));
        let all: Vec<Vec<u8>> = (0..packets).map(packet).collect();
        let pages: Vec<&[Vec<u8>]> = all.chunks(per_page).collect();
        let mut granule = 0;
        for (i, on_page) in pages.iter().enumerate() {
            let last = i == pages.len() - 1;
            granule += 960 * on_page.len() as u64;
            let refs: Vec<&[u8]> = on_page.iter().map(|p| p.as_slice()).collect();
            let flags = if last { 0x04 } else { 0 };
            let granule = if last { granule - cut } else { granule };
            bytes.extend(page(serial, 2 + i as u32, flags, granule, &refs, false));
        }
        bytes
    }

    fn source(bytes: Vec<u8>) -> MediaSourceStream<'static> {
        MediaSourceStream::new(
            Box::new(Unseekable::new(io::Cursor::new(bytes))),
            Default::default(),
        )
    }

    /// (serial, pts, dur, trim_end, mark) of every packet; "reset" for ResetRequired.
    fn read_all(reader: &mut OggOpusReader<'_>) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            match reader.next_packet() {
                Ok(Some(p)) => out.push(format!(
                    "{} {} {} {} {}",
                    p.track_id,
                    p.pts.get(),
                    p.dur.get(),
                    p.trim_end.get(),
                    p.data[1]
                )),
                Ok(None) => return out,
                Err(SymphoniaError::ResetRequired) => out.push("reset".into()),
                Err(e) => out.push(format!("error {e}")),
            }
        }
    }

    #[test]
    fn packet_lengths_follow_the_toc() {
        // SILK 10 ms, hybrid 20 ms, CELT 2.5 ms; codes 0, 1, 2 and 3 with 5 frames.
        assert_eq!(packet_samples(&[0]), 480);
        assert_eq!(packet_samples(&[(13 << 3) | 1]), 1920);
        assert_eq!(packet_samples(&[(16 << 3) | 2]), 240);
        assert_eq!(packet_samples(&[(3 << 3) | 3, 5]), 5 * 2880);
        assert_eq!(packet_samples(&[]), 0);
        assert_eq!(packet_samples(&[3]), 0);
    }

    #[test]
    fn first_pages_are_classified() {
        let first = |head: &[u8]| {
            let mut source = source(page(9, 0, 0x02, 0, &[head], false));
            let found = first_page(&mut source);
            assert_eq!(source.pos(), 0, "the source is left where it was");
            found
        };
        for (family, channels) in [(0, 1), (0, 2), (1, 6), (255, 4), (255, 8)] {
            assert_eq!(first(&opus_head(family, channels, 0)), FirstPage::Opus);
        }
        for (family, channels) in [(255, 9), (2, 4), (3, 4), (0, 3)] {
            let FirstPage::Unsupported(message) = first(&opus_head(family, channels, 0)) else {
                panic!("{family} {channels}");
            };
            assert!(message.contains(&format!("family {family} and {channels} channels")));
        }
        assert_eq!(first(b"Speex   and more"), FirstPage::Undecoded("Speex"));
        assert_eq!(first(b"\x01vorbis and more"), FirstPage::Other);
        assert_eq!(first_page(&mut source(b"fLaC".to_vec())), FirstPage::Other);
    }

    #[test]
    fn packets_are_stamped_and_the_end_trimmed_by_the_last_granule() {
        let mut reader = OggOpusReader::try_new(source(stream(5, 7, 3, 500))).unwrap();
        assert_eq!(reader.tracks()[0].delay, Some(312));
        let tags = reader.metadata().current().map(|rev| rev.media.tags.len());
        assert_eq!(tags, Some(1));
        assert_eq!(
            read_all(&mut reader),
            [
                "5 0 960 0 0",
                "5 960 960 0 1",
                "5 1920 960 0 2",
                "5 2880 960 0 3",
                "5 3840 960 0 4",
                "5 4800 960 0 5",
                "5 5760 460 500 6",
            ]
        );
    }

    #[test]
    fn a_stream_joined_late_is_trimmed_at_its_end_from_its_own_start() {
        // The first audio page says 10000 samples came before it.
        let mut bytes = stream(5, 6, 3, 100);
        let mut late = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let len = page_len(&bytes[at..]).unwrap();
            let mut p = bytes[at..at + len].to_vec();
            if let Some(granule) = PageHeader::granule_of(&p).filter(|&g| g > 0) {
                p[6..14].copy_from_slice(&(granule + 10_000).to_le_bytes());
                let crc = crate::container::ogg_check::page_crc(&p);
                p[22..26].copy_from_slice(&crc.to_le_bytes());
            }
            late.extend(p);
            at += len;
        }
        bytes = late;
        let mut reader = OggOpusReader::try_new(source(bytes)).unwrap();
        let out = read_all(&mut reader);
        assert_eq!(out.last().unwrap(), "5 4800 860 100 5");
    }

    #[test]
    fn chained_streams_reset_and_another_codec_is_given_back() {
        let mut bytes = stream(5, 3, 2, 0);
        bytes.extend(stream(6, 2, 2, 0));
        let vorbis = page(7, 0, 0x02, 0, &[b"\x01vorbis and more"], false);
        bytes.extend(&vorbis);
        bytes.extend(b"rest");
        let mut reader = Box::new(OggOpusReader::try_new(source(bytes)).unwrap());
        assert_eq!(
            read_all(&mut reader),
            [
                "5 0 960 0 0",
                "5 960 960 0 1",
                "5 1920 960 0 2",
                "reset",
                "6 0 960 0 0",
                "6 960 960 0 1",
            ]
        );
        assert_eq!(reader.tracks()[0].id, 6);
        let mut rest = Vec::new();
        io::Read::read_to_end(&mut reader.into_inner(), &mut rest).unwrap();
        assert_eq!(rest, [vorbis, b"rest".to_vec()].concat());
    }

    #[test]
    fn damage_is_an_error_per_page_and_the_stream_goes_on_in_time() {
        let mut bytes = stream(5, 9, 3, 0);
        // Damage the second audio page's body: its last packet is dropped with it.
        let mut at = 0;
        for _ in 0..3 {
            at += page_len(&bytes[at..]).unwrap();
        }
        bytes[at + 40] ^= 0x10;
        let mut reader = OggOpusReader::try_new(source(bytes)).unwrap();
        let out = read_all(&mut reader);
        assert_eq!(
            out,
            [
                "5 0 960 0 0",
                "5 960 960 0 1",
                "5 1920 960 0 2",
                "5 2880 960 0 3",
                "5 3840 960 0 4",
                "error malformed stream: ogg: skipped a damaged Ogg page (its checksum failed)",
                "5 4800 960 0 6",
                "5 5760 960 0 7",
                "5 6720 960 0 8",
            ]
        );
    }
}
