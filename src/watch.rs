//! The interface between the byte queue (`stream_buffer`) and the container watchers
//! (`ts_unwrap`, `mkv_watch`, `mpeg_split`, `flac_split`, `mp4_watch`): what a watcher sees of the bytes on
//! their way to the format reader, and what it may decide about them.
//!
//! Before each read the queue shows every active watcher the queued bytes ([`Queue`]), and each
//! answers with an [`Ahead`]: bytes at the read position to drop, how far the reader may read,
//! and whether reads end there (a file boundary, damage) instead of waiting for more bytes. A
//! watcher may also hand out bytes of its own before the stream's (`insert`), and is told of the
//! bytes the reader got for good (`delivered`). Watchers know nothing of the queue's retention,
//! suspension or locking; the queue knows nothing of containers.

use std::collections::VecDeque;
use std::fmt;

/// The queued bytes, as a watcher sees them before a read.
pub struct Queue<'a> {
    /// Every byte queued: those read but kept for replay, then the unread ones.
    bytes: &'a mut VecDeque<u8>,
    /// Stream offset of the first queued byte.
    start: u64,
    /// Stream offset of the next byte the reader gets.
    position: u64,
    /// No more bytes will come.
    closed: bool,
}

impl<'a> Queue<'a> {
    pub fn new(bytes: &'a mut VecDeque<u8>, start: u64, position: u64, closed: bool) -> Self {
        Queue {
            bytes,
            start,
            position,
            closed,
        }
    }

    /// Stream offset of the next byte the reader gets.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Stream offset just past the last byte that has arrived.
    pub fn end(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }

    /// No more bytes will come.
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// The queued bytes from stream offset `offset` on, in one slice (moves the ring buffer's
    /// contents when they wrap). `offset` must not be before the first queued byte.
    pub fn contiguous_from(&mut self, offset: u64) -> &[u8] {
        let from = (offset - self.start) as usize;
        self.bytes.make_contiguous().get(from..).unwrap_or_default()
    }

    /// The queued bytes from stream offset `offset` on, as the ring buffer's two halves.
    pub fn slices_from(&self, offset: u64) -> (&[u8], &[u8]) {
        let from = (offset - self.start) as usize;
        let (front, back) = self.bytes.as_slices();
        if from < front.len() {
            (&front[from..], back)
        } else {
            (back.get(from - front.len()..).unwrap_or_default(), &[])
        }
    }
}

/// A watcher's answer before a read. The watcher has already taken the drop it asks for as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ahead {
    /// The unread bytes before this stream offset are dropped: the reader never gets them. At or
    /// before the read position: nothing is dropped. Never past the bytes that have arrived.
    pub drop_until: u64,
    /// The reader may read up to this stream offset (after the drop); `u64::MAX`: no limit.
    pub read_until: u64,
    /// When the reader is at `read_until`, reads end (`Ok(0)`) instead of waiting for bytes: a
    /// new file starts there, or damage does. The decoder asks the watcher what to do next.
    pub stop: bool,
}

impl Ahead {
    /// Nothing to drop, nothing held back.
    pub const ANY: Ahead = Ahead {
        drop_until: 0,
        read_until: u64::MAX,
        stop: false,
    };

    /// Reads may go up to `read_until`.
    pub fn until(read_until: u64) -> Self {
        Ahead {
            read_until,
            ..Ahead::ANY
        }
    }
}

/// A container's watcher over the bytes on their way to the format reader.
pub trait ByteWatch: fmt::Debug + Send {
    /// Looks at the queued bytes before a read; `queue.position()` is the next byte the reader
    /// gets. Called before every read, so it should only look at bytes it has not seen yet.
    fn ahead(&mut self, queue: &mut Queue<'_>) -> Ahead {
        let _ = queue;
        Ahead::ANY
    }

    /// Bytes of its own to hand to the reader before the next stream bytes: copies up to
    /// `buf.len()` of them into `buf` and returns how many (0: none).
    fn insert(&mut self, buf: &mut [u8]) -> usize {
        let _ = buf;
        0
    }

    /// The reader got these stream bytes for good (not kept for replay), in stream order.
    fn delivered(&mut self, bytes: &[u8]) {
        let _ = bytes;
    }
}

/// Damage that format readers skip without a word, as the watchers saw it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SkippedData {
    /// Times MPEG frame sync was lost and regained inside a file, and bytes skipped to do so.
    pub mpeg_resyncs: u32,
    pub mpeg_bytes: u64,
    /// Damaged Matroska regions, and bytes dropped from their start to the next cluster.
    pub mkv_regions: u32,
    pub mkv_bytes: u64,
    /// Transport stream packets of the audio lost or flagged as damaged, and bytes skipped to
    /// find packet sync again.
    pub ts_packets: u32,
    pub ts_bytes: u64,
    /// Why reads ended before an MP4 fragment.
    pub mp4_refused: Option<String>,
}

/// A byte queue for driving one watcher alone in unit tests, the way `stream_buffer` does.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// What one read gave.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Read {
        /// Bytes for the reader (stream bytes or inserted ones).
        Bytes(Vec<u8>),
        /// Reads end here: the watcher stopped them.
        Stop,
        /// Every byte that may go out went out: the reader would wait for more.
        Wait,
        /// The stream is over.
        End,
    }

    #[derive(Debug, Default)]
    pub struct Feed {
        bytes: VecDeque<u8>,
        start: u64,
        closed: bool,
    }

    impl Feed {
        pub fn push(&mut self, bytes: &[u8]) {
            self.bytes.extend(bytes);
        }

        pub fn close(&mut self) {
            self.closed = true;
        }

        /// Stream offset of the next byte the reader gets.
        pub fn position(&self) -> u64 {
            self.start
        }

        /// One read of at most `max` bytes through `watch`.
        pub fn read(&mut self, watch: &mut dyn ByteWatch, max: usize) -> Read {
            let mut queue = Queue::new(&mut self.bytes, self.start, self.start, self.closed);
            let ahead = watch.ahead(&mut queue);
            if ahead.drop_until > self.start {
                let count = (ahead.drop_until - self.start) as usize;
                self.bytes.drain(..count);
                self.start += count as u64;
            }
            let mut buf = vec![0; max];
            let inserted = watch.insert(&mut buf);
            if inserted > 0 {
                buf.truncate(inserted);
                return Read::Bytes(buf);
            }
            let allowed = ahead.read_until.saturating_sub(self.start);
            let count = (self.bytes.len() as u64).min(allowed).min(max as u64) as usize;
            if count > 0 {
                let out: Vec<u8> = self.bytes.drain(..count).collect();
                self.start += count as u64;
                watch.delivered(&out);
                return Read::Bytes(out);
            }
            if ahead.stop && self.start == ahead.read_until {
                Read::Stop
            } else if self.closed && self.bytes.is_empty() {
                Read::End
            } else {
                Read::Wait
            }
        }

        /// Pushes `bytes` in pieces of `piece`, reading all that may go out after each (64 bytes a
        /// read), then closes the stream. Returns the bytes read and whether reads were stopped.
        pub fn drive(watch: &mut dyn ByteWatch, bytes: &[u8], piece: usize) -> (Vec<u8>, bool) {
            let mut feed = Feed::default();
            let mut out = Vec::new();
            let mut stopped = false;
            for chunk in bytes.chunks(piece) {
                feed.push(chunk);
                let (got, end) = feed.read_run(watch, 64);
                out.extend(got);
                stopped |= end == Read::Stop;
            }
            feed.close();
            let (got, end) = feed.read_run(watch, 64);
            out.extend(got);
            stopped |= end == Read::Stop;
            (out, stopped)
        }

        /// Reads in pieces of at most `max` bytes until a read does not give bytes; returns the
        /// bytes and what ended the run.
        pub fn read_run(&mut self, watch: &mut dyn ByteWatch, max: usize) -> (Vec<u8>, Read) {
            let mut out = Vec::new();
            loop {
                match self.read(watch, max) {
                    Read::Bytes(bytes) => out.extend(bytes),
                    other => return (out, other),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_shows_its_bytes_from_any_offset_across_the_ring_buffer_seam() {
        let mut bytes: VecDeque<u8> = VecDeque::with_capacity(8);
        bytes.extend([0; 6]);
        bytes.drain(..5);
        bytes.extend([1, 2, 3, 4, 5, 6]);
        assert!(
            !bytes.as_slices().1.is_empty(),
            "test needs a wrapped deque"
        );
        let all: Vec<u8> = bytes.iter().copied().collect();
        // The first queued byte is at stream offset 100.
        let mut queue = Queue::new(&mut bytes, 100, 102, false);
        assert_eq!(
            (queue.position(), queue.end(), queue.closed()),
            (102, 107, false)
        );
        for offset in 100..=107 {
            let (front, back) = queue.slices_from(offset);
            assert_eq!([front, back].concat(), all[(offset - 100) as usize..]);
            assert_eq!(
                queue.contiguous_from(offset),
                &all[(offset - 100) as usize..]
            );
        }
    }

    /// A watcher that holds everything back past a fixed offset and stops there.
    #[derive(Debug)]
    struct StopAt(u64);

    impl ByteWatch for StopAt {
        fn ahead(&mut self, _queue: &mut Queue<'_>) -> Ahead {
            Ahead {
                stop: true,
                ..Ahead::until(self.0)
            }
        }
    }

    #[test]
    fn reads_wait_before_a_limit_and_end_at_a_stop() {
        use testing::{Feed, Read};
        let mut feed = Feed::default();
        let mut watch = StopAt(5);
        feed.push(b"abc");
        assert_eq!(feed.read_run(&mut watch, 2), (b"abc".to_vec(), Read::Wait));
        feed.push(b"defgh");
        assert_eq!(feed.read_run(&mut watch, 2), (b"de".to_vec(), Read::Stop));
        watch.0 = u64::MAX;
        feed.close();
        assert_eq!(feed.read_run(&mut watch, 2), (b"fgh".to_vec(), Read::End));
    }
}
