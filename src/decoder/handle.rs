//! The caller's side of the decoder: what it asks for ([`DecoderSettings`]), what it gets back
//! ([`DecoderEvent`]), the [`StreamDecoder`] handle that resumes the worker coroutine, and the
//! event queue between the two.

use std::io;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use super::{MAX_DAMAGE, run_worker};
use crate::container::mp4;
use crate::coroutine::{Resumable, Suspender};
use crate::format_hint::ContainerHint;
use crate::stream_buffer::StreamBuffer;
use crate::tags::StreamTag;

/// What the caller wants out.
#[derive(Debug, Clone)]
pub struct DecoderSettings {
    /// Output rate; `None` keeps the stream's rate.
    pub out_rate: Option<u32>,
    /// Output channel count; `None` keeps the stream's channels.
    pub out_channels: Option<usize>,
    /// Container to try before probing.
    pub hint: Option<ContainerHint>,
    /// Most bytes of an MP4 whose index comes last that are held until the index arrives.
    pub mp4_buffer_limit: u64,
    /// Damage (see [`MAX_DAMAGE`]) past which decoding stops with an error.
    pub max_damage: DamageLimit,
    /// Which audio track to decode in a container with several (0: the first).
    pub audio_track: usize,
    /// Check decoded audio against checksums the stream carries (FLAC's MD5 of its audio): a
    /// sixth of FLAC's decoding time, so off unless asked for.
    pub verify_checksums: bool,
    /// Makes the worker panic, to test that a panic becomes an error event.
    #[cfg(test)]
    pub panic_in_worker: bool,
    /// Makes the codec panic on this packet (counted from 0), as symphonia does on some damaged
    /// packets, to test that the packet is skipped and decoding goes on.
    #[cfg(test)]
    pub codec_panic_at_packet: Option<usize>,
}

/// Keep the stream's rate and channels, probe the format.
impl Default for DecoderSettings {
    fn default() -> Self {
        DecoderSettings::new(None, None, None)
    }
}

impl DecoderSettings {
    pub fn new(
        out_rate: Option<u32>,
        out_channels: Option<usize>,
        hint: Option<ContainerHint>,
    ) -> Self {
        DecoderSettings {
            out_rate,
            out_channels,
            hint,
            mp4_buffer_limit: mp4::DEFAULT_BUFFER_LIMIT,
            max_damage: DamageLimit::default(),
            audio_track: 0,
            verify_checksums: false,
            #[cfg(test)]
            panic_in_worker: false,
            #[cfg(test)]
            codec_panic_at_packet: None,
        }
    }
}

/// The damage limit ([`MAX_DAMAGE`]; `None`: never an error), shared by every clone: a change
/// applies at once to a stream being decoded, as GStreamer's `max-errors` does.
#[derive(Debug, Clone)]
pub struct DamageLimit(Arc<AtomicI64>);

impl DamageLimit {
    pub fn new(max: Option<u32>) -> Self {
        let limit = DamageLimit(Arc::new(AtomicI64::new(-1)));
        limit.set(max);
        limit
    }

    pub fn set(&self, max: Option<u32>) {
        self.0.store(max.map_or(-1, i64::from), Ordering::Relaxed);
    }

    pub fn get(&self) -> Option<u32> {
        u32::try_from(self.0.load(Ordering::Relaxed)).ok()
    }
}

impl Default for DamageLimit {
    fn default() -> Self {
        DamageLimit::new(Some(MAX_DAMAGE))
    }
}

/// The format of the PCM that follows, sent before the first PCM of each stream and whenever it
/// changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFormat {
    /// Container as symphonia names it (`mp3`, `ogg`, `wave`, ...).
    pub container: String,
    /// Codec as symphonia names it (`mp3`, `aac`, `opus`, ...).
    pub codec: String,
    pub in_rate: u32,
    pub in_channels: usize,
    pub out_rate: u32,
    pub out_channels: usize,
    /// Positions of the output channels as a WAVEFORMATEXTENSIBLE-style mask (bit 0 front left,
    /// 1 front right, 2 front center, 3 LFE, ...); 0 when unknown or mono.
    pub out_channel_mask: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecoderEvent {
    /// The PCM after this event has this format.
    Format(StreamFormat),
    /// Interleaved S16LE samples.
    Pcm(Vec<u8>),
    /// The first stream's length, as its container declares it (sent once, when known).
    Duration(std::time::Duration),
    /// The stream's average bitrate in bits per second (codec packets, without the container),
    /// measured over its first second or, if shorter, all of it (once per stream).
    Bitrate(u32),
    /// How long after its first byte comes in the stream's first PCM can go out at most,
    /// estimated from its first packet (once per stream, before its first PCM); and the most
    /// any PCM of the stream can come later than its first byte, which is more when later
    /// packets may hold more back than the first (Vorbis's long blocks).
    Latency {
        first: std::time::Duration,
        most: std::time::Duration,
    },
    /// The stream's own tags (ID3, Vorbis comments, MP4 metadata, ...), once per stream that
    /// has any.
    Tags(Vec<StreamTag>),
    /// Something was skipped; decoding goes on.
    Warning(String),
    /// Decoding stopped for good.
    Error(DecoderError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The bytes are not audio symphonia can read (wrong type, unsupported codec).
    NotAudio,
    /// The audio is too damaged to go on.
    Corrupt,
    /// A bug: the decoder panicked.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderError {
    pub kind: ErrorKind,
    pub message: String,
}

impl DecoderEvent {
    pub(super) fn error(kind: ErrorKind, message: String) -> DecoderEvent {
        DecoderEvent::Error(DecoderError { kind, message })
    }
}

/// One stream's decoder. It runs as a coroutine on the caller's thread: `push` resumes it until
/// it has used every byte pushed (DESIGN.md, contract 2). Dropping it aborts the input and lets
/// the decoder wind down.
pub struct StreamDecoder {
    buffer: StreamBuffer,
    events: Arc<Mutex<Events>>,
    worker: Resumable,
    /// Fed bytes the decoder may not have used yet: it stopped to hand out PCM, or was never
    /// resumed since `feed`.
    runnable: bool,
}

/// How many resumes `finish` allows after the end of input before it gives up on the decoder
/// (each resume normally ends the stream or starts the next file of a sequence; resumes that
/// stopped to hand out PCM do not count).
const FINISH_RESUMES: usize = 1024;

/// The decoder stops to hand out its PCM once it holds this much (in ms of output), so that a
/// large input buffer (a whole TTS answer pushed at once) starts sounding after its first packets
/// rather than after all of it, and output buffers stay small.
pub(super) const OUTPUT_CHUNK_MS: u64 = 100;

impl StreamDecoder {
    pub fn start(settings: DecoderSettings) -> io::Result<StreamDecoder> {
        let buffer = StreamBuffer::new();
        let events = Arc::new(Mutex::new(Events::default()));
        let reader = buffer.reader();
        let shared_events = events.clone();
        let worker = Resumable::new(move |suspender| {
            reader.attach(suspender.clone());
            let queue = EventQueue {
                shared: shared_events,
                suspender: Some(suspender),
            };
            run_worker(reader, settings, queue)
        })?;
        Ok(StreamDecoder {
            buffer,
            events,
            worker,
            runnable: false,
        })
    }

    /// Feeds bytes and returns everything they let the decoder produce.
    pub fn push(&mut self, data: &[u8]) -> Vec<DecoderEvent> {
        self.feed(data);
        let mut events = Vec::new();
        while let Some(more) = self.next_events() {
            events.extend(more);
        }
        events
    }

    /// Queues bytes for the decoder; `next_events` then runs it over them.
    pub fn feed(&mut self, data: &[u8]) {
        self.buffer.push(data);
        self.runnable = true;
    }

    /// Runs the decoder until it has used every byte fed so far or stops to hand out PCM
    /// (`OUTPUT_CHUNK_MS`), and returns what it produced; `None` once it has used every byte.
    /// Call it until `None` before feeding more: the caller can push each batch of PCM
    /// downstream before the rest is decoded.
    pub fn next_events(&mut self) -> Option<Vec<DecoderEvent>> {
        if !self.runnable {
            return None;
        }
        self.lock_events().stopped_for_output = false;
        let done = self.worker.resume();
        let (stopped_for_output, events) = {
            let mut events = self.lock_events();
            (
                std::mem::take(&mut events.stopped_for_output),
                std::mem::take(&mut events.queue),
            )
        };
        self.runnable = !done && stopped_for_output;
        Some(events)
    }

    /// Ends the input, lets the decoder drain its codec and resampler, and returns the
    /// remaining events.
    pub fn finish(&mut self) -> Vec<DecoderEvent> {
        self.buffer.close();
        let mut resumes = 0;
        loop {
            if self.worker.resume() {
                break;
            }
            if !std::mem::take(&mut self.lock_events().stopped_for_output) {
                resumes += 1;
            }
            if resumes >= FINISH_RESUMES {
                // A reader that keeps waiting after the end of input is a bug of ours; stop it.
                self.buffer.abort();
                self.worker.wind_down();
                self.lock_events().queue.push(DecoderEvent::error(
                    ErrorKind::Internal,
                    "the decoder did not finish at the end of the input".into(),
                ));
                break;
            }
        }
        self.runnable = false;
        std::mem::take(&mut self.lock_events().queue)
    }

    /// Output frames (at the output rate) that the audio decoded so far will still give: what
    /// the resampler holds. Once `next_events` returned `None`, the PCM the next input gives
    /// starts with these frames, which belong before that input's audio.
    pub fn owed_frames(&self) -> u64 {
        self.lock_events().owed_frames
    }

    /// True once the decoder stopped (end of stream or fatal error): more bytes are ignored.
    pub fn is_finished(&self) -> bool {
        self.worker.is_done()
    }

    fn lock_events(&self) -> std::sync::MutexGuard<'_, Events> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for StreamDecoder {
    fn drop(&mut self) {
        // Reads fail from now on, so the decoder returns at its next resume (`Resumable`'s drop).
        self.buffer.abort();
    }
}

/// Events waiting for the caller, and whether the decoder stopped to hand out PCM.
#[derive(Default)]
pub(super) struct Events {
    queue: Vec<DecoderEvent>,
    stopped_for_output: bool,
    /// Output frames the converter owes for the input it took, as of the last PCM.
    owed_frames: u64,
}

/// The worker's side of the event list. Consecutive PCM is merged into one event so the
/// caller pushes one buffer per chunk of input (or per `OUTPUT_CHUNK_MS`) rather than one per
/// packet.
pub(super) struct EventQueue {
    pub(super) shared: Arc<Mutex<Events>>,
    /// Suspends the worker to hand out PCM; none in tests that run a worker directly.
    pub(super) suspender: Option<Suspender>,
}

impl EventQueue {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Events> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn send(&self, event: DecoderEvent) {
        self.lock().queue.push(event);
    }

    /// Queues PCM, and notes how many output frames the converter still owes for the input it
    /// took (`PcmConverter::frames_owed`); returns the bytes of PCM now waiting at the end of
    /// the queue.
    pub(super) fn send_pcm(&self, pcm: &mut Vec<u8>, owed_frames: u64) -> usize {
        let mut events = self.lock();
        events.owed_frames = owed_frames;
        if pcm.is_empty() {
            return 0;
        }
        if let Some(DecoderEvent::Pcm(last)) = events.queue.last_mut() {
            last.append(pcm);
            last.len()
        } else {
            let len = pcm.len();
            events.queue.push(DecoderEvent::Pcm(std::mem::take(pcm)));
            len
        }
    }

    /// Returns to the caller of `next_events` so it can push the PCM out; decoding goes on at
    /// the next call.
    pub(super) fn stop_for_output(&self) {
        if let Some(suspender) = &self.suspender {
            self.lock().stopped_for_output = true;
            // No lock is held across the suspension (see `coroutine`'s SAFETY argument).
            suspender.suspend();
        }
    }
}
