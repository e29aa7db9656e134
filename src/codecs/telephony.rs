//! The telephony codecs of WAV files, RTP payloads and voice-mail systems: G.722 (wideband
//! sub-band ADPCM), G.726 (ADPCM at 16-40 kbit/s) and GSM 06.10 full rate, with the system's
//! spandsp (bit-exact implementations that pass the ITU and ETSI test vectors; Asterisk and
//! FreeSWITCH decode with it).
//!
//! No crate decodes all three, and the G.722 crates carry RTP stacks with them; spandsp is one
//! library Debian ships. The bindings are written here (nine functions, opaque states); every
//! call is in this module, each with its SAFETY argument. A packet is whole coded blocks (the
//! PCM reader cuts them by [`crate::container::SampleCoding`]'s block size), mono.

use std::ffi::{c_int, c_void};
use std::ptr::NonNull;

use symphonia::core::audio::layouts::CHANNEL_LAYOUT_MONO;
use symphonia::core::audio::{AsGenericAudioBufferRef, AudioBuffer, AudioSpec};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::AudioDecoder;
use symphonia::core::codecs::audio::well_known::{
    CODEC_ID_ADPCM_G722, CODEC_ID_ADPCM_G726, CODEC_ID_ADPCM_G726LE,
};
use symphonia::core::codecs::audio::{AudioCodecId, AudioCodecParameters, AudioDecoderOptions};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::common::FourCc;
use symphonia::core::errors::{Result, decode_error, unsupported_error};
use symphonia::core::packet::PacketRef;

/// GSM 06.10 in 33-byte frames of 160 samples (RTP, `.gsm` files); symphonia has no id for it.
pub const CODEC_ID_GSM: AudioCodecId = AudioCodecId::new(FourCc::new(*b"gsm "));
/// GSM 06.10 as Microsoft packs it in WAV (format tag 0x31): two frames in 65 bytes.
pub const CODEC_ID_GSM_MS: AudioCodecId = AudioCodecId::new(FourCc::new(*b"gsmw"));

#[link(name = "spandsp")]
unsafe extern "C" {
    fn g722_decode_init(state: *mut c_void, rate: c_int, options: c_int) -> *mut c_void;
    fn g722_decode_free(state: *mut c_void) -> c_int;
    fn g722_decode(state: *mut c_void, amp: *mut i16, data: *const u8, len: c_int) -> c_int;
    fn g726_init(
        state: *mut c_void,
        bit_rate: c_int,
        ext_coding: c_int,
        packing: c_int,
    ) -> *mut c_void;
    fn g726_free(state: *mut c_void) -> c_int;
    fn g726_decode(state: *mut c_void, amp: *mut i16, data: *const u8, len: c_int) -> c_int;
    fn gsm0610_init(state: *mut c_void, packing: c_int) -> *mut c_void;
    fn gsm0610_free(state: *mut c_void) -> c_int;
    fn gsm0610_decode(state: *mut c_void, amp: *mut i16, code: *const u8, len: c_int) -> c_int;
}

/// `G726_ENCODING_LINEAR`: 16-bit samples out (not µ-law or A-law).
const G726_ENCODING_LINEAR: c_int = 0;
/// `G726_PACKING_NONE`: one code a byte. The codes are unpacked here: spandsp 0.0.6's own
/// unpacking of 40 kbit/s codes from the most significant bit down loses its place.
const G726_PACKING_NONE: c_int = 0;
/// `GSM0610_PACKING_WAV49` and `GSM0610_PACKING_VOIP`.
const GSM0610_PACKING_WAV49: c_int = 1;
const GSM0610_PACKING_VOIP: c_int = 2;

/// Which codec, with what its blocks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// 64 kbit/s: a byte holds two samples at 16 kHz.
    G722,
    /// `bits` (2-5) a sample at 8 kHz, packed from the most (`msb_first`) or least significant
    /// bit of each byte.
    G726 { bits: u8, msb_first: bool },
    /// 160 samples at 8 kHz in 33 bytes, or two frames in 65 bytes (`wav49`).
    Gsm { wav49: bool },
}

impl Codec {
    /// The codec for these parameters; G.726's sample width is their coded bits per sample.
    pub fn from_params(params: &AudioCodecParameters) -> Option<Codec> {
        let g726 = |msb_first| {
            let bits = params.bits_per_coded_sample? as u8;
            (2..=5)
                .contains(&bits)
                .then_some(Codec::G726 { bits, msb_first })
        };
        match params.codec {
            CODEC_ID_ADPCM_G722 => Some(Codec::G722),
            CODEC_ID_ADPCM_G726 => g726(true),
            CODEC_ID_ADPCM_G726LE => g726(false),
            CODEC_ID_GSM => Some(Codec::Gsm { wav49: false }),
            CODEC_ID_GSM_MS => Some(Codec::Gsm { wav49: true }),
            _ => None,
        }
    }

    pub fn codec_id(self) -> AudioCodecId {
        match self {
            Codec::G722 => CODEC_ID_ADPCM_G722,
            Codec::G726 {
                msb_first: true, ..
            } => CODEC_ID_ADPCM_G726,
            Codec::G726 { .. } => CODEC_ID_ADPCM_G726LE,
            Codec::Gsm { wav49: false } => CODEC_ID_GSM,
            Codec::Gsm { wav49: true } => CODEC_ID_GSM_MS,
        }
    }

    /// The rate the codec decodes at, whatever a container says (G.722's RTP clock is 8 kHz).
    pub fn rate(self) -> u32 {
        match self {
            Codec::G722 => 16_000,
            Codec::G726 { .. } | Codec::Gsm { .. } => 8_000,
        }
    }

    /// The smallest whole unit of the coded stream: its bytes and the samples they decode to.
    pub fn block(self) -> (usize, u64) {
        match self {
            Codec::G722 => (1, 2),
            // 8 samples fill a whole number of bytes; 2 and 4 bits fill one byte sooner.
            Codec::G726 { bits: 2, .. } => (1, 4),
            Codec::G726 { bits: 4, .. } => (1, 2),
            Codec::G726 { bits, .. } => (usize::from(bits), 8),
            Codec::Gsm { wav49: false } => (33, 160),
            Codec::Gsm { wav49: true } => (65, 320),
        }
    }

    /// The name users know it by.
    pub fn name(self) -> &'static str {
        match self {
            Codec::G722 => "G.722",
            Codec::G726 { .. } => "G.726",
            Codec::Gsm { .. } => "GSM 06.10",
        }
    }
}

/// A spandsp decoder state.
struct State {
    codec: Codec,
    state: NonNull<c_void>,
}

// SAFETY: the state is plain memory spandsp allocated for this value alone; spandsp keeps no
// global or thread-local reference to it, and it is only used through `&mut self` and in
// `drop`.
unsafe impl Send for State {}
// SAFETY: no method touches the state through `&self`.
unsafe impl Sync for State {}

impl State {
    fn new(codec: Codec) -> Option<State> {
        // SAFETY: with a null state each init allocates one (freed in Drop with the matching
        // free) and returns null when the arguments are invalid or allocation fails.
        let state = unsafe {
            match codec {
                Codec::G722 => g722_decode_init(std::ptr::null_mut(), 64_000, 0),
                Codec::G726 { bits, .. } => g726_init(
                    std::ptr::null_mut(),
                    c_int::from(bits) * 8000,
                    G726_ENCODING_LINEAR,
                    G726_PACKING_NONE,
                ),
                Codec::Gsm { wav49 } => gsm0610_init(
                    std::ptr::null_mut(),
                    if wav49 {
                        GSM0610_PACKING_WAV49
                    } else {
                        GSM0610_PACKING_VOIP
                    },
                ),
            }
        };
        NonNull::new(state).map(|state| State { codec, state })
    }

    /// Decodes whole blocks into `out`, which holds the samples they decode to; returns how
    /// many were written. G.726 takes its codes unpacked, one a byte ([`unpack_g726`]).
    fn decode(&mut self, input: &[u8], out: &mut [i16]) -> usize {
        let (block_bytes, block_samples) = match self.codec {
            Codec::G726 { .. } => (1, 1),
            codec => codec.block(),
        };
        debug_assert!(input.len().is_multiple_of(block_bytes));
        debug_assert_eq!(
            out.len() as u64,
            (input.len() / block_bytes) as u64 * block_samples
        );
        let len = c_int::try_from(input.len()).expect("packets are far below 2 GiB");
        // SAFETY: the state is valid (see `State`) and of this codec; each decoder reads `len`
        // bytes of `input` and writes the samples whole blocks decode to, which `out` holds (a
        // G.722 byte is 2 samples, an unpacked G.726 code 1, GSM 160 samples per 33-byte frame
        // and 320 per 65-byte pair).
        let written = unsafe {
            let (state, out) = (self.state.as_ptr(), out.as_mut_ptr());
            match self.codec {
                Codec::G722 => g722_decode(state, out, input.as_ptr(), len),
                Codec::G726 { .. } => g726_decode(state, out, input.as_ptr(), len),
                Codec::Gsm { .. } => gsm0610_decode(state, out, input.as_ptr(), len),
            }
        };
        usize::try_from(written).unwrap_or(0).min(out.len())
    }
}

/// G.726 codes of `bits` bits packed in `data`, one a byte in `codes`: from each byte's most
/// significant bit down (`msb_first`) or from its least up.
fn unpack_g726(data: &[u8], bits: u8, msb_first: bool, codes: &mut Vec<u8>) {
    codes.clear();
    let mask = (1u32 << bits) - 1;
    let (mut held, mut held_bits) = (0u32, 0u8);
    for &byte in data {
        if msb_first {
            held = held << 8 | u32::from(byte);
        } else {
            held |= u32::from(byte) << held_bits;
        }
        held_bits += 8;
        while held_bits >= bits {
            held_bits -= bits;
            let code = if msb_first {
                held >> held_bits
            } else {
                let code = held;
                held >>= bits;
                code
            };
            codes.push((code & mask) as u8);
        }
        if msb_first {
            held &= (1 << held_bits) - 1;
        }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // SAFETY: the state came from the matching init and is freed once, here.
        unsafe {
            match self.codec {
                Codec::G722 => g722_decode_free(self.state.as_ptr()),
                Codec::G726 { .. } => g726_free(self.state.as_ptr()),
                Codec::Gsm { .. } => gsm0610_free(self.state.as_ptr()),
            };
        }
    }
}

/// Decodes G.722, G.726 or GSM 06.10 packets of whole blocks.
pub struct TelephonyDecoder {
    codec_params: AudioCodecParameters,
    state: State,
    /// G.726 codes unpacked, one a byte.
    codes: Vec<u8>,
    pcm: Vec<i16>,
    decoded: AudioBuffer<i16>,
}

impl TelephonyDecoder {
    fn try_new(params: &AudioCodecParameters) -> Result<TelephonyDecoder> {
        let Some(codec) = Codec::from_params(params) else {
            return unsupported_error("telephony: G.726 needs 2 to 5 coded bits a sample");
        };
        if params.channels.as_ref().is_some_and(|c| c.count() != 1) {
            return unsupported_error("telephony: G.722, G.726 and GSM are decoded in mono only");
        }
        let Some(state) = State::new(codec) else {
            return unsupported_error("telephony: spandsp could not make a decoder");
        };
        Ok(TelephonyDecoder {
            codec_params: params.clone(),
            state,
            codes: Vec::new(),
            pcm: Vec::new(),
            decoded: AudioBuffer::new(AudioSpec::new(codec.rate(), CHANNEL_LAYOUT_MONO), 0),
        })
    }

    fn decode_packet(&mut self, packet: &PacketRef<'_>) -> Result<()> {
        let (block_bytes, block_samples) = self.state.codec.block();
        let blocks = packet.data.len() / block_bytes;
        if blocks == 0 {
            return decode_error("telephony: a packet shorter than one coded block");
        }
        let data = &packet.data[..blocks * block_bytes];
        let samples = blocks * block_samples as usize;
        self.pcm.resize(samples, 0);
        let input = match self.state.codec {
            Codec::G726 { bits, msb_first } => {
                unpack_g726(data, bits, msb_first, &mut self.codes);
                &self.codes[..]
            }
            _ => data,
        };
        let written = self.state.decode(input, &mut self.pcm[..samples]);
        super::fill_interleaved(&mut self.decoded, &self.pcm, written);
        Ok(())
    }
}

impl AudioDecoder for TelephonyDecoder {
    super::buffered_decoder_methods!(codec_info: telephony_codec_info);

    fn reset(&mut self) {
        if let Some(state) = State::new(self.state.codec) {
            self.state = state;
        }
    }
}

impl TelephonyDecoder {
    fn telephony_codec_info(&self) -> &CodecInfo {
        let id = self.state.codec.codec_id();
        &Self::supported_codecs()
            .iter()
            .find(|c| c.id == id)
            .expect("every codec is listed")
            .info
    }
}

impl RegisterableAudioDecoder for TelephonyDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(TelephonyDecoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        use super::supported_codec as codec;
        const CODECS: [SupportedAudioCodec; 5] = [
            codec(CODEC_ID_ADPCM_G722, "g722", "G.722 ADPCM"),
            codec(CODEC_ID_ADPCM_G726, "g726", "G.726 ADPCM"),
            codec(
                CODEC_ID_ADPCM_G726LE,
                "g726le",
                "G.726 ADPCM (RFC 3551 bit order)",
            ),
            codec(CODEC_ID_GSM, "gsm", "GSM 06.10 full rate"),
            codec(
                CODEC_ID_GSM_MS,
                "gsm_ms",
                "GSM 06.10 full rate (Microsoft WAV49)",
            ),
        ];
        &CODECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoder(codec: Codec) -> TelephonyDecoder {
        let mut params = AudioCodecParameters::new();
        params
            .for_codec(codec.codec_id())
            .with_sample_rate(codec.rate())
            .with_channels(symphonia::core::audio::Channels::Positioned(
                symphonia::core::audio::Position::FRONT_CENTER,
            ));
        if let Codec::G726 { bits, .. } = codec {
            params.with_bits_per_coded_sample(u32::from(bits));
        }
        TelephonyDecoder::try_new(&params).unwrap()
    }

    #[test]
    fn every_codec_decodes_its_blocks_to_their_samples() {
        for codec in [
            Codec::G722,
            Codec::G726 {
                bits: 2,
                msb_first: true,
            },
            Codec::G726 {
                bits: 3,
                msb_first: false,
            },
            Codec::G726 {
                bits: 5,
                msb_first: true,
            },
            Codec::Gsm { wav49: false },
            Codec::Gsm { wav49: true },
        ] {
            let mut decoder = decoder(codec);
            let (bytes, samples) = codec.block();
            // Three blocks and a partial one, which is not decoded.
            let data = vec![0x55u8; bytes * 3 + bytes.min(2) - 1];
            let packet = PacketRef::new(0, Default::default(), Default::default(), &data);
            let decoded = decoder.decode_ref(&packet).unwrap();
            assert_eq!(decoded.frames() as u64, 3 * samples, "{codec:?}");
            assert_eq!(decoded.spec().rate(), codec.rate());
        }
    }

    #[test]
    fn g726_codes_unpack_in_both_bit_orders() {
        let mut codes = Vec::new();
        // 5-bit codes 1..=8 from the most significant bit down: 00001 00010 00011 ...
        let packed = [0x08, 0x86, 0x42, 0x98, 0xe8];
        unpack_g726(&packed, 5, true, &mut codes);
        assert_eq!(codes, [1, 2, 3, 4, 5, 6, 7, 8]);
        // 3-bit codes 1..=8 (8 wraps to 0) from the least significant bit up.
        let value: u32 = (0..8).map(|i| ((i + 1) % 8) << (3 * i)).sum();
        unpack_g726(&value.to_le_bytes()[..3], 3, false, &mut codes);
        assert_eq!(codes, [1, 2, 3, 4, 5, 6, 7, 0]);
        unpack_g726(&[0xe4], 2, true, &mut codes);
        assert_eq!(codes, [3, 2, 1, 0]);
    }

    #[test]
    fn g726_needs_a_sample_width() {
        let mut params = AudioCodecParameters::new();
        params.for_codec(CODEC_ID_ADPCM_G726);
        assert!(TelephonyDecoder::try_new(&params).is_err());
        params.with_bits_per_coded_sample(8);
        assert!(TelephonyDecoder::try_new(&params).is_err());
    }
}
