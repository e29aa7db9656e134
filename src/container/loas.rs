//! AAC in LOAS/LATM (ISO/IEC 14496-3, 1.7): how DVB broadcasts carry AAC and HE-AAC in MPEG
//! transport streams (stream type 0x11), and what `ffmpeg -f latm` and FDK's LOAS transport
//! write. Each LOAS frame (an 11-bit sync word and a 13-bit length) holds an AudioMuxElement:
//! now and then a StreamMuxConfig with the stream's AudioSpecificConfig, then one or more
//! access units, bit-packed (they seldom start on a byte boundary). [`LoasReader`] hands each
//! access unit to the AAC decoder as a packet, with the config as the codec's extra data, as
//! MP4 gives it: FDK AAC decodes HE-AAC signalled either way, symphonia's decoder AAC-LC.
//!
//! Read here because neither symphonia nor any crate reads LATM. What is read: one program of
//! one layer (all that DVB, ffmpeg and FDK write), audioMuxVersion 0 and 1, variable payload
//! lengths; anything else is refused with an error that names it. Frames before the first
//! config (a broadcast joined mid-stream) are passed over; a config that changes (another
//! rate or layout) starts a new track.

use std::collections::VecDeque;

use symphonia::core::common::FourCc;
use symphonia::core::errors::{Error as SymphoniaError, Result};
use symphonia::core::formats::probe::{
    ProbeDataMatchSpec, ProbeFormatData, ProbeableFormat, Score, Scoreable,
};
use symphonia::core::formats::{
    FormatId, FormatInfo, FormatOptions, FormatReader, MediaInfo, Track,
};
use symphonia::core::io::{MediaSourceStream, ReadBytes, ScopedStream};
use symphonia::core::meta::MetadataLog;
use symphonia::core::packet::Packet;

use crate::container::aac_config::{AudioSpecificConfig, Bits, aac_track};

static LOAS_INFO: FormatInfo = FormatInfo {
    format: FormatId::new(FourCc::new(*b"loas")),
    short_name: "loas",
    long_name: "AAC in LOAS/LATM",
};

/// The sync word, the top 11 bits of a frame's first two bytes.
const SYNC: u16 = 0x2b7;
/// Sync word and length.
const HEADER_BYTES: usize = 3;
/// Frames read at the start of a stream, at most, to find the first StreamMuxConfig (DVB
/// repeats it every frame or every few; ffmpeg's muxer every 20 frames).
const FRAMES_BEFORE_CONFIG: usize = 100;

/// The whole length of the LOAS frame these bytes start with, header included, when they
/// start with a frame header.
pub fn frame_len(head: &[u8]) -> Option<usize> {
    let [a, b, c, ..] = *head else {
        return None;
    };
    (u16::from_be_bytes([a, b]) >> 5 == SYNC)
        .then(|| HEADER_BYTES + ((usize::from(b & 0x1f) << 8) | usize::from(c)))
}

/// Why a mux element cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LatmError {
    /// A variant this reader does not read (several programs, fixed frame lengths, ...).
    Unsupported(&'static str),
    /// The element is shorter than what it says it holds, or its config cannot be read.
    Damaged,
}

/// A StreamMuxConfig of one program of one layer: the stream's AudioSpecificConfig and how
/// many access units each element holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MuxConfig {
    /// The AudioSpecificConfig's bits, from the top of the first byte, as decoders take it.
    pub asc: Vec<u8>,
    /// What it says.
    pub audio: AudioSpecificConfig,
    /// Access units per mux element.
    pub sub_frames: usize,
    /// Bits of other data after the access units.
    pub other_data_bits: usize,
}

/// What an AudioMuxElement holds: a new config, if it carries one, and its access units.
#[derive(Debug, Default)]
pub struct MuxElement {
    pub config: Option<MuxConfig>,
    pub payloads: Vec<Vec<u8>>,
}

/// LatmGetValue: 2 bits saying how many bytes (1 to 4) the value takes, then the value.
fn latm_value(bits: &mut Bits) -> Option<u32> {
    let bytes = bits.take(2)? as usize + 1;
    bits.take(8 * bytes)
}

/// Reads a StreamMuxConfig (after the flag that announces it).
fn read_stream_mux_config(bits: &mut Bits) -> std::result::Result<MuxConfig, LatmError> {
    use LatmError::{Damaged, Unsupported};
    let version = bits.flag().ok_or(Damaged)?;
    if version && bits.flag().ok_or(Damaged)? {
        return Err(Unsupported("LATM with audioMuxVersionA 1"));
    }
    if version {
        // taraBufferFullness
        latm_value(bits).ok_or(Damaged)?;
    }
    let same_time_framing = bits.flag().ok_or(Damaged)?;
    let sub_frames = bits.take(6).ok_or(Damaged)? as usize + 1;
    let programs = bits.take(4).ok_or(Damaged)? + 1;
    let layers = bits.take(3).ok_or(Damaged)? + 1;
    if programs != 1 || layers != 1 {
        return Err(Unsupported("LATM with several programs or layers"));
    }
    if !same_time_framing {
        return Err(Unsupported(
            "LATM whose streams do not share their time framing",
        ));
    }
    // In audioMuxVersion 1 the config's length is stated (it may end with the SBR sync
    // extension); in 0 the config has to be read to its end.
    let stated_len = match version {
        true => Some(latm_value(bits).ok_or(Damaged)? as usize),
        false => None,
    };
    let asc_start = bits.position();
    let (measured, asc_bits) = match stated_len {
        Some(len) => {
            bits.skip(len).ok_or(Damaged)?;
            (None, len)
        }
        None => {
            let config = AudioSpecificConfig::read_whole(bits).ok_or(Unsupported(
                "LATM whose AudioSpecificConfig this reader cannot measure (audioMuxVersion 0 \
                 with an object type other than AAC's)",
            ))?;
            (Some(config), bits.position() - asc_start)
        }
    };
    let asc = bits
        .window(asc_start, asc_bits)
        .and_then(|mut asc| asc.copy(asc_bits))
        .ok_or(Damaged)?;
    let audio = match measured {
        Some(config) => config,
        None => AudioSpecificConfig::read_stated(&asc).ok_or(Damaged)?,
    };
    let frame_length_type = bits.take(3).ok_or(Damaged)?;
    if frame_length_type != 0 {
        return Err(Unsupported(
            "LATM with fixed frame lengths (only variable ones are read)",
        ));
    }
    // latmBufferFullness
    bits.skip(8).ok_or(Damaged)?;
    let mut other_data_bits = 0;
    if bits.flag().ok_or(Damaged)? {
        // otherDataLenBits: the other data itself comes after the payloads.
        if version {
            other_data_bits = latm_value(bits).ok_or(Damaged)? as usize;
        } else {
            loop {
                let more = bits.flag().ok_or(Damaged)?;
                other_data_bits = (other_data_bits << 8) + bits.take(8).ok_or(Damaged)? as usize;
                if !more || other_data_bits > 1 << 16 {
                    break;
                }
            }
        }
    }
    if bits.flag().ok_or(Damaged)? {
        // crcCheckSum
        bits.skip(8).ok_or(Damaged)?;
    }
    Ok(MuxConfig {
        asc,
        audio,
        sub_frames,
        other_data_bits,
    })
}

/// Reads the AudioMuxElement of a LOAS frame (the bytes after its header), with the config
/// in force before it.
pub fn read_mux_element(
    body: &[u8],
    current: Option<&MuxConfig>,
) -> std::result::Result<MuxElement, LatmError> {
    let mut bits = Bits::new(body);
    let same_config = bits.flag().ok_or(LatmError::Damaged)?;
    let mut element = MuxElement::default();
    if !same_config {
        element.config = Some(read_stream_mux_config(&mut bits)?);
    }
    let Some(config) = element.config.as_ref().or(current) else {
        // Nothing says how to read the access units yet.
        return Ok(element);
    };
    for _ in 0..config.sub_frames {
        let mut len = 0usize;
        loop {
            let byte = bits.take(8).ok_or(LatmError::Damaged)?;
            len += byte as usize;
            if byte != 255 {
                break;
            }
        }
        let payload = bits.copy(8 * len).ok_or(LatmError::Damaged)?;
        element.payloads.push(payload);
    }
    // What follows the access units: other data, the byte alignment, and (as ffmpeg allows)
    // up to 32 bytes of slack. More means the lengths are wrong.
    if bits.remaining() > config.other_data_bits + 7 + 256 {
        return Err(LatmError::Damaged);
    }
    Ok(element)
}

/// Whether the source is at a LOAS frame that another frame follows (or that ends the
/// stream): the two sync words and the length between them are proof enough. The source is
/// left where it was.
pub fn at_frames(source: &mut MediaSourceStream<'_>) -> bool {
    super::source::look_ahead(source, |source| two_frames(source, None).unwrap_or(false))
}

/// Whether the source is at a LOAS frame that another frame follows (or that ends the stream),
/// reading past them; with the config in force, also whether the frame's mux element reads
/// whole under it.
fn two_frames(source: &mut impl ReadBytes, config: Option<&MuxConfig>) -> std::io::Result<bool> {
    let mut head = [0u8; HEADER_BYTES];
    source.read_buf_exact(&mut head)?;
    let Some(len) = frame_len(&head) else {
        return Ok(false);
    };
    match config {
        Some(config) => {
            let mut body = vec![0u8; len - HEADER_BYTES];
            source.read_buf_exact(&mut body)?;
            if read_mux_element(&body, Some(config)).is_err() {
                return Ok(false);
            }
        }
        None => source.ignore_bytes((len - HEADER_BYTES) as u64)?,
    }
    match source.read_buf_exact(&mut head) {
        Ok(()) => Ok(frame_len(&head).is_some()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(true),
        Err(e) => Err(e),
    }
}

/// Reads the access units of a LOAS stream, a packet each.
pub struct LoasReader<'s> {
    source: MediaSourceStream<'s>,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    config: MuxConfig,
    /// Access units read and not yet handed out.
    pending: VecDeque<Vec<u8>>,
    /// Samples per channel at the core's rate handed out so far.
    samples: u64,
    ended: bool,
}

impl<'s> LoasReader<'s> {
    /// Reads up to the first StreamMuxConfig (the frames before it cannot be decoded).
    pub fn try_new(mut source: MediaSourceStream<'s>) -> Result<Self> {
        for _ in 0..FRAMES_BEFORE_CONFIG {
            let Some(frame) = read_frame(&mut source)? else {
                break;
            };
            match read_mux_element(&frame[HEADER_BYTES..], None) {
                Ok(MuxElement {
                    config: Some(config),
                    payloads,
                }) => {
                    let mut reader = LoasReader {
                        source,
                        tracks: vec![],
                        media_info: MediaInfo::default(),
                        metadata: MetadataLog::default(),
                        config,
                        pending: payloads.into(),
                        samples: 0,
                        ended: false,
                    };
                    reader.set_track();
                    return Ok(reader);
                }
                Ok(_) | Err(LatmError::Damaged) => {}
                Err(LatmError::Unsupported(what)) => {
                    return Err(SymphoniaError::Unsupported(what));
                }
            }
        }
        Err(SymphoniaError::DecodeError(
            "loas: no StreamMuxConfig (the AAC configuration) in the stream's first frames",
        ))
    }

    /// The track of the config in force.
    fn set_track(&mut self) {
        let track = aac_track(&self.config.asc, &self.config.audio);
        self.media_info = MediaInfo::from_track(&track);
        self.tracks = vec![track];
    }

    /// Reads past bytes up to the next frame whose mux element reads as it should and that
    /// another frame follows (a sync word alone turns up by chance in AAC data every few KiB),
    /// or to the end.
    fn find_next_frame(&mut self) {
        let config = &self.config;
        loop {
            let found = super::source::look_ahead(&mut self.source, |source| {
                two_frames(source, Some(config))
            });
            match found {
                Ok(true) => return,
                // Not a frame, or one the stream ends inside (a sync word by chance, or a cut).
                Ok(false) | Err(_) if self.source.read_byte().is_ok() => {}
                _ => {
                    self.ended = true;
                    return;
                }
            }
        }
    }
}

/// Reads the next whole frame; None at the end or when the stream ends inside it (a cut).
fn read_frame(source: &mut MediaSourceStream<'_>) -> Result<Option<Vec<u8>>> {
    let mut head = [0u8; HEADER_BYTES];
    let found = super::source::look_ahead(source, |source| {
        source.read_buf_exact(&mut head).map(|()| frame_len(&head))
    });
    match found {
        Ok(Some(len)) => {
            let mut frame = vec![0u8; len];
            Ok(super::source::read_packet(source, &mut frame)?.then_some(frame))
        }
        Ok(None) => Err(SymphoniaError::DecodeError("loas: no frame header")),
        Err(_) => Ok(None),
    }
}

impl FormatReader for LoasReader<'_> {
    super::unseekable_reader_methods!(LOAS_INFO);

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        loop {
            if let Some(payload) = self.pending.pop_front() {
                let pts = self.samples;
                let samples = u64::from(self.config.audio.frame_samples());
                self.samples += samples;
                return Ok(Some(super::track_packet(pts, samples, payload)));
            }
            if self.ended {
                return Ok(None);
            }
            let frame = match read_frame(&mut self.source) {
                Ok(Some(frame)) => frame,
                Ok(None) => {
                    self.ended = true;
                    return Ok(None);
                }
                Err(_) => {
                    super::skip_trailing_tags(&mut self.source);
                    self.find_next_frame();
                    if self.ended {
                        return Ok(None);
                    }
                    return Err(SymphoniaError::DecodeError(
                        "loas: damaged data passed over",
                    ));
                }
            };
            let element = match read_mux_element(&frame[HEADER_BYTES..], Some(&self.config)) {
                Ok(element) => element,
                Err(LatmError::Damaged) => {
                    // A damaged frame, or junk that starts like one.
                    self.find_next_frame();
                    return Err(SymphoniaError::DecodeError(
                        "loas: damaged data passed over",
                    ));
                }
                Err(LatmError::Unsupported(what)) => {
                    return Err(SymphoniaError::Unsupported(what));
                }
            };
            self.pending.extend(element.payloads);
            if let Some(config) = element.config
                && config.asc != self.config.asc
            {
                // Another rate or layout: a new track, and a decoder for it.
                self.config = config;
                self.samples = 0;
                self.set_track();
                return Err(SymphoniaError::ResetRequired);
            }
        }
    }
}

/// For the probe, which finds LOAS after junk or a tag: two frames in a row.
impl Scoreable for LoasReader<'_> {
    fn score(mut source: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        Ok(match two_frames(&mut source, None)? {
            true => Score::Supported(255),
            false => Score::Unsupported,
        })
    }
}

impl ProbeableFormat<'_> for LoasReader<'_> {
    fn try_probe_new(
        source: MediaSourceStream<'_>,
        _opts: FormatOptions,
    ) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(LoasReader::try_new(source)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        /// The sync word followed by each value of the length's top 5 bits.
        const MARKERS: [[u8; 2]; 32] = {
            let mut markers = [[0x56, 0xe0]; 32];
            let mut i = 0;
            while i < 32 {
                markers[i][1] |= i as u8;
                i += 1;
            }
            markers
        };
        static MARKER_SLICES: [&[u8]; 32] = {
            let mut slices: [&[u8]; 32] = [&[]; 32];
            let mut i = 0;
            while i < 32 {
                slices[i] = &MARKERS[i];
                i += 1;
            }
            slices
        };
        static DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["loas", "latm"],
                mime_types: &[],
                markers: &MARKER_SLICES,
            },
            info: LOAS_INFO,
        }];
        &DATA
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::aac_config::BitWriter;

    /// A frame as `ffmpeg -f latm` writes its first for AAC-LC at 44.1 kHz stereo, with a
    /// 2-byte access unit.
    #[test]
    fn ffmpeg_s_first_frame_has_the_config() {
        let head = [0x56, 0xe1, 0x5a];
        assert_eq!(frame_len(&head), Some(3 + 0x15a));
        // useSameStreamMux 0, version 0, same time framing, 0 sub frames, 0 programs, 0
        // layers; ASC 0x1210; frame length type 0, fullness 0xff, no other data, no CRC;
        // payload length 2, payload 0xabcd.
        let body = [0x20, 0x00, 0x12, 0x10, 0x1f, 0xe0, 0x15, 0x5e, 0x68];
        let element = read_mux_element(&body, None).unwrap();
        let config = element.config.unwrap();
        assert_eq!(config.asc, vec![0x12, 0x10]);
        assert_eq!(
            (config.audio.head.rate, config.audio.channels()),
            (44_100, Some(2))
        );
        assert_eq!(config.sub_frames, 1);
        assert_eq!(element.payloads, vec![vec![0xab, 0xcd]]);
    }

    /// audioMuxVersion 1 (lengths by LatmGetValue, the config's length stated, here with the
    /// SBR sync extension after it), two access units per element, other data, a CRC; then an
    /// element that uses the same config.
    #[test]
    fn version_1_sub_frames_and_other_data() {
        let mut w = BitWriter::default();
        w.put(0, 1); // useSameStreamMux
        w.put(1, 1); // audioMuxVersion
        w.put(0, 1); // audioMuxVersionA
        w.put(0, 2); // taraBufferFullness: 1 byte
        w.put(0xff, 8);
        w.put(1, 1); // allStreamsSameTimeFraming
        w.put(1, 6); // numSubFrames: 2 access units
        w.put(0, 4); // numProgram
        w.put(0, 3); // numLayer
        // AudioSpecificConfig: LC, 24 kHz, mono, GA flags; then the sync extension 0x2b7,
        // SBR, present, 48 kHz: 16 + 11 + 5 + 1 + 4 = 37 bits.
        w.put(0, 2); // ascLen: 1 byte
        w.put(37, 8);
        w.put(2, 5);
        w.put(6, 4);
        w.put(1, 4);
        w.put(0, 3);
        w.put(0x2b7, 11);
        w.put(5, 5);
        w.put(1, 1);
        w.put(3, 4);
        w.put(0, 3); // frameLengthType
        w.put(0xff, 8); // latmBufferFullness
        w.put(1, 1); // otherDataPresent
        w.put(0, 2); // otherDataLenBits: 1 byte
        w.put(16, 8);
        w.put(1, 1); // crcCheckPresent
        w.put(0x5a, 8);
        // Two access units of 3 and 300 bytes (the second length escaped: 255 + 45).
        w.put(3, 8);
        w.put(0x123456, 24);
        w.put(255, 8);
        w.put(45, 8);
        for i in 0..300 {
            w.put(i % 251, 8);
        }
        w.put(0xbeef, 16); // other data
        let element = read_mux_element(&w.bytes(), None).unwrap();
        let config = element.config.unwrap();
        assert_eq!(
            (config.audio.head.rate, config.audio.channels()),
            (24_000, Some(1))
        );
        assert_eq!((config.sub_frames, config.other_data_bits), (2, 16));
        // The config as stated, sync extension included, from the top of its first byte.
        assert_eq!(config.asc.len(), 5);
        assert_eq!(&config.asc[..2], &[0x13, 0x08]);
        assert_eq!(element.payloads.len(), 2);
        assert_eq!(element.payloads[0], vec![0x12, 0x34, 0x56]);
        assert_eq!(element.payloads[1].len(), 300);
        assert_eq!(element.payloads[1][250..252], [250, 0]);

        let mut w = BitWriter::default();
        w.put(1, 1); // useSameStreamMux
        w.put(1, 8);
        w.put(0x77, 8);
        w.put(2, 8);
        w.put(0x8899, 16);
        w.put(0xbeef, 16);
        let same = w.bytes();
        let element = read_mux_element(&same, Some(&config)).unwrap();
        assert!(element.config.is_none());
        assert_eq!(element.payloads, vec![vec![0x77], vec![0x88, 0x99]]);
        // Without a config before it, nothing can be read.
        assert!(read_mux_element(&same, None).unwrap().payloads.is_empty());
    }

    #[test]
    fn what_is_not_read_is_named_and_damage_is_told() {
        let mut w = BitWriter::default();
        w.put(0, 3);
        w.put(0, 6);
        w.put(1, 4); // two programs
        w.put(0, 3);
        w.put(0x1210, 16);
        assert_eq!(
            read_mux_element(&w.bytes(), None).unwrap_err(),
            LatmError::Unsupported("LATM with several programs or layers")
        );
        // An access unit longer than the frame.
        let body = [0x20, 0x00, 0x12, 0x10, 0x1f, 0xe0, 0x15, 0x5e];
        assert_eq!(
            read_mux_element(&body, None).unwrap_err(),
            LatmError::Damaged
        );
        // Lengths that leave far more than the frame's slack unread.
        let mut body = vec![0x20, 0x00, 0x12, 0x10, 0x1f, 0xe0, 0x15, 0x5e, 0x68];
        body.resize(100, 0);
        assert_eq!(
            read_mux_element(&body, None).unwrap_err(),
            LatmError::Damaged
        );
    }
}
