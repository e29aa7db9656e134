//! What the worker does with decoded audio: the trims a container asks for (Matroska end
//! padding, MP4 edit lists), the latency estimate sent with the first audio, the converter
//! (channel mix, resampling, S16LE) and the PCM handed to the element.

use std::ops::Range;

use symphonia::core::audio::{Audio, Channels, GenericAudioBufferRef, Position};

use super::{DecodedStream, DecoderEvent, ErrorKind, OUTPUT_CHUNK_MS, StreamFormat, Worker};
use crate::coroutine;
use crate::pcm::{self, PcmConverter};

impl Worker<'_> {
    /// Sends one decoded buffer on: Matroska end padding and MP4 edit-list trims, then the
    /// converter. `pts` is the packet's timestamp (none for audio drained at the end). False
    /// when decoding must stop.
    pub(super) fn emit(
        &mut self,
        audio: GenericAudioBufferRef<'_>,
        codec: &str,
        pts: Option<i64>,
        stream: &mut DecodedStream,
    ) -> bool {
        if audio.frames() == 0 {
            return true;
        }
        let rate = audio.spec().rate();
        let frames = audio.frames();
        stream.decoded_seconds += frames as f64 / rate.max(1) as f64;
        let channels = audio.spec().channels().clone();
        // The frames of this buffer that go on.
        let mut kept = 0..frames;
        if stream.container == "matroska"
            && let Some(padding_ns) = pts.and_then(|pts| self.reader.mkv_padding_for(pts))
        {
            let padding = (padding_ns.max(0) as u128 * rate as u128 + 500_000_000) / 1_000_000_000;
            kept.end = frames.saturating_sub(padding as usize);
        }
        if let Some(edit) = &stream.edit {
            let (skip, keep) = stream.trim.get_or_insert_with(|| {
                let (skip, keep) = edit.trim_frames(rate);
                // The edit list's priming delays the first output like a codec's.
                stream.priming_frames += skip;
                (skip, keep)
            });
            kept = apply_trim(kept, skip, keep);
            if kept.is_empty() {
                return true;
            }
        }
        if !self.ensure_converter(&stream.container, codec, rate, &channels) {
            return false;
        }
        let converter = self.converter.as_mut().expect("converter just ensured");
        if !stream.latency_sent {
            stream.latency_sent = true;
            // The first output sample is stamped with the time its first byte came in; it can go
            // out only once the priming before it, its packet, the packets the reader and the
            // codec hold back, and a resampler block have come in after that byte.
            // Our Ogg reader hands a packet out with the input piece that brings its last byte
            // (see `container::ogg_pages`), and a FLAC frame goes out with the piece that brings
            // the next frame's header (see `container::flac_frames`): a piece's worth, at most a
            // packet.
            let lookahead_frames = match stream.container.as_str() {
                "flac" | "ogg" if stream.payload_bytes > 0 => (self.reader.largest_push() as u64
                    * stream.payload_frames
                    / stream.payload_bytes)
                    .min(stream.packet_frames),
                container => reader_lookahead_packets(container) * stream.packet_frames,
            };
            let held = stream.priming_frames
                + stream.packet_frames * (1 + stream.codec_delay_packets)
                + lookahead_frames
                + converter.latency_frames();
            let duration = |frames: u64| {
                std::time::Duration::from_nanos(
                    (u128::from(frames) * 1_000_000_000 / u128::from(rate.max(1))) as u64,
                )
            };
            self.events.send(DecoderEvent::Latency {
                first: duration(held),
                most: duration(held + stream.latency_spread_frames),
            });
        }
        // The decoder's planes as they are when they hold f32, else converted to f32 once.
        let mut planes: [&[f32]; pcm::MAX_CHANNELS] = [&[]; pcm::MAX_CHANNELS];
        let count = channels.count().min(pcm::MAX_CHANNELS);
        match audio {
            GenericAudioBufferRef::F32(buffer) => {
                for (channel, plane) in planes[..count].iter_mut().enumerate() {
                    *plane = buffer.plane(channel).unwrap_or_default();
                }
            }
            other => {
                other.copy_to_vecs_planar::<f32>(&mut self.samples);
                for (plane, samples) in planes[..count].iter_mut().zip(&self.samples) {
                    *plane = samples;
                }
            }
        }
        for plane in &mut planes[..count] {
            *plane = plane.get(kept.clone()).unwrap_or_default();
        }
        converter.process(&planes[..count], &mut self.pcm);
        let chunk_bytes = (u64::from(converter.out_rate())
            * converter.out_channels() as u64
            * 2
            * OUTPUT_CHUNK_MS
            / 1000) as usize;
        let waiting = self.events.send_pcm(&mut self.pcm, converter.frames_owed());
        self.output_waiting = waiting >= chunk_bytes.max(1);
        true
    }

    /// Returns to the caller so it can push out the PCM `emit` queued, once there is a chunk's
    /// worth. Never on a lent stack (see `decode_stream`), so it runs after the packet's work.
    pub(super) fn stop_if_output_waiting(&mut self) {
        if std::mem::take(&mut self.output_waiting) && !self.reader.is_aborted() {
            self.events.stop_for_output();
        }
    }

    /// The end of one container's stream: the last damage reports, a warning if it ended well
    /// short of its declared length, and the reader's source for whatever comes next.
    /// Makes sure a converter for this input spec exists: a new stream with another rate or
    /// channel layout gets a new converter (the old one's tail is flushed first) and, when the
    /// output format changes, a new `Format` event.
    pub(super) fn ensure_converter(
        &mut self,
        container: &str,
        codec: &str,
        rate: u32,
        channels: &Channels,
    ) -> bool {
        let in_channels = channels.count();
        if let Some(format) = &self.last_format
            && format.in_rate == rate
            && format.in_channels == in_channels
            && self.converter.is_some()
        {
            return true;
        }
        self.flush_converter();
        let out_rate = self.settings.out_rate.unwrap_or(rate);
        let out_channels = self.settings.out_channels.unwrap_or(in_channels);
        match PcmConverter::new(rate, channels, out_rate, out_channels) {
            Ok(converter) => self.converter = Some(converter),
            Err(e) => {
                // The output side is range-checked by the element's properties: what does not
                // convert is a stream header declaring an impossible format (a damaged one).
                self.events.send(DecoderEvent::error(
                    ErrorKind::Corrupt,
                    format!(
                        "the stream declares {in_channels} channels at {rate} Hz, which cannot be \
                         converted to {out_channels} channels at {out_rate} Hz: {e}"
                    ),
                ));
                return false;
            }
        }
        let format = StreamFormat {
            container: container.to_string(),
            codec: codec.to_string(),
            in_rate: rate,
            in_channels,
            out_rate,
            out_channels,
            out_channel_mask: output_channel_mask(channels, out_channels),
        };
        if self.last_format.as_ref() != Some(&format) {
            self.events.send(DecoderEvent::Format(format.clone()));
        }
        self.last_format = Some(format);
        true
    }

    /// Drains the resampler tail of the current converter, if any.
    pub(super) fn flush_converter(&mut self) {
        if let Some(mut converter) = self.converter.take() {
            let pcm = &mut self.pcm;
            coroutine::on_shared_stack(|| converter.finish(pcm));
            self.events.send_pcm(&mut self.pcm, 0);
        }
    }
}

/// Packets a container's reader holds back before it hands one out: the MPEG splitter confirms
/// each frame by the next frame's header. Matroska and Ogg count one too, for a block or page
/// that starts before its packet does.
fn reader_lookahead_packets(container: &str) -> u64 {
    match container {
        // Packets that came one per buffer go out with their buffer.
        "wave" | "aiff" | "caf" | "raw" | "amr" | "wavpack" | "packets" => 0,
        _ => 1,
    }
}

/// The part of `frames` left after dropping `skip` leading frames and keeping at most `keep`
/// of the rest; counts both down.
fn apply_trim(frames: Range<usize>, skip: &mut u64, keep: &mut u64) -> Range<usize> {
    let dropped = (*skip).min(frames.len() as u64);
    *skip -= dropped;
    let kept = (frames.len() as u64 - dropped).min(*keep);
    *keep -= kept;
    let start = frames.start + dropped as usize;
    start..start + kept as usize
}

/// Channel positions of the output: the stream's own when its channels are kept, else the
/// standard layout for the count.
fn output_channel_mask(input: &Channels, out_channels: usize) -> u64 {
    match (input, out_channels) {
        (_, 1) => 0,
        (Channels::Positioned(positions), n) if positions.bits().count_ones() as usize == n => {
            positions.bits()
        }
        (_, n) => Position::from_count(n as u32).map_or(0, |p| p.bits()),
    }
}
