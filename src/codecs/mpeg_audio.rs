//! MPEG-1/2/2.5 audio layers I, II and III (MP1, MP2, MP3), decoded with `nanomp3-core`, a safe
//! Rust port of minimp3, behind symphonia's decoder trait.
//!
//! Chosen over symphonia's own MPEG audio decoder on the ISO/IEC 11172-4 compliance streams
//! (`tests/conformance.rs`): symphonia's turns the block-switching stream `si_block` into loud
//! noise (PSNR 9 dB against the reference) and refuses frames whose mode changes (mono, dual
//! channel, stereo) mid-stream, where this one passes every stream at PSNR > 96 dB; it is also
//! faster (README, "Performance"). Packets come from symphonia's MPEG reader, one frame each;
//! a packet holding several frames (as some muxers write them) is decoded frame by frame.

use nanomp3_core::{DecodeError, Decoder, MAX_SAMPLES_PER_FRAME};
use symphonia::core::audio::layouts::{CHANNEL_LAYOUT_MONO, CHANNEL_LAYOUT_STEREO};
use symphonia::core::audio::{
    AsGenericAudioBufferRef, Audio, AudioBuffer, AudioMut, AudioSpec, GenericAudioBufferRef,
};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::well_known::{CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3};
use symphonia::core::codecs::audio::{
    AudioCodecParameters, AudioDecoder, AudioDecoderOptions, FinalizeResult,
};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::errors::{Result, decode_error, unsupported_error};
use symphonia::core::packet::PacketRef;

use crate::container::mpeg_audio::{FrameHeader, frame_samples};

/// Frames per channel of the longest MPEG audio frame (layer II and MPEG-1 layer III).
const MAX_FRAMES: usize = 1152;

pub struct MpegAudioDecoder {
    params: AudioCodecParameters,
    gapless: bool,
    /// About 22 KiB of synthesis state and working memory: boxed to keep the struct small.
    decoder: Box<Decoder>,
    /// One frame of interleaved samples, as the decoder writes them.
    frame: Box<[f32]>,
    /// The packet's samples, one plane per channel, written frame by frame.
    buf: AudioBuffer<f32>,
    /// The decoder has seen a free-format frame and knows the stream's frame length.
    free_format_known: bool,
}

impl MpegAudioDecoder {
    fn try_new(params: &AudioCodecParameters, opts: &AudioDecoderOptions) -> Result<Self> {
        if ![CODEC_ID_MP1, CODEC_ID_MP2, CODEC_ID_MP3].contains(&params.codec) {
            return unsupported_error("mpa: not MPEG audio");
        }
        Ok(MpegAudioDecoder {
            params: params.clone(),
            gapless: opts.gapless,
            decoder: Box::default(),
            frame: vec![0.0; MAX_SAMPLES_PER_FRAME].into_boxed_slice(),
            buf: AudioBuffer::default(),
            free_format_known: false,
        })
    }

    fn decode(&mut self, packet: &PacketRef<'_>) -> Result<()> {
        self.buf.clear();
        let mut data = packet.data;
        let primer;
        let free_format = FrameHeader::parse(data).is_some_and(|h| h.is_free_format());
        if free_format && !self.free_format_known {
            // minimp3 learns a free-format stream's frame length from where the next two frames
            // start (and looks only as far as it has as many bytes again), and a packet is one
            // frame: show it the frame followed by two copies of itself and a header. It
            // decodes the first copy only and knows the length after.
            primer = [data, data, data, &data[..4]].concat();
            data = &primer;
            self.free_format_known = true;
        }
        // Only the packet's own bytes are decoded, not the primer's copies.
        let mut left = packet.data.len();
        let mut spec: Option<(u32, usize)> = None;
        while left > 0 {
            let (consumed, result) = self.decoder.decode(data, &mut self.frame);
            data = &data[consumed.min(data.len())..];
            left = left.saturating_sub(consumed);
            let (info, samples) = match result {
                Ok(info) => (info, info.samples_produced),
                // The first frames of a stream joined mid-way refer to bytes before it. Silence
                // of the frame's length keeps the timeline (and the container's trims) in
                // place; later frames decode normally.
                Err(DecodeError::ReservoirUnavailable(info)) => {
                    (info, frame_samples(info.layer, info.sample_rate) as usize)
                }
                Err(DecodeError::Corrupt(_)) => return decode_error("mpa: corrupt frame"),
                Err(DecodeError::NoFrame) if spec.is_some() => break,
                Err(DecodeError::NoFrame) => {
                    return decode_error("mpa: the packet holds no complete frame");
                }
                Err(_) => return decode_error("mpa: unsupported frame"),
            };
            let channels = info.channels.num() as usize;
            match spec {
                None => {
                    spec = Some((info.sample_rate, channels));
                    // The mode (mono, stereo) may change from frame to frame within one stream:
                    // the buffer follows it, and the decoder's state carries over.
                    let layout = if channels == 1 {
                        CHANNEL_LAYOUT_MONO
                    } else {
                        CHANNEL_LAYOUT_STEREO
                    };
                    let spec = AudioSpec::new(info.sample_rate, layout);
                    if self.buf.spec() != &spec {
                        self.buf = AudioBuffer::new(spec, MAX_FRAMES);
                    }
                }
                // A packet is one format; frames after a change would be misread.
                Some(s) if s != (info.sample_rate, channels) => break,
                Some(_) => {}
            }
            let start = self.buf.frames();
            self.buf.grow_capacity(start + samples);
            self.buf.render_uninit(Some(samples));
            let pcm = &self.frame[..samples * channels];
            match (result, channels) {
                (Ok(_), 1) => self.buf.plane_mut(0).expect("mono")[start..].copy_from_slice(pcm),
                (Ok(_), _) => {
                    let (left, right) = self.buf.plane_pair_mut(0, 1).expect("stereo");
                    let frames = left[start..].iter_mut().zip(&mut right[start..]);
                    for ((left, right), pair) in frames.zip(pcm.chunks_exact(2)) {
                        *left = pair[0];
                        *right = pair[1];
                    }
                }
                (Err(_), _) => {
                    for channel in 0..channels {
                        self.buf.plane_mut(channel).expect("a plane per channel")[start..]
                            .fill(0.0);
                    }
                }
            }
            if consumed == 0 {
                break;
            }
        }
        if spec.is_none() {
            return decode_error("mpa: the packet holds no frame");
        }
        if self.gapless {
            self.buf.trim(
                packet.trim_start.get() as usize,
                packet.trim_end.get() as usize,
            );
        }
        Ok(())
    }
}

impl AudioDecoder for MpegAudioDecoder {
    fn reset(&mut self) {
        *self.decoder = Decoder::new();
        self.free_format_known = false;
    }

    fn codec_info(&self) -> &CodecInfo {
        let codecs = Self::supported_codecs();
        &codecs
            .iter()
            .find(|c| c.id == self.params.codec)
            .unwrap_or(&codecs[2])
            .info
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

impl RegisterableAudioDecoder for MpegAudioDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(MpegAudioDecoder::try_new(params, opts)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        use super::supported_codec as codec;
        const CODECS: [SupportedAudioCodec; 3] = [
            codec(CODEC_ID_MP1, "mp1", "MPEG Audio Layer 1"),
            codec(CODEC_ID_MP2, "mp2", "MPEG Audio Layer 2"),
            codec(CODEC_ID_MP3, "mp3", "MPEG Audio Layer 3"),
        ];
        &CODECS
    }
}
