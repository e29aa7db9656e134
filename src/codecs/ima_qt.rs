//! Apple's IMA ADPCM (`ima4` in QuickTime and AIFF-C): per channel, 34-byte blocks of a 2-byte
//! preamble (the predictor's top 9 bits, the step index) and 64 four-bit codes.
//!
//! Written here although symphonia's ADPCM codec has this format: it expands a code with the
//! multiplication IMA's WAV decoders use, where Apple's decoder (and ffmpeg's, which the decodebin
//! chain uses) adds shifted steps, which rounds differently (2-4 LSB from the first block on).
//! As ffmpeg does, a block whose preamble agrees with the state the previous block left goes on
//! from that state, whose predictor has all 16 bits where the preamble keeps 9.

use symphonia::core::audio::{AsGenericAudioBufferRef, AudioBuffer, AudioSpec};
use symphonia::core::codecs::audio::well_known::CODEC_ID_ADPCM_IMA_QT;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::errors::{Result, decode_error, unsupported_error};
use symphonia::core::packet::PacketRef;

/// Bytes of one channel's block, and the frames it holds.
pub const BLOCK_BYTES: usize = 34;
pub const BLOCK_FRAMES: usize = 64;

/// IMA ADPCM's step sizes (the IMA Digital Audio Focus and Technical Working Groups'
/// recommended practice, 1992), indexed by the step index.
#[rustfmt::skip]
const STEPS: [i32; 89] = [
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66,
    73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371, 408,
    449, 494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066,
    2272, 2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630,
    9493, 10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794,
    32767,
];

/// How a code's magnitude moves the step index.
const INDEX_CHANGE: [i32; 8] = [-1, -1, -1, -1, 2, 4, 6, 8];

/// One channel's decoder state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Channel {
    predictor: i32,
    step_index: i32,
}

impl Channel {
    /// Takes a block's preamble: its predictor and step index, unless the state already agrees
    /// with them.
    fn start_block(&mut self, preamble: u16) {
        let predictor = i32::from((preamble & 0xff80) as i16);
        let step_index = i32::from(preamble & 0x7f).min(88);
        if self.step_index != step_index || self.predictor & !0x7f != predictor {
            *self = Channel {
                predictor,
                step_index,
            };
        }
    }

    fn expand(&mut self, code: u8) -> i16 {
        let step = STEPS[self.step_index as usize];
        let mut diff = step >> 3;
        if code & 4 != 0 {
            diff += step;
        }
        if code & 2 != 0 {
            diff += step >> 1;
        }
        if code & 1 != 0 {
            diff += step >> 2;
        }
        let predictor = if code & 8 != 0 {
            self.predictor - diff
        } else {
            self.predictor + diff
        };
        self.predictor = predictor.clamp(i16::MIN.into(), i16::MAX.into());
        self.step_index = (self.step_index + INDEX_CHANGE[usize::from(code & 7)]).clamp(0, 88);
        self.predictor as i16
    }

    /// Decodes one block into every `stride`-th sample of `out`.
    fn decode_block(&mut self, block: &[u8], out: &mut [i16], stride: usize) {
        self.start_block(u16::from_be_bytes([block[0], block[1]]));
        let samples = out.iter_mut().step_by(stride);
        // Each byte holds two codes, the first in its low nibble.
        let codes = block[2..].iter().flat_map(|&byte| [byte & 0xf, byte >> 4]);
        for (sample, code) in samples.zip(codes) {
            *sample = self.expand(code);
        }
    }
}

/// Decodes packets of whole `ima4` blocks (per channel in turn, one block each, then again).
pub struct ImaQtDecoder {
    codec_params: AudioCodecParameters,
    channels: Vec<Channel>,
    interleaved: Vec<i16>,
    decoded: AudioBuffer<i16>,
}

impl ImaQtDecoder {
    fn try_new(params: &AudioCodecParameters) -> Result<ImaQtDecoder> {
        let (Some(rate), Some(channels)) = (params.sample_rate, params.channels.clone()) else {
            return unsupported_error("ima4: the reader gave no rate or channels");
        };
        if !(1..=8).contains(&channels.count()) {
            return unsupported_error("ima4: 1 to 8 channels are decoded");
        }
        Ok(ImaQtDecoder {
            codec_params: params.clone(),
            channels: vec![Channel::default(); channels.count()],
            interleaved: Vec::new(),
            decoded: AudioBuffer::new(AudioSpec::new(rate, channels), 0),
        })
    }

    fn decode_packet(&mut self, packet: &PacketRef<'_>) -> Result<()> {
        let count = self.channels.len();
        let frame_blocks = packet.data.chunks_exact(BLOCK_BYTES * count);
        let frames = frame_blocks.len() * BLOCK_FRAMES;
        if frames == 0 {
            return decode_error("ima4: a packet shorter than a block for each channel");
        }
        self.interleaved.resize(frames * count, 0);
        let outs = self.interleaved.chunks_exact_mut(BLOCK_FRAMES * count);
        for (blocks, out) in frame_blocks.zip(outs) {
            for (index, (channel, block)) in self
                .channels
                .iter_mut()
                .zip(blocks.chunks_exact(BLOCK_BYTES))
                .enumerate()
            {
                channel.decode_block(block, &mut out[index..], count);
            }
        }
        super::fill_interleaved(&mut self.decoded, &self.interleaved, frames);
        Ok(())
    }
}

impl AudioDecoder for ImaQtDecoder {
    super::buffered_decoder_methods!();

    fn reset(&mut self) {
        self.channels.fill(Channel::default());
    }
}

impl RegisterableAudioDecoder for ImaQtDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(ImaQtDecoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        const CODECS: [SupportedAudioCodec; 1] = [super::supported_codec(
            CODEC_ID_ADPCM_IMA_QT,
            "adpcm_ima_qt",
            "Apple IMA ADPCM",
        )];
        &CODECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_add_shifted_steps() {
        let mut channel = Channel {
            predictor: 0,
            step_index: 0,
        };
        // Step 7: 7/8 + 7 + 7/2 + 7/4 = 0 + 7 + 3 + 1 (the multiplication would give 13).
        assert_eq!(channel.expand(7), 11);
        assert_eq!(channel.step_index, 8);
        // Step 16, negative, smallest magnitude: 16/8 = 2.
        assert_eq!(channel.expand(8), 9);
        assert_eq!(channel.step_index, 7);
    }

    #[test]
    fn a_preamble_that_agrees_keeps_the_finer_state() {
        let mut channel = Channel {
            predictor: 0x1234,
            step_index: 20,
        };
        channel.start_block(0x1200 | 20);
        assert_eq!(channel.predictor, 0x1234);
        channel.start_block(0x1200 | 21);
        assert_eq!((channel.predictor, channel.step_index), (0x1200, 21));
        // The predictor's top 9 bits are signed.
        channel.start_block(0xff80);
        assert_eq!(channel.predictor, -128);
    }

    #[test]
    fn stereo_blocks_interleave_and_a_short_packet_is_an_error() {
        let mut params = AudioCodecParameters::new();
        params
            .for_codec(CODEC_ID_ADPCM_IMA_QT)
            .with_sample_rate(8000)
            .with_channels(symphonia::core::audio::layouts::CHANNEL_LAYOUT_STEREO);
        let mut decoder = ImaQtDecoder::try_new(&params).unwrap();
        // Left rises from 0 (code 4 each time), right falls (code 12).
        let mut data = vec![0, 0];
        data.extend([0x44; 32]);
        data.extend([0, 0]);
        data.extend([0xcc; 32]);
        let packet = PacketRef::new(0, Default::default(), Default::default(), &data);
        let decoded = decoder.decode_ref(&packet).unwrap();
        assert_eq!(decoded.frames(), 64);
        let mut interleaved = vec![0i16; 128];
        decoded.copy_to_slice_interleaved(&mut interleaved);
        assert!(interleaved[0] > 0 && interleaved[1] == -interleaved[0]);
        let packet = PacketRef::new(0, Default::default(), Default::default(), &data[..60]);
        assert!(decoder.decode_ref(&packet).is_err());
    }
}
