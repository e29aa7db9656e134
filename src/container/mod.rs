//! Containers whose logic is ours rather than symphonia's, one module each.
//!
//! Today these are the uncompressed PCM containers (`riff`, `aiff`, `caf`, `au`) and headerless PCM
//! (`raw`): each parses its header up to the sample data and hands a [`PcmHeader`] to the one
//! [`PcmStreamReader`] that cuts the samples into packets for symphonia's PCM codec. They are
//! registered in the probe ahead of symphonia's WAV and AIFF readers, which still read what ours
//! do not (ADPCM WAV). `mp4` holds an MP4 whose index comes last until the index arrives; `flac`
//! repairs a FLAC header whose tags would make symphonia refuse the stream; `ogg_audio` reads the
//! first Opus, Vorbis, Speex or FLAC stream of an Ogg file (`ogg_opus` and `ogg_vorbis` know the
//! first two), on `ogg_pages`, which hands out each packet as soon as its bytes are in.
//! Formats symphonia has no reader for each have their own: `amr`, `wavpack`, `ape` (Monkey's
//! Audio), `musepack`, `tta` (True Audio), `dsf` and `dsdiff` (DSD), `ac3` (raw AC-3), `flv` (Flash Video's audio), `avi` (AVI's audio), `loas`
//! (LOAS/LATM AAC, on `aac_config`, the AudioSpecificConfig); `ts_unwrap` unwraps
//! MPEG-TS audio for the readers of its codecs.
//!
//! The byte watchers (`crate::watch::ByteWatch`) sit between the byte queue and the readers:
//! `mpeg_split` (where one MPEG audio or ADTS file ends and the next begins), `flac_split`
//! (where FLAC frames change format or a new `fLaC` header starts), `mkv_watch` (Matroska
//! structure and damage); `mp4_edit` reads an MP4's edit list and gapless tags from the head of
//! the stream, `mp4_tracks` the sound tracks symphonia's MP4 reader names no codec for (AMR,
//! QuickTime IMA ADPCM and GSM). `source` is the byte source under symphonia's
//! `MediaSourceStream`, with what keeps its read-ahead ring small for our readers.

/// The `FormatReader` methods that every one-track reader of ours over an unseekable stream
/// writes alike (its fields `source`, `tracks`, `media_info` and `metadata`), given its
/// `FormatInfo`.
macro_rules! unseekable_reader_methods {
    ($info:expr) => {
        fn format_info(&self) -> &symphonia::core::formats::FormatInfo {
            &$info
        }

        fn media_info(&self) -> &symphonia::core::formats::MediaInfo {
            &self.media_info
        }

        fn metadata(&mut self) -> symphonia::core::meta::Metadata<'_> {
            self.metadata.metadata()
        }

        fn seek(
            &mut self,
            _mode: symphonia::core::formats::SeekMode,
            _to: symphonia::core::formats::SeekTo,
        ) -> symphonia::core::errors::Result<symphonia::core::formats::SeekedTo> {
            symphonia::core::errors::seek_error(symphonia::core::errors::SeekErrorKind::Unseekable)
        }

        fn tracks(&self) -> &[symphonia::core::formats::Track] {
            &self.tracks
        }

        fn into_inner<'a>(self: Box<Self>) -> symphonia::core::io::MediaSourceStream<'a>
        where
            Self: 'a,
        {
            self.source
        }
    };
}
pub(crate) use unseekable_reader_methods;

pub mod aac_config;
pub mod aac_frames;
pub mod ac3;
pub mod aiff;
pub mod amr;
pub mod ape;
pub mod au;
pub mod avi;
pub mod caf;
pub(crate) mod completed_tracks;
pub mod dsdiff;
pub mod dsf;
pub mod flac;
pub mod flac_frames;
pub mod flac_split;
pub mod flv;
pub mod loas;
pub mod mkv_acm;
mod mkv_head;
pub mod mkv_tta;
pub mod mkv_watch;
pub mod mp4;
pub mod mp4_edit;
pub mod mp4_tracks;
pub mod mp4_watch;
pub mod mpeg_audio;
pub mod mpeg_split;
pub mod musepack;
pub mod ogg_audio;
pub mod ogg_opus;
pub mod ogg_pages;
pub mod ogg_vorbis;
pub mod opus_units;
pub mod packet_framing;
pub mod pcm_stream;
pub mod raw;
pub mod riff;
pub mod source;
pub mod ts_unwrap;
pub mod tta;
pub mod wavpack;

use std::io;

use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::common::FourCc;
use symphonia::core::errors::{Error as SymphoniaError, Result};
use symphonia::core::formats::probe::{ProbeFormatData, ProbeableFormat, Score, Scoreable};
use symphonia::core::formats::well_known::{FORMAT_ID_AIFF, FORMAT_ID_CAF, FORMAT_ID_WAVE};
use symphonia::core::formats::{FormatId, FormatInfo, FormatOptions, FormatReader, Track};
use symphonia::core::io::{MediaSourceStream, ReadBytes, ScopedStream, SeekBuffered};
use symphonia::core::packet::{Packet, PacketBuilder};
use symphonia::core::units::{Duration, TimeBase, Timestamp};

pub use pcm_stream::{PcmHeader, PcmLayout, PcmStreamReader, SampleCoding};

/// Why a header parser did not produce a header.
#[derive(Debug)]
pub enum HeaderError {
    /// The bytes are not this container at all: let another reader try.
    NotThisFormat,
    /// This container, but a variant or a header we cannot read; says which.
    Unsupported(String),
    /// This container, holding a codec nothing here decodes (no other reader will either);
    /// names it.
    Undecodable(String),
    /// The stream ended (or failed) inside the header.
    Io(io::Error),
    /// A WAV whose `fmt ` chunk says MPEG audio (layer I-III): the source stands at the first
    /// byte of its data chunk, where MPEG audio frames follow.
    MpegAudioData,
}

impl From<io::Error> for HeaderError {
    fn from(e: io::Error) -> Self {
        HeaderError::Io(e)
    }
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderError::NotThisFormat => write!(f, "not this container"),
            HeaderError::Unsupported(why) | HeaderError::Undecodable(why) => write!(f, "{why}"),
            HeaderError::Io(e) => write!(f, "the stream ended inside the header ({e})"),
            HeaderError::MpegAudioData => write!(f, "the WAV file holds MPEG audio"),
        }
    }
}

/// Byte order of a container's header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    fn u16(self, bytes: &[u8]) -> u16 {
        let bytes = [bytes[0], bytes[1]];
        match self {
            ByteOrder::Little => u16::from_le_bytes(bytes),
            ByteOrder::Big => u16::from_be_bytes(bytes),
        }
    }

    fn u32(self, bytes: &[u8]) -> u32 {
        let bytes = [bytes[0], bytes[1], bytes[2], bytes[3]];
        match self {
            ByteOrder::Little => u32::from_le_bytes(bytes),
            ByteOrder::Big => u32::from_be_bytes(bytes),
        }
    }

    fn read_u32<R: ReadBytes>(self, source: &mut R) -> io::Result<u32> {
        match self {
            ByteOrder::Little => source.read_u32(),
            ByteOrder::Big => source.read_be_u32(),
        }
    }
}

const fn info(code: &[u8; 4], format: Option<FormatId>, short_name: &'static str) -> FormatInfo {
    FormatInfo {
        format: match format {
            Some(format) => format,
            None => FormatId::new(FourCc::new(*code)),
        },
        short_name,
        long_name: short_name,
    }
}

pub const WAVE_INFO: FormatInfo = info(b"WAVE", Some(FORMAT_ID_WAVE), "wave");
pub const RIFX_INFO: FormatInfo = info(b"RIFX", None, "rifx");
pub const RF64_INFO: FormatInfo = info(b"RF64", None, "rf64");
pub const BW64_INFO: FormatInfo = info(b"BW64", None, "bw64");
pub const WAVE64_INFO: FormatInfo = info(b"W64 ", None, "wave64");
pub const AIFF_INFO: FormatInfo = info(b"AIFF", Some(FORMAT_ID_AIFF), "aiff");
pub const CAF_INFO: FormatInfo = info(b"caff", Some(FORMAT_ID_CAF), "caf");
pub const AU_INFO: FormatInfo = info(b".snd", None, "au");
pub const RAW_INFO: FormatInfo = info(b"raw ", None, "raw");

/// Parses whichever PCM container header starts at the source's position.
pub fn parse_pcm_header<R: ReadBytes + SeekBuffered>(
    source: &mut R,
) -> std::result::Result<(&'static FormatInfo, PcmHeader), HeaderError> {
    let mut magic = [0u8; 4];
    source.read_buf_exact(&mut magic)?;
    source.seek_buffered_rel(-4);
    if riff::RiffKind::from_magic(&magic).is_some() {
        let (kind, header) = riff::parse(source)?;
        let info = match kind {
            riff::RiffKind::Riff => &WAVE_INFO,
            riff::RiffKind::Rifx => &RIFX_INFO,
            riff::RiffKind::Rf64 => &RF64_INFO,
            riff::RiffKind::Bw64 => &BW64_INFO,
            riff::RiffKind::Wave64 => &WAVE64_INFO,
        };
        return Ok((info, header));
    }
    match &magic {
        b"FORM" => Ok((&AIFF_INFO, aiff::parse(source)?)),
        b"caff" => Ok((&CAF_INFO, caf::parse(source)?)),
        &au::MAGIC => Ok((&AU_INFO, au::parse(source)?)),
        _ => Err(HeaderError::NotThisFormat),
    }
}

/// The name of a format nothing here decodes, when `source` starts with one, so that the
/// ERROR says what the stream is. OptimFROG and TAK carry the original WAV header inside their
/// own: symphonia's probe skips unknown bytes looking for a marker, finds that header, and the
/// WAV reader would then play the compressed audio after it as PCM, loud noise (Monkey's Audio
/// is read by `ape`). ASF (Windows Media Audio: its codecs have no public specification and no
/// crate decodes them) and raw DTS would only be "no supported audio format". The source is
/// left where it was.
pub fn known_undecodable_format(source: &mut MediaSourceStream<'_>) -> Option<&'static str> {
    let magic = source::look_ahead(source, |source| source.read_quad_bytes());
    match &magic.ok()? {
        b"OFR " => Some("OptimFROG"),
        b"tBaK" => Some("TAK"),
        // The first bytes of ASF's header object GUID.
        [0x30, 0x26, 0xb2, 0x75] => Some("ASF (Windows Media Audio)"),
        // DTS core sync words: 16-bit words big- and little-endian, and 14-bit words both ways.
        [0x7f, 0xfe, 0x80, 0x01]
        | [0xfe, 0x7f, 0x01, 0x80]
        | [0x1f, 0xff, 0xe8, 0x00]
        | [0xff, 0x1f, 0x00, 0xe8] => Some("DTS"),
        _ => None,
    }
}

/// For a WAV file nothing here decodes, whose first bytes are `head`: the codec it holds
/// (G.722, GSM, ...), where symphonia's reader would only say "unsupported wave format".
pub fn undecodable_wav_codec(head: &[u8]) -> Option<String> {
    let mut source =
        MediaSourceStream::new(Box::new(io::Cursor::new(head.to_vec())), Default::default());
    match riff::parse(&mut source) {
        Err(HeaderError::Undecodable(name)) => Some(name),
        _ => None,
    }
}

/// The one track of our one-track readers: these codec parameters, timed by their sample rate.
pub(crate) fn audio_track(params: AudioCodecParameters) -> Track {
    let rate = params.sample_rate;
    let mut track = Track::new(0);
    track.with_codec_params(CodecParameters::Audio(params));
    if let Some(time_base) = rate.and_then(TimeBase::try_from_recip) {
        track.with_time_base(time_base);
    }
    track
}

/// A packet of our one-track readers: `dur` samples from `pts`.
pub(crate) fn track_packet(pts: u64, dur: u64, data: Vec<u8>) -> Packet {
    PacketBuilder::new()
        .track_id(0)
        .pts(Timestamp::try_from(pts).unwrap_or(Timestamp::MAX))
        .dur(Duration::from(dur))
        .data(data)
        .build()
}

/// After a stream's last frame: when a tag follows (ID3v1, ID3v2, APEv2, Lyrics3), reads it
/// and everything after it, none of which is audio. Anything else is left for the next stream.
pub(crate) fn skip_trailing_tags(source: &mut MediaSourceStream<'_>) {
    /// Bytes that tell a tag (`LYRICSBEGIN`, the longest marker).
    const TAG_MARKER_LEN: usize = 11;
    let tag_follows = source::look_ahead(source, |source| {
        let mut ahead = Vec::with_capacity(TAG_MARKER_LEN);
        while ahead.len() < TAG_MARKER_LEN {
            match source.read_byte() {
                Ok(byte) => ahead.push(byte),
                Err(_) => break,
            }
        }
        mpeg_audio::starts_with_tag(&ahead)
    });
    if tag_follows {
        let mut sink = [0u8; 4096];
        while matches!(std::io::Read::read(source, &mut sink), Ok(n) if n > 0) {}
    }
}

/// Opens a PCM container at the start of `source`.
pub fn open_pcm_container(
    mut source: MediaSourceStream<'_>,
) -> std::result::Result<PcmStreamReader<'_>, HeaderError> {
    let (info, header) = parse_pcm_header(&mut source)?;
    Ok(PcmStreamReader::new(source, info, header))
}

impl Scoreable for PcmStreamReader<'_> {
    fn score(mut source: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        Ok(match parse_pcm_header(&mut source) {
            Ok(_) => Score::Supported(255),
            // The header is longer than the probe lets a score read (large chunks before the
            // sample data): the magic matched, so it is most likely ours.
            Err(HeaderError::Io(_)) => Score::Supported(128),
            Err(_) => Score::Unsupported,
        })
    }
}

impl ProbeableFormat<'_> for PcmStreamReader<'_> {
    fn try_probe_new(
        source: MediaSourceStream<'_>,
        _opts: FormatOptions,
    ) -> Result<Box<dyn FormatReader + '_>> {
        match open_pcm_container(source) {
            Ok(reader) => Ok(Box::new(reader)),
            Err(HeaderError::Io(e)) => Err(SymphoniaError::IoError(e)),
            Err(_) => Err(SymphoniaError::Unsupported(
                "pcm container: unsupported header",
            )),
        }
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        const fn markers(info: FormatInfo, markers: &'static [&'static [u8]]) -> ProbeFormatData {
            ProbeFormatData {
                spec: symphonia::core::formats::probe::ProbeDataMatchSpec {
                    extensions: &[],
                    mime_types: &[],
                    markers,
                },
                info,
            }
        }
        static DATA: [ProbeFormatData; 4] = [
            markers(WAVE_INFO, &[b"RIFF", b"RIFX", b"RF64", b"BW64", b"riff"]),
            markers(AIFF_INFO, &[b"FORM"]),
            markers(CAF_INFO, &[b"caff"]),
            markers(AU_INFO, &[&au::MAGIC]),
        ];
        &DATA
    }
}
