//! Checks each `moof` box of a fragmented MP4 stream before symphonia's MP4 reader reads it.
//!
//! symphonia-format-isomp4 0.6.1 trusts a track run's (`trun`) sample count: it loops once per
//! declared sample while reading the box, and finds each sample's offset and time by summing
//! the sizes and durations of the samples before it. A 2 KiB fragment that declares four
//! billion samples (found by fuzzing) took eight seconds of CPU on the streaming thread, and a
//! long run of samples with their own sizes costs the square of its length. [`Mp4Watch`], a
//! `ByteWatch` (see `watch`), walks the stream's top-level boxes, holds the reader at each
//! `moof` until it and the next box's header have arrived, and ends reads before a fragment
//! that declares more samples than its run or the following `mdat` can hold, or more samples
//! with their own sizes or durations than a fragment of real audio has. The audio before it has
//! been decoded; [`Mp4Watch::take_damage`] says why the rest is not.

use crate::container::mp4_edit::{be, box_header};
use crate::watch::{Ahead, ByteWatch, Queue};

/// Samples of one run that carry their own size or duration: the reader's cost grows with the
/// square of this. 16384 AAC frames are more than five minutes at 48 kHz in one fragment.
const MAX_SAMPLES_WITH_OWN_FIELDS: u64 = 1 << 14;
/// Samples a fragment may declare when no `mdat` follows it to bound them: the reader's loop
/// over them then costs tens of milliseconds at most.
const MAX_SAMPLES_UNBOUNDED: u64 = 1 << 24;

/// The `trun` flags of the per-sample fields, each four bytes.
const SAMPLE_FIELDS: [u32; 4] = [0x100, 0x200, 0x400, 0x800];
const DURATION_OR_SIZE: u32 = 0x100 | 0x200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// At the stream's first box: is it an MP4?
    Detect,
    /// Walking top-level boxes.
    Walk,
    /// A fragment was refused: reads end at its start.
    Refused { at: u64 },
    /// Not an MP4, or a box that runs to the end of the stream: nothing more to check.
    Off,
}

#[derive(Debug)]
pub struct Mp4Watch {
    phase: Phase,
    /// Stream offset of the next top-level box.
    next_box: u64,
    /// Why a fragment was refused, until the decoder takes it.
    damage: Option<String>,
}

impl Mp4Watch {
    /// A watcher for a stream whose first byte is at `position`.
    pub fn new(position: u64) -> Self {
        Mp4Watch {
            phase: Phase::Detect,
            next_box: position,
            damage: None,
        }
    }

    /// Why reads ended before a fragment, once.
    pub fn take_damage(&mut self) -> Option<String> {
        self.damage.take()
    }

    /// Why reads end before a fragment, if they do.
    pub fn refusal(&self) -> Option<&str> {
        self.damage.as_deref()
    }
}

/// The boxes in `data` as `(type, payload)`, the last one cut short where `data` ends: the
/// reader reads what there is of a box at the end of the stream.
fn boxes_to_the_end(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        let (kind, size, header_len) = box_header(rest)?;
        let header_len = header_len as usize;
        let end = usize::try_from(size).map_or(rest.len(), |size| size.min(rest.len()));
        if end < header_len {
            return None;
        }
        let payload = &rest[header_len..end];
        rest = &rest[end..];
        Some((kind, payload))
    })
}

/// Why the reader should not read this `moof` payload (or what there is of it), if it should
/// not. `mdat_payload` bounds the samples when an `mdat` follows: every sample takes at least a
/// byte of it.
fn refuse_fragment(moof: &[u8], mdat_payload: Option<u64>) -> Option<String> {
    let mut declared = 0u64;
    for (_, traf) in boxes_to_the_end(moof).filter(|(kind, _)| kind == b"traf") {
        for (_, trun) in boxes_to_the_end(traf).filter(|(kind, _)| kind == b"trun") {
            let flags = be(trun.get(..4)?) as u32 & 0x00ff_ffff;
            let count = be(trun.get(4..8)?);
            // Data offset and first-sample flags, then the per-sample fields.
            let header = 8 + 4 * u64::from(flags & 1) + 4 * u64::from(flags >> 2 & 1);
            let fields = SAMPLE_FIELDS.iter().filter(|&&f| flags & f != 0).count() as u64;
            if fields > 0 && header + count * fields * 4 > trun.len() as u64 {
                return Some(format!(
                    "a fragment's track run declares {count} samples and holds the fields of \
                     {} (damaged)",
                    (trun.len() as u64).saturating_sub(header) / (fields * 4)
                ));
            }
            if flags & DURATION_OR_SIZE != 0 && count > MAX_SAMPLES_WITH_OWN_FIELDS {
                return Some(format!(
                    "a fragment's track run declares {count} samples with their own sizes or \
                     durations, more than this element reads in one run \
                     ({MAX_SAMPLES_WITH_OWN_FIELDS})"
                ));
            }
            declared += count;
        }
    }
    let bound = mdat_payload.unwrap_or(MAX_SAMPLES_UNBOUNDED);
    (declared > bound).then(|| match mdat_payload {
        Some(bytes) => format!(
            "a fragment declares {declared} samples for the {bytes} bytes of media data after \
             it (damaged)"
        ),
        None => format!(
            "a fragment declares {declared} samples, more than this element reads in one \
             fragment ({MAX_SAMPLES_UNBOUNDED})"
        ),
    })
}

/// Box types an MP4 stream starts with (a file, or a fragmented stream joined late).
fn starts_mp4(kind: &[u8; 4]) -> bool {
    matches!(
        kind,
        b"ftyp" | b"styp" | b"moov" | b"moof" | b"mdat" | b"free" | b"skip" | b"wide" | b"sidx"
    )
}

impl ByteWatch for Mp4Watch {
    fn ahead(&mut self, queue: &mut Queue<'_>) -> Ahead {
        let closed = queue.closed();
        loop {
            match self.phase {
                Phase::Off => return Ahead::ANY,
                Phase::Refused { at } => {
                    return Ahead {
                        drop_until: 0,
                        read_until: at,
                        stop: true,
                    };
                }
                Phase::Detect | Phase::Walk => {}
            }
            if queue.position() < self.next_box {
                // Inside a box already checked.
                return Ahead::until(self.next_box);
            }
            let start = self.next_box;
            let bytes = queue.contiguous_from(start);
            let Some((kind, size, header_len)) = box_header(bytes) else {
                if closed {
                    self.phase = Phase::Off;
                    continue;
                }
                return Ahead::until(start);
            };
            if self.phase == Phase::Detect && !starts_mp4(&kind) {
                self.phase = Phase::Off;
                continue;
            }
            self.phase = Phase::Walk;
            if size == 0 || size < header_len {
                // To the end of the stream, or not a box: the reader decides.
                self.phase = Phase::Off;
                continue;
            }
            if &kind == b"moof" {
                let Ok(len) = usize::try_from(size) else {
                    self.phase = Phase::Off;
                    continue;
                };
                // The whole fragment header, and the next box's header when it comes.
                let next = bytes.get(len..).and_then(box_header);
                if (bytes.len() < len || next.is_none()) && !closed {
                    return Ahead::until(start);
                }
                // At the end of the stream the reader reads what there is of the fragment.
                let moof = bytes
                    .get(header_len as usize..len.min(bytes.len()))
                    .unwrap_or_default();
                let mdat_payload = next
                    .filter(|(kind, size, _)| kind == b"mdat" && *size > 0)
                    .map(|(_, size, header_len)| size.saturating_sub(header_len));
                if let Some(why) = refuse_fragment(moof, mdat_payload) {
                    self.damage = Some(why);
                    self.phase = Phase::Refused { at: start };
                    continue;
                }
            }
            self.next_box = start.saturating_add(size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::mp4::mp4_box;
    use crate::watch::testing::Feed;

    /// A `moof` with one `trun` of `count` samples, with these `flags` and `fields` bytes.
    fn fragment(flags: u32, count: u32, fields: &[u8]) -> Vec<u8> {
        let mut trun = flags.to_be_bytes().to_vec();
        trun.extend(count.to_be_bytes());
        if flags & 1 != 0 {
            trun.extend(0u32.to_be_bytes());
        }
        trun.extend(fields);
        let traf = [mp4_box(b"tfhd", &[0; 8]), mp4_box(b"trun", &trun)].concat();
        mp4_box(
            b"moof",
            &[mp4_box(b"mfhd", &[0; 8]), mp4_box(b"traf", &traf)].concat(),
        )
    }

    fn stream(fragments: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = [
            mp4_box(b"ftyp", b"iso5\0\0\0\0"),
            mp4_box(b"moov", &[0; 40]),
        ]
        .concat();
        for (i, moof) in fragments.iter().enumerate() {
            bytes.extend(moof);
            bytes.extend(mp4_box(b"mdat", &vec![i as u8; 300]));
        }
        bytes
    }

    #[test]
    fn sound_fragments_pass_untouched_in_any_pieces() {
        let sizes: Vec<u8> = (0..10u32).flat_map(|_| 30u32.to_be_bytes()).collect();
        let bytes = stream(&[fragment(0x201, 10, &sizes), fragment(0x1, 300, &[])]);
        for piece in [1, 7, 100, bytes.len()] {
            let mut watch = Mp4Watch::new(0);
            assert_eq!(
                Feed::drive(&mut watch, &bytes, piece),
                (bytes.clone(), false)
            );
            assert_eq!(watch.take_damage(), None);
        }
    }

    #[test]
    fn a_fragment_declaring_more_samples_than_its_data_ends_reads_before_it() {
        let good = fragment(0x1, 300, &[]);
        for (bad, why) in [
            // Four billion samples of the default size, as fuzzing found.
            (
                fragment(0x1, 0xed2c_9e07, &[]),
                "3979124231 samples for the 300 bytes",
            ),
            // Sizes for 1000 samples declared, 2 held.
            (
                fragment(0x200, 1000, &[0; 8]),
                "1000 samples and holds the fields of 2",
            ),
        ] {
            let bytes = stream(&[good.clone(), bad]);
            let cut = stream(std::slice::from_ref(&good)).len();
            for piece in [1, 64, bytes.len()] {
                let mut watch = Mp4Watch::new(0);
                let (out, stopped) = Feed::drive(&mut watch, &bytes, piece);
                assert_eq!(out, bytes[..cut], "pieces of {piece}");
                assert!(stopped);
                let damage = watch.take_damage().unwrap();
                assert!(damage.contains(why), "{damage}");
            }
        }
    }

    #[test]
    fn a_fragment_cut_short_by_the_end_of_the_stream_is_checked_too() {
        let bad = fragment(0x1, 0xed2c_9e07, &[]);
        let mut bytes = stream(&[]);
        let cut = bytes.len();
        bytes.extend(&bad[..bad.len() - 3]);
        let mut watch = Mp4Watch::new(0);
        let (out, stopped) = Feed::drive(&mut watch, &bytes, 100);
        assert_eq!((out.len(), stopped), (cut, true));
        assert!(
            watch
                .take_damage()
                .unwrap()
                .contains("3979124231 samples, more than")
        );
    }

    #[test]
    fn long_runs_with_their_own_sizes_are_refused() {
        let sizes = vec![0u8; 4 * 20_000];
        let mut bytes = stream(&[]);
        bytes.extend(fragment(0x200, 20_000, &sizes));
        bytes.extend(mp4_box(b"mdat", &vec![0; 30_000]));
        let mut watch = Mp4Watch::new(0);
        let (out, stopped) = Feed::drive(&mut watch, &bytes, 4096);
        assert_eq!(out.len(), stream(&[]).len());
        assert!(stopped);
        assert!(
            watch
                .take_damage()
                .unwrap()
                .contains("20000 samples with their own sizes")
        );
    }

    #[test]
    fn other_streams_pass_untouched() {
        for bytes in [
            b"ID3\x04\0\0\0\0\0\0".to_vec(),
            b"RIFF....WAVEfmt ".to_vec(),
            vec![],
        ] {
            let mut watch = Mp4Watch::new(0);
            assert_eq!(Feed::drive(&mut watch, &bytes, 3), (bytes, false));
        }
    }
}
