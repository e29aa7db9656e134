//! AMR and AMR-WB tracks in 3GP and MP4 files (`samr` and `sawb` sample entries: phone voice
//! recordings, MMS, what `3gppmux` writes).
//!
//! symphonia's MP4 reader reads the samples of such a track but names no codec for it (its sample
//! entry parser knows no AMR), so the stream would look like one without audio. This finds those
//! tracks in the `moov` box and hands the reader's tracks on with AMR codec parameters; every
//! other call goes to symphonia's reader. A sample holds one or more frames in the storage format
//! (3GPP TS 26.244 section 6.5), which `codecs::amr` decodes.

use symphonia::core::audio::layouts::CHANNEL_LAYOUT_MONO;
use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::errors::Result;
use symphonia::core::formats::{
    FormatInfo, FormatReader, MediaInfo, SeekMode, SeekTo, SeekedTo, Track,
};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::Metadata;
use symphonia::core::packet::Packet;

use super::mp4_edit::{be, boxes, child, sound_tracks};
use crate::codecs::amr::Band;

/// An AMR track of the `moov` box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmrTrack {
    /// Its `tkhd` track id, the id symphonia's track has.
    pub id: u32,
    pub band: Band,
    /// Frames in each sample, as its `damr` box declares (1 when it has none).
    pub frames_per_sample: u8,
}

/// The AMR tracks of the `moov` box in `head`, in file order.
pub fn amr_tracks(head: &[u8]) -> Vec<AmrTrack> {
    let Some(moov) = child(head, b"moov") else {
        return Vec::new();
    };
    sound_tracks(moov).filter_map(amr_track).collect()
}

fn amr_track(trak: &[u8]) -> Option<AmrTrack> {
    let tkhd = child(trak, b"tkhd")?;
    // Version 1 has 64-bit creation and modification times before the id.
    let id_at = if *tkhd.first()? == 1 { 20 } else { 12 };
    let id = be(tkhd.get(id_at..id_at + 4)?) as u32;
    let stbl = child(child(child(trak, b"mdia")?, b"minf")?, b"stbl")?;
    // `stsd` is a full box with an entry count before its entries.
    let stsd = child(stbl, b"stsd")?.get(8..)?;
    let (kind, entry) = boxes(stsd).next()?;
    let band = match &kind {
        b"samr" => Band::Narrow,
        b"sawb" => Band::Wide,
        _ => return None,
    };
    // The audio sample entry's fixed fields (28 bytes), then its `damr` box: vendor (4), decoder
    // version (1), mode set (2), mode change period (1), frames per sample (1).
    let frames_per_sample = entry
        .get(28..)
        .and_then(|children| child(children, b"damr"))
        .and_then(|damr| damr.get(8).copied())
        .filter(|&frames| frames > 0)
        .unwrap_or(1);
    Some(AmrTrack {
        id,
        band,
        frames_per_sample,
    })
}

/// `format` with codec parameters on its tracks that are in `amr` (see [`amr_tracks`]);
/// `format` itself when none of its tracks lacks parameters or `amr` is empty.
pub fn with_amr_tracks<'s>(
    format: Box<dyn FormatReader + 's>,
    amr: &[AmrTrack],
) -> Box<dyn FormatReader + 's> {
    if amr.is_empty()
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
        let Some(found) = amr.iter().find(|found| found.id == track.id) else {
            continue;
        };
        let band = found.band;
        let mut params = AudioCodecParameters::new();
        params
            .for_codec(band.codec_id())
            .with_sample_rate(band.rate())
            .with_channels(CHANNEL_LAYOUT_MONO)
            .with_max_frames_per_packet(
                band.frame_samples() as u64 * u64::from(found.frames_per_sample),
            );
        track.with_codec_params(CodecParameters::Audio(params));
        // As symphonia does for the tracks it knows: the media time scale is almost always the
        // sample rate, and then the track's duration is its length in frames.
        if let (Some(time_base), Some(duration)) = (track.time_base, track.duration)
            && time_base.numer.get() == 1
            && time_base.denom.get() == band.rate()
        {
            track.with_num_frames(duration.get());
        }
    }
    Box::new(AmrTracks {
        inner: format,
        tracks,
    })
}

/// symphonia's MP4 reader with the track list `with_amr_tracks` completed.
struct AmrTracks<'s> {
    inner: Box<dyn FormatReader + 's>,
    tracks: Vec<Track>,
}

impl FormatReader for AmrTracks<'_> {
    fn format_info(&self) -> &FormatInfo {
        self.inner.format_info()
    }

    fn media_info(&self) -> &MediaInfo {
        self.inner.media_info()
    }

    fn metadata(&mut self) -> Metadata<'_> {
        self.inner.metadata()
    }

    fn seek(&mut self, mode: SeekMode, to: SeekTo) -> Result<SeekedTo> {
        self.inner.seek(mode, to)
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        self.inner.next_packet()
    }

    fn into_inner<'a>(self: Box<Self>) -> MediaSourceStream<'a>
    where
        Self: 'a,
    {
        self.inner.into_inner()
    }
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
            amr_tracks(&head),
            [
                AmrTrack {
                    id: 2,
                    band: Band::Narrow,
                    frames_per_sample: 10
                },
                AmrTrack {
                    id: 3,
                    band: Band::Wide,
                    frames_per_sample: 1
                },
            ]
        );
    }

    #[test]
    fn a_head_without_moov_or_cut_short_has_none() {
        assert!(amr_tracks(&mp4_box(b"ftyp", b"3gp4")).is_empty());
        let moov = mp4_box(b"moov", &track(2, b"soun", &amr_entry(b"samr", Some(1))));
        for cut in 0..moov.len() {
            assert!(amr_tracks(&moov[..cut]).is_empty(), "cut at {cut}");
        }
    }
}
