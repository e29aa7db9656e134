//! The byte queue between the element's chain function (the writer) and symphonia's reader,
//! which pulls bytes through `std::io::Read` inside the decoder coroutine (see `coroutine`).
//!
//! When the reader has consumed every byte pushed so far, `read` suspends the coroutine, and the
//! writer's next `resume` (after the next push) lets it go on: the decoder runs on the writer's
//! thread and is in lockstep with its input by construction (DESIGN.md, contract 2).
//!
//! While the decoder is still probing, the bytes it read can be kept and replayed from the start,
//! so a wrong format hint can fall back to probing without losing input.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

use crate::coroutine::Suspender;
use crate::mkv_watch::MatroskaWatch;
use crate::mpeg_split::{MpegSplitter, Step};
use crate::ogg_check::OggPageCheck;

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
    /// Suspends the reading coroutine when it has read everything; none outside a coroutine
    /// (unit tests), where such a read fails with `WouldBlock`.
    suspender: Option<Suspender>,
    total_read: u64,
    /// Stream offset of `bytes[0]`.
    consumed: u64,
    /// Splits concatenated MPEG audio files: reads end at each file boundary.
    splitter: Option<MpegSplitter>,
    /// Stream offset up to which the splitter has assigned bytes to the current file.
    decided_until: u64,
    /// Stream ranges `[start, end)` the splitter found to be no audio (trailing tags): never
    /// handed to the reader. The bytes stay in the queue until then, so every watcher's stream
    /// offsets hold.
    dropped: VecDeque<(u64, u64)>,
    /// A new file starts at `decided_until`.
    boundary: bool,
    /// A copy of the first bytes of the stream, up to `head_limit`, for container details the
    /// format reader does not expose.
    head: Vec<u8>,
    head_limit: usize,
    /// Verifies Ogg pages as they go to the reader, which drops bad ones silently.
    ogg_check: Option<OggPageCheck>,
    /// Checks Matroska structure ahead of the reader, so reads can end before damage, and
    /// finds DiscardPadding, which the reader ignores (see `mkv_watch`).
    mkv: Option<MatroskaWatch>,
    /// Stream offset up to which bytes went to `mkv`.
    mkv_fed_until: u64,
    /// The decoder let go of the reader that ended at Matroska damage: the bytes up to the next
    /// cluster are dropped.
    mkv_damage_passed: bool,
    /// Bytes handed out before the next stream bytes: the cluster header that lets a new
    /// Matroska reader go on at a block after damage.
    inserted: Vec<u8>,
}

impl State {
    /// Stream offset up to which bytes may be handed to the reader, as the watchers see it;
    /// passes over dropped ranges at the read position first.
    fn deliverable_end(&mut self) -> u64 {
        // The splitter first: it may find a range to drop.
        let end = self.mpeg_deliverable_end().min(self.mkv_deliverable_end());
        self.pass_dropped();
        let dropped_from = self.dropped.front().map_or(u64::MAX, |(start, _)| *start);
        end.min(dropped_from)
    }

    /// At a dropped range: discards what of it has arrived, and forgets it once passed.
    fn pass_dropped(&mut self) {
        while let Some(&(start, end)) = self.dropped.front() {
            let position = self.position();
            if position < start {
                return;
            }
            let arrived = self.consumed + self.bytes.len() as u64;
            let to = end.min(arrived);
            if to > position {
                self.discard_unread((to - position) as usize);
            }
            if self.position() < end {
                return;
            }
            self.dropped.pop_front();
        }
    }

    /// Lets the splitter look at the bytes past `decided_until`.
    fn mpeg_deliverable_end(&mut self) -> u64 {
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
                Step::Skip(n) => {
                    let end = self.decided_until + n as u64;
                    self.dropped.push_back((self.decided_until, end));
                    self.decided_until = end;
                }
                Step::NeedMore if self.closed => self.decided_until = u64::MAX,
                Step::NeedMore => break,
            }
        }
        self.decided_until
    }

    /// Lets the Matroska watcher check the bytes it has not seen yet.
    fn feed_mkv(&mut self) {
        let Some(watch) = self.mkv.as_mut() else {
            return;
        };
        let start = (self.mkv_fed_until - self.consumed) as usize;
        let (front, back) = self.bytes.as_slices();
        if start < front.len() {
            watch.observe(&front[start..]);
            watch.observe(back);
        } else {
            watch.observe(&back[start - front.len()..]);
        }
        self.mkv_fed_until = self.consumed + self.bytes.len() as u64;
        if self.closed {
            watch.end_of_stream();
        }
    }

    fn mkv_deliverable_end(&self) -> u64 {
        let Some(watch) = self.mkv.as_ref() else {
            return u64::MAX;
        };
        match watch.damage() {
            Some(damage) if !self.mkv_damage_passed => damage.from,
            // Dropping up to where the stream goes on (`drop_mkv_damage`).
            Some(_) => self.position(),
            None if self.closed => u64::MAX,
            _ => watch.validated_until(),
        }
    }

    /// After Matroska damage, once the decoder let go of the reader that ended there: drops
    /// the bytes from the damage to the next cluster.
    fn drop_mkv_damage(&mut self) {
        if !self.mkv_damage_passed {
            return;
        }
        let position = self.position();
        let data_end = self.consumed + self.bytes.len() as u64;
        let Some((damage, searched)) = self
            .mkv
            .as_ref()
            .and_then(|watch| Some((watch.damage()?, watch.searched_until())))
        else {
            self.mkv_damage_passed = false;
            return;
        };
        let target = match damage.resume_at {
            Some(at) => at,
            // No cluster will come.
            None if self.closed => data_end,
            None => searched,
        };
        let target = target.min(data_end);
        if target > position {
            self.discard_unread((target - position) as usize);
        }
        if damage.resume_at == Some(self.position()) {
            self.mkv_damage_passed = false;
            if let Some(watch) = self.mkv.as_mut() {
                self.inserted = watch.resumed();
            }
        }
    }

    /// Reads end here: Matroska damage starts at the read position.
    fn at_mkv_damage(&self) -> bool {
        !self.mkv_damage_passed
            && self
                .mkv
                .as_ref()
                .and_then(MatroskaWatch::damage)
                .is_some_and(|damage| damage.from == self.position())
    }

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

/// Damage that format readers skip without a word, as the stream buffer's watchers saw it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SkippedData {
    /// Times MPEG frame sync was lost and regained inside a file, and bytes skipped to do so.
    pub mpeg_resyncs: u32,
    pub mpeg_bytes: u64,
    /// Ogg pages whose CRC failed, and bytes skipped to find the next page.
    pub ogg_pages: u32,
    pub ogg_bytes: u64,
    /// Damaged Matroska regions, and bytes dropped from their start to the next cluster.
    pub mkv_regions: u32,
    pub mkv_bytes: u64,
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
                    bytes: VecDeque::new(),
                    read_pos: 0,
                    retain_limit: None,
                    closed: false,
                    aborted: false,
                    suspender: None,
                    total_read: 0,
                    consumed: 0,
                    splitter: None,
                    decided_until: 0,
                    dropped: VecDeque::new(),
                    boundary: false,
                    head: Vec::new(),
                    head_limit: 0,
                    ogg_check: None,
                    mkv: None,
                    mkv_fed_until: 0,
                    mkv_damage_passed: false,
                    inserted: Vec::new(),
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
        state.bytes.extend(data);
    }

    /// Signals the end of the stream: once the buffered bytes are read, reads return `Ok(0)`.
    pub fn close(&self) {
        self.shared.lock().closed = true;
    }

    /// Tears the stream down: pending and future reads fail.
    pub fn abort(&self) {
        let mut state = self.shared.lock();
        state.aborted = true;
        state.bytes.clear();
        state.read_pos = 0;
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
            state.dropped.clear();
        }
        state.boundary = false;
    }

    /// Checks Ogg pages from the next byte read on (see `ogg_check`).
    pub fn set_ogg_check(&self, enabled: bool) {
        self.shared.lock().ogg_check = enabled.then(OggPageCheck::new);
    }

    /// Watches Matroska structure and DiscardPadding from the next unread byte on (see
    /// `mkv_watch`).
    pub fn set_mkv_watch(&self, enabled: bool) {
        let mut state = self.shared.lock();
        let position = state.position();
        state.mkv = enabled.then(|| MatroskaWatch::new(position));
        state.mkv_fed_until = position;
        state.mkv_damage_passed = false;
        state.inserted.clear();
    }

    /// DiscardPadding, in nanoseconds, of the block the packet with this timestamp came from.
    pub fn mkv_padding_for(&self, packet_ts: i64) -> Option<i64> {
        self.shared.lock().mkv.as_mut()?.padding_for(packet_ts)
    }

    /// Stream offset of the first Matroska Cluster: the header is everything before it.
    pub fn mkv_first_cluster(&self) -> Option<u64> {
        self.shared.lock().mkv.as_ref()?.first_cluster()
    }

    /// True when reads end because Matroska damage starts at the read position.
    pub fn at_mkv_damage(&self) -> bool {
        self.shared.lock().at_mkv_damage()
    }

    /// Lets reads go on from the next Matroska cluster after the damage (the bytes before it
    /// are dropped), for a new reader that starts with the saved header.
    pub fn pass_mkv_damage(&self) {
        self.shared.lock().mkv_damage_passed = true;
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
        let (mkv_regions, mkv_bytes) = state
            .mkv
            .as_mut()
            .map_or((0, 0), MatroskaWatch::take_skipped);
        SkippedData {
            mpeg_resyncs,
            mpeg_bytes,
            ogg_pages,
            ogg_bytes,
            mkv_regions,
            mkv_bytes,
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
                .retain_limit
                .is_some_and(|limit| state.read_pos >= limit)
            {
                return Err(io::Error::other("replay limit reached"));
            }
            state.feed_mkv();
            state.drop_mkv_damage();
            if !state.inserted.is_empty() {
                let count = buf.len().min(state.inserted.len());
                buf[..count].copy_from_slice(&state.inserted[..count]);
                state.inserted.drain(..count);
                state.total_read += count as u64;
                return Ok(count);
            }
            let end = state.deliverable_end();
            let position = state.position();
            let available = (state.bytes.len() - state.read_pos) as u64;
            let deliverable = available.min(end.saturating_sub(position));
            if deliverable > 0 {
                break deliverable as usize;
            }
            if state.boundary && position == end {
                // The current file ends here; `pass_boundary` opens the next one.
                return Ok(0);
            }
            if state.at_mkv_damage() {
                // Damage starts here; `pass_mkv_damage` goes on after it.
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
        let (mut bytes, _, blocks) = crate::mkv_watch::tests::stream_with_clusters(2, 6);
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
