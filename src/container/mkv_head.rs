//! The head of a Matroska stream read as EBML: variable-length integers, the elements inside
//! a body, unsigned values, the Segment's top-level elements before its first cluster and the
//! duration its `Info` states; and a block's timestamp in frames. What `mkv_watch` (checking
//! the structure as bytes arrive), `mkv_tta` and `mkv_acm` (completing tracks symphonia's
//! reader leaves short) read alike.

use symphonia::core::units::{TimeBase, Timestamp};

pub(super) const SEGMENT: u32 = 0x1853_8067;
pub(super) const INFO: u32 = 0x1549_A966;
pub(super) const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
pub(super) const TRACKS: u32 = 0x1654_AE6B;
pub(super) const TRACK_ENTRY: u32 = 0xAE;
pub(super) const TRACK_NUMBER: u32 = 0xD7;
pub(super) const CODEC_ID: u32 = 0x86;
pub(super) const CODEC_PRIVATE: u32 = 0x63A2;
pub(super) const CLUSTER: u32 = 0x1F43_B675;
/// Matroska's default time scale: nanoseconds per tick.
const DEFAULT_TIMESTAMP_SCALE: u64 = 1_000_000;

/// A byte that cannot start an EBML variable-length integer.
pub(super) struct Invalid;

/// An EBML variable-length integer: (value, length), `None` when more bytes are needed. IDs keep
/// their length marker.
pub(super) fn read_vint(bytes: &[u8], keep_marker: bool) -> Result<Option<(u64, usize)>, Invalid> {
    let Some(&first) = bytes.first() else {
        return Ok(None);
    };
    if first == 0 {
        return Err(Invalid);
    }
    let len = first.leading_zeros() as usize + 1;
    let Some(raw) = bytes.get(..len) else {
        return Ok(None);
    };
    let mut value = raw.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64);
    if !keep_marker {
        value &= (1u64 << (7 * len)) - 1;
    }
    Ok(Some((value, len)))
}

/// The elements directly inside `bytes`: (id, body), a body cut at the end of `bytes` (or of
/// unknown size) running to the end. Stops at bytes that are no element header.
pub(super) fn elements(mut bytes: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    std::iter::from_fn(move || {
        let (id, id_len) = read_vint(bytes, true).ok()??;
        let (size, size_len) = read_vint(bytes.get(id_len..)?, false).ok()??;
        let body = bytes.get(id_len + size_len..)?;
        let unknown_size = size == (1u64 << (7 * size_len)) - 1;
        let end = if unknown_size {
            body.len()
        } else {
            usize::try_from(size).unwrap_or(usize::MAX).min(body.len())
        };
        let (body, rest) = body.split_at(end);
        bytes = rest;
        Some((id as u32, body))
    })
}

/// An unsigned integer element's value (big-endian, any length up to 8 bytes).
pub(super) fn uint(body: &[u8]) -> u64 {
    body.iter().fold(0, |value, &b| value << 8 | u64::from(b))
}

/// The body of the Segment's first top-level element `id` before its first cluster, from the
/// head of a Matroska stream.
pub(super) fn segment_child(head: &[u8], id: u32) -> Option<&[u8]> {
    let (_, segment) = elements(head).find(|&(found, _)| found == SEGMENT)?;
    elements(segment)
        .take_while(|&(found, _)| found != CLUSTER)
        .find(|&(found, _)| found == id)
        .map(|(_, body)| body)
}

/// The segment's duration in seconds, from the `Info` element in the head of a Matroska stream.
pub fn segment_seconds(head: &[u8]) -> Option<f64> {
    let info = segment_child(head, INFO)?;
    let mut scale = DEFAULT_TIMESTAMP_SCALE;
    let mut duration = None;
    for (id, body) in elements(info) {
        match id {
            TIMESTAMP_SCALE if (1..=8).contains(&body.len()) => {
                scale = uint(body);
            }
            DURATION => {
                duration = match body.len() {
                    4 => Some(f64::from(f32::from_be_bytes(body.try_into().ok()?))),
                    8 => Some(f64::from_be_bytes(body.try_into().ok()?)),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    let seconds = duration? * scale as f64 / 1e9;
    (seconds.is_finite() && seconds > 0.0).then_some(seconds)
}

/// The frame at `rate` that a block timestamp `ts` in the reader's `time_base` falls on (0 for
/// timestamps before the start).
pub(super) fn frames_at(time_base: TimeBase, ts: Timestamp, rate: u32) -> u64 {
    let seconds = time_base
        .calc_time(ts)
        .map_or(0.0, |time| time.as_secs_f64().max(0.0));
    (seconds * f64::from(rate)).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An EBML element with a one-byte size.
    fn element(id: &[u8], body: &[u8]) -> Vec<u8> {
        assert!(body.len() < 127);
        [id, &[0x80 | body.len() as u8], body].concat()
    }

    #[test]
    fn reads_the_segment_duration_with_its_time_scale() {
        let info = [
            element(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40]),
            element(&[0x44, 0x89], &2000.5f64.to_be_bytes()),
        ]
        .concat();
        let segment = [element(&[0x15, 0x49, 0xA9, 0x66], &info), vec![0x1F, 0x43]].concat();
        // The segment's size unknown (all ones), as live writers leave it.
        let head = [
            element(&[0x1A, 0x45, 0xDF, 0xA3], &[0x42, 0x86, 0x81, 0x01]),
            vec![0x18, 0x53, 0x80, 0x67, 0xFF],
            segment,
        ]
        .concat();
        assert_eq!(segment_seconds(&head), Some(2.0005));
        // A float of 4 bytes, in the default scale; none at all.
        let info = element(&[0x44, 0x89], &1500f32.to_be_bytes());
        let head = element(
            &[0x18, 0x53, 0x80, 0x67],
            &element(&[0x15, 0x49, 0xA9, 0x66], &info),
        );
        assert_eq!(segment_seconds(&head), Some(1.5));
        let head = element(
            &[0x18, 0x53, 0x80, 0x67],
            &element(&[0x15, 0x49, 0xA9, 0x66], &[]),
        );
        assert_eq!(segment_seconds(&head), None);
        assert_eq!(segment_seconds(&head[..5]), None);
    }

    #[test]
    fn elements_end_at_their_size_or_run_to_the_end() {
        // A TrackNumber of 2 bytes, then an element of unknown size (all ones) running on.
        let bytes = [0xD7, 0x82, 0x01, 0x02, 0x86, 0xFF, b'A', b'B'];
        let found: Vec<(u32, &[u8])> = elements(&bytes).collect();
        assert_eq!(
            found,
            [(TRACK_NUMBER, &[1u8, 2][..]), (CODEC_ID, &b"AB"[..])]
        );
        assert_eq!(uint(found[0].1), 0x0102);
        // A zero byte starts no variable-length integer: the walk stops there.
        assert_eq!(elements(&[0x00, 0x81, 0x00]).count(), 0);
    }

    #[test]
    fn timestamps_become_frames() {
        let ms = TimeBase::try_from_recip(1000).unwrap();
        let ts = |ms: u64| Timestamp::try_from(ms).unwrap();
        assert_eq!(frames_at(ms, ts(1045), 44_100), 46_085);
        assert_eq!(frames_at(ms, ts(0), 8_000), 0);
    }
}
