//! A multistream Opus packet (RFC 7845 section 5.1.1) split into its streams here, each decoded
//! by a plain libopus decoder, with the channel mapping applied as libopus's multistream
//! decoder does.
//!
//! Written here rather than calling `opus_multistream_decode_float` because that function, in
//! the libopus Debian ships (1.3.1, built with custom modes), works out the size of its decoders
//! on every packet: four `opus_decoder_get_size` calls, each running the CPUID instruction
//! twice. In a virtual machine CPUID traps to the hypervisor: it was 54 % of a 5.1 stream's
//! decoding time on our VM. The plain decoders do none of that, and give the same samples
//! (tested against the multistream decoder below).

use std::ptr::{self, NonNull};

/// Why a packet or a configuration cannot be decoded.
pub type Refusal = &'static str;

/// Where a self-delimited Opus packet (RFC 6716 appendix B) keeps its extra length field, and
/// how long the packet is: the packet without that field is a plain Opus packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SelfDelimited {
    /// Offset of the extra length field.
    field_at: usize,
    /// Its length: 1 or 2 bytes.
    field_len: usize,
    /// The whole self-delimited packet's length.
    packet_len: usize,
}

/// A frame length (RFC 6716 section 3.2.1): one byte below 252, else two. Returns the length and
/// the bytes it took.
fn frame_length(data: &[u8]) -> Option<(usize, usize)> {
    match *data {
        [first, ..] if first < 252 => Some((usize::from(first), 1)),
        [first, second, ..] => Some((usize::from(first) + 4 * usize::from(second), 2)),
        _ => None,
    }
}

/// Parses the self-delimited packet at the start of `data` (every stream of a multistream packet
/// but the last is framed so).
fn self_delimited(data: &[u8]) -> Option<SelfDelimited> {
    let toc = *data.first()?;
    let mut at = 1;
    // Lengths of the frames before the last, when the packet states them; frames of one length
    // (code 1 and constant-bitrate code 3) count as `equal_frames`.
    let mut stated = 0usize;
    let mut equal_frames = 0usize;
    let mut padding = 0usize;
    match toc & 3 {
        0 => {}
        1 => equal_frames = 2,
        2 => {
            let (first, used) = frame_length(&data[at..])?;
            stated = first;
            at += used;
        }
        _ => {
            let count_byte = *data.get(at)?;
            at += 1;
            let count = usize::from(count_byte & 0x3f);
            if count == 0 {
                return None;
            }
            if count_byte & 0x40 != 0 {
                // Padding length: bytes of 255 add 254 each and go on; the last adds itself.
                loop {
                    let byte = *data.get(at)?;
                    at += 1;
                    padding += if byte == 255 { 254 } else { usize::from(byte) };
                    if byte != 255 {
                        break;
                    }
                }
            }
            if count_byte & 0x80 != 0 {
                for _ in 1..count {
                    let (length, used) = frame_length(&data[at..])?;
                    stated += length;
                    at += used;
                }
            } else {
                equal_frames = count;
            }
        }
    }
    let field_at = at;
    let (last, field_len) = frame_length(&data[at..])?;
    let frames = if equal_frames > 0 {
        last * equal_frames
    } else {
        stated + last
    };
    let packet_len = field_at + field_len + frames + padding;
    (packet_len <= data.len()).then_some(SelfDelimited {
        field_at,
        field_len,
        packet_len,
    })
}

/// A libopus decoder for one stream: mono or stereo.
struct StreamDecoder {
    state: NonNull<opusic_sys::OpusDecoder>,
    channels: usize,
}

impl StreamDecoder {
    /// Decodes one plain packet of at most `max_frames` frames per channel into `out`
    /// (interleaved); an empty packet asks for the concealment of `max_frames` lost ones.
    fn decode(
        &mut self,
        data: &[u8],
        max_frames: usize,
        out: &mut [f32],
    ) -> Result<usize, Refusal> {
        if out.len() < max_frames * self.channels {
            return Err("opus: output buffer shorter than the packet");
        }
        let data_ptr = if data.is_empty() {
            ptr::null()
        } else {
            data.as_ptr()
        };
        // SAFETY: the decoder is valid (created in `StreamDecoders::new`, freed only in `drop`);
        // `data` is readable for its length (null with 0 asks for concealment) and `out`
        // writable for `max_frames * channels` floats (checked above), the most libopus writes
        // for this frame size.
        let decoded = unsafe {
            opusic_sys::opus_decode_float(
                self.state.as_ptr(),
                data_ptr,
                data.len() as i32,
                out.as_mut_ptr(),
                max_frames as i32,
                0,
            )
        };
        usize::try_from(decoded).map_err(|_| "opus: libopus could not decode a stream")
    }
}

impl Drop for StreamDecoder {
    fn drop(&mut self) {
        // SAFETY: created by opus_decoder_create and freed exactly once, here.
        unsafe { opusic_sys::opus_decoder_destroy(self.state.as_ptr()) }
    }
}

/// The decoders of a multistream Opus stream and its channel mapping.
pub struct StreamDecoders {
    streams: Vec<StreamDecoder>,
    coupled: usize,
    /// For each output channel, the decoded channel it takes (RFC 7845 section 5.1.1: below
    /// `2 × coupled` a channel of a stereo stream, then the mono streams; 255 is silence).
    mapping: Vec<u8>,
    /// One stream holding the channels in order (plain mono and stereo): libopus writes the
    /// output itself, with no mapping to apply.
    in_order: bool,
    /// Frames per channel of the last packet decoded: what a lost packet is concealed as.
    last_frames: usize,
    /// Each stream's interleaved output for one packet, grown to the longest packet so far
    /// (unused when `in_order`).
    decoded: Vec<Vec<f32>>,
    /// A self-delimited stream packet made plain.
    plain: Vec<u8>,
}

// SAFETY: each decoder's state is plain memory owned by this value; libopus keeps no
// thread-local or global references to it. It is only touched through `&mut self` (decode,
// reset) and in `drop`, so moving it to another thread (Send) and sharing
// `&StreamDecoders` (Sync, which gives no access at all) are both sound.
unsafe impl Send for StreamDecoders {}
unsafe impl Sync for StreamDecoders {}

impl StreamDecoders {
    pub fn new(
        rate: u32,
        streams: usize,
        coupled: usize,
        mapping: &[u8],
    ) -> Result<StreamDecoders, Refusal> {
        let decoded_channels = streams + coupled;
        if streams == 0
            || coupled > streams
            || mapping
                .iter()
                .any(|&m| m != 255 && usize::from(m) >= decoded_channels)
        {
            return Err("opus: inconsistent channel mapping in OpusHead");
        }
        let mut decoders = Vec::with_capacity(streams);
        for stream in 0..streams {
            let channels = if stream < coupled { 2 } else { 1 };
            let mut error = 0;
            // SAFETY: `error` is a valid pointer for the duration of the call; libopus checks
            // the rate and channel count.
            let state =
                unsafe { opusic_sys::opus_decoder_create(rate as i32, channels, &mut error) };
            match NonNull::new(state) {
                Some(state) if error == opusic_sys::OPUS_OK => decoders.push(StreamDecoder {
                    state,
                    channels: channels as usize,
                }),
                _ => return Err("opus: libopus refused the multistream configuration"),
            }
        }
        Ok(StreamDecoders {
            in_order: streams == 1 && mapping.iter().copied().eq(0..decoded_channels as u8),
            decoded: vec![Vec::new(); decoders.len()],
            streams: decoders,
            coupled,
            mapping: mapping.to_vec(),
            // 20 ms at the rate, until a packet says otherwise.
            last_frames: rate as usize / 50,
            plain: Vec::new(),
        })
    }

    /// Frames per channel of the last packet decoded (20 ms before the first).
    pub fn last_frames(&self) -> usize {
        self.last_frames
    }

    /// Decodes one packet of `max_frames` frames per channel (what its TOC says; for an empty
    /// packet, which asks each decoder to conceal a lost one, how long the loss is) into `pcm`,
    /// interleaved in the order of the mapping; returns the frames per channel.
    pub fn decode(
        &mut self,
        packet: &[u8],
        max_frames: usize,
        pcm: &mut [f32],
    ) -> Result<usize, Refusal> {
        if self.in_order {
            let frames = self.streams[0].decode(packet, max_frames, pcm)?;
            if frames > 0 {
                self.last_frames = frames;
            }
            return Ok(frames);
        }
        let channels = self.mapping.len();
        let mut rest = packet;
        let mut frames = None;
        let last = self.streams.len() - 1;
        for (index, (stream, out)) in self.streams.iter_mut().zip(&mut self.decoded).enumerate() {
            if out.len() < max_frames * stream.channels {
                out.resize(max_frames * stream.channels, 0.0);
            }
            let data: &[u8] = if packet.is_empty() {
                &[]
            } else if index == last {
                if rest.is_empty() {
                    return Err("opus: damaged multistream packet");
                }
                rest
            } else {
                let framing = self_delimited(rest).ok_or("opus: damaged multistream packet")?;
                self.plain.clear();
                self.plain.extend_from_slice(&rest[..framing.field_at]);
                self.plain.extend_from_slice(
                    &rest[framing.field_at + framing.field_len..framing.packet_len],
                );
                rest = &rest[framing.packet_len..];
                &self.plain
            };
            let decoded = stream.decode(data, max_frames, out)?;
            if frames.is_some_and(|frames| frames != decoded) {
                return Err("opus: the streams of a multistream packet differ in length");
            }
            frames = Some(decoded);
        }
        let frames = frames.unwrap_or(0).min(pcm.len() / channels.max(1));
        if frames > 0 {
            self.last_frames = frames;
        }
        for (channel, &source) in self.mapping.iter().enumerate() {
            let target = pcm[channel..].iter_mut().step_by(channels).take(frames);
            if source == 255 {
                target.for_each(|sample| *sample = 0.0);
                continue;
            }
            let source = usize::from(source);
            let (stream, offset) = if source < 2 * self.coupled {
                (source / 2, source % 2)
            } else {
                (source - self.coupled, 0)
            };
            let width = self.streams[stream].channels;
            let decoded = self.decoded[stream][offset..].iter().step_by(width);
            target.zip(decoded).for_each(|(sample, s)| *sample = *s);
        }
        Ok(frames)
    }

    pub fn reset(&mut self) {
        for stream in &mut self.streams {
            // SAFETY: a valid decoder; OPUS_RESET_STATE takes no argument.
            unsafe {
                opusic_sys::opus_decoder_ctl(stream.state.as_ptr(), opusic_sys::OPUS_RESET_STATE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_lengths_take_one_or_two_bytes() {
        assert_eq!(frame_length(&[251]), Some((251, 1)));
        assert_eq!(frame_length(&[252, 1]), Some((256, 2)));
        assert_eq!(frame_length(&[255, 255]), Some((1275, 2)));
        assert_eq!(frame_length(&[253]), None);
        assert_eq!(frame_length(&[]), None);
    }

    #[test]
    fn self_delimited_framing_by_packet_code() {
        // Code 0: TOC, length, frame.
        let code0 = [0x00, 3, 9, 9, 9, 0xAA];
        assert_eq!(
            self_delimited(&code0),
            Some(SelfDelimited {
                field_at: 1,
                field_len: 1,
                packet_len: 5
            })
        );
        // Code 1: two frames of the stated length.
        let code1 = [0x01, 2, 1, 1, 2, 2];
        assert_eq!(self_delimited(&code1).map(|f| f.packet_len), Some(6));
        // Code 2: first length, then the extra (last frame's) length.
        let code2 = [0x02, 1, 2, 7, 8, 8];
        assert_eq!(
            self_delimited(&code2),
            Some(SelfDelimited {
                field_at: 2,
                field_len: 1,
                packet_len: 6
            })
        );
        // Code 3, VBR, padded: count byte, padding 255+1 (255 bytes), lengths 1 and 2, then
        // the last frame's length 1.
        let mut code3 = vec![0x03, 0x80 | 0x40 | 3, 255, 1, 1, 2, 1];
        code3.extend([5; 4]);
        code3.extend([0; 255]);
        assert_eq!(
            self_delimited(&code3),
            Some(SelfDelimited {
                field_at: 6,
                field_len: 1,
                packet_len: 7 + 4 + 255
            })
        );
        // Code 3, CBR: one length for all three frames.
        let code3_cbr = [0x03, 3, 1, 4, 5, 6];
        assert_eq!(self_delimited(&code3_cbr).map(|f| f.packet_len), Some(6));
        // Truncated or without frames: refused.
        assert_eq!(self_delimited(&[0x00, 5, 1]), None);
        assert_eq!(self_delimited(&[0x03, 0x80]), None);
        assert_eq!(self_delimited(&[]), None);
    }

    /// Encodes a 5.1 tone with libopus's multistream encoder (frame size and VBR as given).
    fn encode_5_1(frame_ms: usize, vbr: bool, packets: usize) -> (Vec<Vec<u8>>, [u8; 6], i32, i32) {
        let (mut streams, mut coupled) = (0, 0);
        let mut mapping = [0u8; 6];
        let mut error = 0;
        // SAFETY: the out-pointers are valid for the call; mapping holds 6 bytes.
        let encoder = unsafe {
            opusic_sys::opus_multistream_surround_encoder_create(
                48_000,
                6,
                1,
                &mut streams,
                &mut coupled,
                mapping.as_mut_ptr(),
                opusic_sys::OPUS_APPLICATION_AUDIO,
                &mut error,
            )
        };
        assert!(!encoder.is_null() && error == opusic_sys::OPUS_OK);
        // SAFETY: a valid encoder; OPUS_SET_VBR takes one int.
        unsafe {
            opusic_sys::opus_multistream_encoder_ctl(
                encoder,
                opusic_sys::OPUS_SET_VBR_REQUEST,
                i32::from(vbr),
            );
        }
        let frames = 48 * frame_ms;
        let mut out = Vec::new();
        for packet in 0..packets {
            let pcm: Vec<f32> = (0..frames * 6)
                .map(|i| {
                    let t = (packet * frames + i / 6) as f32 / 48_000.0;
                    let f = 220.0 * (1 + i % 6) as f32;
                    0.3 * (std::f32::consts::TAU * f * t).sin()
                })
                .collect();
            let mut bytes = vec![0u8; 8000];
            // SAFETY: pcm holds frames × 6 floats, bytes 8000 writable bytes.
            let len = unsafe {
                opusic_sys::opus_multistream_encode_float(
                    encoder,
                    pcm.as_ptr(),
                    frames as i32,
                    bytes.as_mut_ptr(),
                    bytes.len() as i32,
                )
            };
            assert!(len > 0, "encoding failed: {len}");
            bytes.truncate(len as usize);
            out.push(bytes);
        }
        // SAFETY: created above, freed once.
        unsafe { opusic_sys::opus_multistream_encoder_destroy(encoder) };
        (out, mapping, streams, coupled)
    }

    #[test]
    fn same_samples_as_libopus_multistream_decoder() {
        let mut codes_seen = [false; 4];
        for (frame_ms, vbr) in [(20, true), (20, false), (40, true), (60, false), (60, true)] {
            let (packets, mapping, streams, coupled) = encode_5_1(frame_ms, vbr, 12);
            for packet in &packets {
                codes_seen[usize::from(packet[0] & 3)] = true;
            }
            let mut ours =
                StreamDecoders::new(48_000, streams as usize, coupled as usize, &mapping).unwrap();
            let mut error = 0;
            // SAFETY: mapping holds 6 bytes; error is valid for the call.
            let reference = unsafe {
                opusic_sys::opus_multistream_decoder_create(
                    48_000,
                    6,
                    streams,
                    coupled,
                    mapping.as_ptr(),
                    &mut error,
                )
            };
            assert!(!reference.is_null());
            for (index, packet) in packets.iter().enumerate() {
                let mut expected = vec![0f32; 5760 * 6];
                // SAFETY: valid decoder, packet and output sizes as passed.
                let n = unsafe {
                    opusic_sys::opus_multistream_decode_float(
                        reference,
                        packet.as_ptr(),
                        packet.len() as i32,
                        expected.as_mut_ptr(),
                        5760,
                        0,
                    )
                };
                let mut got = vec![0f32; 5760 * 6];
                let frames = ours.decode(packet, 48 * frame_ms, &mut got).unwrap();
                assert_eq!(frames as i32, n, "{frame_ms} ms vbr={vbr} packet {index}");
                assert_eq!(
                    got[..frames * 6],
                    expected[..frames * 6],
                    "{frame_ms} ms vbr={vbr} packet {index}"
                );
            }
            // SAFETY: created above, freed once.
            unsafe { opusic_sys::opus_multistream_decoder_destroy(reference) };
        }
        // The first stream's packet code: one frame, two, or a count byte.
        assert!(
            codes_seen[0] && (codes_seen[1] || codes_seen[2]) && codes_seen[3],
            "{codes_seen:?}"
        );
    }

    #[test]
    fn damaged_packets_are_refused_not_read_past() {
        let (packets, mapping, streams, coupled) = encode_5_1(20, true, 1);
        let mut ours =
            StreamDecoders::new(48_000, streams as usize, coupled as usize, &mapping).unwrap();
        let mut pcm = vec![0f32; 5760 * 6];
        for cut in [1, 2, packets[0].len() / 3] {
            assert!(
                ours.decode(&packets[0][..cut], 960, &mut pcm).is_err(),
                "cut at {cut}"
            );
        }
        assert!(StreamDecoders::new(48_000, 2, 3, &mapping).is_err());
        assert!(StreamDecoders::new(48_000, 4, 2, &[0, 1, 2, 3, 4, 9]).is_err());
    }
}
