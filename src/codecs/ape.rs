//! Monkey's Audio (APE) with the pure-Rust `ape-decoder` crate's frame decoder (a port of the
//! Monkey's Audio SDK's). A packet is one frame as `container::ape` cuts it: a byte saying where
//! in its first 32-bit word the frame starts, then the frame's bytes; its duration is the
//! frame's samples. Every frame starts its predictors and entropy coder afresh, so a damaged
//! frame costs that frame only.

use ape_decoder::FrameDecoder;
use symphonia::core::audio::{AsGenericAudioBufferRef, AudioBuffer, AudioSpec};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::errors::{Error as SymphoniaError, Result, unsupported_error};
use symphonia::core::packet::PacketRef;

pub use symphonia::core::codecs::audio::well_known::CODEC_ID_MONKEYS_AUDIO;

/// What the frame decoder needs of the stream's header, passed from the reader in the codec
/// parameters' extra data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamParams {
    pub version: u16,
    pub compression: u16,
    pub bits_per_sample: u16,
    pub channels: u16,
}

impl StreamParams {
    pub fn to_bytes(self) -> Vec<u8> {
        [
            self.version,
            self.compression,
            self.bits_per_sample,
            self.channels,
        ]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
    }

    fn from_bytes(bytes: &[u8]) -> Option<StreamParams> {
        let field = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
        Some(StreamParams {
            version: field(0)?,
            compression: field(2)?,
            bits_per_sample: field(4)?,
            channels: field(6)?,
        })
    }
}

/// Decodes Monkey's Audio frames, one packet each.
pub struct ApeDecoder {
    codec_params: AudioCodecParameters,
    stream: StreamParams,
    frames: FrameDecoder,
    decoded: AudioBuffer<i32>,
    interleaved: Vec<i32>,
}

impl ApeDecoder {
    fn try_new(params: &AudioCodecParameters) -> Result<ApeDecoder> {
        let (Some(rate), Some(channels), Some(stream)) = (
            params.sample_rate,
            params.channels.clone(),
            params
                .extra_data
                .as_deref()
                .and_then(StreamParams::from_bytes),
        ) else {
            return unsupported_error("ape: no stream parameters from the reader");
        };
        let frames = new_frame_decoder(&stream)?;
        Ok(ApeDecoder {
            codec_params: params.clone(),
            stream,
            frames,
            decoded: AudioBuffer::new(AudioSpec::new(rate, channels), 0),
            interleaved: Vec::new(),
        })
    }

    fn decode_packet(&mut self, packet: &PacketRef<'_>) -> Result<()> {
        let (&remainder, frame) = packet
            .data
            .split_first()
            .ok_or(SymphoniaError::DecodeError("ape: empty packet"))?;
        let blocks = packet.dur.get() as usize;
        let pcm = self
            .frames
            .decode_frame(frame, u32::from(remainder), blocks)
            .map_err(|e| SymphoniaError::DecodeError(reason(&e)))?;
        // Little-endian interleaved samples, 8-bit unsigned as in WAV; left-justified to full
        // scale, as symphonia's other i32 sources are.
        let width = usize::from(self.stream.bits_per_sample / 8).max(1);
        self.interleaved.clear();
        self.interleaved
            .extend(pcm.chunks_exact(width).map(|sample| match *sample {
                [byte] => (i32::from(byte) - 128) << 24,
                [low, high] => i32::from(i16::from_le_bytes([low, high])) << 16,
                [a, b, c] => i32::from_le_bytes([0, a, b, c]),
                [a, b, c, d] => i32::from_le_bytes([a, b, c, d]),
                _ => 0,
            }));
        let channels = usize::from(self.stream.channels).max(1);
        let frames = self.interleaved.len() / channels;
        super::fill_interleaved(&mut self.decoded, &self.interleaved, frames);
        Ok(())
    }
}

fn new_frame_decoder(stream: &StreamParams) -> Result<FrameDecoder> {
    FrameDecoder::new(
        stream.version,
        stream.channels,
        stream.bits_per_sample,
        stream.compression,
    )
    .map_err(|e| SymphoniaError::DecodeError(reason(&e)))
}

/// What an error of the `ape-decoder` crate says, as the static text symphonia's errors carry.
pub fn reason(error: &ape_decoder::ApeError) -> &'static str {
    use ape_decoder::ApeError;
    match error {
        ApeError::InvalidFormat(why) | ApeError::DecodingError(why) => why,
        ApeError::InvalidChecksum => "ape: damaged frame (its checksum does not match)",
        ApeError::UnsupportedVersion(_) => "ape: unsupported Monkey's Audio version",
        _ => "ape: the header could not be read",
    }
}

impl AudioDecoder for ApeDecoder {
    super::buffered_decoder_methods!();

    fn reset(&mut self) {
        if let Ok(frames) = new_frame_decoder(&self.stream) {
            self.frames = frames;
        }
    }
}

impl RegisterableAudioDecoder for ApeDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(ApeDecoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        const CODECS: [SupportedAudioCodec; 1] = [SupportedAudioCodec {
            id: CODEC_ID_MONKEYS_AUDIO,
            info: CodecInfo {
                short_name: "ape",
                long_name: "Monkey's Audio",
                profiles: &[],
            },
        }];
        &CODECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_parameters_go_through_the_extra_data() {
        let params = StreamParams {
            version: 3990,
            compression: 2000,
            bits_per_sample: 24,
            channels: 6,
        };
        assert_eq!(StreamParams::from_bytes(&params.to_bytes()), Some(params));
        assert_eq!(StreamParams::from_bytes(&[1, 2, 3]), None);
    }
}
