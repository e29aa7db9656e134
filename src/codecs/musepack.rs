//! Musepack (SV7 and SV8) with the system libmpcdec, the library GStreamer's and most players'
//! Musepack support uses.
//!
//! Only the library's frame decoder is used: its demuxer wants to seek, reads past the end of
//! its buffer on some damaged headers and trusts the sizes it reads; `container::musepack`
//! reads the stream instead. A packet is a byte giving the bit (0 to 7) its first frame starts
//! at, then the frames' bits, most significant bit first: one SV8 audio packet (up to
//! `frames_per_packet` frames, the first a key frame), or one SV7 frame with the 11 bits after
//! it (the last frame's length). The decoder keeps its synthesis filter between frames, so it
//! lives as long as the stream and trims the filter's delay (481 samples) and the encoder's
//! leading silence from the start itself.
//!
//! The bindings are written here: no binding crate for libmpcdec exists, and these three calls
//! are all this needs. Every call is in this module, each with its SAFETY argument.

use std::ffi::{c_char, c_uint};
use std::ptr::NonNull;
use std::sync::Mutex;

use symphonia::core::audio::{AsGenericAudioBufferRef, AudioBuffer, AudioSpec};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::errors::{Error as SymphoniaError, Result, unsupported_error};
use symphonia::core::packet::PacketRef;

pub use symphonia::core::codecs::audio::well_known::CODEC_ID_MUSEPACK;

/// Samples per channel in a frame.
pub const FRAME_LENGTH: u64 = 36 * 32;
/// What `mpc_decoder_decode_frame` may write: a frame, times four (its own buffer constant).
const DECODER_BUFFER_LENGTH: usize = FRAME_LENGTH as usize * 4;
/// Bytes the bit reader reads before its position (it assembles a value from the bytes behind
/// the bits it has just passed).
const LEAD: usize = 4;
/// Zero bytes after a packet. A frame reads at most a few KiB (libmpcdec's own bound is 4352
/// bytes); a damaged one can read past its packet's end by as much before the check after it
/// stops the packet, so the reads stay in this buffer.
const TAIL: usize = 16 << 10;

#[repr(C)]
struct MpcDecoder {
    _opaque: [u8; 0],
}

/// `mpc_streaminfo` of libmpcdec 1.2/1.3 (`mpc/streaminfo.h`), field for field.
#[repr(C)]
struct MpcStreamInfo {
    sample_freq: u32,
    channels: u32,
    stream_version: u32,
    bitrate: u32,
    average_bitrate: f64,
    max_band: u32,
    ms: u32,
    fast_seek: u32,
    block_pwr: u32,
    gain_title: u16,
    gain_album: u16,
    peak_album: u16,
    peak_title: u16,
    is_true_gapless: u32,
    samples: u64,
    beg_silence: u64,
    encoder_version: u32,
    encoder: [c_char; 256],
    pns: u8,
    profile: f32,
    profile_name: *const c_char,
    header_position: i32,
    tag_offset: i32,
    total_file_length: i32,
}

/// `mpc_bits_reader`: the byte at the reading position and how many of its bits are unread.
#[repr(C)]
struct MpcBitsReader {
    buff: *mut u8,
    count: c_uint,
}

/// `mpc_frame_info`.
#[repr(C)]
struct MpcFrameInfo {
    samples: u32,
    bits: i32,
    buffer: *mut f32,
    is_key_frame: u8,
}

#[link(name = "mpcdec")]
unsafe extern "C" {
    fn mpc_decoder_init(si: *mut MpcStreamInfo) -> *mut MpcDecoder;
    fn mpc_decoder_exit(decoder: *mut MpcDecoder);
    fn mpc_decoder_decode_frame(
        decoder: *mut MpcDecoder,
        reader: *mut MpcBitsReader,
        frame: *mut MpcFrameInfo,
    );
}

/// `mpc_decoder_init` rebuilds the library's global Huffman lookup tables (with the same
/// values every time); one at a time.
static INIT: Mutex<()> = Mutex::new(());

/// What the decoder needs of the stream's header, passed from the reader in the codec
/// parameters' extra data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamParams {
    /// 7 or 8.
    pub version: u8,
    pub channels: u8,
    /// The highest subband coded, 1 to 31.
    pub max_band: u8,
    /// Mid/side stereo.
    pub mid_side: bool,
    /// SV7: the header gives the last frame's length.
    pub gapless: bool,
    /// Frames in a packet: SV8's frames per audio packet, 1 for SV7.
    pub frames_per_packet: u32,
    /// Samples per channel in the stream, the leading silence included (SV7: as the header
    /// reader of libmpcdec computes it).
    pub samples: u64,
    /// Samples of the encoder's leading silence, not played.
    pub leading_silence: u64,
}

impl StreamParams {
    pub fn to_bytes(self) -> Vec<u8> {
        let mut bytes = vec![
            self.version,
            self.channels,
            self.max_band,
            u8::from(self.mid_side),
            u8::from(self.gapless),
        ];
        bytes.extend_from_slice(&self.frames_per_packet.to_le_bytes());
        bytes.extend_from_slice(&self.samples.to_le_bytes());
        bytes.extend_from_slice(&self.leading_silence.to_le_bytes());
        bytes
    }

    fn from_bytes(bytes: &[u8]) -> Option<StreamParams> {
        let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
        Some(StreamParams {
            version: *bytes.first()?,
            channels: *bytes.get(1)?,
            max_band: *bytes.get(2)?,
            mid_side: *bytes.get(3)? != 0,
            gapless: *bytes.get(4)? != 0,
            frames_per_packet: u32::from_le_bytes(bytes.get(5..9)?.try_into().ok()?),
            samples: u64_at(9)?,
            leading_silence: u64_at(17)?,
        })
    }
}

/// One libmpcdec frame decoder.
struct FrameDecoder(NonNull<MpcDecoder>);

// SAFETY: the decoder is plain memory owned by this handle alone (no thread-local state); it
// is used from one thread at a time through `&mut`, and nothing reads it through `&`.
unsafe impl Send for FrameDecoder {}
unsafe impl Sync for FrameDecoder {}

impl FrameDecoder {
    fn new(stream: &StreamParams) -> Result<FrameDecoder> {
        if !matches!(stream.version, 7 | 8)
            || !(1..=2).contains(&stream.channels)
            || !(1..=31).contains(&stream.max_band)
        {
            return unsupported_error("musepack: stream parameters out of range");
        }
        // SAFETY: all-zero is a valid `mpc_streaminfo` (integers, floats, a null pointer).
        let mut info: MpcStreamInfo = unsafe { std::mem::zeroed() };
        info.stream_version = u32::from(stream.version);
        info.channels = u32::from(stream.channels);
        info.max_band = u32::from(stream.max_band);
        info.ms = u32::from(stream.mid_side);
        info.is_true_gapless = u32::from(stream.gapless || stream.version == 8);
        // A header of unknown length (0 samples) would have the decoder give nothing: it
        // counts down from the length. Such a stream ends where its packets do.
        info.samples = if stream.samples == 0 {
            1 << 62
        } else {
            stream.samples
        };
        info.beg_silence = stream.leading_silence;
        let _one_at_a_time = INIT.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: `info` is a complete `mpc_streaminfo`, read during the call only; the
        // decoder it returns (or null when out of memory) is ours to free.
        let decoder = unsafe { mpc_decoder_init(&mut info) };
        NonNull::new(decoder)
            .map(FrameDecoder)
            .ok_or(SymphoniaError::DecodeError("musepack: out of memory"))
    }
}

impl Drop for FrameDecoder {
    fn drop(&mut self) {
        // SAFETY: the decoder came from `mpc_decoder_init` and is freed once, here.
        unsafe { mpc_decoder_exit(self.0.as_ptr()) }
    }
}

/// Decodes Musepack packets (see the module's comment for what they hold).
pub struct MusepackDecoder {
    codec_params: AudioCodecParameters,
    stream: StreamParams,
    frames: FrameDecoder,
    /// `LEAD` zero bytes, the packet, `TAIL` zero bytes.
    input: Vec<u8>,
    /// One frame's samples, interleaved.
    frame: Box<[f32]>,
    decoded: AudioBuffer<f32>,
    interleaved: Vec<f32>,
}

impl MusepackDecoder {
    fn try_new(params: &AudioCodecParameters) -> Result<MusepackDecoder> {
        let (Some(rate), Some(channels), Some(stream)) = (
            params.sample_rate,
            params.channels.clone(),
            params
                .extra_data
                .as_deref()
                .and_then(StreamParams::from_bytes),
        ) else {
            return unsupported_error("musepack: no stream parameters from the reader");
        };
        if channels.count() != usize::from(stream.channels) {
            return unsupported_error("musepack: channel count differs from the stream's");
        }
        Ok(MusepackDecoder {
            codec_params: params.clone(),
            frames: FrameDecoder::new(&stream)?,
            stream,
            input: Vec::new(),
            frame: vec![0.0; DECODER_BUFFER_LENGTH].into_boxed_slice(),
            decoded: AudioBuffer::new(AudioSpec::new(rate, channels), 0),
            interleaved: Vec::new(),
        })
    }

    fn decode_packet(&mut self, packet: &PacketRef<'_>) -> Result<()> {
        let (&first_bit, bits) = packet
            .data
            .split_first()
            .filter(|(first_bit, _)| **first_bit < 8)
            .ok_or(SymphoniaError::DecodeError("musepack: malformed packet"))?;
        self.input.clear();
        self.input.resize(LEAD, 0);
        self.input.extend_from_slice(bits);
        self.input.resize(LEAD + bits.len() + TAIL, 0);
        let packet_bits = bits.len() as u64 * 8;
        let channels = usize::from(self.stream.channels);
        self.interleaved.clear();
        let start = self.input.as_mut_ptr().wrapping_add(LEAD);
        let mut reader = MpcBitsReader {
            buff: start,
            count: 8 - c_uint::from(first_bit),
        };
        // Where the last frame ended, in bits from the packet's first byte.
        let mut frame_end = u64::from(first_bit);
        for index in 0..self.stream.frames_per_packet {
            let mut frame = MpcFrameInfo {
                samples: 0,
                bits: 0,
                buffer: self.frame.as_mut_ptr(),
                is_key_frame: u8::from(index == 0),
            };
            // SAFETY: the decoder is ours; `reader` points into `input`, which has `LEAD`
            // readable bytes before the packet and `TAIL` after it (more than a frame reads:
            // the position is checked after every frame); `frame.buffer` holds
            // `DECODER_BUFFER_LENGTH` samples, what the library writes at most.
            unsafe { mpc_decoder_decode_frame(self.frames.0.as_ptr(), &mut reader, &mut frame) };
            if frame.bits < 0 {
                // The stream's samples are all out.
                break;
            }
            // Where the reader is, in bits from the packet's first byte.
            let position =
                (reader.buff as usize - start as usize) as u64 * 8 + 8 - u64::from(reader.count);
            if position > packet_bits {
                if index > 0 && packet_bits - frame_end < 8 {
                    // The packet held fewer frames (a stream of unknown length ends so): its
                    // frames are all out, this one was decoded from the padding.
                    break;
                }
                return Err(SymphoniaError::DecodeError(
                    "musepack: damaged frame (it reads past its packet)",
                ));
            }
            frame_end = position;
            let samples = (frame.samples as usize).min(FRAME_LENGTH as usize) * channels;
            self.interleaved.extend_from_slice(&self.frame[..samples]);
        }
        let frames = self.interleaved.len() / channels;
        super::fill_interleaved(&mut self.decoded, &self.interleaved, frames);
        Ok(())
    }
}

impl AudioDecoder for MusepackDecoder {
    super::buffered_decoder_methods!();

    fn reset(&mut self) {
        if let Ok(frames) = FrameDecoder::new(&self.stream) {
            self.frames = frames;
        }
    }
}

impl RegisterableAudioDecoder for MusepackDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(MusepackDecoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        const CODECS: [SupportedAudioCodec; 1] = [SupportedAudioCodec {
            id: CODEC_ID_MUSEPACK,
            info: CodecInfo {
                short_name: "musepack",
                long_name: "Musepack",
                profiles: &[],
            },
        }];
        &CODECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_parameters_go_through_the_extra_data() {
        let params = StreamParams {
            version: 8,
            channels: 2,
            max_band: 31,
            mid_side: true,
            gapless: false,
            frames_per_packet: 64,
            samples: 132_300,
            leading_silence: 0,
        };
        assert_eq!(StreamParams::from_bytes(&params.to_bytes()), Some(params));
        assert_eq!(StreamParams::from_bytes(&[8, 2, 3]), None);
    }

    #[test]
    fn stream_parameters_out_of_range_are_refused() {
        let params = StreamParams {
            version: 6,
            channels: 2,
            max_band: 31,
            mid_side: true,
            gapless: false,
            frames_per_packet: 1,
            samples: 0,
            leading_silence: 0,
        };
        assert!(FrameDecoder::new(&params).is_err());
        assert!(
            FrameDecoder::new(&StreamParams {
                version: 8,
                max_band: 32,
                ..params
            })
            .is_err()
        );
    }
}
