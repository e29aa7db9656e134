//! The decoder worker: per stream, a coroutine that reads compressed bytes from a
//! [`StreamBuffer`], demuxes and decodes them with symphonia, and converts the audio to S16LE
//! with a [`PcmConverter`]. Free of GStreamer so it can be unit tested and fuzzed.
//!
//! [`StreamDecoder`] (in `handle`, with the settings and events) is the caller's handle. It
//! keeps the worker in lockstep with the input: `push()` runs the worker on the caller's thread
//! until it has consumed every byte and waits for more, so the events it returns hold all the
//! PCM that the bytes pushed so far can produce.
//!
//! This module is the worker's read and decode loop with its error policy; `open` builds the
//! format reader for each stream, `codec_params` fixes up what readers hand the codecs, `output`
//! turns decoded audio into the PCM events.

use std::io;
use std::panic::{self, AssertUnwindSafe};

use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::well_known::FORMAT_ID_OGG;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::packet::Packet;
use symphonia::default::formats as readers;

use crate::codecs::TrackDecoder;
use crate::container::source::Unseekable;
use crate::container::{mkv_acm, mkv_tta, mp4_edit, mp4_tracks};
use crate::coroutine;
use crate::format_hint::ContainerHint;
use crate::pcm::PcmConverter;
use crate::stream_buffer::StreamReader;
pub use crate::tags::StreamTag;
use crate::tags::stream_tags;

mod codec_params;
mod handle;
mod open;
mod output;
pub use handle::{
    DamageLimit, DecoderError, DecoderEvent, DecoderSettings, ErrorKind, StreamDecoder,
    StreamFormat,
};
use handle::{EventQueue, OUTPUT_CHUNK_MS};
use open::{at_end, read_ahead};

/// How far the probe scans for a container marker before giving up. Symphonia's default is
/// 1 MiB; a server that answers with an HTML error page should be reported long before that.
pub const MAX_PROBE_BYTES: u32 = 32 * 1024;
/// How many bytes a reader built from a hint may consume before we give up on the hint and
/// replay those bytes into the probe.
const HINT_REPLAY_LIMIT: usize = 48 * 1024;
/// How much damage the stream may show before it is declared undecodable, by default (the
/// element's `max-errors`): each corrupt packet adds one, each good packet takes one away. A
/// leaky count rather than a run length, because noise sometimes decodes "successfully" (AAC
/// accepts about one random payload in five), which would reset a plain run counter forever.
pub const MAX_DAMAGE: u32 = 32;
/// How much of the stream start is kept to read an MP4 edit list from (a faststart `moov` of a
/// long file can take a few hundred KiB).
const HEAD_CAPTURE_LIMIT: usize = 1024 * 1024;

fn run_worker(reader: StreamReader, settings: DecoderSettings, events: EventQueue) {
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        Worker::new(reader.clone(), settings, &events).run()
    }));
    if let Err(payload) = result {
        let message = panic_message(&*payload);
        events.send(DecoderEvent::error(
            ErrorKind::Internal,
            format!("the decoder panicked: {message}"),
        ));
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Why a stream ended.
enum StreamEnd {
    /// The container ended; more bytes may hold another file.
    Ended(MediaSourceStream<'static>),
    /// Shutting down or fatal error already reported.
    Stop,
}

/// Container details a format reader does not expose, read from the head of the stream.
struct StreamExtras {
    /// MP4 edit list: priming and padding to trim.
    edit: Option<mp4_edit::EditList>,
    /// Matroska header (everything before the first cluster), to go on after damage.
    mkv_header: Option<Vec<u8>>,
    /// What the stream's audio track holds that nothing here decodes, when the reader left it
    /// unnamed: the error if no other track is found.
    no_track_why: Option<String>,
}

/// One container stream's decoded audio, as `emit` tracks it.
struct DecodedStream {
    container: String,
    /// MP4 edit list: priming and padding to trim.
    edit: Option<mp4_edit::EditList>,
    /// Edit-list trimming still to apply: frames to drop, then frames to keep.
    trim: Option<(u64, u64)>,
    /// Decoded audio so far, and audio of packets skipped as damaged (each with its own
    /// warning), to compare with the length the container declares.
    decoded_seconds: f64,
    skipped_seconds: f64,
    /// For the latency estimate: the longest packet so far (frames, untrimmed), the priming
    /// trimmed before the first output, the packets the codec holds back, and whether the
    /// estimate went out.
    packet_frames: u64,
    priming_frames: u64,
    codec_delay_packets: u64,
    /// How much later than the first packet's a later packet's audio may be complete.
    latency_spread_frames: u64,
    latency_sent: bool,
    /// For the bitrate: packet bytes and frames decoded so far, and whether it went out.
    payload_bytes: u64,
    payload_frames: u64,
    bitrate_sent: bool,
}

/// Audio decoded before the stream's average bitrate is announced.
const BITRATE_AFTER_SECONDS: u64 = 1;

struct Worker<'a> {
    reader: StreamReader,
    settings: DecoderSettings,
    events: &'a EventQueue,
    converter: Option<PcmConverter>,
    last_format: Option<StreamFormat>,
    /// Reused between packets: decoded samples as f32 planes (for decoders that give another
    /// sample type) and converted bytes.
    samples: Vec<Vec<f32>>,
    pcm: Vec<u8>,
    /// `emit` queued a chunk's worth of PCM: stop for output after this packet.
    output_waiting: bool,
    streams_opened: u32,
    /// The live stream, put aside while a reader works on a copy of an MP4 file held in memory
    /// (see `container::mp4`), and the held file's edit list.
    after_held_file: Option<MediaSourceStream<'static>>,
    held_edit: Option<Option<mp4_edit::EditList>>,
}

impl<'a> Worker<'a> {
    fn new(reader: StreamReader, settings: DecoderSettings, events: &'a EventQueue) -> Self {
        Worker {
            reader,
            settings,
            events,
            converter: None,
            last_format: None,
            samples: Vec::new(),
            pcm: Vec::new(),
            output_waiting: false,
            streams_opened: 0,
            after_held_file: None,
            held_edit: None,
        }
    }

    fn run(mut self) {
        #[cfg(test)]
        if self.settings.panic_in_worker {
            panic!("injected test panic");
        }
        if self.settings.hint.is_some() {
            // Keep the first bytes so a wrong hint can fall back to the probe without loss.
            self.reader.set_retain(Some(HINT_REPLAY_LIMIT));
        }
        // Packets the element framed have no container to watch.
        let framed = matches!(self.settings.hint, Some(ContainerHint::OpusPackets(_)));
        // Watch for concatenated MPEG audio files from the first byte; switched off once the
        // stream turns out to be something else.
        self.reader.set_mpeg_split(!framed);
        // And for FLAC, whose reader and decoder assume every frame has the header's format.
        self.reader.set_flac_split(!framed);
        // And for Matroska, whose reader ignores DiscardPadding and gives up on damage.
        self.reader.set_mkv_watch(!framed);
        // And for fragmented MP4, whose reader trusts the sample counts fragments declare.
        self.reader.set_mp4_watch(!framed);
        // And for MPEG transport streams, which symphonia does not read: their audio is
        // unwrapped for the MPEG audio and ADTS readers. Raw PCM has no container to look for.
        let raw = matches!(self.settings.hint, Some(ContainerHint::RawPcm(_)));
        self.reader
            .set_ts_unwrap(!raw && !framed, self.settings.audio_track);
        self.reader.capture_head(HEAD_CAPTURE_LIMIT);
        let mut source = self.new_source();
        loop {
            if at_end(&mut source) {
                // A transport stream with nothing to unwrap gives no bytes at all.
                if let Some(problem) = self.reader.ts_problem() {
                    self.events
                        .send(DecoderEvent::error(ErrorKind::NotAudio, problem));
                }
                break;
            }
            let mut format = match self.open(source) {
                Ok(format) => format,
                Err(message) => {
                    if self.reader.is_aborted() {
                        return;
                    }
                    if self.streams_opened == 0 {
                        // Reads that ended before a damaged MP4 fragment say more than the
                        // reader's "unexpected end of file".
                        let message = match self.reader.mp4_refusal() {
                            Some(why) => format!("the MP4 stream could not be read: {why}"),
                            None => message,
                        };
                        self.events
                            .send(DecoderEvent::error(ErrorKind::NotAudio, message));
                    } else {
                        // Trailing bytes after complete files (padding, a stray tag, ...).
                        self.events.send(DecoderEvent::Warning(format!(
                            "ignoring trailing data after the last stream: {message}"
                        )));
                        self.flush_converter();
                    }
                    return;
                }
            };
            self.streams_opened += 1;
            if self.streams_opened == 1
                && let Some(seconds) = declared_seconds(&*format)
                && let Ok(duration) = std::time::Duration::try_from_secs_f64(seconds)
                && !duration.is_zero()
            {
                self.events.send(DecoderEvent::Duration(duration));
            }
            let container = format.format_info().short_name;
            if !matches!(container, "mp1" | "mp2" | "mp3" | "aac") {
                self.reader.set_mpeg_split(false);
            }
            if container != "flac" {
                self.reader.set_flac_split(false);
            }
            if container != "matroska" {
                self.reader.set_mkv_watch(false);
            }
            if container != "isomp4" {
                self.reader.set_mp4_watch(false);
            }
            let tags = stream_tags(&mut *format);
            if !tags.is_empty() {
                self.events.send(DecoderEvent::Tags(tags));
            }
            let mut head = self.reader.take_head();
            // Why a track the reader left without codec parameters cannot be decoded.
            let mut no_track_why = None;
            if container == "isomp4" {
                format =
                    mp4_tracks::with_unnamed_tracks(format, &mp4_tracks::unnamed_tracks(&head));
            }
            if container == "matroska" {
                let acm = mkv_acm::acm_tracks(&head);
                format = completed_matroska_tracks(format, &head, &acm);
                no_track_why = mkv_acm::refusal(&acm);
            }
            let extras = StreamExtras {
                edit: match self.held_edit.take() {
                    Some(edit) => edit,
                    None => (container == "isomp4")
                        .then(|| mp4_edit::audio_edit_list(&head, self.settings.audio_track))
                        .flatten(),
                },
                no_track_why,
                mkv_header: (container == "matroska")
                    .then(|| self.reader.mkv_first_cluster())
                    .flatten()
                    .filter(|&first| first <= head.len() as u64)
                    .map(|first| {
                        head.truncate(first as usize);
                        head
                    }),
            };
            match self.decode_stream(format, extras) {
                StreamEnd::Ended(_) if self.reader.at_boundary() => {
                    // The reader stopped at the start of the next MPEG file or of FLAC frames in
                    // a new format; what it buffered is the tail of the stream that ended.
                    self.reader.pass_boundary();
                    source = self.new_source();
                }
                // A file held in memory ended: the live stream goes on after it.
                StreamEnd::Ended(rest) => source = self.after_held_file.take().unwrap_or(rest),
                StreamEnd::Stop => return,
            }
        }
        self.flush_converter();
    }

    fn decode_stream(
        &mut self,
        mut format: Box<dyn FormatReader>,
        extras: StreamExtras,
    ) -> StreamEnd {
        let StreamExtras {
            edit,
            mkv_header,
            no_track_why,
        } = extras;
        let mut stream = DecodedStream {
            container: format.format_info().short_name.to_string(),
            edit,
            trim: None,
            decoded_seconds: 0.0,
            skipped_seconds: 0.0,
            packet_frames: 0,
            priming_frames: 0,
            codec_delay_packets: 0,
            latency_spread_frames: 0,
            latency_sent: false,
            payload_bytes: 0,
            payload_frames: 0,
            bitrate_sent: false,
        };
        let Some((mut track_id, mut decoder)) =
            self.make_decoder(&*format, stream.edit.as_ref(), no_track_why)
        else {
            return StreamEnd::Stop;
        };
        let mut damage = 0u32;
        // Any packet skipped: the decoded audio cannot match the file's checksum.
        let mut skipped_any = false;
        #[cfg(test)]
        let mut packets_seen = 0usize;
        let mut gaps = GapWatch::default();
        loop {
            // symphonia's readers index into what damaged input declares (a fragmented MP4's
            // `trun` that says its first sample has a duration and holds none, found by fuzzing):
            // such a reader cannot go on, but the audio before it stays.
            let next = match panic::catch_unwind(AssertUnwindSafe(|| format.next_packet())) {
                Ok(next) => next,
                Err(payload) => {
                    self.events.send(DecoderEvent::Warning(format!(
                        "stopped reading the stream: the {} reader failed on damaged data ({})",
                        format.format_info().short_name,
                        panic_message(&*payload)
                    )));
                    return self.stream_ended(format, &mut decoder, &mut stream, skipped_any);
                }
            };
            let packet = match next {
                Ok(Some(packet)) => packet,
                Ok(None) | Err(SymphoniaError::IoError(_)) if self.reader.at_mkv_damage() => {
                    // Reads ended where Matroska damage starts: go on from the next cluster.
                    if let Some(reopened) = mkv_header
                        .as_deref()
                        .and_then(|header| self.reopen_matroska(header))
                    {
                        format = reopened;
                        gaps = GapWatch::default();
                        continue;
                    }
                    if self.reader.is_aborted() {
                        return StreamEnd::Stop;
                    }
                    return self.stream_ended(format, &mut decoder, &mut stream, skipped_any);
                }
                Ok(None) => {
                    return self.stream_ended(format, &mut decoder, &mut stream, skipped_any);
                }
                Err(SymphoniaError::IoError(e)) => {
                    if self.reader.is_aborted() {
                        return StreamEnd::Stop;
                    }
                    if e.kind() != io::ErrorKind::UnexpectedEof {
                        self.events.send(DecoderEvent::Warning(format!(
                            "stopped reading the stream: {e}"
                        )));
                    }
                    // Streaming WAV, unknown-size WebM and Ogg without an end page end this way.
                    return self.stream_ended(format, &mut decoder, &mut stream, skipped_any);
                }
                Err(SymphoniaError::ResetRequired) => {
                    // A new logical stream (chained Ogg): new track, new decoder.
                    match self.make_decoder(&*format, None, None) {
                        Some((id, new_decoder)) => {
                            track_id = id;
                            decoder = new_decoder;
                            gaps = GapWatch::default();
                            continue;
                        }
                        None => return StreamEnd::Stop,
                    }
                }
                Err(e) => {
                    damage += 1;
                    skipped_any = true;
                    if !self.tolerate_error(damage, &format!("demuxing failed: {e}")) {
                        return StreamEnd::Stop;
                    }
                    continue;
                }
            };
            if packet.track_id != track_id {
                continue;
            }
            self.report_skipped();
            let untrimmed = packet.dur.get() + packet.trim_start.get() + packet.trim_end.get();
            if let Some(expected) = gaps.check(packet.pts.get(), untrimmed) {
                self.events.send(DecoderEvent::Warning(format!(
                    "skipped damaged or missing data: the stream jumps from timestamp {expected} to {}",
                    packet.pts.get()
                )));
            }
            #[cfg(test)]
            let inject_panic = {
                packets_seen += 1;
                self.settings.codec_panic_at_packet == Some(packets_seen - 1)
            };
            #[cfg(not(test))]
            let inject_panic = false;
            // Decoding and converting never suspend, and run deep: on a lent stack (see
            // `coroutine::on_shared_stack`), so this worker's own stack stays shallow.
            let go_on = match coroutine::on_shared_stack(|| {
                self.decode_packet(&mut decoder, &packet, &mut stream, inject_panic)
            }) {
                Ok(go_on) => {
                    damage = damage.saturating_sub(1);
                    go_on
                }
                Err(message) => {
                    damage += 1;
                    skipped_any = true;
                    stream.skipped_seconds += packet_seconds(&*format, &packet);
                    self.tolerate_error(damage, &message)
                }
            };
            if !go_on {
                return StreamEnd::Stop;
            }
            self.stop_if_output_waiting();
        }
    }

    /// Decodes one packet and sends its audio on: `Ok(false)` when decoding must stop, `Err`
    /// with a message when the packet is damaged and skipped.
    fn decode_packet(
        &mut self,
        decoder: &mut TrackDecoder,
        packet: &Packet,
        stream: &mut DecodedStream,
        inject_panic: bool,
    ) -> Result<bool, String> {
        let codec_name = decoder.codec_info().short_name;
        // Read before decoding: the decoded audio borrows the decoder. An AAC stream leaves
        // FDK (which holds a frame back) after its first packet, whose output is empty.
        let codec_delay_packets = decoder.delay_packets();
        let longest_packet = decoder.codec_params().max_frames_per_packet.unwrap_or(0);
        // Symphonia's codecs panic on some damaged packets (an index out of bounds, found by
        // fuzzing). That is one bad packet, not the end of the stream: skip it like a decode
        // error, and reset the decoder so its state is consistent again.
        let (codec, packet_ref) = (&mut *decoder, packet);
        let decoded = panic::catch_unwind(AssertUnwindSafe(move || {
            let codec = codec;
            assert!(!inject_panic, "injected codec panic");
            codec.decode(packet_ref)
        }));
        let (decoded, panicked) = match decoded {
            Ok(result) => (result.map_err(|e| e.to_string()), false),
            Err(payload) => (Err(panic_message(&*payload)), true),
        };
        match decoded {
            Ok(audio) => {
                // A packet's duration includes its trims; readers that give packets no
                // duration (Matroska) leave the decoded length with the trims put back.
                let decoded =
                    audio.frames() as u64 + packet.trim_start.get() + packet.trim_end.get();
                let rate = u64::from(audio.spec().rate());
                // Our Opus decoder drops the pre-skip itself, so a stream's first packet decodes
                // short (648 of 960 frames): its TOC says how long it is.
                let coded = if codec_name == "opus" {
                    crate::container::ogg_opus::packet_samples(&packet.data) * rate
                        / u64::from(crate::container::ogg_opus::RATE)
                } else {
                    0
                };
                let frames = packet.dur.get().max(decoded).max(coded);
                stream.packet_frames = stream.packet_frames.max(frames);
                stream.payload_bytes += packet.data.len() as u64;
                stream.payload_frames += frames;
                if !stream.bitrate_sent && stream.payload_frames >= rate * BITRATE_AFTER_SECONDS {
                    self.send_bitrate(stream, rate);
                }
                if !stream.latency_sent {
                    stream.priming_frames += packet.trim_start.get();
                    stream.codec_delay_packets = codec_delay_packets;
                    if codec_name == "vorbis" {
                        // Its packets' lengths vary with their blocks, and a packet's audio is
                        // whole only with the next one: a later packet may complete its audio
                        // up to a long half-block later than the first (see
                        // `container::ogg_vorbis`).
                        stream.latency_spread_frames = longest_packet.saturating_sub(frames);
                    }
                }
                Ok(self.emit(audio, codec_name, Some(packet.pts.get()), stream))
            }
            Err(e) => Err(if panicked {
                decoder.reset();
                format!(
                    "skipped a corrupt packet: the {} decoder failed on it ({e})",
                    decoder.codec_info().short_name
                )
            } else {
                format!("skipped a corrupt packet: {e}")
            }),
        }
    }

    fn stream_ended(
        &mut self,
        format: Box<dyn FormatReader>,
        decoder: &mut TrackDecoder,
        stream: &mut DecodedStream,
        skipped_any: bool,
    ) -> StreamEnd {
        if !stream.bitrate_sent
            && let Some(rate) = self.converter.as_ref().map(|c| c.in_rate())
        {
            // A stream shorter than BITRATE_AFTER_SECONDS.
            self.send_bitrate(stream, u64::from(rate));
        }
        let codec = decoder.codec_info().short_name;
        let go_on = coroutine::on_shared_stack(|| match decoder.drain() {
            Some(held) => self.emit(held, codec, None, stream),
            None => true,
        });
        if !go_on {
            return StreamEnd::Stop;
        }
        self.stop_if_output_waiting();
        self.report_skipped();
        let complete =
            self.check_complete(&*format, stream.decoded_seconds + stream.skipped_seconds);
        // FLAC carries the MD5 of its audio: a mismatch where nothing was reported lost means
        // damage no decoder could see (or an altered file).
        if complete && !skipped_any && decoder.finalize().verify_ok == Some(false) {
            self.events.send(DecoderEvent::Warning(format!(
                "the decoded {} audio does not match the MD5 checksum in its header: the file \
                 is damaged or was altered",
                decoder.codec_info().short_name
            )));
        }
        StreamEnd::Ended(format.into_inner())
    }

    /// The stream's average bitrate so far (codec payload, without the container), once.
    fn send_bitrate(&self, stream: &mut DecodedStream, rate: u64) {
        stream.bitrate_sent = true;
        if stream.payload_frames > 0 && rate > 0 {
            let bits_per_second =
                stream.payload_bytes as u128 * 8 * rate as u128 / stream.payload_frames as u128;
            self.events.send(DecoderEvent::Bitrate(
                u32::try_from(bits_per_second).unwrap_or(u32::MAX),
            ));
        }
    }

    /// Reports damage the format readers skip silently and the stream buffer saw.
    fn report_skipped(&self) {
        let skipped = self.reader.take_damage();
        if skipped.mpeg_resyncs > 0 {
            self.events.send(DecoderEvent::Warning(format!(
                "skipped {} bytes of damaged MPEG audio ({} loss(es) of frame sync)",
                skipped.mpeg_bytes, skipped.mpeg_resyncs
            )));
        }
        if skipped.ts_packets > 0 {
            self.events.send(DecoderEvent::Warning(format!(
                "lost {} MPEG-TS packet(s) of the audio stream: the audio has a gap there",
                skipped.ts_packets
            )));
        }
        if skipped.ts_bytes > 0 {
            self.events.send(DecoderEvent::Warning(format!(
                "skipped {} bytes of damaged MPEG-TS data to find packet sync",
                skipped.ts_bytes
            )));
        }
        if let Some(why) = skipped.mp4_refused {
            self.events.send(DecoderEvent::Warning(format!(
                "stopped reading the MP4 stream before a damaged fragment: {why}"
            )));
        }
        if skipped.mkv_regions > 0 {
            self.events.send(DecoderEvent::Warning(format!(
                "skipped {} bytes of damaged Matroska data ({} region(s)) to where the stream goes on",
                skipped.mkv_bytes, skipped.mkv_regions
            )));
        }
    }

    /// A Matroska reader for the rest of the stream after damage: the saved header, then the
    /// bytes from the next cluster on (symphonia cannot start mid-stream without the header).
    fn reopen_matroska(&self, header: &[u8]) -> Option<Box<dyn FormatReader>> {
        self.reader.pass_mkv_damage();
        let source = io::Read::chain(io::Cursor::new(header.to_vec()), self.reader.clone());
        let source = read_ahead(Unseekable::new(source));
        match readers::MkvReader::try_new(source, FormatOptions::default()) {
            Ok(reader) => Some(completed_matroska_tracks(
                Box::new(reader),
                header,
                &mkv_acm::acm_tracks(header),
            )),
            Err(e) => {
                if !self.reader.is_aborted() {
                    self.events.send(DecoderEvent::Warning(format!(
                        "could not go on after damaged Matroska data: {e}"
                    )));
                }
                None
            }
        }
    }

    /// Warns when a stream ended well short of the length its container declares: a reader
    /// that gave up on damaged or truncated data says nothing of the audio it dropped. Returns
    /// false when it warned.
    fn check_complete(&self, format: &dyn FormatReader, decoded_seconds: f64) -> bool {
        let Some(declared) = declared_seconds(format) else {
            return true;
        };
        if decoded_seconds < declared * 0.9 - 0.1 {
            self.events.send(DecoderEvent::Warning(format!(
                "the stream ended after {decoded_seconds:.2} s of the {declared:.2} s its header \
                 declares: the rest was truncated or too damaged to read"
            )));
            return false;
        }
        true
    }

    /// Reports a skipped packet; returns false (after an error event) once the damage count
    /// passes `MAX_DAMAGE`.
    fn tolerate_error(&mut self, damage: u32, message: &str) -> bool {
        if let Some(max) = self.settings.max_damage.get()
            && damage > max
        {
            self.flush_converter();
            self.events.send(DecoderEvent::error(
                ErrorKind::Corrupt,
                format!(
                    "too many corrupt packets: {damage} more bad than good ones recently \
                     (max-errors {max}); last: {message}"
                ),
            ));
            return false;
        }
        self.events.send(DecoderEvent::Warning(message.to_string()));
        true
    }

    fn make_decoder(
        &mut self,
        format: &dyn FormatReader,
        edit: Option<&mp4_edit::EditList>,
        no_track_why: Option<String>,
    ) -> Option<(u32, TrackDecoder)> {
        // In a transport stream the unwrapping picked the track, in Ogg our reader did: the
        // reader has that one only.
        let wanted =
            if self.reader.is_ts_unwrapping() || format.format_info().format == FORMAT_ID_OGG {
                0
            } else {
                self.settings.audio_track
            };
        let audio_tracks = || {
            format
                .tracks()
                .iter()
                .filter(|t| t.codec_params.as_ref().and_then(|p| p.audio()).is_some())
        };
        let track = match wanted {
            0 => format.default_track(TrackType::Audio),
            n => audio_tracks().nth(n),
        };
        let params = track.and_then(|t| t.codec_params.as_ref()?.audio());
        let own_params;
        let params = match (track, params) {
            (Some(_), Some(params)) => match self
                .own_opus_head(params, edit)
                .or_else(|| self.own_adts_config(format, params))
            {
                Some(head) => {
                    let mut own = params.clone();
                    own.with_extra_data(head.into_boxed_slice());
                    own_params = own;
                    Some(&own_params)
                }
                None => Some(params),
            },
            (_, params) => params,
        };
        let (Some(track), Some(params)) = (track, params) else {
            let message = match (wanted, no_track_why) {
                (0, Some(why)) => format!("no supported audio format found: {why}"),
                (0, None) => {
                    "no supported audio format found: the stream has no audio track".into()
                }
                (n, _) => format!(
                    "audio-track={n} asks for audio track {n} (counted from 0) but the stream \
                     has {}",
                    audio_tracks().count()
                ),
            };
            self.events
                .send(DecoderEvent::error(ErrorKind::NotAudio, message));
            return None;
        };
        // Some codecs panic on damaged setup headers (Vorbis codebooks, found by fuzzing): that
        // is a damaged stream, not a bug of ours.
        let made = panic::catch_unwind(AssertUnwindSafe(|| {
            // Verification: FLAC checks its decoded audio against the header's MD5.
            let options = AudioDecoderOptions::default().verify(self.settings.verify_checksums);
            coroutine::on_shared_stack(|| TrackDecoder::new(params, &options))
        }));
        let made = match made {
            Ok(made) => made,
            Err(payload) => {
                self.events.send(DecoderEvent::error(
                    ErrorKind::Corrupt,
                    format!(
                        "the codec setup of the {} audio track is damaged: the decoder failed \
                         on it ({})",
                        format.format_info().short_name,
                        panic_message(&*payload)
                    ),
                ));
                return None;
            }
        };
        #[cfg(not(feature = "fdk-aac"))]
        if params.codec == symphonia::core::codecs::audio::well_known::CODEC_ID_AAC {
            self.events.send(DecoderEvent::Warning(
                "this build decodes AAC-LC only (built without the fdk-aac feature): an HE-AAC or \
                 HE-AACv2 stream plays its core band only, at half its rate; build with \
                 `--features fdk-aac` (meson: -Dfdk-aac=enabled) to decode it fully"
                    .into(),
            ));
        }
        match made {
            Ok(decoder) => Some((track.id, decoder)),
            Err(e) => {
                let codec = match crate::codecs::codec_name(params.codec) {
                    Some(name) => format!("{name} (codec {})", params.codec),
                    None => format!("codec {}", params.codec),
                };
                self.events.send(DecoderEvent::error(
                    ErrorKind::NotAudio,
                    format!(
                        "no supported audio format found: the {} audio track holds {codec}, \
                         which this element does not decode ({e})",
                        format.format_info().short_name,
                    ),
                ));
                None
            }
        }
    }
}

/// How long a packet's audio is, by its track's time base (0 when the track has none).
fn packet_seconds(format: &dyn FormatReader, packet: &Packet) -> f64 {
    let time_base = format
        .tracks()
        .iter()
        .find(|track| track.id == packet.track_id)
        .and_then(|track| track.time_base);
    time_base.map_or(0.0, |time_base| {
        packet.dur.get() as f64 * time_base.numer.get() as f64 / time_base.denom.get() as f64
    })
}

/// symphonia's Matroska reader with the tracks it leaves short completed from the stream's
/// head: True Audio's stream parameters and timing, `A_MS/ACM` tracks' codecs (`acm`, read from
/// that head). The same at the start and when a reader is opened again after damage.
fn completed_matroska_tracks<'s>(
    format: Box<dyn FormatReader + 's>,
    head: &[u8],
    acm: &[mkv_acm::AcmTrack],
) -> Box<dyn FormatReader + 's> {
    mkv_acm::with_acm_tracks(mkv_tta::with_tta_tracks(format, head), acm)
}

/// The length of the stream as its container declares it, if it does.
fn declared_seconds(format: &dyn FormatReader) -> Option<f64> {
    let info = format.media_info();
    if let (Some(duration), Some(time_base)) = (info.duration, info.time_base) {
        return Some(
            duration.get() as f64 * time_base.numer.get() as f64 / time_base.denom.get() as f64,
        );
    }
    let track = format.default_track(TrackType::Audio)?;
    let rate = track.codec_params.as_ref()?.audio()?.sample_rate?;
    Some(track.num_frames? as f64 / rate as f64)
}

/// Notices a reader that resynchronised over damaged data without saying so: the packet
/// timestamps jump past where the stream should have gone on.
#[derive(Debug, Default)]
struct GapWatch {
    /// Where the previous packet ended, when packets carry durations.
    expected: Option<i64>,
    last_pts: Option<i64>,
    /// Longest step between packets seen so far, for packets without a duration.
    longest_step: i64,
}

impl GapWatch {
    /// Takes a packet's timestamp and untrimmed duration; returns where the stream should have
    /// continued when it jumped.
    fn check(&mut self, pts: i64, duration: u64) -> Option<i64> {
        let mut jumped_from = None;
        if duration > 0 {
            // Millisecond time bases (Matroska) round by a tick.
            if let Some(expected) = self.expected
                && pts - expected > duration as i64 + 1
            {
                jumped_from = Some(expected);
            }
        } else if let Some(last) = self.last_pts {
            // Matroska blocks without BlockDuration: packet lengths vary (Vorbis blocks by 8×,
            // Opus frames from 2.5 to 60 ms), so only a step far beyond the longest one counts.
            let step = pts - last;
            if self.longest_step > 0 && step > 32 * self.longest_step {
                jumped_from = Some(last + self.longest_step);
            } else {
                self.longest_step = self.longest_step.max(step);
            }
        }
        self.last_pts = Some(pts);
        self.expected = (duration > 0).then_some(pts + duration as i64);
        jumped_from
    }
}

#[cfg(test)]
mod tests;
