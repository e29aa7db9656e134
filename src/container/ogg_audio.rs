//! The first Opus (RFC 7845), Vorbis, Speex or FLAC stream of an Ogg file: its packets,
//! timestamps and trims, on the pages `ogg_pages` reads. Streams in other codecs (a Skeleton
//! track, video, subtitles) are passed over.
//!
//! Written here rather than read with symphonia's Ogg reader for three reasons. That reader
//! hands a page's packets out only once the whole page is in (see `ogg_pages`), a second late
//! with the pages ffmpeg and libopusenc write; it keeps a read-ahead ring that grows to 128 KiB
//! per stream, where this one keeps none (the ring restarts at its first byte between pages);
//! and it reads neither Opus of channel mapping family 255 (channels with no speaker assigned),
//! which `codecs::opus` decodes, nor Speex, which `codecs::speex` does.
//!
//! Timestamps count samples from the stream's first packet (at 48 kHz for Opus, pre-skip
//! included: the decoder trims it, as RFC 7845 section 4.2 asks). The last page's granule
//! position trims the end of the last packets (section 4.4). Chained streams (one Ogg file after
//! another, as TTS services send sentences) come out one after the other: a new first page ends
//! the stream being read, and the reader says `ResetRequired` with the new stream's track; a
//! stream in another codec after them is given back, first page included, by `into_inner`.

use std::io;

use symphonia::core::audio::Channels;
use symphonia::core::audio::layouts::{CHANNEL_LAYOUT_MONO, CHANNEL_LAYOUT_STEREO};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::VerificationCheck;
use symphonia::core::codecs::audio::well_known::{CODEC_ID_FLAC, CODEC_ID_SPEEX};
use symphonia::core::errors::{Error as SymphoniaError, Result, SeekErrorKind, seek_error};
use symphonia::core::formats::probe::{
    ProbeDataMatchSpec, ProbeFormatData, ProbeableFormat, Score, Scoreable,
};
use symphonia::core::formats::well_known::FORMAT_ID_OGG;
use symphonia::core::formats::{
    FormatInfo, FormatOptions, FormatReader, MediaInfo, SeekMode, SeekTo, SeekedTo, Track,
};
use symphonia::core::io::{BufReader, MediaSourceStream, ReadBytes, ScopedStream};
use symphonia::core::meta::{Metadata, MetadataBuilder, MetadataLog};
use symphonia::core::packet::{Packet, PacketBuilder};
use symphonia::core::units::{Duration, Timestamp};
use symphonia_metadata::embedded::vorbis::{VORBIS_COMMENT_METADATA_INFO, read_vorbis_comment};

use crate::codecs::speex::SpeexHeader;
use crate::container::flac;
use crate::container::ogg_opus;
use crate::container::ogg_pages::{Event, PageHeader, PageReader};
use crate::container::ogg_vorbis::{self, Blocks};
use crate::container::source::Unseekable;

static OGG_INFO: FormatInfo = FormatInfo {
    format: FORMAT_ID_OGG,
    short_name: "ogg",
    long_name: "Ogg (Opus, Vorbis, Speex, FLAC; read here)",
};

/// The channels of a stream that states only their count: mono and stereo as such, more with no
/// positions (the decoders place them, by each codec's own order).
pub fn channels_by_count(count: u8) -> Channels {
    match count {
        1 => CHANNEL_LAYOUT_MONO,
        2 => CHANNEL_LAYOUT_STEREO,
        n => Channels::Discrete(u16::from(n)),
    }
}

/// Whether the source is at the first page of an Ogg logical stream; the source is left where it
/// was.
pub fn at_first_page(source: &mut MediaSourceStream<'_>) -> bool {
    super::source::look_ahead(source, starts_first_page)
}

/// Reads 6 bytes: whether they start the first page of a logical stream (the capture pattern,
/// stream version 0, the first-page flag).
fn starts_first_page(source: &mut impl ReadBytes) -> bool {
    let mut header = [0u8; 6];
    source.read_buf_exact(&mut header).is_ok()
        && header[..4] == *b"OggS"
        && header[4] == 0
        && header[5] & 0x02 != 0
}

/// What a logical stream not read here holds, by the magic of its first packet.
fn codec_name(head: &[u8]) -> &'static str {
    const NAMES: [(&[u8], &str); 11] = [
        (b"fishead\0", "a Skeleton track"),
        (b"\x80theora", "Theora video"),
        (b"\x80daala", "Daala video"),
        (b"OVP80", "VP8 video"),
        (b"BBCD\0", "Dirac video"),
        (b"\x80kate\0\0\0", "Kate text"),
        (b"CELT    ", "CELT"),
        (
            SpeexHeader::MAGIC,
            "Speex (with a header this element cannot read)",
        ),
        (
            b"\x01vorbis",
            "Vorbis (with a header this element cannot read)",
        ),
        (
            b"\x7fFLAC",
            "FLAC (in an Ogg mapping version this element does not know)",
        ),
        (b"OpusHead", "Opus (with a header this element cannot read)"),
    ];
    NAMES
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map_or("a codec this element does not know", |(_, name)| name)
}

/// The ERROR's message for an Ogg link whose streams hold `passed_over`.
fn no_decodable_stream(passed_over: &[&str]) -> String {
    // A Skeleton track only describes the others: name it only if there is nothing else.
    let mut names: Vec<&str> = passed_over
        .iter()
        .copied()
        .filter(|name| *name != "a Skeleton track")
        .collect();
    if names.is_empty() {
        names = passed_over.to_vec();
    }
    if names.is_empty() {
        return "no supported audio format found: the Ogg stream has no logical stream".into();
    }
    names.dedup();
    format!(
        "no supported audio format found: the Ogg stream holds {}, which this element does not \
         decode (it decodes Opus, Vorbis, Speex and FLAC in Ogg)",
        names.join(" and ")
    )
}

/// The decoder's parameters from the first packet of Ogg FLAC (its mapping: `0x7f`, "FLAC",
/// version 1.x, the count of header packets after this one, "fLaC", a STREAMINFO block), and
/// that count.
fn flac_codec_params(head: &[u8]) -> Option<(AudioCodecParameters, u16)> {
    let valid = head.get(..5)? == b"\x7fFLAC"
        && *head.get(5)? == 1
        && head.get(9..13)? == b"fLaC"
        && head.get(13)? & 0x7f == 0;
    let streaminfo = head.get(17..51).filter(|_| valid)?;
    let (rate, channels, bits) = flac::streaminfo_format(streaminfo)?;
    if rate == 0 {
        return None;
    }
    let mut params = AudioCodecParameters::new();
    params
        .for_codec(CODEC_ID_FLAC)
        .with_sample_rate(rate)
        .with_bits_per_sample(u32::from(bits))
        .with_channels(channels_by_count(channels))
        .with_extra_data(streaminfo.into());
    let md5: [u8; 16] = streaminfo[18..34].try_into().ok()?;
    if md5 != [0; 16] {
        params.with_verification_code(VerificationCheck::Md5(md5));
    }
    Some((params, u16::from_be_bytes([head[7], head[8]])))
}

/// The codec of a logical stream, from its identification header.
#[derive(Debug, Clone, Copy)]
enum Codec {
    Opus,
    Speex(SpeexHeader),
    Vorbis(Blocks),
    /// FLAC, with the count of header packets after the first (0: unknown).
    Flac {
        headers: u16,
    },
}

impl Codec {
    /// The codec, its decoder's parameters and the samples to trim at the start, from the first
    /// packet of a logical stream; `None` for a codec not read here; why not, for a variant of
    /// one that nothing here decodes.
    fn identify(
        head: &[u8],
    ) -> std::result::Result<Option<(Codec, AudioCodecParameters, u32)>, String> {
        if let Some(why) = ogg_opus::unsupported_mapping(head) {
            return Err(why);
        }
        Ok(Self::identify_supported(head))
    }

    fn identify_supported(head: &[u8]) -> Option<(Codec, AudioCodecParameters, u32)> {
        if let Some((params, pre_skip)) = ogg_opus::codec_params(head) {
            return Some((Codec::Opus, params, pre_skip));
        }
        if let Some((params, blocks)) = ogg_vorbis::codec_params(head) {
            return Some((Codec::Vorbis(blocks), params, 0));
        }
        if let Some((params, headers)) = flac_codec_params(head) {
            return Some((Codec::Flac { headers }, params, 0));
        }
        let header = SpeexHeader::parse(head)?;
        let mut params = AudioCodecParameters::new();
        params
            .for_codec(CODEC_ID_SPEEX)
            .with_sample_rate(header.rate)
            .with_channels(channels_by_count(header.channels as u8))
            .with_extra_data(head.into());
        Some((Codec::Speex(header), params, 0))
    }

    /// Samples per channel in an audio packet, at the stream's rate (48 kHz for Opus).
    fn packet_samples(&mut self, packet: &[u8]) -> u64 {
        match self {
            Codec::Opus => ogg_opus::packet_samples(packet),
            Codec::Speex(header) => header.packet_samples(),
            Codec::Vorbis(blocks) => blocks.packet_samples(packet),
            Codec::Flac { .. } => flac::frame_header(packet).map_or(0, |f| u64::from(f.block_size)),
        }
    }

    /// Whether `packet` is audio for the decoder, not a header packet.
    fn is_audio(&self, packet: &[u8]) -> bool {
        match self {
            Codec::Opus | Codec::Speex(_) => true,
            Codec::Vorbis(_) => packet.first().is_some_and(|b| b & 1 == 0),
            // Frames start with their sync code; metadata blocks with their type.
            Codec::Flac { .. } => packet.first() == Some(&0xff),
        }
    }

    /// The Vorbis comment in the comment header `packet`, if it is one.
    fn comment<'p>(&self, packet: &'p [u8]) -> Option<&'p [u8]> {
        match self {
            Codec::Opus => packet.strip_prefix(b"OpusTags"),
            // Speex's comment header has no magic of its own.
            Codec::Speex(_) => Some(packet),
            Codec::Vorbis(_) => packet.strip_prefix(b"\x03vorbis"),
            // A VORBIS_COMMENT metadata block comes first; another block holds no tags.
            Codec::Flac { .. } if packet.first() == Some(&0xff) => None,
            Codec::Flac { .. } => Some(
                packet
                    .get(4..)
                    .filter(|_| packet[0] & 0x7f == 4)
                    .unwrap_or(&[]),
            ),
        }
    }

    /// Header packets after the comment header: Vorbis's setup header, or Speex's extra ones.
    fn extra_headers(&self) -> u32 {
        match self {
            Codec::Opus => 0,
            Codec::Speex(header) => header.extra_headers,
            Codec::Vorbis(_) => 1,
            // Those the first packet announces, the comment counted; an unknown count (0) leaves
            // the rest to `is_audio`.
            Codec::Flac { headers } => u32::from(headers.saturating_sub(1)),
        }
    }

    /// Takes in a header packet after the comment header; false if it is not what it must be.
    fn read_extra_header(&mut self, packet: &[u8], params: &mut AudioCodecParameters) -> bool {
        match self {
            // Nothing in Speex's extra headers or FLAC's other metadata blocks matters to the
            // decoder (a FLAC frame here is not lost: it would be the first audio).
            Codec::Opus | Codec::Speex(_) | Codec::Flac { .. } => true,
            Codec::Vorbis(blocks) => {
                if !blocks.read_setup(packet) {
                    return false;
                }
                let mut both = params.extra_data.take().unwrap_or_default().into_vec();
                both.extend_from_slice(packet);
                params.with_extra_data(both.into_boxed_slice());
                true
            }
        }
    }
}

/// One logical stream of the file.
#[derive(Debug)]
struct Logical {
    serial: u32,
    /// Sequence number of the last page read.
    sequence: Option<u32>,
    /// The granule position of the page being read.
    page_granule: Option<u64>,
    /// Samples of the packets handed out, pre-skip included: the next packet's timestamp.
    position: u64,
    /// The granule position where the first packet starts (non-zero for a stream joined or cut
    /// after its start), known once a page with a granule position has ended.
    start: Option<u64>,
    /// The page being read is the stream's last: its granule position trims the end, and only
    /// a new stream's first page follows.
    ended: bool,
}

impl Logical {
    fn new(serial: u32) -> Self {
        Logical {
            serial,
            sequence: None,
            page_granule: None,
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

/// Reads the audio stream of an Ogg file, and of each chained file after it.
pub struct OggAudioReader<'s> {
    source: MediaSourceStream<'s>,
    /// Which of a link's streams in a codec read here to decode (0: the first).
    audio_track: usize,
    pages: PageReader,
    stream: Logical,
    codec: Codec,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    /// A packet read while looking for the OpusTags that was not one: the first audio packet.
    first_audio: Option<Vec<u8>>,
    /// The header of a page that starts another logical stream, read at the end of this one.
    pending_first_page: Option<PageHeader>,
    /// The pages read of a following link (chained file) with no stream to decode: given back
    /// by `into_inner`, so the next reader reports it.
    unread: Vec<u8>,
    done: bool,
}

impl<'s> OggAudioReader<'s> {
    /// Reads the header packets of the stream to decode: the first in a codec read here, or
    /// with `audio_track` n the n+1-th (in every link of a chain). The source is at the first
    /// page (see [`at_first_page`]). On failure, the message for the ERROR: why nothing in the
    /// file can be decoded.
    pub fn open(
        source: MediaSourceStream<'s>,
        audio_track: usize,
    ) -> std::result::Result<Self, String> {
        let mut reader = OggAudioReader {
            audio_track,
            source,
            pages: PageReader::new(),
            stream: Logical::new(0),
            codec: Codec::Opus,
            tracks: Vec::new(),
            media_info: MediaInfo::default(),
            metadata: MetadataLog::default(),
            first_audio: None,
            pending_first_page: None,
            unread: Vec::new(),
            done: false,
        };
        let header = loop {
            match reader.pages.next(&mut reader.source, PageHeader::first) {
                Ok(Event::Page { header, .. }) => break header,
                Ok(Event::End) => return Err("the stream ended before its first Ogg page".into()),
                Ok(_) => {}
                Err(e) => return Err(format!("the Ogg stream could not be read: {e}")),
            }
        };
        match reader.start_link(header) {
            Ok(Ok(())) => Ok(reader),
            Ok(Err(why)) => Err(why),
            Err(e) => Err(format!("the Ogg stream could not be read: {e}")),
        }
    }

    /// [`Self::open`] of the first audio stream, for symphonia's probe and a format hint (Ogg
    /// behind junk or a tag), where the message cannot go.
    pub fn try_new(source: MediaSourceStream<'s>) -> Result<Self> {
        Self::open(source, 0).map_err(|_| {
            SymphoniaError::Unsupported("ogg: no stream in a codec this element decodes")
        })
    }

    /// Finds the stream to decode in the link (one Ogg file of a chain) whose first page is
    /// `header`, and reads its headers. A link's first pages are those of its logical streams,
    /// one packet each, before any other page (RFC 3533 section 4): streams in codecs not read
    /// here (a Skeleton track, video) are passed over there. The inner error says why no stream
    /// of the link can be decoded; the pages read are kept for `into_inner`.
    fn start_link(&mut self, mut header: PageHeader) -> Result<std::result::Result<(), String>> {
        let mut passed_over = Vec::new();
        // Streams of a codec read here before the one wanted.
        let mut audio_before = 0;
        let wanted = self.audio_track;
        let no_stream = |passed_over: &[&str], audio_before: usize| {
            if audio_before == 0 {
                no_decodable_stream(passed_over)
            } else {
                format!(
                    "audio-track={wanted} asks for audio track {wanted} (counted from 0) but the \
                     stream has {audio_before}"
                )
            }
        };
        loop {
            let head = match self.pages.next(&mut self.source, |_| true)? {
                Event::Packet(packet) => Some(packet),
                Event::Damaged => {
                    return Err(SymphoniaError::DecodeError("ogg: damaged first page"));
                }
                // The end, or a first page whose packet goes on (which RFC 3533 does not allow).
                Event::End | Event::Page { .. } => None,
            };
            let serial = header.serial();
            let sequence = header.sequence();
            self.unread.extend(header.into_bytes());
            let Some(head) = head else {
                return Ok(Err(no_stream(&passed_over, audio_before)));
            };
            self.unread.extend(&head);
            match Codec::identify(&head) {
                Ok(None) => passed_over.push(codec_name(&head)),
                Ok(Some(_)) | Err(_) if audio_before < self.audio_track => audio_before += 1,
                Ok(Some((codec, params, delay))) => {
                    self.unread.clear();
                    self.start_stream(serial, sequence, codec, params, delay)?;
                    return Ok(Ok(()));
                }
                Err(why) => return Ok(Err(why)),
            }
            // The next page: another stream's first page, or the end of the link's first pages.
            header = match self.pages.next(&mut self.source, |_| true)? {
                Event::Page { header, .. } if header.first() => header,
                Event::Page { header, .. } => {
                    self.unread.extend(header.into_bytes());
                    return Ok(Err(no_stream(&passed_over, audio_before)));
                }
                _ => return Ok(Err(no_stream(&passed_over, audio_before))),
            };
        }
    }

    /// Reads the comment and other header packets of the stream `serial`, whose identification
    /// header said `codec`, and makes it the track.
    fn start_stream(
        &mut self,
        serial: u32,
        sequence: u32,
        mut codec: Codec,
        mut params: AudioCodecParameters,
        delay: u32,
    ) -> Result<()> {
        self.stream = Logical::new(serial);
        self.stream.sequence = Some(sequence);
        // The comment header comes next, then any other headers, on pages of their own (RFC
        // 7845 section 3; Speex and Vorbis likewise). Damage before the audio is skipped like
        // damage anywhere (the audio packets report theirs).
        if let Some(packet) = self.next_header()? {
            match codec.comment(&packet) {
                Some(comment) => {
                    let mut builder = MetadataBuilder::new(VORBIS_COMMENT_METADATA_INFO);
                    let mut side_data = Vec::new();
                    let mut comment = BufReader::new(comment);
                    // Damaged tags lose the tags, not the audio.
                    if read_vorbis_comment(&mut comment, &mut builder, &mut side_data).is_ok() {
                        self.metadata.push(builder.build());
                    }
                }
                // No comment header where one belongs: the packet is the first audio.
                None => self.first_audio = Some(packet),
            }
        }
        for _ in 0..codec.extra_headers() {
            let packet = self.next_header()?.unwrap_or_default();
            if !codec.read_extra_header(&packet, &mut params) {
                return Err(SymphoniaError::DecodeError(
                    "ogg: the Vorbis setup header is damaged or missing",
                ));
            }
        }
        self.codec = codec;
        let mut track = Track::new(serial);
        track
            .with_codec_params(CodecParameters::Audio(params))
            .with_delay(delay);
        self.media_info = MediaInfo::from_track(&track);
        self.tracks = vec![track];
        // Header pages have granule position 0: the audio's own pages say where it starts.
        self.stream.page_granule = None;
        Ok(())
    }

    /// The next header packet of the stream being read: damage before it is passed over.
    fn next_header(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            match self.next_event() {
                Err(SymphoniaError::DecodeError(_)) => continue,
                other => return other,
            }
        }
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
                    self.stream.ended = header.last();
                    if expected.is_some_and(|e| e != header.sequence()) {
                        return Err(SymphoniaError::DecodeError(
                            "ogg: pages of the stream are missing (lost or damaged)",
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
        let samples = self.codec.packet_samples(&data);
        let pts = self.stream.position;
        self.stream.position += samples;
        let mut trim = 0;
        if self.stream.ended
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

impl FormatReader for OggAudioReader<'_> {
    fn format_info(&self) -> &FormatInfo {
        &OGG_INFO
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
        while let Some(data) = self.next_event()? {
            if self.codec.is_audio(&data) {
                return Ok(Some(self.audio_packet(data)));
            }
            // A header packet among the audio (more FLAC metadata blocks than its first packet
            // announced, a repeated Vorbis header): not for the decoder.
        }
        let Some(header) = self.pending_first_page.take() else {
            self.done = true;
            return Ok(None);
        };
        match self.start_link(header)? {
            // A chained stream: a new track, and a decoder for it.
            Ok(()) => Err(SymphoniaError::ResetRequired),
            // Nothing to decode follows: whoever reads on gets its pages back.
            Err(_) => {
                self.done = true;
                Ok(None)
            }
        }
    }

    fn into_inner<'a>(self: Box<Self>) -> MediaSourceStream<'a>
    where
        Self: 'a,
    {
        if self.unread.is_empty() {
            return self.source;
        }
        MediaSourceStream::new(
            Box::new(Unseekable::new(io::Read::chain(
                io::Cursor::new(self.unread),
                self.source,
            ))),
            Default::default(),
        )
    }
}

impl Scoreable for OggAudioReader<'_> {
    /// A first page of a logical stream.
    fn score(mut source: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        Ok(if starts_first_page(&mut source) {
            Score::Supported(255)
        } else {
            Score::Unsupported
        })
    }
}

impl ProbeableFormat<'_> for OggAudioReader<'_> {
    fn try_probe_new(
        source: MediaSourceStream<'_>,
        _opts: FormatOptions,
    ) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(OggAudioReader::try_new(source)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        static DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["ogg", "oga", "opus", "spx"],
                mime_types: &["audio/ogg"],
                markers: &[b"OggS"],
            },
            info: OGG_INFO,
        }];
        &DATA
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::ogg_opus::tests::{opus_head, source};
    use crate::container::ogg_pages::tests::page;
    use crate::container::ogg_pages::tests::{page_crc, page_len};
    use std::io;

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

    /// (serial, pts, dur, trim_end, mark) of every packet; "reset" for ResetRequired.
    fn read_all(reader: &mut OggAudioReader<'_>) -> Vec<String> {
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
    fn packets_are_stamped_and_the_end_trimmed_by_the_last_granule() {
        let mut reader = OggAudioReader::try_new(source(stream(5, 7, 3, 500))).unwrap();
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
                let crc = page_crc(&p);
                p[22..26].copy_from_slice(&crc.to_le_bytes());
            }
            late.extend(p);
            at += len;
        }
        bytes = late;
        let mut reader = OggAudioReader::try_new(source(bytes)).unwrap();
        let out = read_all(&mut reader);
        assert_eq!(out.last().unwrap(), "5 4800 860 100 5");
    }

    #[test]
    fn chained_streams_reset_and_another_codec_is_given_back() {
        let mut bytes = stream(5, 3, 2, 0);
        bytes.extend(stream(6, 2, 2, 0));
        // A link in a codec not read here: its pages come back whole.
        let mut other = page(7, 0, 0x02, 0, &[b"\x01vorbis and more"], false);
        other.extend(page(7, 1, 0, 0, &[b"more of it"], false));
        other.extend(b"rest");
        bytes.extend(&other);
        let mut reader = Box::new(OggAudioReader::try_new(source(bytes)).unwrap());
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
        assert_eq!(rest, other);
    }

    /// `bytes` with a first page of stream 9 holding `head` put in front.
    fn behind_first_page(head: &[u8], bytes: &[u8]) -> Vec<u8> {
        let mut out = page(9, 0, 0x02, 0, &[head], false);
        out.extend(bytes);
        out
    }

    #[test]
    fn streams_not_read_here_are_passed_over_at_the_start_of_a_link() {
        let alone = read_all(&mut OggAudioReader::try_new(source(stream(5, 4, 2, 0))).unwrap());
        // A Skeleton track's first page before the audio's, its other pages among the audio's.
        let mut bytes = behind_first_page(b"fishead\0 and the rest", &stream(5, 4, 2, 0));
        let at = page_len(&bytes).unwrap() + page_len(&bytes[page_len(&bytes).unwrap()..]).unwrap();
        bytes.splice(at..at, page(9, 1, 0x04, 0, &[b"fisbone"], false));
        let mut reader = OggAudioReader::open(source(bytes), 0).unwrap();
        assert_eq!(reader.tracks()[0].id, 5);
        assert_eq!(read_all(&mut reader), alone);
    }

    #[test]
    fn a_file_with_nothing_to_decode_says_what_it_holds() {
        let open_error = |bytes: Vec<u8>| OggAudioReader::open(source(bytes), 0).err().unwrap();
        let mut video = page(9, 0, 0x02, 0, &[b"fishead\0"], false);
        video.extend(page(3, 0, 0x02, 0, &[b"\x80theora and more"], false));
        video.extend(page(3, 1, 0, 0, &[b"video"], false));
        let why = open_error(video);
        assert!(
            why.contains("the Ogg stream holds Theora video, which"),
            "{why}"
        );
        let why = open_error(page(9, 0, 0x02, 0, &[b"CELT    more"], false));
        assert!(why.contains("holds CELT, which"), "{why}");
        let why = open_error(page(9, 0, 0x02, 0, &[b"fishead\0"], false));
        assert!(why.contains("holds a Skeleton track, which"), "{why}");
        let why = open_error(behind_first_page(
            b"\x80kate\0\0\0 subtitles",
            &page(5, 0, 0x02, 0, &[&opus_head(2, 4, 0)], false),
        ));
        assert!(
            why.contains("family 2 and 4 channels is not supported"),
            "{why}"
        );
    }

    #[test]
    fn the_first_page_is_told_without_moving_the_source() {
        let first = |bytes: &[u8]| {
            let mut source = source(bytes.to_vec());
            let found = at_first_page(&mut source);
            assert_eq!(source.pos(), 0);
            found
        };
        assert!(first(&page(9, 0, 0x02, 0, &[b"anything"], false)));
        assert!(!first(&page(9, 1, 0, 0, &[b"not a first page"], false)));
        assert!(!first(b"OggS\x01\x02 version 1"));
        assert!(!first(b"fLaC"));
        assert!(!first(b""));
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
        let mut reader = OggAudioReader::try_new(source(bytes)).unwrap();
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
