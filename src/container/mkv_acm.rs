//! `A_MS/ACM` tracks in Matroska: a WAVEFORMATEX as the track's private data, as in WAV and AVI.
//! ffmpeg writes them for codecs Matroska has no id of its own for: Speex (format tag 0xA109,
//! its header after the WAVEFORMATEX), IMA and Microsoft ADPCM, G.711, G.722, G.726, GSM 06.10.
//!
//! symphonia's Matroska reader leaves these tracks without codec parameters, so the stream
//! would look like one without audio. This finds them in the head's `Tracks` element and hands
//! the reader's tracks on with codec parameters (see `completed_tracks`): Speex with its header
//! as extra data, as the Ogg reader gives it to `codecs::speex`; the others as the WAV reader
//! describes the same WAVEFORMATEX (`riff`). A block is one Speex packet, or whole ADPCM or
//! telephony blocks, or PCM frames. A format tag nothing here decodes is named in the error.

use symphonia::core::audio::layouts::{CHANNEL_LAYOUT_MONO, CHANNEL_LAYOUT_STEREO};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::well_known::CODEC_ID_SPEEX;
use symphonia::core::formats::FormatReader;
use symphonia::core::packet::Packet;
use symphonia::core::units::{Duration, TimeBase, Timestamp};

use super::HeaderError;
use super::completed_tracks::{CompletedTracks, PacketMap};
use super::mkv_head::{
    CODEC_ID, CODEC_PRIVATE, TRACK_ENTRY, TRACK_NUMBER, TRACKS, elements, frames_at, segment_child,
    uint,
};
use super::riff::{self, AdpcmFormat};
use crate::codecs::speex::SpeexHeader;

/// The WAVEFORMATEX format tag of Speex.
const WAVE_FORMAT_SPEEX: u16 = 0xA109;
/// WAVEFORMATEX's fixed fields, before its extra bytes.
const WAVEFORMATEX_BYTES: usize = 18;

/// An `A_MS/ACM` track: its number (symphonia's track id) and its private data (the
/// WAVEFORMATEX and what follows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmTrack {
    pub number: u32,
    pub format: Vec<u8>,
}

/// The `A_MS/ACM` tracks of the `Tracks` element in `head`, in file order.
pub fn acm_tracks(head: &[u8]) -> Vec<AcmTrack> {
    let Some(tracks) = segment_child(head, TRACKS) else {
        return Vec::new();
    };
    elements(tracks)
        .filter(|&(id, _)| id == TRACK_ENTRY)
        .filter_map(|(_, entry)| acm_track(entry))
        .collect()
}

fn acm_track(entry: &[u8]) -> Option<AcmTrack> {
    let (mut number, mut acm, mut private) = (None, false, None);
    for (id, body) in elements(entry) {
        match id {
            TRACK_NUMBER if (1..=4).contains(&body.len()) => {
                number = u32::try_from(uint(body)).ok();
            }
            CODEC_ID => acm = body.strip_suffix(&[0]).unwrap_or(body) == b"A_MS/ACM",
            CODEC_PRIVATE => private = Some(body),
            _ => {}
        }
    }
    let format = private.filter(|_| acm)?;
    Some(AcmTrack {
        number: number?,
        format: format.to_vec(),
    })
}

impl AcmTrack {
    fn tag(&self) -> Option<u16> {
        Some(u16::from_le_bytes([
            *self.format.first()?,
            *self.format.get(1)?,
        ]))
    }

    /// The codec parameters of this track, and for ADPCM the size of its blocks; or what it
    /// holds that cannot be decoded.
    fn codec(&self) -> Result<(AudioCodecParameters, Option<AdpcmFormat>), String> {
        let tag = self
            .tag()
            .ok_or("its WAVEFORMATEX is missing (A_MS/ACM without private data)")?;
        if tag == WAVE_FORMAT_SPEEX {
            let header = self
                .format
                .get(WAVEFORMATEX_BYTES..)
                .and_then(SpeexHeader::parse)
                .ok_or("Speex whose header cannot be read (A_MS/ACM)")?;
            let mut params = AudioCodecParameters::new();
            params
                .for_codec(CODEC_ID_SPEEX)
                .with_sample_rate(header.rate)
                .with_channels(if header.channels == 2 {
                    CHANNEL_LAYOUT_STEREO
                } else {
                    CHANNEL_LAYOUT_MONO
                })
                .with_extra_data(self.format[WAVEFORMATEX_BYTES..].into());
            return Ok((params, None));
        }
        if let Some(adpcm) = riff::adpcm_format(&self.format) {
            return adpcm.map(|adpcm| ((*adpcm.params).clone(), Some(adpcm)));
        }
        match riff::fmt_layout(&self.format) {
            Ok(layout) => Ok((layout.codec_params(), None)),
            // A codec we decode, in a layout we do not (stereo G.722, say).
            Err(HeaderError::Unsupported(why)) if why.starts_with("WAV with ") => Err(format!(
                "{} (WAV format tag {tag:#06x} in A_MS/ACM)",
                &why["WAV with ".len()..]
            )),
            Err(_) => Err(match riff::undecodable_tag_name(tag) {
                Some(name) => format!("{name} (WAV format tag {tag:#06x} in A_MS/ACM)"),
                None => format!("WAV format tag {tag:#06x} (A_MS/ACM)"),
            }),
        }
    }
}

/// Why the first `A_MS/ACM` track cannot be decoded, if it cannot: for the error when the
/// stream has no other audio track.
pub fn refusal(acm: &[AcmTrack]) -> Option<String> {
    let why = acm.iter().find_map(|track| track.codec().err())?;
    Some(format!(
        "the matroska audio track holds {why}, which this element does not decode"
    ))
}

/// `format` with codec parameters on its tracks in `acm`; `format` itself when there are none
/// to give.
pub fn with_acm_tracks<'s>(
    format: Box<dyn FormatReader + 's>,
    acm: &[AcmTrack],
) -> Box<dyn FormatReader + 's> {
    let mut tracks = format.tracks().to_vec();
    let mut named = false;
    let mut adpcm_blocks = Vec::new();
    for track in tracks
        .iter_mut()
        .filter(|track| track.codec_params.is_none())
    {
        let Some(found) = acm.iter().find(|found| found.number == track.id) else {
            continue;
        };
        let Ok((params, adpcm)) = found.codec() else {
            continue;
        };
        if let Some(adpcm) = adpcm {
            let (Some(reader_time_base), Some(rate)) = (track.time_base, params.sample_rate) else {
                continue;
            };
            let Some(time_base) = TimeBase::try_from_recip(rate) else {
                continue;
            };
            track.with_time_base(time_base);
            adpcm_blocks.push(AdpcmBlocks {
                track_id: track.id,
                rate,
                block_align: adpcm.block_align,
                frames_per_block: adpcm.frames_per_block,
                reader_time_base,
            });
        }
        track.with_codec_params(CodecParameters::Audio(params));
        named = true;
    }
    if !named {
        return format;
    }
    Box::new(CompletedTracks::new(format, tracks, adpcm_blocks))
}

/// An ADPCM track's packets: symphonia's ADPCM codec decodes as many blocks as a packet's
/// duration covers, and Matroska blocks state none. Each packet is given its whole blocks'
/// frames, and its timestamp in frames (the track's time base becomes the sample rate's).
struct AdpcmBlocks {
    track_id: u32,
    rate: u32,
    block_align: usize,
    frames_per_block: u64,
    /// The reader's time base for the track's timestamps.
    reader_time_base: TimeBase,
}

impl PacketMap for Vec<AdpcmBlocks> {
    fn map(&self, mut packet: Packet) -> Option<Packet> {
        let Some(track) = self.iter().find(|t| t.track_id == packet.track_id) else {
            return Some(packet);
        };
        let blocks = packet.data.len() / track.block_align.max(1);
        if blocks == 0 {
            // Less than a block: nothing the codec can decode.
            return None;
        }
        if packet.data.len() != blocks * track.block_align {
            packet.data = packet.data[..blocks * track.block_align].into();
        }
        let at = frames_at(track.reader_time_base, packet.pts, track.rate);
        packet.pts = Timestamp::try_from(at).unwrap_or(Timestamp::MAX);
        packet.dur = Duration::from(blocks as u64 * track.frames_per_block);
        Some(packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAVEFORMATEX: tag, channels, rate, block align, bits, no extra bytes.
    fn wave_format(tag: u16, channels: u16, rate: u32, block_align: u16, bits: u16) -> Vec<u8> {
        let mut format = Vec::new();
        format.extend(tag.to_le_bytes());
        format.extend(channels.to_le_bytes());
        format.extend(rate.to_le_bytes());
        format.extend((rate * u32::from(block_align)).to_le_bytes());
        format.extend(block_align.to_le_bytes());
        format.extend(bits.to_le_bytes());
        format.extend(0u16.to_le_bytes());
        format
    }

    fn track(format: Vec<u8>) -> AcmTrack {
        AcmTrack { number: 1, format }
    }

    #[test]
    fn wave_formats_become_codec_parameters() {
        let (params, blocks) = track(wave_format(0x0002, 1, 44_100, 1024, 4))
            .codec()
            .unwrap();
        assert_eq!(params.sample_rate, Some(44_100));
        let blocks = blocks.expect("ADPCM has blocks");
        assert_eq!((blocks.block_align, blocks.frames_per_block), (1024, 2036));
        let (params, blocks) = track(wave_format(0x0006, 2, 8_000, 2, 8)).codec().unwrap();
        assert_eq!(params.channels.map(|c| c.count()), Some(2));
        assert!(blocks.is_none());
    }

    #[test]
    fn what_cannot_be_decoded_is_named() {
        let refused = |format: Vec<u8>| refusal(&[track(format)]).unwrap();
        let g723_1 = refused(wave_format(0x0042, 1, 8_000, 24, 0));
        assert!(
            g723_1.contains("G.723.1 (WAV format tag 0x0042 in A_MS/ACM)"),
            "{g723_1}"
        );
        let stereo_g722 = refused(wave_format(0x028f, 2, 16_000, 2, 4));
        assert!(stereo_g722.contains("G.722 in 2 channels"), "{stereo_g722}");
        let unknown = refused(wave_format(0x7777, 1, 8_000, 2, 16));
        assert!(
            unknown.contains("WAV format tag 0x7777 (A_MS/ACM)"),
            "{unknown}"
        );
        assert!(refused(Vec::new()).contains("without private data"));
        assert_eq!(
            refusal(&[track(wave_format(0x0001, 1, 8_000, 2, 16))]),
            None
        );
    }
}
