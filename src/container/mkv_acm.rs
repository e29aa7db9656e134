//! Speex tracks in Matroska, which ffmpeg writes as `A_MS/ACM`: a WAVEFORMATEX with format tag
//! 0xA109 as the track's private data, the Speex header after it.
//!
//! symphonia's Matroska reader leaves `A_MS/ACM` tracks without codec parameters, so the stream
//! would look like one without audio. This finds such tracks in the head's `Tracks` element and
//! hands the reader's tracks on with Speex codec parameters (the header as extra data, as the
//! Ogg reader gives it to `codecs::speex`; see `completed_tracks`). A block
//! is one Speex packet.

use symphonia::core::audio::layouts::{CHANNEL_LAYOUT_MONO, CHANNEL_LAYOUT_STEREO};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::well_known::CODEC_ID_SPEEX;
use symphonia::core::formats::FormatReader;

use super::completed_tracks::CompletedTracks;
use super::mkv_tta::{CLUSTER, SEGMENT, elements};
use crate::codecs::speex::SpeexHeader;

const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63A2;
/// The WAVEFORMATEX format tag of Speex.
const WAVE_FORMAT_SPEEX: u16 = 0xA109;
/// WAVEFORMATEX's fixed fields, before its extra bytes.
const WAVEFORMATEX_BYTES: usize = 18;

/// An `A_MS/ACM` Speex track: its number (symphonia's track id) and its Speex header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeexTrack {
    pub number: u32,
    pub header: Vec<u8>,
}

/// The Speex tracks of the `Tracks` element in `head`, in file order.
pub fn speex_tracks(head: &[u8]) -> Vec<SpeexTrack> {
    let Some((_, segment)) = elements(head).find(|&(id, _)| id == SEGMENT) else {
        return Vec::new();
    };
    let Some((_, tracks)) = elements(segment)
        .take_while(|&(id, _)| id != CLUSTER)
        .find(|&(id, _)| id == TRACKS)
    else {
        return Vec::new();
    };
    elements(tracks)
        .filter(|&(id, _)| id == TRACK_ENTRY)
        .filter_map(|(_, entry)| speex_track(entry))
        .collect()
}

fn speex_track(entry: &[u8]) -> Option<SpeexTrack> {
    let (mut number, mut acm, mut private) = (None, false, None);
    for (id, body) in elements(entry) {
        match id {
            TRACK_NUMBER if (1..=4).contains(&body.len()) => {
                number = Some(body.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)));
            }
            CODEC_ID => acm = body.strip_suffix(&[0]).unwrap_or(body) == b"A_MS/ACM",
            CODEC_PRIVATE => private = Some(body),
            _ => {}
        }
    }
    let private = private.filter(|_| acm)?;
    let tag = u16::from_le_bytes([*private.first()?, *private.get(1)?]);
    let header = private.get(WAVEFORMATEX_BYTES..)?;
    let number = number?;
    (tag == WAVE_FORMAT_SPEEX && SpeexHeader::parse(header).is_some()).then(|| SpeexTrack {
        number,
        header: header.to_vec(),
    })
}

/// `format` with Speex codec parameters on its tracks in `speex`; `format` itself when there
/// are none to give.
pub fn with_speex_tracks<'s>(
    format: Box<dyn FormatReader + 's>,
    speex: &[SpeexTrack],
) -> Box<dyn FormatReader + 's> {
    let mut tracks = format.tracks().to_vec();
    let mut named = false;
    for track in tracks
        .iter_mut()
        .filter(|track| track.codec_params.is_none())
    {
        let Some(found) = speex.iter().find(|found| found.number == track.id) else {
            continue;
        };
        let Some(header) = SpeexHeader::parse(&found.header) else {
            continue;
        };
        let mut params = AudioCodecParameters::new();
        params
            .for_codec(CODEC_ID_SPEEX)
            .with_sample_rate(header.rate)
            .with_channels(if header.channels == 2 {
                CHANNEL_LAYOUT_STEREO
            } else {
                CHANNEL_LAYOUT_MONO
            })
            .with_extra_data(found.header.clone().into_boxed_slice());
        track.with_codec_params(CodecParameters::Audio(params));
        named = true;
    }
    if !named {
        return format;
    }
    Box::new(CompletedTracks::new(format, tracks, ()))
}
