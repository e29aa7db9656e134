//! True Audio tracks in Matroska (`A_TTA1`, what ffmpeg and mkvmerge write for `.tta` sources).
//!
//! symphonia's Matroska reader names the codec but gives our TTA decoder too little: a TTA frame
//! carries neither its sample width nor its length. Every frame is 256 × rate / 245 samples but
//! the last, whose length follows from the segment's duration alone (blocks carry none), which
//! symphonia's reader rounds to its time scale. This reads the duration from the segment's
//! `Info` element itself, and hands the reader's TTA tracks on with the stream parameters the
//! decoder takes and their packets timed in samples: a packet's frame is found from its
//! timestamp, so a reader opened again after damage times its packets the same way. Writers
//! state the duration to the millisecond (ffmpeg 5.1 rounds it there), so the last frame may be
//! up to half a millisecond shorter than it says: the decoder ends a frame where its bits do.

use symphonia::core::codecs::CodecParameters;
use symphonia::core::formats::FormatReader;
use symphonia::core::packet::Packet;
use symphonia::core::units::{Duration, TimeBase, Timestamp};

use super::completed_tracks::{CompletedTracks, PacketMap};
use crate::codecs::tta::{CODEC_ID_TTA, StreamParams};

pub(super) const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
pub(super) const CLUSTER: u32 = 0x1F43_B675;
/// Matroska's default time scale: nanoseconds per tick.
const DEFAULT_TIMESTAMP_SCALE: u64 = 1_000_000;

/// An EBML variable-length integer at the start of `bytes`: its value (with the length marker
/// kept for ids, as Matroska writes them) and its length. `None` for an all-ones size (unknown).
fn vint(bytes: &[u8], keep_marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let mut value = if keep_marker {
        u64::from(first)
    } else {
        u64::from(first) & (0xff >> len)
    };
    for &byte in bytes.get(1..len)? {
        value = value << 8 | u64::from(byte);
    }
    let unknown = !keep_marker && value == (1u64 << (7 * len)) - 1;
    Some((if unknown { u64::MAX } else { value }, len))
}

/// The elements directly inside `bytes`: (id, body), a body cut at the end of `bytes` (or of
/// unknown size) running to the end.
pub(super) fn elements(mut bytes: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    std::iter::from_fn(move || {
        let (id, id_len) = vint(bytes, true)?;
        let (size, size_len) = vint(bytes.get(id_len..)?, false)?;
        let body = bytes.get(id_len + size_len..)?;
        let end = usize::try_from(size).unwrap_or(usize::MAX).min(body.len());
        let (body, rest) = body.split_at(end);
        bytes = rest;
        Some((id as u32, body))
    })
}

/// The segment's duration in seconds, from the `Info` element in the head of a Matroska stream.
pub fn segment_seconds(head: &[u8]) -> Option<f64> {
    let (_, segment) = elements(head).find(|&(id, _)| id == SEGMENT)?;
    let (_, info) = elements(segment)
        .take_while(|&(id, _)| id != CLUSTER)
        .find(|&(id, _)| id == INFO)?;
    let mut scale = DEFAULT_TIMESTAMP_SCALE;
    let mut duration = None;
    for (id, body) in elements(info) {
        match id {
            TIMESTAMP_SCALE if (1..=8).contains(&body.len()) => {
                scale = body.iter().fold(0, |value, &b| value << 8 | u64::from(b));
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

/// How one TTA track's packets are timed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Timing {
    track_id: u32,
    rate: u32,
    frame_samples: u64,
    /// The track's samples, when the segment states its duration.
    total: Option<u64>,
    /// The reader's time base for the track's timestamps.
    reader_time_base: TimeBase,
}

impl Timing {
    /// The start and length in samples of the frame whose block has timestamp `ts`.
    fn frame(&self, ts: Timestamp) -> (u64, u64) {
        let seconds = self
            .reader_time_base
            .calc_time(ts)
            .map_or(0.0, |time| time.as_secs_f64().max(0.0));
        let at = (seconds * f64::from(self.rate)).round() as u64;
        let start = (at as f64 / self.frame_samples as f64).round() as u64 * self.frame_samples;
        let len = match self.total {
            Some(total) => total.saturating_sub(start).min(self.frame_samples),
            None => self.frame_samples,
        };
        (start, len)
    }
}

/// `format` with its TTA tracks given stream parameters and packets timed in samples (see the
/// module's doc); `format` itself when it has none that lacks them. `head` holds the stream's
/// first bytes, with the segment's `Info`.
pub fn with_tta_tracks<'s>(
    format: Box<dyn FormatReader + 's>,
    head: &[u8],
) -> Box<dyn FormatReader + 's> {
    let seconds = segment_seconds(head);
    let mut tracks = format.tracks().to_vec();
    let mut timings = Vec::new();
    for track in &mut tracks {
        let Some(CodecParameters::Audio(params)) = &track.codec_params else {
            continue;
        };
        let (Some(rate), Some(channels), Some(bits), None) = (
            params.sample_rate,
            params.channels.as_ref().map(|c| c.count()),
            params.bits_per_sample,
            params.extra_data.as_ref(),
        ) else {
            continue;
        };
        let (Some(reader_time_base), Ok(channels), Ok(bits)) = (
            track.time_base,
            u16::try_from(channels),
            u16::try_from(bits),
        ) else {
            continue;
        };
        if params.codec != CODEC_ID_TTA || rate == 0 {
            continue;
        }
        let mut params = params.clone();
        let stream = StreamParams {
            channels,
            bits_per_sample: bits,
        };
        params.with_extra_data(stream.to_bytes().into_boxed_slice());
        let total = seconds.map(|seconds| (seconds * f64::from(rate)).round() as u64);
        track.with_codec_params(CodecParameters::Audio(params));
        if let Some(time_base) = TimeBase::try_from_recip(rate) {
            track.with_time_base(time_base);
        }
        if let Some(total) = total {
            track.with_num_frames(total);
            track.with_duration(Duration::from(total));
        }
        timings.push(Timing {
            track_id: track.id,
            rate,
            frame_samples: u64::from(rate) * 256 / 245,
            total,
            reader_time_base,
        });
    }
    if timings.is_empty() {
        return format;
    }
    Box::new(CompletedTracks::new(format, tracks, timings))
}

/// The TTA tracks' packets, timed in samples by their frame; a block past the stated duration
/// (nothing of it is audio) is dropped.
impl PacketMap for Vec<Timing> {
    fn map(&self, mut packet: Packet) -> Option<Packet> {
        let Some(timing) = self.iter().find(|t| t.track_id == packet.track_id) else {
            return Some(packet);
        };
        let (start, len) = timing.frame(packet.pts);
        if len == 0 {
            return None;
        }
        packet.pts = Timestamp::try_from(start).unwrap_or(Timestamp::MAX);
        packet.dur = Duration::from(len);
        Some(packet)
    }
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
    fn a_block_is_timed_by_its_frame_and_the_last_is_cut_to_the_duration() {
        let timing = Timing {
            track_id: 1,
            rate: 44_100,
            frame_samples: 44_100 * 256 / 245,
            total: Some(100_000),
            reader_time_base: TimeBase::try_from_recip(1000).unwrap(),
        };
        let ms = |ms: u64| Timestamp::try_from(ms).unwrap();
        assert_eq!(timing.frame(ms(0)), (0, 46_080));
        // Millisecond timestamps land next to the frame's first sample.
        assert_eq!(timing.frame(ms(1045)), (46_080, 46_080));
        assert_eq!(timing.frame(ms(2090)), (92_160, 100_000 - 92_160));
        assert_eq!(timing.frame(ms(3134)).1, 0);
        let open_ended = Timing {
            total: None,
            ..timing
        };
        assert_eq!(open_ended.frame(ms(2090)), (92_160, 46_080));
    }
}
