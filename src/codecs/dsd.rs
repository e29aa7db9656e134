//! DSD (the 1-bit sigma-delta audio of SACD, DSF and DSDIFF files) to PCM, written here: no
//! crate converts it. The bits are low-pass filtered and decimated in one step to 88.2 kHz
//! (96 kHz for the 48 kHz family), which the element then resamples like any PCM.
//!
//! A packet holds each channel's bits in turn (`bytes_per_channel` bytes each, earliest bit
//! first: the most significant bit of each byte), as `container::dsf` and `container::dsdiff`
//! lay them out; its duration is the PCM frames it gives. The filter keeps each channel's last
//! bits between packets.
//!
//! The filter: a Kaiser-windowed sinc of 385 taps per 2.8224 MHz (more in proportion at higher
//! rates), flat to 20 kHz, at least 95 dB down from 64 kHz on: the DSD noise that would fold
//! into the audio band on decimation. What remains between 24 and 44 kHz is removed by the
//! element's resampler, or kept at the stream's own rate. It is applied a byte at a time
//! through tables of each byte position's response to all 256 bit patterns, so an output
//! sample costs one lookup and one add per 8 taps. Its delay, 192 DSD samples at DSD64, is
//! exactly six output samples: the first six are dropped and six more drained at the end (the
//! silence pattern's response), so output sample n is the DSD around sample n.

use symphonia::core::audio::{
    AsGenericAudioBufferRef, AudioBuffer, AudioMut, AudioSpec, GenericAudioBufferRef,
};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::{
    AudioCodecId, AudioCodecParameters, AudioDecoder, AudioDecoderOptions,
};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::common::FourCc;
use symphonia::core::errors::{Error as SymphoniaError, Result, unsupported_error};
use symphonia::core::packet::PacketRef;

use crate::pcm::bessel_i0;

pub const CODEC_ID_DSD: AudioCodecId = AudioCodecId::new(FourCc::new(*b"DSD "));

/// DSD64, the SACD rate: 64 × 44.1 kHz.
const DSD64: u32 = 2_822_400;
/// DSD64 of the 48 kHz family.
const DSD64_48K: u32 = 3_072_000;
/// Output samples per DSD64 bit: 1/32.
const DSD64_FACTOR: u32 = 32;
/// The filter's delay in output samples.
const DELAY: usize = 6;
/// Taps at DSD64: `DELAY` output samples on either side of the middle one.
const DSD64_TAPS: usize = 2 * DELAY * DSD64_FACTOR as usize + 1;
/// DSD's digital silence: as many ones as zeros, its pattern far above the audio band.
const SILENCE: u8 = 0x69;
/// The passband edge and the stopband's start, in Hz.
const PASS_EDGE: f64 = 20_000.0;
const STOP_EDGE: f64 = 64_000.0;
/// Kaiser window β for about 95 dB of stopband attenuation.
const KAISER_BETA: f64 = 9.5;

/// The PCM rate and the decimation factor for a DSD rate: DSD64 to DSD512 of either family.
pub fn pcm_rate(dsd_rate: u32) -> Option<(u32, u32)> {
    (0..4).find_map(|power| {
        let factor = DSD64_FACTOR << power;
        [DSD64, DSD64_48K]
            .contains(&(dsd_rate >> power))
            .then_some((dsd_rate / factor, factor))
            .filter(|_| dsd_rate.trailing_zeros() >= power)
    })
}

/// The decimation filter's per-byte tables: `tables[j][byte]` is the response of taps
/// `8j..8j + 8` to that byte's bits, a set bit counting +1 and a clear one −1.
fn byte_tables(dsd_rate: u32, factor: u32) -> Vec<[f32; 256]> {
    let taps = (DSD64_TAPS - 1) * (factor / DSD64_FACTOR) as usize + 1;
    let cutoff = (PASS_EDGE + STOP_EDGE) / 2.0 / f64::from(dsd_rate);
    let middle = (taps - 1) as f64 / 2.0;
    let window_norm = bessel_i0(KAISER_BETA);
    let mut h: Vec<f64> = (0..taps)
        .map(|n| {
            let t = n as f64 - middle;
            let sinc = if t == 0.0 {
                2.0 * cutoff
            } else {
                (2.0 * std::f64::consts::PI * cutoff * t).sin() / (std::f64::consts::PI * t)
            };
            let ratio = t / middle;
            sinc * bessel_i0(KAISER_BETA * (1.0 - ratio * ratio).max(0.0).sqrt()) / window_norm
        })
        .collect();
    let gain: f64 = h.iter().sum();
    h.iter_mut().for_each(|tap| *tap /= gain);
    // Output sample `i` is computed from the bits up to the end of its own `factor` bits; with
    // the taps at the start of `13 × factor` slots, the middle one falls on the bit `DELAY + 1`
    // samples back: the filter's delay is then exactly `DELAY` samples (see `filter`).
    h.resize((2 * DELAY + 1) * factor as usize, 0.0);
    h.chunks_exact(8)
        .map(|taps| {
            let mut table = [0f32; 256];
            for (byte, value) in table.iter_mut().enumerate() {
                // The byte's first bit (its most significant) meets the first of its taps.
                *value = taps
                    .iter()
                    .enumerate()
                    .map(|(bit, tap)| {
                        if byte & (0x80 >> bit) != 0 {
                            *tap
                        } else {
                            -tap
                        }
                    })
                    .sum::<f64>() as f32;
            }
            table
        })
        .collect()
}

/// Decodes DSD packets (see the module's comment) to PCM.
pub struct DsdDecoder {
    codec_params: AudioCodecParameters,
    channels: usize,
    /// Bytes per output sample.
    step: usize,
    tables: Vec<[f32; 256]>,
    /// Per channel: the last `tables.len() - 1` bytes, then the packet's.
    history: Vec<Vec<u8>>,
    /// Outputs still to drop: the filter's delay, at the start.
    to_skip: usize,
    decoded: AudioBuffer<f32>,
}

impl DsdDecoder {
    pub fn try_new(params: &AudioCodecParameters) -> Result<DsdDecoder> {
        let (Some(dsd_rate), Some(channels)) = (
            params
                .extra_data
                .as_deref()
                .and_then(|bytes| Some(u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?))),
            params.channels.clone(),
        ) else {
            return unsupported_error("dsd: no stream parameters from the reader");
        };
        let Some((rate, factor)) = pcm_rate(dsd_rate) else {
            return unsupported_error("dsd: unsupported DSD rate");
        };
        let tables = byte_tables(dsd_rate, factor);
        let count = channels.count();
        Ok(DsdDecoder {
            codec_params: params.clone(),
            channels: count,
            step: factor as usize / 8,
            history: vec![vec![SILENCE; tables.len() - 1]; count],
            tables,
            to_skip: DELAY,
            decoded: AudioBuffer::new(AudioSpec::new(rate, channels), 0),
        })
    }

    fn decode_packet(&mut self, packet: &PacketRef<'_>) -> Result<()> {
        self.decode_bits(packet.data, packet.dur.get() as usize)
    }

    /// `frames` output samples from each channel's bytes in turn in `data`.
    fn decode_bits(&mut self, data: &[u8], frames: usize) -> Result<()> {
        let per_channel = data.len() / self.channels.max(1);
        if frames * self.step > per_channel || per_channel * self.channels != data.len() {
            return Err(SymphoniaError::DecodeError("dsd: malformed packet"));
        }
        let used = frames * self.step;
        self.filter(|channel| &data[channel * per_channel..][..used], frames);
        Ok(())
    }

    /// Filters `frames` output samples' worth of each channel's bytes into `decoded`, less
    /// those still to skip.
    fn filter<'a>(&mut self, bytes: impl Fn(usize) -> &'a [u8], frames: usize) {
        let skip = self.to_skip.min(frames);
        self.to_skip -= skip;
        self.decoded.clear();
        if self.decoded.capacity() < frames - skip {
            self.decoded.grow_capacity(frames - skip);
        }
        self.decoded.render_uninit(Some(frames - skip));
        let kept = self.tables.len() - 1;
        for (channel, history) in self.history.iter_mut().enumerate() {
            history.extend_from_slice(bytes(channel));
            let out = self
                .decoded
                .plane_mut(channel)
                .expect("a plane per channel");
            for (index, sample) in (skip..frames).zip(out.iter_mut()) {
                // The bytes this sample sees, earliest first.
                let end = kept + (index + 1) * self.step;
                let window = &history[end - self.tables.len()..end];
                *sample = window
                    .iter()
                    .zip(&self.tables)
                    .map(|(&byte, table)| table[usize::from(byte)])
                    .sum();
            }
            history.drain(..history.len() - kept);
        }
    }

    /// The filter's last samples, as many as it dropped at the start (`DELAY`, or fewer when
    /// the stream was shorter), from silence after the stream's bits.
    pub fn drain(&mut self) -> GenericAudioBufferRef<'_> {
        let held = DELAY - self.to_skip;
        let silence = vec![SILENCE; held * self.step];
        self.to_skip = 0;
        self.filter(|_| &silence, held);
        self.reset();
        self.decoded.as_generic_audio_buffer_ref()
    }
}

impl AudioDecoder for DsdDecoder {
    super::buffered_decoder_methods!();

    fn reset(&mut self) {
        for history in &mut self.history {
            history.fill(SILENCE);
        }
        self.to_skip = DELAY;
    }
}

impl RegisterableAudioDecoder for DsdDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(DsdDecoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        const CODECS: [SupportedAudioCodec; 1] = [SupportedAudioCodec {
            id: CODEC_ID_DSD,
            info: CodecInfo {
                short_name: "dsd",
                long_name: "DSD (1-bit sigma-delta)",
                profiles: &[],
            },
        }];
        &CODECS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use symphonia::core::audio::Audio;

    #[test]
    fn an_empty_stream_drains_nothing() {
        let mut decoder = DsdDecoder::try_new(&mono_dsd64()).unwrap();
        assert_eq!(decoder.drain().frames(), 0);
        decoder.decode_bits(&[SILENCE; 4], 1).unwrap();
        assert_eq!(
            decoder.decoded.frames(),
            0,
            "the first samples are the filter's delay"
        );
        assert_eq!(decoder.drain().frames(), 1, "one in, one out");
    }

    fn mono_dsd64() -> AudioCodecParameters {
        let mut params = AudioCodecParameters::new();
        params
            .for_codec(CODEC_ID_DSD)
            .with_sample_rate(88_200)
            .with_channels(symphonia::core::audio::Channels::Discrete(1))
            .with_extra_data(DSD64.to_le_bytes().to_vec().into_boxed_slice());
        params
    }

    #[test]
    fn rates_of_both_families_decimate_to_88_or_96_khz() {
        assert_eq!(pcm_rate(2_822_400), Some((88_200, 32)));
        assert_eq!(pcm_rate(5_644_800), Some((88_200, 64)));
        assert_eq!(pcm_rate(22_579_200), Some((88_200, 256)));
        assert_eq!(pcm_rate(3_072_000), Some((96_000, 32)));
        assert_eq!(pcm_rate(6_144_000), Some((96_000, 64)));
        assert_eq!(pcm_rate(44_100), None);
        assert_eq!(pcm_rate(2_822_401), None);
    }

    /// The filter's gain at `frequency`, from its taps (the tables of all-ones bytes give them
    /// back only summed; rebuild them from single-bit differences).
    fn gain_at(tables: &[[f32; 256]], dsd_rate: u32, frequency: f64) -> f64 {
        let taps: Vec<f64> = tables
            .iter()
            .flat_map(|table| (0..8).map(move |bit| f64::from(table[0x80 >> bit] - table[0]) / 2.0))
            .collect();
        let w = 2.0 * std::f64::consts::PI * frequency / f64::from(dsd_rate);
        let (re, im) = taps
            .iter()
            .enumerate()
            .fold((0.0, 0.0), |(re, im), (n, tap)| {
                (
                    re + tap * (w * n as f64).cos(),
                    im - tap * (w * n as f64).sin(),
                )
            });
        (re * re + im * im).sqrt()
    }

    #[test]
    fn the_filter_is_flat_in_the_audio_band_and_stops_what_would_fold_into_it() {
        for dsd_rate in [2_822_400, 5_644_800] {
            let (_, factor) = pcm_rate(dsd_rate).unwrap();
            let tables = byte_tables(dsd_rate, factor);
            for frequency in [0.0, 1000.0, 10_000.0, 20_000.0] {
                let db = 20.0 * gain_at(&tables, dsd_rate, frequency).log10();
                assert!(db.abs() < 0.01, "{frequency} Hz: {db:.4} dB");
            }
            for frequency in [64_200.0, 88_200.0, 100_000.0, 176_400.0, 1_000_000.0] {
                let db = 20.0 * gain_at(&tables, dsd_rate, frequency).log10();
                assert!(db < -90.0, "{frequency} Hz: {db:.1} dB");
            }
        }
    }

    #[test]
    fn all_ones_is_full_scale_and_silence_pattern_is_silent() {
        let mut decoder = DsdDecoder::try_new(&mono_dsd64()).unwrap();
        decoder.decode_bits(&[0xff; 4096], 1024).unwrap();
        let plane = decoder.decoded.plane(0).unwrap();
        assert_eq!(plane.len(), 1024 - DELAY, "the filter's delay is dropped");
        assert!((plane[1000] - 1.0).abs() < 1e-4, "{}", plane[1000]);
        decoder.decode_bits(&[SILENCE; 4096], 1024).unwrap();
        let plane = decoder.decoded.plane(0).unwrap();
        assert_eq!(plane.len(), 1024);
        assert!(plane[1000].abs() < 1e-3, "{}", plane[1000]);
        // Half a packet of ones, then the end: the step comes out where it went in (the
        // filter spans the delay on either side of it), the delay's worth drained.
        decoder.decode_bits(&[0xff; 2048], 512).unwrap();
        let plane = decoder.decoded.plane(0).unwrap();
        assert!(plane[2 * DELAY..].iter().all(|s| (s - 1.0).abs() < 1e-3));
        let drained: Vec<f32> = {
            let mut out = Vec::new();
            decoder.drain().copy_to_vec_interleaved(&mut out);
            out
        };
        assert_eq!(drained.len(), DELAY);
        // The stream's last samples: ones, with the ripple of the edge after them.
        assert!(drained.iter().all(|s| (s - 1.0).abs() < 0.1), "{drained:?}");
    }
}
