//! The MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3, 1.6.2.1), which says what an AAC stream
//! is: its object type, rate and channels, and for SBR and PS the extension's. Raw AAC frames
//! (`aac_frames`) need its first fields for an ADTS header; LATM (`loas`) carries it inside a
//! bit stream with nothing that states its length, so that the whole config has to be read to
//! find where it ends.

use symphonia::core::audio::{Channels, Position};
use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::well_known::CODEC_ID_AAC;
use symphonia::core::formats::Track;

use crate::container::mpeg_split::MPEG4_SAMPLE_RATES;

/// A big-endian (most significant bit first) bit reader over a byte slice, for headers: a
/// config, a LATM mux element. Every read checks that the bits are there.
pub struct Bits<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Where the bits end: the slice's end, or a window's.
    end: usize,
}

impl<'a> Bits<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Bits {
            bytes,
            at: 0,
            end: bytes.len() * 8,
        }
    }

    /// A reader of the `len` bits from bit `start` of the same bytes.
    pub fn window(&self, start: usize, len: usize) -> Option<Bits<'a>> {
        (start.checked_add(len)? <= self.bytes.len() * 8).then_some(Bits {
            bytes: self.bytes,
            at: start,
            end: start + len,
        })
    }

    /// Bits read so far.
    pub fn position(&self) -> usize {
        self.at
    }

    /// Bits left to read.
    pub fn remaining(&self) -> usize {
        self.end - self.at
    }

    /// The next `count` bits (at most 32) as a number.
    pub fn take(&mut self, count: usize) -> Option<u32> {
        debug_assert!(count <= 32);
        if count > self.remaining() {
            return None;
        }
        let mut value = 0u64;
        let mut left = count;
        while left > 0 {
            let byte = self.bytes[self.at / 8];
            let offset = self.at % 8;
            let here = (8 - offset).min(left);
            let bits = (byte >> (8 - offset - here)) & ((1u16 << here) - 1) as u8;
            value = (value << here) | u64::from(bits);
            self.at += here;
            left -= here;
        }
        Some(value as u32)
    }

    pub fn flag(&mut self) -> Option<bool> {
        self.take(1).map(|bit| bit == 1)
    }

    pub fn skip(&mut self, count: usize) -> Option<()> {
        if count > self.remaining() {
            return None;
        }
        self.at += count;
        Some(())
    }

    /// The next `count` bits as bytes, the first bit at the top of the first byte and the last
    /// byte padded with zeros: a config or a payload that does not start on a byte boundary.
    pub fn copy(&mut self, count: usize) -> Option<Vec<u8>> {
        if count > self.remaining() {
            return None;
        }
        let start = self.at / 8;
        let shift = self.at % 8;
        let len = count.div_ceil(8);
        let mut out = Vec::with_capacity(len);
        if shift == 0 {
            out.extend_from_slice(&self.bytes[start..start + len]);
        } else {
            for i in start..start + len {
                let next = self.bytes.get(i + 1).copied().unwrap_or(0);
                out.push((self.bytes[i] << shift) | (next >> (8 - shift)));
            }
        }
        if !count.is_multiple_of(8) {
            let last = out.len() - 1;
            out[last] &= 0xffu8 << (8 - count % 8);
        }
        self.at += count;
        Some(out)
    }

    /// An audio object type: 5 bits, 31 escaping to 32 + 6 more.
    pub fn object_type(&mut self) -> Option<u8> {
        match self.take(5)? {
            31 => Some(32 + self.take(6)? as u8),
            aot => Some(aot as u8),
        }
    }

    /// A sampling frequency index and its rate; index 15 is followed by the rate (24 bits).
    pub fn rate(&mut self) -> Option<(u8, u32)> {
        let index = self.take(4)? as u8;
        let rate = match index {
            15 => self.take(24)?,
            _ => *MPEG4_SAMPLE_RATES.get(usize::from(index))?,
        };
        Some((index, rate))
    }
}

/// Object types with a core rate and an extension rate after them.
const SBR: u8 = 5;
const PS: u8 = 29;

/// The first fields of an AudioSpecificConfig: what it decodes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigHead {
    /// The core's audio object type (2 for the AAC-LC core of HE-AAC).
    pub object_type: u8,
    /// The core's sampling frequency index (15: an explicit rate) and rate.
    pub rate_index: u8,
    pub rate: u32,
    pub channel_config: u8,
    /// SBR or PS signalled explicitly (object type 5 or 29), with the output rate.
    pub extension: Option<(u8, u32)>,
}

impl ConfigHead {
    pub fn read(bits: &mut Bits) -> Option<ConfigHead> {
        let mut object_type = bits.object_type()?;
        let (rate_index, rate) = bits.rate()?;
        let channel_config = bits.take(4)? as u8;
        let mut extension = None;
        if object_type == SBR || object_type == PS {
            let (_, output_rate) = bits.rate()?;
            extension = Some((object_type, output_rate));
            object_type = bits.object_type()?;
            if object_type == 22 {
                // ER BSAC's extension channel configuration.
                bits.skip(4)?;
            }
        }
        Some(ConfigHead {
            object_type,
            rate_index,
            rate,
            channel_config,
            extension,
        })
    }

    /// For HE-AAC signalled explicitly (object type 5 or 29 first), the two-byte config of its
    /// AAC-LC core alone: what a decoder without SBR (symphonia's, which refuses the explicit
    /// form) can decode, as it decodes the core of HE-AAC signalled implicitly.
    pub fn core_config(config: &[u8]) -> Option<[u8; 2]> {
        let head = ConfigHead::read(&mut Bits::new(config))?;
        (head.extension.is_some() && head.object_type == 2 && head.rate_index <= 12).then(|| {
            let bits = (2u16 << 11)
                | (u16::from(head.rate_index) << 7)
                | (u16::from(head.channel_config & 0x0f) << 3);
            bits.to_be_bytes()
        })
    }

    /// Channels by the channel configuration (0: a program config element says).
    pub fn channels(&self) -> Option<u32> {
        match self.channel_config {
            1..=6 => Some(u32::from(self.channel_config)),
            7 | 12 | 14 => Some(8),
            11 => Some(7),
            _ => None,
        }
    }

    /// Samples per frame of the core.
    pub fn frame_samples(&self, short_frames: bool) -> u32 {
        let long = match self.object_type {
            23 | 39 => 512,
            _ => 1024,
        };
        if short_frames { long / 16 * 15 } else { long }
    }
}

/// A whole AudioSpecificConfig: its head, its length in bits, and what its specific config
/// adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioSpecificConfig {
    pub head: ConfigHead,
    /// 960 (or 480 for low delay) samples per frame in place of 1024 (512).
    pub short_frames: bool,
    /// Channels a program config element lists, when the configuration is 0.
    pub pce_channels: Option<u32>,
}

impl AudioSpecificConfig {
    /// Reads a config whose end nothing else marks: up to the end of its specific config
    /// (GASpecificConfig, the one the AAC object types use) and its error protection field,
    /// without looking for the backward-compatible SBR extension after it, which a container
    /// that does not state the config's length cannot carry. Object types whose specific
    /// config is not the general audio one, and error protection configs, give `None`.
    pub fn read_whole(bits: &mut Bits) -> Option<AudioSpecificConfig> {
        let start = bits.position();
        let head = ConfigHead::read(bits)?;
        let aot = head.object_type;
        if !matches!(aot, 1..=4 | 6 | 7 | 17 | 19..=23) {
            return None;
        }
        // GASpecificConfig.
        let short_frames = bits.flag()?;
        if bits.flag()? {
            // dependsOnCoreCoder: coreCoderDelay.
            bits.skip(14)?;
        }
        let extension_flag = bits.flag()?;
        let pce_channels = match head.channel_config {
            0 => Some(skip_program_config_element(bits, start)?),
            _ => None,
        };
        if aot == 6 || aot == 20 {
            // layerNr
            bits.skip(3)?;
        }
        if extension_flag {
            if aot == 22 {
                // numOfSubFrame, layer_length
                bits.skip(5 + 11)?;
            }
            if matches!(aot, 17 | 19 | 20 | 23) {
                // The three resilience flags.
                bits.skip(3)?;
            }
            // extensionFlag3
            bits.skip(1)?;
        }
        if matches!(aot, 17 | 19..=23) {
            let ep_config = bits.take(2)?;
            if ep_config >= 2 {
                // ErrorProtectionSpecificConfig follows.
                return None;
            }
        }
        Some(AudioSpecificConfig {
            head,
            short_frames,
            pce_channels,
        })
    }

    /// A config whose length its container states (FLV, AVI, LATM's audioMuxVersion 1): whole
    /// when its specific config is the general one, else its head alone (long frames, channels
    /// by the configuration). `None` when not even the head reads.
    pub fn read_stated(config: &[u8]) -> Option<AudioSpecificConfig> {
        AudioSpecificConfig::read_whole(&mut Bits::new(config)).or_else(|| {
            Some(AudioSpecificConfig {
                head: ConfigHead::read(&mut Bits::new(config))?,
                short_frames: false,
                pce_channels: None,
            })
        })
    }

    pub fn channels(&self) -> Option<u32> {
        self.head.channels().or(self.pce_channels)
    }

    pub fn frame_samples(&self) -> u32 {
        self.head.frame_samples(self.short_frames)
    }
}

/// The track of an AAC stream whose AudioSpecificConfig is `asc`, read as `config` (the config
/// as the codec's extra data, timed at the core's rate). For containers that carry the config
/// beside the frames (LATM, FLV, AVI).
pub fn aac_track(asc: &[u8], config: &AudioSpecificConfig) -> Track {
    let mut codec = AudioCodecParameters::new();
    codec
        .for_codec(CODEC_ID_AAC)
        .with_sample_rate(config.head.rate)
        .with_max_frames_per_packet(u64::from(config.frame_samples()))
        .with_extra_data(asc.to_vec().into_boxed_slice());
    if let Some(positions) = config.channels().and_then(Position::from_count) {
        codec.with_channels(Channels::Positioned(positions));
    }
    super::audio_track(codec)
}

/// Reads past a program_config_element (ISO/IEC 14496-3, 4.4.1.1) and gives the channels it
/// lists. Its byte alignment before the comment counts from the config's first bit, `start`.
fn skip_program_config_element(bits: &mut Bits, start: usize) -> Option<u32> {
    // element_instance_tag, object_type, sampling_frequency_index.
    bits.skip(4 + 2 + 4)?;
    let front = bits.take(4)?;
    let side = bits.take(4)?;
    let back = bits.take(4)?;
    let lfe = bits.take(2)?;
    let assoc_data = bits.take(3)?;
    let coupling = bits.take(4)?;
    for mixdown_bits in [4, 4, 3] {
        if bits.flag()? {
            bits.skip(mixdown_bits)?;
        }
    }
    let mut channels = 0;
    for _ in 0..front + side + back {
        // is_cpe, then the element's tag.
        channels += if bits.flag()? { 2 } else { 1 };
        bits.skip(4)?;
    }
    channels += lfe;
    bits.skip(4 * (lfe + assoc_data) as usize + 5 * coupling as usize)?;
    let misaligned = (bits.position() - start) % 8;
    if misaligned != 0 {
        bits.skip(8 - misaligned)?;
    }
    let comment_bytes = bits.take(8)?;
    bits.skip(8 * comment_bytes as usize)?;
    Some(channels)
}

/// Writes bit streams for tests (configs, mux elements).
#[cfg(test)]
#[derive(Default)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    pub len: usize,
}

#[cfg(test)]
impl BitWriter {
    pub fn put(&mut self, value: u32, count: usize) {
        for i in (0..count).rev() {
            if self.len.is_multiple_of(8) {
                self.bytes.push(0);
            }
            let bit = (value >> i) as u8 & 1;
            *self.bytes.last_mut().unwrap() |= bit << (7 - self.len % 8);
            self.len += 1;
        }
    }

    pub fn bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_read_across_bytes_and_copy_unaligned() {
        let bytes = [0b1010_1100, 0b0101_0011, 0xff];
        let mut bits = Bits::new(&bytes);
        assert_eq!(bits.take(3), Some(0b101));
        assert_eq!(bits.take(7), Some(0b011_0001));
        assert_eq!(bits.copy(9), Some(vec![0b0100_1111, 0b1000_0000]));
        assert_eq!(bits.remaining(), 5);
        assert_eq!(bits.take(6), None);
        assert_eq!(bits.take(5), Some(0b11111));
        assert_eq!(Bits::new(&[0x12, 0x34]).take(16), Some(0x1234));
    }

    #[test]
    fn configs_are_read_to_their_end() {
        // ffmpeg's AAC-LC, 44.1 kHz stereo: 5 + 4 + 4 + 3 bits.
        let mut bits = Bits::new(&[0x12, 0x10]);
        let config = AudioSpecificConfig::read_whole(&mut bits).unwrap();
        assert_eq!(bits.position(), 16);
        assert_eq!(
            (config.head.object_type, config.head.rate, config.channels()),
            (2, 44_100, Some(2))
        );
        assert_eq!(config.frame_samples(), 1024);
        // HE-AAC signalled explicitly: SBR, core 22.05 kHz stereo, output 44.1 kHz, core LC.
        let mut bits = Bits::new(&[0x2b, 0x92, 0x08, 0x00]);
        let config = AudioSpecificConfig::read_whole(&mut bits).unwrap();
        assert_eq!(bits.position(), 5 + 4 + 4 + 4 + 5 + 3);
        assert_eq!(config.head.extension, Some((5, 44_100)));
        assert_eq!((config.head.object_type, config.head.rate), (2, 22_050));
        assert_eq!(
            ConfigHead::core_config(&[0x2b, 0x92, 0x08, 0x00]),
            Some([0x13, 0x90])
        );
        assert_eq!(ConfigHead::core_config(&[0x12, 0x10]), None);
        // ELD's specific config is not the general one.
        assert_eq!(
            AudioSpecificConfig::read_whole(&mut Bits::new(&[0xf8, 0xe6, 0x20, 0, 0])),
            None
        );
    }

    #[test]
    fn a_program_config_element_gives_the_channels() {
        // LC 48 kHz, channel configuration 0, then a PCE: 2 front elements (a SCE and a CPE),
        // 1 back CPE, 1 LFE: 6 channels; a comment of 2 bytes.
        let mut writer = BitWriter::default();
        writer.put(2, 5);
        writer.put(3, 4);
        writer.put(0, 4);
        writer.put(0, 3); // GASpecificConfig flags
        writer.put(0, 10); // tag, profile, rate index
        for count in [2, 0, 1] {
            writer.put(count, 4);
        }
        writer.put(1, 2); // LFE
        writer.put(0, 3 + 4 + 3); // no data, no coupling, no mixdowns
        writer.put(0b00000, 5); // front SCE
        writer.put(0b10000, 5); // front CPE
        writer.put(0b10001, 5); // back CPE
        writer.put(0, 4); // LFE tag
        let end_of_elements = writer.len;
        writer.put(0, (8 - end_of_elements % 8) % 8);
        writer.put(2, 8);
        writer.put(0x4142, 16);
        let length = writer.len;
        writer.put(0b101, 3); // what follows the config
        let bytes = writer.bytes();
        let mut bits = Bits::new(&bytes);
        let config = AudioSpecificConfig::read_whole(&mut bits).unwrap();
        assert_eq!(config.channels(), Some(6));
        assert_eq!(bits.position(), length);
        assert_eq!(bits.take(3), Some(0b101));
    }
}
