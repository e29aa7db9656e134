//! FLV (Flash Video): what RTMP servers record and HTTP-FLV live streams send, what `ffmpeg -f
//! flv` writes for an RTMP push. A 9-byte header, then tags (audio, video, script data), each
//! with an 11-byte header and followed by its length. The first audio stream is read: AAC (its
//! AudioSpecificConfig in a sequence header tag, then one access unit per tag), MP3, PCM and
//! G.711; Nellymoser, Speex, Flash ADPCM and the codecs of Enhanced FLV's extended header are
//! refused with an error that names them.
//!
//! Written here because symphonia has no FLV reader. Video and script tags are passed over; an
//! AAC config that changes starts a new track; a tag whose header does not read (damage) is
//! passed over to the next tag whose length the size after it confirms, with one error; a cut
//! ends the stream quietly.

use symphonia::core::common::FourCc;
use symphonia::core::errors::{Error as SymphoniaError, Result};
use symphonia::core::formats::{FormatId, FormatInfo, FormatReader, MediaInfo, Track};
use symphonia::core::io::{MediaSourceStream, ReadBytes};
use symphonia::core::meta::MetadataLog;
use symphonia::core::packet::Packet;

use super::aac_config::{AudioSpecificConfig, aac_track};
use super::mpeg_audio::{frames_samples, frames_track};
use super::pcm_stream::{PcmLayout, SampleCoding};

static FLV_INFO: FormatInfo = FormatInfo {
    format: FormatId::new(FourCc::new(*b"FLV ")),
    short_name: "flv",
    long_name: "Flash Video (FLV)",
};

const TAG_HEADER_BYTES: usize = 11;
const AUDIO_TAG: u8 = 8;
const VIDEO_TAG: u8 = 9;
const SCRIPT_TAG: u8 = 18;
/// Tags read, at most, looking for the first audio tag: a few seconds of video in a live
/// stream (a tag per video frame).
const TAGS_BEFORE_AUDIO: usize = 1000;
/// Larger tags are damage (a tag length is 24 bits; audio tags are a frame or so).
const MAX_TAG_BYTES: usize = 4 << 20;

/// Whether the source starts with an FLV header (the source is left where it was).
pub fn at_header(source: &mut MediaSourceStream<'_>) -> bool {
    super::source::look_ahead(source, |source| {
        let mut head = [0u8; 9];
        source.read_buf_exact(&mut head).is_ok()
            && &head[..3] == b"FLV"
            && head[3] == 1
            && u32::from_be_bytes([head[5], head[6], head[7], head[8]]) >= 9
    })
}

/// The audio codec of a stream of FLV audio tags.
#[derive(Debug, Clone, PartialEq)]
enum Codec {
    /// AAC with this AudioSpecificConfig, and what it says.
    Aac {
        config: Vec<u8>,
        audio: AudioSpecificConfig,
    },
    Mp3,
    Pcm(PcmLayout),
}

/// A tag's header: its type (the filter bit cleared), its data's length.
fn tag_header(bytes: &[u8; TAG_HEADER_BYTES]) -> Option<(u8, usize)> {
    let kind = bytes[0] & 0x1f;
    let len = usize::from(bytes[1]) << 16 | usize::from(bytes[2]) << 8 | usize::from(bytes[3]);
    let stream_id = &bytes[8..11];
    (matches!(kind, AUDIO_TAG | VIDEO_TAG | SCRIPT_TAG)
        && bytes[0] & 0x20 == 0
        && stream_id == [0, 0, 0]
        && len <= MAX_TAG_BYTES)
        .then_some((kind, len))
}

/// What an audio tag holds.
#[derive(Debug, PartialEq)]
enum AudioTag<'a> {
    /// An AAC sequence header: the AudioSpecificConfig.
    AacConfig(&'a [u8]),
    Aac(&'a [u8]),
    Mp3(&'a [u8]),
    Pcm(PcmLayout, &'a [u8]),
}

/// Reads an audio tag's data (its first byte says the codec and, for the older codecs, the
/// rate, width and channels).
fn audio_tag(data: &[u8]) -> std::result::Result<AudioTag<'_>, String> {
    let [first, rest @ ..] = data else {
        return Err("an empty FLV audio tag".into());
    };
    let format = first >> 4;
    let rate = [5512, 11_025, 22_050, 44_100][usize::from(first >> 2 & 3)];
    let wide = first & 2 != 0;
    let channels = if first & 1 != 0 { 2 } else { 1 };
    let pcm = |coding, rate| {
        AudioTag::Pcm(
            PcmLayout {
                coding,
                rate,
                channels,
                channel_mask: 0,
            },
            rest,
        )
    };
    Ok(match format {
        // PCM in the writer's byte order (little-endian in practice), and little-endian.
        0 | 3 if wide => pcm(SampleCoding::int(2, true, false), rate),
        0 | 3 => pcm(SampleCoding::int(1, false, false), rate),
        7 => pcm(SampleCoding::ALaw, 8000),
        8 => pcm(SampleCoding::MuLaw, 8000),
        2 | 14 => AudioTag::Mp3(rest),
        10 => match rest {
            [0, config @ ..] => AudioTag::AacConfig(config),
            [1, frame @ ..] => AudioTag::Aac(frame),
            _ => return Err("an FLV AAC tag of unknown packet type".into()),
        },
        other => {
            let name = match other {
                1 => "Flash ADPCM",
                4..=6 => "Nellymoser",
                9 => "a codec of Enhanced FLV's extended header",
                11 => "Speex",
                _ => "an unknown codec",
            };
            return Err(format!(
                "the FLV stream's audio is {name} (sound format {other}), which this element does \
                 not decode (AAC, MP3, PCM and G.711 in FLV are decoded)"
            ));
        }
    })
}

/// Reads the audio of an FLV stream, a packet per audio tag.
pub struct FlvReader<'s> {
    source: MediaSourceStream<'s>,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    codec: Codec,
    /// An audio packet read while opening or at a change of codec, not yet handed out.
    pending: Option<Vec<u8>>,
    /// Samples per channel handed out so far.
    samples: u64,
    ended: bool,
}

impl<'s> FlvReader<'s> {
    /// Reads the header and the tags up to the first audio one that says what the audio is.
    pub fn try_new(mut source: MediaSourceStream<'s>) -> std::result::Result<Self, String> {
        let mut head = [0u8; 9];
        source
            .read_buf_exact(&mut head)
            .map_err(|e| format!("the FLV header is cut short ({e})"))?;
        let header_len = u32::from_be_bytes([head[5], head[6], head[7], head[8]]);
        // The rest of the header, then the first tag's "previous tag size".
        source
            .ignore_bytes(u64::from(header_len.saturating_sub(9)) + 4)
            .map_err(|e| format!("the FLV header is cut short ({e})"))?;
        let mut reader = FlvReader {
            source,
            tracks: vec![],
            media_info: MediaInfo::default(),
            metadata: MetadataLog::default(),
            codec: Codec::Mp3,
            pending: None,
            samples: 0,
            ended: false,
        };
        for _ in 0..TAGS_BEFORE_AUDIO {
            let Some((kind, data)) = reader.read_tag().map_err(|e| e.to_string())? else {
                break;
            };
            if kind != AUDIO_TAG {
                continue;
            }
            if let Some(codec) = reader.start(&data)? {
                reader.set_track(codec);
                return Ok(reader);
            }
        }
        Err(if reader.ended {
            "the FLV stream has no audio".into()
        } else {
            format!("the FLV stream has no audio in its first {TAGS_BEFORE_AUDIO} tags")
        })
    }

    /// The codec an audio tag starts, keeping its audio for the first packet; `None` for a tag
    /// that starts nothing (AAC frames before their config).
    fn start(&mut self, data: &[u8]) -> std::result::Result<Option<Codec>, String> {
        Ok(match audio_tag(data)? {
            // An empty sequence header, as ffmpeg writes before it knows the config (from
            // ADTS input); the real one follows.
            AudioTag::AacConfig([]) => None,
            AudioTag::AacConfig(config) => {
                let audio = AudioSpecificConfig::read_stated(config).ok_or_else(|| {
                    "the FLV stream's AAC configuration cannot be read".to_string()
                })?;
                Some(Codec::Aac {
                    config: config.to_vec(),
                    audio,
                })
            }
            AudioTag::Aac(_) => None,
            AudioTag::Mp3(frames) => {
                self.pending = Some(frames.to_vec());
                Some(Codec::Mp3)
            }
            AudioTag::Pcm(layout, samples) => {
                layout.check()?;
                self.pending = Some(samples.to_vec());
                Some(Codec::Pcm(layout))
            }
        })
    }

    fn set_track(&mut self, codec: Codec) {
        let track = match &codec {
            Codec::Aac { config, audio } => Some(aac_track(config, audio)),
            Codec::Mp3 => self.pending.as_deref().and_then(frames_track),
            Codec::Pcm(layout) => Some(layout.track()),
        };
        let track = track.unwrap_or_else(|| Track::new(0));
        self.media_info = MediaInfo::from_track(&track);
        self.tracks = vec![track];
        self.codec = codec;
    }

    /// The next tag's type and data; `None` at the end of the stream or inside a tag (a cut).
    fn read_tag(&mut self) -> Result<Option<(u8, Vec<u8>)>> {
        if at_header(&mut self.source) {
            // Another FLV file: this one ends here, the next is opened anew.
            self.ended = true;
            return Ok(None);
        }
        let mut head = [0u8; TAG_HEADER_BYTES];
        if !super::source::read_packet(&mut self.source, &mut head)? {
            self.ended = true;
            return Ok(None);
        }
        let (kind, len) = match tag_header(&head) {
            Some(tag) => tag,
            None => {
                super::skip_trailing_tags(&mut self.source);
                self.find_next_tag();
                if self.ended {
                    return Ok(None);
                }
                return Err(SymphoniaError::DecodeError("flv: damaged data passed over"));
            }
        };
        // The data, then the size of the tag just read.
        let mut data = vec![0u8; len + 4];
        if !super::source::read_packet(&mut self.source, &mut data)? {
            self.ended = true;
            return Ok(None);
        }
        data.truncate(len);
        Ok(Some((kind, data)))
    }

    /// Reads past bytes up to the next tag whose header reads and whose length the size after
    /// it confirms, or to the end.
    fn find_next_tag(&mut self) {
        loop {
            let found = super::source::look_ahead(&mut self.source, |source| {
                let mut head = [0u8; TAG_HEADER_BYTES];
                source.read_buf_exact(&mut head)?;
                let Some((_, len)) = tag_header(&head) else {
                    return Ok(false);
                };
                source.ignore_bytes(len as u64)?;
                Ok::<_, std::io::Error>(source.read_be_u32()? as usize == len + TAG_HEADER_BYTES)
            });
            match found {
                Ok(true) => return,
                Ok(false) | Err(_) if self.source.read_byte().is_ok() => {}
                _ => {
                    self.ended = true;
                    return;
                }
            }
        }
    }

    /// A packet of `data` and its length in samples.
    fn packet(&mut self, data: Vec<u8>) -> Packet {
        let samples = match &self.codec {
            Codec::Aac { audio, .. } => u64::from(audio.frame_samples()),
            Codec::Mp3 => frames_samples(&data),
            Codec::Pcm(layout) => layout.block().frames_in(data.len() as u64),
        };
        let pts = self.samples;
        self.samples += samples;
        super::track_packet(pts, samples, data)
    }
}

impl FormatReader for FlvReader<'_> {
    super::unseekable_reader_methods!(FLV_INFO);

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        if let Some(data) = self.pending.take() {
            return Ok(Some(self.packet(data)));
        }
        loop {
            if self.ended {
                return Ok(None);
            }
            let Some((kind, data)) = self.read_tag()? else {
                return Ok(None);
            };
            if kind != AUDIO_TAG {
                continue;
            }
            let tag = audio_tag(&data).map_err(|_| {
                SymphoniaError::DecodeError("flv: an audio tag in another codec passed over")
            })?;
            match (&self.codec, tag) {
                (Codec::Aac { config, .. }, AudioTag::AacConfig(new))
                    if !new.is_empty() && new != &config[..] =>
                {
                    // Another rate or layout: a new track, and a decoder for it.
                    let codec = self.start(&data).map_err(|_| {
                        SymphoniaError::DecodeError("flv: an AAC configuration that does not read")
                    })?;
                    if let Some(codec) = codec {
                        self.samples = 0;
                        self.set_track(codec);
                        return Err(SymphoniaError::ResetRequired);
                    }
                }
                (Codec::Aac { .. }, AudioTag::AacConfig(_)) => {}
                (Codec::Aac { .. }, AudioTag::Aac(frame)) | (Codec::Mp3, AudioTag::Mp3(frame)) => {
                    return Ok(Some(self.packet(frame.to_vec())));
                }
                (Codec::Pcm(layout), AudioTag::Pcm(tag_layout, samples))
                    if *layout == tag_layout =>
                {
                    return Ok(Some(self.packet(samples.to_vec())));
                }
                _ => {
                    return Err(SymphoniaError::DecodeError(
                        "flv: an audio tag in another codec or format passed over",
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_tags_say_their_codec() {
        assert_eq!(
            audio_tag(&[0xaf, 0, 0x12, 0x10]),
            Ok(AudioTag::AacConfig(&[0x12, 0x10]))
        );
        assert_eq!(audio_tag(&[0xaf, 1, 7, 7]), Ok(AudioTag::Aac(&[7, 7])));
        assert_eq!(
            audio_tag(&[0x2f, 0xff, 0xfb]),
            Ok(AudioTag::Mp3(&[0xff, 0xfb]))
        );
        match audio_tag(&[0x3f, 1, 2, 3, 4]) {
            Ok(AudioTag::Pcm(layout, samples)) => {
                assert_eq!((layout.rate, layout.channels), (44_100, 2));
                assert_eq!(layout.coding, SampleCoding::int(2, true, false));
                assert_eq!(samples, &[1, 2, 3, 4]);
            }
            other => panic!("{other:?}"),
        }
        let nellymoser = audio_tag(&[0x62, 0, 0]).unwrap_err();
        assert!(nellymoser.contains("Nellymoser"), "{nellymoser}");
    }

    #[test]
    fn tag_headers_are_checked() {
        let audio = [8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(tag_header(&audio), Some((AUDIO_TAG, 256)));
        let mut encrypted = audio;
        encrypted[0] |= 0x20;
        assert_eq!(tag_header(&encrypted), None);
        let mut other_stream = audio;
        other_stream[10] = 1;
        assert_eq!(tag_header(&other_stream), None);
        assert_eq!(tag_header(&[7, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]), None);
    }
}
