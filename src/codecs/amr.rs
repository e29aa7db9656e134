//! AMR (narrowband, 8 kHz) and AMR-WB (wideband, 16 kHz) speech, with the system's opencore-amr
//! (the 3GPP reference decoders, as GStreamer's `amrnbdec` and `amrwbdec` use them).
//!
//! The bindings are written here: each decoder is three functions, and the binding crates on
//! crates.io build their own copy of the library or generate bindings with bindgen. Every call is
//! in this module, each with its SAFETY argument. Packets are whole frames in the storage format
//! (RFC 4867 section 5): the frame type byte, then the frame's bits; `container::amr` cuts them.

use std::ffi::{c_int, c_short, c_uchar, c_void};
use std::ptr::NonNull;

use symphonia::core::audio::layouts::CHANNEL_LAYOUT_MONO;
use symphonia::core::audio::{
    AsGenericAudioBufferRef, AudioBuffer, AudioMut, AudioSpec, GenericAudioBufferRef,
};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::{
    AudioCodecId, AudioCodecParameters, AudioDecoder, AudioDecoderOptions, FinalizeResult,
};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::common::FourCc;
use symphonia::core::errors::{Result, decode_error, unsupported_error};
use symphonia::core::packet::PacketRef;

/// AMR narrowband, named by its MP4 sample entry (symphonia has no id of its own for it).
pub const CODEC_ID_AMR_NB: AudioCodecId = AudioCodecId::new(FourCc::new(*b"samr"));
/// AMR wideband, likewise.
pub const CODEC_ID_AMR_WB: AudioCodecId = AudioCodecId::new(FourCc::new(*b"sawb"));

#[link(name = "opencore-amrnb")]
unsafe extern "C" {
    fn Decoder_Interface_init() -> *mut c_void;
    fn Decoder_Interface_exit(state: *mut c_void);
    fn Decoder_Interface_Decode(
        state: *mut c_void,
        input: *const c_uchar,
        out: *mut c_short,
        bfi: c_int,
    );
}

#[link(name = "opencore-amrwb")]
unsafe extern "C" {
    fn D_IF_init() -> *mut c_void;
    fn D_IF_decode(state: *mut c_void, bits: *const c_uchar, synth: *mut c_short, bfi: c_int);
    fn D_IF_exit(state: *mut c_void);
}

/// Which of the two codecs, with what differs between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Band {
    Narrow,
    Wide,
}

impl Band {
    pub fn rate(self) -> u32 {
        match self {
            Band::Narrow => 8_000,
            Band::Wide => 16_000,
        }
    }

    /// Samples in every frame: 20 ms.
    pub fn frame_samples(self) -> usize {
        self.rate() as usize / 50
    }

    /// Bytes of a frame in the storage format, its frame type byte included, by the frame type
    /// in that byte (RFC 4867 section 5.3; 3GPP TS 26.101 and 26.201); `None` for a reserved
    /// type.
    pub fn frame_len(self, type_byte: u8) -> Option<usize> {
        const NARROW: [u8; 16] = [13, 14, 16, 18, 20, 21, 27, 32, 6, 0, 0, 0, 0, 0, 0, 1];
        const WIDE: [u8; 16] = [18, 24, 33, 37, 41, 47, 51, 59, 61, 6, 0, 0, 0, 0, 1, 1];
        let table = match self {
            Band::Narrow => &NARROW,
            Band::Wide => &WIDE,
        };
        // The padding bits around the frame type and quality bit are zero in valid frames.
        if type_byte & 0x83 != 0 {
            return None;
        }
        let len = table[usize::from(type_byte >> 3 & 0x0f)];
        (len > 0).then_some(usize::from(len))
    }

    pub fn codec_id(self) -> AudioCodecId {
        match self {
            Band::Narrow => CODEC_ID_AMR_NB,
            Band::Wide => CODEC_ID_AMR_WB,
        }
    }
}

/// A decoder state of either library.
struct State {
    band: Band,
    state: NonNull<c_void>,
}

// SAFETY: the state is plain memory owned by this value; opencore-amr keeps no thread-local or
// global references to it, and it is only used through `&mut self` and in `drop`.
unsafe impl Send for State {}
// SAFETY: no method reads the state through `&self`.
unsafe impl Sync for State {}

impl State {
    fn new(band: Band) -> Option<State> {
        // SAFETY: each init allocates a state, freed in Drop; a null pointer means it failed.
        let state = unsafe {
            match band {
                Band::Narrow => Decoder_Interface_init(),
                Band::Wide => D_IF_init(),
            }
        };
        NonNull::new(state).map(|state| State { band, state })
    }

    /// Decodes one frame into `out` (a frame's samples).
    fn decode(&mut self, frame: &[u8], out: &mut [i16]) {
        debug_assert!(
            out.len() == self.band.frame_samples()
                && frame.first().and_then(|&t| self.band.frame_len(t)) == Some(frame.len())
        );
        // SAFETY: the state is valid (see `State`); `frame` holds the whole frame its type byte
        // announces (checked by the caller against `frame_len`), which is all the decoder reads;
        // `out` holds the 160 or 320 samples it writes.
        unsafe {
            match self.band {
                Band::Narrow => Decoder_Interface_Decode(
                    self.state.as_ptr(),
                    frame.as_ptr(),
                    out.as_mut_ptr(),
                    0,
                ),
                Band::Wide => D_IF_decode(self.state.as_ptr(), frame.as_ptr(), out.as_mut_ptr(), 0),
            }
        }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // SAFETY: the state came from the matching init and is freed once, here.
        unsafe {
            match self.band {
                Band::Narrow => Decoder_Interface_exit(self.state.as_ptr()),
                Band::Wide => D_IF_exit(self.state.as_ptr()),
            }
        }
    }
}

/// Decodes AMR or AMR-WB frames, one packet each.
pub struct AmrDecoder {
    params: AudioCodecParameters,
    state: State,
    pcm: Vec<i16>,
    buf: AudioBuffer<i16>,
}

impl AmrDecoder {
    fn try_new(params: &AudioCodecParameters) -> Result<AmrDecoder> {
        let band = if params.codec == CODEC_ID_AMR_NB {
            Band::Narrow
        } else {
            Band::Wide
        };
        let Some(state) = State::new(band) else {
            return unsupported_error("amr: opencore-amr could not make a decoder");
        };
        Ok(AmrDecoder {
            params: params.clone(),
            state,
            pcm: vec![0; band.frame_samples()],
            buf: AudioBuffer::new(
                AudioSpec::new(band.rate(), CHANNEL_LAYOUT_MONO),
                band.frame_samples(),
            ),
        })
    }
}

impl AudioDecoder for AmrDecoder {
    fn reset(&mut self) {
        if let Some(state) = State::new(self.state.band) {
            self.state = state;
        }
    }

    fn codec_info(&self) -> &CodecInfo {
        let index = usize::from(self.state.band == Band::Wide);
        &Self::supported_codecs()[index].info
    }

    fn codec_params(&self) -> &AudioCodecParameters {
        &self.params
    }

    fn decode_ref(&mut self, packet: &PacketRef<'_>) -> Result<GenericAudioBufferRef<'_>> {
        self.buf.clear();
        let band = self.state.band;
        // A `.amr` file's packet is one frame; a 3GP sample may hold several back to back.
        let mut frames = 0;
        let mut rest = packet.data;
        while let Some(&type_byte) = rest.first() {
            match band.frame_len(type_byte) {
                Some(len) if len <= rest.len() => rest = &rest[len..],
                // The frames after a damaged type byte cannot be found: the packet is lost.
                _ => return decode_error("amr: damaged frame"),
            }
            frames += 1;
        }
        if frames == 0 {
            return decode_error("amr: empty packet");
        }
        let samples = frames * band.frame_samples();
        if self.pcm.len() < samples {
            self.pcm.resize(samples, 0);
            self.buf = AudioBuffer::new(AudioSpec::new(band.rate(), CHANNEL_LAYOUT_MONO), samples);
        }
        let mut rest = packet.data;
        for out in self.pcm[..samples].chunks_exact_mut(band.frame_samples()) {
            let len = band.frame_len(rest[0]).unwrap_or(rest.len());
            let (frame, after) = rest.split_at(len);
            self.state.decode(frame, out);
            rest = after;
        }
        self.buf.render_uninit(Some(samples));
        self.buf.copy_from_slice_interleaved(&&self.pcm[..samples]);
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

impl RegisterableAudioDecoder for AmrDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(AmrDecoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        const CODECS: [SupportedAudioCodec; 2] = [
            SupportedAudioCodec {
                id: CODEC_ID_AMR_NB,
                info: CodecInfo {
                    short_name: "amrnb",
                    long_name: "AMR (Adaptive Multi-Rate narrowband)",
                    profiles: &[],
                },
            },
            SupportedAudioCodec {
                id: CODEC_ID_AMR_WB,
                info: CodecInfo {
                    short_name: "amrwb",
                    long_name: "AMR-WB (Adaptive Multi-Rate wideband)",
                    profiles: &[],
                },
            },
        ];
        &CODECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lengths_follow_the_frame_type() {
        // 12.2 kbit/s narrowband (type 7), 23.85 kbit/s wideband (type 8), each with Q set.
        assert_eq!(Band::Narrow.frame_len(7 << 3 | 4), Some(32));
        assert_eq!(Band::Wide.frame_len(8 << 3 | 4), Some(61));
        assert_eq!(Band::Narrow.frame_len(15 << 3 | 4), Some(1), "no data");
        assert_eq!(Band::Narrow.frame_len(9 << 3), None, "reserved");
        assert_eq!(Band::Wide.frame_len(0x80 | 4), None, "padding bit set");
    }

    #[test]
    fn a_packet_of_several_frames_decodes_them_all() {
        let mut params = AudioCodecParameters::new();
        params.for_codec(CODEC_ID_AMR_NB);
        let mut decoder = AmrDecoder::try_new(&params).unwrap();
        // Three NO_DATA frames and a SID frame (type 8: 5 bytes after its type byte).
        let packet_data = [
            15 << 3 | 4,
            15 << 3 | 4,
            8 << 3 | 4,
            0,
            0,
            0,
            0,
            0,
            15 << 3 | 4,
        ];
        let packet = PacketRef::new(0, Default::default(), Default::default(), &packet_data);
        let decoded = decoder.decode_ref(&packet).unwrap();
        assert_eq!(decoded.frames(), 4 * 160);
        // Cut inside the SID frame: the frames after it cannot be found.
        let packet = PacketRef::new(0, Default::default(), Default::default(), &packet_data[..5]);
        assert!(decoder.decode_ref(&packet).is_err());
        let packet = PacketRef::new(0, Default::default(), Default::default(), &[]);
        assert!(decoder.decode_ref(&packet).is_err());
    }

    #[test]
    fn a_silent_frame_decodes_to_a_frame_of_samples() {
        for band in [Band::Narrow, Band::Wide] {
            let mut state = State::new(band).unwrap();
            let mut out = vec![1i16; band.frame_samples()];
            // A NO_DATA frame: the decoder conceals (comfort noise from its initial state).
            state.decode(&[15 << 3 | 4], &mut out);
            assert!(out.iter().all(|s| s.unsigned_abs() < 1000), "{band:?}");
        }
    }
}
