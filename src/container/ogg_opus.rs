//! Ogg Opus whose channels have no speaker assigned: channel mapping family 255, as
//! `ffmpeg -mapping_family 255` and multitrack recorders write it.
//!
//! symphonia 0.6's Ogg reader does not recognise such a stream at all (its OpusHead parser
//! refuses every family but 0 and 1), although the packets are plain multistream Opus, which
//! `codecs::opus_multistream` decodes. [`relabelled_first_page`] takes the stream's first page
//! and gives it back with the family byte set to 1 and the page checksum recomputed, which the
//! reader accepts for 1 to 8 channels, together with the original OpusHead, which the decoder
//! is then given in place of the relabelled one (`Worker::make_decoder`). Nothing else in the
//! stream changes.

use symphonia::core::io::{MediaSourceStream, ReadBytes, SeekBuffered};

use crate::codecs::opus_multistream::OpusHead;
use crate::container::ogg_check::{page_crc, page_len};

/// Where the channel mapping family sits in an OpusHead (RFC 7845, section 5.1).
const FAMILY_AT: usize = 18;
/// The family symphonia's reader accepts for 1 to 8 channels.
const ACCEPTED_FAMILY: u8 = 1;
/// Bytes of the page header before the lacing values.
const PAGE_HEADER: usize = 27;
/// The largest first page looked at: an OpusHead is 19 bytes and a mapping table of at most 257.
const MAX_HEAD_PAGE: usize = 1024;

/// The first page of an Ogg Opus stream of mapping family 255, relabelled.
#[derive(Debug, PartialEq, Eq)]
pub struct RelabelledHead {
    /// The page to read in place of the stream's first page.
    pub page: Vec<u8>,
    /// The logical stream's serial number: symphonia's track id.
    pub serial: u32,
    /// The OpusHead as the stream has it, for the decoder.
    pub head: Vec<u8>,
}

/// What the first page of an Ogg stream says about its Opus channel mapping.
#[derive(Debug, PartialEq, Eq)]
pub enum FirstPage {
    /// Family 255 with 1 to 8 channels: the page is consumed, and this is to be read instead.
    Relabelled(RelabelledHead),
    /// A mapping nothing here decodes: why, for the ERROR message.
    Unsupported(String),
    /// The first stream of the Ogg file is in a codec nothing here decodes (Speex, CELT, Theora
    /// video): its name, for the ERROR if no other stream can be decoded. The source is where
    /// it was.
    Undecoded(&'static str),
    /// Anything else: the source is where it was.
    Other,
}

/// If the stream at the source's position starts with an Ogg page holding an OpusHead of
/// mapping family 255 and 1 to 8 channels, consumes that page and returns it relabelled;
/// otherwise leaves the source where it was.
pub fn relabelled_first_page(source: &mut MediaSourceStream<'_>) -> FirstPage {
    let start = source.pos();
    let mut header = [0u8; PAGE_HEADER];
    // Look no further than an OpusHead page can be: reading on would wait for bytes another
    // container's reader may not need yet, and could go past what the source can rewind.
    let peeked = source.read_buf_exact(&mut header[..4]).and_then(|_| {
        if &header[..4] != b"OggS" {
            return Ok(None);
        }
        source.read_buf_exact(&mut header[4..])?;
        let mut page = header.to_vec();
        page.resize(PAGE_HEADER + header[26] as usize, 0);
        source.read_buf_exact(&mut page[PAGE_HEADER..])?;
        let len = page_len(&page).unwrap_or(page.len());
        if len > MAX_HEAD_PAGE {
            return Ok(None);
        }
        let body_at = page.len();
        page.resize(len, 0);
        source.read_buf_exact(&mut page[body_at..])?;
        Ok(Some(page))
    });
    let first_page = match peeked {
        Ok(Some(page)) => relabel(&page),
        _ => FirstPage::Other,
    };
    if !matches!(first_page, FirstPage::Relabelled(_)) {
        source.seek_buffered(start);
    }
    first_page
}

/// The relabelled page, when `page` is a whole first page of an Ogg Opus stream of family 255.
fn relabel(page: &[u8]) -> FirstPage {
    let Some((channels, family)) = opus_mapping(page) else {
        return undecoded_codec(page).map_or(FirstPage::Other, FirstPage::Undecoded);
    };
    match (family, channels) {
        (255, 1..=8) => {}
        (0 | 1, _) => return FirstPage::Other,
        _ => {
            return FirstPage::Unsupported(format!(
                "Ogg Opus with channel mapping family {family} and {channels} channels is not \
                 supported (families 0 and 1, and 255 with up to 8 channels, are)"
            ));
        }
    }
    let body_at = PAGE_HEADER + page[26] as usize;
    let mut relabelled = page.to_vec();
    relabelled[body_at + FAMILY_AT] = ACCEPTED_FAMILY;
    let crc = page_crc(&relabelled);
    relabelled[22..26].copy_from_slice(&crc.to_le_bytes());
    FirstPage::Relabelled(RelabelledHead {
        page: relabelled,
        serial: u32::from_le_bytes([page[14], page[15], page[16], page[17]]),
        head: page[body_at..].to_vec(),
    })
}

/// The body of `page` when it is the first page of a logical stream (BOS, stream version 0),
/// where a codec's identification header starts.
fn first_page_body(page: &[u8]) -> Option<&[u8]> {
    let first_page = page.get(..4)? == b"OggS" && page[4] == 0 && page[5] & 0x02 != 0;
    let segments = *page.get(26)? as usize;
    page.get(PAGE_HEADER + segments..).filter(|_| first_page)
}

/// The codec of a first page's stream, by its header packet's magic, when it is one nothing here
/// decodes.
fn undecoded_codec(page: &[u8]) -> Option<&'static str> {
    let packet = first_page_body(page)?;
    if packet.starts_with(b"Speex   ") {
        Some("Speex")
    } else if packet.starts_with(b"CELT    ") {
        Some("CELT")
    } else if packet.starts_with(b"\x80theora") {
        Some("Theora video")
    } else {
        None
    }
}

/// The channel count and mapping family of the OpusHead that is the whole body of `page`, a
/// first page, when the head is complete (its mapping table included).
fn opus_mapping(page: &[u8]) -> Option<(usize, u8)> {
    let head = OpusHead::parse(first_page_body(page)?)?;
    Some((usize::from(head.channels), head.mapping_family))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    use symphonia::core::io::ReadOnlySource;

    /// An OpusHead of `channels` channels, each its own stream, in `family`.
    fn opus_head(family: u8, channels: u8) -> Vec<u8> {
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, channels]);
        head.extend_from_slice(&312u16.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes());
        head.extend_from_slice(&[family, channels, 0]);
        head.extend(0..channels);
        head
    }

    /// A first (BOS) page holding `body`, with a correct checksum.
    fn first_page(body: &[u8]) -> Vec<u8> {
        let mut page = b"OggS".to_vec();
        page.extend_from_slice(&[0, 0x02]);
        page.extend_from_slice(&0u64.to_le_bytes());
        page.extend_from_slice(&0x1234u32.to_le_bytes());
        page.extend_from_slice(&0u32.to_le_bytes());
        page.extend_from_slice(&[0; 4]);
        page.extend_from_slice(&[1, body.len() as u8]);
        page.extend_from_slice(body);
        let crc = page_crc(&page);
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        page
    }

    fn run(bytes: Vec<u8>) -> (FirstPage, u64) {
        let mut source = MediaSourceStream::new(
            Box::new(ReadOnlySource::new(io::Cursor::new(bytes))),
            Default::default(),
        );
        let found = relabelled_first_page(&mut source);
        (found, source.pos())
    }

    #[test]
    fn family_255_becomes_family_1_with_a_valid_checksum() {
        let head = opus_head(255, 4);
        let page = first_page(&head);
        let mut stream = page.clone();
        stream.extend_from_slice(b"OggS and the rest");
        let (found, pos) = run(stream);
        let FirstPage::Relabelled(found) = found else {
            panic!("not relabelled: {found:?}");
        };
        assert_eq!(pos, page.len() as u64, "the first page is consumed");
        assert_eq!(found.serial, 0x1234);
        assert_eq!(found.head, head);
        let mut expected = first_page(&opus_head(1, 4));
        assert_eq!(found.page, expected);
        // Only the family byte and the checksum differ from the original page.
        expected[22..26].copy_from_slice(&page[22..26]);
        let differing = expected.iter().zip(&page).filter(|(a, b)| a != b).count();
        assert_eq!(differing, 1);
    }

    #[test]
    fn other_streams_are_left_alone() {
        for stream in [
            first_page(&opus_head(0, 2)),
            first_page(&opus_head(1, 6)),
            first_page(&opus_head(255, 4)[..22]),
            first_page(b"\x01vorbis and more"),
            b"fLaC".to_vec(),
            Vec::new(),
        ] {
            assert_eq!(run(stream), (FirstPage::Other, 0));
        }
    }

    #[test]
    fn mappings_nothing_decodes_are_named() {
        for (family, channels) in [(255, 9), (2, 4), (3, 4), (7, 2)] {
            let (found, pos) = run(first_page(&opus_head(family, channels)));
            let FirstPage::Unsupported(message) = found else {
                panic!("{found:?}");
            };
            assert!(
                message.contains(&format!("family {family} and {channels} channels")),
                "{message}"
            );
            assert_eq!(pos, 0);
        }
    }
}
