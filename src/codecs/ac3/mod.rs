//! AC-3 (Dolby Digital, ATSC A/52), written here: no crate decodes it, and the libraries that do
//! are GPL (liba52) or all of FFmpeg. Its patents have expired and the standard is public. A
//! packet is one or more whole sync frames (as `container::ac3`, Matroska's `A_AC3` and MP4's
//! `ac-3` deliver them), each 1536 samples per channel in six blocks of 256.
//!
//! Each block carries, per channel, exponents (a coarse spectral envelope, delta coded), and
//! mantissas quantised with as many bits as a psychoacoustic model computed from the exponents
//! allots them ([`bit_alloc`]); the decoder runs that same model to know how to read them.
//! High frequencies of several channels may share one coupling channel, scaled per band;
//! stereo may be coded as sum and difference (rematrixing); [`block`] reads all that.
//! [`transform`] turns each block's 256 coefficients into samples. Every frame is independent of the others but for the
//! transform's overlap, so a damaged frame (its CRC fails) costs that frame.
//!
//! E-AC-3 (Dolby Digital Plus, [`enhanced`]) is AC-3 with the per-block fields gathered at
//! the head of the frame, frames of 1 to 6 blocks and more tools: its first program's own
//! channels are decoded; its dependent substreams (the channels beyond 5.1) are passed over,
//! and spectral extension, enhanced coupling and the adaptive hybrid transform are refused by
//! name.

pub mod bit_alloc;
mod bits;
mod block;
mod enhanced;
pub mod header;
mod transform;

use bits::Bits;
use symphonia::core::audio::{
    AsGenericAudioBufferRef, Audio, AudioBuffer, AudioMut, AudioSpec, Channels, Position,
};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::well_known::{CODEC_ID_AC3, CODEC_ID_EAC3};
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::errors::{Error as SymphoniaError, Result};
use symphonia::core::packet::PacketRef;

use block::FrameState;
use enhanced::FrameSyntax;
use header::{BLOCK_SAMPLES, FRAME_SAMPLES, FrameHeader, Syntax};
use transform::Transform;

/// Channel slots: the full-bandwidth channels first, then these.
const MAX_FULL: usize = 5;
const COUPLING: usize = 5;
const LFE: usize = 6;
const SLOTS: usize = 7;

/// The slots a block's fields go through, in the stream's order: the coupling channel when in
/// use, the full-bandwidth channels, the LFE channel when there is one.
fn slots(coupling: bool, full: usize, lfe: bool) -> impl Iterator<Item = usize> + Clone {
    coupling
        .then_some(COUPLING)
        .into_iter()
        .chain(0..full)
        .chain(lfe.then_some(LFE))
}

fn damaged(what: &'static str) -> SymphoniaError {
    SymphoniaError::DecodeError(what)
}

fn io_to_damage(_: std::io::Error) -> SymphoniaError {
    damaged("ac3: a frame's data ends early")
}

/// Speakers of each audio coding mode in the stream's order.
fn speakers(acmod: u8) -> &'static [Position] {
    const L: Position = Position::FRONT_LEFT;
    const R: Position = Position::FRONT_RIGHT;
    const C: Position = Position::FRONT_CENTER;
    const S: Position = Position::REAR_CENTER;
    const SL: Position = Position::SIDE_LEFT;
    const SR: Position = Position::SIDE_RIGHT;
    match acmod {
        // Dual mono ("1+1") goes out as the two sides of a stereo pair, as other decoders do.
        0 | 2 => &[L, R],
        1 => &[C],
        3 => &[L, C, R],
        4 => &[L, R, S],
        5 => &[L, C, R, S],
        6 => &[L, R, SL, SR],
        _ => &[L, C, R, SL, SR],
    }
}

pub struct Ac3Decoder {
    codec_params: AudioCodecParameters,
    decoded: AudioBuffer<f32>,
    transform: Transform,
    /// Each output channel's second half of the last block, by slot.
    delay: [[f32; 256]; SLOTS],
    /// The layout `delay` belongs to.
    layout: Option<(u8, bool, u32)>,
    state: Box<FrameState>,
    /// Dither for mantissas sent with no bits: a linear congruential generator's state, seeded
    /// by each frame.
    noise: u32,
}

impl Ac3Decoder {
    pub fn try_new(params: &AudioCodecParameters) -> Result<Ac3Decoder> {
        Ok(Ac3Decoder {
            codec_params: params.clone(),
            decoded: AudioBuffer::new(
                AudioSpec::new(
                    params.sample_rate.unwrap_or(48_000),
                    Channels::Positioned(Position::FRONT_LEFT | Position::FRONT_RIGHT),
                ),
                0,
            ),
            transform: Transform::new(),
            delay: [[0.0; 256]; SLOTS],
            layout: None,
            state: Box::default(),
            noise: 1,
        })
    }

    /// AC-3 or E-AC-3, as the stream's parameters say (an E-AC-3 stream's frames may also be
    /// AC-3's).
    fn decoded_codec(&self) -> &CodecInfo {
        let codecs = Self::supported_codecs();
        let enhanced = self.codec_params.codec == CODEC_ID_EAC3;
        &codecs[usize::from(enhanced)].info
    }

    fn decode_packet(&mut self, packet: &PacketRef<'_>) -> Result<()> {
        self.decoded.clear();
        let mut data = packet.data;
        while data.len() >= header::HEADER_BYTES {
            let header = FrameHeader::parse(data).ok_or(damaged("ac3: no frame header"))?;
            let frame = data
                .get(..header.frame_bytes)
                .ok_or(damaged("ac3: a frame cut short"))?;
            // E-AC-3's other programs and the channels dependent substreams add (7.1) are
            // passed over: the first program's own channels are decoded.
            if header.is_decoded() {
                self.decode_frame(&header, frame)?;
            }
            data = &data[header.frame_bytes..];
        }
        Ok(())
    }

    fn decode_frame(&mut self, header: &FrameHeader, frame: &[u8]) -> Result<()> {
        // A fuzzer's mutations would seldom get past the CRC into the frame's parsing.
        if header::crc16(&frame[2..]) != 0 && !cfg!(fuzzing) {
            return Err(damaged("ac3: damaged frame (its CRC does not match)"));
        }
        let positions = speakers(header.acmod);
        let mut mask = positions.iter().fold(Position::empty(), |all, &p| all | p);
        if header.lfe {
            mask |= Position::LFE1;
        }
        let layout = (header.acmod, header.lfe, header.rate);
        if self.layout != Some(layout) {
            // Another stream: start it as a decoder made for it would.
            self.layout = Some(layout);
            self.reset();
        }
        let spec = AudioSpec::new(header.rate, Channels::Positioned(mask));
        if self.decoded.spec() != &spec {
            if self.decoded.frames() > 0 {
                return Err(damaged("ac3: frames of different layouts in one packet"));
            }
            self.decoded = AudioBuffer::new(spec, FRAME_SAMPLES);
        }
        // Where each slot's samples go among the planes (ordered by position).
        let plane_of = |position: Position| (mask.bits() & (position.bits() - 1)).count_ones();
        let mut planes = [usize::MAX; SLOTS];
        for (slot, &position) in positions.iter().enumerate() {
            planes[slot] = plane_of(position) as usize;
        }
        if header.lfe {
            planes[LFE] = plane_of(Position::LFE1) as usize;
        }

        // The dither starts each frame from the frame's two CRCs: the same frame gets the same
        // noise whatever came before it (a damaged frame skipped, pieces of any size).
        let crc_end = u16::from_be_bytes([frame[frame.len() - 2], frame[frame.len() - 1]]);
        self.noise = u32::from(u16::from_be_bytes([frame[2], frame[3]])) << 16 | u32::from(crc_end);
        let mut bits = Bits::new(&frame[5..]);
        match header.syntax {
            Syntax::Ac3 => {
                self.read_bsi(header, &mut bits).map_err(io_to_damage)?;
                self.state.syntax = FrameSyntax::ac3();
            }
            Syntax::Enhanced => {
                self.start_frame(header);
                self.state.syntax =
                    enhanced::read_frame(header, &mut bits, &mut self.state.params)?;
                self.state.first_coupling_coords = [true; MAX_FULL];
                self.state.first_coupling_leak = true;
            }
        }
        let samples = header.blocks * BLOCK_SAMPLES;
        let start = self.decoded.frames();
        if self.decoded.capacity() < start + samples {
            self.decoded.grow_capacity(start + samples);
        }
        self.decoded.render_uninit(Some(samples));
        let outputs = slots(false, self.state.full_channels, self.state.lfe);
        for block in 0..header.blocks {
            self.state.read_block(block, &mut bits, &mut self.noise)?;
            for slot in outputs.clone() {
                let coefficients = self.state.coefficients(slot, &mut self.noise);
                let short = slot < MAX_FULL && self.state.block_switch[slot];
                let plane = self
                    .decoded
                    .plane_mut(planes[slot])
                    .expect("a plane per channel");
                let out = &mut plane[start + block * 256..][..256];
                self.transform
                    .block(&coefficients, short, &mut self.delay[slot], out);
            }
        }
        Ok(())
    }

    /// The bit stream information after the sync info: what matters to decoding is the channel
    /// layout; the rest (dialogue level, compression, language, time codes) is read past.
    fn read_bsi(&mut self, header: &FrameHeader, bits: &mut Bits<'_>) -> std::io::Result<()> {
        bits.ignore_bits(8)?; // bsid, bsmod
        let acmod = bits.read_bits_leq32(3)? as u8;
        if acmod & 1 != 0 && acmod != 1 {
            bits.ignore_bits(2)?; // cmixlev
        }
        if acmod & 4 != 0 {
            bits.ignore_bits(2)?; // surmixlev
        }
        if acmod == 2 {
            bits.ignore_bits(2)?; // dsurmod
        }
        let lfe = bits.read_bool()?;
        for _ in 0..if acmod == 0 { 2 } else { 1 } {
            bits.ignore_bits(5)?; // dialnorm
            for field in [8, 8, 7] {
                // compr, langcod, mixlevel + roomtyp
                if bits.read_bool()? {
                    bits.ignore_bits(field)?;
                }
            }
        }
        bits.ignore_bits(2)?; // copyrightb, origbs
        for _ in 0..2 {
            // timecod1/2, or the alternate syntax's xbsi1/2
            if bits.read_bool()? {
                bits.ignore_bits(14)?;
            }
        }
        if bits.read_bool()? {
            let length = bits.read_bits_leq32(6)? + 1;
            bits.ignore_bits(length * 8)?;
        }
        if (acmod, lfe) != (header.acmod, header.lfe) {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        self.start_frame(header);
        Ok(())
    }

    /// What every frame starts afresh.
    fn start_frame(&mut self, header: &FrameHeader) {
        let state = &mut self.state;
        state.acmod = header.acmod;
        state.lfe = header.lfe;
        state.full_channels = header::FULL_BANDWIDTH_CHANNELS[usize::from(header.acmod)];
        state.params.rate_code = header.rate_code;
        state.dynamic_range = [1.0; 2];
        state.deltas = Default::default();
        state.channel_params[COUPLING].coupling_leak = None;
        state.first_coupling_leak = false;
        state.coupling = false;
        state.in_coupling = [false; MAX_FULL];
        state.end[LFE] = 7;
    }
}

impl AudioDecoder for Ac3Decoder {
    super::buffered_decoder_methods!(codec_info: decoded_codec);

    fn reset(&mut self) {
        self.delay = [[0.0; 256]; SLOTS];
    }
}

impl RegisterableAudioDecoder for Ac3Decoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(Ac3Decoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        const CODECS: [SupportedAudioCodec; 2] = [
            SupportedAudioCodec {
                id: CODEC_ID_AC3,
                info: CodecInfo {
                    short_name: "ac3",
                    long_name: "AC-3 (Dolby Digital)",
                    profiles: &[],
                },
            },
            SupportedAudioCodec {
                id: CODEC_ID_EAC3,
                info: CodecInfo {
                    short_name: "eac3",
                    long_name: "E-AC-3 (Dolby Digital Plus)",
                    profiles: &[],
                },
            },
        ];
        &CODECS
    }
}
