//! The `rsstreamdecoder` element: GStreamer glue around [`StreamDecoder`].
//!
//! BaseTransform's default submit path refuses buffers before caps are negotiated and forwards
//! upstream's byte segment and caps, neither of which fits a byte-stream decoder. So this element
//! takes over `submit_input_buffer` (feed the decoder, push what it produced) and the CAPS,
//! SEGMENT, EOS and FLUSH events, and sends its own CAPS and TIME segment. Only the streaming
//! thread pushes, so events and buffers stay in order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::base_transform::GenerateOutputSuccess;
use gst_base::subclass::prelude::*;

use super::caps::{codec_name, container_name, hint_from_caps, interleave, output_caps, tag_list};
use super::properties::{self, MAX_CHANNELS, MAX_SAMPLE_RATE, Settings};
use super::timeline::Timeline;
use crate::container::packet_framing::PacketFraming;
use crate::decoder::{
    DamageLimit, DecoderError, DecoderEvent, DecoderSettings, ErrorKind, StreamDecoder,
    StreamFormat, StreamTag,
};
use crate::format_hint::ContainerHint;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "rsstreamdecoder",
        gst::DebugColorFlags::empty(),
        Some("Compressed audio byte stream to S16LE decoder"),
    )
});

/// Added to a stream's latency estimate: the time to decode and push a packet, and to be
/// scheduled on a busy machine.
const SCHEDULING_MARGIN: Duration = Duration::from_millis(10);

/// Samples (48 kHz, Opus's clock) an `AudioClippingMeta` bound stands for: demuxers give it
/// in samples, some in time.
fn clipped_samples(value: gst::GenericFormattedValue) -> u64 {
    match value {
        gst::GenericFormattedValue::Default(Some(samples)) => *samples,
        gst::GenericFormattedValue::Time(Some(time)) => time
            .nseconds()
            .mul_div_round(48_000, 1_000_000_000)
            .unwrap_or(0),
        _ => 0,
    }
}

#[derive(Default)]
struct State {
    decoder: Option<StreamDecoder>,
    /// Container named by upstream caps, for the next stream.
    caps_hint: Option<ContainerHint>,
    /// Upstream sends non-interleaved raw PCM: each buffer's planes are interleaved on input.
    planar_input: Option<gst_audio::AudioInfo>,
    /// Upstream's TIME segment, if it sent one.
    upstream_segment: Option<gst::FormattedSegment<gst::ClockTime>>,
    /// First PTS of the stream, from upstream's first timestamped buffer.
    first_input_pts: Option<gst::ClockTime>,
    /// PTS of the latest timestamped input buffer.
    last_input_pts: Option<gst::ClockTime>,
    /// The output format announced downstream.
    format: Option<StreamFormat>,
    /// The first stream's length as its container declares it, for DURATION queries.
    duration: Option<gst::ClockTime>,
    /// Every tag of the stream so far (container, codec, its own tags, bitrate): each TAG event
    /// carries them all. Sent once the segment is (a TAG event may not come before it).
    tags: Option<gst::TagList>,
    segment_sent: bool,
    discont: bool,
    timeline: Timeline,
    /// A fatal error was posted: input is dropped until a flush or restart.
    failed: bool,
    /// Upstream sends a packet per buffer (Opus, raw AAC): each is framed for the decoder.
    packet_framing: Option<PacketFraming>,
    /// The framed packet, reused.
    framed: Vec<u8>,
}

/// What the `stats` property reports about the current stream. Kept apart from `State`, whose
/// lock the streaming thread holds while the decoder works through a chunk, so reading the
/// property from another thread never waits for decoding.
#[derive(Debug, Default)]
struct Stats {
    bytes_in: u64,
    buffers_in: u64,
    frames_out: u64,
    buffers_out: u64,
    /// Damaged or undecodable input skipped and reported with a WARNING.
    warnings: u64,
    format: Option<StreamFormat>,
    first_input_at: Option<Instant>,
    /// Bytes in, and wall time since the first input buffer, when the first PCM went out.
    first_pcm: Option<(u64, Duration)>,
}

impl Stats {
    fn to_structure(&self) -> gst::Structure {
        let format = self.format.as_ref();
        let (bytes_to_first_pcm, first_pcm_latency) =
            self.first_pcm.map_or((0, 0), |(bytes, latency)| {
                (bytes, latency.as_nanos() as u64)
            });
        gst::Structure::builder("application/x-rsstreamdecoder-stats")
            .field("bytes-in", self.bytes_in)
            .field("buffers-in", self.buffers_in)
            .field("frames-out", self.frames_out)
            .field("buffers-out", self.buffers_out)
            .field("warnings", self.warnings)
            .field("container", format.map_or("", |f| f.container.as_str()))
            .field("codec", format.map_or("", |f| f.codec.as_str()))
            .field("stream-rate", format.map_or(0, |f| f.in_rate))
            .field(
                "stream-channels",
                format.map_or(0, |f| f.in_channels as u32),
            )
            .field("bytes-to-first-pcm", bytes_to_first_pcm)
            .field("first-pcm-latency", first_pcm_latency)
            .build()
    }
}

#[derive(Default)]
pub struct RsStreamDecoder {
    settings: Mutex<Settings>,
    state: Mutex<State>,
    stats: Mutex<Stats>,
    /// What the element adds to the pipeline's latency, in ns: outside `state` so a LATENCY
    /// query from another thread never waits for decoding.
    latency_ns: AtomicU64,
    /// `max-errors`, kept here rather than in `settings` and shared with the running decoder, so
    /// that a change applies to the current stream.
    damage_limit: DamageLimit,
}

#[glib::object_subclass]
impl ObjectSubclass for RsStreamDecoder {
    const NAME: &'static str = "GstRsStreamDecoder";
    type Type = super::RsStreamDecoder;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for RsStreamDecoder {
    fn properties() -> &'static [glib::ParamSpec] {
        properties::param_specs()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        match pspec.name() {
            "max-errors" => {
                let max_errors: i32 = value.get().expect("type checked upstream");
                self.damage_limit.set(u32::try_from(max_errors).ok());
            }
            name => {
                let mut settings = self.settings.lock().unwrap();
                settings.set(name, value);
                if name == "format"
                    && let Some(text) = &settings.format
                    && ContainerHint::parse(text).is_none()
                {
                    gst::warning!(CAT, imp = self, "unknown format hint {text:?}, will probe");
                }
            }
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            // -1 (never) is the only value that is not a limit.
            "max-errors" => self
                .damage_limit
                .get()
                .map_or(-1, |max| max as i32)
                .to_value(),
            "stats" => self.stats.lock().unwrap().to_structure().to_value(),
            name => self.settings.lock().unwrap().get(name),
        }
    }
}

impl GstObjectImpl for RsStreamDecoder {}

impl ElementImpl for RsStreamDecoder {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Streaming audio decoder",
                "Codec/Decoder/Audio",
                "Decodes a stream of compressed audio bytes (MP3, AAC, Vorbis, Opus, FLAC, \
                 WAV, AIFF, ...) in chunks of any size to S16LE PCM at a fixed rate and \
                 channel count",
                "rsstreamdecoder developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static PAD_TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let src_caps = gst_audio::AudioCapsBuilder::new_interleaved()
                .format(gst_audio::AudioFormat::S16le)
                .rate_range(1..=MAX_SAMPLE_RATE as i32)
                .channels_range(1..=MAX_CHANNELS as i32)
                .build();
            vec![
                gst::PadTemplate::new(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &src_caps,
                )
                .unwrap(),
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &gst::Caps::new_any(),
                )
                .unwrap(),
            ]
        });
        PAD_TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for RsStreamDecoder {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::NeverInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap() = State::default();
        // Not reset in stop(), so the figures of a finished stream stay readable.
        *self.stats.lock().unwrap() = Stats::default();
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        // Dropping the decoder aborts its input and winds it down.
        let decoder = self.state.lock().unwrap().decoder.take();
        drop(decoder);
        *self.state.lock().unwrap() = State::default();
        Ok(())
    }

    /// POSITION and DURATION in TIME from what the element knows: the end of the PCM pushed so
    /// far, and the length the container declares. CONVERT: on the source pad between the
    /// output's bytes, frames and time; on the sink pad between input bytes and time at the
    /// stream's average so far, as GStreamer's audio decoders answer it. Anything else goes to
    /// the default handler (upstream, where filesrc answers in bytes).
    fn query(&self, direction: gst::PadDirection, query: &mut gst::QueryRef) -> bool {
        if let gst::QueryViewMut::Convert(q) = query.view_mut() {
            let (src_val, dest_format) = q.get();
            if let Some(dest_val) = self.convert(direction, src_val, dest_format) {
                q.set(src_val, dest_val);
                return true;
            }
        }
        if direction == gst::PadDirection::Src {
            match query.view_mut() {
                gst::QueryViewMut::Position(q) if q.format() == gst::Format::Time => {
                    let state = self.state.lock().unwrap();
                    if state.format.is_some() {
                        q.set(state.timeline.end());
                        return true;
                    }
                }
                gst::QueryViewMut::Duration(q) if q.format() == gst::Format::Time => {
                    if let Some(duration) = self.state.lock().unwrap().duration {
                        q.set(duration);
                        return true;
                    }
                }
                gst::QueryViewMut::Latency(q) => {
                    // Upstream's latency (a live source's), plus what this element holds back.
                    if !self.obj().sink_pad().peer_query(q.query_mut()) {
                        return false;
                    }
                    let (live, min, max) = q.result();
                    let ours =
                        gst::ClockTime::from_nseconds(self.latency_ns.load(Ordering::Relaxed));
                    gst::debug!(
                        CAT,
                        imp = self,
                        "latency: upstream {min} (live {live}), ours {ours}"
                    );
                    q.set(live, min + ours, max.map(|max| max + ours));
                    return true;
                }
                _ => {}
            }
        }
        BaseTransformImplExt::parent_query(self, direction, query)
    }

    fn transform_caps(
        &self,
        direction: gst::PadDirection,
        _caps: &gst::Caps,
        filter: Option<&gst::Caps>,
    ) -> Option<gst::Caps> {
        let caps = match direction {
            gst::PadDirection::Sink => self.allowed_output_caps(),
            _ => gst::Caps::new_any(),
        };
        Some(match filter {
            Some(filter) => filter.intersect_with_mode(&caps, gst::CapsIntersectMode::First),
            None => caps,
        })
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        use gst::EventView;
        match event.view() {
            EventView::Caps(caps) => {
                let hint = hint_from_caps(caps.caps());
                gst::debug!(
                    CAT,
                    imp = self,
                    "upstream caps {:?}: hint {hint:?}",
                    caps.caps()
                );
                let finished = {
                    let mut state = self.state.lock().unwrap();
                    let previous = std::mem::replace(&mut state.caps_hint, hint);
                    state.planar_input = gst_audio::AudioInfo::from_caps(caps.caps())
                        .ok()
                        .filter(|info| info.layout() == gst_audio::AudioLayout::NonInterleaved);
                    // Headerless PCM has no header to announce a new format: new raw caps end
                    // the current stream, and the next buffer starts one with the new format.
                    let raw = |h: &Option<ContainerHint>| {
                        matches!(
                            h,
                            Some(
                                ContainerHint::RawPcm(_)
                                    | ContainerHint::OpusPackets(_)
                                    | ContainerHint::AacFrames(_)
                            )
                        )
                    };
                    let follows_caps = self.settings.lock().unwrap().format.is_none();
                    if follows_caps && previous != hint && (raw(&previous) || raw(&hint)) {
                        state.decoder.take()
                    } else {
                        None
                    }
                };
                if let Some(mut decoder) = finished {
                    gst::debug!(
                        CAT,
                        imp = self,
                        "raw caps changed: ending the current stream"
                    );
                    if let Err(flow) = self.handle_decoder_events(decoder.finish()) {
                        gst::debug!(CAT, imp = self, "pushing the tail failed: {flow:?}");
                    }
                }
                true
            }
            EventView::Segment(segment) => {
                let mut state = self.state.lock().unwrap();
                state.upstream_segment =
                    segment.segment().downcast_ref::<gst::ClockTime>().cloned();
                true
            }
            EventView::Eos(_) => {
                #[cfg(test)]
                self.panic_if_asked(tests::PanicPoint::Eos);
                let events = self
                    .state
                    .lock()
                    .unwrap()
                    .decoder
                    .as_mut()
                    .map(|d| d.finish());
                if let Some(events) = events
                    && let Err(flow) = self.handle_decoder_events(events)
                {
                    gst::debug!(CAT, imp = self, "pushing the tail failed: {flow:?}");
                }
                self.ensure_segment();
                self.parent_sink_event(event)
            }
            EventView::FlushStop(_) => {
                let decoder = {
                    let mut state = self.state.lock().unwrap();
                    let decoder = state.decoder.take();
                    *state = State {
                        caps_hint: state.caps_hint,
                        planar_input: state.planar_input.take(),
                        ..State::default()
                    };
                    decoder
                };
                drop(decoder);
                *self.stats.lock().unwrap() = Stats::default();
                self.parent_sink_event(event)
            }
            _ => self.parent_sink_event(event),
        }
    }

    fn submit_input_buffer(
        &self,
        _is_discont: bool,
        buffer: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        {
            let mut state = self.state.lock().unwrap();
            if state.failed {
                return Err(gst::FlowError::Error);
            }
            // Panicking with the state lock held poisons it: the worst case for what follows.
            #[cfg(test)]
            self.panic_if_asked(tests::PanicPoint::Input);
            gst::log!(
                CAT,
                imp = self,
                "input: {} bytes at {}",
                buffer.size(),
                buffer.pts().display()
            );
            if let Some(pts) = buffer.pts() {
                let owed_frames = state.decoder.as_ref().map_or(0, |d| d.owed_frames());
                let latency =
                    gst::ClockTime::from_nseconds(self.latency_ns.load(Ordering::Relaxed));
                gst::log!(
                    CAT,
                    imp = self,
                    "input at {pts}: {} ms ahead of the output, latency {latency}",
                    (pts.nseconds() as f64 - state.timeline.end().nseconds() as f64) / 1e6
                );
                let jumped = state
                    .format
                    .is_some()
                    .then(|| state.timeline.follow_input(pts, owed_frames, latency))
                    .flatten();
                if let Some(output_end) = jumped {
                    state.discont = true;
                    gst::debug!(
                        CAT,
                        imp = self,
                        "input resumed at {pts} after a pause: the output jumps there from \
                         {output_end} (DISCONT)"
                    );
                }
                state.last_input_pts = Some(pts);
            }
            if state.decoder.is_none() {
                state.first_input_pts = buffer.pts();
                let mut settings = self.decoder_settings(state.caps_hint);
                if matches!(settings.hint, Some(ContainerHint::OpusPackets(_)))
                    && buffer.map_readable().is_ok_and(|b| b.starts_with(b"OggS"))
                {
                    // Ogg pages under packet caps: read as the byte stream they are.
                    settings.hint = Some(ContainerHint::Ogg);
                }
                state.packet_framing = PacketFraming::for_hint(settings.hint);
                gst::debug!(CAT, imp = self, "starting decoder with {settings:?}");
                match StreamDecoder::start(settings) {
                    Ok(decoder) => state.decoder = Some(decoder),
                    Err(e) => {
                        drop(state);
                        gst::element_imp_error!(
                            self,
                            gst::CoreError::Thread,
                            ["Could not start the decoder: {e}"]
                        );
                        return Err(gst::FlowError::Error);
                    }
                }
            }
            let unreadable = || {
                gst::element_imp_error!(self, gst::CoreError::Failed, ["Unreadable buffer"]);
                gst::FlowError::Error
            };
            // Samples to drop at the start and end of a packet (a demuxer's pre-skip and end
            // padding), for the framing below.
            let clipping = state
                .packet_framing
                .and_then(|_| buffer.meta::<gst_audio::AudioClippingMeta>())
                .map(|meta| (clipped_samples(meta.start()), clipped_samples(meta.end())))
                .unwrap_or_default();
            let interleaved;
            let map;
            let bytes: &[u8] = match &state.planar_input {
                Some(info) => {
                    let audio = gst_audio::AudioBuffer::from_buffer_readable(buffer, info)
                        .map_err(|_| unreadable())?;
                    // Not `planes_data()`: gstreamer-audio 0.25.4's indexes an empty SmallVec
                    // and panics.
                    let planes: Vec<&[u8]> = (0..audio.n_planes())
                        .map(|plane| audio.plane_data(plane))
                        .collect::<Result<_, _>>()
                        .map_err(|_| unreadable())?;
                    // Not `bps()` either: it is the depth (3 for S24_32), not the width.
                    let sample_bytes = (info.bpf() / info.channels().max(1)) as usize;
                    interleaved = interleave(&planes, sample_bytes);
                    &interleaved
                }
                None => {
                    map = buffer.map_readable().map_err(|_| unreadable())?;
                    &map
                }
            };
            {
                let mut stats = self.stats.lock().unwrap();
                stats.bytes_in += bytes.len() as u64;
                stats.buffers_in += 1;
                stats.first_input_at.get_or_insert_with(Instant::now);
            }
            let state = &mut *state;
            let decoder = state.decoder.as_mut().expect("decoder started above");
            match &mut state.packet_framing {
                // One packet per buffer: behind a header that states its length, as the byte
                // queue keeps no buffer boundaries.
                Some(framing) => {
                    if framing.frame(bytes, clipping, &mut state.framed) {
                        decoder.feed(&state.framed);
                    } else {
                        gst::warning!(
                            CAT,
                            imp = self,
                            "dropping a packet of {} bytes, longer than its framing can state",
                            bytes.len()
                        );
                    }
                }
                None => decoder.feed(bytes),
            }
        }
        // The decoder stops every OUTPUT_CHUNK_MS of PCM: each batch goes downstream before the
        // rest of the buffer is decoded, and the chain returns once every byte is used.
        loop {
            let events = {
                let mut state = self.state.lock().unwrap();
                match state.decoder.as_mut().and_then(|d| d.next_events()) {
                    Some(events) => events,
                    None => break,
                }
            };
            self.handle_decoder_events(events)?;
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn generate_output(&self) -> Result<GenerateOutputSuccess, gst::FlowError> {
        // Everything was pushed in order from submit_input_buffer.
        Ok(GenerateOutputSuccess::NoOutput)
    }
}

impl RsStreamDecoder {
    /// A CONVERT query's answer. Output: S16 at the current output format, exact. Input: bytes
    /// to time and back at the ratio of the input so far to the PCM it gave, which is exact
    /// for PCM and an average for compressed streams; nothing before the first PCM.
    fn convert(
        &self,
        direction: gst::PadDirection,
        src_val: gst::GenericFormattedValue,
        dest_format: gst::Format,
    ) -> Option<gst::GenericFormattedValue> {
        if src_val.format() == dest_format {
            return Some(src_val);
        }
        let stats = self.stats.lock().unwrap();
        let format = stats.format.as_ref()?;
        match direction {
            gst::PadDirection::Src => {
                let info = gst_audio::AudioInfo::builder(
                    gst_audio::AudioFormat::S16le,
                    format.out_rate,
                    format.out_channels as u32,
                )
                .build()
                .ok()?;
                info.convert_generic(src_val, dest_format)
            }
            _ => {
                let out_ns = gst::ClockTime::SECOND
                    .nseconds()
                    .mul_div_floor(stats.frames_out, u64::from(format.out_rate))?;
                if out_ns == 0 || stats.bytes_in == 0 {
                    return None;
                }
                use gst::GenericFormattedValue as V;
                match (src_val, dest_format) {
                    (V::Bytes(Some(bytes)), gst::Format::Time) => {
                        Some(V::Time(Some(gst::ClockTime::from_nseconds(
                            (*bytes).mul_div_floor(out_ns, stats.bytes_in)?,
                        ))))
                    }
                    (V::Time(Some(time)), gst::Format::Bytes) => {
                        Some(V::Bytes(Some(gst::format::Bytes::from_u64(
                            time.nseconds().mul_div_floor(stats.bytes_in, out_ns)?,
                        ))))
                    }
                    _ => None,
                }
            }
        }
    }

    /// Resolves the properties (and downstream caps for values left at 0) into decoder settings.
    fn decoder_settings(&self, caps_hint: Option<ContainerHint>) -> DecoderSettings {
        let settings = self.settings.lock().unwrap().clone();
        let mut out_rate = (settings.sample_rate > 0).then_some(settings.sample_rate);
        let mut out_channels = (settings.channels > 0).then_some(settings.channels as usize);
        if out_rate.is_none() || out_channels.is_none() {
            let peer_caps = self.obj().src_pad().peer_query_caps(None);
            if let Some(s) = peer_caps.structure(0).filter(|_| !peer_caps.is_any()) {
                out_rate = out_rate.or(s.get::<i32>("rate").ok().map(|r| r as u32));
                out_channels = out_channels.or(s.get::<i32>("channels").ok().map(|c| c as usize));
            }
        }
        let property_hint = settings.format.as_deref().and_then(ContainerHint::parse);
        let hint = match property_hint.or(caps_hint) {
            Some(ContainerHint::RawPcm(raw)) => Some(ContainerHint::RawPcm(raw.with_defaults(
                (settings.input_rate > 0).then_some(settings.input_rate),
                (settings.input_channels > 0).then_some(settings.input_channels as u16),
            ))),
            hint => hint,
        };
        DecoderSettings {
            mp4_buffer_limit: settings.mp4_buffer_limit,
            max_damage: self.damage_limit.clone(),
            audio_track: settings.audio_track as usize,
            verify_checksums: settings.verify_checksums,
            ..DecoderSettings::new(out_rate, out_channels, hint)
        }
    }

    fn allowed_output_caps(&self) -> gst::Caps {
        let settings = self.settings.lock().unwrap().clone();
        let mut builder = gst_audio::AudioCapsBuilder::new_interleaved()
            .format(gst_audio::AudioFormat::S16le)
            .rate_range(1..=MAX_SAMPLE_RATE as i32)
            .channels_range(1..=MAX_CHANNELS as i32);
        if settings.sample_rate > 0 {
            builder = builder.rate(settings.sample_rate as i32);
        }
        if settings.channels > 0 {
            builder = builder.channels(settings.channels as i32);
        }
        builder.build()
    }

    /// Pushes decoder output downstream, in order.
    fn handle_decoder_events(
        &self,
        events: Vec<DecoderEvent>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        for event in events {
            match event {
                DecoderEvent::Format(format) => self.set_output_format(format)?,
                DecoderEvent::Tags(tags) => self.stream_tags(&tags),
                DecoderEvent::Bitrate(bits_per_second) => self.bitrate_tag(bits_per_second),
                DecoderEvent::Latency { first, most } => {
                    let mut state = self.state.lock().unwrap();
                    if let (Some(first_input), Some(last_input)) =
                        (state.first_input_pts, state.last_input_pts)
                    {
                        state
                            .timeline
                            .start_at_input(first_input, last_input, first);
                    }
                    drop(state);
                    self.set_latency(most);
                }
                DecoderEvent::Duration(duration) => {
                    let duration = gst::ClockTime::try_from(duration).ok();
                    self.state.lock().unwrap().duration = duration;
                }
                DecoderEvent::Pcm(pcm) => {
                    self.push_pcm(pcm)?;
                }
                DecoderEvent::Warning(message) => {
                    self.stats.lock().unwrap().warnings += 1;
                    gst::element_imp_warning!(self, gst::StreamError::Decode, ("{message}"));
                }
                DecoderEvent::Error(DecoderError { kind, message }) => {
                    self.state.lock().unwrap().failed = true;
                    match kind {
                        ErrorKind::NotAudio => gst::element_imp_error!(
                            self,
                            gst::StreamError::TypeNotFound,
                            ("{message}")
                        ),
                        ErrorKind::Corrupt => {
                            gst::element_imp_error!(self, gst::StreamError::Decode, ("{message}"))
                        }
                        ErrorKind::Internal => {
                            gst::element_imp_error!(self, gst::CoreError::Failed, ("{message}"))
                        }
                    }
                    return Err(gst::FlowError::Error);
                }
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn set_output_format(&self, format: StreamFormat) -> Result<(), gst::FlowError> {
        let caps = output_caps(&format).ok_or_else(|| {
            gst::element_imp_error!(
                self,
                gst::CoreError::Negotiation,
                [
                    "No caps for {} channels at {} Hz",
                    format.out_channels,
                    format.out_rate
                ]
            );
            gst::FlowError::NotNegotiated
        })?;
        gst::info!(
            CAT,
            imp = self,
            "detected {} / {}, {} Hz, {} ch; output {caps}",
            format.container,
            format.codec,
            format.in_rate,
            format.in_channels
        );
        let announce;
        {
            let mut state = self.state.lock().unwrap();
            // A new rate restarts the sample count where the previous output ended.
            let end = state.timeline.end();
            let first = state.format.is_none();
            let base = if first { self.first_pts(&state) } else { end };
            state.timeline = Timeline::starting_at(base, format.out_rate, format.out_channels * 2);
            state.discont |= first;
            self.stats.lock().unwrap().format = Some(format.clone());
            announce = state.format.as_ref().is_none_or(|previous| {
                (&previous.container, &previous.codec) != (&format.container, &format.codec)
            });
            state.format = Some(format.clone());
        }
        self.ensure_stream_start();
        let pad = self.obj().src_pad().clone();
        if !pad.push_event(gst::event::Caps::new(&caps)) {
            // A flush or a stop that started while the decoder worked on this chunk: not an
            // error, the stream is going away (found by the state-change stress test).
            let obj = self.obj();
            if [obj.src_pad(), obj.sink_pad()]
                .iter()
                .any(|p| p.pad_flags().contains(gst::PadFlags::FLUSHING))
            {
                gst::debug!(CAT, imp = self, "flushing, caps not pushed");
                return Err(gst::FlowError::Flushing);
            }
            gst::element_imp_error!(
                self,
                gst::CoreError::Negotiation,
                ["Downstream refused {caps}"]
            );
            return Err(gst::FlowError::NotNegotiated);
        }
        self.ensure_segment();
        if announce {
            self.announce_format(&format);
        }
        Ok(())
    }

    /// A stream's latency is known (from its first packet): when it differs from what the
    /// element reported, a LATENCY message makes the pipeline ask again.
    fn set_latency(&self, latency: Duration) {
        let nanos = (latency + SCHEDULING_MARGIN).as_nanos() as u64;
        if self.latency_ns.swap(nanos, Ordering::Relaxed) != nanos {
            gst::info!(CAT, imp = self, "latency now {latency:?}");
            let obj = self.obj();
            let _ = obj.post_message(gst::message::Latency::builder().src(&*obj).build());
        }
    }

    /// The stream's own tags: sent at once when the segment is out, else with the format.
    fn stream_tags(&self, tags: &[StreamTag]) {
        self.push_tags(tag_list(tags));
    }

    /// The stream's bitrate, as GStreamer's parsers tag it.
    fn bitrate_tag(&self, bits_per_second: u32) {
        let mut list = gst::TagList::new();
        list.get_mut()
            .expect("new tag list is writable")
            .add::<gst::tags::Bitrate>(&bits_per_second, gst::TagMergeMode::Replace);
        self.push_tags(list);
    }

    /// Adds tags to the stream's and sends them all in a TAG event (a later TAG event of the same
    /// scope replaces the earlier one on the pad), or keeps them for after the segment, which
    /// must come first.
    fn push_tags(&self, list: gst::TagList) {
        let mut state = self.state.lock().unwrap();
        let tags = match &mut state.tags {
            Some(tags) => {
                tags.make_mut().insert(&list, gst::TagMergeMode::Replace);
                tags.clone()
            }
            None => state.tags.insert(list).clone(),
        };
        if state.segment_sent {
            drop(state);
            self.obj().src_pad().push_event(gst::event::Tag::new(tags));
        }
    }

    /// A new stream's container and codec: a TAG event downstream (for players and `tagreadbin`)
    /// and an element message on the bus (for applications).
    fn announce_format(&self, format: &StreamFormat) {
        let (container, codec) = (container_name(&format.container), codec_name(&format.codec));
        let mut tags = gst::TagList::new();
        {
            let tags = tags.get_mut().expect("new tag list is writable");
            tags.add::<gst::tags::ContainerFormat>(&container, gst::TagMergeMode::Replace);
            tags.add::<gst::tags::AudioCodec>(&codec, gst::TagMergeMode::Replace);
        }
        self.push_tags(tags);
        let structure = gst::Structure::builder("rsstreamdecoder-format")
            .field("container", &format.container)
            .field("codec", &format.codec)
            .field("container-name", container)
            .field("codec-name", codec)
            .field("rate", format.in_rate)
            .field("channels", format.in_channels as u32)
            .field("out-rate", format.out_rate)
            .field("out-channels", format.out_channels as u32)
            .build();
        let obj = self.obj();
        let _ = obj.post_message(gst::message::Element::builder(structure).src(&*obj).build());
    }

    fn first_pts(&self, state: &State) -> gst::ClockTime {
        state
            .first_input_pts
            .or_else(|| state.upstream_segment.as_ref().and_then(|s| s.start()))
            .unwrap_or(gst::ClockTime::ZERO)
    }

    fn push_pcm(&self, mut pcm: Vec<u8>) -> Result<gst::FlowSuccess, gst::FlowError> {
        let buffer = {
            let mut state = self.state.lock().unwrap();
            #[cfg(test)]
            self.panic_if_asked(tests::PanicPoint::Pcm);
            let frame_size = state.timeline.frame_size.max(1);
            let decoded = (pcm.len() / frame_size) as u64;
            let first = state.timeline.samples;
            state.timeline.samples += decoded;
            let inside = state
                .upstream_segment
                .as_ref()
                .map_or(0..decoded, |segment| {
                    state.timeline.frames_inside(segment, first, decoded)
                });
            if inside != (0..decoded) {
                gst::log!(
                    CAT,
                    imp = self,
                    "clipped to the segment: frames {inside:?} of {decoded} at {}",
                    state.timeline.time_at(first)
                );
                if inside.is_empty() {
                    // A DISCONT still pending goes with the next buffer that is pushed.
                    return Ok(gst::FlowSuccess::Ok);
                }
                pcm.truncate(inside.end as usize * frame_size);
                pcm.drain(..inside.start as usize * frame_size);
            }
            let start = first + inside.start;
            let frames = inside.end - inside.start;
            let pts = state.timeline.time_at(start);
            let end = state.timeline.time_at(start + frames);
            let discont = std::mem::take(&mut state.discont);
            gst::log!(
                CAT,
                imp = self,
                "output: {frames} frames at {pts}{}",
                if discont { " (DISCONT)" } else { "" }
            );
            let mut buffer = gst::Buffer::from_mut_slice(pcm);
            {
                let buffer = buffer.get_mut().expect("new buffer is writable");
                buffer.set_pts(pts);
                buffer.set_duration(end - pts);
                buffer.set_offset(start);
                buffer.set_offset_end(start + frames);
                if discont {
                    buffer.set_flags(gst::BufferFlags::DISCONT);
                }
            }
            let mut stats = self.stats.lock().unwrap();
            stats.frames_out += frames;
            stats.buffers_out += 1;
            if stats.first_pcm.is_none() {
                let latency = stats.first_input_at.map_or(Duration::ZERO, |t| t.elapsed());
                stats.first_pcm = Some((stats.bytes_in, latency));
            }
            buffer
        };
        self.obj().src_pad().push(buffer)
    }

    /// Downstream needs a STREAM_START before caps; upstream may not have sent one (a bare
    /// harness or a custom source).
    fn ensure_stream_start(&self) {
        let obj = self.obj();
        let pad = obj.src_pad();
        if pad.sticky_event::<gst::event::StreamStart>(0).is_none() {
            let stream_id = pad.create_stream_id(&*obj, None::<&str>);
            pad.push_event(gst::event::StreamStart::new(stream_id.as_str()));
        }
    }

    /// Our own TIME segment, once per stream: upstream's if it was timed, else from 0.
    fn ensure_segment(&self) {
        let segment = {
            let mut state = self.state.lock().unwrap();
            if state.segment_sent {
                return;
            }
            state.segment_sent = true;
            state.upstream_segment.clone().unwrap_or_else(|| {
                let mut segment = gst::FormattedSegment::<gst::ClockTime>::new();
                segment.set_start(gst::ClockTime::ZERO);
                segment
            })
        };
        self.ensure_stream_start();
        self.obj()
            .src_pad()
            .push_event(gst::event::Segment::new(&segment));
    }
}

#[cfg(test)]
impl RsStreamDecoder {
    fn panic_if_asked(&self, point: tests::PanicPoint) {
        if self.settings.lock().unwrap().panic_at == Some(point) {
            panic!("injected test panic at {point:?}");
        }
    }
}

/// A panic in the element's own code (not the decoder, whose panics the `decoder` tests cover) must end in
/// an ERROR message, never an abort, and the pipeline must still shut down and free the element.
/// The panic is injected through a test-only setting, so this lives next to the element.
#[cfg(test)]
pub(super) mod tests {
    use std::sync::Once;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(in crate::rsstreamdecoder) enum PanicPoint {
        /// In `submit_input_buffer`, with the state lock held.
        Input,
        /// While building the first output buffer, with the state lock held.
        Pcm,
        /// On EOS, after all input was decoded and pushed.
        Eos,
    }

    const SAMPLE_MP3: &[u8] = include_bytes!("../../examples/sample.mp3");

    fn init() {
        static INIT: Once = Once::new();
        INIT.call_once(|| {
            gst::init().unwrap();
            gst::Element::register(
                None,
                "rsstreamdecoder",
                gst::Rank::NONE,
                super::super::RsStreamDecoder::static_type(),
            )
            .unwrap();
        });
    }

    struct Outcome {
        errors: Vec<(String, String)>,
        got_eos: bool,
        buffers: usize,
        element_freed: bool,
    }

    /// Pushes the bundled MP3 through `appsrc ! rsstreamdecoder ! appsink` in 4 KiB chunks, with
    /// a panic injected at `point` (or none), and shuts the pipeline down.
    fn run(point: Option<PanicPoint>) -> Outcome {
        init();
        let pipeline = gst::Pipeline::new();
        let src = gst_app::AppSrc::builder()
            .format(gst::Format::Bytes)
            .build();
        let decoder = gst::ElementFactory::make("rsstreamdecoder")
            .build()
            .unwrap();
        let sink = gst_app::AppSink::builder().sync(false).build();
        pipeline
            .add_many([src.upcast_ref(), &decoder, sink.upcast_ref()])
            .unwrap();
        gst::Element::link_many([src.upcast_ref(), &decoder, sink.upcast_ref()]).unwrap();

        let imp = decoder
            .downcast_ref::<super::super::RsStreamDecoder>()
            .unwrap()
            .imp();
        imp.settings.lock().unwrap().panic_at = point;

        let buffers = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = buffers.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );

        pipeline.set_state(gst::State::Playing).unwrap();
        for chunk in SAMPLE_MP3.chunks(4096) {
            // After an error appsrc refuses data; the bus tells the rest.
            if src.push_buffer(gst::Buffer::from_slice(chunk)).is_err() {
                break;
            }
        }
        let _ = src.end_of_stream();

        let bus = pipeline.bus().unwrap();
        // The first ERROR or EOS; after an ERROR, also what else was posted meanwhile.
        let mut errors = Vec::new();
        let first = bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(20),
            &[gst::MessageType::Error, gst::MessageType::Eos],
        );
        let got_eos = first
            .as_ref()
            .is_some_and(|m| m.type_() == gst::MessageType::Eos);
        if let Some(message) = first.filter(|_| !got_eos) {
            errors.extend(error_from(&message));
            std::thread::sleep(Duration::from_millis(100));
            while let Some(more) = bus.pop_filtered(&[gst::MessageType::Error]) {
                errors.extend(error_from(&more));
            }
        }

        assert_eq!(
            pipeline.set_state(gst::State::Null),
            Ok(gst::StateChangeSuccess::Success)
        );
        let weak = decoder.downgrade();
        drop(decoder);
        drop(pipeline);
        Outcome {
            errors,
            got_eos,
            buffers: buffers.load(Ordering::SeqCst),
            // Freeing the element drops its StreamDecoder, which winds the decoder down.
            element_freed: weak.upgrade().is_none(),
        }
    }

    /// The name of the element that posted an ERROR message, and its text.
    fn error_from(message: &gst::Message) -> Option<(String, String)> {
        let gst::MessageView::Error(error) = message.view() else {
            return None;
        };
        let from = message.src().map(|s| s.name().to_string());
        Some((from.unwrap_or_default(), error.error().to_string()))
    }

    fn assert_panic_became_error(outcome: &Outcome, point: PanicPoint, decoder_name: &str) {
        assert!(!outcome.got_eos, "{point:?}: EOS despite the panic");
        let (from, text) = outcome
            .errors
            .first()
            .unwrap_or_else(|| panic!("{point:?}: no ERROR on the bus"));
        assert!(
            from.starts_with(decoder_name),
            "{point:?}: first ERROR from {from}"
        );
        assert!(
            text.contains("Panicked")
                && text.contains(&format!("injected test panic at {point:?}")),
            "{point:?}: ERROR says {text:?}"
        );
        assert!(outcome.element_freed, "{point:?}: element not freed");
    }

    #[test]
    fn a_panic_on_input_becomes_an_error_message() {
        let outcome = run(Some(PanicPoint::Input));
        assert_panic_became_error(&outcome, PanicPoint::Input, "rsstreamdecoder");
        assert_eq!(outcome.buffers, 0);
    }

    #[test]
    fn a_panic_while_pushing_pcm_becomes_an_error_message() {
        let outcome = run(Some(PanicPoint::Pcm));
        assert_panic_became_error(&outcome, PanicPoint::Pcm, "rsstreamdecoder");
        assert_eq!(outcome.buffers, 0);
    }

    #[test]
    fn a_panic_on_eos_becomes_an_error_message_after_the_audio_so_far() {
        let outcome = run(Some(PanicPoint::Eos));
        assert_panic_became_error(&outcome, PanicPoint::Eos, "rsstreamdecoder");
        // Lockstep: everything decodable was pushed before EOS arrived.
        assert!(outcome.buffers > 0);
    }

    #[test]
    fn after_a_panic_a_new_element_in_the_same_process_decodes() {
        let _ = run(Some(PanicPoint::Input));
        let outcome = run(None);
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        assert!(outcome.got_eos);
        assert!(outcome.buffers > 0);
        assert!(outcome.element_freed);
    }
}
