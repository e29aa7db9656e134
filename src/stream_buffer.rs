//! The byte queue between the element's chain function (the writer) and symphonia's reader,
//! which pulls bytes through `std::io::Read` inside the decoder coroutine (see `coroutine`).
//!
//! When the reader has consumed every byte pushed so far, `read` suspends the coroutine, and the
//! writer's next `resume` (after the next push) lets it go on: the decoder runs on the writer's
//! thread and is in lockstep with its input by construction (DESIGN.md, contract 2).
//!
//! While the decoder is still probing, the bytes it read can be kept and replayed from the start,
//! so a wrong format hint can fall back to probing without losing input.
//!
//! Before each read the active container watchers (`ts_unwrap`, `mkv_watch`, `mpeg_split`, `mp4_watch`,
//! `flac_split`) look at the queued bytes through the `watch::ByteWatch` interface and say how far
//! the reader may read, what to drop and where reads end; the queue applies that and knows nothing
//! of containers.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::container::flac_split::FlacWatch;
use crate::container::mkv_watch::MkvWatch;
use crate::container::mp4_watch::Mp4Watch;
use crate::container::mpeg_split::MpegWatch;
use crate::container::ts_unwrap::{TsAudio, TsWatch};
use crate::coroutine::Suspender;
pub use crate::watch::SkippedData;
use crate::watch::{ByteWatch, Queue};

#[derive(Debug)]
struct State {
    queued: Queued,
    /// The writer has signalled end of stream.
    closed: bool,
    /// The stream is being torn down: reads fail at once.
    aborted: bool,
    /// Suspends the reading coroutine when it has read everything; none outside a coroutine
    /// (unit tests), where such a read fails with `WouldBlock`.
    suspender: Option<Suspender>,
    total_read: u64,
    /// The most bytes pushed at once: how much input may arrive together, which a reader that
    /// waits for the bytes after a packet may have to wait for.
    largest_push: usize,
    /// A copy of the first bytes of the stream, up to `head_limit`, for container details the
    /// format reader does not expose.
    head: Vec<u8>,
    head_limit: usize,
    watchers: Watchers,
}

/// The bytes pushed and not yet dropped, and the read position in them.
#[derive(Debug, Default)]
struct Queued {
    /// `bytes[..read_pos]` were read but are kept for replay.
    bytes: VecDeque<u8>,
    read_pos: usize,
    /// Stream offset of `bytes[0]`.
    consumed: u64,
    /// Keep up to this many bytes after they are read so `rewind()` can replay them.
    retain_limit: Option<usize>,
}

impl Queued {
    /// Stream offset of the next byte to read.
    fn position(&self) -> u64 {
        self.consumed + self.read_pos as u64
    }

    /// Skips unread bytes without handing them out.
    fn discard_unread(&mut self, count: usize) {
        if self.retain_limit.is_some() {
            self.read_pos += count;
        } else {
            self.drain_read(count);
        }
    }

    fn drain_read(&mut self, count: usize) {
        self.bytes.drain(..count);
        self.consumed += count as u64;
    }
}

/// The container watchers that see the bytes on their way to the reader (see `watch`); each is
/// switched on while the stream may be of its container.
#[derive(Debug, Default)]
struct Watchers {
    ts: Option<TsWatch>,
    mkv: Option<MkvWatch>,
    mpeg: Option<MpegWatch>,
    flac: Option<FlacWatch>,
    mp4: Option<Mp4Watch>,
}

/// Most watchers at once.
const WATCHERS: usize = 5;

impl Watchers {
    /// The active watchers, in the order they look at the bytes: Matroska's first, as bytes it
    /// inserts go out before the others look. While a transport stream is unwrapped the queue
    /// holds its packets, not the audio the others watch for: they sit out.
    fn active(&mut self) -> impl Iterator<Item = &mut dyn ByteWatch> {
        let unwrapping = self.ts.as_ref().is_some_and(TsWatch::is_unwrapping);
        let others = !unwrapping;
        let ts = self.ts.as_mut().map(|w| w as &mut dyn ByteWatch);
        let mkv = self.mkv.as_mut().filter(|_| others);
        let mpeg = self.mpeg.as_mut().filter(|_| others);
        let flac = self.flac.as_mut().filter(|_| others);
        let mp4 = self.mp4.as_mut().filter(|_| others);
        [
            ts,
            mkv.map(|w| w as &mut dyn ByteWatch),
            mpeg.map(|w| w as &mut dyn ByteWatch),
            flac.map(|w| w as &mut dyn ByteWatch),
            mp4.map(|w| w as &mut dyn ByteWatch),
        ]
        .into_iter()
        .flatten()
    }
}

/// What the watchers decided before a read.
enum Watched {
    /// One of them put this many bytes of its own into the read buffer.
    Inserted(usize),
    /// The reader may read up to `read_until`; reads end at each offset in `stops`.
    Limit {
        read_until: u64,
        stops: [Option<u64>; WATCHERS],
    },
}

impl State {
    /// Shows the watchers the queue, in order, and drops the bytes they ask to drop.
    fn consult_watchers(&mut self, buf: &mut [u8]) -> Watched {
        let State {
            queued,
            watchers,
            closed,
            ..
        } = self;
        let mut read_until = u64::MAX;
        let mut stops = [None; WATCHERS];
        for (watch, stop) in watchers.active().zip(&mut stops) {
            let position = queued.position();
            let mut queue = Queue::new(&mut queued.bytes, queued.consumed, position, *closed);
            let ahead = watch.ahead(&mut queue);
            if ahead.drop_until > position {
                queued.discard_unread((ahead.drop_until - position) as usize);
            }
            let inserted = watch.insert(buf);
            if inserted > 0 {
                return Watched::Inserted(inserted);
            }
            read_until = read_until.min(ahead.read_until);
            *stop = ahead.stop.then_some(ahead.read_until);
        }
        Watched::Limit { read_until, stops }
    }

    /// Stream offset of the next byte to read.
    fn position(&self) -> u64 {
        self.queued.position()
    }
}

/// The writer and the reader run on one thread, one at a time (the reader inside the
/// coroutine the writer resumes), so this lock is never contended. It is there because
/// symphonia requires its sources to be `Send + Sync`; parking_lot's costs one atomic operation
/// each way and has no poisoning to handle after a codec panic.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
}

/// The writer's handle. Cloning gives another handle to the same pipe.
#[derive(Debug, Clone)]
pub struct StreamBuffer {
    shared: Arc<Shared>,
}

/// The reader's handle: implements `Read` with the contract symphonia's `ReadOnlySource` needs
/// (at least one byte per call, waiting by suspending the coroutine; partial reads; `Ok(0)` only
/// at the end of the stream).
#[derive(Debug, Clone)]
pub struct StreamReader {
    shared: Arc<Shared>,
}

impl Default for StreamBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamBuffer {
    pub fn new() -> Self {
        StreamBuffer {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    queued: Queued::default(),
                    closed: false,
                    aborted: false,
                    suspender: None,
                    total_read: 0,
                    largest_push: 0,
                    head: Vec::new(),
                    head_limit: 0,
                    watchers: Watchers::default(),
                }),
            }),
        }
    }

    pub fn reader(&self) -> StreamReader {
        StreamReader {
            shared: self.shared.clone(),
        }
    }

    /// Appends bytes for the reader. Ignored after `close()` or `abort()`.
    pub fn push(&self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut state = self.shared.lock();
        if state.closed || state.aborted {
            return;
        }
        state.queued.bytes.extend(data);
        state.largest_push = state.largest_push.max(data.len());
    }

    /// Signals the end of the stream: once the buffered bytes are read, reads return `Ok(0)`.
    pub fn close(&self) {
        self.shared.lock().closed = true;
    }

    /// Tears the stream down: pending and future reads fail.
    pub fn abort(&self) {
        let mut state = self.shared.lock();
        state.aborted = true;
        state.queued.bytes.clear();
        state.queued.read_pos = 0;
    }

    /// Bytes pushed but not yet read by the decoder.
    pub fn unread_len(&self) -> usize {
        let state = self.shared.lock();
        state.queued.bytes.len() - state.queued.read_pos
    }

    /// Bytes handed to the decoder since the stream started, replays included.
    pub fn total_read(&self) -> u64 {
        self.shared.lock().total_read
    }
}

impl StreamReader {
    /// Keep (`Some(limit)`) or stop keeping (`None`) bytes after they are read, so they can be
    /// replayed by `rewind()`. Reads fail once `limit` bytes are retained: that bounds how much
    /// input a speculative reader may consume. Turning retention off drops what was read.
    pub fn set_retain(&self, limit: Option<usize>) {
        let mut state = self.shared.lock();
        let queued = &mut state.queued;
        queued.retain_limit = limit;
        if limit.is_none() {
            let read = queued.read_pos;
            queued.drain_read(read);
            queued.read_pos = 0;
        }
    }

    /// Replays every byte read since retention was turned on.
    pub fn rewind(&self) {
        self.shared.lock().queued.read_pos = 0;
    }

    /// Bytes read and retained for replay.
    pub fn retained_len(&self) -> usize {
        self.shared.lock().queued.read_pos
    }

    /// Keeps a copy of the first `limit` bytes of the stream as they are read.
    pub fn capture_head(&self, limit: usize) {
        let mut state = self.shared.lock();
        state.head.clear();
        state.head_limit = limit;
    }

    /// Stops capturing and returns the bytes captured.
    pub fn take_head(&self) -> Vec<u8> {
        let mut state = self.shared.lock();
        state.head_limit = 0;
        std::mem::take(&mut state.head)
    }

    /// Stops capturing and returns the bytes captured if they are every byte read so far (no
    /// byte was dropped by a watcher or went past the limit), so that the captured bytes and
    /// the unread ones are the whole stream.
    pub fn take_whole_head(&self) -> Option<Vec<u8>> {
        let mut state = self.shared.lock();
        state.head_limit = 0;
        let head = std::mem::take(&mut state.head);
        let read = state.queued.consumed + state.queued.read_pos as u64;
        (head.len() as u64 == read).then_some(head)
    }

    /// Ends reads at the start of each new MPEG audio file from the next unread byte on (see
    /// `mpeg_split`).
    pub fn set_mpeg_split(&self, enabled: bool) {
        let mut state = self.shared.lock();
        let position = state.position();
        state.watchers.mpeg = enabled.then(|| MpegWatch::new(position));
    }

    /// Ends reads where a FLAC stream's frames change format, from the next unread byte on, which
    /// must be the stream's start (see `flac_split`).
    pub fn set_flac_split(&self, enabled: bool) {
        let mut state = self.shared.lock();
        let position = state.position();
        state.watchers.flac = enabled.then(|| FlacWatch::new(position));
    }

    /// Unwraps the audio of an MPEG transport stream, from the next unread byte on, which must
    /// be the stream's start (see `ts_unwrap`).
    pub fn set_ts_unwrap(&self, enabled: bool, audio_track: usize) {
        let mut state = self.shared.lock();
        let position = state.position();
        state.watchers.ts = enabled.then(|| TsWatch::new(position, audio_track));
    }

    /// See [`MpegWatch::adts_config_unless_lc`].
    pub fn adts_config_unless_lc(&self) -> Option<[u8; 2]> {
        let state = self.shared.lock();
        state.watchers.mpeg.as_ref()?.adts_config_unless_lc()
    }

    /// The reader gets the audio unwrapped from a transport stream.
    pub fn is_ts_unwrapping(&self) -> bool {
        let state = self.shared.lock();
        state
            .watchers
            .ts
            .as_ref()
            .is_some_and(TsWatch::is_unwrapping)
    }

    /// The codec of the audio unwrapped from a transport stream, once its program map is read.
    pub fn ts_audio(&self) -> Option<TsAudio> {
        let state = self.shared.lock();
        state.watchers.ts.as_ref()?.audio()
    }

    /// A transport stream with no audio the element decodes: what it holds instead.
    pub fn ts_problem(&self) -> Option<String> {
        let state = self.shared.lock();
        state.watchers.ts.as_ref()?.problem().map(str::to_owned)
    }

    /// The most bytes pushed at once so far.
    pub fn largest_push(&self) -> usize {
        self.shared.lock().largest_push
    }

    /// Checks MP4 fragments before the reader reads them, from the next unread byte on (see
    /// `mp4_watch`).
    pub fn set_mp4_watch(&self, enabled: bool) {
        let mut state = self.shared.lock();
        let position = state.position();
        state.watchers.mp4 = enabled.then(|| Mp4Watch::new(position));
    }

    /// Why reads end before an MP4 fragment, if they do (see `mp4_watch`).
    pub fn mp4_refusal(&self) -> Option<String> {
        let state = self.shared.lock();
        state.watchers.mp4.as_ref()?.refusal().map(str::to_owned)
    }

    /// Watches Matroska structure and DiscardPadding from the next unread byte on (see
    /// `mkv_watch`).
    pub fn set_mkv_watch(&self, enabled: bool) {
        let mut state = self.shared.lock();
        let position = state.position();
        state.watchers.mkv = enabled.then(|| MkvWatch::new(position));
    }

    /// DiscardPadding, in nanoseconds, of the block the packet with this timestamp came from.
    pub fn mkv_padding_for(&self, packet_ts: i64) -> Option<i64> {
        self.shared
            .lock()
            .watchers
            .mkv
            .as_mut()?
            .padding_for(packet_ts)
    }

    /// The Matroska track's CodecDelay in nanoseconds (`None` without the Matroska watcher).
    pub fn mkv_codec_delay_ns(&self) -> Option<u64> {
        let state = self.shared.lock();
        state.watchers.mkv.as_ref().map(MkvWatch::codec_delay_ns)
    }

    /// Stream offset of the first Matroska Cluster: the header is everything before it.
    pub fn mkv_first_cluster(&self) -> Option<u64> {
        self.shared.lock().watchers.mkv.as_ref()?.first_cluster()
    }

    /// True when reads end because Matroska damage starts at the read position.
    pub fn at_mkv_damage(&self) -> bool {
        let state = self.shared.lock();
        let position = state.position();
        state
            .watchers
            .mkv
            .as_ref()
            .is_some_and(|mkv| mkv.at_damage(position))
    }

    /// Lets reads go on from the next Matroska cluster after the damage (the bytes before it
    /// are dropped), for a new reader that starts with the saved header.
    pub fn pass_mkv_damage(&self) {
        if let Some(mkv) = self.shared.lock().watchers.mkv.as_mut() {
            mkv.pass_damage();
        }
    }

    /// Damage the byte-level watchers saw since the last call, in one lock: the decoder asks
    /// for every packet.
    pub fn take_damage(&self) -> SkippedData {
        let mut state = self.shared.lock();
        let watchers = &mut state.watchers;
        let (mpeg_resyncs, mpeg_bytes) = watchers
            .mpeg
            .as_mut()
            .map_or((0, 0), MpegWatch::take_damage);
        let (mkv_regions, mkv_bytes) = watchers.mkv.as_mut().map_or((0, 0), MkvWatch::take_skipped);
        let (ts_packets, ts_bytes) = watchers.ts.as_mut().map_or((0, 0), TsWatch::take_damage);
        let mp4_refused = watchers.mp4.as_mut().and_then(Mp4Watch::take_damage);
        SkippedData {
            mpeg_resyncs,
            mpeg_bytes,
            mkv_regions,
            mkv_bytes,
            ts_packets,
            ts_bytes,
            mp4_refused,
        }
    }

    /// True when reads end because a new file (MPEG audio) or new frame format (FLAC) starts
    /// at the read position.
    pub fn at_boundary(&self) -> bool {
        let state = self.shared.lock();
        let position = state.position();
        let watchers = &state.watchers;
        watchers
            .mpeg
            .as_ref()
            .is_some_and(|mpeg| mpeg.at_boundary(position))
            || watchers
                .flac
                .as_ref()
                .is_some_and(|flac| flac.at_boundary(position))
    }

    /// Lets reads go on into the next file.
    pub fn pass_boundary(&self) {
        let mut state = self.shared.lock();
        if let Some(mpeg) = state.watchers.mpeg.as_mut() {
            mpeg.pass_boundary();
        }
        if let Some(flac) = state.watchers.flac.as_mut() {
            flac.pass_boundary();
        }
    }

    /// Lets reads wait for bytes by suspending the coroutine they run in.
    pub fn attach(&self, suspender: Suspender) {
        self.shared.lock().suspender = Some(suspender);
    }

    pub fn is_aborted(&self) -> bool {
        self.shared.lock().aborted
    }
}

impl io::Read for StreamReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut state = self.shared.lock();
        let deliverable = loop {
            if state.aborted {
                return Err(io::Error::other("stream aborted"));
            }
            if state
                .queued
                .retain_limit
                .is_some_and(|limit| state.queued.read_pos >= limit)
            {
                return Err(io::Error::other("replay limit reached"));
            }
            let (read_until, stops) = match state.consult_watchers(buf) {
                Watched::Inserted(count) => {
                    state.total_read += count as u64;
                    return Ok(count);
                }
                Watched::Limit { read_until, stops } => (read_until, stops),
            };
            let position = state.position();
            let available = (state.queued.bytes.len() - state.queued.read_pos) as u64;
            let deliverable = available.min(read_until.saturating_sub(position));
            if deliverable > 0 {
                break deliverable as usize;
            }
            if stops.contains(&Some(position)) {
                // A new file or damage starts here; the decoder lets a watcher go on.
                return Ok(0);
            }
            if state.closed && available == 0 {
                return Ok(0);
            }
            // Every byte pushed so far is consumed: wait for the next push, unlocked.
            let Some(suspender) = state.suspender.clone() else {
                return Err(io::ErrorKind::WouldBlock.into());
            };
            MutexGuard::unlocked(&mut state, || suspender.suspend());
        };

        let state = &mut *state;
        let start = state.queued.read_pos;
        let mut count = buf.len().min(deliverable);
        if let Some(limit) = state.queued.retain_limit {
            count = count.min(limit - start);
        }
        copy_from_deque(&state.queued.bytes, start, &mut buf[..count]);
        // Capture sequential reads only: replays after a rewind are already in the head.
        if state.head.len() < state.head_limit
            && state.head.len() as u64 == state.queued.consumed + start as u64
        {
            let take = count.min(state.head_limit - state.head.len());
            state.head.extend_from_slice(&buf[..take]);
        }
        if state.queued.retain_limit.is_some() {
            // Bytes that may be replayed are not delivered yet: watchers would see them twice.
            state.queued.read_pos += count;
        } else {
            for watch in state.watchers.active() {
                watch.delivered(&buf[..count]);
            }
            state.queued.drain_read(count);
        }
        state.total_read += count as u64;
        Ok(count)
    }
}

/// Copies `dst.len()` bytes starting at `start` out of a ring buffer's two halves.
fn copy_from_deque(bytes: &VecDeque<u8>, start: usize, dst: &mut [u8]) {
    let (front, back) = bytes.as_slices();
    if start >= front.len() {
        let offset = start - front.len();
        dst.copy_from_slice(&back[offset..offset + dst.len()]);
    } else {
        let from_front = (front.len() - start).min(dst.len());
        dst[..from_front].copy_from_slice(&front[start..start + from_front]);
        let from_back = dst.len() - from_front;
        dst[from_front..].copy_from_slice(&back[..from_back]);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coroutine::Resumable;
    use std::io::Read;

    #[test]
    fn reads_what_was_pushed_then_ends() {
        let buffer = StreamBuffer::new();
        let mut reader = buffer.reader();
        buffer.push(b"hello ");
        buffer.push(b"world");
        buffer.close();
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        assert_eq!(out, "hello world");
        assert_eq!(buffer.total_read(), 11);
    }

    #[test]
    fn partial_reads_never_exceed_available() {
        let buffer = StreamBuffer::new();
        let mut reader = buffer.reader();
        buffer.push(b"abc");
        let mut buf = [0u8; 16];
        assert_eq!(reader.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], b"abc");
    }

    /// Runs `body` on `reader` in a coroutine, as the decoder does; its result lands in the slot.
    fn reading_coroutine<T: Send + 'static>(
        reader: StreamReader,
        body: impl FnOnce(StreamReader) -> T + Send + 'static,
    ) -> (Resumable, Arc<Mutex<Option<T>>>) {
        let slot = Arc::new(Mutex::new(None));
        let result = slot.clone();
        let resumable = Resumable::new(move |suspender| {
            reader.attach(suspender);
            *result.lock() = Some(body(reader));
        })
        .unwrap();
        (resumable, slot)
    }

    #[test]
    fn reader_suspends_when_everything_is_consumed() {
        let buffer = StreamBuffer::new();
        let (mut coroutine, total) = reading_coroutine(buffer.reader(), |mut reader| {
            let mut total = 0;
            let mut buf = [0u8; 4];
            loop {
                match reader.read(&mut buf).unwrap() {
                    0 => break total,
                    n => total += n,
                }
            }
        });
        for chunk in [&b"0123456789"[..], b"ab", b"cdefghijklmnop"] {
            buffer.push(chunk);
            assert!(!coroutine.resume(), "suspended, waiting for more");
            assert_eq!(buffer.unread_len(), 0, "everything pushed was read");
        }
        buffer.close();
        assert!(coroutine.resume(), "the end of the stream ends the reader");
        assert_eq!(*total.lock(), Some(26));
    }

    #[test]
    fn a_read_outside_a_coroutine_would_block() {
        let buffer = StreamBuffer::new();
        let mut reader = buffer.reader();
        let error = reader.read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn abort_fails_a_suspended_read() {
        let buffer = StreamBuffer::new();
        let (mut coroutine, result) = reading_coroutine(buffer.reader(), |mut reader| {
            reader.read(&mut [0u8; 8]).is_err()
        });
        assert!(!coroutine.resume(), "nothing pushed: the read waits");
        buffer.abort();
        assert!(coroutine.resume());
        assert_eq!(*result.lock(), Some(true));
    }

    #[test]
    fn reads_end_at_mpeg_file_boundaries() {
        // Two "files" of two MPEG-1 layer III frames each, the second starting with an ID3 tag.
        let frame = |fill: u8| {
            let mut f = vec![fill; 417];
            f[..4].copy_from_slice(&[0xff, 0xfb, 0x90, 0x00]);
            f
        };
        let first = [frame(1), frame(2)].concat();
        let second = [
            b"ID3\x04\x00\x00\x00\x00\x00\x02ab".to_vec(),
            frame(3),
            frame(4),
        ]
        .concat();
        let buffer = StreamBuffer::new();
        let mut reader = buffer.reader();
        reader.set_mpeg_split(true);
        buffer.push(&first);
        buffer.push(&second);
        buffer.close();
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, first);
        assert!(reader.at_boundary());
        reader.pass_boundary();
        out.clear();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, second);
    }

    #[test]
    fn copies_across_the_ring_buffer_seam() {
        let mut deque: VecDeque<u8> = VecDeque::with_capacity(8);
        deque.extend([0, 0, 0, 0, 0, 0]);
        deque.drain(..5);
        deque.extend([1, 2, 3, 4, 5, 6]);
        let (front, back) = deque.as_slices();
        assert!(
            !front.is_empty() && !back.is_empty(),
            "test needs a wrapped deque"
        );
        for start in 0..deque.len() {
            let mut dst = vec![9u8; deque.len() - start];
            copy_from_deque(&deque, start, &mut dst);
            let expected: Vec<u8> = deque.iter().skip(start).copied().collect();
            assert_eq!(dst, expected, "start {start}");
        }
    }

    #[test]
    fn rewind_replays_retained_bytes() {
        let buffer = StreamBuffer::new();
        let mut reader = buffer.reader();
        reader.set_retain(Some(6));
        buffer.push(b"RIFFdata");
        let mut buf = [0u8; 4];
        reader.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"RIFF");
        assert_eq!(reader.retained_len(), 4);
        reader.read_exact(&mut buf[..2]).unwrap();
        assert!(reader.read(&mut buf).is_err(), "limit of 6 retained bytes");
        reader.rewind();
        reader.set_retain(None);
        let mut all = [0u8; 8];
        reader.read_exact(&mut all).unwrap();
        assert_eq!(&all, b"RIFFdata");
        assert_eq!(buffer.unread_len(), 0);
        buffer.push(b"more");
        reader.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"more");
    }

    /// Reads until `Ok(0)`.
    fn read_until_end(reader: &mut StreamReader) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 5];
        loop {
            match reader.read(&mut buf).unwrap() {
                0 => return out,
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[test]
    fn matroska_damage_ends_reads_then_they_go_on_after_it() {
        let (mut bytes, _, blocks) = crate::container::mkv_watch::tests::stream_with_clusters(2, 6);
        let from = blocks[1] as usize;
        bytes[from..from + 80].fill(0);
        let resume = blocks[3] as usize;
        for chunk in [1, 7, bytes.len()] {
            let buffer = StreamBuffer::new();
            let reader = buffer.reader();
            reader.set_mkv_watch(true);
            // The decoder's side: read to the damage, let go, read the rest.
            let (mut decoder, result) = reading_coroutine(reader, |mut reader| {
                let before = read_until_end(&mut reader);
                assert!(reader.at_mkv_damage());
                reader.pass_mkv_damage();
                let after = read_until_end(&mut reader);
                (before, after, reader.take_damage())
            });
            for part in bytes.chunks(chunk) {
                buffer.push(part);
                decoder.resume();
            }
            buffer.close();
            assert!(decoder.resume());
            let (before, after, skipped) = result.lock().take().unwrap();
            assert_eq!(before, bytes[..from], "chunk {chunk}");
            // A cluster header with the cluster's timestamp (0), then the fourth block on.
            let mut expected = vec![0x1F, 0x43, 0xB6, 0x75, 0xFF, 0xE7, 0x88];
            expected.extend(0u64.to_be_bytes());
            expected.extend(&bytes[resume..]);
            assert_eq!(after, expected, "chunk {chunk}");
            assert_eq!(
                (skipped.mkv_regions, skipped.mkv_bytes),
                (1, (resume - from) as u64)
            );
        }
    }
}
