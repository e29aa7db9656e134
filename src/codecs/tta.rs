//! True Audio (TTA), lossless, written here: no crate decodes it, and the codec is small. A
//! packet is one frame as `container::tta` cuts it (the frame's bytes, its CRC-32 last); its
//! duration is the frame's samples per channel.
//!
//! Each channel's samples are Rice-coded with adaptive parameters, then go through an adaptive
//! 8-tap filter and a fixed first-order predictor; channels are coded as differences, undone
//! last. Every frame starts all of that afresh, so a damaged frame costs that frame only.

use symphonia::core::audio::{AsGenericAudioBufferRef, AudioBuffer, AudioSpec};
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::{AudioCodecParameters, AudioDecoder, AudioDecoderOptions};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::errors::{Error as SymphoniaError, Result, unsupported_error};
use symphonia::core::packet::PacketRef;

pub use symphonia::core::codecs::audio::well_known::CODEC_ID_TTA;

/// The Rice parameters' starting value, and where an adaptation step moves them.
const INITIAL_K: u32 = 10;
/// The most a Rice parameter grows to (the threshold above it would exceed 32 bits).
const MAX_K: u32 = 26;

/// LSB-first bits of a frame, read through a 64-bit cache (a bit at a time, the bit reader
/// was most of the decoding time).
struct Bits<'a> {
    data: &'a [u8],
    /// The next byte to load into the cache.
    next: usize,
    /// Bits loaded and not yet read, the next one lowest.
    cache: u64,
    cached: u32,
}

impl Bits<'_> {
    fn new(data: &[u8]) -> Bits<'_> {
        Bits {
            data,
            next: 0,
            cache: 0,
            cached: 0,
        }
    }

    /// Loads whole bytes until the cache holds more than 56 bits or the data ends.
    fn refill(&mut self) {
        while self.cached <= 56 {
            let Some(&byte) = self.data.get(self.next) else {
                return;
            };
            self.cache |= u64::from(byte) << self.cached;
            self.cached += 8;
            self.next += 1;
        }
    }

    /// Bits read so far.
    fn position(&self) -> usize {
        self.next * 8 - self.cached as usize
    }

    fn bits(&mut self, count: u32) -> Option<u32> {
        debug_assert!(count <= 32);
        if self.cached < count {
            self.refill();
            if self.cached < count {
                return None;
            }
        }
        let value = (self.cache & ((1u64 << count) - 1)) as u32;
        self.cache >>= count;
        self.cached -= count;
        Some(value)
    }

    /// One bits up to a zero bit: their count.
    fn unary(&mut self) -> Option<u32> {
        let mut count = 0u32;
        loop {
            if self.cached == 0 {
                self.refill();
                if self.cached == 0 {
                    return None;
                }
            }
            let ones = (!self.cache).trailing_zeros().min(self.cached);
            count = count.saturating_add(ones);
            if ones < self.cached {
                // The zero bit that ends the run.
                self.cache >>= ones + 1;
                self.cached -= ones + 1;
                return Some(count);
            }
            self.cache = 0;
            self.cached = 0;
        }
    }
}

/// A channel's adaptive Rice coder: two parameters, each following the running mean of what it
/// decodes.
struct Rice {
    k: [u32; 2],
    sum: [u32; 2],
}

impl Rice {
    fn new() -> Rice {
        Rice {
            k: [INITIAL_K; 2],
            sum: [1 << (INITIAL_K + 4); 2],
        }
    }

    /// Moves parameter `which` with the value it just decoded.
    fn adapt(&mut self, which: usize, value: u32) {
        let sum = &mut self.sum[which];
        *sum = sum.wrapping_add(value).wrapping_sub(*sum >> 4);
        let k = &mut self.k[which];
        if *k > 0 && *sum < 1 << (*k + 4) {
            *k -= 1;
        } else if *k < MAX_K && *sum > 1 << (*k + 5) {
            *k += 1;
        }
    }

    fn decode(&mut self, bits: &mut Bits<'_>) -> Option<i32> {
        let unary = bits.unary()?;
        let (which, run) = if unary == 0 { (0, 0) } else { (1, unary - 1) };
        let k = self.k[which];
        let mut value = (run << k.min(31)).wrapping_add(bits.bits(k)?);
        if which == 1 {
            self.adapt(1, value);
            value = value.wrapping_add(1 << self.k[0]);
        }
        self.adapt(0, value);
        // Odd values are positive, even ones negative.
        Some(if value & 1 == 1 {
            (value >> 1).wrapping_add(1) as i32
        } else {
            (value >> 1).wrapping_neg() as i32
        })
    }
}

/// A channel's adaptive 8-tap filter.
struct Filter {
    shift: u32,
    error: i32,
    weights: [i32; 8],
    steps: [i32; 8],
    history: [i32; 8],
}

impl Filter {
    /// `bytes_per_sample`: 1 to 3.
    fn new(bytes_per_sample: u32) -> Filter {
        Filter {
            shift: if bytes_per_sample == 2 { 9 } else { 10 },
            error: 0,
            weights: [0; 8],
            steps: [0; 8],
            history: [0; 8],
        }
    }

    fn restore(&mut self, residual: i32) -> i32 {
        let direction = self.error.signum();
        let mut sum = 1i32 << (self.shift - 1);
        for ((weight, step), past) in self.weights.iter_mut().zip(&self.steps).zip(&self.history) {
            *weight = weight.wrapping_add(step.wrapping_mul(direction));
            sum = sum.wrapping_add(past.wrapping_mul(*weight));
        }
        self.steps.copy_within(1..5, 0);
        self.history.copy_within(1..5, 0);
        // Each step is the sign of its history entry (+1 for zero), scaled by the tap.
        let sign = |value: i32| (value >> 30) | 1;
        self.steps[4] = sign(self.history[4]);
        self.steps[5] = sign(self.history[5]) << 1;
        self.steps[6] = sign(self.history[6]) << 1;
        self.steps[7] = sign(self.history[7]) << 2;
        self.error = residual;
        let value = residual.wrapping_add(sum >> self.shift);
        self.history[4] = self.history[5].wrapping_neg();
        self.history[5] = self.history[6].wrapping_neg();
        self.history[6] = value.wrapping_sub(self.history[7]);
        self.history[7] = value;
        self.history[5] = self.history[5].wrapping_add(self.history[6]);
        self.history[4] = self.history[4].wrapping_add(self.history[5]);
        value
    }
}

/// What the decoder needs of the stream's header, passed from the reader in the codec
/// parameters' extra data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamParams {
    pub channels: u16,
    /// 8, 16 or 24.
    pub bits_per_sample: u16,
}

impl StreamParams {
    pub fn to_bytes(self) -> Vec<u8> {
        [self.channels, self.bits_per_sample]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    }

    fn from_bytes(bytes: &[u8]) -> Option<StreamParams> {
        let field = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
        Some(StreamParams {
            channels: field(0)?,
            bits_per_sample: field(2)?,
        })
    }
}

/// Decodes TTA frames, one packet each.
pub struct TtaDecoder {
    codec_params: AudioCodecParameters,
    stream: StreamParams,
    decoded: AudioBuffer<i32>,
    interleaved: Vec<i32>,
}

impl TtaDecoder {
    fn try_new(params: &AudioCodecParameters) -> Result<TtaDecoder> {
        let (Some(rate), Some(channels), Some(stream)) = (
            params.sample_rate,
            params.channels.clone(),
            params
                .extra_data
                .as_deref()
                .and_then(StreamParams::from_bytes),
        ) else {
            return unsupported_error("tta: no stream parameters from the reader");
        };
        if !matches!(stream.bits_per_sample, 8 | 16 | 24)
            || stream.channels == 0
            || channels.count() != usize::from(stream.channels)
        {
            return unsupported_error("tta: stream parameters out of range");
        }
        Ok(TtaDecoder {
            codec_params: params.clone(),
            stream,
            decoded: AudioBuffer::new(AudioSpec::new(rate, channels), 0),
            interleaved: Vec::new(),
        })
    }

    fn decode_packet(&mut self, packet: &PacketRef<'_>) -> Result<()> {
        let samples = packet.dur.get() as usize;
        let (data, crc) = packet
            .data
            .split_last_chunk::<4>()
            .ok_or(SymphoniaError::DecodeError("tta: frame too short"))?;
        if u32::from_le_bytes(*crc) != crc32fast::hash(data) {
            return Err(SymphoniaError::DecodeError(
                "tta: damaged frame (its CRC does not match)",
            ));
        }
        let channels = usize::from(self.stream.channels);
        let bytes_per_sample = u32::from(self.stream.bits_per_sample / 8);
        // The fixed predictor's shift.
        let predictor_shift = if bytes_per_sample == 1 { 4 } else { 5 };
        let mut coders: Vec<(Rice, Filter, i32)> = (0..channels)
            .map(|_| (Rice::new(), Filter::new(bytes_per_sample), 0))
            .collect();
        let mut bits = Bits::new(data);
        self.interleaved.clear();
        self.interleaved.reserve(samples * channels);
        // Where the last few samples started (a ring), to tell padding from samples below.
        let mut recent_starts = [0usize; 8];
        'samples: for decoded in 0..samples {
            let first = self.interleaved.len();
            recent_starts[decoded % 8] = bits.position();
            for (rice, filter, previous) in &mut coders {
                let Some(residual) = rice.decode(&mut bits) else {
                    // The frame is whole (its CRC matched) and shorter than the packet says:
                    // the last frame of a Matroska track, whose length the container knows
                    // only to the millisecond (see `container::mkv_tta`). It ends here, less
                    // what decoded from the zero bits that pad its last byte.
                    self.interleaved.truncate(first);
                    let padded_from = |start: usize| {
                        let last = data.len().saturating_sub(1);
                        start >= last * 8 && data.get(last).is_some_and(|&b| b >> (start % 8) == 0)
                    };
                    let mut kept = decoded;
                    while kept > 0
                        && decoded - kept < recent_starts.len()
                        && padded_from(recent_starts[(kept - 1) % 8])
                    {
                        kept -= 1;
                    }
                    self.interleaved.truncate(kept * channels);
                    break 'samples;
                };
                let filtered = filter.restore(residual);
                // x + x × (2^k - 1) / 2^k of the previous sample.
                let predicted = ((i64::from(*previous) << predictor_shift) - i64::from(*previous))
                    >> predictor_shift;
                let value = filtered.wrapping_add(predicted as i32);
                *previous = value;
                self.interleaved.push(value);
            }
            // Channels were coded as differences from the next one, the last as itself less
            // half of the one before.
            let frame = &mut self.interleaved[first..];
            if let [.., before_last, last] = frame {
                *last = last.wrapping_add(*before_last / 2);
                for channel in (0..channels - 1).rev() {
                    frame[channel] = frame[channel + 1].wrapping_sub(frame[channel]);
                }
            }
        }
        // Left-justified to full scale, as symphonia's other i32 sources are.
        let shift = 32 - u32::from(self.stream.bits_per_sample);
        for sample in &mut self.interleaved {
            *sample = sample.wrapping_shl(shift);
        }
        let frames = self.interleaved.len() / channels;
        if frames == 0 {
            return Err(SymphoniaError::DecodeError("tta: an empty frame"));
        }
        super::fill_interleaved(&mut self.decoded, &self.interleaved, frames);
        Ok(())
    }
}

impl AudioDecoder for TtaDecoder {
    super::buffered_decoder_methods!();

    fn reset(&mut self) {}
}

impl RegisterableAudioDecoder for TtaDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(TtaDecoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        const CODECS: [SupportedAudioCodec; 1] = [SupportedAudioCodec {
            id: CODEC_ID_TTA,
            info: CodecInfo {
                short_name: "tta",
                long_name: "True Audio",
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
            channels: 6,
            bits_per_sample: 24,
        };
        assert_eq!(StreamParams::from_bytes(&params.to_bytes()), Some(params));
        assert_eq!(StreamParams::from_bytes(&[1, 2, 3]), None);
    }

    #[test]
    fn bits_come_lsb_first_across_the_cache() {
        // 9 bytes: a run of 61 ones, a zero, then 0b101 and 4 more bits.
        let mut data = [0xffu8; 9];
        data[7] = 0b1101_1111;
        data[8] = 0b0000_0010;
        let mut bits = Bits::new(&data);
        assert_eq!(bits.unary(), Some(61));
        assert_eq!(bits.bits(3), Some(0b011));
        assert_eq!(bits.bits(4), Some(0b0001));
        assert_eq!(bits.position(), 69);
        assert_eq!(bits.bits(4), None, "3 bits left");
        assert_eq!(bits.bits(3), Some(0));
        assert_eq!(bits.unary(), None);
    }

    #[test]
    fn rice_values_alternate_in_sign_and_bits_run_lsb_first() {
        // unary 0 (a zero bit), then k0 = 10 bits of 3: value 3 -> +2.
        let data = [0b0000_0110, 0b0000_0000];
        let mut bits = Bits::new(&data);
        let mut rice = Rice::new();
        assert_eq!(rice.decode(&mut bits), Some(2));
        assert_eq!(bits.position(), 11);
        // Past the end: nothing.
        assert_eq!(rice.decode(&mut bits), None);
    }
}
