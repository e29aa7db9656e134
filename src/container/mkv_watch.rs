//! Watches a Matroska/WebM byte stream on its way to symphonia's reader, for two things that
//! reader does not do.
//!
//! - **DiscardPadding.** An Opus (or other) stream in WebM marks the padding at the end of its
//!   last block with a DiscardPadding element in that block's BlockGroup; symphonia 0.6 ignores
//!   it, so the output would be too long by up to a frame (648 samples in the test fixture).
//! - **Damage.** On a damaged cluster symphonia's reader either stops or skips a bogus element
//!   size to the end, losing the rest of the stream. This watcher checks the element structure
//!   of the bytes *before* the stream buffer hands them out, so reads can end just before the
//!   damage; it then searches for the next Cluster, from where the decoder reopens the stream
//!   with the saved header (`decoder`). [`MkvWatch`] does this on the byte queue, as a
//!   `ByteWatch` (see `watch`).
//!
//! It walks the EBML element tree just deep enough for that: the header for the timestamp scale,
//! track numbers and CodecDelay, then each cluster's children and BlockGroups. Until the first
//! Cluster it only follows (whatever does not parse switches it off: the stream is not
//! Matroska); from then on, an element that cannot be where it is counts as damage.

use std::collections::VecDeque;

use super::mkv_head::{
    CLUSTER, INFO, Invalid, SEGMENT, TIMESTAMP_SCALE, TRACK_ENTRY, TRACK_NUMBER, TRACKS, read_vint,
};
use crate::watch::{Ahead, ByteWatch, Queue};

const EBML_HEADER: u32 = 0x1A45_DFA3;
const SEEK_HEAD: u32 = 0x114D_9B74;
const CODEC_DELAY: u32 = 0x56AA;
const CUES: u32 = 0x1C53_BB6B;
const ATTACHMENTS: u32 = 0x1941_A469;
const CHAPTERS: u32 = 0x1043_A770;
const TAGS: u32 = 0x1254_C367;
const CLUSTER_TIMESTAMP: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const DISCARD_PADDING: u32 = 0x75A2;
const VOID: u32 = 0xEC;
const CRC32: u32 = 0xBF;

/// Masters this walker descends into.
const MASTERS: [u32; 6] = [SEGMENT, INFO, TRACKS, TRACK_ENTRY, CLUSTER, BLOCK_GROUP];
/// What a Segment holds; one of these also ends a Cluster of unknown size.
const SEGMENT_CHILDREN: [u32; 8] = [
    SEEK_HEAD,
    INFO,
    TRACKS,
    CLUSTER,
    CUES,
    ATTACHMENTS,
    CHAPTERS,
    TAGS,
];
/// Timestamp, Position, PrevSize, SimpleBlock, BlockGroup, EncryptedBlock, SilentTracks.
const CLUSTER_CHILDREN: [u32; 7] = [
    CLUSTER_TIMESTAMP,
    0xA7,
    0xAB,
    SIMPLE_BLOCK,
    BLOCK_GROUP,
    0xAF,
    0x5854,
];
/// Block, BlockVirtual, BlockAdditions, BlockDuration, ReferencePriority, ReferenceBlock,
/// ReferenceVirtual, CodecState, DiscardPadding, Slices, ReferenceFrame.
const BLOCK_GROUP_CHILDREN: [u32; 11] = [
    BLOCK,
    0xA2,
    0x75A1,
    0x9B,
    0xFA,
    0xFB,
    0xFD,
    0xA4,
    DISCARD_PADDING,
    0x8E,
    0xC8,
];
/// Larger blocks are taken for damage (audio blocks are a few KiB, laced ones rarely 100 KiB).
const MAX_BLOCK_SIZE: u64 = 16 << 20;
/// Larger non-block elements inside a cluster are taken for damage.
const MAX_CLUSTER_CHILD_SIZE: u64 = 1 << 20;
/// Largest block taken as a place to go on after damage (FLAC frames in Matroska reach 100 KiB).
const MAX_RESYNC_BLOCK_SIZE: u64 = 256 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the first Cluster: following the header.
    Header,
    /// Checking the clusters.
    Clusters,
    /// After damage: looking for the next Cluster.
    Searching,
    /// Not Matroska, or lost before the first Cluster: watching nothing.
    Off,
}

/// Damage in the stream: reads end at `from`; the bytes up to `resume_at` (once found) are
/// dropped and the stream goes on there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Damage {
    pub from: u64,
    pub resume_at: Option<u64>,
}

/// What one parsing step did.
enum Step {
    Consumed(usize),
    NeedMore,
    Invalid,
}

#[derive(Debug)]
pub struct MatroskaWatch {
    /// Bytes seen and not parsed yet; the first is at stream offset `offset`.
    pending: Vec<u8>,
    offset: u64,
    /// Body bytes of the current element still to skip.
    skip: u64,
    /// Open masters: id and end offset (`None`: unknown size, as in live WebM).
    open: Vec<(u32, Option<u64>)>,
    phase: Phase,
    first_cluster: Option<u64>,
    track_numbers: Vec<u64>,
    timestamp_scale_ns: u64,
    codec_delay_ns: u64,
    cluster_timestamp: i64,
    /// Timestamp of the Block in the current BlockGroup.
    block_timestamp: Option<i64>,
    /// DiscardPadding of the current BlockGroup seen before its Block (GStreamer writes it
    /// first).
    group_padding: Option<i64>,
    /// DiscardPadding found: (block timestamp in segment ticks, nanoseconds).
    paddings: VecDeque<(i64, i64)>,
    damage: Option<Damage>,
    /// Bytes the reader gets before the stream goes on after damage (a cluster header when it
    /// goes on at a block).
    resume_prefix: Vec<u8>,
    /// The stream has ended: no more bytes will decide a search.
    at_end: bool,
    /// Damage found and bytes skipped since the last `take_skipped`.
    damaged_regions: u32,
    skipped_bytes: u64,
}

impl Default for MatroskaWatch {
    fn default() -> Self {
        MatroskaWatch {
            pending: Vec::new(),
            offset: 0,
            skip: 0,
            open: Vec::new(),
            phase: Phase::Header,
            first_cluster: None,
            track_numbers: Vec::new(),
            timestamp_scale_ns: 1_000_000,
            codec_delay_ns: 0,
            cluster_timestamp: 0,
            block_timestamp: None,
            group_padding: None,
            paddings: VecDeque::new(),
            damage: None,
            resume_prefix: Vec::new(),
            at_end: false,
            damaged_regions: 0,
            skipped_bytes: 0,
        }
    }
}

impl MatroskaWatch {
    /// Watches a stream from its offset `offset` on.
    pub fn new(offset: u64) -> Self {
        MatroskaWatch {
            offset,
            ..Self::default()
        }
    }

    /// Takes the next bytes of the stream, in order.
    pub fn observe(&mut self, bytes: &[u8]) {
        if self.phase == Phase::Off {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(bytes);
        let mut used = 0;
        // After damage the walk pauses at the next cluster until the reader got there.
        while self.damage.is_none_or(|d| d.resume_at.is_none()) {
            let rest = &pending[used..];
            let step = match self.phase {
                Phase::Off => break,
                Phase::Searching => self.search(rest),
                Phase::Header | Phase::Clusters if self.skip > 0 => {
                    let n = self.skip.min(rest.len() as u64);
                    self.skip -= n;
                    Step::Consumed(n as usize)
                }
                Phase::Header | Phase::Clusters => {
                    self.close_finished();
                    self.element(rest)
                }
            };
            match step {
                Step::Consumed(0) | Step::NeedMore => break,
                Step::Consumed(n) => {
                    used += n;
                    self.offset += n as u64;
                }
                Step::Invalid if self.phase == Phase::Clusters => {
                    // Damage: reads end here; search on from the next byte.
                    self.damage = Some(Damage {
                        from: self.offset,
                        resume_at: None,
                    });
                    self.phase = Phase::Searching;
                    self.damaged_regions += 1;
                    self.skipped_bytes += 1;
                    used += 1;
                    self.offset += 1;
                }
                Step::Invalid => self.phase = Phase::Off,
            }
        }
        pending.drain(..used);
        if self.phase != Phase::Off {
            self.pending = pending;
        }
    }

    /// Stream offset up to which bytes may go to the reader.
    pub fn validated_until(&self) -> u64 {
        match (self.damage, self.phase) {
            (Some(Damage { from, resume_at }), _) => resume_at.unwrap_or(from),
            (None, Phase::Clusters) => self.offset,
            // Before the first cluster nothing is held back: this may not be Matroska at all.
            _ => u64::MAX,
        }
    }

    pub fn damage(&self) -> Option<Damage> {
        self.damage
    }

    /// Stream offset up to which bytes were searched for the next cluster in vain.
    pub fn searched_until(&self) -> u64 {
        self.offset
    }

    /// The reader got to where the stream goes on after the damage: the walk goes on. Returns
    /// the bytes to hand out before the stream's (see `resume_prefix`).
    pub fn resumed(&mut self) -> Vec<u8> {
        self.damage = None;
        let prefix = std::mem::take(&mut self.resume_prefix);
        self.observe(&[]);
        prefix
    }

    /// No more bytes will come: a search for where to go on decides with what it has.
    pub fn end_of_stream(&mut self) {
        if !self.at_end {
            self.at_end = true;
            self.observe(&[]);
        }
    }

    /// Stream offset of the first Cluster: everything before it is the header.
    pub fn first_cluster(&self) -> Option<u64> {
        self.first_cluster
    }

    /// Damaged regions found and bytes skipped since the last call, once the search after
    /// damage is over (one report per region).
    pub fn take_skipped(&mut self) -> (u32, u64) {
        if !self.at_end && self.damage.is_some_and(|d| d.resume_at.is_none()) {
            return (0, 0);
        }
        let taken = (self.damaged_regions, self.skipped_bytes);
        self.damaged_regions = 0;
        self.skipped_bytes = 0;
        taken
    }

    /// The CodecDelay of the (last) track entry, in nanoseconds; 0 when there is none.
    pub fn codec_delay_ns(&self) -> u64 {
        self.codec_delay_ns
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
                self.group_padding = None;
            }
        }
    }

    /// Parses the element starting at `bytes[0]`.
    fn element(&mut self, bytes: &[u8]) -> Step {
        let (id, id_len) = match read_vint(bytes, true) {
            Ok(Some((id, len))) if len <= 4 => (id as u32, len),
            Ok(Some(_)) | Err(Invalid) => return Step::Invalid,
            Ok(None) => return Step::NeedMore,
        };
        let (size, size_len) = match read_vint(&bytes[id_len..], false) {
            Ok(Some(vint)) => vint,
            Ok(None) => return Step::NeedMore,
            Err(Invalid) => return Step::Invalid,
        };
        let header = id_len + size_len;
        let unknown_size = size == (1u64 << (7 * size_len)) - 1;
        let end = (!unknown_size).then(|| self.offset + header as u64 + size);

        if self.phase == Phase::Clusters && self.open.is_empty() && id != EBML_HEADER {
            // Something after the Segment: not ours to judge (the decoder reports trailing data).
            self.phase = Phase::Off;
            return Step::NeedMore;
        }
        if id == EBML_HEADER && self.phase == Phase::Clusters {
            // Another file follows: watch it from its start.
            let (regions, bytes) = (self.damaged_regions, self.skipped_bytes);
            *self = MatroskaWatch {
                damaged_regions: regions,
                skipped_bytes: bytes,
                ..MatroskaWatch::new(self.offset)
            };
        }
        if SEGMENT_CHILDREN.contains(&id)
            && let Some(position) = self
                .open
                .iter()
                .rposition(|&(open, end)| open == CLUSTER && end.is_none())
        {
            // A Cluster of unknown size ends where the next Segment child starts.
            self.open.truncate(position);
        }
        if id == CLUSTER && self.phase == Phase::Header {
            self.phase = Phase::Clusters;
            self.first_cluster = Some(self.offset);
        }
        if self.phase == Phase::Clusters && !self.fits(id, size, unknown_size, end) {
            return Step::Invalid;
        }

        let descend = match self.phase {
            Phase::Clusters => matches!(id, SEGMENT | CLUSTER | BLOCK_GROUP),
            _ => MASTERS.contains(&id),
        };
        if descend {
            self.open.push((id, end));
            return Step::Consumed(header);
        }
        if unknown_size {
            return Step::Invalid;
        }
        match id {
            TIMESTAMP_SCALE | TRACK_NUMBER | CODEC_DELAY | CLUSTER_TIMESTAMP | DISCARD_PADDING => {
                let value_len = size as usize;
                if value_len > 8 {
                    return Step::Invalid;
                }
                let Some(value) = bytes.get(header..header + value_len) else {
                    return Step::NeedMore;
                };
                let unsigned = value.iter().fold(0u64, |acc, b| (acc << 8) | *b as u64);
                match id {
                    TIMESTAMP_SCALE => self.timestamp_scale_ns = unsigned.max(1),
                    TRACK_NUMBER => self.track_numbers.push(unsigned),
                    CODEC_DELAY => self.codec_delay_ns = unsigned,
                    CLUSTER_TIMESTAMP => self.cluster_timestamp = unsigned as i64,
                    _ => {
                        let shift = 64 - 8 * value_len.clamp(1, 8) as u32;
                        let signed = ((unsigned << shift) as i64) >> shift;
                        match self.block_timestamp {
                            Some(block) => self.paddings.push_back((block, signed)),
                            None => self.group_padding = Some(signed),
                        }
                    }
                }
                Step::Consumed(header + value_len)
            }
            BLOCK | SIMPLE_BLOCK => {
                // Track number (a vint), then the timestamp relative to the cluster.
                let body = &bytes[header..];
                let (track, track_len) = match read_vint(body, false) {
                    Ok(Some(vint)) => vint,
                    Ok(None) => return Step::NeedMore,
                    Err(Invalid) => return Step::Invalid,
                };
                if self.phase == Phase::Clusters
                    && !self.track_numbers.is_empty()
                    && !self.track_numbers.contains(&track)
                {
                    return Step::Invalid;
                }
                let Some(relative) = body.get(track_len..track_len + 2) else {
                    return Step::NeedMore;
                };
                if id == BLOCK {
                    let relative = i16::from_be_bytes([relative[0], relative[1]]) as i64;
                    let block = self.cluster_timestamp + relative;
                    self.block_timestamp = Some(block);
                    if let Some(padding) = self.group_padding.take() {
                        self.paddings.push_back((block, padding));
                    }
                }
                self.skip = size;
                Step::Consumed(header)
            }
            _ => {
                self.skip = size;
                Step::Consumed(header)
            }
        }
    }

    /// Whether an element can be where the walk is, inside the clusters.
    fn fits(&self, id: u32, size: u64, unknown_size: bool, end: Option<u64>) -> bool {
        let parent = self.open.last().map(|&(id, _)| id);
        let placed = match parent {
            _ if id == VOID || id == CRC32 => parent.is_some(),
            Some(BLOCK_GROUP) => BLOCK_GROUP_CHILDREN.contains(&id),
            Some(CLUSTER) => CLUSTER_CHILDREN.contains(&id),
            Some(SEGMENT) => SEGMENT_CHILDREN.contains(&id),
            _ => false,
        };
        // An element must end inside its parents.
        let parent_end = self.open.iter().rev().find_map(|&(_, end)| end);
        let inside = match (end, parent_end) {
            (Some(end), Some(parent_end)) => end <= parent_end,
            (None, _) => id == CLUSTER,
            (Some(_), None) => true,
        };
        let max_size = match id {
            BLOCK | SIMPLE_BLOCK | BLOCK_GROUP => MAX_BLOCK_SIZE,
            _ if SEGMENT_CHILDREN.contains(&id) => u64::MAX,
            _ => MAX_CLUSTER_CHILD_SIZE,
        };
        placed && inside && (unknown_size || size <= max_size)
    }

    /// Looks for where the stream can go on after damage: the next Cluster, or the next block
    /// of one of our tracks whose end is followed by another element that fits (clusters can be
    /// long: ffmpeg writes one per 5 s of audio).
    fn search(&mut self, bytes: &[u8]) -> Step {
        let mut at = 0;
        while let Some(found) = bytes[at..]
            .iter()
            .position(|b| matches!(*b, 0x1F | 0xA3 | 0xA0))
        {
            let candidate = at + found;
            let here = &bytes[candidate..];
            let check = if here[0] == 0x1F {
                cluster_starts_at(here).map(|()| None)
            } else {
                self.block_with_follower_at(here).map(|()| {
                    // Inside a cluster: a cluster of unknown size with the last timestamp seen
                    // lets the reader take the blocks that follow.
                    let mut prefix = CLUSTER.to_be_bytes().to_vec();
                    prefix.push(0xFF);
                    prefix.extend([CLUSTER_TIMESTAMP as u8, 0x88]);
                    prefix.extend((self.cluster_timestamp as u64).to_be_bytes());
                    Some(prefix)
                })
            };
            match check {
                Check::Yes(prefix) => {
                    self.skipped_bytes += candidate as u64;
                    self.resume(self.offset + candidate as u64, prefix);
                    return Step::Consumed(candidate);
                }
                Check::No => at = candidate + 1,
                Check::NeedMore if self.at_end => at = candidate + 1,
                Check::NeedMore => {
                    self.skipped_bytes += candidate as u64;
                    return Step::Consumed(candidate);
                }
            }
        }
        self.skipped_bytes += bytes.len() as u64;
        Step::Consumed(bytes.len())
    }

    fn resume(&mut self, at: u64, prefix: Option<Vec<u8>>) {
        if let Some(damage) = self.damage.as_mut() {
            damage.resume_at = Some(at);
        }
        self.phase = Phase::Clusters;
        // Back to the Segment level, or into a cluster of unknown size for the prefix's.
        let segment = self.open.iter().position(|&(id, _)| id == SEGMENT);
        self.open.truncate(segment.map_or(0, |p| p + 1));
        if prefix.is_some() {
            self.open.push((CLUSTER, None));
        }
        self.resume_prefix = prefix.unwrap_or_default();
        self.skip = 0;
        self.block_timestamp = None;
        self.group_padding = None;
    }

    /// A block of ours at `bytes[0]`, followed by an element that can follow a block (another
    /// block, a Cluster or another Segment child), or by the end of the stream.
    fn block_with_follower_at(&self, bytes: &[u8]) -> Check<()> {
        let len = match self.block_at(bytes) {
            Check::Yes(len) => len,
            Check::No => return Check::No,
            Check::NeedMore => return Check::NeedMore,
        };
        let Some(next) = bytes.get(len..) else {
            return Check::NeedMore;
        };
        if next.is_empty() {
            return if self.at_end {
                Check::Yes(())
            } else {
                Check::NeedMore
            };
        }
        let follower = match self.block_at(next) {
            Check::No => element_header(next).map(|(id, _, _)| id),
            other => other.map(|_| BLOCK),
        };
        match follower {
            Check::Yes(id) if id == BLOCK || id == VOID || SEGMENT_CHILDREN.contains(&id) => {
                Check::Yes(())
            }
            // The stream ends inside the follower: the block itself is complete.
            Check::NeedMore if self.at_end => Check::Yes(()),
            Check::NeedMore => Check::NeedMore,
            _ => Check::No,
        }
    }

    /// A SimpleBlock, or a BlockGroup starting with its Block, of one of our tracks at
    /// `bytes[0]`; yields the element's length.
    fn block_at(&self, bytes: &[u8]) -> Check<usize> {
        let (id, size, header) = match element_header(bytes) {
            Check::Yes(found) => found,
            Check::No => return Check::No,
            Check::NeedMore => return Check::NeedMore,
        };
        if !(4..=MAX_RESYNC_BLOCK_SIZE).contains(&size) {
            return Check::No;
        }
        let body = &bytes[header..];
        let fits = match id {
            // Flags: reserved bits 0x70.
            SIMPLE_BLOCK => self.block_body_fits(body, 0x70),
            BLOCK_GROUP => match element_header(body) {
                Check::Yes((BLOCK, block_size, block_header))
                    if block_header as u64 + block_size <= size =>
                {
                    // Block flags: reserved bits 0xF1.
                    self.block_body_fits(&body[block_header..], 0xF1)
                }
                Check::NeedMore => Check::NeedMore,
                _ => Check::No,
            },
            _ => Check::No,
        };
        match fits {
            Check::Yes(()) => Check::Yes(header + size as usize),
            Check::No => Check::No,
            Check::NeedMore => Check::NeedMore,
        }
    }

    /// A block body: one of our track numbers, a 16-bit timestamp, flags without reserved bits.
    fn block_body_fits(&self, body: &[u8], reserved_flags: u8) -> Check<()> {
        let (track, track_len) = match read_vint(body, false) {
            Ok(Some(vint)) => vint,
            Ok(None) => return Check::NeedMore,
            Err(Invalid) => return Check::No,
        };
        if !self.track_numbers.contains(&track) {
            return Check::No;
        }
        match body.get(track_len + 2) {
            Some(flags) if flags & reserved_flags == 0 => Check::Yes(()),
            Some(_) => Check::No,
            None => Check::NeedMore,
        }
    }
}

/// A check that may need more bytes to decide.
enum Check<T> {
    Yes(T),
    No,
    NeedMore,
}

impl<T> Check<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Check<U> {
        match self {
            Check::Yes(value) => Check::Yes(f(value)),
            Check::No => Check::No,
            Check::NeedMore => Check::NeedMore,
        }
    }
}

/// An element header of known size at `bytes[0]`: (id, size, header length).
fn element_header(bytes: &[u8]) -> Check<(u32, u64, usize)> {
    let (id, id_len) = match read_vint(bytes, true) {
        Ok(Some((id, len))) if len <= 4 => (id as u32, len),
        Ok(Some(_)) | Err(Invalid) => return Check::No,
        Ok(None) => return Check::NeedMore,
    };
    match read_vint(&bytes[id_len..], false) {
        Ok(Some((size, size_len))) if size != (1u64 << (7 * size_len)) - 1 => {
            Check::Yes((id, size, id_len + size_len))
        }
        Ok(Some(_)) | Err(Invalid) => Check::No,
        Ok(None) => Check::NeedMore,
    }
}

/// Whether a Cluster starts at `bytes[0]`: its ID, a valid size, then the cluster's Timestamp,
/// which muxers write first.
fn cluster_starts_at(bytes: &[u8]) -> Check<()> {
    let id = CLUSTER.to_be_bytes();
    let prefix = bytes.len().min(id.len());
    if bytes[..prefix] != id[..prefix] {
        return Check::No;
    }
    let Some(after_id) = bytes.get(id.len()..) else {
        return Check::NeedMore;
    };
    let size_len = match read_vint(after_id, false) {
        Ok(Some((_, len))) => len,
        Ok(None) => return Check::NeedMore,
        Err(Invalid) => return Check::No,
    };
    match element_header(&after_id[size_len..]) {
        Check::Yes((CLUSTER_TIMESTAMP, 1..=8, _)) => Check::Yes(()),
        Check::NeedMore => Check::NeedMore,
        _ => Check::No,
    }
}

/// The watcher on the byte queue (see `watch`): it sees every byte as it arrives, ends reads
/// where damage starts, and once the decoder lets go of that reader (`pass_damage`), drops the
/// bytes up to where the stream goes on and inserts the cluster header a new reader needs there.
#[derive(Debug)]
pub struct MkvWatch {
    watch: MatroskaWatch,
    /// Stream offset up to which bytes went to `watch`.
    fed_until: u64,
    /// The decoder let go of the reader that ended at the damage: the bytes up to the next
    /// cluster are dropped.
    damage_passed: bool,
    /// Bytes handed out before the next stream bytes: the cluster header that lets a new reader
    /// go on at a block after damage.
    inserted: Vec<u8>,
}

impl MkvWatch {
    /// Watches the stream from its offset `position` on.
    pub fn new(position: u64) -> Self {
        MkvWatch {
            watch: MatroskaWatch::new(position),
            fed_until: position,
            damage_passed: false,
            inserted: Vec::new(),
        }
    }

    /// See [`MatroskaWatch::padding_for`].
    pub fn padding_for(&mut self, packet_ts: i64) -> Option<i64> {
        self.watch.padding_for(packet_ts)
    }

    /// See [`MatroskaWatch::codec_delay_ns`].
    pub fn codec_delay_ns(&self) -> u64 {
        self.watch.codec_delay_ns()
    }

    /// See [`MatroskaWatch::first_cluster`].
    pub fn first_cluster(&self) -> Option<u64> {
        self.watch.first_cluster()
    }

    /// See [`MatroskaWatch::take_skipped`].
    pub fn take_skipped(&mut self) -> (u32, u64) {
        self.watch.take_skipped()
    }

    /// True when damage starts at stream offset `position` and reads end there.
    pub fn at_damage(&self, position: u64) -> bool {
        !self.damage_passed
            && self
                .watch
                .damage()
                .is_some_and(|damage| damage.from == position)
    }

    /// Lets reads go on from the next cluster after the damage: the bytes before it are dropped.
    pub fn pass_damage(&mut self) {
        self.damage_passed = true;
    }
}

impl ByteWatch for MkvWatch {
    fn ahead(&mut self, queue: &mut Queue<'_>) -> Ahead {
        // The bytes not seen yet.
        let (front, back) = queue.slices_from(self.fed_until);
        self.watch.observe(front);
        if !back.is_empty() {
            self.watch.observe(back);
        }
        self.fed_until = queue.end();
        if queue.closed() {
            self.watch.end_of_stream();
        }
        // After damage the decoder let go of: drop up to where the stream goes on.
        let mut position = queue.position();
        if self.damage_passed {
            match self.watch.damage() {
                None => self.damage_passed = false,
                Some(damage) => {
                    let target = match damage.resume_at {
                        Some(at) => at,
                        // No cluster will come.
                        None if queue.closed() => queue.end(),
                        None => self.watch.searched_until(),
                    };
                    position = position.max(target.min(queue.end()));
                    if damage.resume_at == Some(position) {
                        self.damage_passed = false;
                        self.inserted = self.watch.resumed();
                    }
                }
            }
        }
        let read_until = match self.watch.damage() {
            Some(damage) if !self.damage_passed => {
                return Ahead {
                    drop_until: position,
                    read_until: damage.from,
                    stop: true,
                };
            }
            // Still dropping up to where the stream goes on.
            Some(_) => position,
            None if queue.closed() => u64::MAX,
            None => self.watch.validated_until(),
        };
        Ahead {
            drop_until: position,
            read_until,
            stop: false,
        }
    }

    fn insert(&mut self, buf: &mut [u8]) -> usize {
        let count = buf.len().min(self.inserted.len());
        buf[..count].copy_from_slice(&self.inserted[..count]);
        self.inserted.drain(..count);
        count
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
            let mut padding = MatroskaWatch::new(0);
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
        let mut padding = MatroskaWatch::new(0);
        padding.observe(&[0u8; 100]);
        padding.observe(&webm(1));
        assert_eq!(padding.padding_for(3013), None);
    }

    fn simple_block(relative: i16, fill: u8) -> Vec<u8> {
        let mut body = vec![0x81];
        body.extend(relative.to_be_bytes());
        body.push(0x80);
        body.extend([fill; 60]);
        element(SIMPLE_BLOCK, &body)
    }

    /// A stream with track 1 and clusters at timestamps 0, 1000, ... holding `blocks` blocks
    /// each; returns it with the offsets of every cluster and block.
    pub(crate) fn stream_with_clusters(
        clusters: usize,
        blocks: usize,
    ) -> (Vec<u8>, Vec<u64>, Vec<u64>) {
        let head = [
            element(EBML_HEADER, b"webm header"),
            // Segment of unknown size: its children follow.
            vec![0x18, 0x53, 0x80, 0x67, 0xFF],
            element(INFO, &element(TIMESTAMP_SCALE, &1_000_000u32.to_be_bytes())),
            element(TRACKS, &element(TRACK_ENTRY, &element(TRACK_NUMBER, &[1]))),
        ]
        .concat();
        let mut bytes = head;
        let (mut cluster_offsets, mut block_offsets) = (Vec::new(), Vec::new());
        for c in 0..clusters {
            let timestamp = (c as u16 * 1000).to_be_bytes();
            let mut body = element(CLUSTER_TIMESTAMP, &timestamp);
            let cluster_header = 4 + 8;
            let mut offsets = Vec::new();
            for b in 0..blocks {
                offsets.push(cluster_header + body.len());
                body.extend(simple_block(b as i16 * 20, b as u8));
            }
            cluster_offsets.push(bytes.len() as u64);
            block_offsets.extend(offsets.iter().map(|o| (bytes.len() + o) as u64));
            bytes.extend(element(CLUSTER, &body));
        }
        (bytes, cluster_offsets, block_offsets)
    }

    fn watch_in_chunks(bytes: &[u8], chunk: usize) -> MatroskaWatch {
        let mut watch = MatroskaWatch::new(0);
        for part in bytes.chunks(chunk) {
            watch.observe(part);
        }
        watch
    }

    #[test]
    fn a_clean_stream_is_validated_to_the_end() {
        let (bytes, clusters, _) = stream_with_clusters(3, 5);
        for chunk in [1, 7, bytes.len()] {
            let watch = watch_in_chunks(&bytes, chunk);
            assert_eq!(watch.damage(), None, "chunk {chunk}");
            assert_eq!(watch.first_cluster(), Some(clusters[0]));
            assert_eq!(watch.validated_until(), bytes.len() as u64, "chunk {chunk}");
        }
    }

    #[test]
    fn damage_in_a_cluster_goes_on_at_the_next_good_block() {
        let (mut bytes, _, blocks) = stream_with_clusters(2, 6);
        // Zeroes over the header of the second block and into the third.
        let from = blocks[1] as usize;
        bytes[from..from + 80].fill(0);
        for chunk in [1, 5, bytes.len()] {
            let mut watch = watch_in_chunks(&bytes, chunk);
            let damage = watch.damage().expect("damage found");
            assert_eq!(damage.from, blocks[1], "chunk {chunk}");
            // The third block's header is gone too: the fourth is the first good one.
            assert_eq!(damage.resume_at, Some(blocks[3]), "chunk {chunk}");
            assert_eq!(watch.validated_until(), blocks[3]);
            assert_eq!(watch.take_skipped(), (1, blocks[3] - blocks[1]));
            // The reader gets a cluster of unknown size with the cluster's timestamp first.
            let prefix = watch.resumed();
            assert_eq!(
                prefix,
                [
                    &CLUSTER.to_be_bytes()[..],
                    &[0xFF, 0xE7, 0x88],
                    &0u64.to_be_bytes()
                ]
                .concat()
            );
            assert_eq!(watch.damage(), None);
            assert_eq!(watch.validated_until(), bytes.len() as u64, "chunk {chunk}");
        }
    }

    #[test]
    fn damage_to_the_end_of_a_cluster_goes_on_at_the_next_cluster() {
        let (mut bytes, clusters, blocks) = stream_with_clusters(3, 4);
        let from = blocks[2] as usize;
        let to = clusters[1] as usize;
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for byte in &mut bytes[from..to] {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            // Noise without the bytes that start blocks or clusters.
            *byte = match rng as u8 {
                0x1F | 0xA0 | 0xA3 => 0x55,
                other => other,
            };
        }
        let mut watch = watch_in_chunks(&bytes, 3);
        let damage = watch.damage().expect("damage found");
        assert!(damage.from >= blocks[2] && damage.from < clusters[1]);
        assert_eq!(damage.resume_at, Some(clusters[1]));
        // A real cluster follows: nothing to insert.
        assert!(watch.resumed().is_empty());
        assert_eq!(watch.validated_until(), bytes.len() as u64);
    }

    #[test]
    fn damage_without_a_way_on_is_reported_at_the_end() {
        let (mut bytes, _, blocks) = stream_with_clusters(1, 4);
        let from = blocks[2] as usize;
        let len = bytes.len();
        bytes[from..len].fill(0x55);
        let mut watch = watch_in_chunks(&bytes, 16);
        assert_eq!(watch.damage().map(|d| d.resume_at), Some(None));
        // Still searching: nothing reported yet.
        assert_eq!(watch.take_skipped(), (0, 0));
        watch.end_of_stream();
        assert_eq!(watch.take_skipped(), (1, (len - from) as u64));
    }

    #[test]
    fn non_matroska_input_holds_nothing_back() {
        let mut watch = MatroskaWatch::new(0);
        watch.observe(b"ID3\x04\x00 and then some MPEG audio");
        assert_eq!(watch.validated_until(), u64::MAX);
        assert_eq!(watch.damage(), None);
    }

    #[test]
    fn padding_before_its_block_is_found() {
        // GStreamer's webmmux writes DiscardPadding before the Block in a BlockGroup.
        let mut body = element(DISCARD_PADDING, &13_500_000i32.to_be_bytes());
        let mut block = vec![0x81];
        block.extend(20i16.to_be_bytes());
        block.push(0);
        block.extend([0xAB; 40]);
        body.extend(element(BLOCK, &block));
        let cluster = [
            element(CLUSTER_TIMESTAMP, &[0x0B, 0xB8]),
            element(BLOCK_GROUP, &body),
        ]
        .concat();
        let bytes = [
            element(EBML_HEADER, b"webm header"),
            element(SEGMENT, &element(CLUSTER, &cluster)),
        ]
        .concat();
        let mut watch = watch_in_chunks(&bytes, 3);
        assert_eq!(watch.padding_for(3020), Some(13_500_000));
    }
    /// Reads `stream`, pushed in pieces of `chunk` bytes, through the watcher as the decoder
    /// does: to the damage, then (passing it) to the end. Returns both parts.
    fn read_around_damage(watch: &mut MkvWatch, stream: &[u8], chunk: usize) -> Vec<Vec<u8>> {
        use crate::watch::testing::{Feed, Read};
        let mut feed = Feed::default();
        let mut parts = vec![Vec::new()];
        let mut drive = |feed: &mut Feed, parts: &mut Vec<Vec<u8>>| {
            loop {
                let (bytes, end) = feed.read_run(watch, 5);
                parts.last_mut().unwrap().extend(bytes);
                match end {
                    Read::Stop => {
                        assert!(watch.at_damage(feed.position()));
                        watch.pass_damage();
                        assert!(!watch.at_damage(feed.position()));
                        parts.push(Vec::new());
                    }
                    _ => return,
                }
            }
        };
        for part in stream.chunks(chunk) {
            feed.push(part);
            drive(&mut feed, &mut parts);
        }
        feed.close();
        drive(&mut feed, &mut parts);
        parts
    }

    #[test]
    fn on_the_queue_reads_end_at_damage_and_go_on_at_the_next_block() {
        let (mut bytes, _, blocks) = stream_with_clusters(2, 6);
        let from = blocks[1] as usize;
        bytes[from..from + 80].fill(0);
        let resume = blocks[3] as usize;
        for chunk in [1, 7, bytes.len()] {
            let mut watch = MkvWatch::new(0);
            let parts = read_around_damage(&mut watch, &bytes, chunk);
            // A cluster header with the cluster's timestamp (0) goes in before the fourth block.
            let mut after = vec![0x1F, 0x43, 0xB6, 0x75, 0xFF, 0xE7, 0x88];
            after.extend(0u64.to_be_bytes());
            after.extend(&bytes[resume..]);
            assert_eq!(parts, [bytes[..from].to_vec(), after], "chunk {chunk}");
            assert_eq!(watch.take_skipped(), (1, (resume - from) as u64));
        }
    }

    #[test]
    fn on_the_queue_a_clean_stream_goes_through_with_its_padding() {
        let stream = webm(13_500_000);
        for chunk in [1, 5, stream.len()] {
            let mut watch = MkvWatch::new(0);
            let parts = read_around_damage(&mut watch, &stream, chunk);
            assert_eq!(parts, std::slice::from_ref(&stream), "chunk {chunk}");
            assert!(watch.first_cluster().is_some());
            assert_eq!(watch.padding_for(3013), Some(13_500_000), "chunk {chunk}");
            assert_eq!(watch.take_skipped(), (0, 0));
        }
    }

    #[test]
    fn on_the_queue_other_input_goes_through() {
        let stream: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut watch = MkvWatch::new(0);
        assert_eq!(read_around_damage(&mut watch, &stream, 13), [stream]);
    }
}
