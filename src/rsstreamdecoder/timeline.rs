//! Output timestamps: where the PCM pushed so far sits in time, which of it falls inside
//! upstream's segment, and how it follows the timestamps of live input.

use std::time::Duration;

use gst::prelude::*;

/// How far input timestamps may run ahead of the output's, beyond the element's latency, before
/// the output jumps to them. Output stamped further behind its input than the latency the
/// element reports reaches a synchronising sink late; but without any pause in the input,
/// scheduling jitter and a stream whose packets run longer than the pieces that bring them take
/// a buffer past the estimate: up to 9.7 ms at the start of Ogg Vorbis in 20 ms pieces
/// (`tests/latency.rs`), where a 10 ms allowance made the output jump now and then on a busy
/// machine. What a 20 ms allowance leaves late, a sink's processing deadline (20 ms by default
/// in `GstBaseSink`, part of the pipeline's latency) absorbs.
const INPUT_JITTER: gst::ClockTime = gst::ClockTime::from_mseconds(20);

/// Where output timestamps come from and how far they got.
#[derive(Debug, Default)]
pub(super) struct Timeline {
    /// PTS of the first sample at the current rate.
    pub base: gst::ClockTime,
    /// Samples pushed since `base`.
    pub samples: u64,
    pub rate: u32,
    /// Bytes per output frame.
    pub frame_size: usize,
}

impl Timeline {
    /// A timeline for output at `rate` whose first sample is at `base`.
    pub fn starting_at(base: gst::ClockTime, rate: u32, frame_size: usize) -> Timeline {
        Timeline {
            base,
            samples: 0,
            rate,
            frame_size,
        }
    }

    /// The end of the PCM pushed so far.
    pub fn end(&self) -> gst::ClockTime {
        self.time_at(self.samples)
    }

    pub fn time_at(&self, samples: u64) -> gst::ClockTime {
        self.base + self.duration_of(samples)
    }

    pub fn duration_of(&self, samples: u64) -> gst::ClockTime {
        if self.rate == 0 {
            return gst::ClockTime::ZERO;
        }
        samples
            .mul_div_floor(*gst::ClockTime::SECOND, self.rate as u64)
            .map(gst::ClockTime::from_nseconds)
            .unwrap_or(gst::ClockTime::ZERO)
    }

    /// Which of `count` frames starting at sample `first` of this timeline fall inside
    /// `segment`, as a range within them. A demuxer's segment carries what the container says
    /// to play: an MP4 edit list's start (the encoder's priming) and end (its padding), a seek's
    /// target. GStreamer's decoders clip to it (`GstAudioDecoder`); so does this element.
    ///
    /// Written here rather than with `gst_audio::audio_buffer_clip`, which truncates the
    /// distance to the segment's bounds to whole frames: a demuxer's start, itself truncated
    /// to nanoseconds (1024 frames at 44.1 kHz are 23219954.6 ns), then leaves one frame of
    /// priming in. Rounding to the nearest frame keeps exactly the frames the container means.
    pub fn frames_inside(
        &self,
        segment: &gst::FormattedSegment<gst::ClockTime>,
        first: u64,
        count: u64,
    ) -> std::ops::Range<u64> {
        if self.rate == 0 {
            return 0..count;
        }
        let frame_at = |time: gst::ClockTime| {
            time.nseconds()
                .saturating_sub(self.base.nseconds())
                .mul_div_round(u64::from(self.rate), *gst::ClockTime::SECOND)
                .unwrap_or(u64::MAX)
                .clamp(first, first + count)
                - first
        };
        let start = segment.start().map_or(0, frame_at);
        let stop = segment.stop().map_or(count, frame_at);
        start..stop.max(start)
    }

    /// Live input with a pause (no bytes for a while, then timestamps that jumped ahead): the
    /// output jumps ahead with them, so that it stays in sync instead of coming out late by the
    /// length of every pause so far. The `owed_frames` the decoder still holds from before the
    /// pause (a resampler block) come out first: they are stamped just before the input's time,
    /// so the new audio lands on it. Returns where the output was when it jumped (the caller
    /// marks the next buffer DISCONT).
    pub fn follow_input(
        &mut self,
        input_pts: gst::ClockTime,
        owed_frames: u64,
        latency: gst::ClockTime,
    ) -> Option<gst::ClockTime> {
        let output_end = self.end();
        if input_pts > output_end + latency + INPUT_JITTER {
            let owed = self.duration_of(owed_frames);
            self.base = input_pts.saturating_sub(owed).max(output_end);
            self.samples = 0;
            return Some(output_end);
        }
        None
    }

    /// The first PCM is about to go out, `latency` after its first byte came in at most. Live
    /// input stamps each buffer with its arrival: when the stream's first audio came in well
    /// after its first bytes (`first_input`; an Ogg Vorbis setup header, FLAC padding, an ID3
    /// picture, all received at the network's pace), the audio starts at the time of the input
    /// that completes its first packet (`last_input`) less that latency, not at the time of the
    /// stream's first byte, which would stamp it too early and make the sink drop it as late.
    pub fn start_at_input(
        &mut self,
        first_input: gst::ClockTime,
        last_input: gst::ClockTime,
        latency: Duration,
    ) {
        let first_output = self.samples == 0 && self.base == first_input;
        let audio_start =
            last_input.saturating_sub(gst::ClockTime::from_nseconds(latency.as_nanos() as u64));
        if first_output && audio_start > first_input {
            self.base = audio_start;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(value: u64) -> gst::ClockTime {
        gst::ClockTime::from_mseconds(value)
    }

    #[test]
    fn segment_bounds_round_to_the_nearest_frame() {
        gst::init().unwrap();
        let timeline = Timeline::starting_at(gst::ClockTime::ZERO, 44_100, 4);
        let mut segment = gst::FormattedSegment::<gst::ClockTime>::new();
        // qtdemux's start for an edit list skipping 1024 frames, truncated to nanoseconds.
        segment.set_start(gst::ClockTime::from_nseconds(23_219_954));
        segment.set_stop(gst::ClockTime::from_seconds(1));
        assert_eq!(timeline.frames_inside(&segment, 0, 2048), 1024..2048);
        assert_eq!(timeline.frames_inside(&segment, 44_000, 2048), 0..100);
        assert!(timeline.frames_inside(&segment, 50_000, 10).is_empty());
    }

    #[test]
    fn output_jumps_to_input_that_ran_ahead_past_the_latency_only() {
        let mut timeline = Timeline::starting_at(ms(1000), 48_000, 2);
        timeline.samples = 48_000;
        // 2 s of output; input at 2.05 s is within 40 ms latency + 20 ms jitter.
        assert_eq!(timeline.follow_input(ms(2050), 0, ms(40)), None);
        assert_eq!(timeline.end(), ms(2000));
        // After a pause: the 480 frames still owed go just before the input's time.
        assert_eq!(timeline.follow_input(ms(5000), 480, ms(40)), Some(ms(2000)));
        assert_eq!((timeline.base, timeline.samples), (ms(4990), 0));
    }

    #[test]
    fn first_audio_starts_at_the_input_that_completed_it_less_the_latency() {
        let mut timeline = Timeline::starting_at(ms(100), 48_000, 2);
        timeline.start_at_input(ms(100), ms(900), Duration::from_millis(70));
        assert_eq!(timeline.base, ms(830));
        // Only before the first output.
        timeline.samples = 10;
        timeline.start_at_input(ms(830), ms(2000), Duration::from_millis(70));
        assert_eq!(timeline.base, ms(830));
    }
}
