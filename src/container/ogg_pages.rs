//! Ogg pages (RFC 3533) read from a byte stream, handing out each packet of the followed
//! logical stream as soon as its last byte is in.
//!
//! Written here, rather than read with symphonia's Ogg reader, because that reader hands a
//! page's packets out only once the whole page is in: with the one-second pages ffmpeg and
//! libopusenc write, the first sound came a second late and a live pipeline had to report a
//! second of latency. A page's lacing values come first, so where each packet ends is known
//! before its bytes arrive. The checksum covers the whole page, so it is verified when the page
//! ends: the packets before the last one have gone out by then, and a failure drops what is
//! left of the page (the packet that ends it, or the start of one continued on the next page).

use std::io;

use symphonia::core::io::{MediaSourceStream, ReadBytes};

use super::source::{read_restarting, restart_read_ahead};

/// Bytes of a page header before its lacing values.
const HEADER_LEN: usize = 27;
/// The longest packet kept: larger ones (which no audio codec writes; an OpusTags with cover art
/// can come close) are read past and dropped, so a damaged lacing run cannot take memory.
const MAX_PACKET: usize = 8 << 20;

/// A page header and its lacing values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageHeader {
    /// The header and lacing values as read, with the checksum field as stored.
    raw: Vec<u8>,
}

impl PageHeader {
    fn lacing(&self) -> &[u8] {
        &self.raw[HEADER_LEN..]
    }

    /// The page's first packet continues one from the previous page.
    pub fn continued(&self) -> bool {
        self.raw[5] & 0x01 != 0
    }

    /// The first page of a logical stream.
    pub fn first(&self) -> bool {
        self.raw[5] & 0x02 != 0
    }

    /// The last page of a logical stream.
    pub fn last(&self) -> bool {
        self.raw[5] & 0x04 != 0
    }

    /// The granule position after the last packet that ends on this page; `None` (-1 in the
    /// stream) when no packet ends on it.
    pub fn granule(&self) -> Option<u64> {
        Self::granule_of(&self.raw)
    }

    /// The granule position in the page (or page header) `page`.
    pub fn granule_of(page: &[u8]) -> Option<u64> {
        let granule = u64::from_le_bytes(page.get(6..14)?.try_into().ok()?);
        (granule != u64::MAX).then_some(granule)
    }

    pub fn serial(&self) -> u32 {
        u32::from_le_bytes(self.raw[14..18].try_into().expect("4 bytes"))
    }

    pub fn sequence(&self) -> u32 {
        u32::from_le_bytes(self.raw[18..22].try_into().expect("4 bytes"))
    }

    fn stored_crc(&self) -> u32 {
        u32::from_le_bytes(self.raw[22..26].try_into().expect("4 bytes"))
    }

    fn body_len(&self) -> u64 {
        self.lacing().iter().map(|&l| u64::from(l)).sum()
    }

    /// The header and lacing values as they were in the stream.
    pub fn into_bytes(self) -> Vec<u8> {
        self.raw
    }
}

/// What [`PageReader::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// A page of the followed stream begins; `junk` bytes before it were not a page.
    Page { header: PageHeader, junk: u64 },
    /// A packet of that page is whole (the last one of a page only once its checksum passed).
    Packet(Vec<u8>),
    /// The page's checksum failed: whatever of it was not handed out yet is dropped.
    Damaged,
    /// The stream ended (a page or packet cut short at the end is dropped).
    End,
}

/// The page being read.
#[derive(Debug)]
struct OpenPage {
    header: PageHeader,
    /// The next lacing value to read.
    segment: usize,
    /// The checksum of what has been read of the page.
    crc: u32,
    /// The page continues a packet whose start was lost: its first packet is dropped.
    drop_first: bool,
    /// The packet that ends the page, held until the checksum is verified.
    last_packet: Option<Vec<u8>>,
}

/// Reads the pages of one logical stream at a time, packet by packet.
#[derive(Debug, Default)]
pub struct PageReader {
    page: Option<OpenPage>,
    /// A packet continued on the next page: its bytes so far.
    partial: Vec<u8>,
    /// `partial` grew past [`MAX_PACKET`]: the packet is dropped where it ends.
    oversized: bool,
}

impl PageReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next event of a page `follow` accepts; pages it refuses (other logical streams) are
    /// read past whole. Packets split across pages are joined within the followed pages.
    pub fn next(
        &mut self,
        source: &mut MediaSourceStream<'_>,
        follow: impl Fn(&PageHeader) -> bool,
    ) -> io::Result<Event> {
        loop {
            let Some(page) = &mut self.page else {
                restart_read_ahead(source);
                let Some((header, junk)) = read_header(source)? else {
                    return Ok(Event::End);
                };
                if !follow(&header) {
                    if !skip(source, header.body_len())? {
                        return Ok(Event::End);
                    }
                    continue;
                }
                let drop_first = header.continued() && self.partial.is_empty();
                if !header.continued() {
                    // A packet left unfinished by a lost page.
                    self.partial.clear();
                    self.oversized = false;
                }
                let mut zeroed = header.raw.clone();
                zeroed[22..26].fill(0);
                self.page = Some(OpenPage {
                    crc: crc_update(0, &zeroed),
                    header: header.clone(),
                    segment: 0,
                    drop_first,
                    last_packet: None,
                });
                return Ok(Event::Page { header, junk });
            };
            let lacing = page.header.lacing();
            if page.segment == lacing.len() {
                let page = self.page.take().expect("a page is open");
                if page.crc != page.header.stored_crc() {
                    self.partial.clear();
                    self.oversized = false;
                    return Ok(Event::Damaged);
                }
                match page.last_packet {
                    Some(packet) => return Ok(Event::Packet(packet)),
                    None => continue,
                }
            }
            // The lacing values of the next packet, or of the rest of the page if it goes on.
            let run = lacing[page.segment..]
                .iter()
                .position(|&l| l < 255)
                .map_or(lacing.len() - page.segment, |end| end + 1);
            let len: usize = lacing[page.segment..page.segment + run]
                .iter()
                .map(|&l| usize::from(l))
                .sum();
            let ends_packet = lacing[page.segment + run - 1] < 255;
            page.segment += run;
            let keep =
                !page.drop_first && !self.oversized && self.partial.len() + len <= MAX_PACKET;
            if keep {
                let start = self.partial.len();
                self.partial.resize(start + len, 0);
                if !read_fully(source, &mut self.partial[start..])? {
                    self.page = None;
                    return Ok(Event::End);
                }
                page.crc = crc_update(page.crc, &self.partial[start..]);
            } else {
                self.oversized |= !page.drop_first;
                self.partial.clear();
                if !skip_with_crc(source, len, &mut page.crc)? {
                    self.page = None;
                    return Ok(Event::End);
                }
            }
            if !ends_packet {
                continue;
            }
            let dropped = page.drop_first || self.oversized;
            page.drop_first = false;
            self.oversized = false;
            let packet = std::mem::take(&mut self.partial);
            if dropped {
                continue;
            }
            if page.segment == lacing.len() {
                page.last_packet = Some(packet);
                continue;
            }
            return Ok(Event::Packet(packet));
        }
    }
}

/// Reads the next page header, skipping bytes until a capture pattern whose header is valid.
/// `None` at the end of the stream.
fn read_header(source: &mut MediaSourceStream<'_>) -> io::Result<Option<(PageHeader, u64)>> {
    let mut junk = 0u64;
    let mut window = [0u8; 4];
    let mut filled = 0;
    loop {
        while filled < 4 {
            match source.read_byte() {
                Ok(byte) => {
                    window[filled] = byte;
                    filled += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(e),
            }
        }
        if &window == b"OggS" {
            let mut raw = vec![0u8; HEADER_LEN];
            raw[..4].copy_from_slice(&window);
            if !read_fully(source, &mut raw[4..])? {
                return Ok(None);
            }
            if raw[4] == 0 {
                let segments = usize::from(raw[26]);
                raw.resize(HEADER_LEN + segments, 0);
                if !read_fully(source, &mut raw[HEADER_LEN..])? {
                    return Ok(None);
                }
                return Ok(Some((PageHeader { raw }, junk)));
            }
            // Not stream version 0: a capture pattern by chance. Look again after it; the 23
            // bytes read past may hold the next one only if a page was cut there, which the
            // following page's own capture pattern then resolves.
            junk += HEADER_LEN as u64;
            filled = 0;
            continue;
        }
        window.copy_within(1.., 0);
        filled = 3;
        junk += 1;
    }
}

/// Fills `buf`, keeping the read-ahead ring to its first pages; false when the stream ends
/// first.
fn read_fully(source: &mut MediaSourceStream<'_>, buf: &mut [u8]) -> io::Result<bool> {
    match read_restarting(source, buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads past `len` bytes; false when the stream ends first.
fn skip(source: &mut MediaSourceStream<'_>, len: u64) -> io::Result<bool> {
    match source.ignore_bytes(len) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads past `len` bytes that count towards the page's checksum.
fn skip_with_crc(
    source: &mut MediaSourceStream<'_>,
    mut len: usize,
    crc: &mut u32,
) -> io::Result<bool> {
    let mut piece = [0u8; 4096];
    while len > 0 {
        let take = len.min(piece.len());
        if !read_fully(source, &mut piece[..take])? {
            return Ok(false);
        }
        *crc = crc_update(*crc, &piece[..take]);
        len -= take;
    }
    Ok(true)
}

/// Ogg's CRC-32 of `crc`'s bytes followed by `bytes`. Written out because the common CRC crates'
/// catalogues do not carry this variant under a stable name, and it is a few lines.
pub fn crc_update(crc: u32, bytes: &[u8]) -> u32 {
    static TABLE: std::sync::LazyLock<[u32; 256]> = std::sync::LazyLock::new(|| {
        let mut table = [0u32; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            let mut crc = (i as u32) << 24;
            for _ in 0..8 {
                crc = if crc & 0x8000_0000 != 0 {
                    (crc << 1) ^ 0x04c1_1db7
                } else {
                    crc << 1
                };
            }
            *entry = crc;
        }
        table
    });
    let table = &*TABLE;
    bytes.iter().fold(crc, |crc, byte| {
        (crc << 8) ^ table[((crc >> 24) as u8 ^ byte) as usize]
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::container::source::Unseekable;
    use symphonia::core::io::MediaSourceStreamOptions;

    /// Length of the page starting at `page[0]`, once its header and lacing values are there.
    pub(crate) fn page_len(page: &[u8]) -> Option<usize> {
        let segments = *page.get(26)? as usize;
        let lacing = page.get(27..27 + segments)?;
        Some(27 + segments + lacing.iter().map(|l| *l as usize).sum::<usize>())
    }

    /// Ogg's CRC-32 (polynomial 0x04c11db7, no reflection, initial value and final xor 0) over the
    /// page with its checksum field (bytes 22..26) taken as zero.
    pub(crate) fn page_crc(page: &[u8]) -> u32 {
        let header = page.len().min(22);
        let crc = crc_update(0, &page[..header]);
        let crc = crc_update(crc, &[0; 4][..page.len().saturating_sub(22).min(4)]);
        crc_update(crc, page.get(26..).unwrap_or_default())
    }

    /// A page of `serial` holding `packets` (the first continuing one from the previous page
    /// when `continued`; the last going on to the next page when `open_end`).
    pub(crate) fn page(
        serial: u32,
        sequence: u32,
        flags: u8,
        granule: u64,
        packets: &[&[u8]],
        open_end: bool,
    ) -> Vec<u8> {
        let mut lacing = Vec::new();
        for (i, packet) in packets.iter().enumerate() {
            lacing.extend(std::iter::repeat_n(255u8, packet.len() / 255));
            if open_end && i == packets.len() - 1 {
                assert_eq!(
                    packet.len() % 255,
                    0,
                    "a packet going on fills its segments"
                );
            } else {
                lacing.push((packet.len() % 255) as u8);
            }
        }
        let mut page = b"OggS\0".to_vec();
        page.push(flags);
        page.extend(granule.to_le_bytes());
        page.extend(serial.to_le_bytes());
        page.extend(sequence.to_le_bytes());
        page.extend([0; 4]);
        page.push(lacing.len() as u8);
        page.extend(lacing);
        for packet in packets {
            page.extend_from_slice(packet);
        }
        let crc = page_crc(&page);
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        page
    }

    fn stream(bytes: Vec<u8>) -> MediaSourceStream<'static> {
        MediaSourceStream::new(
            Box::new(Unseekable::new(io::Cursor::new(bytes))),
            MediaSourceStreamOptions::default(),
        )
    }

    /// Every event for pages of serial 1, with pages shown as their sequence numbers.
    fn events(bytes: Vec<u8>) -> Vec<String> {
        let mut source = stream(bytes);
        let mut reader = PageReader::new();
        let mut out = Vec::new();
        loop {
            let event = reader.next(&mut source, |h| h.serial() == 1).unwrap();
            out.push(match event {
                Event::Page { header, junk } => format!("page {} junk {junk}", header.sequence()),
                Event::Packet(p) => format!("packet {} x{}", p[0], p.len()),
                Event::Damaged => "damaged".into(),
                Event::End => break,
            });
        }
        out
    }

    #[test]
    fn packets_come_out_per_page_and_across_pages() {
        let long = vec![2u8; 600];
        let mut bytes = page(1, 0, 0x02, 0, &[&[1; 10]], false);
        bytes.extend(page(1, 1, 0, 10, &[&[5; 3], &long[..510]], true));
        bytes.extend(page(1, 2, 0x01, 20, &[&long[510..], &[3; 255]], false));
        bytes.extend(page(7, 0, 0x02, 0, &[&[9; 40]], false));
        bytes.extend(page(1, 3, 0x04, 30, &[&[4; 1]], false));
        assert_eq!(
            events(bytes),
            [
                "page 0 junk 0",
                "packet 1 x10",
                "page 1 junk 0",
                "packet 5 x3",
                "page 2 junk 0",
                "packet 2 x600",
                "packet 3 x255",
                "page 3 junk 0",
                "packet 4 x1",
            ]
        );
    }

    #[test]
    fn a_damaged_page_keeps_the_packets_before_its_last_and_junk_is_counted() {
        let mut bytes = b"junk".to_vec();
        bytes.extend(page(1, 0, 0x02, 0, &[&[1; 10]], false));
        let mut damaged = page(1, 1, 0, 10, &[&[5; 3], &[6; 20]], false);
        let at = damaged.len() - 5;
        damaged[at] ^= 1;
        bytes.extend(damaged);
        bytes.extend(page(1, 2, 0, 20, &[&[7; 30]], false));
        assert_eq!(
            events(bytes),
            [
                "page 0 junk 4",
                "packet 1 x10",
                "page 1 junk 0",
                "packet 5 x3",
                "damaged",
                "page 2 junk 0",
                "packet 7 x30",
            ]
        );
    }

    #[test]
    fn a_continuation_whose_start_is_lost_is_dropped() {
        let mut bytes = page(1, 5, 0x01, 10, &[&[5; 300], &[6; 2]], false);
        bytes.extend(page(1, 6, 0, 20, &[&[7; 255]], true));
        // The next page does not continue the packet: its start is dropped.
        bytes.extend(page(1, 7, 0, 30, &[&[8; 4]], false));
        assert_eq!(
            events(bytes),
            [
                "page 5 junk 0",
                "packet 6 x2",
                "page 6 junk 0",
                "page 7 junk 0",
                "packet 8 x4"
            ]
        );
    }

    #[test]
    fn a_stream_cut_inside_a_page_ends() {
        let mut bytes = page(1, 0, 0x02, 0, &[&[1; 10], &[2; 100]], false);
        bytes.truncate(bytes.len() - 50);
        assert_eq!(events(bytes), ["page 0 junk 0", "packet 1 x10"]);
    }
}
