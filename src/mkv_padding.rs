//! Reads Matroska/WebM DiscardPadding, which symphonia 0.6 ignores.
//!
//! An Opus (or other) stream in WebM marks the padding at the end of its last block with a
//! DiscardPadding element in that block's BlockGroup; without it the output is too long by up
//! to a frame (648 samples in the test fixture). This walks the EBML element tree of the bytes
//! handed to the decoder, just deep enough to find each BlockGroup's block timestamp and its
//! DiscardPadding, plus the track's CodecDelay that shifts symphonia's packet timestamps.

use std::collections::VecDeque;

const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const CODEC_DELAY: u32 = 0x56AA;
const CLUSTER: u32 = 0x1F43_B675;
const CLUSTER_TIMESTAMP: u32 = 0xE7;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const DISCARD_PADDING: u32 = 0x75A2;

/// Masters this walker descends into.
const MASTERS: [u32; 6] = [SEGMENT, INFO, TRACKS, TRACK_ENTRY, CLUSTER, BLOCK_GROUP];

#[derive(Debug)]
pub struct MatroskaPadding {
    /// Bytes seen and not parsed yet.
    pending: Vec<u8>,
    /// Stream offset of `pending[0]`.
    offset: u64,
    /// Body bytes of the current element still to skip.
    skip: u64,
    /// Open masters: id and end offset (`None`: unknown size, as in live WebM).
    open: Vec<(u32, Option<u64>)>,
    timestamp_scale_ns: u64,
    codec_delay_ns: u64,
    cluster_timestamp: i64,
    /// Timestamp of the Block in the current BlockGroup.
    block_timestamp: Option<i64>,
    /// DiscardPadding found: (block timestamp in segment ticks, nanoseconds).
    paddings: VecDeque<(i64, i64)>,
    /// Something did not parse: stop looking rather than guess.
    lost: bool,
}

impl Default for MatroskaPadding {
    fn default() -> Self {
        MatroskaPadding {
            pending: Vec::new(),
            offset: 0,
            skip: 0,
            open: Vec::new(),
            timestamp_scale_ns: 1_000_000,
            codec_delay_ns: 0,
            cluster_timestamp: 0,
            block_timestamp: None,
            paddings: VecDeque::new(),
            lost: false,
        }
    }
}

impl MatroskaPadding {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next bytes of the stream, in order.
    pub fn observe(&mut self, bytes: &[u8]) {
        if self.lost {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(bytes);
        let mut used = 0;
        while !self.lost {
            if self.skip > 0 {
                let n = self.skip.min((pending.len() - used) as u64);
                used += n as usize;
                self.offset += n;
                self.skip -= n;
                if self.skip > 0 {
                    break;
                }
            }
            self.close_finished();
            match self.element(&pending[used..]) {
                Some(consumed) => {
                    used += consumed;
                    self.offset += consumed as u64;
                }
                None => break,
            }
        }
        pending.drain(..used);
        if !self.lost {
            self.pending = pending;
        }
    }

    /// The padding, in nanoseconds, of the block a packet with this timestamp came from
    /// (symphonia's packet timestamps are the block's minus the codec delay).
    pub fn padding_for(&mut self, packet_ts: i64) -> Option<i64> {
        let delay = ((self.codec_delay_ns + self.timestamp_scale_ns / 2)
            / self.timestamp_scale_ns.max(1)) as i64;
        // Entries for blocks already passed are of no use any more.
        while self
            .paddings
            .front()
            .is_some_and(|(ts, _)| ts - delay < packet_ts - 1)
        {
            self.paddings.pop_front();
        }
        let (ts, ns) = *self.paddings.front()?;
        ((ts - delay - packet_ts).abs() <= 1).then(|| {
            self.paddings.pop_front();
            ns
        })
    }

    fn close_finished(&mut self) {
        while let Some(&(id, Some(end))) = self.open.last() {
            if self.offset < end {
                break;
            }
            self.open.pop();
            if id == BLOCK_GROUP {
                self.block_timestamp = None;
            }
        }
    }

    /// Handles the element starting at `bytes[0]`; returns how many bytes it consumed, or
    /// `None` when more bytes are needed.
    fn element(&mut self, bytes: &[u8]) -> Option<usize> {
        let (id, id_len) = self.read_vint(bytes, true)?;
        // IDs are at most 4 bytes.
        let id = id as u32;
        let (size, size_len) = self.read_vint(&bytes[id_len..], false)?;
        let header = id_len + size_len;
        let unknown_size = size == (1u64 << (7 * size_len)) - 1;
        // A new Cluster ends an open Cluster of unknown size.
        if id == CLUSTER
            && let Some(position) = self.open.iter().rposition(|(open, _)| *open == CLUSTER)
        {
            self.open.truncate(position);
        }
        if MASTERS.contains(&id) {
            let end = (!unknown_size).then(|| self.offset + (header as u64) + size);
            self.open.push((id, end));
            return Some(header);
        }
        if unknown_size {
            self.lost = true;
            return None;
        }
        let value_len = size as usize;
        match id {
            TIMESTAMP_SCALE | CODEC_DELAY | CLUSTER_TIMESTAMP | DISCARD_PADDING => {
                let value = bytes.get(header..header + value_len)?;
                let unsigned = value.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64);
                match id {
                    TIMESTAMP_SCALE => self.timestamp_scale_ns = unsigned.max(1),
                    CODEC_DELAY => self.codec_delay_ns = unsigned,
                    CLUSTER_TIMESTAMP => self.cluster_timestamp = unsigned as i64,
                    _ => {
                        let shift = 64 - 8 * value_len.clamp(1, 8) as u32;
                        let signed = ((unsigned << shift) as i64) >> shift;
                        if let Some(block) = self.block_timestamp {
                            self.paddings.push_back((block, signed));
                        }
                    }
                }
                Some(header + value_len)
            }
            BLOCK => {
                // Track number (a vint), then the timestamp relative to the cluster.
                let body = bytes.get(header..)?;
                let (_, track_len) = self.read_vint(body, false)?;
                let relative = body.get(track_len..track_len + 2)?;
                let relative = i16::from_be_bytes([relative[0], relative[1]]) as i64;
                self.block_timestamp = Some(self.cluster_timestamp + relative);
                self.skip = size;
                Some(header)
            }
            _ => {
                self.skip = size;
                Some(header)
            }
        }
    }
}

impl MatroskaPadding {
    /// An EBML variable-length integer: (value, length), `None` when more bytes are needed.
    /// IDs keep their length marker. A zero first byte is no vint: the walk is lost.
    fn read_vint(&mut self, bytes: &[u8], keep_marker: bool) -> Option<(u64, usize)> {
        let first = *bytes.first()?;
        if first == 0 {
            self.lost = true;
            return None;
        }
        let len = first.leading_zeros() as usize + 1;
        let raw = bytes.get(..len)?;
        let mut value = raw.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64);
        if !keep_marker {
            value &= (1u64 << (7 * len)) - 1;
        }
        Some((value, len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(id: u32, body: &[u8]) -> Vec<u8> {
        let mut out: Vec<u8> = id
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        // 8-byte size vint, to exercise long sizes.
        out.push(0x01);
        out.extend(&(body.len() as u64).to_be_bytes()[1..]);
        out.extend_from_slice(body);
        out
    }

    fn block_group(relative: i16, padding_ns: Option<i64>) -> Vec<u8> {
        let mut block = vec![0x81];
        block.extend(relative.to_be_bytes());
        block.push(0);
        block.extend([0xAB; 40]);
        let mut body = element(BLOCK, &block);
        if let Some(ns) = padding_ns {
            body.extend(element(DISCARD_PADDING, &ns.to_be_bytes()[4..]));
        }
        element(BLOCK_GROUP, &body)
    }

    fn webm(padding_ns: i64) -> Vec<u8> {
        let tracks = element(
            TRACKS,
            &element(
                TRACK_ENTRY,
                &element(CODEC_DELAY, &6_500_000u32.to_be_bytes()),
            ),
        );
        let cluster = [
            element(CLUSTER_TIMESTAMP, &[0x0B, 0xB8]), // 3000
            block_group(0, None),
            block_group(20, Some(padding_ns)),
        ]
        .concat();
        let segment = [
            element(INFO, &element(TIMESTAMP_SCALE, &1_000_000u32.to_be_bytes())),
            tracks,
            element(CLUSTER, &cluster),
        ]
        .concat();
        [
            element(0x1A45_DFA3, b"webm header"),
            element(SEGMENT, &segment),
        ]
        .concat()
    }

    #[test]
    fn finds_the_padding_of_the_last_block() {
        let stream = webm(13_500_000);
        for chunk in [1, 5, stream.len()] {
            let mut padding = MatroskaPadding::new();
            for part in stream.chunks(chunk) {
                padding.observe(part);
            }
            // Packets: 3000 - 7 (codec delay 6.5 ms rounds to 7 ticks) and 3020 - 7.
            assert_eq!(padding.padding_for(2993), None, "chunk {chunk}");
            assert_eq!(padding.padding_for(3013), Some(13_500_000), "chunk {chunk}");
            assert_eq!(padding.padding_for(3013), None);
        }
    }

    #[test]
    fn garbage_stops_the_walk_quietly() {
        let mut padding = MatroskaPadding::new();
        padding.observe(&[0u8; 100]);
        padding.observe(&webm(1));
        assert_eq!(padding.padding_for(3013), None);
    }
}
