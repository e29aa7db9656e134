//! Hands out each FLAC frame as soon as the next frame's header is in.
//!
//! Symphonia's FLAC reader (0.6) looks for a frame's end by asking its source for the average
//! frame size plus 16 bytes, then for 1 KiB at a time, and the source fills every read to its
//! last byte: a frame goes out only once up to an average frame and a KiB past its end have
//! arrived. Live, that is up to a second frame of waiting (a 4608-sample frame is 104 ms at
//! 44.1 kHz). No setting changes it, hence this reader, written here.
//!
//! A FLAC frame does not state its length: it ends where the next frame header starts, which
//! the CRC-16 at its end confirms. [`FlacFrameReader`] takes over from symphonia's reader once
//! that has read the metadata (STREAMINFO, tags, pictures): it reads only the bytes the source
//! already holds (one more when it holds none), looks at each sync code among them, and cuts a
//! frame at the first that starts a header in the stream's format, with the frame before it
//! intact or the header carrying the next frame's number. The decoder does not check the
//! CRC-16, so this reader does: a frame that fails it is skipped with an error, as damaged data
//! after which the stream goes on. Bytes at the end that do not start a frame (an ID3v1 tag)
//! are not audio and are dropped.

use std::io;

use crate::checksum::Crc16;
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::{Error, Result, unsupported_error};
use symphonia::core::formats::{
    FormatInfo, FormatReader, MediaInfo, SeekMode, SeekTo, SeekedTo, Track,
};
use symphonia::core::io::{MediaSourceStream, ReadBytes, SeekBuffered};
use symphonia::core::meta::{Metadata, MetadataLog};
use symphonia::core::packet::Packet;
use symphonia::core::units::{Duration, Timestamp};

use crate::container::flac::{FrameHeader, frame_header, may_start_frame_header};

/// The longest FLAC frame header.
const MAX_HEADER: usize = 16;

/// The most read from the source at once, when it holds more.
const READ_CHUNK: usize = 16 * 1024;

/// What every frame of the stream shares, from STREAMINFO.
#[derive(Debug, Clone, Copy)]
struct StreamInfo {
    min_block: u32,
    max_block: u32,
    sample_rate: u32,
    channels: u8,
    bits_per_sample: u8,
}

impl StreamInfo {
    /// The 34 bytes of a STREAMINFO block.
    fn parse(body: &[u8]) -> Option<StreamInfo> {
        let body = body.get(..34)?;
        let packed = u64::from_be_bytes(body[10..18].try_into().ok()?);
        Some(StreamInfo {
            min_block: u32::from(u16::from_be_bytes([body[0], body[1]])),
            max_block: u32::from(u16::from_be_bytes([body[2], body[3]])),
            sample_rate: (packed >> 44) as u32,
            channels: ((packed >> 41) & 0x7) as u8 + 1,
            bits_per_sample: ((packed >> 36) & 0x1f) as u8 + 1,
        })
    }

    /// Whether `frame` may belong to this stream.
    fn admits(&self, frame: &FrameHeader) -> bool {
        frame.channels == self.channels
            && (frame.sample_rate == 0 || frame.sample_rate == self.sample_rate)
            && (frame.bits_per_sample == 0 || frame.bits_per_sample == self.bits_per_sample)
            && (self.max_block == 0 || frame.block_size <= self.max_block)
    }

    /// A frame holds at most its samples stored verbatim, plus headers and padding: a run of
    /// bytes this long with no frame end in it is damaged.
    fn frame_limit(&self) -> usize {
        let block = if self.max_block == 0 {
            65_535
        } else {
            self.max_block
        };
        // Side channels take one bit more; the subframe and frame headers a few bytes each.
        block as usize * self.channels as usize * (usize::from(self.bits_per_sample) + 1) / 8
            + 64
            + MAX_HEADER * 2
    }
}

/// How packets are stamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamping {
    /// From the number in each frame header, so that a skipped frame shows as a gap.
    Header,
    /// With the samples before each frame: old Flake streams carry a sample number where a
    /// frame number belongs (see `container::flac`).
    SampleCount,
}

/// Where the current frame ends.
enum FrameEnd {
    /// `len` bytes, and whether its CRC-16 matched.
    At { len: usize, intact: bool },
    /// No end within what a frame can hold: the header was not a frame's, or the frame is
    /// damaged beyond finding its end.
    Lost,
    /// The stream ended inside the frame.
    Cut,
}

/// A [`FormatReader`] for FLAC frames after symphonia's reader has read the metadata.
pub struct FlacFrameReader<'s> {
    source: MediaSourceStream<'s>,
    info: FormatInfo,
    media_info: MediaInfo,
    tracks: Vec<Track>,
    metadata: MetadataLog,
    stream: StreamInfo,
    stamping: Stamping,
    /// Read and not handed out yet; starts with `current`'s header when there is one.
    bytes: Vec<u8>,
    current: Option<FrameHeader>,
    /// The CRC-16 of `bytes[..crc_len]`.
    crc: Crc16,
    crc_len: usize,
    /// Where the search for the current frame's end goes on.
    scan_from: usize,
    ended: bool,
    next_ts: u64,
}

impl<'s> FlacFrameReader<'s> {
    /// Takes over from symphonia's FLAC reader: its tracks and tags, and its source, which is
    /// at the first frame. Any other reader, or one whose track has no STREAMINFO, is returned
    /// as it is.
    pub fn take_over(
        mut inner: Box<dyn FormatReader + 's>,
        stamping: Stamping,
    ) -> Box<dyn FormatReader + 's> {
        if inner.format_info().short_name != "flac" {
            return inner;
        }
        let stream = inner
            .tracks()
            .first()
            .and_then(|track| match &track.codec_params {
                Some(CodecParameters::Audio(params)) => {
                    params.extra_data.as_deref().and_then(StreamInfo::parse)
                }
                _ => None,
            });
        let Some(stream) = stream else {
            return inner;
        };
        let info = *inner.format_info();
        let media_info = *inner.media_info();
        let tracks = inner.tracks().to_vec();
        let mut metadata = MetadataLog::default();
        {
            let mut revisions = inner.metadata();
            loop {
                if let Some(revision) = revisions.current() {
                    metadata.push(revision.clone());
                }
                if revisions.pop().is_none() {
                    break;
                }
            }
        }
        Box::new(FlacFrameReader {
            source: inner.into_inner(),
            info,
            media_info,
            tracks,
            metadata,
            stream,
            stamping,
            bytes: Vec::new(),
            current: None,
            crc: Crc16::default(),
            crc_len: 0,
            scan_from: 0,
            ended: false,
            next_ts: 0,
        })
    }

    /// Appends what the source holds (up to [`READ_CHUNK`]), waiting for one byte if it holds
    /// none. False at the end of the stream.
    fn read_more(&mut self) -> io::Result<bool> {
        if self.ended {
            return Ok(false);
        }
        let want = self.source.unread_buffer_len().clamp(1, READ_CHUNK);
        let start = self.bytes.len();
        self.bytes.resize(start + want, 0);
        let read = self.source.read_buf(&mut self.bytes[start..]);
        let got = match read {
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => 0,
            Err(e) => {
                self.bytes.truncate(start);
                return Err(e);
            }
        };
        self.bytes.truncate(start + got);
        self.ended = got == 0;
        Ok(!self.ended)
    }

    /// The first 0xff in `bytes` at or after `from`: where a sync code may start.
    fn next_ff(&self, from: usize) -> Option<usize> {
        let rest = self.bytes.get(from..)?;
        memchr::memchr(0xff, rest).map(|offset| from + offset)
    }

    /// A header in the stream's format at `bytes[at..]`: `Ok(None)` when there is none, `Err`
    /// when too few bytes are in to tell.
    fn header_at(&self, at: usize) -> std::result::Result<Option<FrameHeader>, ()> {
        let rest = &self.bytes[at..];
        if !may_start_frame_header(rest) {
            return Ok(None);
        }
        match frame_header(rest) {
            Some(header) if self.stream.admits(&header) => Ok(Some(header)),
            None if rest.len() < MAX_HEADER && !self.ended => Err(()),
            _ => Ok(None),
        }
    }

    /// Finds a frame header to start from, dropping the bytes before it. Returns how many were
    /// dropped, and whether a header was found (false: the stream ended).
    fn sync(&mut self) -> io::Result<(usize, bool)> {
        let mut dropped = 0;
        let mut from = 0;
        loop {
            loop {
                let Some(at) = self.next_ff(from) else {
                    from = self.bytes.len();
                    break;
                };
                match self.header_at(at) {
                    Ok(Some(header)) => {
                        self.bytes.drain(..at);
                        self.start_frame(header);
                        return Ok((dropped + at, true));
                    }
                    Ok(None) => from = at + 1,
                    // Maybe a header, not all here yet.
                    Err(()) => {
                        from = at;
                        break;
                    }
                }
            }
            // Keep only what may still start a header.
            dropped += from;
            self.bytes.drain(..from);
            from = 0;
            if !self.read_more()? {
                dropped += self.bytes.len();
                self.bytes.clear();
                return Ok((dropped, false));
            }
        }
    }

    fn start_frame(&mut self, header: FrameHeader) {
        self.current = Some(header);
        self.crc = Crc16::default();
        self.crc_len = 0;
        // The smallest frame: its header, a byte of subframe, the CRC-16.
        self.scan_from = header.len + 3;
    }

    /// The CRC-16 of `bytes[..len]`, `len` at least what was asked for before.
    fn crc_up_to(&mut self, len: usize) -> u16 {
        self.crc.update(&self.bytes[self.crc_len..len]);
        self.crc_len = len;
        self.crc.value()
    }

    /// The number the frame after `header` carries.
    fn next_number(&self, header: &FrameHeader) -> u64 {
        match self.stamping {
            // Old Flake: a sample number in a fixed-block-size header.
            Stamping::SampleCount => header.number + u64::from(header.block_size),
            Stamping::Header => header.next_number(),
        }
    }

    /// Where the current frame (`header`, at the start of `bytes`) ends, reading as needed.
    fn frame_end(&mut self, header: &FrameHeader) -> io::Result<FrameEnd> {
        let next_number = self.next_number(header);
        loop {
            loop {
                let Some(at) = self.next_ff(self.scan_from) else {
                    self.scan_from = self.scan_from.max(self.bytes.len());
                    break;
                };
                match self.header_at(at) {
                    Ok(Some(next)) if next.variable_block_size == header.variable_block_size => {
                        if self.crc_up_to(at) == 0 {
                            return Ok(FrameEnd::At {
                                len: at,
                                intact: true,
                            });
                        }
                        // A frame that does not check out up to here: intact with something
                        // after it (a frame whose header is damaged), or damaged itself when
                        // the next frame is here; else this is no header.
                        match self.last_intact_prefix(header, at) {
                            Some(len) => return Ok(FrameEnd::At { len, intact: true }),
                            None if next.number == next_number => {
                                return Ok(FrameEnd::At {
                                    len: at,
                                    intact: false,
                                });
                            }
                            None => {}
                        }
                    }
                    Ok(_) => {}
                    // Maybe a header, not all here yet: look again there.
                    Err(()) => {
                        self.scan_from = at;
                        break;
                    }
                }
                self.scan_from = at + 1;
            }
            if self.bytes.len() > self.stream.frame_limit() {
                return Ok(FrameEnd::Lost);
            }
            if !self.read_more()? {
                return Ok(self.end_at_stream_end(header));
            }
        }
    }

    /// The stream ended after the current frame started: the frame is what passes the CRC
    /// check, and anything after it is not audio.
    fn end_at_stream_end(&mut self, header: &FrameHeader) -> FrameEnd {
        let len = self.bytes.len();
        if self.crc_up_to(len) == 0 {
            return FrameEnd::At { len, intact: true };
        }
        match self.last_intact_prefix(header, len) {
            Some(len) => FrameEnd::At { len, intact: true },
            None => FrameEnd::Cut,
        }
    }

    /// The longest run of bytes before `end` that starts with `header` and passes the CRC
    /// check: a frame with something that is not a frame after it.
    fn last_intact_prefix(&self, header: &FrameHeader, end: usize) -> Option<usize> {
        let mut crc = Crc16::default();
        let mut last_intact = None;
        for (i, byte) in self.bytes[..end].iter().enumerate() {
            crc.update(std::slice::from_ref(byte));
            if i + 1 >= header.len + 3 && crc.value() == 0 {
                last_intact = Some(i + 1);
            }
        }
        last_intact
    }

    fn packet(&mut self, header: &FrameHeader, data: Box<[u8]>) -> Packet {
        let block = u64::from(header.block_size);
        let ts = match self.stamping {
            Stamping::SampleCount => self.next_ts,
            Stamping::Header if header.variable_block_size => header.number,
            Stamping::Header if self.stream.min_block == self.stream.max_block => {
                header.number * u64::from(self.stream.min_block)
            }
            Stamping::Header => header.number * block,
        };
        self.next_ts = ts + block;
        let track = self.tracks.first().map_or(0, |t| t.id);
        Packet::new(
            track,
            Timestamp::new(ts as i64),
            Duration::from(block),
            data,
        )
    }
}

impl FormatReader for FlacFrameReader<'_> {
    fn format_info(&self) -> &FormatInfo {
        &self.info
    }

    fn media_info(&self) -> &MediaInfo {
        &self.media_info
    }

    fn metadata(&mut self) -> Metadata<'_> {
        self.metadata.metadata()
    }

    fn seek(&mut self, _mode: SeekMode, _to: SeekTo) -> Result<SeekedTo> {
        // The element reads streams front to back.
        unsupported_error("flac: seeking")
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        let header = match self.current {
            Some(header) => header,
            None => {
                // What is left when the stream has ended, if it starts with a sync code, is
                // what arrived of a frame.
                let cut =
                    self.ended && !self.bytes.is_empty() && may_start_frame_header(&self.bytes);
                let (dropped, found) = self.sync()?;
                if cut && !found {
                    return Err(Error::DecodeError(
                        "flac: the stream ends inside a frame, which is skipped",
                    ));
                }
                if dropped > 0 && found {
                    return Err(Error::DecodeError(
                        "flac: damaged data skipped up to the next frame",
                    ));
                }
                match self.current {
                    Some(header) if found => header,
                    _ => return Ok(None),
                }
            }
        };
        let (len, intact) = match self.frame_end(&header)? {
            FrameEnd::At { len, intact } => (len, intact),
            FrameEnd::Lost => {
                // Not a frame after all, or one damaged past finding its end: look again after
                // its first byte.
                self.current = None;
                self.bytes.drain(..1);
                return Err(Error::DecodeError(
                    "flac: lost the frames; damaged data skipped",
                ));
            }
            FrameEnd::Cut => {
                self.current = None;
                self.bytes.clear();
                return Err(Error::DecodeError(
                    "flac: the stream ends inside a frame, which is skipped",
                ));
            }
        };
        let data: Box<[u8]> = self.bytes[..len].into();
        self.bytes.drain(..len);
        match self.header_at(0) {
            Ok(Some(next)) => self.start_frame(next),
            // Damage, or what follows the last frame: the next call looks.
            _ => self.current = None,
        }
        if !intact {
            self.next_ts += u64::from(header.block_size);
            return Err(Error::DecodeError(
                "flac: a frame failed its CRC check and is skipped",
            ));
        }
        Ok(Some(self.packet(&header, data)))
    }

    fn into_inner<'a>(mut self: Box<Self>) -> MediaSourceStream<'a>
    where
        Self: 'a,
    {
        // Give back what was read and not handed out, while the source still holds it.
        let unread = self.bytes.len();
        if unread > 0 && unread <= self.source.read_buffer_len() {
            self.source.seek_buffered_rev(unread);
        }
        self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStreamOptions;
    use symphonia::default::formats::FlacReader;

    fn testbench(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/data/flac-test-files/{name}.flac",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn source(bytes: Vec<u8>) -> MediaSourceStream<'static> {
        MediaSourceStream::new(
            Box::new(io::Cursor::new(bytes)),
            MediaSourceStreamOptions::default(),
        )
    }

    /// A packet's timestamp and bytes.
    type Frames = Vec<(i64, Vec<u8>)>;

    /// Every packet's timestamp and bytes, and the errors between them.
    fn read_all(reader: &mut dyn FormatReader) -> (Frames, Vec<String>) {
        let mut packets = Vec::new();
        let mut errors = Vec::new();
        loop {
            match reader.next_packet() {
                Ok(Some(packet)) => packets.push((packet.pts.get(), packet.data.to_vec())),
                Ok(None) => break,
                Err(Error::IoError(_)) => break,
                Err(e) => errors.push(e.to_string()),
            }
            assert!(errors.len() < 100, "no end: {errors:?}");
        }
        (packets, errors)
    }

    fn symphonia_packets(bytes: &[u8]) -> Frames {
        let mut reader = FlacReader::try_new(source(bytes.to_vec()), FormatOptions::default())
            .expect("symphonia reads the file");
        read_all(&mut reader).0
    }

    fn our_packets(bytes: &[u8]) -> (Frames, Vec<String>) {
        let inner = FlacReader::try_new(source(bytes.to_vec()), FormatOptions::default())
            .expect("symphonia reads the header");
        let mut reader = FlacFrameReader::take_over(Box::new(inner), Stamping::Header);
        read_all(&mut *reader)
    }

    /// Where each frame starts in `bytes`, as symphonia's reader splits it.
    fn frame_starts(bytes: &[u8]) -> Vec<usize> {
        let packets = symphonia_packets(bytes);
        let total: usize = packets.iter().map(|(_, data)| data.len()).sum();
        let mut at = bytes.len() - total;
        packets
            .iter()
            .map(|(_, data)| {
                let start = at;
                at += data.len();
                start
            })
            .collect()
    }

    #[test]
    fn frames_are_the_ones_symphonias_reader_finds() {
        for name in [
            "60 - mono audio",
            "23 - 8 bit per sample",
            "22 - 12 bit per sample",
            "43 - 8 channels (7.1)",
            "64 - rice partitions with escape code zero",
        ] {
            let bytes = testbench(name);
            let expected = symphonia_packets(&bytes);
            let (packets, errors) = our_packets(&bytes);
            assert!(errors.is_empty(), "{name}: {errors:?}");
            assert!(expected.len() > 5, "{name}");
            assert_eq!(packets.len(), expected.len(), "{name}");
            assert!(packets == expected, "{name}: packets differ");
        }
    }

    /// The frames of the mono testbench file, and the index of one of a few KiB.
    fn mono_file() -> (Vec<u8>, Frames, Vec<usize>, usize) {
        let bytes = testbench("60 - mono audio");
        let expected = symphonia_packets(&bytes);
        let starts = frame_starts(&bytes);
        let big = (1..starts.len() - 1)
            .find(|&i| starts[i + 1] - starts[i] > 2000)
            .expect("a frame of a few KiB");
        (bytes, expected, starts, big)
    }

    #[test]
    fn a_damaged_frame_is_skipped_and_the_rest_kept() {
        let (mut bytes, expected, starts, big) = mono_file();
        bytes[(starts[big] + starts[big + 1]) / 2] ^= 0x55;
        let (packets, errors) = our_packets(&bytes);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("CRC"), "{errors:?}");
        let mut kept = expected.clone();
        kept.remove(big);
        assert!(packets == kept, "every other frame comes out as it is");
    }

    #[test]
    fn a_frame_with_a_damaged_header_is_skipped_and_the_one_before_kept() {
        let (mut bytes, expected, starts, big) = mono_file();
        // The header's CRC-8.
        bytes[starts[big] + 5] ^= 0x55;
        let (packets, errors) = our_packets(&bytes);
        assert_eq!(errors.len(), 1, "{errors:?}");
        let mut kept = expected.clone();
        kept.remove(big);
        assert!(packets == kept, "every other frame comes out as it is");
    }

    #[test]
    fn trailing_bytes_are_not_a_frame() {
        let mut bytes = testbench("60 - mono audio");
        let expected = symphonia_packets(&bytes);
        let mut tag = b"TAG".to_vec();
        tag.resize(128, 0x20);
        bytes.extend_from_slice(&tag);
        let (packets, errors) = our_packets(&bytes);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(packets == expected);
    }

    #[test]
    fn a_cut_last_frame_is_reported() {
        let bytes = testbench("60 - mono audio");
        let expected = symphonia_packets(&bytes);
        let starts = frame_starts(&bytes);
        let last = *starts.last().unwrap();
        let cut = &bytes[..last + (bytes.len() - last) / 2];
        let (packets, errors) = our_packets(cut);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("ends inside a frame"), "{errors:?}");
        assert!(packets == expected[..expected.len() - 1]);
    }

    #[test]
    fn garbage_between_frames_is_skipped() {
        let bytes = testbench("60 - mono audio");
        let expected = symphonia_packets(&bytes);
        let starts = frame_starts(&bytes);
        // Noise with sync-like bytes in it, between the second and third frames.
        let noise: Vec<u8> = (0..3000u32)
            .map(|i| {
                if i % 97 == 0 {
                    0xff
                } else {
                    (i * 7919 % 251) as u8
                }
            })
            .collect();
        let mut damaged = bytes[..starts[2]].to_vec();
        damaged.extend_from_slice(&noise);
        damaged.extend_from_slice(&bytes[starts[2]..]);
        let (packets, errors) = our_packets(&damaged);
        assert!(!errors.is_empty(), "the damage is reported");
        assert_eq!(packets.len(), expected.len(), "{errors:?}");
        assert!(packets[2..] == expected[2..]);
    }
}
