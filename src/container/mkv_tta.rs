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
use super::mkv_head::{frames_at, segment_seconds};
use crate::codecs::tta::{CODEC_ID_TTA, StreamParams};

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
        let at = frames_at(self.reader_time_base, ts, self.rate);
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
