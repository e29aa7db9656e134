//! Channel mixing: from the stream's layout to the output channel count, plane by plane.

use std::ops::Range;

use symphonia::core::audio::{ChannelLabel, Channels, Position};

/// −3 dB: the ITU-R BS.775 gain of centre and surround channels in a stereo downmix.
pub(super) const MINUS_3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// The speaker position of each input channel, in buffer order; `None` for channels without
/// one (ambisonic components other than W, discrete labels in a custom layout, channels beyond
/// the 26 known positions).
pub(super) fn input_positions(channels: &Channels) -> Vec<Option<Position>> {
    let count = channels.count();
    let mut positions: Vec<Option<Position>> = match channels {
        // A mask with undefined bits is legal; they count as channels without a position.
        Channels::Positioned(mask) => mask
            .iter()
            .map(|p| (p.bits().count_ones() == 1).then_some(p))
            .collect(),
        Channels::Custom(labels) => labels.iter().map(label_position).collect(),
        // W, the first ambisonic component, is the omnidirectional (mono) signal.
        Channels::Ambisonic(_) => (0..count)
            .map(|i| (i == 0).then_some(Position::FRONT_CENTER))
            .collect(),
        // Discrete channels take the standard positions in order, as WAV without a channel
        // mask does.
        _ => default_positions(count),
    };
    if positions.iter().all(Option::is_none) {
        return default_positions(count);
    }
    // Exactly one entry per channel, whatever the layout held.
    positions.resize(count, None);
    positions
}

fn label_position(label: &ChannelLabel) -> Option<Position> {
    match label {
        ChannelLabel::Positioned(position) if position.bits().count_ones() == 1 => Some(*position),
        ChannelLabel::Ambisonic(0) => Some(Position::FRONT_CENTER),
        _ => None,
    }
}

/// The first `count` WAVE/symphonia positions in canonical order (FL, FR, FC, LFE, RL, RR, ...),
/// `None` beyond the known ones. This is the output layout for N > 2 channels when the count
/// changes, matching `Position::from_count(N)`.
fn default_positions(count: usize) -> Vec<Option<Position>> {
    let mut positions: Vec<Option<Position>> =
        Position::all().iter().take(count).map(Some).collect();
    positions.resize(count, None);
    positions
}

/// Gains of one input position in a stereo downmix, ITU-R BS.775 style: fronts at 1, centre and
/// surrounds at −3 dB, LFE dropped. Positions without a place in that scheme go where they sit
/// (left, right or both); unknown channels are dropped.
fn stereo_gains(position: Option<Position>) -> (f32, f32) {
    const FRONT_LEFT: Position = Position::FRONT_LEFT
        .union(Position::FRONT_LEFT_CENTER)
        .union(Position::FRONT_LEFT_WIDE)
        .union(Position::BOTTOM_FRONT_LEFT);
    const FRONT_RIGHT: Position = Position::FRONT_RIGHT
        .union(Position::FRONT_RIGHT_CENTER)
        .union(Position::FRONT_RIGHT_WIDE)
        .union(Position::BOTTOM_FRONT_RIGHT);
    const FRONT_CENTRE: Position = Position::FRONT_CENTER.union(Position::BOTTOM_FRONT_CENTER);
    const SURROUND_LEFT: Position = Position::REAR_LEFT
        .union(Position::SIDE_LEFT)
        .union(Position::TOP_FRONT_LEFT)
        .union(Position::TOP_REAR_LEFT)
        .union(Position::TOP_SIDE_LEFT);
    const SURROUND_RIGHT: Position = Position::REAR_RIGHT
        .union(Position::SIDE_RIGHT)
        .union(Position::TOP_FRONT_RIGHT)
        .union(Position::TOP_REAR_RIGHT)
        .union(Position::TOP_SIDE_RIGHT);
    // Rear and top centres: a surround split evenly over both sides, −3 dB twice.
    const OTHER_CENTRE: Position = Position::REAR_CENTER
        .union(Position::TOP_CENTER)
        .union(Position::TOP_FRONT_CENTER)
        .union(Position::TOP_REAR_CENTER);
    let Some(position) = position else {
        return (0.0, 0.0);
    };
    if FRONT_LEFT.contains(position) {
        (1.0, 0.0)
    } else if FRONT_RIGHT.contains(position) {
        (0.0, 1.0)
    } else if FRONT_CENTRE.contains(position) {
        (MINUS_3DB, MINUS_3DB)
    } else if SURROUND_LEFT.contains(position) {
        (MINUS_3DB, 0.0)
    } else if SURROUND_RIGHT.contains(position) {
        (0.0, MINUS_3DB)
    } else if OTHER_CENTRE.contains(position) {
        (0.5, 0.5)
    } else {
        // LFE1, LFE2.
        (0.0, 0.0)
    }
}

/// Side and rear surrounds stand in for each other when only one pair exists on either side.
fn surround_alias(position: Position) -> Option<Position> {
    [
        (Position::SIDE_LEFT, Position::REAR_LEFT),
        (Position::SIDE_RIGHT, Position::REAR_RIGHT),
        (Position::REAR_LEFT, Position::SIDE_LEFT),
        (Position::REAR_RIGHT, Position::SIDE_RIGHT),
    ]
    .into_iter()
    .find_map(|(from, to)| (from == position).then_some(to))
}

/// A channel-count change: each output channel is a weighted sum of the input channels.
pub(super) struct ChannelMix {
    in_channels: usize,
    /// One row of `in_channels` gains per output channel.
    gains: Vec<f32>,
}

impl ChannelMix {
    pub(super) fn new(inputs: &[Option<Position>], out_channels: usize) -> ChannelMix {
        let in_channels = inputs.len();
        let mut gains = vec![0.0f32; out_channels * in_channels];
        match (in_channels, out_channels) {
            // Mono to stereo or more: the same signal at full level on front left and right,
            // so it sounds the same as on a stereo system whatever downstream does with the
            // other channels.
            (1, _) => {
                gains[0] = 1.0;
                gains[1] = 1.0;
            }
            // Down to stereo or mono: stereo downmix, scaled down when a full-scale signal on
            // every input could clip (as GStreamer's audioconvert and FFmpeg do for integer
            // output); mono is the average of that left and right.
            (_, 1 | 2) => {
                let stereo: Vec<(f32, f32)> = inputs.iter().map(|p| stereo_gains(*p)).collect();
                let left_sum: f32 = stereo.iter().map(|g| g.0).sum();
                let right_sum: f32 = stereo.iter().map(|g| g.1).sum();
                let scale = 1.0 / left_sum.max(right_sum).max(1.0);
                for (i, (left, right)) in stereo.into_iter().enumerate() {
                    if out_channels == 1 {
                        gains[i] = (left + right) * scale * 0.5;
                    } else {
                        gains[i] = left * scale;
                        gains[in_channels + i] = right * scale;
                    }
                }
            }
            // Other counts: a channel goes to the output with its position (or its side/rear
            // stand-in), unpositioned channels to the same index; the rest stay silent.
            (_, _) => {
                let outputs = default_positions(out_channels);
                for (i, input) in inputs.iter().enumerate() {
                    let target = match input {
                        Some(position) => outputs
                            .iter()
                            .position(|o| *o == Some(*position))
                            .or_else(|| {
                                let alias = surround_alias(*position)?;
                                // Only when no input already has the stand-in position.
                                if inputs.contains(&Some(alias)) {
                                    return None;
                                }
                                outputs.iter().position(|o| *o == Some(alias))
                            }),
                        None => (i < out_channels && outputs[i].is_none()).then_some(i),
                    };
                    if let Some(o) = target {
                        gains[o * in_channels + i] = 1.0;
                    }
                }
            }
        }
        ChannelMix { in_channels, gains }
    }

    /// Writes output channel `channel` of frames `range` of the input `planes` to `dest`: the
    /// weighted sum of the input planes, accumulated plane by plane so the loops vectorise.
    pub(super) fn mix_into<P: AsRef<[f32]>>(
        &self,
        channel: usize,
        planes: &[P],
        range: Range<usize>,
        dest: &mut [f32],
    ) {
        let row = &self.gains[channel * self.in_channels..][..self.in_channels];
        dest.fill(0.0);
        for (gain, plane) in row.iter().zip(planes) {
            if *gain != 0.0 {
                for (out, sample) in dest.iter_mut().zip(&plane.as_ref()[range.clone()]) {
                    *out += gain * sample;
                }
            }
        }
    }
}
