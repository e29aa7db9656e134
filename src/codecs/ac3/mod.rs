//! AC-3 (Dolby Digital, ATSC A/52), written here: no crate decodes it, and the libraries that do
//! are GPL (liba52) or all of FFmpeg. Its patents have expired and the standard is public. A
//! packet is one or more whole sync frames (as `container::ac3`, Matroska's `A_AC3` and MP4's
//! `ac-3` deliver them), each 1536 samples per channel in six blocks of 256.
//!
//! Each block carries, per channel, exponents (a coarse spectral envelope, delta coded), and
//! mantissas quantised with as many bits as a psychoacoustic model computed from the exponents
//! allots them ([`bit_alloc`]); the decoder runs that same model to know how to read them.
//! High frequencies of several channels may share one coupling channel, scaled per band;
//! stereo may be coded as sum and difference (rematrixing). [`transform`] turns each block's
//! 256 coefficients into samples. Every frame is independent of the others but for the
//! transform's overlap, so a damaged frame (its CRC fails) costs that frame.
//!
//! E-AC-3 (Dolby Digital Plus, [`enhanced`]) is AC-3 with the per-block fields gathered at
//! the head of the frame, frames of 1 to 6 blocks and more tools: its first program's own
//! channels are decoded; its dependent substreams (the channels beyond 5.1) are passed over,
//! and spectral extension, enhanced coupling and the adaptive hybrid transform are refused by
//! name.

pub mod bit_alloc;
mod bits;
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

use bit_alloc::{ChannelParams, Delta, Params};
use enhanced::FrameSyntax;
use header::{BLOCK_SAMPLES, FRAME_SAMPLES, FrameHeader, Syntax};
use transform::Transform;

/// Channel slots: the full-bandwidth channels first, then these.
const MAX_FULL: usize = 5;
const COUPLING: usize = 5;
const LFE: usize = 6;
const SLOTS: usize = 7;
/// Coupling sub-bands of 12 bins: up to 18.
const MAX_COUPLING_BANDS: usize = 18;
/// E-AC-3's coupling band structure when a frame's first block sends none (A/52 table E2.16),
/// by sub-band: whether it joins the band below.
const DEFAULT_COUPLING_JOINS: [bool; MAX_COUPLING_BANDS] = [
    false, false, false, false, false, false, false, false, true, false, true, true, false, true,
    true, true, true, true,
];
/// Where the rematrixing bands of stereo start (A/52 table 7.25), and where the last ends.
const REMATRIX_BANDS: [usize; 5] = [13, 25, 37, 61, 253];

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

/// Exponent strategies: reuse the last block's, or new ones sent in groups of 1, 2 or 4 bins.
fn group_bins(strategy: u32) -> usize {
    1 << (strategy - 1)
}

/// Everything a frame's blocks pass on to the following blocks of the same frame.
struct FrameState {
    syntax: FrameSyntax,
    full_channels: usize,
    acmod: u8,
    lfe: bool,
    block_switch: [bool; MAX_FULL],
    dither: [bool; MAX_FULL],
    dynamic_range: [f32; 2],
    coupling: bool,
    in_coupling: [bool; MAX_FULL],
    phase_flags_in_use: bool,
    /// The coupling bands as bin ranges.
    coupling_bands: Vec<(usize, usize)>,
    /// Per coupling sub-band (of 18): whether it joins the band below (E-AC-3 may reuse these
    /// from the block before over another range).
    coupling_joins: [bool; MAX_COUPLING_BANDS],
    /// E-AC-3: the coordinates and leak values a channel's first coupled block sends without
    /// a flag.
    first_coupling_coords: [bool; MAX_FULL],
    first_coupling_leak: bool,
    coupling_coords: [[f32; MAX_COUPLING_BANDS]; MAX_FULL],
    phase_flags: [bool; MAX_COUPLING_BANDS],
    rematrix: [bool; 4],
    rematrix_bands: usize,
    exponents: [[u8; 256]; SLOTS],
    start: [usize; SLOTS],
    end: [usize; SLOTS],
    bap: [[u8; 256]; SLOTS],
    params: Params,
    channel_params: [ChannelParams; SLOTS],
    deltas: [Option<Delta>; SLOTS],
    /// Each slot's mantissas times 2^-exponent as read (the coupling channel's before each
    /// channel's coordinates, and 0 where it sent no bits).
    values: [[f32; 256]; SLOTS],
}

impl Default for FrameState {
    fn default() -> Self {
        FrameState {
            syntax: FrameSyntax::ac3(),
            full_channels: 0,
            acmod: 0,
            lfe: false,
            block_switch: [false; MAX_FULL],
            dither: [false; MAX_FULL],
            dynamic_range: [1.0; 2],
            coupling: false,
            in_coupling: [false; MAX_FULL],
            phase_flags_in_use: false,
            coupling_bands: Vec::with_capacity(MAX_COUPLING_BANDS),
            coupling_joins: [false; MAX_COUPLING_BANDS],
            first_coupling_coords: [true; MAX_FULL],
            first_coupling_leak: false,
            coupling_coords: [[0.0; MAX_COUPLING_BANDS]; MAX_FULL],
            phase_flags: [false; MAX_COUPLING_BANDS],
            rematrix: [false; 4],
            rematrix_bands: 0,
            exponents: [[0; 256]; SLOTS],
            start: [0; SLOTS],
            end: [0; SLOTS],
            bap: [[0; 256]; SLOTS],
            params: Params::default(),
            channel_params: [ChannelParams::default(); SLOTS],
            deltas: Default::default(),
            values: [[0.0; 256]; SLOTS],
        }
    }
}

/// The values grouped mantissas (3, 5 and 11 levels) were read as, until a group is used up.
#[derive(Default)]
struct Groups {
    three: ([f32; 3], usize),
    five: ([f32; 3], usize),
    eleven: ([f32; 2], usize),
}

fn symmetric(levels: u32, index: u32) -> f32 {
    let index = index.min(levels - 1);
    (2 * index) as f32 / levels as f32 - (levels - 1) as f32 / levels as f32
}

/// Bits of the asymmetric quantisers of bap 6 to 15.
const ASYMMETRIC_BITS: [u32; 10] = [5, 6, 7, 8, 9, 10, 11, 12, 14, 16];

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
        let mut outputs: Vec<usize> = (0..self.state.full_channels).collect();
        if self.state.lfe {
            outputs.push(LFE);
        }
        for block in 0..header.blocks {
            self.read_block(block, &mut bits)?;
            for &slot in &outputs {
                let coefficients = self.coefficients(slot);
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

    fn read_block(&mut self, block: usize, bits: &mut Bits<'_>) -> Result<()> {
        let noise = &mut self.noise;
        let state = &mut *self.state;
        let full = state.full_channels;
        let read =
            |bits: &mut Bits<'_>, count: u32| bits.read_bits_leq32(count).map_err(io_to_damage);
        let flag = |bits: &mut Bits<'_>| bits.read_bool().map_err(io_to_damage);

        let enhanced = state.syntax.enhanced;
        for channel in 0..full {
            state.block_switch[channel] = state.syntax.block_switch && flag(bits)?;
        }
        for channel in 0..full {
            state.dither[channel] = !state.syntax.dither || flag(bits)?;
        }
        for index in 0..if state.acmod == 0 { 2 } else { 1 } {
            if flag(bits)? {
                state.dynamic_range[index] = dynamic_range_gain(read(bits, 8)? as u8);
            }
        }

        // Which slots' bit allocation has to be computed again: those whose inputs this block
        // sends anew (most blocks send none and reuse the last block's).
        let mut stale = [block == 0; SLOTS];

        // Spectral extension (E-AC-3), sent in the first block and when a block changes it.
        if enhanced && (block == 0 || flag(bits)?) && flag(bits)? {
            return Err(SymphoniaError::Unsupported(
                "ac3: E-AC-3 with spectral extension is not decoded",
            ));
        }

        // Coupling strategy.
        let strategy_sent = if enhanced {
            state.syntax.coupling_strategy[block]
        } else {
            flag(bits)?
        };
        if strategy_sent {
            stale = [true; SLOTS];
            state.coupling = if enhanced {
                state.syntax.coupling_in_use[block]
            } else {
                flag(bits)?
            };
            if state.coupling {
                if enhanced && flag(bits)? {
                    return Err(SymphoniaError::Unsupported(
                        "ac3: E-AC-3 with enhanced coupling is not decoded",
                    ));
                }
                if state.acmod < 2 {
                    return Err(damaged("ac3: coupling in mono"));
                }
                for channel in 0..full {
                    state.in_coupling[channel] = (enhanced && state.acmod == 2) || flag(bits)?;
                }
                if state.acmod == 2 {
                    state.phase_flags_in_use = flag(bits)?;
                }
                let begin = read(bits, 4)? as usize;
                let end = read(bits, 4)? as usize + 3;
                if end <= begin {
                    return Err(damaged("ac3: coupling ends before it begins"));
                }
                // Whether each sub-band but the first joins the band below: sent, or for
                // E-AC-3 possibly not, then the default in the first block and the last
                // block's otherwise.
                if !enhanced || flag(bits)? {
                    for sub_band in begin + 1..end {
                        state.coupling_joins[sub_band] = flag(bits)?;
                    }
                } else if block == 0 {
                    state.coupling_joins = DEFAULT_COUPLING_JOINS;
                }
                state.coupling_bands.clear();
                for sub_band in begin..end {
                    let start = 37 + 12 * sub_band;
                    match state.coupling_bands.last_mut() {
                        Some(band) if sub_band > begin && state.coupling_joins[sub_band] => {
                            band.1 += 12
                        }
                        _ => state.coupling_bands.push((start, start + 12)),
                    }
                }
                state.start[COUPLING] = 37 + 12 * begin;
                state.end[COUPLING] = 37 + 12 * end;
            } else {
                state.in_coupling = [false; MAX_FULL];
                state.first_coupling_coords = [true; MAX_FULL];
                state.first_coupling_leak = enhanced;
                state.phase_flags_in_use = false;
            }
        } else if block == 0 && !enhanced {
            return Err(damaged("ac3: the first block reuses a coupling strategy"));
        }

        // Coupling coordinates.
        if state.coupling {
            let mut any_new = false;
            for channel in 0..full {
                if !state.in_coupling[channel] {
                    state.first_coupling_coords[channel] = true;
                    continue;
                }
                let first = enhanced && state.first_coupling_coords[channel];
                if !first && !flag(bits)? {
                    if block == 0 {
                        return Err(damaged("ac3: the first block has no coupling coordinates"));
                    }
                    continue;
                }
                state.first_coupling_coords[channel] = false;
                any_new = true;
                let master = 3 * read(bits, 2)? as i32;
                for band in 0..state.coupling_bands.len() {
                    let exponent = read(bits, 4)? as i32;
                    let mantissa = read(bits, 4)? as f32;
                    let value = if exponent == 15 {
                        mantissa / 16.0
                    } else {
                        (mantissa + 16.0) / 32.0
                    };
                    // The standard's coordinates are scaled by 8 when applied.
                    state.coupling_coords[channel][band] =
                        8.0 * value * (-(exponent + master) as f32).exp2();
                }
            }
            if state.acmod == 2 && any_new {
                for band in 0..state.coupling_bands.len() {
                    state.phase_flags[band] = state.phase_flags_in_use && flag(bits)?;
                }
            }
        }

        // Rematrixing (always sent in an E-AC-3 frame's first block).
        if state.acmod == 2 && ((enhanced && block == 0) || flag(bits)?) {
            state.rematrix_bands = match (state.coupling, state.start[COUPLING]) {
                (true, 37) => 2,
                (true, 49 | 61) => 3,
                _ => 4,
            };
            for band in 0..state.rematrix_bands {
                state.rematrix[band] = flag(bits)?;
            }
        }

        // Exponent strategies.
        let mut strategies = [0u32; SLOTS];
        if enhanced {
            strategies = state.syntax.exponent_strategies[block];
            if !state.coupling {
                strategies[COUPLING] = 0;
            }
        } else {
            if state.coupling {
                strategies[COUPLING] = read(bits, 2)?;
            }
            for strategy in strategies.iter_mut().take(full) {
                *strategy = read(bits, 2)?;
            }
            if state.lfe {
                strategies[LFE] = read(bits, 1)?;
            }
        }
        if block == 0
            && (strategies[..full].contains(&0)
                || (state.coupling && strategies[COUPLING] == 0)
                || (state.lfe && strategies[LFE] == 0))
        {
            return Err(damaged("ac3: the first block reuses exponents"));
        }
        for (channel, &strategy) in strategies.iter().enumerate().take(full) {
            if strategy == 0 {
                continue;
            }
            state.end[channel] = if state.in_coupling[channel] {
                state.start[COUPLING]
            } else {
                let bandwidth = read(bits, 6)? as usize;
                if bandwidth > 60 {
                    return Err(damaged("ac3: bandwidth code above 60"));
                }
                73 + 3 * bandwidth
            };
        }

        // Exponents.
        for (slot, &strategy) in strategies.iter().enumerate() {
            stale[slot] |= strategy != 0;
        }
        if state.coupling && strategies[COUPLING] != 0 {
            let absolute = (read(bits, 4)? as u8) << 1;
            let group = 3 * group_bins(strategies[COUPLING]);
            let (start, end) = (state.start[COUPLING], state.end[COUPLING]);
            let groups = (end - start) / group;
            read_exponents(
                bits,
                strategies[COUPLING],
                groups,
                absolute,
                &mut state.exponents[COUPLING][start..end],
            )?;
        }
        for (channel, &strategy) in strategies.iter().enumerate().take(full) {
            if strategy == 0 {
                continue;
            }
            let bins = group_bins(strategy);
            let groups = (state.end[channel] + 3 * bins - 4) / (3 * bins);
            let absolute = read(bits, 4)? as u8;
            let exponents = &mut state.exponents[channel];
            exponents[0] = absolute;
            let end = state.end[channel];
            read_exponents(bits, strategy, groups, absolute, &mut exponents[1..end])?;
            read(bits, 2)?; // gainrng
        }
        if state.lfe && strategies[LFE] != 0 {
            let absolute = read(bits, 4)? as u8;
            let exponents = &mut state.exponents[LFE];
            exponents[0] = absolute;
            read_exponents(bits, 1, 2, absolute, &mut exponents[1..7])?;
        }

        // Bit allocation parameters (an E-AC-3 frame may leave them at their defaults).
        if !state.syntax.bit_alloc {
        } else if flag(bits)? {
            state.params.slow_decay_code = read(bits, 2)? as u8;
            state.params.fast_decay_code = read(bits, 2)? as u8;
            state.params.slow_gain_code = read(bits, 2)? as u8;
            state.params.db_per_bit_code = read(bits, 2)? as u8;
            state.params.floor_code = read(bits, 3)? as u8;
            stale = [true; SLOTS];
        } else if block == 0 {
            return Err(damaged("ac3: the first block has no bit allocation"));
        }
        let mut allocated: Vec<usize> = Vec::with_capacity(SLOTS);
        if state.coupling {
            allocated.push(COUPLING);
        }
        allocated.extend(0..full);
        if state.lfe {
            allocated.push(LFE);
        }
        // SNR offsets: AC-3's in any block, with its fast gains; E-AC-3's for the frame, or
        // in its first block, one for all channels or one each.
        if let (Some(offset), 0) = (state.syntax.frame_snr_offset, block) {
            for slot in 0..SLOTS {
                state.channel_params[slot].snr_offset = offset;
            }
        }
        if !enhanced || block == 0 {
            if state.syntax.snr_strategy != 0 && flag(bits)? {
                let coarse = read(bits, 6)? as i32;
                let mut offset = 0;
                for (index, &slot) in allocated.iter().enumerate() {
                    if index == 0 || state.syntax.snr_strategy == 2 {
                        offset = (((coarse - 15) << 4) + read(bits, 4)? as i32) << 2;
                    }
                    state.channel_params[slot].snr_offset = offset;
                    if !enhanced {
                        state.channel_params[slot].fast_gain_code = read(bits, 3)? as u8;
                    }
                }
                stale = [true; SLOTS];
            } else if !enhanced && block == 0 {
                return Err(damaged("ac3: the first block has no SNR offsets"));
            }
        }
        if state.syntax.fast_gain && flag(bits)? {
            for &slot in &allocated {
                state.channel_params[slot].fast_gain_code = read(bits, 3)? as u8;
            }
            stale = [true; SLOTS];
        } else if enhanced && block == 0 {
            for params in &mut state.channel_params {
                params.fast_gain_code = 4;
            }
        }
        if state.syntax.independent && flag(bits)? {
            read(bits, 10)?; // convsnroffst
        }
        if state.coupling {
            if state.first_coupling_leak || flag(bits)? {
                let fast = read(bits, 3)? as u8;
                let slow = read(bits, 3)? as u8;
                state.channel_params[COUPLING].coupling_leak = Some((fast, slow));
                stale[COUPLING] = true;
            } else if state.channel_params[COUPLING].coupling_leak.is_none() {
                return Err(damaged("ac3: coupling with no leak values"));
            }
            state.first_coupling_leak = false;
        }
        state.channel_params[LFE].is_lfe = true;

        // Delta bit allocation.
        if state.syntax.delta && flag(bits)? {
            stale = [true; SLOTS];
            let with_delta: Vec<usize> = allocated.iter().copied().filter(|&s| s != LFE).collect();
            let mut modes = [0u32; SLOTS];
            for &slot in &with_delta {
                modes[slot] = read(bits, 2)?;
                match modes[slot] {
                    2 => state.deltas[slot] = None,
                    3 => return Err(damaged("ac3: reserved delta bit allocation mode")),
                    _ => {}
                }
            }
            for &slot in &with_delta {
                if modes[slot] == 1 {
                    let count = read(bits, 3)? + 1;
                    let mut delta = Delta::default();
                    for _ in 0..count {
                        let offset = read(bits, 5)? as u8;
                        let length = read(bits, 4)? as u8;
                        let code = read(bits, 3)? as u8;
                        delta.segments.push((offset, length, code));
                    }
                    state.deltas[slot] = Some(delta);
                }
            }
        }

        // Skipped data.
        if state.syntax.skip && flag(bits)? {
            let length = read(bits, 9)?;
            bits.ignore_bits(length * 8).map_err(io_to_damage)?;
        }

        for &slot in allocated.iter().filter(|&&slot| stale[slot]) {
            let start = if slot == COUPLING {
                state.start[COUPLING]
            } else {
                0
            };
            bit_alloc::allocate(
                &state.exponents[slot],
                start,
                state.end[slot],
                &state.params,
                &state.channel_params[slot],
                state.deltas[slot].as_ref(),
                &mut state.bap[slot],
            );
        }

        // Mantissas: each channel's, the coupling channel's after the first coupled one.
        let mut groups = Groups::default();
        let mut coupling_read = false;
        for channel in 0..full {
            read_mantissas(bits, state, channel, &mut groups, noise)?;
            if state.in_coupling[channel] && !coupling_read {
                read_mantissas(bits, state, COUPLING, &mut groups, noise)?;
                coupling_read = true;
            }
        }
        if state.lfe {
            read_mantissas(bits, state, LFE, &mut groups, noise)?;
        }
        Ok(())
    }

    /// One channel's transform coefficients for the block just read: its own, the coupled
    /// part rebuilt from the coupling channel, rematrixing undone, dynamic range applied.
    fn coefficients(&mut self, slot: usize) -> [f32; 256] {
        let state = &*self.state;
        let mut coefficients = [0f32; 256];
        let end = state.end[slot];
        coefficients[..end].copy_from_slice(&state.values[slot][..end]);
        if slot < MAX_FULL && state.coupling && state.in_coupling[slot] {
            for (band, &(start, end)) in state.coupling_bands.iter().enumerate() {
                let mut scale = state.coupling_coords[slot][band];
                if slot == 1 && state.acmod == 2 && state.phase_flags[band] {
                    scale = -scale;
                }
                for (bin, coefficient) in coefficients.iter_mut().enumerate().take(end).skip(start)
                {
                    let value = if state.bap[COUPLING][bin] == 0 && state.dither[slot] {
                        next_dither(&mut self.noise) * exp2_neg(state.exponents[COUPLING][bin])
                    } else {
                        state.values[COUPLING][bin]
                    };
                    *coefficient = value * scale;
                }
            }
        }
        if state.acmod == 2 && slot < 2 {
            // Rematrixed bands hold sum and difference: both channels are needed.
            let other = &state.values[1 - slot];
            let end = state.end[0].min(state.end[1]);
            for band in 0..state.rematrix_bands {
                if !state.rematrix[band] {
                    continue;
                }
                let band_end = REMATRIX_BANDS[band + 1].min(end);
                for bin in REMATRIX_BANDS[band]..band_end {
                    let (sum, difference) = if slot == 0 {
                        (coefficients[bin], other[bin])
                    } else {
                        (other[bin], coefficients[bin])
                    };
                    coefficients[bin] = if slot == 0 {
                        sum + difference
                    } else {
                        sum - difference
                    };
                }
            }
        }
        let gain = if state.acmod == 0 && slot == 1 {
            state.dynamic_range[1]
        } else {
            state.dynamic_range[0]
        };
        if gain != 1.0 {
            for coefficient in &mut coefficients {
                *coefficient *= gain;
            }
        }
        coefficients
    }
}

/// The gain of a dynamic range word: 2^X × (1 + Y/32), X its signed top 3 bits, Y the rest.
fn dynamic_range_gain(code: u8) -> f32 {
    let exponent = i32::from(code as i8 >> 5);
    (exponent as f32).exp2() * (1.0 + f32::from(code & 0x1f) / 32.0)
}

fn exp2_neg(exponent: u8) -> f32 {
    f32::from_bits((127 - u32::from(exponent)) << 23)
}

/// Uniform noise in ±0.707 (-3 dB of full scale, as FFmpeg's decoder) for mantissas coded with
/// no bits.
fn next_dither(state: &mut u32) -> f32 {
    *state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    ((*state >> 8) as f32 / (1u32 << 23) as f32 - 1.0) * std::f32::consts::FRAC_1_SQRT_2
}

/// The mantissas of one slot's bins into `state.values`, times 2^-exponent.
fn read_mantissas(
    bits: &mut Bits<'_>,
    state: &mut FrameState,
    slot: usize,
    groups: &mut Groups,
    noise: &mut u32,
) -> Result<()> {
    let start = if slot == COUPLING {
        state.start[COUPLING]
    } else {
        0
    };
    let dither = slot < MAX_FULL && state.dither[slot];
    let read = |bits: &mut Bits<'_>, count: u32| bits.read_bits_leq32(count).map_err(io_to_damage);
    for bin in start..state.end[slot] {
        let mantissa = match state.bap[slot][bin] {
            0 if dither => next_dither(noise),
            0 => 0.0,
            1 => {
                let (values, used) = &mut groups.three;
                if *used == 0 || *used == 3 {
                    let code = read(bits, 5)?;
                    *values = [code / 9, code / 3 % 3, code % 3].map(|m| symmetric(3, m));
                    *used = 0;
                }
                *used += 1;
                values[*used - 1]
            }
            2 => {
                let (values, used) = &mut groups.five;
                if *used == 0 || *used == 3 {
                    let code = read(bits, 7)?;
                    *values = [code / 25, code / 5 % 5, code % 5].map(|m| symmetric(5, m));
                    *used = 0;
                }
                *used += 1;
                values[*used - 1]
            }
            3 => symmetric(7, read(bits, 3)?),
            4 => {
                let (values, used) = &mut groups.eleven;
                if *used == 0 || *used == 2 {
                    let code = read(bits, 7)?;
                    *values = [code / 11, code % 11].map(|m| symmetric(11, m));
                    *used = 0;
                }
                *used += 1;
                values[*used - 1]
            }
            5 => symmetric(15, read(bits, 4)?),
            bap => {
                let width = ASYMMETRIC_BITS[usize::from(bap) - 6];
                let code = bits.read_bits_leq32_signed(width).map_err(io_to_damage)?;
                code as f32 / (1u32 << (width - 1)) as f32
            }
        };
        state.values[slot][bin] = mantissa * exp2_neg(state.exponents[slot][bin]);
    }
    Ok(())
}

/// `groups` 7-bit groups of three exponent differences, from `absolute`, each held for the
/// strategy's bins, into `out`.
fn read_exponents(
    bits: &mut Bits<'_>,
    strategy: u32,
    groups: usize,
    absolute: u8,
    out: &mut [u8],
) -> Result<()> {
    let bins = group_bins(strategy);
    let mut exponent = i32::from(absolute);
    let mut at = 0;
    for _ in 0..groups {
        let group = bits.read_bits_leq32(7).map_err(io_to_damage)?;
        if group >= 125 {
            return Err(damaged("ac3: an exponent group out of range"));
        }
        for difference in [group / 25, group / 5 % 5, group % 5] {
            exponent += difference as i32 - 2;
            if !(0..=24).contains(&exponent) {
                return Err(damaged("ac3: an exponent out of range"));
            }
            for _ in 0..bins {
                if let Some(slot) = out.get_mut(at) {
                    *slot = exponent as u8;
                }
                at += 1;
            }
        }
    }
    Ok(())
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
