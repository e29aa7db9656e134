//! Opus of every channel mapping: plain mono and stereo, family 1 (5.1, 7.1 and the rest of the
//! Vorbis layouts, and mono or stereo with a mapping table of their own) and family 255
//! (channels with no speaker assigned, as `ffmpeg -mapping_family 255` writes them; they come
//! out as WAV without a channel mask does), each stream of a packet decoded by a plain libopus
//! decoder in `opus_streams`, which holds the unsafe FFI calls with [`packet_frames`].
//!
//! Written here because `symphonia-adapter-libopus` decodes one plain Opus stream only (mono and
//! stereo, "unsupported number of channels" for the rest), drops a pre-skip from the first
//! packet only (a longer one is common: mutagen's `example.opus` has 65535 samples), and keeps a
//! 46 KiB output buffer per stream for Opus's longest packet, which hundreds of live streams
//! pay for in resident memory; here the buffers grow to the longest packet seen.

use super::opus_streams::StreamDecoders;
use symphonia::core::audio::layouts::{CHANNEL_LAYOUT_MONO, CHANNEL_LAYOUT_STEREO};
use symphonia::core::audio::{
    AsGenericAudioBufferRef, AudioBuffer, AudioMut, AudioSpec, Channels, GenericAudioBufferRef,
    Position,
};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{
    AudioCodecParameters, AudioDecoder, AudioDecoderOptions, FinalizeResult,
};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::errors::{Result, decode_error, unsupported_error};
use symphonia::core::packet::PacketRef;

/// Opus always decodes at 48 kHz here.
const RATE: u32 = 48_000;
/// The longest Opus packet: 120 ms.
const MAX_FRAMES: usize = RATE as usize * 120 / 1000;

/// The OpusHead of an Opus track in MP4. symphonia's MP4 reader (0.6.1) hands out the `dOps` box
/// behind the `OpusHead` magic as it is, but `dOps` is big-endian with version 0 where OpusHead
/// is little-endian with version 1 ("Encapsulation of Opus in ISO Base Media File Format",
/// section 4.3.2): read as it is, a pre-skip of 312 becomes 14337 and the first packets are
/// lost. `None` when `extra` is not such a box. `pre_skip` replaces the box's when the
/// track's edit list already skips the priming.
pub fn opus_head_from_mp4(extra: &[u8], pre_skip: Option<u16>) -> Option<Vec<u8>> {
    if extra.get(..8)? != b"OpusHead" || *extra.get(8)? != 0 || extra.len() < 19 {
        return None;
    }
    let be16 = |at: usize| u16::from_be_bytes([extra[at], extra[at + 1]]);
    let mut head = b"OpusHead".to_vec();
    head.push(1);
    head.push(extra[9]);
    head.extend_from_slice(&pre_skip.unwrap_or(be16(10)).to_le_bytes());
    head.extend_from_slice(
        &u32::from_be_bytes([extra[12], extra[13], extra[14], extra[15]]).to_le_bytes(),
    );
    head.extend_from_slice(&be16(16).to_le_bytes());
    // The channel mapping family and its table are bytes, the same in both.
    head.extend_from_slice(&extra[18..]);
    Some(head)
}

/// What `OpusHead` says about a multichannel stream (RFC 7845, section 5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusHead {
    pub channels: u8,
    pub pre_skip: u16,
    pub mapping_family: u8,
    pub streams: u8,
    pub coupled_streams: u8,
    /// Decoder channel index for each output channel, in Vorbis order.
    pub mapping: Vec<u8>,
}

impl OpusHead {
    pub fn parse(bytes: &[u8]) -> Option<OpusHead> {
        if bytes.get(..8)? != b"OpusHead" {
            return None;
        }
        let channels = *bytes.get(9)?;
        let pre_skip = u16::from_le_bytes([*bytes.get(10)?, *bytes.get(11)?]);
        let mapping_family = *bytes.get(18)?;
        let (streams, coupled_streams, mapping) = if mapping_family == 0 {
            (1, channels.saturating_sub(1), (0..channels).collect())
        } else {
            let mapping = bytes.get(21..21 + channels as usize)?.to_vec();
            (*bytes.get(19)?, *bytes.get(20)?, mapping)
        };
        Some(OpusHead {
            channels,
            pre_skip,
            mapping_family,
            streams,
            coupled_streams,
            mapping,
        })
    }

    /// `(family, streams, coupled streams, mapping)` for a family other than 0.
    fn family_layout(&self) -> Option<(u8, u8, u8, &[u8])> {
        (self.mapping_family != 0).then_some((
            self.mapping_family,
            self.streams,
            self.coupled_streams,
            &self.mapping[..],
        ))
    }

    /// One Opus stream holding the channels in order: what the plain decoder decodes.
    fn is_plain(&self) -> bool {
        self.channels <= 2
            && self.streams == 1
            && self.coupled_streams == self.channels.saturating_sub(1)
            && self.mapping.iter().copied().eq(0..self.channels)
    }
}

/// An OpusHead's content as plain values (a `Copy` type, for a container hint made from caps):
/// up to 8 channels, which is what the decoder takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusLayout {
    pub channels: u8,
    pub pre_skip: u16,
    /// Output gain in Q7.8 dB, as the OpusHead has it.
    pub gain: i16,
    pub family: u8,
    pub streams: u8,
    pub coupled: u8,
    pub mapping: [u8; 8],
}

impl OpusLayout {
    /// The layout of an OpusHead, if it is one of up to 8 channels.
    pub fn from_head(bytes: &[u8]) -> Option<OpusLayout> {
        let head = OpusHead::parse(bytes)?;
        let gain = i16::from_le_bytes([*bytes.get(16)?, *bytes.get(17)?]);
        OpusLayout::new(head.channels, head.family_layout(), head.pre_skip, gain)
    }

    /// A layout of `channels` in mapping `family` with `(streams, coupled streams, mapping)`
    /// (mapping family 0 has none: one stream of the channels in order).
    pub fn new(
        channels: u8,
        family: Option<(u8, u8, u8, &[u8])>,
        pre_skip: u16,
        gain: i16,
    ) -> Option<OpusLayout> {
        if !(1..=8).contains(&channels) {
            return None;
        }
        let mut layout = OpusLayout {
            channels,
            pre_skip,
            gain,
            family: 0,
            streams: 1,
            coupled: channels - 1,
            mapping: [0, 1, 2, 3, 4, 5, 6, 7],
        };
        if let Some((family, streams, coupled, mapping)) = family {
            if mapping.len() != usize::from(channels) {
                return None;
            }
            layout.family = family;
            layout.streams = streams;
            layout.coupled = coupled;
            layout.mapping[..mapping.len()].copy_from_slice(mapping);
        } else if channels > 2 {
            return None;
        }
        Some(layout)
    }

    /// The OpusHead this layout stands for.
    pub fn head(&self) -> Vec<u8> {
        let mut head = if self.family == 0 {
            plain_opus_head(self.channels, self.pre_skip)
        } else {
            let mapping = &self.mapping[..usize::from(self.channels)];
            let mut head = mapped_opus_head(self.family, self.streams, self.coupled, mapping);
            head[10..12].copy_from_slice(&self.pre_skip.to_le_bytes());
            head
        };
        head[16..18].copy_from_slice(&self.gain.to_le_bytes());
        head
    }
}

/// The OpusHead of a plain mono or stereo stream (mapping family 0), for a container that
/// carries none: Matroska whose CodecPrivate is missing, with the pre-skip from its CodecDelay.
pub fn plain_opus_head(channels: u8, pre_skip: u16) -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.extend_from_slice(&[1, channels]);
    head.extend_from_slice(&pre_skip.to_le_bytes());
    head.extend_from_slice(&RATE.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes());
    head.push(0);
    head
}

/// The OpusHead of a multistream layout (`mapping`: the decoder channel of each output
/// channel), for a container that carries a layout code instead (an MPEG transport stream).
pub fn mapped_opus_head(family: u8, streams: u8, coupled: u8, mapping: &[u8]) -> Vec<u8> {
    let mut head = plain_opus_head(mapping.len() as u8, 0);
    if let Some(last) = head.last_mut() {
        *last = family;
    }
    head.extend_from_slice(&[streams, coupled]);
    head.extend_from_slice(mapping);
    head
}

/// The speaker of each channel of a mapping-family-1 stream, in the stream's (Vorbis) order
/// (RFC 7845, section 5.1.1.2).
fn vorbis_positions(channels: u8) -> Option<&'static [Position]> {
    use Position as P;
    const FL: P = P::FRONT_LEFT;
    const FR: P = P::FRONT_RIGHT;
    const FC: P = P::FRONT_CENTER;
    const LFE: P = P::LFE1;
    const RL: P = P::REAR_LEFT;
    const RR: P = P::REAR_RIGHT;
    const RC: P = P::REAR_CENTER;
    const SL: P = P::SIDE_LEFT;
    const SR: P = P::SIDE_RIGHT;
    Some(match channels {
        1 => &[FC],
        2 => &[FL, FR],
        3 => &[FL, FC, FR],
        4 => &[FL, FR, RL, RR],
        5 => &[FL, FC, FR, RL, RR],
        6 => &[FL, FC, FR, RL, RR, LFE],
        7 => &[FL, FC, FR, SL, SR, RC, LFE],
        8 => &[FL, FC, FR, SL, SR, RL, RR, LFE],
        _ => return None,
    })
}

/// Frames per channel an Opus packet decodes to at `rate` (0 when libopus cannot tell).
fn packet_frames(packet: &[u8], rate: u32) -> usize {
    let Ok(len) = i32::try_from(packet.len()) else {
        return 0;
    };
    // SAFETY: `packet` is readable for `len` bytes; libopus only reads the TOC and frame count
    // within them and returns an error code for anything it cannot parse.
    let frames =
        unsafe { opusic_sys::opus_packet_get_nb_samples(packet.as_ptr(), len, rate as i32) };
    usize::try_from(frames).unwrap_or(0)
}

/// The rates libopus decodes at.
const LIBOPUS_RATES: [u32; 5] = [8_000, 12_000, 16_000, 24_000, 48_000];

/// Opus of any channel count, each stream with a plain libopus decoder (`opus_streams`).
pub struct OpusDecoder {
    params: AudioCodecParameters,
    decoder: StreamDecoders,
    channels: usize,
    /// Output plane of each stream channel: planes follow the positions' bit order.
    plane_of: Vec<usize>,
    /// One packet's samples, interleaved, when they do not fit `INTERLEAVED_ON_STACK`; grown
    /// to the longest such packet (sizing for Opus's 120 ms at the start cost 23 to 46 KiB a
    /// stream).
    pcm: Vec<f32>,
    spec: AudioSpec,
    buf: AudioBuffer<f32>,
    rate: u32,
    /// Frames still to drop at the start (OpusHead's pre-skip, at `rate`).
    pre_skip: usize,
}

/// Interleaved samples decoded on the stack: 20 ms of stereo at 48 kHz.
const INTERLEAVED_ON_STACK: usize = 960 * 2;

impl OpusDecoder {
    fn try_new(params: &AudioCodecParameters) -> Result<OpusDecoder> {
        let channels_stated = params.channels.as_ref().map(|c| c.count());
        let head = match params.extra_data.as_deref().and_then(OpusHead::parse) {
            Some(head) => head,
            // No OpusHead (a container that carries none): one plain stream of the stated
            // channels.
            None => match channels_stated {
                Some(count @ 1..=2) => {
                    OpusHead::parse(&plain_opus_head(count as u8, 0)).expect("a valid head")
                }
                _ => return unsupported_error("opus: channels or channel layout is required"),
            },
        };
        let plain = head.is_plain();
        let (layout, plane_of) = match head.mapping_family {
            _ if plain => {
                let layout = if head.channels == 1 {
                    CHANNEL_LAYOUT_MONO
                } else {
                    CHANNEL_LAYOUT_STEREO
                };
                (layout, (0..head.channels as usize).collect())
            }
            0 => return unsupported_error("opus: mapping family 0 allows 1 or 2 channels only"),
            1 => {
                let Some(positions) = vorbis_positions(head.channels) else {
                    return unsupported_error("opus: mapping family 1 needs 1 to 8 channels");
                };
                let mask = positions.iter().fold(Position::empty(), |m, p| m | *p);
                let plane_of = positions
                    .iter()
                    .map(|p| (mask.bits() & (p.bits() - 1)).count_ones() as usize)
                    .collect();
                (Channels::Positioned(mask), plane_of)
            }
            255 => (
                Channels::Discrete(u16::from(head.channels)),
                (0..head.channels as usize).collect(),
            ),
            2 | 3 => {
                return unsupported_error(
                    "opus: ambisonics (channel mapping families 2 and 3) is not supported",
                );
            }
            _ => return unsupported_error("opus: reserved channel mapping family"),
        };
        // Mono and stereo decode at the rate the container states, when libopus has it, as
        // symphonia's libopus adapter did; the rest at Opus's own 48 kHz.
        let rate = params
            .sample_rate
            .filter(|rate| plain && LIBOPUS_RATES.contains(rate))
            .unwrap_or(RATE);
        let channels = head.channels as usize;
        let spec = AudioSpec::new(rate, layout);
        Ok(OpusDecoder {
            params: params.clone(),
            decoder: StreamDecoders::new(
                rate,
                usize::from(head.streams),
                usize::from(head.coupled_streams),
                &head.mapping,
            )
            .or_else(decode_error)?,
            channels,
            plane_of,
            pcm: Vec::new(),
            buf: AudioBuffer::new(spec.clone(), 0),
            spec,
            rate,
            pre_skip: usize::from(head.pre_skip) * rate as usize / RATE as usize,
        })
    }

    fn decode(&mut self, packet: &PacketRef<'_>) -> Result<()> {
        self.buf.clear();
        // An empty packet asks for the concealment of one as long as the last.
        let frames_in_packet = match packet.data {
            [] => self.decoder.last_frames(),
            data => packet_frames(data, self.rate),
        };
        if frames_in_packet == 0
            || frames_in_packet > MAX_FRAMES * self.rate as usize / RATE as usize
        {
            return decode_error("opus: invalid packet");
        }
        if self.buf.capacity() < frames_in_packet {
            self.buf = AudioBuffer::new(self.spec.clone(), frames_in_packet);
        }
        // The interleaved samples live on the stack (the lent one, see `coroutine`) for the
        // usual 20 ms of mono or stereo, so a stream keeps no buffer of its own for them.
        let needed = frames_in_packet * self.channels;
        let mut on_stack = [0f32; INTERLEAVED_ON_STACK];
        let pcm = if needed <= on_stack.len() {
            &mut on_stack[..needed]
        } else {
            self.pcm.resize(needed, 0.0);
            &mut self.pcm[..needed]
        };
        let frames = self
            .decoder
            .decode(packet.data, frames_in_packet, pcm)
            .or_else(decode_error)?;
        self.buf.render_uninit(Some(frames));
        for (channel, plane) in self.plane_of.iter().enumerate() {
            let out = self.buf.plane_mut(*plane).expect("a plane per channel");
            for (sample, decoded) in out
                .iter_mut()
                .zip(pcm[channel..].iter().step_by(self.channels))
                .take(frames)
            {
                *sample = *decoded;
            }
        }
        // Pre-skip applies to the start of the stream; the container's trims to each packet.
        let skip = self.pre_skip.min(frames);
        self.pre_skip -= skip;
        self.buf.trim(
            packet.trim_start.get() as usize + skip,
            packet.trim_end.get() as usize,
        );
        Ok(())
    }
}

impl AudioDecoder for OpusDecoder {
    fn reset(&mut self) {
        self.decoder.reset();
    }

    fn codec_info(&self) -> &CodecInfo {
        &Self::supported_codecs()[0].info
    }

    fn codec_params(&self) -> &AudioCodecParameters {
        &self.params
    }

    fn decode_ref(&mut self, packet: &PacketRef<'_>) -> Result<GenericAudioBufferRef<'_>> {
        if let Err(e) = self.decode(packet) {
            self.buf.clear();
            return Err(e);
        }
        Ok(self.buf.as_generic_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> GenericAudioBufferRef<'_> {
        self.buf.as_generic_audio_buffer_ref()
    }
}

impl RegisterableAudioDecoder for OpusDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(OpusDecoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        const OPUS: SupportedAudioCodec = SupportedAudioCodec {
            id: CODEC_ID_OPUS,
            info: CodecInfo {
                short_name: "opus",
                long_name: "Opus",
                profiles: &[],
            },
        };
        &[OPUS]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_5_1() -> Vec<u8> {
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, 6]);
        head.extend_from_slice(&312u16.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&0i16.to_le_bytes());
        head.extend_from_slice(&[1, 4, 2, 0, 4, 1, 2, 3, 5]);
        head
    }

    #[test]
    fn an_mp4_dops_box_becomes_an_opus_head() {
        // What symphonia's MP4 reader gives for ffmpeg's stereo dOps: version 0, pre-skip 312,
        // 48000 Hz, gain 0, family 0, all big-endian.
        let mut extra = b"OpusHead".to_vec();
        extra.extend_from_slice(&[0, 2, 0x01, 0x38, 0, 0, 0xbb, 0x80, 0, 0, 0]);
        let head = opus_head_from_mp4(&extra, None).unwrap();
        assert_eq!(
            head,
            [
                &b"OpusHead"[..],
                &[1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]
            ]
            .concat()
        );
        let parsed = OpusHead::parse(&head).unwrap();
        assert_eq!((parsed.channels, parsed.pre_skip), (2, 312));
        let without_skip = opus_head_from_mp4(&extra, Some(0)).unwrap();
        assert_eq!(OpusHead::parse(&without_skip).unwrap().pre_skip, 0);
        // A real OpusHead (version 1, as in Ogg) is left alone.
        assert_eq!(opus_head_from_mp4(&head, None), None);
    }

    #[test]
    fn parses_opus_head() {
        let head = OpusHead::parse(&head_5_1()).unwrap();
        assert_eq!(
            head,
            OpusHead {
                channels: 6,
                pre_skip: 312,
                mapping_family: 1,
                streams: 4,
                coupled_streams: 2,
                mapping: vec![0, 4, 1, 2, 3, 5],
            }
        );
        assert!(
            OpusHead::parse(&head_5_1()[..22]).is_none(),
            "mapping cut short"
        );
        assert!(OpusHead::parse(b"OpusTags").is_none());
    }

    #[test]
    fn vorbis_order_maps_to_wave_planes() {
        // 5.1 in Vorbis order: FL FC FR RL RR LFE; planes in WAVE order: FL FR FC LFE RL RR.
        let positions = vorbis_positions(6).unwrap();
        let mask = positions.iter().fold(Position::empty(), |m, p| m | *p);
        assert_eq!(mask.bits(), 0x3f);
        let planes: Vec<usize> = positions
            .iter()
            .map(|p| (mask.bits() & (p.bits() - 1)).count_ones() as usize)
            .collect();
        assert_eq!(planes, [0, 2, 1, 4, 5, 3]);
    }
}
