//! Musepack files (`.mpc`), both stream versions still in use:
//!
//! - SV8 (`MPCK`): packets of a two-letter key and a variable-length size. `SH` is the stream
//!   header (with a CRC-32), `AP` an audio packet of 4^n frames, `SE` the end; the others
//!   (replay gain, encoder info, seek table, chapters) are read past. Each audio packet goes out
//!   as one packet.
//! - SV7 (`MP+`): a 28-byte header, then frames that each start with their length in bits,
//!   packed without byte alignment into 32-bit little-endian words. Each frame goes out as one
//!   packet, its bits put in reading order.
//!
//! Written here rather than using libmpcdec's demuxer (`codecs::musepack` uses its frame decoder
//! only): that demuxer seeks (to the seek table, the chapters, past an ID3v2 tag), which a
//! stream cannot, and trusts the sizes it reads. After the stream's end, tags (APEv2, ID3v1)
//! are read past; anything else is the next stream's.

use std::io::{self, Read};

use symphonia::core::codecs::audio::AudioCodecParameters;
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

use crate::codecs::musepack::{CODEC_ID_MUSEPACK, FRAME_LENGTH, StreamParams};

static MUSEPACK_INFO: FormatInfo = FormatInfo {
    format: FormatId::new(FourCc::new(*b"MPCK")),
    short_name: "mpc",
    long_name: "Musepack",
};

const SV8_MAGIC: [u8; 4] = *b"MPCK";
const SV7_MAGIC: [u8; 3] = *b"MP+";
/// The sample rates a header's index names.
const RATES: [u32; 4] = [44_100, 48_000, 37_800, 32_000];
/// libmpcdec's bound on a frame's bytes.
const MAX_FRAME_BYTES: u64 = 4352;
/// The most frames an SV8 audio packet may hold here: `mpcenc --num_frames 5` (the default is
/// 3, 64 frames). Larger packets (up to 16384 frames) would be decoded into one buffer of up to
/// 150 MB.
const MAX_FRAMES_PER_PACKET: u32 = 1024;
/// The longest SV8 header packet read (a stream header is 12 to 30 bytes; the others are read
/// past).
const MAX_HEADER_PACKET: u64 = 1024;

/// Whether the source is at a Musepack SV7 or SV8 header; the source is left where it was.
pub fn at_header(source: &mut MediaSourceStream<'_>) -> bool {
    super::source::look_ahead(source, |source| {
        source
            .read_quad_bytes()
            .is_ok_and(|magic| magic == SV8_MAGIC || magic[..3] == SV7_MAGIC)
    })
}

/// Reads the packets of a Musepack stream.
pub struct MusepackReader<'s> {
    source: MediaSourceStream<'s>,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    params: StreamParams,
    layout: Layout,
    /// Packets handed out.
    packets: u64,
    ended: bool,
}

enum Layout {
    /// The next packet's payload length, when its header has been read and it is audio.
    Sv8 {
        audio_ahead: Option<u64>,
    },
    Sv7(Sv7Frames),
}

impl<'s> MusepackReader<'s> {
    pub fn try_new(mut source: MediaSourceStream<'s>) -> Result<Self> {
        let magic = source.read_quad_bytes()?;
        let (rate, params, layout) = if magic == SV8_MAGIC {
            let (rate, params, audio_len) = read_sv8_head(&mut source)?;
            let layout = Layout::Sv8 {
                audio_ahead: Some(audio_len),
            };
            (rate, params, layout)
        } else if magic[..3] == SV7_MAGIC {
            if magic[3] & 0x0f != 7 {
                return Err(SymphoniaError::Unsupported(
                    "musepack: only stream versions 7 and 8 are supported",
                ));
            }
            let (rate, params, frames) = read_sv7_head(&mut source)?;
            (rate, params, Layout::Sv7(frames))
        } else {
            return Err(SymphoniaError::DecodeError("musepack: no Musepack header"));
        };
        let mut codec = AudioCodecParameters::new();
        codec
            .for_codec(CODEC_ID_MUSEPACK)
            .with_sample_rate(rate)
            .with_channels(super::pcm_stream::wave_channels(
                u16::from(params.channels),
                0,
            ))
            .with_max_frames_per_packet(u64::from(params.frames_per_packet) * FRAME_LENGTH)
            .with_extra_data(params.to_bytes().into());
        let mut track = super::audio_track(codec);
        if params.samples > 0 {
            track.with_num_frames(params.samples.saturating_sub(params.leading_silence));
        }
        Ok(MusepackReader {
            source,
            media_info: MediaInfo::from_track(&track),
            tracks: vec![track],
            metadata: MetadataLog::default(),
            params,
            layout,
            packets: 0,
            ended: false,
        })
    }

    /// The next SV8 audio packet's payload, or None at the stream's end.
    fn next_sv8_audio(&mut self, mut audio_ahead: Option<u64>) -> Result<Option<Vec<u8>>> {
        loop {
            if let Some(len) = audio_ahead.take() {
                let max = u64::from(self.params.frames_per_packet) * MAX_FRAME_BYTES + 64;
                if len > max {
                    return Err(SymphoniaError::DecodeError(
                        "musepack: an audio packet longer than its frames can be",
                    ));
                }
                let mut data = vec![0u8; 1 + len as usize];
                let whole = super::source::read_packet(&mut self.source, &mut data[1..])?;
                return Ok(whole.then_some(data));
            }
            let Some((key, len)) = read_sv8_packet_header(&mut self.source)? else {
                return Ok(None);
            };
            match &key {
                b"AP" => audio_ahead = Some(len),
                b"SE" => {
                    let _ = self.source.ignore_bytes(len);
                    return Ok(None);
                }
                _ => self.source.ignore_bytes(len)?,
            }
        }
    }
}

/// Reads an SV8 packet header: the key and the payload's length. None at the end of the
/// stream.
fn read_sv8_packet_header(source: &mut MediaSourceStream<'_>) -> Result<Option<([u8; 2], u64)>> {
    let mut key = [0u8; 2];
    match ReadBytes::read_buf_exact(source, &mut key) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    if !key.iter().all(u8::is_ascii_uppercase) {
        return Err(SymphoniaError::DecodeError(
            "musepack: damaged stream (a packet key that is not two capital letters)",
        ));
    }
    let Some((size, size_bytes)) = sv8_size(|| source.read_byte())? else {
        return Err(SymphoniaError::DecodeError(
            "musepack: damaged stream (a packet size too long)",
        ));
    };
    // The size counts the key and itself.
    let header = 2 + size_bytes;
    if size < header {
        return Err(SymphoniaError::DecodeError(
            "musepack: damaged stream (a packet shorter than its header)",
        ));
    }
    Ok(Some((key, size - header)))
}

/// A variable-length size of SV8 (7 bits a byte, most significant first, the top bit set on
/// all bytes but the last) from `next_byte`: its value and length, or None past 8 bytes.
fn sv8_size(mut next_byte: impl FnMut() -> io::Result<u8>) -> io::Result<Option<(u64, u64)>> {
    let mut value = 0u64;
    for len in 1..=8 {
        let byte = next_byte()?;
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Ok(Some((value, len)));
        }
    }
    Ok(None)
}

/// A variable-length size inside an SV8 packet's payload, from `at`.
fn payload_size(payload: &[u8], at: &mut usize) -> Option<u64> {
    let next_byte = || {
        let byte = payload.get(*at).copied();
        *at += 1;
        byte.ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))
    };
    sv8_size(next_byte).ok().flatten().map(|(value, _)| value)
}

/// Reads SV8 packets up to the first audio packet's header: the rate, the stream's parameters
/// and the audio packet's length.
fn read_sv8_head(source: &mut MediaSourceStream<'_>) -> Result<(u32, StreamParams, u64)> {
    let mut header = None;
    loop {
        let Some((key, len)) = read_sv8_packet_header(source)? else {
            return Err(SymphoniaError::DecodeError(
                "musepack: the stream ends before its audio",
            ));
        };
        match &key {
            b"SH" => {
                if len > MAX_HEADER_PACKET {
                    return Err(SymphoniaError::DecodeError(
                        "musepack: damaged stream header",
                    ));
                }
                let mut payload = vec![0u8; len as usize];
                ReadBytes::read_buf_exact(source, &mut payload)?;
                header = Some(parse_sv8_stream_header(&payload)?);
            }
            b"AP" => {
                return match header {
                    Some((rate, params)) => Ok((rate, params, len)),
                    None => Err(SymphoniaError::DecodeError(
                        "musepack: audio before the stream header",
                    )),
                };
            }
            b"SE" => {
                return Err(SymphoniaError::DecodeError(
                    "musepack: the stream ends before its audio",
                ));
            }
            _ => source.ignore_bytes(len)?,
        }
    }
}

/// Parses an SV8 stream header (`SH`) payload.
fn parse_sv8_stream_header(payload: &[u8]) -> Result<(u32, StreamParams)> {
    let damaged = || SymphoniaError::DecodeError("musepack: damaged stream header");
    let (crc, rest) = payload.split_at_checked(4).ok_or_else(damaged)?;
    if u32::from_be_bytes(crc.try_into().unwrap()) != crc32fast::hash(rest) {
        return Err(SymphoniaError::DecodeError(
            "musepack: damaged stream header (its CRC does not match)",
        ));
    }
    if rest.first() != Some(&8) {
        return Err(SymphoniaError::Unsupported(
            "musepack: unsupported stream version in an SV8 header",
        ));
    }
    let mut at = 1;
    let samples = payload_size(rest, &mut at).ok_or_else(damaged)?;
    let leading_silence = payload_size(rest, &mut at).ok_or_else(damaged)?;
    let fields = rest.get(at..at + 2).ok_or_else(damaged)?;
    let rate_index = usize::from(fields[0] >> 5);
    let max_band = (fields[0] & 0x1f) + 1;
    let channels = (fields[1] >> 4) + 1;
    let mid_side = fields[1] & 0x08 != 0;
    let frames_per_packet = 1u32 << (2 * u32::from(fields[1] & 0x07));
    let rate = *RATES.get(rate_index).ok_or_else(damaged)?;
    if max_band > 31 {
        return Err(damaged());
    }
    if channels > 2 {
        return Err(SymphoniaError::Unsupported(
            "musepack: more than two channels are not supported",
        ));
    }
    if frames_per_packet > MAX_FRAMES_PER_PACKET {
        return Err(SymphoniaError::Unsupported(
            "musepack: audio packets of more than 1024 frames (mpcenc --num_frames 6 or 7) are \
             not supported",
        ));
    }
    if samples != 0 && leading_silence > samples {
        return Err(damaged());
    }
    Ok((
        rate,
        StreamParams {
            version: 8,
            channels,
            max_band,
            mid_side,
            gapless: true,
            frames_per_packet,
            samples,
            leading_silence,
        },
    ))
}

/// Reads the SV7 header after its magic: 6 little-endian words, the last of which the first
/// frame shares (all but its top 8 bits).
fn read_sv7_head(source: &mut MediaSourceStream<'_>) -> Result<(u32, StreamParams, Sv7Frames)> {
    let mut words = [0u8; 24];
    ReadBytes::read_buf_exact(source, &mut words)?;
    let word =
        |index: usize| u32::from_le_bytes(words[4 * index..4 * index + 4].try_into().unwrap());
    let frames = u64::from(word(0));
    let flags = word(1);
    let mid_side = flags & (1 << 30) != 0;
    let max_band = ((flags >> 24) & 0x3f) as u8;
    let rate = RATES[((flags >> 16) & 0x03) as usize];
    let gapless = word(4) >> 31 != 0;
    let last_frame = u64::from((word(4) >> 20) & 0x7ff);
    if !(1..=31).contains(&max_band) || last_frame > FRAME_LENGTH || frames == 0 {
        return Err(SymphoniaError::DecodeError("musepack: damaged SV7 header"));
    }
    let last_frame = if last_frame == 0 {
        FRAME_LENGTH
    } else {
        last_frame
    };
    // As libmpcdec counts them: without the gapless length, the synthesis filter's delay is
    // left out at the end.
    let samples = (frames * FRAME_LENGTH).saturating_sub(if gapless {
        FRAME_LENGTH - last_frame
    } else {
        481
    });
    let params = StreamParams {
        version: 7,
        channels: 2,
        max_band,
        mid_side,
        gapless,
        frames_per_packet: 1,
        samples,
        leading_silence: 0,
    };
    let mut first_word = [0u8; 4];
    first_word.copy_from_slice(&words[20..24]);
    first_word.reverse();
    Ok((rate, params, Sv7Frames::new(frames, first_word)))
}

/// The SV7 frame stream: 32-bit little-endian words, read most significant bit first.
struct Sv7Frames {
    /// Frames the header declares, and those handed out.
    frames: u64,
    done: u64,
    /// Words read and not yet handed out, each byte-swapped into reading order.
    bits: Vec<u8>,
    /// The next frame's first bit in `bits`.
    position: u64,
}

impl Sv7Frames {
    fn new(frames: u64, first_word: [u8; 4]) -> Sv7Frames {
        Sv7Frames {
            frames,
            done: 0,
            bits: first_word.to_vec(),
            // The header's last field, the encoder's version, is the word's top byte.
            position: 8,
        }
    }

    /// Reads words until `bits` holds `end` bits; false when the stream ends first. A word cut
    /// short is dropped: its bytes would be the last ones of the word in reading order, with
    /// no telling which bits are missing.
    fn fill_to(&mut self, source: &mut MediaSourceStream<'_>, end: u64) -> Result<bool> {
        let have = self.bits.len() as u64 * 8;
        if end <= have {
            return Ok(true);
        }
        let words = (end - have).div_ceil(32) as usize;
        let start = self.bits.len();
        self.bits.resize(start + 4 * words, 0);
        let mut got = 0;
        while got < 4 * words {
            match source.read(&mut self.bits[start + got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.bits.truncate(start + got / 4 * 4);
        for word in self.bits[start..].chunks_exact_mut(4) {
            word.reverse();
        }
        Ok(self.bits.len() as u64 * 8 >= end)
    }

    /// `count` (up to 32) bits from bit `at` of `bits`.
    fn read_bits(&self, at: u64, count: u32) -> u32 {
        (0..u64::from(count)).fold(0, |value, bit| {
            let index = at + bit;
            let byte = self.bits[(index / 8) as usize];
            (value << 1) | u32::from((byte >> (7 - index % 8)) & 1)
        })
    }

    /// The next frame as a packet (see `codecs::musepack`), or None at the end.
    fn next_frame(&mut self, source: &mut MediaSourceStream<'_>) -> Result<Option<Vec<u8>>> {
        if self.done == self.frames || !self.fill_to(source, self.position + 20)? {
            return Ok(None);
        }
        let len = u64::from(self.read_bits(self.position, 20));
        if len > 8 * MAX_FRAME_BYTES {
            return Err(SymphoniaError::DecodeError(
                "musepack: damaged frame (longer than a frame can be)",
            ));
        }
        let start = self.position + 20;
        let last = self.done + 1 == self.frames;
        // The last frame is followed by its length in samples (11 bits); the decoder may read
        // a little past the others, into the next frame.
        let end = start + len + if last { 11 } else { 32 };
        self.fill_to(source, end)?;
        if (self.bits.len() as u64 * 8) < start + len + if last { 11 } else { 0 } {
            // Cut short inside this frame.
            return Ok(None);
        }
        let from = (start / 8) as usize;
        let to = (end.div_ceil(8) as usize).min(self.bits.len());
        let mut packet = Vec::with_capacity(1 + to - from);
        packet.push((start % 8) as u8);
        packet.extend_from_slice(&self.bits[from..to]);
        self.done += 1;
        self.position = start + len;
        // Keep the bytes from the next frame's on.
        let drop = (self.position / 8) as usize;
        self.bits.drain(..drop);
        self.position -= drop as u64 * 8;
        Ok(Some(packet))
    }
}

impl FormatReader for MusepackReader<'_> {
    super::unseekable_reader_methods!(MUSEPACK_INFO);

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        if self.ended {
            return Ok(None);
        }
        let next = match &mut self.layout {
            Layout::Sv8 { audio_ahead } => {
                let ahead = audio_ahead.take();
                self.next_sv8_audio(ahead)
            }
            Layout::Sv7(frames) => frames.next_frame(&mut self.source),
        };
        let data = match next {
            Ok(Some(data)) => data,
            Ok(None) => {
                self.ended = true;
                super::skip_trailing_tags(&mut self.source);
                return Ok(None);
            }
            Err(e) => {
                // Nothing after this can be found: the stream ends with this error.
                self.ended = true;
                return Err(e);
            }
        };
        let samples = u64::from(self.params.frames_per_packet) * FRAME_LENGTH;
        let pts = self.packets * samples;
        self.packets += 1;
        Ok(Some(super::track_packet(pts, samples, data)))
    }
}

impl Scoreable for MusepackReader<'_> {
    fn score(mut source: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        let magic = source.read_quad_bytes()?;
        Ok(if magic == SV8_MAGIC || magic[..3] == SV7_MAGIC {
            Score::Supported(255)
        } else {
            Score::Unsupported
        })
    }
}

impl ProbeableFormat<'_> for MusepackReader<'_> {
    fn try_probe_new(
        source: MediaSourceStream<'_>,
        _opts: FormatOptions,
    ) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(MusepackReader::try_new(source)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        static DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["mpc", "mp+", "mpp"],
                mime_types: &["audio/x-musepack", "audio/musepack"],
                markers: &[&SV8_MAGIC, &SV7_MAGIC],
            },
            info: MUSEPACK_INFO,
        }];
        &DATA
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::source::Unseekable;
    use symphonia::core::io::MediaSourceStreamOptions;

    fn reader(bytes: Vec<u8>) -> Result<MusepackReader<'static>> {
        MusepackReader::try_new(MediaSourceStream::new(
            Box::new(Unseekable::new(io::Cursor::new(bytes))),
            MediaSourceStreamOptions::default(),
        ))
    }

    /// Bits, most significant first.
    #[derive(Default)]
    struct Bits(Vec<bool>);

    impl Bits {
        fn push(&mut self, value: u64, count: u32) {
            self.0
                .extend((0..count).rev().map(|bit| (value >> bit) & 1 == 1));
        }

        /// Packed into 32-bit little-endian words, as SV7 stores them.
        fn sv7_words(&self) -> Vec<u8> {
            self.0
                .chunks(32)
                .flat_map(|word| {
                    let value = word
                        .iter()
                        .enumerate()
                        .fold(0u32, |v, (i, &bit)| v | (u32::from(bit) << (31 - i)));
                    value.to_le_bytes()
                })
                .collect()
        }
    }

    /// An SV7 stream of frames with these lengths in bits, each filled with a pattern of its
    /// index, and the last frame's length in samples after them.
    fn sv7_stream(frame_bits: &[u64], last_frame_samples: u64) -> Vec<u8> {
        let mut bits = Bits::default();
        bits.push(u64::from(u32::from_le_bytes(*b"MP+\x07")), 32);
        bits.push(frame_bits.len() as u64, 32);
        // Mid/side, 27 bands, profile 10, 44.1 kHz, peak 0.
        bits.push(0b0101_1011_1010_0000, 16);
        bits.push(0, 16);
        bits.push(0, 32); // title gain and peak
        bits.push(0, 32); // album gain and peak
        bits.push(1, 1); // gapless
        bits.push(last_frame_samples, 11);
        bits.push(0, 20);
        bits.push(0x71, 8); // encoder version
        for (index, &len) in frame_bits.iter().enumerate() {
            bits.push(len, 20);
            for bit in 0..len {
                bits.push(u64::from((bit + index as u64).is_multiple_of(3)), 1);
            }
        }
        bits.push(last_frame_samples, 11);
        bits.sv7_words()
    }

    /// A packet's bits from its first, as the decoder reads them.
    fn packet_bits(packet: &[u8], count: u64) -> Vec<bool> {
        let first = u64::from(packet[0]);
        (first..first + count)
            .map(|at| (packet[1 + (at / 8) as usize] >> (7 - at % 8)) & 1 == 1)
            .collect()
    }

    #[test]
    fn sv7_frames_come_out_in_reading_order_with_the_last_frames_length() {
        let frame_bits = [1000, 37, 4321];
        let bytes = sv7_stream(&frame_bits, 300);
        let mut reader = reader(bytes).unwrap();
        let params = reader.params;
        assert_eq!(
            (params.version, params.max_band, params.mid_side),
            (7, 27, true)
        );
        assert_eq!(params.samples, 2 * FRAME_LENGTH + 300);
        for (index, &len) in frame_bits.iter().enumerate() {
            let packet = reader.next_packet().unwrap().unwrap();
            let expected: Vec<bool> = (0..len)
                .map(|bit| (bit + index as u64).is_multiple_of(3))
                .collect();
            assert_eq!(packet_bits(&packet.data, len), expected, "frame {index}");
            if index + 1 == frame_bits.len() {
                let tail = packet_bits(&packet.data, len + 11).split_off(len as usize);
                let mut samples = Bits::default();
                samples.push(300, 11);
                assert_eq!(tail, samples.0, "the last frame's length follows it");
            }
        }
        assert!(reader.next_packet().unwrap().is_none());
    }

    #[test]
    fn a_cut_sv7_stream_ends_after_its_last_whole_frame() {
        let bytes = sv7_stream(&[1000, 2000], 0);
        // 28 header bytes (the first frame starts 8 bits into the last header word), then a
        // frame of 20 + 1000 bits; cut inside the second.
        let mut reader = reader(bytes[..200].to_vec()).unwrap();
        assert!(reader.next_packet().unwrap().is_some());
        assert!(reader.next_packet().unwrap().is_none());
    }

    #[test]
    fn sv8_packets_of_unknown_keys_are_read_past_and_damaged_headers_refused() {
        let payload = {
            // Version 8, 384 samples, no leading silence, 44.1 kHz, 31 bands, stereo, mid/side,
            // 4^3 frames per packet.
            let mut rest = vec![8u8, 0x83, 0x00, 0x00, 0x1e, 0x1b];
            let mut sh = crc32fast::hash(&rest).to_be_bytes().to_vec();
            sh.append(&mut rest);
            sh
        };
        let mut bytes = b"MPCK".to_vec();
        bytes.extend(b"SH");
        bytes.push(3 + payload.len() as u8);
        bytes.extend(&payload);
        bytes.extend(b"XY\x06abc");
        bytes.extend(b"AP\x07");
        bytes.extend([0xaa; 4]);
        bytes.extend(b"SE\x03");
        let mut reader = reader(bytes.clone()).unwrap();
        let params = reader.params;
        assert_eq!(params.samples, 3 << 7);
        assert_eq!(
            (params.channels, params.max_band, params.frames_per_packet),
            (2, 31, 64)
        );
        let packet = reader.next_packet().unwrap().unwrap();
        assert_eq!(&packet.data[..], &[0, 0xaa, 0xaa, 0xaa, 0xaa]);
        assert!(reader.next_packet().unwrap().is_none());

        let mut damaged = bytes.clone();
        damaged[9] ^= 0x40;
        assert!(reader_error(damaged).contains("CRC"));
        let mut lowercase = bytes;
        lowercase[4] = b's';
        assert!(reader_error(lowercase).contains("capital letters"));
    }

    fn reader_error(bytes: Vec<u8>) -> String {
        match reader(bytes) {
            Ok(_) => panic!("the stream was accepted"),
            Err(e) => e.to_string(),
        }
    }
}
