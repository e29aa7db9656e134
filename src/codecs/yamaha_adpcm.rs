//! Yamaha ADPCM (WAV format tag 0x20: the ADPCM of Yamaha's sound chips and SMAF ringtones, in
//! WAV from games and old Windows drivers): four bits a sample, a step that scales itself.
//!
//! Written here because no crate decodes it and it is a few lines (the decodebin chain does not
//! play it at all: GStreamer's `wavparse` has no caps for the tag). A byte holds two codes, the
//! first in its low nibble: two samples of a mono stream, or a frame of a stereo one (left low,
//! right high), as ffmpeg reads them.

use symphonia::core::audio::{AsGenericAudioBufferRef, AudioBuffer, AudioSpec};
use symphonia::core::codecs::audio::{
    AudioCodecId, AudioCodecParameters, AudioDecoder, AudioDecoderOptions,
};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::common::FourCc;
use symphonia::core::errors::{Result, decode_error, unsupported_error};
use symphonia::core::packet::PacketRef;

/// Yamaha ADPCM; symphonia has no id for it.
pub const CODEC_ID_ADPCM_YAMAHA: AudioCodecId = AudioCodecId::new(FourCc::new(*b"yadp"));

/// The step before the first code, and the smallest and largest steps.
const FIRST_STEP: i32 = 127;
const MAX_STEP: i32 = 24_576;
/// How a code's magnitude scales the step, in 1/256.
const STEP_SCALE: [i32; 8] = [230, 230, 230, 230, 307, 409, 512, 614];

/// One channel's decoder state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Channel {
    predictor: i32,
    step: i32,
}

impl Default for Channel {
    fn default() -> Channel {
        Channel {
            predictor: 0,
            step: FIRST_STEP,
        }
    }
}

impl Channel {
    fn expand(&mut self, code: u8) -> i16 {
        let magnitude = i32::from(code & 7);
        // (2m + 1) steps of 1/8, truncated towards zero.
        let diff = (2 * magnitude + 1) * self.step / 8;
        let predictor = if code & 8 != 0 {
            self.predictor - diff
        } else {
            self.predictor + diff
        };
        self.predictor = predictor.clamp(i16::MIN.into(), i16::MAX.into());
        self.step =
            ((self.step * STEP_SCALE[usize::from(code & 7)]) >> 8).clamp(FIRST_STEP, MAX_STEP);
        self.predictor as i16
    }
}

/// Decodes mono or stereo Yamaha ADPCM bytes.
pub struct YamahaAdpcmDecoder {
    codec_params: AudioCodecParameters,
    channels: [Channel; 2],
    stereo: bool,
    interleaved: Vec<i16>,
    decoded: AudioBuffer<i16>,
}

impl YamahaAdpcmDecoder {
    fn try_new(params: &AudioCodecParameters) -> Result<YamahaAdpcmDecoder> {
        let (Some(rate), Some(channels)) = (params.sample_rate, params.channels.clone()) else {
            return unsupported_error("yamaha adpcm: the reader gave no rate or channels");
        };
        if !(1..=2).contains(&channels.count()) {
            return unsupported_error("yamaha adpcm: mono and stereo are decoded");
        }
        Ok(YamahaAdpcmDecoder {
            codec_params: params.clone(),
            channels: [Channel::default(); 2],
            stereo: channels.count() == 2,
            interleaved: Vec::new(),
            decoded: AudioBuffer::new(AudioSpec::new(rate, channels), 0),
        })
    }

    fn decode_packet(&mut self, packet: &PacketRef<'_>) -> Result<()> {
        if packet.data.is_empty() {
            return decode_error("yamaha adpcm: an empty packet");
        }
        self.interleaved.clear();
        // The high nibble is the right channel's, or the next mono sample.
        let high = usize::from(self.stereo);
        for &byte in packet.data {
            let low = self.channels[0].expand(byte & 0xf);
            self.interleaved.push(low);
            let high = self.channels[high].expand(byte >> 4);
            self.interleaved.push(high);
        }
        let frames = self.interleaved.len() / if self.stereo { 2 } else { 1 };
        super::fill_interleaved(&mut self.decoded, &self.interleaved, frames);
        Ok(())
    }
}

impl AudioDecoder for YamahaAdpcmDecoder {
    super::buffered_decoder_methods!();

    fn reset(&mut self) {
        self.channels = [Channel::default(); 2];
    }
}

impl RegisterableAudioDecoder for YamahaAdpcmDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(YamahaAdpcmDecoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        const CODECS: [SupportedAudioCodec; 1] = [super::supported_codec(
            CODEC_ID_ADPCM_YAMAHA,
            "adpcm_yamaha",
            "Yamaha ADPCM",
        )];
        &CODECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_move_the_predictor_and_scale_the_step() {
        let mut channel = Channel::default();
        // 15/8 of 127, truncated; the step grows by 614/256.
        assert_eq!(channel.expand(7), 238);
        assert_eq!(channel.step, 127 * 614 / 256);
        // Negative, smallest magnitude: 1/8 of the step; the step shrinks, never below 127.
        let step = channel.step;
        assert_eq!(i32::from(channel.expand(8)), 238 - step / 8);
        assert_eq!(channel.step, FIRST_STEP.max(step * 230 / 256));
        for _ in 0..100 {
            channel.expand(0);
        }
        assert_eq!(channel.step, FIRST_STEP);
        for _ in 0..100 {
            channel.expand(7);
        }
        assert_eq!(
            (channel.step, channel.predictor),
            (MAX_STEP, i32::from(i16::MAX))
        );
    }

    #[test]
    fn stereo_bytes_hold_a_frame_low_nibble_left() {
        let mut params = AudioCodecParameters::new();
        params
            .for_codec(CODEC_ID_ADPCM_YAMAHA)
            .with_sample_rate(22_050)
            .with_channels(symphonia::core::audio::layouts::CHANNEL_LAYOUT_STEREO);
        let mut decoder = YamahaAdpcmDecoder::try_new(&params).unwrap();
        let data = [0x87; 10];
        let packet = PacketRef::new(0, Default::default(), Default::default(), &data);
        let decoded = decoder.decode_ref(&packet).unwrap();
        assert_eq!(decoded.frames(), 10);
        let mut interleaved = vec![0i16; 20];
        decoded.copy_to_slice_interleaved(&mut interleaved);
        assert!(interleaved[0] > 0 && interleaved[1] < 0);
    }
}
