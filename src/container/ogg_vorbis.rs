//! What our Ogg reader needs to know of Vorbis (the Vorbis I specification, section 4): the
//! identification header, and each audio packet's length, which depends on its mode's block
//! size and the previous packet's.
//!
//! The modes are the last field of the setup header, after codebooks, floors, residues and
//! mappings whose lengths are known only by decoding them all. As ffmpeg's Vorbis parser does,
//! they are read backwards from the framing bit instead: each mode is 41 bits of which the 32
//! of window and transform type are zero, and the 6 bits before the first mode hold the count.

use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::well_known::CODEC_ID_VORBIS;

use crate::container::ogg_audio;

/// An identification header is 30 bytes: type 1, "vorbis", then its fields.
const IDENT_LEN: usize = 30;
/// Bits of one mode: block flag, window type, transform type, mapping.
const MODE_BITS: usize = 1 + 16 + 16 + 8;

/// The decoder's parameters from an identification header; its setup header is appended to
/// the extra data once read (symphonia's decoder takes both, one after the other).
pub fn codec_params(ident: &[u8]) -> Option<(AudioCodecParameters, Blocks)> {
    if ident.len() < IDENT_LEN || !ident.starts_with(b"\x01vorbis") {
        return None;
    }
    let version = u32::from_le_bytes(ident[7..11].try_into().ok()?);
    let channels = ident[11];
    let rate = u32::from_le_bytes(ident[12..16].try_into().ok()?);
    let (short, long) = (ident[28] & 0x0f, ident[28] >> 4);
    let valid = version == 0
        && channels > 0
        && rate > 0
        && (6..=13).contains(&short)
        && (short..=13).contains(&long);
    if !valid {
        return None;
    }
    let mut params = AudioCodecParameters::new();
    params
        .for_codec(CODEC_ID_VORBIS)
        .with_sample_rate(rate)
        .with_channels(ogg_audio::channels_by_count(channels))
        .with_extra_data(ident[..IDENT_LEN].into())
        // A packet's audio is complete only with the next packet, which brings the second half
        // of its block: what the latency must cover, whatever the first packets' blocks are.
        .with_max_frames_per_packet((1u64 << long) / 2);
    Some((
        params,
        Blocks {
            exponents: [short, long],
            ..Blocks::default()
        },
    ))
}

/// Block sizes, modes and the previous packet's block: each audio packet's length.
#[derive(Debug, Clone, Copy, Default)]
pub struct Blocks {
    /// log2 of the short and long block sizes.
    exponents: [u8; 2],
    modes: u8,
    /// Bit `m` set: mode `m` uses long blocks.
    long_modes: u64,
    /// The previous audio packet's block size exponent.
    previous: Option<u8>,
}

impl Blocks {
    /// Reads the modes from the setup header. False when it is not one, or they cannot be found.
    pub fn read_setup(&mut self, setup: &[u8]) -> bool {
        if !setup.starts_with(b"\x05vorbis") {
            return false;
        }
        let bit = |i: usize| (setup[i / 8] >> (i % 8)) & 1 == 1;
        let bits = |from: usize, count: usize| {
            (from..from + count).fold(0u64, |v, i| v | (u64::from(bit(i)) << (i - from)))
        };
        let Some(framing) = (0..setup.len() * 8).rev().find(|&i| bit(i)) else {
            return false;
        };
        // Modes that fit before the framing bit, from the last one back.
        let mut fitting = 0;
        while fitting < 64 {
            let Some(start) = framing.checked_sub(MODE_BITS * (fitting + 1)) else {
                break;
            };
            if bits(start + 1, 32) != 0 {
                break;
            }
            fitting += 1;
        }
        // The most modes whose count field, just before them, says so.
        let Some(count) = (1..=fitting).rev().find(|&count| {
            let start = framing - MODE_BITS * count;
            start >= 6 && bits(start - 6, 6) == count as u64 - 1
        }) else {
            return false;
        };
        let start = framing - MODE_BITS * count;
        self.modes = count as u8;
        self.long_modes = (0..count)
            .filter(|&m| bit(start + MODE_BITS * m))
            .fold(0, |flags, m| flags | 1 << m);
        true
    }

    /// Samples an audio packet adds: a quarter of the previous block and of this one (the
    /// halves that overlap); none for the first, which only primes the overlap.
    pub fn packet_samples(&mut self, packet: &[u8]) -> u64 {
        let Some(&first) = packet.first() else {
            return 0;
        };
        if first & 1 == 1 || self.modes == 0 {
            // A header packet, or no setup read.
            return 0;
        }
        let mode_bits = u8::BITS - (self.modes - 1).leading_zeros();
        let mode = (u16::from(first) | u16::from(packet.get(1).copied().unwrap_or(0)) << 8) >> 1
            & ((1u16 << mode_bits) - 1);
        if mode >= u16::from(self.modes) {
            return 0;
        }
        let exponent = self.exponents[usize::from(self.long_modes >> mode & 1 == 1)];
        let samples = self.previous.map_or(0, |previous| {
            (1u64 << previous) / 4 + (1u64 << exponent) / 4
        });
        self.previous = Some(exponent);
        samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bits written LSB first, as Vorbis packs them.
    #[derive(Default)]
    struct Bits {
        bytes: Vec<u8>,
        len: usize,
    }

    impl Bits {
        fn put(&mut self, value: u64, count: usize) {
            for i in 0..count {
                if self.len.is_multiple_of(8) {
                    self.bytes.push(0);
                }
                let bit = (value >> i) as u8 & 1;
                *self.bytes.last_mut().unwrap() |= bit << (self.len % 8);
                self.len += 1;
            }
        }
    }

    /// A setup header whose body before the modes is `junk` bits, then `flags.len()` modes.
    fn setup(junk: &[(u64, usize)], flags: &[bool]) -> Vec<u8> {
        let mut bits = Bits::default();
        for &(value, count) in junk {
            bits.put(value, count);
        }
        bits.put(flags.len() as u64 - 1, 6);
        for (i, &long) in flags.iter().enumerate() {
            bits.put(u64::from(long), 1);
            bits.put(0, 32);
            bits.put(i as u64 % 2, 8);
        }
        bits.put(1, 1);
        [b"\x05vorbis".to_vec(), bits.bytes].concat()
    }

    fn blocks(setup: &[u8]) -> Blocks {
        let mut blocks = Blocks {
            exponents: [8, 11],
            ..Blocks::default()
        };
        assert!(blocks.read_setup(setup));
        blocks
    }

    #[test]
    fn modes_are_found_from_the_end() {
        let junk = [(0x2d5, 11), (0xffff_ffff, 32), (5, 3)];
        let found = blocks(&setup(&junk, &[false, true]));
        assert_eq!((found.modes, found.long_modes), (2, 0b10));
        let found = blocks(&setup(&junk, &[true, false, true, true]));
        assert_eq!((found.modes, found.long_modes), (4, 0b1101));
        let mut none = Blocks::default();
        assert!(!none.read_setup(b"\x05vorbis"));
        assert!(!none.read_setup(b"\x03vorbis\x01"));
    }

    #[test]
    fn packet_lengths_overlap_by_halves() {
        let mut found = blocks(&setup(&[(1, 5)], &[false, true]));
        // Mode numbers after the packet-type bit: 1 bit for 2 modes.
        let short = [0b00];
        let long = [0b10];
        assert_eq!(
            found.packet_samples(&long),
            0,
            "the first packet primes the overlap"
        );
        assert_eq!(found.packet_samples(&long), 512 + 512);
        assert_eq!(found.packet_samples(&short), 512 + 64);
        assert_eq!(found.packet_samples(&short), 64 + 64);
        assert_eq!(found.packet_samples(&[0x03]), 0, "a header packet");
    }

    #[test]
    fn identification_headers_are_checked() {
        let mut ident = b"\x01vorbis".to_vec();
        ident.extend(0u32.to_le_bytes());
        ident.push(2);
        ident.extend(44_100u32.to_le_bytes());
        ident.extend([0; 12]);
        ident.push(0xb8);
        ident.push(1);
        let (params, found) = codec_params(&ident).unwrap();
        assert_eq!(params.sample_rate, Some(44_100));
        assert_eq!(found.exponents, [8, 11]);
        ident[28] = 0x8b;
        assert!(
            codec_params(&ident).is_none(),
            "long blocks shorter than short ones"
        );
    }
}
