//! Sound tracks of MP4, 3GP and QuickTime files whose sample entry symphonia's MP4 reader knows
//! no codec for: AMR and AMR-WB (`samr`, `sawb`: phone voice recordings, MMS, what `3gppmux`
//! writes), QuickTime's IMA ADPCM (`ima4`: old Mac recordings and games) and GSM 06.10 (`agsm`).
//!
//! The reader reads the samples of such a track but leaves its codec unnamed, so the stream
//! would look like one without audio. This finds those tracks in the `moov` box and hands the
//! reader's tracks on with codec parameters (`completed_tracks`). An AMR sample holds one or
//! more frames in the storage format (3GPP TS 26.244 section 6.5), which `codecs::amr` decodes;
//! an `ima4` sample is one 34-byte block a channel of 64 frames, which `codecs::ima_qt` decodes;
//! an `agsm` sample is one 33-byte frame for `codecs::telephony`.

use symphonia::core::audio::Channels;
use symphonia::core::audio::layouts::{CHANNEL_LAYOUT_MONO, CHANNEL_LAYOUT_STEREO};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::well_known::CODEC_ID_ADPCM_IMA_QT;
use symphonia::core::formats::FormatReader;

use super::completed_tracks::CompletedTracks;
use super::mp4_edit::{be, boxes, child, sound_tracks};
use crate::codecs::amr::Band;
use crate::codecs::ima_qt;
use crate::codecs::telephony::Codec;

/// A codec of a sound track that symphonia's reader leaves unnamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnnamedCodec {
    /// `frames_per_sample` as its `damr` box declares (1 when it has none).
    Amr {
        band: Band,
        frames_per_sample: u8,
    },
    /// Mono or stereo at `rate`.
    Ima4 {
        rate: u32,
        stereo: bool,
    },
    Gsm,
}

/// A sound track of the `moov` box with a codec symphonia's reader leaves unnamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnnamedTrack {
    /// Its `tkhd` track id, the id symphonia's track has.
    pub id: u32,
    pub codec: UnnamedCodec,
}

impl UnnamedTrack {
    fn codec_params(&self) -> (AudioCodecParameters, u32) {
        let mut params = AudioCodecParameters::new();
        let rate = match self.codec {
            UnnamedCodec::Amr {
                band,
                frames_per_sample,
            } => {
                params
                    .for_codec(band.codec_id())
                    .with_channels(CHANNEL_LAYOUT_MONO)
                    .with_max_frames_per_packet(
                        band.frame_samples() as u64 * u64::from(frames_per_sample),
                    );
                band.rate()
            }
            UnnamedCodec::Ima4 { rate, stereo } => {
                let channels: Channels = if stereo {
                    CHANNEL_LAYOUT_STEREO
                } else {
                    CHANNEL_LAYOUT_MONO
                };
                params
                    .for_codec(CODEC_ID_ADPCM_IMA_QT)
                    .with_channels(channels)
                    .with_frames_per_block(ima_qt::BLOCK_FRAMES as u64)
                    .with_max_frames_per_packet(ima_qt::BLOCK_FRAMES as u64);
                rate
            }
            UnnamedCodec::Gsm => {
                let codec = Codec::Gsm { wav49: false };
                params
                    .for_codec(codec.codec_id())
                    .with_channels(CHANNEL_LAYOUT_MONO)
                    .with_max_frames_per_packet(codec.block().1);
                codec.rate()
            }
        };
        params.with_sample_rate(rate);
        (params, rate)
    }
}

/// The sound tracks of the `moov` box in `head` whose codec symphonia's reader leaves unnamed,
/// in file order.
pub fn unnamed_tracks(head: &[u8]) -> Vec<UnnamedTrack> {
    let Some(moov) = child(head, b"moov") else {
        return Vec::new();
    };
    sound_tracks(moov).filter_map(unnamed_track).collect()
}

fn unnamed_track(trak: &[u8]) -> Option<UnnamedTrack> {
    let tkhd = child(trak, b"tkhd")?;
    // Version 1 has 64-bit creation and modification times before the id.
    let id_at = if *tkhd.first()? == 1 { 20 } else { 12 };
    let id = be(tkhd.get(id_at..id_at + 4)?) as u32;
    let stbl = child(child(child(trak, b"mdia")?, b"minf")?, b"stbl")?;
    // `stsd` is a full box with an entry count before its entries.
    let stsd = child(stbl, b"stsd")?.get(8..)?;
    let (kind, entry) = boxes(stsd).next()?;
    // The audio sample entry's fixed fields (28 bytes): reserved and data reference index (8),
    // version, revision and vendor (8), channels (2), sample size (2), compression id and packet
    // size (4), the rate in 16.16 fixed point (4). QuickTime's versions 1 and 2 add fields after
    // them.
    let codec = match &kind {
        b"samr" | b"sawb" => {
            let band = if &kind == b"samr" {
                Band::Narrow
            } else {
                Band::Wide
            };
            // Its `damr` box: vendor (4), decoder version (1), mode set (2), mode change period
            // (1), frames per sample (1).
            let frames_per_sample = entry
                .get(28..)
                .and_then(|children| child(children, b"damr"))
                .and_then(|damr| damr.get(8).copied())
                .filter(|&frames| frames > 0)
                .unwrap_or(1);
            UnnamedCodec::Amr {
                band,
                frames_per_sample,
            }
        }
        b"ima4" => {
            let channels = be(entry.get(16..18)?);
            let rate = (be(entry.get(24..28)?) >> 16) as u32;
            if !(1..=2).contains(&channels) || rate == 0 {
                return None;
            }
            UnnamedCodec::Ima4 {
                rate,
                stereo: channels == 2,
            }
        }
        b"agsm" => UnnamedCodec::Gsm,
        _ => return None,
    };
    Some(UnnamedTrack { id, codec })
}

/// `format` with codec parameters on its tracks that are in `unnamed` (see
/// [`unnamed_tracks`]); `format` itself when none of its tracks lacks parameters or `unnamed`
/// is empty.
pub fn with_unnamed_tracks<'s>(
    format: Box<dyn FormatReader + 's>,
    unnamed: &[UnnamedTrack],
) -> Box<dyn FormatReader + 's> {
    if unnamed.is_empty()
        || format
            .tracks()
            .iter()
            .all(|track| track.codec_params.is_some())
    {
        return format;
    }
    let mut tracks = format.tracks().to_vec();
    for track in tracks
        .iter_mut()
        .filter(|track| track.codec_params.is_none())
    {
        let Some(found) = unnamed.iter().find(|found| found.id == track.id) else {
            continue;
        };
        let (params, rate) = found.codec_params();
        track.with_codec_params(CodecParameters::Audio(params));
        // As symphonia does for the tracks it knows: the media time scale is almost always the
        // sample rate, and then the track's duration is its length in frames.
        if let (Some(time_base), Some(duration)) = (track.time_base, track.duration)
            && time_base.numer.get() == 1
            && time_base.denom.get() == rate
        {
            track.with_num_frames(duration.get());
        }
    }
    Box::new(CompletedTracks::new(format, tracks, ()))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::container::mp4::mp4_box;

    /// A `trak` box with handler `handler`, track id `id` and one sample entry `entry`.
    fn track(id: u32, handler: &[u8; 4], entry: &[u8]) -> Vec<u8> {
        let mut tkhd = vec![0u8; 12];
        tkhd.extend_from_slice(&id.to_be_bytes());
        tkhd.extend_from_slice(&[0; 64]);
        let mut hdlr = vec![0u8; 8];
        hdlr.extend_from_slice(handler);
        hdlr.extend_from_slice(&[0; 12]);
        let mut stsd = vec![0, 0, 0, 0, 0, 0, 0, 1];
        stsd.extend_from_slice(entry);
        let stbl = mp4_box(b"stbl", &mp4_box(b"stsd", &stsd));
        let minf = mp4_box(b"minf", &stbl);
        let mdia = mp4_box(b"mdia", &[mp4_box(b"hdlr", &hdlr), minf].concat());
        mp4_box(b"trak", &[mp4_box(b"tkhd", &tkhd), mdia].concat())
    }

    fn amr_entry(kind: &[u8; 4], damr: Option<u8>) -> Vec<u8> {
        let mut entry = vec![0u8; 28];
        if let Some(frames) = damr {
            entry.extend(mp4_box(
                b"damr",
                &[b'F', b'F', b'M', b'P', 0, 0x81, 0xff, 0, frames],
            ));
        }
        mp4_box(kind, &entry)
    }

    /// An audio sample entry with `channels` and `rate` in its fixed fields.
    fn sound_entry(kind: &[u8; 4], channels: u16, rate: u16) -> Vec<u8> {
        let mut entry = vec![0u8; 28];
        entry[16..18].copy_from_slice(&channels.to_be_bytes());
        entry[24..26].copy_from_slice(&rate.to_be_bytes());
        mp4_box(kind, &entry)
    }

    #[test]
    fn finds_amr_sound_tracks_with_their_ids_and_frames_per_sample() {
        let moov = mp4_box(
            b"moov",
            &[
                track(1, b"vide", &mp4_box(b"avc1", &[0; 80])),
                track(2, b"soun", &amr_entry(b"samr", Some(10))),
                track(3, b"soun", &amr_entry(b"sawb", None)),
                track(4, b"soun", &mp4_box(b"mp4a", &[0; 28])),
            ]
            .concat(),
        );
        let head = [mp4_box(b"ftyp", b"3gp4"), moov].concat();
        assert_eq!(
            unnamed_tracks(&head),
            [
                UnnamedTrack {
                    id: 2,
                    codec: UnnamedCodec::Amr {
                        band: Band::Narrow,
                        frames_per_sample: 10
                    }
                },
                UnnamedTrack {
                    id: 3,
                    codec: UnnamedCodec::Amr {
                        band: Band::Wide,
                        frames_per_sample: 1
                    }
                },
            ]
        );
    }

    #[test]
    fn finds_quicktime_ima_adpcm_and_gsm_tracks() {
        let moov = mp4_box(
            b"moov",
            &[
                track(1, b"soun", &sound_entry(b"ima4", 2, 22_050)),
                track(2, b"soun", &sound_entry(b"agsm", 1, 8000)),
                // Three channels, or no rate: not a track this takes.
                track(3, b"soun", &sound_entry(b"ima4", 3, 8000)),
                track(4, b"soun", &sound_entry(b"ima4", 1, 0)),
            ]
            .concat(),
        );
        let found = unnamed_tracks(&moov);
        assert_eq!(
            found,
            [
                UnnamedTrack {
                    id: 1,
                    codec: UnnamedCodec::Ima4 {
                        rate: 22_050,
                        stereo: true
                    }
                },
                UnnamedTrack {
                    id: 2,
                    codec: UnnamedCodec::Gsm
                },
            ]
        );
        let (params, rate) = found[0].codec_params();
        assert_eq!(rate, 22_050);
        assert_eq!(params.frames_per_block, Some(64));
        assert_eq!(params.channels.map(|c| c.count()), Some(2));
    }

    #[test]
    fn a_head_without_moov_or_cut_short_has_none() {
        assert!(unnamed_tracks(&mp4_box(b"ftyp", b"3gp4")).is_empty());
        let moov = mp4_box(b"moov", &track(2, b"soun", &amr_entry(b"samr", Some(1))));
        for cut in 0..moov.len() {
            assert!(unnamed_tracks(&moov[..cut]).is_empty(), "cut at {cut}");
        }
    }
}
