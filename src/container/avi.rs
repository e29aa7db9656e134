//! The audio of AVI files (RIFF `AVI `, OpenDML's `AVIX` extensions included): the first audio
//! stream's chunks from the `movi` lists. PCM and G.711 as WAV describes them, IMA and Microsoft
//! ADPCM, MP3 and MP2, AC-3, and AAC with its AudioSpecificConfig in the stream format; other codecs are refused with an
//! error that names the format tag.
//!
//! Written here because symphonia has no AVI reader. AVI chunks need not end where MPEG audio or
//! AC-3 frames do (writers cut CBR MP3 by time), so those are gathered and cut into whole frames
//! again; PCM chunks are packets as they are, ADPCM chunks whole blocks, AAC chunks one access
//! unit each. The index at the
//! end (`idx1`) is not needed and is passed over, as are video and other streams' chunks.

use std::collections::VecDeque;

use symphonia::core::common::FourCc;
use symphonia::core::errors::Result;
use symphonia::core::formats::{FormatId, FormatInfo, FormatReader, MediaInfo, Track};
use symphonia::core::io::{MediaSourceStream, ReadBytes};
use symphonia::core::meta::MetadataLog;
use symphonia::core::packet::Packet;

use super::HeaderError;
use super::aac_config::{AudioSpecificConfig, aac_track};
use super::ac3::ac3_track;
use super::mpeg_audio::{FrameHeader, frames_track};
use super::pcm_stream::PcmLayout;
use super::riff::{AdpcmFormat, adpcm_format, fmt_layout};
use crate::codecs::ac3::header::FrameHeader as Ac3Header;

static AVI_INFO: FormatInfo = FormatInfo {
    format: FormatId::new(FourCc::new(*b"AVI ")),
    short_name: "avi",
    long_name: "AVI",
};

/// Chunks read, at most, looking for the stream list of an audio stream.
const HEADER_CHUNKS: usize = 256;
/// Bytes of MPEG audio or AC-3 gathered without a frame in them: not that codec any more.
const MAX_UNFRAMED: usize = 64 * 1024;

/// Whether the source starts with a RIFF `AVI ` header (the source is left where it was).
pub fn at_header(source: &mut MediaSourceStream<'_>) -> bool {
    super::source::look_ahead(source, |source| {
        let mut head = [0u8; 12];
        source.read_buf_exact(&mut head).is_ok() && &head[..4] == b"RIFF" && &head[8..] == b"AVI "
    })
}

/// What the audio stream holds.
#[derive(Debug, Clone)]
enum Codec {
    Pcm(PcmLayout),
    /// IMA or Microsoft ADPCM, which symphonia's ADPCM codec decodes a block at a time.
    Adpcm(AdpcmFormat),
    Mpeg,
    Ac3,
    /// AAC, with what its AudioSpecificConfig (after the WAVEFORMATEX, as ffmpeg writes it)
    /// says.
    Aac(AudioSpecificConfig),
}

/// The AudioSpecificConfig of an AAC stream format: after the WAVEFORMATEX's 18 bytes.
fn aac_config(strf: &[u8]) -> &[u8] {
    strf.get(18..).unwrap_or_default()
}

/// A stream format (`strf`) of an audio stream: the codec and its track.
fn audio_codec(strf: &[u8]) -> std::result::Result<Codec, String> {
    let tag = strf
        .get(..2)
        .map(|tag| u16::from_le_bytes([tag[0], tag[1]]))
        .ok_or("the AVI audio stream's format is empty")?;
    match tag {
        0x2000 => return Ok(Codec::Ac3),
        // AAC, its AudioSpecificConfig after the WAVEFORMATEX (as ffmpeg writes it).
        0x00ff | 0x1600..=0x1602 | 0xa106 => {
            return AudioSpecificConfig::read_stated(aac_config(strf))
                .map(Codec::Aac)
                .ok_or_else(|| "the AVI stream's AAC configuration cannot be read".into());
        }
        _ => {}
    }
    if let Some(adpcm) = adpcm_format(strf) {
        return adpcm
            .map(Codec::Adpcm)
            .map_err(|why| format!("the AVI stream's {why}"));
    }
    match fmt_layout(strf) {
        Ok(layout) => Ok(Codec::Pcm(layout)),
        Err(HeaderError::MpegAudioData) => Ok(Codec::Mpeg),
        Err(_) => Err(format!(
            "the AVI stream's audio has format tag {tag:#06x}, which this element does not \
             decode (PCM, G.711, IMA and Microsoft ADPCM, G.722, G.726, GSM 06.10, MPEG audio, \
             AC-3 and AAC in AVI are decoded)"
        )),
    }
}

/// Whole MPEG audio or AC-3 frames cut again from chunks that need not end where frames do.
#[derive(Default)]
struct Framer {
    bytes: VecDeque<u8>,
}

impl Framer {
    /// The next whole frame with its length in samples, passing over bytes that do not start
    /// one; `None` until one is in.
    fn next(&mut self, codec: &Codec) -> Option<(Vec<u8>, u64)> {
        loop {
            if self.bytes.len() < 8 {
                return None;
            }
            // A header's bytes, without an allocation per frame or per byte passed over.
            let mut head = [0u8; 8];
            head.iter_mut()
                .zip(&self.bytes)
                .for_each(|(to, from)| *to = *from);
            let frame = match codec {
                Codec::Mpeg => FrameHeader::parse(&head)
                    .and_then(|h| Some((h.len(None)?, u64::from(h.samples())))),
                _ => Ac3Header::parse(&head).map(|h| (h.frame_bytes, h.samples() as u64)),
            };
            match frame {
                Some((len, samples)) if len > 0 => {
                    if self.bytes.len() < len {
                        return None;
                    }
                    return Some((self.bytes.drain(..len).collect(), samples));
                }
                _ => {
                    self.bytes.pop_front();
                }
            }
        }
    }
}

/// Reads the first audio stream of an AVI file, a packet per chunk or frame.
pub struct AviReader<'s> {
    source: MediaSourceStream<'s>,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    codec: Codec,
    /// The chunk id of the audio stream's data: its number in two digits, then `wb`.
    chunk_id: [u8; 4],
    framer: Framer,
    /// The first frame, read to learn the track, not yet handed out.
    pending: Option<(Vec<u8>, u64)>,
    samples: u64,
    ended: bool,
}

impl<'s> AviReader<'s> {
    /// Reads the header lists up to the `movi` list.
    pub fn try_new(mut source: MediaSourceStream<'s>) -> std::result::Result<Self, String> {
        let cut = |e: std::io::Error| format!("the AVI header is cut short ({e})");
        source.ignore_bytes(12).map_err(cut)?;
        let mut stream_index = 0u32;
        let mut audio: Option<(u32, Vec<u8>)> = None;
        let mut pending_strh_audio = false;
        for _ in 0..HEADER_CHUNKS {
            let id = source.read_quad_bytes().map_err(cut)?;
            let size = source.read_u32().map_err(cut)?;
            match &id {
                b"LIST" => {
                    let kind = source.read_quad_bytes().map_err(cut)?;
                    match &kind {
                        // The lists whose chunks are read: the header and each stream's.
                        b"hdrl" | b"strl" => {}
                        b"movi" => {
                            let Some((index, strf)) = audio else {
                                return Err("the AVI file has no audio stream".into());
                            };
                            let codec = audio_codec(&strf)?;
                            let chunk_id = [
                                b'0' + (index / 10 % 10) as u8,
                                b'0' + (index % 10) as u8,
                                b'w',
                                b'b',
                            ];
                            let mut reader = AviReader {
                                source,
                                tracks: vec![],
                                media_info: MediaInfo::default(),
                                metadata: MetadataLog::default(),
                                codec,
                                chunk_id,
                                framer: Framer::default(),
                                pending: None,
                                samples: 0,
                                ended: false,
                            };
                            reader.start_track(&strf)?;
                            return Ok(reader);
                        }
                        _ => skip(&mut source, size.saturating_sub(4)).map_err(cut)?,
                    }
                }
                b"strh" => {
                    let mut body = vec![0u8; size as usize];
                    source.read_buf_exact(&mut body).map_err(cut)?;
                    skip(&mut source, size % 2).map_err(cut)?;
                    pending_strh_audio = body.starts_with(b"auds");
                }
                b"strf" => {
                    let mut body = vec![0u8; size.min(1 << 16) as usize];
                    source.read_buf_exact(&mut body).map_err(cut)?;
                    skip(&mut source, size % 2 + size.saturating_sub(1 << 16)).map_err(cut)?;
                    if pending_strh_audio && audio.is_none() {
                        audio = Some((stream_index, body));
                    }
                    stream_index += 1;
                    pending_strh_audio = false;
                }
                _ => skip(&mut source, size).map_err(cut)?,
            }
        }
        Err("the AVI header is too long".into())
    }

    /// Sets the track: PCM's and AAC's from the stream format, MPEG audio's and AC-3's from
    /// their first frame, which is kept for the first packet.
    fn start_track(&mut self, strf: &[u8]) -> std::result::Result<(), String> {
        let track = match &self.codec {
            Codec::Pcm(layout) => Some(layout.track()),
            Codec::Adpcm(adpcm) => Some(super::audio_track((*adpcm.params).clone())),
            Codec::Aac(audio) => Some(aac_track(aac_config(strf), audio)),
            Codec::Mpeg | Codec::Ac3 => loop {
                if let Some((frame, samples)) = self.framer.next(&self.codec) {
                    let track = match self.codec {
                        Codec::Mpeg => frames_track(&frame),
                        _ => Ac3Header::parse(&frame).map(|h| ac3_track(&h)),
                    };
                    self.pending = Some((frame, samples));
                    break track;
                }
                match self.next_chunk() {
                    Ok(Some(chunk)) if self.framer.bytes.len() < MAX_UNFRAMED => {
                        self.framer.bytes.extend(chunk)
                    }
                    _ => return Err("the AVI file's audio stream holds no whole frame".into()),
                }
            },
        };
        let track = track.ok_or("the AVI file's audio stream cannot be read")?;
        self.media_info = MediaInfo::from_track(&track);
        self.tracks = vec![track];
        Ok(())
    }

    /// The next chunk of the audio stream; `None` at the end or inside a chunk (a cut).
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            if at_header(&mut self.source) {
                // Another AVI file: this one ends here, the next is opened anew.
                return Ok(None);
            }
            let mut head = [0u8; 8];
            if !super::source::read_packet(&mut self.source, &mut head)? {
                return Ok(None);
            }
            let id = [head[0], head[1], head[2], head[3]];
            let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
            match &id {
                // OpenDML's next RIFF, and the lists whose chunks are data: go inside.
                b"RIFF" | b"LIST" => {
                    let mut kind = [0u8; 4];
                    if !super::source::read_packet(&mut self.source, &mut kind)? {
                        return Ok(None);
                    }
                    if !matches!(&kind, b"AVIX" | b"movi" | b"rec ") {
                        skip(&mut self.source, size.saturating_sub(4))?;
                    }
                }
                id if *id == self.chunk_id => {
                    let mut data = vec![0u8; size as usize];
                    if !super::source::read_packet(&mut self.source, &mut data)? {
                        return Ok(None);
                    }
                    skip(&mut self.source, size % 2)?;
                    return Ok(Some(data));
                }
                _ => skip(&mut self.source, size + size % 2)?,
            }
        }
    }
}

fn skip(source: &mut MediaSourceStream<'_>, bytes: u32) -> std::io::Result<()> {
    source.ignore_bytes(u64::from(bytes))
}

impl FormatReader for AviReader<'_> {
    super::unseekable_reader_methods!(AVI_INFO);

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        loop {
            let whole = match self.pending.take() {
                Some(frame) => Some(frame),
                None if matches!(self.codec, Codec::Mpeg | Codec::Ac3) => {
                    self.framer.next(&self.codec)
                }
                None => None,
            };
            if let Some((frame, samples)) = whole {
                let pts = self.samples;
                self.samples += samples;
                return Ok(Some(super::track_packet(pts, samples, frame)));
            }
            if self.ended {
                return Ok(None);
            }
            let Some(mut chunk) = self.next_chunk()? else {
                // The end, or a cut inside a chunk: what was whole is out.
                self.ended = true;
                continue;
            };
            let samples = match &self.codec {
                Codec::Mpeg | Codec::Ac3 => {
                    if self.framer.bytes.len() > MAX_UNFRAMED {
                        self.framer.bytes.clear();
                    }
                    self.framer.bytes.extend(chunk);
                    continue;
                }
                Codec::Pcm(layout) => layout.block().frames_in(chunk.len() as u64),
                Codec::Aac(audio) => u64::from(audio.frame_samples()),
                // Whole blocks: a part of one at the end of a chunk cannot be decoded.
                Codec::Adpcm(adpcm) => {
                    let blocks = chunk.len() / adpcm.block_align;
                    chunk.truncate(blocks * adpcm.block_align);
                    blocks as u64 * adpcm.frames_per_block
                }
            };
            if chunk.is_empty() {
                continue;
            }
            let pts = self.samples;
            self.samples += samples;
            return Ok(Some(super::track_packet(pts, samples, chunk)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MPEG audio frames that chunks cut anywhere come out whole, junk between them passed
    /// over.
    #[test]
    fn the_framer_cuts_whole_frames_from_any_chunks() {
        // MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417-byte frames.
        let mut frame = vec![0x11u8; 417];
        frame[..4].copy_from_slice(&[0xff, 0xfb, 0x90, 0x00]);
        let mut stream = [frame.clone(), frame.clone()].concat();
        stream.extend([0u8; 5]);
        stream.extend(&frame);
        for piece in [1, 100, 417, 1000] {
            let mut framer = Framer::default();
            let mut frames = Vec::new();
            for chunk in stream.chunks(piece) {
                framer.bytes.extend(chunk);
                while let Some((whole, samples)) = framer.next(&Codec::Mpeg) {
                    assert_eq!(samples, 1152);
                    frames.push(whole);
                }
            }
            assert_eq!(frames, vec![frame.clone(); 3], "pieces of {piece}");
        }
    }

    #[test]
    fn stream_formats_say_the_codec() {
        // WAVEFORMATEX: PCM, stereo, 44.1 kHz, 16 bits.
        let mut pcm = vec![1, 0, 2, 0];
        pcm.extend(44_100u32.to_le_bytes());
        pcm.extend((44_100u32 * 4).to_le_bytes());
        pcm.extend([4, 0, 16, 0]);
        assert!(matches!(audio_codec(&pcm), Ok(Codec::Pcm(layout)) if layout.channels == 2));
        let mut mp3 = pcm.clone();
        mp3[..2].copy_from_slice(&0x55u16.to_le_bytes());
        assert!(matches!(audio_codec(&mp3), Ok(Codec::Mpeg)));
        let mut ac3 = pcm.clone();
        ac3[..2].copy_from_slice(&0x2000u16.to_le_bytes());
        assert!(matches!(audio_codec(&ac3), Ok(Codec::Ac3)));
        let mut aac = pcm.clone();
        aac[..2].copy_from_slice(&0xffu16.to_le_bytes());
        aac.extend([2, 0, 0x12, 0x10]);
        assert!(matches!(
            audio_codec(&aac),
            Ok(Codec::Aac(audio)) if audio.frame_samples() == 1024
        ));
        let mut wma = pcm;
        wma[..2].copy_from_slice(&0x161u16.to_le_bytes());
        assert!(audio_codec(&wma).unwrap_err().contains("0x0161"));
    }
}
