//! A blocking byte pipe between the element's chain thread (the writer) and the decoder
//! thread (the reader).
//!
//! Symphonia pulls bytes through `std::io::Read`, so the decoder thread blocks here until the
//! chain thread delivers more. The writer can also wait until the reader has consumed everything
//! and is blocked again ("starved") or has finished: that is how the element keeps the decoder in
//! lockstep with its input (DESIGN.md, contract 2).
//!
//! While the decoder is still probing, the bytes it read can be kept and replayed from the start,
//! so a wrong format hint can fall back to probing without losing input.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::mkv_padding::MatroskaPadding;
use crate::mpeg_split::{MpegSplitter, Step};
use crate::ogg_check::OggPageCheck;

/// What the reading side is doing, as seen by the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReaderState {
    /// Working on bytes it has (or has not started reading yet).
    Busy,
    /// Blocked in `read()` because every byte pushed so far has been consumed.
    Starved,
    /// Will not read any more (end of stream reached, error, or thread gone).
    Finished,
}

#[derive(Debug)]
struct State {
    /// Bytes pushed and not yet dropped. `bytes[..read_pos]` were read but are kept for replay.
    bytes: VecDeque<u8>,
    read_pos: usize,
    /// Keep up to this many bytes after they are read so `rewind()` can replay them.
    retain_limit: Option<usize>,
    /// The writer has signalled end of stream.
    closed: bool,
    /// The stream is being torn down: reads fail at once.
    aborted: bool,
    reader: ReaderState,
    total_read: u64,
    /// Stream offset of `bytes[0]`.
    consumed: u64,
    /// Splits concatenated MPEG audio files: reads end at each file boundary.
    splitter: Option<MpegSplitter>,
    /// Stream offset up to which the splitter has assigned bytes to the current file.
    decided_until: u64,
    /// A new file starts at `decided_until`.
    boundary: bool,
    /// A copy of the first bytes of the stream, up to `head_limit`, for container details the
    /// format reader does not expose.
    head: Vec<u8>,
    head_limit: usize,
    /// Verifies Ogg pages as they go to the reader, which drops bad ones silently.
    ogg_check: Option<OggPageCheck>,
    /// Finds Matroska DiscardPadding, which the reader ignores.
    mkv_padding: Option<MatroskaPadding>,
}

impl State {
    /// Lets the splitter look at the bytes past `decided_until`; returns the stream offset up
    /// to which bytes may be handed to the reader.
    fn deliverable_end(&mut self) -> u64 {
        let Some(splitter) = self.splitter.as_mut() else {
            return u64::MAX;
        };
        while !self.boundary {
            let start = (self.decided_until - self.consumed) as usize;
            if start >= self.bytes.len() {
                if self.closed {
                    self.decided_until = u64::MAX;
                }
                break;
            }
            let ahead = &self.bytes.make_contiguous()[start..];
            match splitter.step(ahead) {
                Step::Advance(n) => self.decided_until += n as u64,
                Step::Boundary => self.boundary = true,
                Step::NeedMore if self.closed => self.decided_until = u64::MAX,
                Step::NeedMore => break,
            }
        }
        self.decided_until
    }

    fn drain_read(&mut self, count: usize) {
        self.bytes.drain(..count);
        self.consumed += count as u64;
    }
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Signalled when bytes arrive or the stream is closed/aborted.
    data_ready: Condvar,
    /// Signalled when the reader becomes starved or finishes.
    reader_idle: Condvar,
}

/// The writer's handle. Cloning gives another handle to the same pipe.
#[derive(Debug, Clone)]
pub struct StreamBuffer {
    shared: Arc<Shared>,
}

/// Damage that format readers skip without a word, as the stream buffer's watchers saw it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SkippedData {
    /// Times MPEG frame sync was lost and regained inside a file, and bytes skipped to do so.
    pub mpeg_resyncs: u32,
    pub mpeg_bytes: u64,
    /// Ogg pages whose CRC failed, and bytes skipped to find the next page.
    pub ogg_pages: u32,
    pub ogg_bytes: u64,
}

/// The reader's handle: implements `Read` with the contract symphonia's `ReadOnlySource` needs
/// (block until at least one byte, partial reads, `Ok(0)` only at the end of the stream).
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
                    bytes: VecDeque::new(),
                    read_pos: 0,
                    retain_limit: None,
                    closed: false,
                    aborted: false,
                    reader: ReaderState::Busy,
                    total_read: 0,
                    consumed: 0,
                    splitter: None,
                    decided_until: 0,
                    boundary: false,
                    head: Vec::new(),
                    head_limit: 0,
                    ogg_check: None,
                    mkv_padding: None,
                }),
                data_ready: Condvar::new(),
                reader_idle: Condvar::new(),
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
        state.bytes.extend(data);
        if state.reader == ReaderState::Starved {
            state.reader = ReaderState::Busy;
        }
        drop(state);
        self.shared.data_ready.notify_all();
    }

    /// Signals the end of the stream: once the buffered bytes are read, reads return `Ok(0)`.
    pub fn close(&self) {
        let mut state = self.shared.lock();
        state.closed = true;
        if state.reader == ReaderState::Starved {
            state.reader = ReaderState::Busy;
        }
        drop(state);
        self.shared.data_ready.notify_all();
    }

    /// Tears the stream down: pending and future reads fail, waiting writers return.
    pub fn abort(&self) {
        let mut state = self.shared.lock();
        state.aborted = true;
        state.bytes.clear();
        state.read_pos = 0;
        drop(state);
        self.shared.data_ready.notify_all();
        self.shared.reader_idle.notify_all();
    }

    /// Blocks until the reader has consumed every byte pushed so far and waits for more, or has
    /// finished. Returns `true` if the reader finished.
    pub fn wait_until_idle(&self) -> bool {
        let mut state = self.shared.lock();
        loop {
            if state.aborted || state.reader == ReaderState::Finished {
                return true;
            }
            if state.reader == ReaderState::Starved {
                return false;
            }
            state = self
                .shared
                .reader_idle
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Bytes pushed but not yet read by the decoder.
    pub fn unread_len(&self) -> usize {
        let state = self.shared.lock();
        state.bytes.len() - state.read_pos
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
        state.retain_limit = limit;
        if limit.is_none() {
            let read = state.read_pos;
            state.drain_read(read);
            state.read_pos = 0;
        }
    }

    /// Replays every byte read since retention was turned on.
    pub fn rewind(&self) {
        self.shared.lock().read_pos = 0;
    }

    /// Bytes read and retained for replay.
    pub fn retained_len(&self) -> usize {
        self.shared.lock().read_pos
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

    /// Ends reads at the start of each new MPEG audio file (see `mpeg_split`).
    pub fn set_mpeg_split(&self, enabled: bool) {
        let mut state = self.shared.lock();
        if enabled {
            state.splitter = Some(MpegSplitter::new());
            state.decided_until = state.consumed + state.read_pos as u64;
        } else {
            state.splitter = None;
        }
        state.boundary = false;
    }

    /// Checks Ogg pages from the next byte read on (see `ogg_check`).
    pub fn set_ogg_check(&self, enabled: bool) {
        self.shared.lock().ogg_check = enabled.then(OggPageCheck::new);
    }

    /// Looks for Matroska DiscardPadding from the next byte read on (see `mkv_padding`).
    pub fn set_mkv_padding(&self, enabled: bool) {
        self.shared.lock().mkv_padding = enabled.then(MatroskaPadding::new);
    }

    /// DiscardPadding, in nanoseconds, of the block the packet with this timestamp came from.
    pub fn mkv_padding_for(&self, packet_ts: i64) -> Option<i64> {
        self.shared
            .lock()
            .mkv_padding
            .as_mut()?
            .padding_for(packet_ts)
    }

    /// Damage the byte-level watchers saw since the last call, in one lock: the decoder asks
    /// for every packet.
    pub fn take_damage(&self) -> SkippedData {
        let mut state = self.shared.lock();
        let (mpeg_resyncs, mpeg_bytes) = state
            .splitter
            .as_mut()
            .map_or((0, 0), MpegSplitter::take_damage);
        let (ogg_pages, ogg_bytes) = state
            .ogg_check
            .as_mut()
            .map_or((0, 0), OggPageCheck::take_damage);
        SkippedData {
            mpeg_resyncs,
            mpeg_bytes,
            ogg_pages,
            ogg_bytes,
        }
    }

    /// True when reads end because a new file starts at the read position.
    pub fn at_boundary(&self) -> bool {
        let state = self.shared.lock();
        state.boundary && state.consumed + state.read_pos as u64 == state.decided_until
    }

    /// Lets reads go on into the next file.
    pub fn pass_boundary(&self) {
        let mut state = self.shared.lock();
        state.boundary = false;
        if let Some(splitter) = state.splitter.as_mut() {
            splitter.start_file();
        }
    }

    /// Marks the reader as done, so a writer waiting in `wait_until_idle` returns.
    pub fn finish(&self) {
        let mut state = self.shared.lock();
        state.reader = ReaderState::Finished;
        drop(state);
        self.shared.reader_idle.notify_all();
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
                .retain_limit
                .is_some_and(|limit| state.read_pos >= limit)
            {
                return Err(io::Error::other("replay limit reached"));
            }
            let position = state.consumed + state.read_pos as u64;
            let end = state.deliverable_end();
            let available = (state.bytes.len() - state.read_pos) as u64;
            let deliverable = available.min(end.saturating_sub(position));
            if deliverable > 0 {
                break deliverable as usize;
            }
            if state.boundary && position == end {
                // The current file ends here; `pass_boundary` opens the next one.
                return Ok(0);
            }
            if state.closed && available == 0 {
                return Ok(0);
            }
            if state.reader != ReaderState::Starved {
                state.reader = ReaderState::Starved;
                self.shared.reader_idle.notify_all();
            }
            state = self
                .shared
                .data_ready
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        };
        state.reader = ReaderState::Busy;

        let start = state.read_pos;
        let mut count = buf.len().min(deliverable);
        if let Some(limit) = state.retain_limit {
            count = count.min(limit - start);
        }
        copy_from_deque(&state.bytes, start, &mut buf[..count]);
        // Capture sequential reads only: replays after a rewind are already in the head.
        if state.head.len() < state.head_limit
            && state.head.len() as u64 == state.consumed + start as u64
        {
            let take = count.min(state.head_limit - state.head.len());
            state.head.extend_from_slice(&buf[..take]);
        }
        if state.retain_limit.is_some() {
            // Bytes that may be replayed are not observed yet: they would be seen twice.
            state.read_pos += count;
        } else {
            if let Some(check) = state.ogg_check.as_mut() {
                check.observe(&buf[..count]);
            }
            if let Some(padding) = state.mkv_padding.as_mut() {
                padding.observe(&buf[..count]);
            }
            state.drain_read(count);
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
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters more than stopping the stream, so poisoning is ignored.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::thread;

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

    #[test]
    fn writer_waits_until_reader_starves() {
        let buffer = StreamBuffer::new();
        let mut reader = buffer.reader();
        let consumer = thread::spawn(move || {
            let mut total = 0;
            let mut buf = [0u8; 4];
            loop {
                let n = reader.read(&mut buf).unwrap();
                if n == 0 {
                    break total;
                }
                total += n;
            }
        });
        for chunk in [&b"0123456789"[..], b"ab", b"cdefghijklmnop"] {
            buffer.push(chunk);
            assert!(!buffer.wait_until_idle());
            assert_eq!(buffer.unread_len(), 0);
        }
        buffer.close();
        assert_eq!(consumer.join().unwrap(), 26);
    }

    #[test]
    fn finished_reader_releases_writer() {
        let buffer = StreamBuffer::new();
        let reader = buffer.reader();
        buffer.push(b"data");
        reader.finish();
        assert!(buffer.wait_until_idle());
    }

    #[test]
    fn abort_wakes_blocked_reader() {
        let buffer = StreamBuffer::new();
        let mut reader = buffer.reader();
        let consumer = thread::spawn(move || reader.read(&mut [0u8; 8]));
        // Make sure the reader is blocked before aborting.
        buffer.push(b"");
        thread::sleep(std::time::Duration::from_millis(20));
        buffer.abort();
        assert!(consumer.join().unwrap().is_err());
        assert!(buffer.wait_until_idle());
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
}
