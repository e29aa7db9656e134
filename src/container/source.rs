//! The byte source under symphonia's `MediaSourceStream`, and keeping that stream's read-ahead
//! ring from growing resident.
//!
//! `MediaSourceStream` copies what it reads into a ring of at least 64 KiB (symphonia's minimum;
//! 128 KiB once the Ogg reader asks for a page's worth of seek-back) and writes it round and
//! round, so after a few seconds of a live stream every page of it is resident: for one MP3
//! stream, a third of all the memory the element uses. A seek resets the ring to its start. Our
//! own readers keep no position inside the ring once it holds nothing unread, so they "seek" to
//! where they already are at that moment ([`restart_read_ahead`]); the ring then only ever
//! fills its first few pages. In a live stream whose pieces do not line up with what a reader
//! reads, the ring is seldom empty between reads: [`read_restarting`] empties it in the middle
//! of a read instead (Ogg Opus in 20 ms pieces: 200 → 147 KiB resident per stream).
//! [`Unseekable`] accepts exactly that seek and no other, and says it cannot seek, so that no
//! reader tries a real one.

use std::io::{self, Read, Seek, SeekFrom};

use symphonia::core::io::{MediaSource, MediaSourceStream, ReadBytes, SeekBuffered};

/// A forward-only byte source that counts what it has handed out.
pub struct Unseekable<R> {
    inner: R,
    pos: u64,
}

impl<R: Read + Send + Sync> Unseekable<R> {
    pub fn new(inner: R) -> Self {
        Unseekable { inner, pos: 0 }
    }
}

impl<R: Read> Read for Unseekable<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.pos += read as u64;
        Ok(read)
    }
}

impl<R> Seek for Unseekable<R> {
    /// Succeeds only where the source already is.
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match to {
            SeekFrom::Start(pos) if pos == self.pos => Ok(pos),
            SeekFrom::Current(0) => Ok(self.pos),
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the stream cannot seek",
            )),
        }
    }
}

impl<R: Read + Send + Sync> MediaSource for Unseekable<R> {
    fn is_seekable(&self) -> bool {
        false
    }

    fn byte_len(&self) -> Option<u64> {
        None
    }
}

/// Runs `look` on `source`, then puts the source back where it was: a look at what comes next
/// without consuming it (what `look` read stays in the read-ahead ring for the next reader).
pub fn look_ahead<'s, T>(
    source: &mut MediaSourceStream<'s>,
    look: impl FnOnce(&mut MediaSourceStream<'s>) -> T,
) -> T {
    let start = source.pos();
    let seen = look(source);
    source.seek_buffered(start);
    seen
}

/// When `source` holds nothing unread, starts its read-ahead ring over at the ring's first byte
/// (see the module doc). Afterwards nothing read before can be sought back to. Over another
/// source than [`Unseekable`] nothing changes.
pub fn restart_read_ahead(source: &mut MediaSourceStream<'_>) {
    if source.unread_buffer_len() == 0 {
        let pos = source.pos();
        // Fails only over another kind of source: the ring then stays as it is.
        let _ = source.seek(SeekFrom::Start(pos));
    }
}

/// Fills `buf` from `source`: first with what its read-ahead ring holds, then, the ring being
/// empty, with the ring started over ([`restart_read_ahead`]), so that the bytes still to come
/// are written to its first pages again. A reader whose reads span input pieces (a live stream's
/// pieces do not line up with pages or frames) seldom finds the ring empty between reads;
/// written round and round, all 64 KiB of it would be resident within seconds.
pub fn read_restarting(source: &mut MediaSourceStream<'_>, buf: &mut [u8]) -> io::Result<()> {
    let buffered = source.unread_buffer_len().min(buf.len());
    let (held, to_come) = buf.split_at_mut(buffered);
    ReadBytes::read_buf_exact(source, held)?;
    if !to_come.is_empty() {
        restart_read_ahead(source);
        ReadBytes::read_buf_exact(source, to_come)?;
    }
    Ok(())
}

/// [`read_restarting`] for a reader's next packet: false when the stream ends inside it (a cut
/// file or stream: it ends with the packets before).
pub fn read_packet(source: &mut MediaSourceStream<'_>, buf: &mut [u8]) -> io::Result<bool> {
    match read_restarting(source, buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use symphonia::core::io::MediaSourceStreamOptions;

    fn stream(bytes: Vec<u8>) -> MediaSourceStream<'static> {
        MediaSourceStream::new(
            Box::new(Unseekable::new(io::Cursor::new(bytes))),
            MediaSourceStreamOptions::default(),
        )
    }

    #[test]
    fn only_a_seek_to_where_it_is_succeeds() {
        let mut source = Unseekable::new(io::Cursor::new(vec![1u8, 2, 3, 4]));
        let mut two = [0u8; 2];
        source.read_exact(&mut two).unwrap();
        assert_eq!(source.seek(SeekFrom::Start(2)).unwrap(), 2);
        assert_eq!(source.stream_position().unwrap(), 2);
        assert!(source.seek(SeekFrom::Start(0)).is_err());
        assert!(source.seek(SeekFrom::Current(1)).is_err());
        assert!(source.seek(SeekFrom::End(0)).is_err());
        assert!(!source.is_seekable());
        source.read_exact(&mut two).unwrap();
        assert_eq!(two, [3, 4]);
    }

    #[test]
    fn restarting_the_ring_loses_no_byte_and_keeps_positions() {
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut source = stream(bytes.clone());
        let mut out = Vec::new();
        let mut piece = [0u8; 1000];
        while out.len() < bytes.len() {
            restart_read_ahead(&mut source);
            let want = piece.len().min(bytes.len() - out.len());
            source.read_exact(&mut piece[..want]).unwrap();
            out.extend_from_slice(&piece[..want]);
            assert_eq!(source.pos(), out.len() as u64);
        }
        assert_eq!(out, bytes);
    }

    /// A reader that hands out at most `piece` bytes per call, as live input comes in.
    struct Pieces {
        bytes: io::Cursor<Vec<u8>>,
        piece: usize,
    }

    impl Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let len = buf.len().min(self.piece);
            self.bytes.read(&mut buf[..len])
        }
    }

    #[test]
    fn reads_across_pieces_start_the_ring_over_and_lose_no_byte() {
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 13 % 251) as u8).collect();
        let mut source = MediaSourceStream::new(
            Box::new(Unseekable::new(Pieces {
                bytes: io::Cursor::new(bytes.clone()),
                // Reads of 190 bytes over pieces of 160 never find the ring empty between them.
                piece: 160,
            })),
            MediaSourceStreamOptions::default(),
        );
        let mut out = Vec::new();
        let mut read = [0u8; 190];
        while out.len() < bytes.len() {
            let want = read.len().min(bytes.len() - out.len());
            read_restarting(&mut source, &mut read[..want]).unwrap();
            out.extend_from_slice(&read[..want]);
            assert_eq!(source.pos(), out.len() as u64);
            // What was read since the ring last started over: at most this read and the one
            // before (when this one needed no new piece); without restarts, the whole stream.
            assert!(
                source.read_buffer_len() <= 2 * read.len(),
                "the ring holds {} bytes read, at {}",
                source.read_buffer_len(),
                out.len()
            );
        }
        assert_eq!(out, bytes);
    }

    #[test]
    fn unread_bytes_are_kept_and_can_still_be_sought_back() {
        let bytes: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let mut source = stream(bytes.clone());
        assert_eq!(source.read_byte().unwrap(), 0);
        // The ring holds bytes not read yet: no restart, and the byte read can be read again.
        restart_read_ahead(&mut source);
        source.seek_buffered_rev(1);
        let mut all = vec![0u8; bytes.len()];
        source.read_exact(&mut all).unwrap();
        assert_eq!(all, bytes);
    }
}
