//! Ogg Opus (RFC 7845): the look at an Ogg stream's first page that decides which reader gets
//! it (ours, `ogg_audio`, for Opus, Vorbis, Speex and FLAC; symphonia's for the rest), and what
//! the reader needs to know of Opus: the decoder's parameters from the OpusHead and each
//! packet's length from its TOC byte.

use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::io::{MediaSourceStream, ReadBytes, SeekBuffered};

use crate::codecs::opus_multistream::OpusHead;
use crate::codecs::speex::SpeexHeader;
use crate::container::ogg_audio;
use crate::container::ogg_check::page_len;

/// Bytes of the page header before the lacing values.
const PAGE_HEADER: usize = 27;
/// The largest first page looked at: an OpusHead is 19 bytes and a mapping table of at most 257.
const MAX_HEAD_PAGE: usize = 1024;
/// Opus always counts time at 48 kHz in Ogg (RFC 7845 section 4).
const RATE: u32 = 48_000;

/// What the first page of an Ogg stream says.
#[derive(Debug, PartialEq, Eq)]
pub enum FirstPage {
    /// The first logical stream is Opus with a channel mapping that can be decoded, or Speex:
    /// `ogg_audio::OggAudioReader` reads it.
    Ours,
    /// A mapping nothing here decodes: why, for the ERROR message.
    Unsupported(String),
    /// The first stream of the Ogg file is in a codec nothing here decodes (Speex, CELT, Theora
    /// video): its name, for the ERROR if no other stream can be decoded.
    Undecoded(&'static str),
    /// Anything else.
    Other,
}

/// Looks at the Ogg page at the source's position, if any, and leaves the source where it was.
pub fn first_page(source: &mut MediaSourceStream<'_>) -> FirstPage {
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
    source.seek_buffered(start);
    match peeked {
        Ok(Some(page)) => classify(&page),
        _ => FirstPage::Other,
    }
}

fn classify(page: &[u8]) -> FirstPage {
    let body = first_page_body(page);
    let Some(head) = body.and_then(OpusHead::parse) else {
        if body.is_some_and(ogg_audio::reads) {
            return FirstPage::Ours;
        }
        return undecoded_codec(page).map_or(FirstPage::Other, FirstPage::Undecoded);
    };
    match (head.mapping_family, head.channels) {
        (0, 1..=2) | (1 | 255, 1..=8) => FirstPage::Ours,
        (family, channels) => FirstPage::Unsupported(format!(
            "Ogg Opus with channel mapping family {family} and {channels} channels is not \
             supported (family 0 with 1 or 2 channels, and families 1 and 255 with up to 8, are)"
        )),
    }
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
    if packet.starts_with(SpeexHeader::MAGIC) {
        // A Speex header this element cannot read.
        Some("Speex")
    } else if packet.starts_with(b"CELT    ") {
        Some("CELT")
    } else if packet.starts_with(b"\x80theora") {
        Some("Theora video")
    } else {
        None
    }
}

/// Samples (at 48 kHz) in an Opus packet, from its TOC byte (RFC 6716 section 3.1); 0 for a
/// packet too short to say.
pub fn packet_samples(packet: &[u8]) -> u64 {
    let Some(&toc) = packet.first() else {
        return 0;
    };
    let config = toc >> 3;
    // Frame length in 1/400 s (2.5 ms) units, by configuration (RFC 6716 table 2).
    let frame_units: u64 = match config {
        0..=11 => [4, 8, 16, 24][usize::from(config % 4)],
        12..=15 => [4, 8][usize::from(config % 2)],
        _ => [1, 2, 4, 8][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => packet.get(1).map_or(0, |count| u64::from(count & 0x3f)),
    };
    frames * frame_units * u64::from(RATE) / 400
}

/// The decoder's parameters and the pre-skip, from an OpusHead.
pub fn codec_params(head: &[u8]) -> Option<(AudioCodecParameters, u32)> {
    let parsed = OpusHead::parse(head).filter(|h| h.channels > 0)?;
    let channels = ogg_audio::channels_by_count(parsed.channels);
    let mut params = AudioCodecParameters::new();
    params
        .for_codec(CODEC_ID_OPUS)
        .with_sample_rate(RATE)
        .with_channels(channels)
        .with_extra_data(head.into());
    Some((params, u32::from(parsed.pre_skip)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::container::ogg_pages::tests::page;
    use crate::container::source::Unseekable;
    use std::io;

    /// An OpusHead of `channels` channels, each its own stream, in `family`.
    pub(crate) fn opus_head(family: u8, channels: u8, pre_skip: u16) -> Vec<u8> {
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, channels]);
        head.extend_from_slice(&pre_skip.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes());
        head.push(family);
        if family != 0 {
            head.extend_from_slice(&[channels, 0]);
            head.extend(0..channels);
        }
        head
    }

    pub(crate) fn source(bytes: Vec<u8>) -> MediaSourceStream<'static> {
        MediaSourceStream::new(
            Box::new(Unseekable::new(io::Cursor::new(bytes))),
            Default::default(),
        )
    }

    #[test]
    fn packet_lengths_follow_the_toc() {
        // SILK 10 ms, hybrid 20 ms, CELT 2.5 ms; codes 0, 1, 2 and 3 with 5 frames.
        assert_eq!(packet_samples(&[0]), 480);
        assert_eq!(packet_samples(&[(13 << 3) | 1]), 1920);
        assert_eq!(packet_samples(&[(16 << 3) | 2]), 240);
        assert_eq!(packet_samples(&[(3 << 3) | 3, 5]), 5 * 2880);
        assert_eq!(packet_samples(&[]), 0);
        assert_eq!(packet_samples(&[3]), 0);
    }

    #[test]
    fn first_pages_are_classified() {
        let first = |head: &[u8]| {
            let mut source = source(page(9, 0, 0x02, 0, &[head], false));
            let found = first_page(&mut source);
            assert_eq!(source.pos(), 0, "the source is left where it was");
            found
        };
        for (family, channels) in [(0, 1), (0, 2), (1, 6), (255, 4), (255, 8)] {
            assert_eq!(first(&opus_head(family, channels, 0)), FirstPage::Ours);
        }
        for (family, channels) in [(255, 9), (2, 4), (3, 4), (0, 3)] {
            let FirstPage::Unsupported(message) = first(&opus_head(family, channels, 0)) else {
                panic!("{family} {channels}");
            };
            assert!(message.contains(&format!("family {family} and {channels} channels")));
        }
        assert_eq!(first(b"Speex   and more"), FirstPage::Undecoded("Speex"));
        let mut ogg_flac = b"\x7fFLAC\x01\x00\x00\x01fLaC\x00\x00\x00\x22".to_vec();
        ogg_flac.extend([0x10, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0xc4, 0x42, 0xf0]);
        ogg_flac.extend([0; 20]);
        assert_eq!(first(&ogg_flac), FirstPage::Ours);
        ogg_flac[5] = 2;
        assert_eq!(
            first(&ogg_flac),
            FirstPage::Other,
            "a mapping version we do not know"
        );
        assert_eq!(first(b"\x01vorbis and more"), FirstPage::Other);
        assert_eq!(first_page(&mut source(b"fLaC".to_vec())), FirstPage::Other);
    }
}
