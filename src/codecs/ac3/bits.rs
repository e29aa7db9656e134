//! The bits of an AC-3 frame, most significant first, through a 64-bit cache. symphonia's
//! `BitReaderLtr` does the same job, but a call per mantissa through it was a fifth of the
//! decoding time; this one is the few lines AC-3 needs, inlined.

use std::io;

pub struct Bits<'a> {
    data: &'a [u8],
    /// The next byte to load into the cache.
    next: usize,
    /// Bits loaded and not yet read, the next one highest.
    cache: u64,
    cached: u32,
}

impl<'a> Bits<'a> {
    pub fn new(data: &'a [u8]) -> Bits<'a> {
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
            self.cache |= u64::from(byte) << (56 - self.cached);
            self.cached += 8;
            self.next += 1;
        }
    }

    /// The next `count` bits (up to 32) as an unsigned number.
    #[inline]
    pub fn read_bits_leq32(&mut self, count: u32) -> io::Result<u32> {
        debug_assert!(count <= 32);
        if count == 0 {
            return Ok(0);
        }
        if self.cached < count {
            self.refill();
            if self.cached < count {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        let value = (self.cache >> (64 - count)) as u32;
        self.cache <<= count;
        self.cached -= count;
        Ok(value)
    }

    /// The next `count` bits (1 to 32) as a two's complement number.
    #[inline]
    pub fn read_bits_leq32_signed(&mut self, count: u32) -> io::Result<i32> {
        let value = self.read_bits_leq32(count)?;
        let shift = 32 - count;
        Ok(((value << shift) as i32) >> shift)
    }

    #[inline]
    pub fn read_bool(&mut self) -> io::Result<bool> {
        Ok(self.read_bits_leq32(1)? == 1)
    }

    pub fn ignore_bits(&mut self, mut count: u32) -> io::Result<()> {
        while count > 0 {
            let step = count.min(32);
            self.read_bits_leq32(step)?;
            count -= step;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_across_bytes_and_ends_cleanly() {
        let data = [0b1010_1100, 0xff, 0x00, 0x80, 0x12, 0x34, 0x56, 0x78, 0x9a];
        let mut bits = Bits::new(&data);
        assert_eq!(bits.read_bits_leq32(3).unwrap(), 0b101);
        assert!(!bits.read_bool().unwrap());
        assert_eq!(bits.read_bits_leq32(8).unwrap(), 0b1100_1111);
        assert_eq!(bits.read_bits_leq32_signed(4).unwrap(), -1);
        bits.ignore_bits(8).unwrap();
        assert_eq!(bits.read_bits_leq32(32).unwrap(), 0x8012_3456);
        assert_eq!(bits.read_bits_leq32(16).unwrap(), 0x789a);
        assert!(bits.read_bits_leq32(1).is_err());
        assert_eq!(bits.read_bits_leq32(0).unwrap(), 0);
    }
}
