//! 16-bit PCM, little- or big-endian: what WAV from a text-to-speech service, raw `audio/L16`
//! and most AIFF carry, decoded straight into the f32 planes the converter takes.
//!
//! symphonia's PCM decoder reads a sample at a time through a closure into 16-bit planes, which
//! the converter then turns into f32: together a fifth of the CPU of a 24 kHz WAV stream at
//! 48 kHz. Here one pass per channel converts the bytes. Samples whose coded width is not
//! their container's (12 bits in 16, which symphonia's decoder shifts) go to symphonia's decoder.

use symphonia::core::audio::{AsGenericAudioBufferRef, AudioBuffer, AudioMut, AudioSpec};
use symphonia::core::codecs::audio::well_known::{CODEC_ID_PCM_S16BE, CODEC_ID_PCM_S16LE};
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::errors::{Result, unsupported_error};
use symphonia::core::packet::PacketRef;

/// One 16-bit sample as f32, as symphonia converts it (exact: 2^-15 steps).
const SCALE: f32 = 1.0 / 32768.0;

pub struct Pcm16Decoder {
    codec_params: AudioCodecParameters,
    big_endian: bool,
    channels: usize,
    decoded: AudioBuffer<f32>,
}

impl Pcm16Decoder {
    fn try_new(params: &AudioCodecParameters) -> Result<Pcm16Decoder> {
        let (Some(rate), Some(channels)) = (params.sample_rate, params.channels.clone()) else {
            return unsupported_error("pcm: the reader gave no rate or channels");
        };
        if channels.count() == 0 {
            return unsupported_error("pcm: no channels");
        }
        Ok(Pcm16Decoder {
            codec_params: params.clone(),
            big_endian: params.codec == CODEC_ID_PCM_S16BE,
            channels: channels.count(),
            decoded: AudioBuffer::new(AudioSpec::new(rate, channels), 0),
        })
    }

    /// Whether these samples are plain 16-bit ones (else symphonia's decoder shifts them).
    fn plain(params: &AudioCodecParameters) -> bool {
        let decoded = params.bits_per_sample.unwrap_or(16);
        decoded == 16 && params.bits_per_coded_sample.unwrap_or(decoded) == decoded
    }

    fn info(&self) -> &symphonia::core::codecs::CodecInfo {
        &Self::supported_codecs()[usize::from(self.big_endian)].info
    }

    fn decode_packet(&mut self, packet: &PacketRef<'_>) -> Result<()> {
        let frame_bytes = 2 * self.channels;
        // As symphonia's decoder: whole frames, a partial one at the end is dropped.
        let frames = packet.data.len() / frame_bytes;
        self.decoded.clear();
        if self.decoded.capacity() < frames {
            self.decoded.grow_capacity(frames);
        }
        self.decoded.render_uninit(Some(frames));
        let data = &packet.data[..frames * frame_bytes];
        let big_endian = self.big_endian;
        for (channel, plane) in self.decoded.iter_planes_mut().enumerate() {
            // Whole frames, indexed: a loop the compiler vectorises (step_by is not).
            for (out, frame) in plane.iter_mut().zip(data.chunks_exact(frame_bytes)) {
                let bytes = [frame[2 * channel], frame[2 * channel + 1]];
                let sample = if big_endian {
                    i16::from_be_bytes(bytes)
                } else {
                    i16::from_le_bytes(bytes)
                };
                *out = f32::from(sample) * SCALE;
            }
        }
        Ok(())
    }
}

impl AudioDecoder for Pcm16Decoder {
    super::buffered_decoder_methods!(codec_info: info);

    fn reset(&mut self) {}
}

impl RegisterableAudioDecoder for Pcm16Decoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        if !Pcm16Decoder::plain(params) {
            return symphonia::default::codecs::PcmDecoder::try_registry_new(params, opts);
        }
        Ok(Box::new(Pcm16Decoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        const CODECS: [SupportedAudioCodec; 2] = [
            super::supported_codec(
                CODEC_ID_PCM_S16LE,
                "pcm_s16le",
                "PCM Signed 16-bit Little-Endian Interleaved",
            ),
            super::supported_codec(
                CODEC_ID_PCM_S16BE,
                "pcm_s16be",
                "PCM Signed 16-bit Big-Endian Interleaved",
            ),
        ];
        &CODECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use symphonia::core::audio::{Channels, Position};
    use symphonia::core::codecs::audio::AudioDecoderOptions;
    use symphonia::core::packet::Packet;
    use symphonia::core::units::{Duration, Timestamp};

    fn decode_both(codec: symphonia::core::codecs::audio::AudioCodecId, channels: Channels) {
        let mut params = AudioCodecParameters::new();
        params
            .for_codec(codec)
            .with_sample_rate(24_000)
            .with_channels(channels)
            .with_bits_per_sample(16)
            .with_bits_per_coded_sample(16);
        let opts = AudioDecoderOptions::default();
        let mut ours = Pcm16Decoder::try_registry_new(&params, &opts).unwrap();
        let mut theirs =
            symphonia::default::codecs::PcmDecoder::try_registry_new(&params, &opts).unwrap();
        // Every 16-bit value, and an odd byte at the end (a partial frame).
        let mut data: Vec<u8> = (i16::MIN..=i16::MAX).flat_map(i16::to_le_bytes).collect();
        data.push(0x55);
        for piece in data.chunks(4097) {
            let packet = Packet::new(0, Timestamp::new(0), Duration::from(0u64), piece.to_vec());
            let ours = ours.decode(&packet).unwrap();
            let mut our_planes = Vec::new();
            ours.copy_to_vecs_planar::<f32>(&mut our_planes);
            let theirs = theirs.decode(&packet).unwrap();
            let mut their_planes = Vec::new();
            theirs.copy_to_vecs_planar::<f32>(&mut their_planes);
            assert_eq!(our_planes, their_planes);
            assert_eq!(ours.frames(), theirs.frames());
        }
    }

    #[test]
    fn decodes_as_symphonias_decoder_does() {
        let stereo = Channels::Positioned(Position::FRONT_LEFT | Position::FRONT_RIGHT);
        for codec in [CODEC_ID_PCM_S16LE, CODEC_ID_PCM_S16BE] {
            decode_both(codec, Channels::Positioned(Position::FRONT_CENTER));
            decode_both(codec, stereo.clone());
            decode_both(codec, Channels::Discrete(3));
        }
    }

    #[test]
    fn other_widths_go_to_symphonias_decoder() {
        let mut params = AudioCodecParameters::new();
        params
            .for_codec(CODEC_ID_PCM_S16LE)
            .with_sample_rate(8_000)
            .with_channels(Channels::Discrete(1))
            .with_bits_per_sample(16)
            .with_bits_per_coded_sample(12);
        assert!(!Pcm16Decoder::plain(&params));
        let mut decoder =
            Pcm16Decoder::try_registry_new(&params, &AudioDecoderOptions::default()).unwrap();
        // symphonia's decoder shifts the coded sample up by the missing bits.
        let decoded = decoder
            .decode(&Packet::new(
                0,
                Timestamp::new(0),
                Duration::from(0u64),
                vec![1, 0],
            ))
            .unwrap();
        let mut planes = Vec::new();
        decoded.copy_to_vecs_planar::<f32>(&mut planes);
        assert_eq!(planes, [[16.0 / 32768.0]]);
    }
}
