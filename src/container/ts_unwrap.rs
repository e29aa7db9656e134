//! Unwraps the audio of an MPEG transport stream (`.ts`, HLS segments, DVB and IPTV captures):
//! the reader gets the audio elementary stream alone: ADTS AAC, LOAS/LATM AAC, MPEG audio,
//! AC-3 or E-AC-3, which the readers of those formats take as they are, or Opus access units, which
//! `opus_units` reads.
//!
//! symphonia has no MPEG-TS reader. [`TsWatch`], a `ByteWatch` on the byte queue (see `watch`),
//! recognises a stream that starts with three packets in a row (188 bytes, or 192 with the
//! 4-byte time code of M2TS), reads the program table (PAT) and the first program's map (PMT),
//! picks its first audio stream this element decodes (or the one `audio-track` names) and, for
//! each packet, drops what is not that stream's payload: packet headers, adaptation fields, PES
//! headers, other streams, tables. A program whose audio is all in codecs this element does
//! not decode (DTS) or that has no audio makes reads end, and
//! [`TsWatch::problem`] says why. Tables that span packets, and packet loss (the audio reader
//! resynchronises), are left as they come.

use crate::container::{mpeg_audio, mpeg_split};
use crate::watch::{Ahead, ByteWatch, Queue};

const SYNC: u8 = 0x47;
const PAT_PID: u16 = 0;

/// Stream types (ISO/IEC 13818-1, table 2-34, and ATSC A/52) and what they are.
fn stream_type_name(stream_type: u8) -> Option<(&'static str, bool)> {
    Some(match stream_type {
        0x03 => ("MPEG-1 audio", true),
        0x04 => ("MPEG-2 audio", true),
        0x0f => ("AAC (ADTS)", true),
        0x11 => ("AAC (LATM)", true),
        0x81 => ("AC-3", true),
        0x87 => ("E-AC-3", true),
        _ => return None,
    })
}

/// The descriptors of a PMT entry as `(tag, body)`, up to the first that does not fit.
fn descriptors(mut bytes: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let [tag, len, rest @ ..] = bytes else {
            return None;
        };
        let body = rest.get(..usize::from(*len))?;
        bytes = &rest[usize::from(*len)..];
        Some((*tag, body))
    })
}

/// The audio codec a private-data stream (type 0x06, as DVB muxers write AC-3, E-AC-3, DTS
/// and Opus) carries, from its descriptors; of them, Opus, AC-3 and E-AC-3 are decoded here.
fn private_audio_name(bytes: &[u8]) -> Option<&'static str> {
    descriptors(bytes).find_map(|(tag, body)| match (tag, body) {
        (0x6a, _) => Some("AC-3"),
        (0x7a, _) => Some("E-AC-3"),
        (0x7b, _) => Some("DTS"),
        (0x7f, [0x80, ..]) => Some("Opus"),
        (0x05, [a, b, c, d, ..]) => match &[*a, *b, *c, *d] {
            b"AC-3" => Some("AC-3"),
            b"EAC3" => Some("E-AC-3"),
            b"Opus" => Some("Opus"),
            b"DTS1" | b"DTS2" | b"DTS3" => Some("DTS"),
            _ => None,
        },
        _ => None,
    })
}

/// The `channel_config_code` of an Opus stream, from the DVB extension descriptor (tag 0x7f,
/// extension tag 0x80) that muxers write beside the `Opus` registration; stereo when there is
/// none, as one Opus stream decodes to two channels whatever it holds.
fn opus_channel_config(bytes: &[u8]) -> u8 {
    descriptors(bytes)
        .find_map(|(tag, body)| match (tag, body) {
            (0x7f, [0x80, code, ..]) => Some(*code),
            _ => None,
        })
        .unwrap_or(2)
}

/// What the unwrapped audio stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsAudio {
    /// MPEG audio, ADTS or LOAS AAC, AC-3 or E-AC-3: frames with their own headers, which
    /// their readers find.
    SelfFramed,
    /// Opus access units behind their control headers, with the stream's `channel_config_code`.
    Opus { channel_config: u8 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// At the stream's start: is it a transport stream?
    Detect,
    /// Unwrapping packets of this size, whose sync byte is this far in.
    Unwrap { size: usize, sync_at: usize },
    /// Not a transport stream, or no audio to unwrap.
    Off,
}

#[derive(Debug)]
pub struct TsWatch {
    phase: Phase,
    /// The audio stream wanted: the n-th one this element decodes.
    audio_track: usize,
    pmt_pid: Option<u16>,
    audio_pid: Option<u16>,
    /// The codec of `audio_pid`'s stream.
    audio: TsAudio,
    /// Stream offset of the next packet to look at.
    next_packet: u64,
    /// Why there is nothing to unwrap, once the program map said so.
    problem: Option<String>,
    /// The audio stream's last continuity counter, to find lost and repeated packets.
    continuity: Option<u8>,
    /// Damage since the last `take_damage`: audio packets lost or flagged as damaged, and bytes
    /// skipped to find packet sync again.
    lost_packets: u32,
    skipped_bytes: u64,
}

impl TsWatch {
    /// A watcher for a stream whose first byte is at `position`.
    pub fn new(position: u64, audio_track: usize) -> Self {
        TsWatch {
            phase: Phase::Detect,
            audio_track,
            pmt_pid: None,
            audio_pid: None,
            audio: TsAudio::SelfFramed,
            next_packet: position,
            problem: None,
            continuity: None,
            lost_packets: 0,
            skipped_bytes: 0,
        }
    }

    /// Unwrapping a transport stream: the bytes the reader gets are not the stream's.
    pub fn is_unwrapping(&self) -> bool {
        matches!(self.phase, Phase::Unwrap { .. })
    }

    /// Audio packets lost (by their continuity counters) or flagged as damaged, and bytes skipped
    /// to find packet sync, since the last call: the audio reader resynchronises over them
    /// without a word.
    pub fn take_damage(&mut self) -> (u32, u64) {
        (
            std::mem::take(&mut self.lost_packets),
            std::mem::take(&mut self.skipped_bytes),
        )
    }

    /// The codec of the audio stream unwrapped, once the program map has named it.
    pub fn audio(&self) -> Option<TsAudio> {
        self.audio_pid.map(|_| self.audio)
    }

    /// A transport stream with no audio this element decodes: what it holds instead.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Decides at the stream's start; false when more bytes are needed.
    fn detect(&mut self, bytes: &[u8], closed: bool) -> bool {
        let synced = |size: usize, sync_at: usize| {
            (0..3).all(|i| bytes.get(sync_at + i * size) == Some(&SYNC))
        };
        if synced(188, 0) {
            self.phase = Phase::Unwrap {
                size: 188,
                sync_at: 0,
            };
        } else if synced(192, 4) {
            self.phase = Phase::Unwrap {
                size: 192,
                sync_at: 4,
            };
        } else if bytes.len() < 3 * 192 && !closed && could_be_ts(bytes) {
            return false;
        } else if starts_like_another_format(bytes) {
            self.phase = Phase::Off;
        } else {
            match find_packets_after_a_cut(bytes, closed) {
                CutSync::Found {
                    size,
                    sync_at,
                    offset,
                } => {
                    // The stream was cut inside a packet: its tail is no use.
                    self.next_packet += offset as u64;
                    self.phase = Phase::Unwrap { size, sync_at };
                }
                CutSync::Undecided => return false,
                CutSync::NotTs => self.phase = Phase::Off,
            }
        }
        true
    }

    /// Reads a PAT or PMT section from a packet's payload.
    fn table(&mut self, pid: u16, payload: &[u8]) {
        // A section starts where the pointer field says; only sections that start in a packet
        // and fit in it are read.
        let Some((&pointer, rest)) = payload.split_first() else {
            return;
        };
        let Some(section) = rest.get(usize::from(pointer)..) else {
            return;
        };
        if section.len() < 3 {
            return;
        }
        let section_len = usize::from(u16::from_be_bytes([section[1], section[2]]) & 0x0fff);
        // Header (8 bytes after the length field's end is 3 + 5), entries, then the CRC-32.
        let Some(section) = section.get(..3 + section_len) else {
            return;
        };
        if section_len < 9 {
            return;
        }
        let body_end = section.len() - 4;
        match section[0] {
            0x00 if pid == PAT_PID => {
                self.pmt_pid = section[8..body_end]
                    .chunks_exact(4)
                    .find(|entry| u16::from_be_bytes([entry[0], entry[1]]) != 0)
                    .map(|entry| u16::from_be_bytes([entry[2], entry[3]]) & 0x1fff);
            }
            0x02 if Some(pid) == self.pmt_pid && self.audio_pid.is_none() => {
                if section.len() < 16 {
                    return;
                }
                let info_len = usize::from(u16::from_be_bytes([section[10], section[11]]) & 0x0fff);
                let mut at = 12 + info_len;
                let mut decodable = Vec::new();
                let mut other_audio = Vec::new();
                while at + 5 <= body_end {
                    let entry = &section[at..body_end];
                    let stream_type = entry[0];
                    let es_pid = u16::from_be_bytes([entry[1], entry[2]]) & 0x1fff;
                    let info_len = usize::from(u16::from_be_bytes([entry[3], entry[4]]) & 0x0fff);
                    let descriptors = entry.get(5..5 + info_len).unwrap_or_default();
                    at += 5 + info_len;
                    let kind = match stream_type {
                        // Private data: audio only when a descriptor says so.
                        0x06 => private_audio_name(descriptors)
                            .map(|name| (name, matches!(name, "Opus" | "AC-3" | "E-AC-3"))),
                        _ => stream_type_name(stream_type),
                    };
                    match kind {
                        Some(("Opus", true)) => {
                            let channel_config = opus_channel_config(descriptors);
                            decodable.push((es_pid, TsAudio::Opus { channel_config }));
                        }
                        Some((_, true)) => decodable.push((es_pid, TsAudio::SelfFramed)),
                        Some((name, false)) => other_audio.push(name),
                        None => {}
                    }
                }
                if let Some(&(pid, audio)) = decodable.get(self.audio_track) {
                    self.audio_pid = Some(pid);
                    self.audio = audio;
                }
                if self.audio_pid.is_none() {
                    self.problem = Some(if !decodable.is_empty() {
                        format!(
                            "audio-track={n} asks for audio track {n} (counted from 0) but the \
                             stream has {} (an MPEG transport stream)",
                            decodable.len(),
                            n = self.audio_track
                        )
                    } else if other_audio.is_empty() {
                        "the MPEG transport stream's program has no audio stream".into()
                    } else {
                        format!(
                            "the MPEG transport stream's audio is {}, which this element does \
                             not decode (it decodes MPEG audio, ADTS and LATM AAC, AC-3, E-AC-3 and \
                             Opus in transport streams)",
                            other_audio.join(", ")
                        )
                    });
                }
            }
            _ => {}
        }
    }

    /// Walks the packets from `next_packet` on and answers where the audio payload is.
    fn unwrap(&mut self, queue: &mut Queue<'_>, size: usize, sync_at: usize) -> Ahead {
        let closed = queue.closed();
        let end = queue.end();
        loop {
            if self.problem.is_some() {
                // Nothing will come: end reads, so the decoder says why at once.
                return Ahead {
                    drop_until: end,
                    read_until: end,
                    stop: true,
                };
            }
            let start = self.next_packet;
            if start + size as u64 > end {
                // An incomplete packet: wait for the rest, or drop it at the end.
                let drop_until = if closed { end } else { start };
                return Ahead {
                    drop_until,
                    read_until: drop_until,
                    stop: false,
                };
            }
            let bytes = queue.contiguous_from(start);
            let packet = &bytes[sync_at..size];
            self.next_packet = start + size as u64;
            if packet[0] != SYNC {
                // Lost sync: find three packets in a row again.
                let skip = (1..bytes.len())
                    .find(|&i| {
                        (0..3).all(|k| bytes.get(i + sync_at + k * size).is_none_or(|&b| b == SYNC))
                    })
                    .unwrap_or(bytes.len());
                self.next_packet = start + skip as u64;
                self.skipped_bytes += skip as u64;
                continue;
            }
            let pid = u16::from_be_bytes([packet[1], packet[2]]) & 0x1fff;
            let unit_start = packet[1] & 0x40 != 0;
            let control = (packet[3] >> 4) & 0x3;
            let ours = Some(pid) == self.audio_pid;
            if packet[1] & 0x80 != 0 {
                // The transport flagged it as damaged.
                self.lost_packets += u32::from(ours);
                continue;
            }
            if control & 1 == 0 {
                // No payload.
                continue;
            }
            if ours {
                let counter = packet[3] & 0x0f;
                // The adaptation field may say the counter starts over.
                let restart = control & 2 != 0 && packet[4] > 0 && packet[5] & 0x80 != 0;
                match self.continuity {
                    // A packet may be sent twice; it is used once.
                    Some(last) if counter == last && !restart => continue,
                    Some(last) if !restart && counter != (last + 1) & 0x0f => {
                        self.lost_packets +=
                            u32::from(counter.wrapping_sub(last.wrapping_add(1)) & 0x0f);
                    }
                    _ => {}
                }
                self.continuity = Some(counter);
            }
            let mut payload_at = 4;
            if control & 2 != 0 {
                payload_at += 1 + usize::from(packet[4]);
            }
            let Some(payload) = packet.get(payload_at..) else {
                continue;
            };
            if !ours {
                if unit_start && (pid == PAT_PID || Some(pid) == self.pmt_pid) {
                    self.table(pid, payload);
                }
                continue;
            }
            if unit_start {
                // A PES header: start code, stream id, length, flags, its own length.
                if payload.len() < 9 || payload[..3] != [0, 0, 1] {
                    continue;
                }
                payload_at += 9 + usize::from(payload[8]);
            }
            if payload_at >= size - sync_at {
                continue;
            }
            return Ahead {
                drop_until: start + (sync_at + payload_at) as u64,
                read_until: self.next_packet,
                stop: false,
            };
        }
    }
}

/// Whether `bytes` may start a transport stream (as far as they go).
fn could_be_ts(bytes: &[u8]) -> bool {
    bytes.first().is_none_or(|&b| b == SYNC) || bytes.get(4).is_none_or(|&b| b == SYNC)
}

/// Whether `bytes` start as a file of another format does (a magic number, or an MPEG audio or
/// ADTS frame header), so the stream is not searched for transport packets after a cut: that
/// would hold such streams back by up to a few packets' worth of bytes.
fn starts_like_another_format(bytes: &[u8]) -> bool {
    const MAGICS: [&[u8]; 13] = [
        b"ID3",
        b"RIFF",
        b"RIFX",
        b"RF64",
        b"BW64",
        b"riff",
        b"OggS",
        b"fLaC",
        b"FORM",
        b"caff",
        b".snd",
        b"APETAGEX",
        &[0x1a, 0x45, 0xdf, 0xa3],
    ];
    if MAGICS.iter().any(|magic| bytes.starts_with(magic)) {
        return true;
    }
    if bytes.get(4..8).is_some_and(|kind| {
        [b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide"].contains(&kind.try_into().unwrap())
    }) {
        return true;
    }
    // An MPEG audio frame header (free format included) or an ADTS one, as their readers parse
    // them: the 0xff stuffing of an adaptation field is neither.
    mpeg_audio::FrameHeader::parse(bytes).is_some() || mpeg_split::starts_with_adts_header(bytes)
}

/// Sync bytes in a row that make a stream cut inside a packet a transport stream: more than at
/// a packet boundary, as any byte may be the sync byte then.
const SYNCS_AFTER_A_CUT: usize = 5;

#[derive(Debug, PartialEq, Eq)]
enum CutSync {
    /// Packets of `size` bytes, their sync byte `sync_at` in, start `offset` bytes in.
    Found {
        size: usize,
        sync_at: usize,
        offset: usize,
    },
    /// Some offset still looks like packets so far.
    Undecided,
    NotTs,
}

/// A transport stream cut inside a packet (a capture or download that did not start at a packet
/// boundary): [`SYNCS_AFTER_A_CUT`] sync bytes a packet apart, within the first packet.
fn find_packets_after_a_cut(bytes: &[u8], closed: bool) -> CutSync {
    let mut undecided = false;
    for (size, sync_at) in [(188, 0), (192, 4)] {
        for offset in 1..size {
            let mut syncs = (0..SYNCS_AFTER_A_CUT).map(|i| bytes.get(offset + sync_at + i * size));
            if syncs.clone().all(|b| b == Some(&SYNC)) {
                return CutSync::Found {
                    size,
                    sync_at,
                    offset,
                };
            }
            undecided |= syncs.all(|b| b.is_none_or(|&b| b == SYNC));
        }
    }
    if undecided && !closed {
        CutSync::Undecided
    } else {
        CutSync::NotTs
    }
}

impl ByteWatch for TsWatch {
    fn ahead(&mut self, queue: &mut Queue<'_>) -> Ahead {
        let position = queue.position();
        if self.phase == Phase::Detect {
            let closed = queue.closed();
            if !self.detect(queue.contiguous_from(position), closed) {
                return Ahead::until(position);
            }
            if let Phase::Unwrap { size, sync_at } = self.phase {
                // From the first packet, past the cut one's tail if the stream starts inside.
                return self.unwrap(queue, size, sync_at);
            }
        }
        match self.phase {
            // Inside the payload of the packet last let through, which ends where the next
            // packet starts.
            Phase::Unwrap { .. } if position < self.next_packet => Ahead::until(self.next_packet),
            Phase::Unwrap { size, sync_at } => self.unwrap(queue, size, sync_at),
            _ => Ahead::ANY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::testing::Feed;

    /// A 188-byte packet of `pid` with `payload` (padded with an adaptation field when short).
    fn packet(pid: u16, unit_start: bool, payload: &[u8]) -> Vec<u8> {
        assert!(payload.len() <= 184);
        let mut p = vec![
            SYNC,
            (u8::from(unit_start) << 6) | (pid >> 8) as u8,
            pid as u8,
            0x10,
        ];
        if payload.len() < 184 {
            p[3] = 0x30;
            let stuffing = 184 - payload.len() - 1;
            p.push(stuffing as u8);
            if stuffing > 0 {
                p.push(0);
                p.extend(std::iter::repeat_n(0xff, stuffing - 1));
            }
        }
        p.extend_from_slice(payload);
        assert_eq!(p.len(), 188);
        p
    }

    fn section(table_id: u8, extension: u16, body: &[u8]) -> Vec<u8> {
        let len = 5 + body.len() + 4;
        let mut s = vec![0, table_id, 0xb0 | (len >> 8) as u8, len as u8];
        s.extend_from_slice(&extension.to_be_bytes());
        s.extend_from_slice(&[0xc1, 0, 0]);
        s.extend_from_slice(body);
        // The CRC-32 is not checked.
        s.extend_from_slice(&[0; 4]);
        s
    }

    fn pat(pmt_pid: u16) -> Vec<u8> {
        let mut body = 1u16.to_be_bytes().to_vec();
        body.extend_from_slice(&(0xe000 | pmt_pid).to_be_bytes());
        packet(0, true, &section(0, 1, &body))
    }

    fn pmt(pmt_pid: u16, streams: &[(u8, u16)]) -> Vec<u8> {
        let streams: Vec<(u8, u16, &[u8])> =
            streams.iter().map(|&(t, pid)| (t, pid, &[][..])).collect();
        pmt_with_descriptors(pmt_pid, &streams)
    }

    fn pmt_with_descriptors(pmt_pid: u16, streams: &[(u8, u16, &[u8])]) -> Vec<u8> {
        let mut body = vec![0xe1, 0x00, 0xf0, 0x00];
        for &(stream_type, pid, descriptors) in streams {
            body.push(stream_type);
            body.extend_from_slice(&(0xe000 | pid).to_be_bytes());
            body.extend_from_slice(&(0xf000 | descriptors.len() as u16).to_be_bytes());
            body.extend_from_slice(descriptors);
        }
        packet(pmt_pid, true, &section(2, 1, &body))
    }

    /// PES packets of `pid` carrying `audio`, in TS packets.
    fn pes(pid: u16, audio: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let header = [0, 0, 1, 0xc0, 0, 0, 0x80, 0x80, 5, 0x21, 0, 1, 0, 1];
        let first = (184 - header.len()).min(audio.len());
        let mut payload = header.to_vec();
        payload.extend_from_slice(&audio[..first]);
        out.extend(packet(pid, true, &payload));
        for chunk in audio[first..].chunks(184) {
            out.extend(packet(pid, false, chunk));
        }
        out
    }

    #[test]
    fn unwraps_the_first_decodable_audio_stream() {
        let audio: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 256) as u8).collect();
        let other: Vec<u8> = vec![0xee; 700];
        let mut ts = pat(0x100);
        ts.extend(pmt(0x100, &[(0x1b, 0x101), (0x06, 0x102), (0x0f, 0x103)]));
        // Video and private data packets between the audio's.
        ts.extend(pes(0x101, &other));
        ts.extend(pes(0x103, &audio[..500]));
        ts.extend(pes(0x102, &other));
        ts.extend(pes(0x103, &audio[500..]));
        let ts = numbered(ts);
        for piece in [1, 7, 188, 1000, ts.len()] {
            let mut watch = TsWatch::new(0, 0);
            let (out, _) = Feed::drive(&mut watch, &ts, piece);
            assert_eq!(out, audio, "pieces of {piece}");
            assert!(watch.is_unwrapping());
        }
    }

    #[test]
    fn another_stream_by_audio_track_and_m2ts_packets() {
        let first = vec![1u8; 300];
        let second = vec![2u8; 300];
        let mut ts = pat(0x100);
        ts.extend(pmt(0x100, &[(0x03, 0x101), (0x0f, 0x102)]));
        ts.extend(pes(0x101, &first));
        ts.extend(pes(0x102, &second));
        let ts = numbered(ts);
        // M2TS: a 4-byte time code before each packet.
        let m2ts: Vec<u8> = ts
            .chunks(188)
            .flat_map(|p| [0, 0, 0, 0].iter().chain(p).copied().collect::<Vec<u8>>())
            .collect();
        let mut watch = TsWatch::new(0, 1);
        assert_eq!(Feed::drive(&mut watch, &ts, 100).0, second);
        let mut watch = TsWatch::new(0, 0);
        assert_eq!(Feed::drive(&mut watch, &m2ts, 100).0, first);
    }

    #[test]
    fn audio_it_cannot_decode_ends_reads_with_a_reason() {
        let mut ts = pat(0x100);
        // DTS in a private stream, named by its registration descriptor.
        ts.extend(pmt_with_descriptors(
            0x100,
            &[(0x1b, 0x101, &[][..]), (0x06, 0x102, b"\x05\x04DTS1")],
        ));
        ts.extend(pes(0x102, &[0u8; 400]));
        let mut watch = TsWatch::new(0, 0);
        let (out, stopped) = Feed::drive(&mut watch, &ts, 188);
        assert!(out.is_empty());
        assert!(stopped);
        assert!(
            watch.problem().unwrap().contains("DTS"),
            "{:?}",
            watch.problem()
        );
    }

    /// `ts` with each stream's packets numbered by their continuity counters, from 0.
    fn numbered(mut ts: Vec<u8>) -> Vec<u8> {
        let mut counters = std::collections::HashMap::new();
        for packet in ts.chunks_mut(188) {
            let pid = u16::from_be_bytes([packet[1], packet[2]]) & 0x1fff;
            let counter = counters.entry(pid).or_insert(0u8);
            packet[3] = (packet[3] & 0xf0) | (*counter & 0x0f);
            *counter = counter.wrapping_add(1);
        }
        ts
    }

    #[test]
    fn lost_and_repeated_packets_are_counted_and_dropped() {
        let audio: Vec<u8> = (0..2000u32).map(|i| (i % 251) as u8).collect();
        let mut ts = pat(0x100);
        ts.extend(pmt(0x100, &[(0x0f, 0x101)]));
        ts.extend(pes(0x101, &audio));
        let ts = numbered(ts);
        let packets: Vec<Vec<u8>> = ts.chunks(188).map(<[u8]>::to_vec).collect();
        // Packets 2 and 3 of the tables and audio: the first audio packet holds the PES header
        // and 170 bytes, the others 184 each.
        let mut damaged = Vec::new();
        for (i, packet) in packets.iter().enumerate() {
            match i {
                4 => {}                        // lost
                5 => damaged.extend(packet),   // sent twice
                7 => damaged.extend([0; 100]), // 100 bytes of junk first
                _ => {}
            }
            if i != 4 {
                damaged.extend(packet);
            }
        }
        let mut watch = TsWatch::new(0, 0);
        let (out, _) = Feed::drive(&mut watch, &damaged, 500);
        assert_eq!(watch.take_damage(), (1, 100));
        assert_eq!(watch.take_damage(), (0, 0));
        let first = 184 - 14;
        let lost = first + 184..first + 2 * 184;
        let expected = [&audio[..lost.start], &audio[lost.end..]].concat();
        assert_eq!(
            out, expected,
            "the repeated packet once, the lost one missing"
        );
    }

    #[test]
    fn opus_streams_are_unwrapped_with_their_channel_configuration() {
        let audio = vec![0x7fu8; 500];
        const OPUS_5_1: &[u8] = &[0x05, 4, b'O', b'p', b'u', b's', 0x7f, 2, 0x80, 6];
        const OPUS_ONLY_REGISTERED: &[u8] = &[0x05, 4, b'O', b'p', b'u', b's'];
        let mut ts = pat(0x100);
        ts.extend(pmt_with_descriptors(
            0x100,
            &[
                (0x06, 0x101, &[0x7b, 1, 0]), // DTS
                (0x06, 0x102, OPUS_5_1),
                (0x06, 0x103, OPUS_ONLY_REGISTERED),
            ],
        ));
        ts.extend(pes(0x102, &audio));
        ts.extend(pes(0x103, &audio));
        let ts = numbered(ts);
        let mut watch = TsWatch::new(0, 0);
        assert_eq!(watch.audio(), None, "before the program map");
        assert_eq!(Feed::drive(&mut watch, &ts, 188).0, audio);
        assert_eq!(watch.audio(), Some(TsAudio::Opus { channel_config: 6 }));
        // Without the extension descriptor: one stream, decoded as stereo.
        let mut watch = TsWatch::new(0, 1);
        assert_eq!(Feed::drive(&mut watch, &ts, 188).0, audio);
        assert_eq!(watch.audio(), Some(TsAudio::Opus { channel_config: 2 }));
    }

    #[test]
    fn private_streams_are_named_by_their_descriptors() {
        assert_eq!(private_audio_name(&[0x6a, 1, 0]), Some("AC-3"));
        assert_eq!(
            private_audio_name(&[0x0a, 4, b'e', b'n', b'g', 0, 0x7a, 0]),
            Some("E-AC-3")
        );
        assert_eq!(
            private_audio_name(&[0x05, 4, b'O', b'p', b'u', b's']),
            Some("Opus")
        );
        // Teletext, and a descriptor cut short.
        assert_eq!(private_audio_name(&[0x56, 5, 0, 0, 0, 0, 0]), None);
        assert_eq!(private_audio_name(&[0x6a, 9, 0]), None);
    }

    #[test]
    fn a_stream_cut_inside_a_packet_starts_at_the_next_one() {
        let audio: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 253) as u8).collect();
        let mut ts = pat(0x100);
        ts.extend(pmt(0x100, &[(0x0f, 0x101)]));
        ts.extend(pes(0x101, &audio));
        // The tables again, as muxers repeat them, so the cut stream has them after its start.
        let mut ts = [pat(0x100), pmt(0x100, &[(0x0f, 0x101)]), ts].concat();
        ts = numbered(ts);
        let m2ts: Vec<u8> = ts
            .chunks(188)
            .flat_map(|p| [9, 9, 9, 9].iter().chain(p).copied().collect::<Vec<u8>>())
            .collect();
        // Cut inside the first tables: the second copy is read, all the audio comes out.
        for (name, stream, cut) in [("188", &ts, 100), ("M2TS", &m2ts, 3)] {
            for piece in [1, 100, 4096] {
                let mut watch = TsWatch::new(0, 0);
                let (out, _) = Feed::drive(&mut watch, &stream[cut..], piece);
                assert_eq!(out, audio, "{name}, cut at {cut}, pieces of {piece}");
                assert_eq!(watch.take_damage(), (0, 0), "{name}: a cut is not damage");
            }
        }
    }

    #[test]
    fn other_streams_are_decided_within_a_few_hundred_bytes() {
        // Bytes that start like no format, with sync bytes sprinkled in (one every 97).
        let junk: Vec<u8> = (0..2000u32)
            .map(|i| {
                if i % 97 == 5 {
                    SYNC
                } else {
                    (i * 13 % 71) as u8
                }
            })
            .collect();
        let mut feed = Feed::default();
        feed.push(&junk[..450]);
        let (got, _) = feed.read_run(&mut TsWatch::new(0, 0), 64);
        assert_eq!(got, &junk[..450], "held back");
        let mut watch = TsWatch::new(0, 0);
        assert_eq!(Feed::drive(&mut watch, &junk, 3).0, junk);
        assert!(!watch.is_unwrapping());
        // A format's start is decided at once.
        for start in [
            &b"RIFF\0\0\0\0WAVE"[..],
            &[0xff, 0xfb, 0x90, 0x00, 0, 0, 0, 0],
        ] {
            let mut feed = Feed::default();
            feed.push(start);
            let (got, _) = feed.read_run(&mut TsWatch::new(0, 0), 64);
            assert_eq!(got, start);
        }
    }

    #[test]
    fn other_streams_pass_untouched() {
        for bytes in [
            b"ID3\x04\x00".to_vec(),
            vec![0xff, 0xf1, 0x50],
            b"G".to_vec(),
        ] {
            let mut watch = TsWatch::new(0, 0);
            let (out, _) = Feed::drive(&mut watch, &bytes, 2);
            assert_eq!(out, bytes);
            assert!(!watch.is_unwrapping());
        }
    }
}
