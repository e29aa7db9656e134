//! Speex, with the system's libspeex (Xiph's reference decoder, as GStreamer's `speexdec` and
//! ffmpeg's `libspeex` use it).
//!
//! The bindings are written here: the decoder needs ten functions and two structs, and the
//! binding crates on crates.io (`speex-sys`, `speex-safe`) generate theirs with bindgen at build
//! time (a libclang the build does not otherwise need) and compile their own copy of libspeex
//! where Debian ships one. Every call is in this module, each with its SAFETY argument.

use std::ffi::{c_char, c_int, c_void};
use std::ptr::NonNull;

use symphonia::core::audio::layouts::{CHANNEL_LAYOUT_MONO, CHANNEL_LAYOUT_STEREO};
use symphonia::core::audio::{
    AsGenericAudioBufferRef, AudioBuffer, AudioMut, AudioSpec, GenericAudioBufferRef,
};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::well_known::CODEC_ID_SPEEX;
use symphonia::core::codecs::audio::{
    AudioCodecParameters, AudioDecoder, AudioDecoderOptions, FinalizeResult,
};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::errors::{Result, decode_error, unsupported_error};
use symphonia::core::packet::PacketRef;

/// `speex_bits.h`'s bit-stream state, which the caller owns.
#[repr(C)]
struct SpeexBits {
    chars: *mut c_char,
    nb_bits: c_int,
    char_ptr: c_int,
    bit_ptr: c_int,
    owner: c_int,
    overflow: c_int,
    buf_size: c_int,
    reserved1: c_int,
    reserved2: *mut c_void,
}

/// `speex_callbacks.h`'s handler registration.
#[repr(C)]
struct SpeexCallback {
    callback_id: c_int,
    func: unsafe extern "C" fn(*mut SpeexBits, *mut c_void, *mut c_void) -> c_int,
    data: *mut c_void,
    reserved1: *mut c_void,
    reserved2: c_int,
}

#[link(name = "speex")]
unsafe extern "C" {
    fn speex_lib_get_mode(mode: c_int) -> *const c_void;
    fn speex_decoder_init(mode: *const c_void) -> *mut c_void;
    fn speex_decoder_destroy(state: *mut c_void);
    fn speex_decoder_ctl(state: *mut c_void, request: c_int, ptr: *mut c_void) -> c_int;
    fn speex_decode_int(state: *mut c_void, bits: *mut SpeexBits, out: *mut i16) -> c_int;
    fn speex_bits_init(bits: *mut SpeexBits);
    fn speex_bits_read_from(bits: *mut SpeexBits, bytes: *const c_char, len: c_int);
    fn speex_bits_remaining(bits: *mut SpeexBits) -> c_int;
    fn speex_bits_destroy(bits: *mut SpeexBits);
    fn speex_stereo_state_init() -> *mut c_void;
    fn speex_stereo_state_destroy(stereo: *mut c_void);
    fn speex_decode_stereo_int(data: *mut i16, frame_size: c_int, stereo: *mut c_void);
    fn speex_std_stereo_request_handler(
        bits: *mut SpeexBits,
        state: *mut c_void,
        data: *mut c_void,
    ) -> c_int;
}

const SPEEX_SET_ENH: c_int = 0;
const SPEEX_GET_FRAME_SIZE: c_int = 3;
const SPEEX_SET_HANDLER: c_int = 20;
const SPEEX_INBAND_STEREO: c_int = 9;
/// Speex modes: narrowband (8 kHz), wideband (16 kHz), ultra-wideband (32 kHz).
const MODES: c_int = 3;
/// The longest frame of any mode (ultra-wideband, 20 ms at 32 kHz).
const MAX_FRAME: usize = 640;

/// The Speex header: the first packet of an Ogg Speex stream (`speex_header.h`), 80 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeexHeader {
    pub rate: u32,
    /// 0: narrowband, 1: wideband, 2: ultra-wideband.
    pub mode: u32,
    pub channels: u32,
    /// Samples per frame in the header; the decoder's own figure is what counts.
    pub frame_size: u32,
    pub frames_per_packet: u32,
    /// Header packets after the comment packet, to skip.
    pub extra_headers: u32,
}

impl SpeexHeader {
    pub const MAGIC: &'static [u8] = b"Speex   ";

    pub fn parse(packet: &[u8]) -> Option<SpeexHeader> {
        if !packet.starts_with(Self::MAGIC) || packet.len() < 80 {
            return None;
        }
        let field = |at: usize| u32::from_le_bytes(packet[at..at + 4].try_into().expect("4 bytes"));
        let header = SpeexHeader {
            rate: field(36),
            mode: field(40),
            channels: field(48),
            frame_size: field(56),
            frames_per_packet: field(64).max(1),
            extra_headers: field(68),
        };
        let valid = (1..=192_000).contains(&header.rate)
            && header.mode < MODES as u32
            && (1..=2).contains(&header.channels)
            && (1..=MAX_FRAME as u32).contains(&header.frame_size)
            && header.frames_per_packet <= 64
            && header.extra_headers <= 64;
        valid.then_some(header)
    }

    /// Samples per channel in each packet.
    pub fn packet_samples(&self) -> u64 {
        u64::from(self.frame_size) * u64::from(self.frames_per_packet)
    }
}

/// libspeex's decoder state, its bit reader and, for stereo, the in-band stereo state.
struct State {
    decoder: NonNull<c_void>,
    bits: Box<SpeexBits>,
    stereo: Option<NonNull<c_void>>,
    /// Registered with the decoder, which keeps a pointer to it: boxed so it does not move.
    _handler: Option<Box<SpeexCallback>>,
}

// SAFETY: libspeex's states are plain heap memory owned by this value alone, used only through
// `&mut self`, with no thread affinity; nothing else holds the pointers.
unsafe impl Send for State {}
// SAFETY: no method reads the states through `&self`.
unsafe impl Sync for State {}

impl State {
    fn new(header: &SpeexHeader) -> Option<State> {
        // SAFETY: speex_lib_get_mode returns a pointer to a static mode for 0..MODES, which
        // `parse` checked.
        let mode = unsafe { speex_lib_get_mode(header.mode as c_int) };
        if mode.is_null() {
            return None;
        }
        // SAFETY: `mode` is a valid static mode; the state is freed in Drop.
        let decoder = NonNull::new(unsafe { speex_decoder_init(mode) })?;
        // SAFETY: SpeexBits is plain data that speex_bits_init initialises (it allocates its
        // buffer, freed by speex_bits_destroy in Drop).
        let mut bits = Box::new(unsafe { std::mem::zeroed::<SpeexBits>() });
        // SAFETY: `bits` points to writable memory of the right layout.
        unsafe { speex_bits_init(&mut *bits) };
        let mut state = State {
            decoder,
            bits,
            stereo: None,
            _handler: None,
        };
        let mut enhance: c_int = 1;
        // SAFETY: SPEEX_SET_ENH reads one int from the pointer, which lives for the call.
        unsafe {
            speex_decoder_ctl(
                decoder.as_ptr(),
                SPEEX_SET_ENH,
                (&mut enhance as *mut c_int).cast(),
            )
        };
        if header.channels == 2 {
            // SAFETY: allocates a stereo state, freed in Drop.
            let stereo = NonNull::new(unsafe { speex_stereo_state_init() })?;
            state.stereo = Some(stereo);
            let mut handler = Box::new(SpeexCallback {
                callback_id: SPEEX_INBAND_STEREO,
                func: speex_std_stereo_request_handler,
                data: stereo.as_ptr(),
                reserved1: std::ptr::null_mut(),
                reserved2: 0,
            });
            // SAFETY: SPEEX_SET_HANDLER copies the callback struct; the stereo state it points to
            // lives as long as the decoder (both are freed in Drop, the decoder first).
            unsafe {
                speex_decoder_ctl(
                    decoder.as_ptr(),
                    SPEEX_SET_HANDLER,
                    (&mut *handler as *mut SpeexCallback).cast(),
                )
            };
            state._handler = Some(handler);
        }
        Some(state)
    }

    fn frame_size(&mut self) -> usize {
        let mut size: c_int = 0;
        // SAFETY: SPEEX_GET_FRAME_SIZE writes one int to the pointer, which lives for the call.
        unsafe {
            speex_decoder_ctl(
                self.decoder.as_ptr(),
                SPEEX_GET_FRAME_SIZE,
                (&mut size as *mut c_int).cast(),
            )
        };
        usize::try_from(size).unwrap_or(0)
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // SAFETY: each pointer came from its init function, is freed once, and the decoder (which
        // may call the stereo handler) goes before the stereo state.
        unsafe {
            speex_decoder_destroy(self.decoder.as_ptr());
            if let Some(stereo) = self.stereo {
                speex_stereo_state_destroy(stereo.as_ptr());
            }
            speex_bits_destroy(&mut *self.bits);
        }
    }
}

/// Decodes Speex packets: each holds the header's frames per packet, every frame the mode's
/// frame size of samples.
pub struct SpeexDecoder {
    params: AudioCodecParameters,
    header: SpeexHeader,
    state: State,
    frame_size: usize,
    /// A packet's frames, interleaved (libspeex expands stereo in place).
    pcm: Vec<i16>,
    buf: AudioBuffer<i16>,
}

impl SpeexDecoder {
    fn try_new(params: &AudioCodecParameters) -> Result<SpeexDecoder> {
        let Some(header) = params.extra_data.as_deref().and_then(SpeexHeader::parse) else {
            return unsupported_error("speex: the stream's Speex header is missing or invalid");
        };
        let Some(mut state) = State::new(&header) else {
            return unsupported_error("speex: libspeex refused the stream's mode");
        };
        let frame_size = state.frame_size();
        if frame_size == 0 || frame_size > MAX_FRAME {
            return unsupported_error("speex: libspeex gave no frame size");
        }
        let channels = if header.channels == 2 {
            CHANNEL_LAYOUT_STEREO
        } else {
            CHANNEL_LAYOUT_MONO
        };
        let capacity = frame_size * header.frames_per_packet as usize;
        Ok(SpeexDecoder {
            params: params.clone(),
            header,
            state,
            frame_size,
            pcm: vec![0; capacity * header.channels as usize],
            buf: AudioBuffer::new(AudioSpec::new(header.rate, channels), capacity),
        })
    }
}

impl AudioDecoder for SpeexDecoder {
    fn reset(&mut self) {
        if let Some(state) = State::new(&self.header) {
            self.state = state;
        }
    }

    fn codec_info(&self) -> &CodecInfo {
        &Self::supported_codecs()[0].info
    }

    fn codec_params(&self) -> &AudioCodecParameters {
        &self.params
    }

    fn decode_ref(&mut self, packet: &PacketRef<'_>) -> Result<GenericAudioBufferRef<'_>> {
        let Ok(len) = c_int::try_from(packet.data.len()) else {
            return decode_error("speex: packet too long");
        };
        let state = &mut self.state;
        // SAFETY: libspeex copies `len` bytes from the packet into its own buffer.
        unsafe { speex_bits_read_from(&mut *state.bits, packet.data.as_ptr().cast(), len) };
        let channels = self.header.channels as usize;
        let frame_len = self.frame_size * channels;
        let mut decoded = 0;
        for frame in self.pcm.chunks_exact_mut(frame_len) {
            // SAFETY: `frame` holds frame_size samples per channel, what speex_decode_int
            // (frame_size) and then speex_decode_stereo_int (2 × frame_size, in place) write;
            // the states are valid (see `State`).
            let status = unsafe {
                let status =
                    speex_decode_int(state.decoder.as_ptr(), &mut *state.bits, frame.as_mut_ptr());
                if status == 0
                    && let Some(stereo) = state.stereo
                {
                    speex_decode_stereo_int(
                        frame.as_mut_ptr(),
                        self.frame_size as c_int,
                        stereo.as_ptr(),
                    );
                }
                status
            };
            match status {
                0 => decoded += 1,
                // The packet ends early (a terminator): what came before it stands.
                -1 => break,
                _ => return decode_error("speex: corrupt frame"),
            }
            // SAFETY: reads the bit reader's state only.
            if unsafe { speex_bits_remaining(&mut *state.bits) } < 0 {
                return decode_error("speex: the packet is shorter than its frames");
            }
        }
        self.buf.clear();
        self.buf.render_uninit(Some(decoded * self.frame_size));
        self.buf
            .copy_from_slice_interleaved(&&self.pcm[..decoded * frame_len]);
        self.buf.trim(
            packet.trim_start.get() as usize,
            packet.trim_end.get() as usize,
        );
        Ok(self.buf.as_generic_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> GenericAudioBufferRef<'_> {
        self.buf.as_generic_audio_buffer_ref()
    }
}

impl RegisterableAudioDecoder for SpeexDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(SpeexDecoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        const CODECS: [SupportedAudioCodec; 1] = [SupportedAudioCodec {
            id: CODEC_ID_SPEEX,
            info: CodecInfo {
                short_name: "speex",
                long_name: "Speex",
                profiles: &[],
            },
        }];
        &CODECS
    }
}
