//! WavPack (lossless, and the lossy part of hybrid files) with the system libwavpack, as
//! GStreamer's `wavpackdec` uses it.
//!
//! A packet is one WavPack frame: the blocks that hold one stretch of samples for every channel
//! (one block for mono and stereo, several for more channels). From `container::wavpack` each
//! block has its 32-byte `wvpk` header; from Matroska (`A_WAVPACK4`) the headers are cut down to
//! the fields that change, and the stream version comes from the track's codec private data. Every frame decodes on its own (WavPack blocks
//! carry all their decoder state), so each packet gets a fresh raw decoder
//! (`WavpackOpenRawDecoder`, which reads from memory). The bindings are written here: the
//! binding crates on crates.io build their own copy of the library, and the handful of calls
//! below is all this needs. Every call is in this module, each with its SAFETY argument.

use std::ffi::{c_char, c_int, c_void};
use std::ptr::NonNull;

use symphonia::core::audio::{
    AsGenericAudioBufferRef, AudioBuffer, AudioMut, AudioSpec, GenericAudioBufferRef,
};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::{
    AudioCodecParameters, AudioDecoder, AudioDecoderOptions, FinalizeResult,
};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::errors::{Error as SymphoniaError, Result, unsupported_error};
use symphonia::core::packet::PacketRef;

pub use symphonia::core::codecs::audio::well_known::CODEC_ID_WAVPACK;

/// The stream version assumed for Matroska blocks when the track gives none (WavPack 4's
/// lossless files; libwavpack decodes 0x402 to 0x410).
const DEFAULT_STREAM_VERSION: i16 = 0x407;

#[repr(C)]
struct WavpackContext {
    _opaque: [u8; 0],
}

/// Floating-point samples come out scaled to ±1.0.
const OPEN_NORMALIZE: c_int = 0x10;
/// `WavpackGetMode`: the samples are 32-bit floats.
const MODE_FLOAT: c_int = 0x8;

#[link(name = "wavpack")]
unsafe extern "C" {
    fn WavpackOpenRawDecoder(
        main_data: *mut c_void,
        main_size: i32,
        corr_data: *mut c_void,
        corr_size: i32,
        version: i16,
        error: *mut c_char,
        flags: c_int,
        norm_offset: c_int,
    ) -> *mut WavpackContext;
    fn WavpackCloseFile(wpc: *mut WavpackContext) -> *mut WavpackContext;
    fn WavpackUnpackSamples(wpc: *mut WavpackContext, buffer: *mut i32, samples: u32) -> u32;
    fn WavpackGetNumSamplesInFrame(wpc: *mut WavpackContext) -> u32;
    fn WavpackGetNumErrors(wpc: *mut WavpackContext) -> c_int;
    fn WavpackGetSampleRate(wpc: *mut WavpackContext) -> u32;
    fn WavpackGetNumChannels(wpc: *mut WavpackContext) -> c_int;
    fn WavpackGetChannelMask(wpc: *mut WavpackContext) -> c_int;
    fn WavpackGetBytesPerSample(wpc: *mut WavpackContext) -> c_int;
    fn WavpackGetBitsPerSample(wpc: *mut WavpackContext) -> c_int;
    fn WavpackGetMode(wpc: *mut WavpackContext) -> c_int;
}

/// What a frame says about its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameFormat {
    pub rate: u32,
    pub channels: u16,
    /// Speaker positions as a WAVE channel mask (WavPack keeps WAV's order); 0 when the file
    /// names none.
    pub channel_mask: u32,
    /// 1 to 4 bytes per integer sample (samples come right-justified in that width), or 4 for
    /// floats.
    pub bytes_per_sample: u8,
    pub bits_per_sample: u8,
    pub float: bool,
}

/// One frame opened by libwavpack, reading from `'a` bytes.
struct Frame<'a> {
    context: NonNull<WavpackContext>,
    _data: std::marker::PhantomData<&'a [u8]>,
}

impl<'a> Frame<'a> {
    /// Opens the blocks of one frame: with their headers, or as Matroska stores them (the
    /// block's sample count, then each block's flags, checksum, size and data), for which
    /// `version` is the stream version to assume.
    fn open(data: &'a [u8], version: i16) -> std::result::Result<Frame<'a>, &'static str> {
        let shortest = if data.starts_with(b"wvpk") { 32 } else { 12 };
        if data.len() < shortest || i32::try_from(data.len()).is_err() {
            return Err("wavpack: a frame too short to hold a block");
        }
        // libwavpack writes at most 80 bytes of message, NUL included.
        let mut error = [0 as c_char; 128];
        // SAFETY: `data` holds a header's worth of bytes at least (checked above), all the raw
        // decoder reads before it checks each block's length against what remains. It keeps a
        // pointer to `data` and only reads from it (the pointer is `*mut` in the C signature
        // alone); `Frame` borrows `data` for as long as the context lives. No correction data.
        // `error` has room for the library's messages.
        let context = unsafe {
            WavpackOpenRawDecoder(
                data.as_ptr() as *mut c_void,
                data.len() as i32,
                std::ptr::null_mut(),
                0,
                version,
                error.as_mut_ptr(),
                OPEN_NORMALIZE,
                0,
            )
        };
        // The library's message (in `error`) names which check failed; a static message keeps
        // decode errors allocation-free.
        match NonNull::new(context) {
            Some(context) => Ok(Frame {
                context,
                _data: std::marker::PhantomData,
            }),
            None => Err("wavpack: damaged frame (libwavpack could not open it)"),
        }
    }

    fn format(&self) -> std::result::Result<FrameFormat, &'static str> {
        let context = self.context.as_ptr();
        // SAFETY: the context is open (see `Frame`); the getters read its configuration.
        let (rate, channels, mask, bytes, bits, mode) = unsafe {
            (
                WavpackGetSampleRate(context),
                WavpackGetNumChannels(context),
                WavpackGetChannelMask(context),
                WavpackGetBytesPerSample(context),
                WavpackGetBitsPerSample(context),
                WavpackGetMode(context),
            )
        };
        let format = FrameFormat {
            rate,
            channels: u16::try_from(channels).unwrap_or(0),
            channel_mask: mask as u32,
            bytes_per_sample: u8::try_from(bytes).unwrap_or(0),
            bits_per_sample: u8::try_from(bits).unwrap_or(0),
            float: mode & MODE_FLOAT != 0,
        };
        let plausible = (1..=1_536_000).contains(&format.rate)
            && (1..=256).contains(&format.channels)
            && (1..=4).contains(&format.bytes_per_sample)
            && (!format.float || format.bytes_per_sample == 4);
        if plausible {
            Ok(format)
        } else {
            Err("wavpack: a frame with an impossible format")
        }
    }

    /// Samples per channel in this frame.
    fn samples(&self) -> usize {
        // SAFETY: the context is open.
        unsafe { WavpackGetNumSamplesInFrame(self.context.as_ptr()) as usize }
    }

    /// Decodes the frame into `out` (interleaved, right-justified integers or float bits):
    /// the samples per channel written, and whether the decoded data failed its checksum.
    fn unpack(&mut self, out: &mut [i32], channels: usize) -> (usize, bool) {
        let samples = out.len() / channels.max(1);
        let samples = u32::try_from(samples).unwrap_or(u32::MAX);
        // SAFETY: the context is open; `out` holds `samples` frames of the frame's channel
        // count (the caller sizes it from `format`), which bounds what the library writes.
        unsafe {
            let done = WavpackUnpackSamples(self.context.as_ptr(), out.as_mut_ptr(), samples);
            let errors = WavpackGetNumErrors(self.context.as_ptr());
            (done as usize, errors > 0)
        }
    }
}

impl Drop for Frame<'_> {
    fn drop(&mut self) {
        // SAFETY: the context came from `WavpackOpenRawDecoder` and is closed once, here.
        unsafe {
            WavpackCloseFile(self.context.as_ptr());
        }
    }
}

/// The format of the WavPack frame in `data` (its blocks, headers included), for a reader that
/// must describe the stream before decoding it.
pub fn describe(data: &[u8]) -> std::result::Result<FrameFormat, &'static str> {
    Frame::open(data, DEFAULT_STREAM_VERSION)?.format()
}

/// The samples of one packet, in the type the stream has.
enum Decoded {
    Integer(AudioBuffer<i32>),
    Float(AudioBuffer<f32>),
}

/// Decodes WavPack frames, one packet each.
pub struct WavPackDecoder {
    params: AudioCodecParameters,
    spec: AudioSpec,
    /// For blocks without headers (Matroska).
    stream_version: i16,
    /// Interleaved samples from libwavpack, reused from packet to packet.
    unpacked: Vec<i32>,
    floats: Vec<f32>,
    decoded: Decoded,
}

impl WavPackDecoder {
    fn try_new(params: &AudioCodecParameters) -> Result<WavPackDecoder> {
        // Our reader describes the stream from its first frame, Matroska from its track entry.
        let (Some(rate), Some(channels)) = (params.sample_rate, params.channels.clone()) else {
            return unsupported_error("wavpack: no sample rate or channels from the reader");
        };
        let spec = AudioSpec::new(rate, channels);
        // Integer or float is known per frame; until the first, integer.
        let decoded = Decoded::Integer(AudioBuffer::new(spec.clone(), 0));
        // Matroska's codec private data: the stream version, 2 bytes little-endian.
        let stream_version = match params.extra_data.as_deref() {
            Some(&[low, high, ..]) => i16::from_le_bytes([low, high]),
            _ => DEFAULT_STREAM_VERSION,
        };
        Ok(WavPackDecoder {
            params: params.clone(),
            spec,
            stream_version,
            unpacked: Vec::new(),
            floats: Vec::new(),
            decoded,
        })
    }

    fn decode_frame(&mut self, packet: &PacketRef<'_>) -> std::result::Result<(), &'static str> {
        let mut frame = Frame::open(packet.data, self.stream_version)?;
        let format = frame.format()?;
        if format.rate != self.spec.rate()
            || usize::from(format.channels) != self.spec.channels().count()
        {
            return Err("wavpack: a frame whose format differs from the stream's");
        }
        let channels = usize::from(format.channels);
        let samples = frame.samples();
        self.unpacked.resize(samples * channels, 0);
        let (done, damaged) = frame.unpack(&mut self.unpacked, channels);
        if damaged {
            return Err("wavpack: damaged frame (its checksum does not match)");
        }
        let interleaved = &mut self.unpacked[..done * channels];
        match (&self.decoded, format.float) {
            (Decoded::Integer(_), true) => {
                self.decoded = Decoded::Float(AudioBuffer::new(self.spec.clone(), 0));
            }
            (Decoded::Float(_), false) => {
                self.decoded = Decoded::Integer(AudioBuffer::new(self.spec.clone(), 0));
            }
            _ => {}
        }
        match &mut self.decoded {
            Decoded::Integer(buf) => {
                // Left-justify to full scale, as symphonia's other i32 sources are.
                let shift = 32 - 8 * u32::from(format.bytes_per_sample);
                interleaved.iter_mut().for_each(|s| *s <<= shift);
                fill(buf, interleaved, done);
            }
            Decoded::Float(buf) => {
                self.floats.clear();
                self.floats
                    .extend(interleaved.iter().map(|&s| f32::from_bits(s as u32)));
                fill(buf, &self.floats, done);
            }
        }
        Ok(())
    }
}

/// Puts `frames` interleaved frames into `buf`, growing it when a frame is longer than any
/// before.
fn fill<S>(buf: &mut AudioBuffer<S>, interleaved: &[S], frames: usize)
where
    S: symphonia::core::audio::sample::Sample + symphonia::core::audio::conv::FromSample<S>,
{
    buf.clear();
    if buf.capacity() < frames {
        buf.grow_capacity(frames);
    }
    buf.render_uninit(Some(frames));
    buf.copy_from_slice_interleaved(&interleaved);
}

impl AudioDecoder for WavPackDecoder {
    fn reset(&mut self) {}

    fn codec_info(&self) -> &CodecInfo {
        &Self::supported_codecs()[0].info
    }

    fn codec_params(&self) -> &AudioCodecParameters {
        &self.params
    }

    fn decode_ref(&mut self, packet: &PacketRef<'_>) -> Result<GenericAudioBufferRef<'_>> {
        if let Err(message) = self.decode_frame(packet) {
            match &mut self.decoded {
                Decoded::Integer(buf) => buf.clear(),
                Decoded::Float(buf) => buf.clear(),
            }
            return Err(SymphoniaError::DecodeError(message));
        }
        let (start, end) = (
            packet.trim_start.get() as usize,
            packet.trim_end.get() as usize,
        );
        Ok(match &mut self.decoded {
            Decoded::Integer(buf) => {
                buf.trim(start, end);
                buf.as_generic_audio_buffer_ref()
            }
            Decoded::Float(buf) => {
                buf.trim(start, end);
                buf.as_generic_audio_buffer_ref()
            }
        })
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> GenericAudioBufferRef<'_> {
        match &self.decoded {
            Decoded::Integer(buf) => buf.as_generic_audio_buffer_ref(),
            Decoded::Float(buf) => buf.as_generic_audio_buffer_ref(),
        }
    }
}

impl RegisterableAudioDecoder for WavPackDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(WavPackDecoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        const CODECS: [SupportedAudioCodec; 1] = [SupportedAudioCodec {
            id: CODEC_ID_WAVPACK,
            info: CodecInfo {
                short_name: "wavpack",
                long_name: "WavPack",
                profiles: &[],
            },
        }];
        &CODECS
    }
}
