//! Opus access units behind control headers: how an MPEG transport stream carries Opus, as DVB
//! broadcasters, ffmpeg's `mpegts` muxer and GStreamer's `mpegtsmux` write it (the Opus-in-TS
//! layout, wiki.xiph.org/OpusTS): a private-data stream with an `Opus` registration descriptor,
//! whose channel layout is a `channel_config_code` in a DVB extension descriptor, and whose PES
//! payload is access units, each behind a control header that gives its length and the samples
//! to trim at its start (the encoder's pre-skip) and at its end (the padding of the last one).
//!
//! `ts_unwrap` hands this reader the PES payload alone; symphonia has no such reader. The
//! element frames Opus packets that come one per buffer (`audio/x-opus` caps, from
//! `rtpopusdepay`, `oggdemux`, `matroskademux`, `tsdemux`) in the same control headers, with
//! the trims of their clipping metadata (see `frame_packet`), so one reader serves both.

use std::io;

use symphonia::core::common::FourCc;
use symphonia::core::errors::{Error as SymphoniaError, Result, SeekErrorKind, seek_error};
use symphonia::core::formats::{
    FormatId, FormatInfo, FormatReader, MediaInfo, SeekMode, SeekTo, SeekedTo, Track,
};
use symphonia::core::io::{MediaSourceStream, ReadBytes};
use symphonia::core::meta::{Metadata, MetadataLog};
use symphonia::core::packet::{Packet, PacketBuilder};
use symphonia::core::units::{Duration, Timestamp};

use crate::codecs::opus::{mapped_opus_head, plain_opus_head};
use crate::container::ogg_opus;

/// Opus unwrapped from a transport stream.
pub static TS_OPUS_INFO: FormatInfo = FormatInfo {
    format: FormatId::new(FourCc::new(*b"tsop")),
    short_name: "mpegts",
    long_name: "MPEG transport stream",
};

/// Opus packets that came one per buffer, framed by the element.
pub static OPUS_PACKETS_INFO: FormatInfo = FormatInfo {
    format: FormatId::new(FourCc::new(*b"opkt")),
    short_name: "packets",
    long_name: "Opus packets, one per buffer",
};

/// Streams and coupled streams of the Vorbis channel mappings of 1 to 8 channels, and the
/// decoder channel of each output channel (RFC 7845 section 5.1.1.2): what `channel_config_code`
/// 1 to 8 stand for.
const VORBIS_MAPPINGS: [(u8, u8, &[u8]); 8] = [
    (1, 0, &[0]),
    (1, 1, &[0, 1]),
    (2, 1, &[0, 2, 1]),
    (2, 2, &[0, 1, 2, 3]),
    (3, 2, &[0, 4, 1, 2, 3]),
    (4, 2, &[0, 4, 1, 2, 3, 5]),
    (4, 3, &[0, 4, 1, 2, 3, 5, 6]),
    (5, 3, &[0, 6, 1, 2, 3, 4, 5, 7]),
];

/// The OpusHead a `channel_config_code` stands for (pre-skip 0: the control headers trim), or
/// why it is not decoded here.
pub fn opus_head(channel_config: u8) -> std::result::Result<Vec<u8>, String> {
    match channel_config {
        // Dual mono: two uncoupled streams, no speakers assigned.
        0 => Ok(mapped_opus_head(255, 2, 0, &[0, 1])),
        1 | 2 => Ok(plain_opus_head(channel_config, 0)),
        3..=8 => {
            let (streams, coupled, mapping) = VORBIS_MAPPINGS[usize::from(channel_config) - 1];
            Ok(mapped_opus_head(1, streams, coupled, mapping))
        }
        code => Err(format!(
            "the MPEG transport stream's Opus audio has channel_config_code {code:#04x}, which \
             this element does not decode (it decodes 0x00 to 0x08: dual mono, and 1 to 8 \
             channels in the Vorbis order)"
        )),
    }
}

/// The start of an access unit's control header: 11 bits set.
const SYNC_FIRST: u8 = 0x7f;
const SYNC_SECOND_MASK: u8 = 0xe0;
const START_TRIM: u8 = 0x10;
const END_TRIM: u8 = 0x08;
const EXTENSION: u8 = 0x04;

/// An Opus packet (all streams of it) and the samples its control header trims.
struct AccessUnit {
    data: Vec<u8>,
    trim_start: u16,
    trim_end: u16,
}

/// Reads Opus access units behind their control headers.
pub struct OpusUnitsReader<'s> {
    source: MediaSourceStream<'s>,
    info: &'static FormatInfo,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    /// Samples (48 kHz) before the next access unit, untrimmed.
    next_ts: u64,
    /// The flags byte of a control header found after damage, whose access unit is read next.
    found_after_damage: Option<u8>,
}

impl<'s> OpusUnitsReader<'s> {
    /// A reader for a transport stream's Opus of this `channel_config_code`.
    pub fn for_transport_stream(
        source: MediaSourceStream<'s>,
        channel_config: u8,
    ) -> std::result::Result<Self, String> {
        Self::new(source, &opus_head(channel_config)?, &TS_OPUS_INFO)
    }

    /// A reader for access units of the stream `head` (an OpusHead) describes.
    pub fn new(
        source: MediaSourceStream<'s>,
        head: &[u8],
        info: &'static FormatInfo,
    ) -> std::result::Result<Self, String> {
        if let Some(why) = ogg_opus::unsupported_mapping(head) {
            return Err(why);
        }
        let (params, _) = ogg_opus::codec_params(head)
            .ok_or_else(|| "the Opus stream's description (OpusHead) is malformed".to_string())?;
        let track = super::audio_track(params);
        Ok(OpusUnitsReader {
            source,
            info,
            media_info: MediaInfo::from_track(&track),
            tracks: vec![track],
            metadata: MetadataLog::default(),
            next_ts: 0,
            found_after_damage: None,
        })
    }

    /// The flags byte of the next control header; `None` when bytes before it that are not one
    /// were skipped (a lost transport packet cuts an access unit short): damage to report, and
    /// the header found is read next.
    fn control_flags(&mut self) -> io::Result<Option<u8>> {
        if let Some(flags) = self.found_after_damage.take() {
            return Ok(Some(flags));
        }
        let mut skipped = false;
        let mut previous = self.source.read_byte()?;
        loop {
            let byte = self.source.read_byte()?;
            if previous == SYNC_FIRST && byte & SYNC_SECOND_MASK == SYNC_SECOND_MASK {
                if skipped {
                    self.found_after_damage = Some(byte);
                    return Ok(None);
                }
                return Ok(Some(byte));
            }
            skipped = true;
            previous = byte;
        }
    }

    /// The next access unit; `None` when damage was skipped to find its control header.
    fn access_unit(&mut self) -> io::Result<Option<AccessUnit>> {
        let Some(flags) = self.control_flags()? else {
            return Ok(None);
        };
        let mut size = 0usize;
        loop {
            let byte = self.source.read_byte()?;
            size += usize::from(byte);
            if byte != 0xff {
                break;
            }
        }
        let mut trim = |present: bool| -> io::Result<u16> {
            Ok(if present {
                self.source.read_be_u16()? & 0x1fff
            } else {
                0
            })
        };
        let trim_start = trim(flags & START_TRIM != 0)?;
        let trim_end = trim(flags & END_TRIM != 0)?;
        if flags & EXTENSION != 0 {
            let len = self.source.read_byte()?;
            self.source.ignore_bytes(u64::from(len))?;
        }
        let mut data = vec![0u8; size];
        self.source.read_buf_exact(&mut data)?;
        Ok(Some(AccessUnit {
            data,
            trim_start,
            trim_end,
        }))
    }
}

/// An OpusHead or OpusTags packet, which demuxers send among the audio packets.
pub fn is_header_packet(packet: &[u8]) -> bool {
    packet.starts_with(b"OpusHead") || packet.starts_with(b"OpusTags")
}

/// One Opus packet behind a control header, as this reader reads it: how the element passes on
/// packets that come one per buffer, with the samples to trim at their start and end (at most
/// 8191 each, the header's field).
pub fn frame_packet(packet: &[u8], trim_start: u64, trim_end: u64, out: &mut Vec<u8>) {
    let mut flags = SYNC_SECOND_MASK;
    if trim_start > 0 {
        flags |= START_TRIM;
    }
    if trim_end > 0 {
        flags |= END_TRIM;
    }
    out.extend_from_slice(&[SYNC_FIRST, flags]);
    let mut size = packet.len();
    while size >= 255 {
        out.push(0xff);
        size -= 255;
    }
    out.push(size as u8);
    for trim in [trim_start, trim_end].into_iter().filter(|&t| t > 0) {
        out.extend_from_slice(&(0xe000 | trim.min(0x1fff) as u16).to_be_bytes());
    }
    out.extend_from_slice(packet);
}

impl FormatReader for OpusUnitsReader<'_> {
    fn format_info(&self) -> &FormatInfo {
        self.info
    }

    fn media_info(&self) -> &MediaInfo {
        &self.media_info
    }

    fn metadata(&mut self) -> Metadata<'_> {
        self.metadata.metadata()
    }

    fn seek(&mut self, _mode: SeekMode, _to: SeekTo) -> Result<SeekedTo> {
        seek_error(SeekErrorKind::Unseekable)
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        super::source::restart_read_ahead(&mut self.source);
        let AccessUnit {
            data,
            trim_start,
            trim_end,
        } = loop {
            match self.access_unit() {
                // Header packets among the audio (a demuxer's OpusHead and OpusTags): the
                // stream's description came with it already.
                Ok(Some(unit)) if is_header_packet(&unit.data) => {}
                Ok(Some(unit)) => break unit,
                Ok(None) => {
                    return Err(SymphoniaError::DecodeError(
                        "opus: bytes that are not an Opus access unit (damaged data skipped)",
                    ));
                }
                // A stream that ends inside an access unit: the complete ones were all handed
                // out.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        };
        // A self-delimited multistream packet starts with its first stream's TOC, which gives
        // the length of all.
        let samples = ogg_opus::packet_samples(&data);
        let trim_start = u64::from(trim_start).min(samples);
        let trim_end = u64::from(trim_end).min(samples - trim_start);
        let pts = self.next_ts;
        self.next_ts += samples;
        Ok(Some(
            PacketBuilder::new()
                .track_id(0)
                .pts(Timestamp::try_from(pts).unwrap_or(Timestamp::MAX))
                .dur(Duration::from(samples - trim_start - trim_end))
                .trim_start(Duration::from(trim_start))
                .trim_end(Duration::from(trim_end))
                .data(data)
                .build(),
        ))
    }

    fn into_inner<'a>(self: Box<Self>) -> MediaSourceStream<'a>
    where
        Self: 'a,
    {
        self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codecs::opus::OpusHead;
    use crate::container::ogg_opus::tests::source;

    /// An access unit's control header and `packet`, with the trims given.
    fn access_unit(packet: &[u8], trim_start: Option<u16>, trim_end: Option<u16>) -> Vec<u8> {
        let mut unit = Vec::new();
        let trim = |t: Option<u16>| u64::from(t.unwrap_or(0));
        frame_packet(packet, trim(trim_start), trim(trim_end), &mut unit);
        unit
    }

    /// A 20 ms CELT packet (TOC config 31, one frame) of `len` bytes.
    fn packet(len: usize, fill: u8) -> Vec<u8> {
        let mut p = vec![fill; len];
        p[0] = 31 << 3;
        p
    }

    /// Length, pts, duration, start and end trim of a packet; `Err` for damage.
    type Seen = std::result::Result<(usize, u64, u64, u64, u64), ()>;

    fn packets(bytes: Vec<u8>) -> Vec<Seen> {
        let mut reader = OpusUnitsReader::for_transport_stream(source(bytes), 2).unwrap();
        let mut out = Vec::new();
        loop {
            match reader.next_packet() {
                Ok(Some(p)) => out.push(Ok((
                    p.data.len(),
                    p.pts.get() as u64,
                    p.dur.get(),
                    p.trim_start.get(),
                    p.trim_end.get(),
                ))),
                Ok(None) => return out,
                Err(_) => out.push(Err(())),
            }
        }
    }

    #[test]
    fn access_units_come_out_with_their_trims() {
        let mut bytes = access_unit(&packet(600, 1), Some(312), None);
        bytes.extend(access_unit(&packet(255, 2), None, None));
        bytes.extend(access_unit(&packet(40, 3), None, Some(648)));
        assert_eq!(
            packets(bytes),
            [
                Ok((600, 0, 960 - 312, 312, 0)),
                Ok((255, 960, 960, 0, 0)),
                Ok((40, 1920, 960 - 648, 0, 648)),
            ]
        );
    }

    #[test]
    fn header_packets_among_the_audio_are_passed_over() {
        let mut bytes = access_unit(b"OpusHead\x01\x02\x38\x01\x80\xbb\0\0\0\0\0", None, None);
        bytes.extend(access_unit(b"OpusTags\0\0\0\0\0\0\0\0", None, None));
        bytes.extend(access_unit(&packet(100, 1), Some(312), None));
        assert_eq!(packets(bytes), [Ok((100, 0, 960 - 312, 312, 0))]);
    }

    #[test]
    fn packets_framed_with_trims_beyond_the_field_are_bounded() {
        let mut bytes = Vec::new();
        frame_packet(&packet(10, 2), 9000, 0, &mut bytes);
        assert_eq!(packets(bytes), [Ok((10, 0, 0, 960, 0))]);
    }

    #[test]
    fn a_control_extension_is_passed_over_and_trims_are_bounded() {
        let mut unit = vec![SYNC_FIRST, 0xe0 | EXTENSION | START_TRIM, 10];
        unit.extend_from_slice(&0xffffu16.to_be_bytes()); // 8191 after its reserved bits
        unit.extend_from_slice(&[3, 9, 9, 9]);
        unit.extend(packet(10, 4));
        assert_eq!(packets(unit), [Ok((10, 0, 0, 960, 0))]);
    }

    #[test]
    fn damage_is_skipped_to_the_next_control_header_and_a_cut_unit_dropped() {
        let first = access_unit(&packet(100, 1), None, None);
        let second = access_unit(&packet(100, 2), None, None);
        // The first unit's tail lost, as with a lost transport packet; then junk with a 0x7f in
        // it; then the second unit, then a third cut short.
        let mut bytes = first[..60].to_vec();
        bytes.extend(&second);
        bytes.extend([0x7f, 0x00, 0x55]);
        bytes.extend(&second);
        bytes.extend(&access_unit(&packet(100, 3), None, None)[..50]);
        // The first unit's 100 bytes are read across the second's start (its payload is wrong,
        // as a decoder will find); the reader finds a control header again after the junk.
        assert_eq!(
            packets(bytes),
            [Ok((100, 0, 960, 0, 0)), Err(()), Ok((100, 960, 960, 0, 0))]
        );
    }

    #[test]
    fn channel_config_codes_stand_for_opus_heads() {
        let head = |code| OpusHead::parse(&opus_head(code).unwrap()).unwrap();
        assert_eq!(
            (head(0).channels, head(0).streams, head(0).coupled_streams),
            (2, 2, 0)
        );
        assert_eq!((head(1).channels, head(1).mapping_family), (1, 0));
        assert_eq!((head(2).channels, head(2).coupled_streams), (2, 1));
        let surround = head(6);
        assert_eq!(
            (
                surround.mapping_family,
                surround.streams,
                surround.coupled_streams
            ),
            (1, 4, 2)
        );
        assert_eq!(surround.mapping, [0, 4, 1, 2, 3, 5]);
        assert_eq!(head(8).mapping, [0, 6, 1, 2, 3, 4, 5, 7]);
        for code in [9, 0x81, 0xff] {
            assert!(
                opus_head(code)
                    .unwrap_err()
                    .contains(&format!("{code:#04x}"))
            );
        }
    }
}
