//! Gapless trimming for MP4/M4A audio from the track's edit list or the iTunes `iTunSMPB` tag.
//!
//! AAC encoders put priming samples (usually 1024) at the start and padding at the end; the
//! `elst` box of the audio track says which part is the real audio. Symphonia 0.6 parses the
//! box but does not apply it (nor expose it), so this reads it from the head of the stream (the
//! `moov` box comes first in a faststart file) with a small box walker of its own.

/// The part of the audio track that is meant to be heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditList {
    /// First media sample to play, in the media time scale.
    pub media_time: u64,
    pub media_timescale: u32,
    /// Length of the edit in the movie time scale.
    pub segment_duration: u64,
    pub movie_timescale: u32,
}

impl EditList {
    /// `(frames to skip at the start, frames to keep after that)` at the decoded sample rate.
    pub fn trim_frames(&self, rate: u32) -> (u64, u64) {
        let scale = |value: u64, from: u32| {
            ((value as u128 * rate as u128 + from as u128 / 2) / from.max(1) as u128) as u64
        };
        (
            scale(self.media_time, self.media_timescale),
            scale(self.segment_duration, self.movie_timescale),
        )
    }
}

/// Finds the gapless trim of a sound track (0: the first) in the `moov` box found in `head`: its edit
/// list when that skips priming, else the iTunes `iTunSMPB` tag (iTunes, Nero and afconvert
/// write that instead of, or besides, an edit list that covers everything).
pub fn audio_edit_list(head: &[u8], audio_track: usize) -> Option<EditList> {
    let moov = child(head, b"moov")?;
    let trak = sound_tracks(moov).nth(audio_track)?;
    let edit = track_edit_list(moov, trak);
    if edit.is_some_and(|edit| edit.media_time > 0) {
        return edit;
    }
    let media_timescale = media_timescale(trak)?;
    match itunes_smpb(moov) {
        Some((priming, frames)) => Some(EditList {
            media_time: priming,
            media_timescale,
            segment_duration: frames,
            movie_timescale: media_timescale,
        }),
        None => edit,
    }
}

/// The `trak` boxes whose handler is `soun`, in file order.
pub(super) fn sound_tracks(moov: &[u8]) -> impl Iterator<Item = &[u8]> {
    boxes(moov)
        .filter(|(kind, _)| kind == b"trak")
        .map(|(_, trak)| trak)
        .filter(|trak| {
            child(trak, b"mdia")
                .and_then(|mdia| child(mdia, b"hdlr"))
                .and_then(|hdlr| hdlr.get(8..12))
                == Some(b"soun".as_slice())
        })
}

fn media_timescale(trak: &[u8]) -> Option<u32> {
    timescale(child(child(trak, b"mdia")?, b"mdhd")?)
}

/// `(priming, original length)` in samples from an iTunes `----` tag named `iTunSMPB` in
/// `moov/udta/meta/ilst`. Its value is hex fields: ` 00000000 <priming> <padding> <length> ...`.
fn itunes_smpb(moov: &[u8]) -> Option<(u64, u64)> {
    boxes(moov)
        .filter(|(kind, _)| kind == b"udta")
        .filter_map(|(_, udta)| child(udta, b"meta"))
        .filter_map(|meta| {
            // ISO `meta` is a full box (4 bytes of version and flags); QuickTime's is not.
            let children = if meta.get(4..8) == Some(b"hdlr".as_slice()) {
                meta
            } else {
                meta.get(4..)?
            };
            child(children, b"ilst")
        })
        .flat_map(|ilst| boxes(ilst).filter(|(kind, _)| kind == b"----"))
        .find_map(|(_, tag)| {
            let text = |kind: &[u8; 4], skip: usize| child(tag, kind)?.get(skip..);
            // `name` is a full box; `data` has a type and a locale before the value.
            if !text(b"name", 4)?.eq_ignore_ascii_case(b"iTunSMPB") {
                return None;
            }
            let value = std::str::from_utf8(text(b"data", 8)?).ok()?;
            let fields: Vec<u64> = value
                .split_whitespace()
                .map(|field| u64::from_str_radix(field, 16))
                .collect::<Result<_, _>>()
                .ok()?;
            let (&priming, &length) = (fields.get(1)?, fields.get(3)?);
            (length > 0).then_some((priming, length))
        })
}

/// The edit list of the first sound track.
fn track_edit_list(moov: &[u8], trak: &[u8]) -> Option<EditList> {
    let movie_timescale = timescale(child(moov, b"mvhd")?)?;
    let media_timescale = media_timescale(trak)?;
    let elst = child(child(trak, b"edts")?, b"elst")?;
    let (segment_duration, media_time) = first_media_edit(elst)?;
    Some(EditList {
        media_time,
        media_timescale,
        segment_duration,
        movie_timescale,
    })
}

/// The first edit that plays media (an "empty" edit, media time -1, only delays the start).
fn first_media_edit(elst: &[u8]) -> Option<(u64, u64)> {
    let version = *elst.first()?;
    let count = be(elst.get(4..8)?) as usize;
    let entry_len = if version == 1 { 20 } else { 12 };
    (0..count).find_map(|i| {
        let entry = elst.get(8 + i * entry_len..8 + (i + 1) * entry_len)?;
        let (duration, media_time) = if version == 1 {
            (be(&entry[0..8]), be(&entry[8..16]) as i64)
        } else {
            (be(&entry[0..4]), be(&entry[4..8]) as i32 as i64)
        };
        (media_time >= 0).then_some((duration, media_time as u64))
    })
}

/// The time scale of an `mvhd` or `mdhd` box.
fn timescale(full_box: &[u8]) -> Option<u32> {
    let at = if *full_box.first()? == 1 { 20 } else { 12 };
    let value = be(full_box.get(at..at + 4)?) as u32;
    (value > 0).then_some(value)
}

pub(super) fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |acc, b| (acc << 8) | *b as u64)
}

/// The payload of the first `kind` box in `data`.
pub(super) fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(data)
        .find(|(found, _)| found == kind)
        .map(|(_, payload)| payload)
}

/// A box header at the start of `bytes`: (type, total size, header length); size 0 runs to the
/// end of the data. `None` until the whole header is there.
pub(super) fn box_header(bytes: &[u8]) -> Option<([u8; 4], u64, u64)> {
    let size = be(bytes.get(..4)?);
    let kind: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
    Some(match size {
        1 => (kind, be(bytes.get(8..16)?), 16),
        n => (kind, n, 8),
    })
}

/// The boxes in `data` as `(type, payload)`; stops at the first box that does not fit.
pub(super) fn boxes(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (kind, size, header) = box_header(rest)?;
        let size = if size == 0 { rest.len() as u64 } else { size };
        let header = header as usize;
        let size = usize::try_from(size).ok()?;
        if size < header || size > rest.len() {
            return None;
        }
        let payload = &rest[header..size];
        rest = &rest[size..];
        Some((kind, payload))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::container::mp4::mp4_box;

    fn full_box_with_timescale(kind: &[u8; 4], timescale: u32) -> Vec<u8> {
        let mut payload = vec![0u8; 12];
        payload.extend(timescale.to_be_bytes());
        payload.extend([0u8; 8]);
        mp4_box(kind, &payload)
    }

    fn track(handler: &[u8; 4], media_timescale: u32, edits: &[(u32, i32)]) -> Vec<u8> {
        let mut elst = vec![0, 0, 0, 0];
        elst.extend((edits.len() as u32).to_be_bytes());
        for (duration, media_time) in edits {
            elst.extend(duration.to_be_bytes());
            elst.extend(media_time.to_be_bytes());
            elst.extend([0, 1, 0, 0]);
        }
        let mut hdlr = vec![0u8; 8];
        hdlr.extend(handler);
        hdlr.extend([0u8; 12]);
        let mdia = [
            full_box_with_timescale(b"mdhd", media_timescale),
            mp4_box(b"hdlr", &hdlr),
        ]
        .concat();
        let trak = [
            mp4_box(b"tkhd", &[0u8; 84]),
            mp4_box(b"edts", &mp4_box(b"elst", &elst)),
            mp4_box(b"mdia", &mdia),
        ]
        .concat();
        mp4_box(b"trak", &trak)
    }

    #[test]
    fn reads_the_sound_track_edit() {
        let moov = [
            full_box_with_timescale(b"mvhd", 1000),
            track(b"vide", 90_000, &[(3000, 0)]),
            track(b"soun", 44_100, &[(500, -1), (3000, 1024)]),
        ]
        .concat();
        let file = [
            mp4_box(b"ftyp", b"M4A \0\0\0\0"),
            mp4_box(b"moov", &moov),
            mp4_box(b"mdat", &[1, 2, 3]),
        ]
        .concat();
        let edit = audio_edit_list(&file, 0).unwrap();
        assert_eq!(
            edit,
            EditList {
                media_time: 1024,
                media_timescale: 44_100,
                segment_duration: 3000,
                movie_timescale: 1000,
            }
        );
        assert_eq!(edit.trim_frames(44_100), (1024, 132_300));
    }

    /// `udta/meta/ilst/----` with `com.apple.iTunes` / `iTunSMPB` = `value`, as iTunes writes it.
    fn itunes_smpb_udta(value: &str) -> Vec<u8> {
        let full = |kind: &[u8; 4], text: &[u8]| mp4_box(kind, &[&[0u8; 4][..], text].concat());
        let data = mp4_box(
            b"data",
            &[&[0, 0, 0, 1, 0, 0, 0, 0][..], value.as_bytes()].concat(),
        );
        let tag = [
            full(b"mean", b"com.apple.iTunes"),
            full(b"name", b"iTunSMPB"),
            data,
        ]
        .concat();
        let ilst = mp4_box(b"ilst", &mp4_box(b"----", &tag));
        let meta = full(b"meta", &[mp4_box(b"hdlr", &[0u8; 25]), ilst].concat());
        mp4_box(b"udta", &meta)
    }

    #[test]
    fn itunes_gapless_tag_trims_when_the_edit_list_does_not() {
        // 1024 priming, 820 padding, 132300 samples (0x204CC), as for the test fixtures.
        let smpb = " 00000000 00000400 00000334 00000000000204CC 00000000 00000000";
        for edits in [&[][..], &[(3000, 0)][..]] {
            let moov = [
                full_box_with_timescale(b"mvhd", 1000),
                track(b"soun", 44_100, edits),
                itunes_smpb_udta(smpb),
            ]
            .concat();
            let edit = audio_edit_list(&mp4_box(b"moov", &moov), 0).unwrap();
            assert_eq!(edit.trim_frames(44_100), (1024, 132_300), "{edits:?}");
        }
        // An edit list that skips priming wins.
        let moov = [
            full_box_with_timescale(b"mvhd", 1000),
            track(b"soun", 44_100, &[(2000, 2048)]),
            itunes_smpb_udta(smpb),
        ]
        .concat();
        let edit = audio_edit_list(&mp4_box(b"moov", &moov), 0).unwrap();
        assert_eq!(edit.trim_frames(44_100), (2048, 88_200));
        // A damaged value is no trim.
        let moov = [
            full_box_with_timescale(b"mvhd", 1000),
            track(b"soun", 44_100, &[]),
            itunes_smpb_udta(" 00000000 zz"),
        ]
        .concat();
        assert_eq!(audio_edit_list(&mp4_box(b"moov", &moov), 0), None);
    }

    #[test]
    fn no_moov_or_truncated_head_gives_nothing() {
        assert_eq!(audio_edit_list(b"", 0), None);
        assert_eq!(audio_edit_list(&mp4_box(b"ftyp", b"isom"), 0), None);
        let moov = mp4_box(b"moov", &full_box_with_timescale(b"mvhd", 1000));
        assert_eq!(audio_edit_list(&moov[..moov.len() - 3], 0), None);
        assert_eq!(audio_edit_list(&moov, 0), None);
    }
}
