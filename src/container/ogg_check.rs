//! Notices damaged Ogg pages in the bytes handed to the decoder.
//!
//! Symphonia's Ogg reader drops a page whose checksum fails and goes on without a word, so a
//! damaged stream loses up to a page of audio (ffmpeg writes pages of about a second) with no
//! WARNING. This watches the same bytes (as a `ByteWatch` on the byte queue, told of the bytes
//! delivered; see `watch`): it walks the page chain, verifies each page's CRC and counts the
//! pages that fail and the bytes skipped to find the next page.

use crate::watch::ByteWatch;

/// Largest possible page: 27-byte header, 255 lacing values, 255 × 255 bytes of body.
const MAX_PAGE: usize = 27 + 255 + 255 * 255;

#[derive(Debug, Default)]
pub struct OggPageCheck {
    /// Bytes seen and not yet checked: the start of the current page.
    pending: Vec<u8>,
    /// A page passed: bytes before the next capture pattern are damage, not leading junk.
    synced: bool,
    /// Damage not yet reported: (bad pages, bytes skipped).
    damage: (u32, u64),
    /// Packets that end in the last good page: the reader hands a page's packets out only
    /// once the whole page is in, so this many wait for the last one.
    packets_in_last_page: u32,
}

impl OggPageCheck {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next bytes of the stream, in order.
    pub fn observe(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        let mut start = 0;
        loop {
            let rest = &self.pending[start..];
            let Some(offset) = find_capture(rest) else {
                // Keep the last 3 bytes: they may begin a capture pattern.
                let junk = rest.len().saturating_sub(3);
                self.skip_junk(junk);
                start += junk;
                break;
            };
            self.skip_junk(offset);
            start += offset;
            let page = &self.pending[start..];
            match page_len(page) {
                None => break,
                Some(len) if page.len() < len => break,
                Some(len) => {
                    if page_crc_ok(&page[..len]) {
                        self.synced = true;
                        self.packets_in_last_page = packets_ending_in(page);
                        start += len;
                    } else {
                        self.damage.0 += 1;
                        // Look for the next page inside this one.
                        self.skip_junk(4);
                        start += 4;
                    }
                }
            }
        }
        self.pending.drain(..start);
        if self.pending.len() > MAX_PAGE {
            // Cannot happen with a valid length field; keeps memory bounded whatever comes.
            let excess = self.pending.len() - MAX_PAGE;
            self.skip_junk(excess);
            self.pending.drain(..excess);
        }
    }

    /// Packets that end in the last good page seen (0 before the first).
    pub fn packets_in_last_page(&self) -> u32 {
        self.packets_in_last_page
    }

    /// Damage seen since the last call: (bad pages, bytes skipped).
    pub fn take_damage(&mut self) -> (u32, u64) {
        std::mem::take(&mut self.damage)
    }

    fn skip_junk(&mut self, count: usize) {
        if self.synced {
            self.damage.1 += count as u64;
        }
    }
}

/// On the byte queue (see `watch`) it sees the bytes the reader got, and holds nothing back.
impl ByteWatch for OggPageCheck {
    fn delivered(&mut self, bytes: &[u8]) {
        self.observe(bytes);
    }
}

fn find_capture(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"OggS")
}

/// Packets that end in a whole page: lacing values below 255 each end one.
fn packets_ending_in(page: &[u8]) -> u32 {
    let segments = page[26] as usize;
    page[27..27 + segments].iter().filter(|l| **l < 255).count() as u32
}

/// Length of the page starting at `page[0]`, once its header and lacing values are there.
pub fn page_len(page: &[u8]) -> Option<usize> {
    let segments = *page.get(26)? as usize;
    let lacing = page.get(27..27 + segments)?;
    Some(27 + segments + lacing.iter().map(|l| *l as usize).sum::<usize>())
}

fn page_crc_ok(page: &[u8]) -> bool {
    let stored = u32::from_le_bytes([page[22], page[23], page[24], page[25]]);
    page_crc(page) == stored
}

/// Ogg's CRC-32 (polynomial 0x04c11db7, no reflection, initial value and final xor 0) over the
/// page with its checksum field (bytes 22..26) taken as zero.
pub fn page_crc(page: &[u8]) -> u32 {
    let header = page.len().min(22);
    let crc = crc_update(0, &page[..header]);
    let crc = crc_update(crc, &[0; 4][..page.len().saturating_sub(22).min(4)]);
    crc_update(crc, page.get(26..).unwrap_or_default())
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
mod tests {
    use super::*;

    /// A valid page with the given body (one packet of < 255 bytes).
    fn page(body: &[u8], sequence: u32) -> Vec<u8> {
        let mut page = b"OggS\0\0".to_vec();
        page.extend(0u64.to_le_bytes()); // granule
        page.extend(1u32.to_le_bytes()); // serial
        page.extend(sequence.to_le_bytes());
        page.extend(0u32.to_le_bytes()); // crc, filled below
        page.push(1);
        page.push(body.len() as u8);
        page.extend_from_slice(body);
        // Find the checksum that makes the page valid.
        let mut crc = 0u32;
        for byte in &page {
            let mut c = crc ^ ((*byte as u32) << 24);
            for _ in 0..8 {
                c = if c & 0x8000_0000 != 0 {
                    (c << 1) ^ 0x04c1_1db7
                } else {
                    c << 1
                };
            }
            crc = c;
        }
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        page
    }

    #[test]
    fn valid_pages_in_any_chunking_are_no_damage() {
        let stream: Vec<u8> = (0..20).flat_map(|i| page(&[i as u8; 200], i)).collect();
        for chunk in [1, 7, 100, stream.len()] {
            let mut check = OggPageCheck::new();
            for part in stream.chunks(chunk) {
                check.observe(part);
            }
            assert_eq!(check.take_damage(), (0, 0), "chunk {chunk}");
        }
    }

    #[test]
    fn a_damaged_page_is_counted() {
        let pages: Vec<Vec<u8>> = (0..5).map(|i| page(&[i as u8; 200], i)).collect();
        let mut stream = pages.concat();
        let third = pages[0].len() * 2;
        stream[third + 100] ^= 0x40;
        let mut check = OggPageCheck::new();
        for part in stream.chunks(64) {
            check.observe(part);
        }
        let (bad, skipped) = check.take_damage();
        assert_eq!(bad, 1);
        // The rest of the bad page is skipped to find the next one.
        assert_eq!(skipped, pages[2].len() as u64);
        assert_eq!(check.take_damage(), (0, 0));
    }

    #[test]
    fn leading_junk_is_not_damage() {
        let mut stream = b"junk before the first page".to_vec();
        stream.extend(page(b"hello", 0));
        let mut check = OggPageCheck::new();
        check.observe(&stream);
        assert_eq!(check.take_damage(), (0, 0));
    }
    #[test]
    fn on_the_queue_it_holds_nothing_back_and_counts_what_the_reader_got() {
        use crate::watch::testing::{Feed, Read};
        let pages: Vec<Vec<u8>> = (0..5).map(|i| page(&[i as u8; 200], i)).collect();
        let mut stream = pages.concat();
        let third = pages[0].len() * 2;
        stream[third + 100] ^= 0x40;
        let mut feed = Feed::default();
        let mut check = OggPageCheck::new();
        let mut out = Vec::new();
        for part in stream.chunks(50) {
            feed.push(part);
            let (bytes, end) = feed.read_run(&mut check, 64);
            assert_eq!(end, Read::Wait);
            out.extend(bytes);
        }
        feed.close();
        assert_eq!(feed.read_run(&mut check, 64), (Vec::new(), Read::End));
        assert_eq!(out, stream);
        assert_eq!(check.take_damage(), (1, pages[2].len() as u64));
    }
}
