//! AMR and AMR-WB in their storage format (RFC 4867 section 5: `.amr` files, what telephony
//! recorders and some TTS services write): a magic line, `#!AMR\n` or `#!AMR-WB\n`, then frames,
//! each a frame type byte and the bits that type has. symphonia has no reader for it, and the
//! format is a table lookup per frame; written here. The multichannel variants (`#!AMR_MC1.0\n`,
//! `#!AMR-WB_MC1.0\n`), which no common writer produces, are refused by name.

use std::io;

use symphonia::core::audio::layouts::CHANNEL_LAYOUT_MONO;
use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::common::FourCc;
use symphonia::core::errors::{Error as SymphoniaError, Result};
use symphonia::core::formats::probe::{
    ProbeDataMatchSpec, ProbeFormatData, ProbeableFormat, Score, Scoreable,
};
use symphonia::core::formats::{
    FormatId, FormatInfo, FormatOptions, FormatReader, MediaInfo, Track,
};
use symphonia::core::io::{MediaSourceStream, ReadBytes, ScopedStream};
use symphonia::core::meta::MetadataLog;
use symphonia::core::packet::Packet;

use crate::codecs::amr::Band;

static AMR_INFO: FormatInfo = FormatInfo {
    format: FormatId::new(FourCc::new(*b"amr ")),
    short_name: "amr",
    long_name: "AMR storage format (RFC 4867)",
};

const NARROW_MAGIC: &[u8] = b"#!AMR\n";
const WIDE_MAGIC: &[u8] = b"#!AMR-WB\n";

/// Whether `head` (its first 9 bytes or more) starts a multichannel file (`#!AMR_MC1.0\n`,
/// `#!AMR-WB_MC1.0\n`).
fn multichannel(head: &[u8]) -> bool {
    head.starts_with(b"#!AMR_MC") || head.starts_with(b"#!AMR-WB_")
}

/// What the magic line at the start of `head` says.
fn band_of(head: &[u8]) -> Option<Band> {
    if head.starts_with(NARROW_MAGIC) {
        Some(Band::Narrow)
    } else if head.starts_with(WIDE_MAGIC) {
        Some(Band::Wide)
    } else {
        None
    }
}

/// Reads the frames of an AMR or AMR-WB file, a packet each.
pub struct AmrReader<'s> {
    source: MediaSourceStream<'s>,
    band: Band,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    next_ts: u64,
}

impl<'s> AmrReader<'s> {
    /// Reads the magic line at the source's position.
    pub fn try_new(mut source: MediaSourceStream<'s>) -> Result<Self> {
        let mut magic = [0u8; WIDE_MAGIC.len()];
        source.read_buf_exact(&mut magic[..NARROW_MAGIC.len()])?;
        let band = if magic.starts_with(NARROW_MAGIC) {
            Band::Narrow
        } else {
            source.read_buf_exact(&mut magic[NARROW_MAGIC.len()..])?;
            match band_of(&magic) {
                Some(band) => band,
                None if multichannel(&magic) => {
                    return Err(SymphoniaError::Unsupported(
                        "amr: multichannel AMR storage format",
                    ));
                }
                None => return Err(SymphoniaError::Unsupported("amr: no AMR magic line")),
            }
        };
        let mut params = AudioCodecParameters::new();
        params
            .for_codec(band.codec_id())
            .with_sample_rate(band.rate())
            .with_channels(CHANNEL_LAYOUT_MONO)
            .with_max_frames_per_packet(band.frame_samples() as u64);
        let track = super::audio_track(params);
        Ok(AmrReader {
            source,
            band,
            media_info: MediaInfo::from_track(&track),
            tracks: vec![track],
            metadata: MetadataLog::default(),
            next_ts: 0,
        })
    }
}

impl FormatReader for AmrReader<'_> {
    super::unseekable_reader_methods!(AMR_INFO);

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        // Nothing read before is sought back to: the read-ahead ring may start over.
        super::source::restart_read_ahead(&mut self.source);
        let type_byte = match self.source.read_byte() {
            Ok(byte) => byte,
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        // A damaged frame type byte: the frame's length is unknown, so the next byte is tried
        // as a frame type (time goes on from the next good frame).
        let Some(len) = self.band.frame_len(type_byte) else {
            return Err(SymphoniaError::DecodeError(
                "amr: a frame type byte that is not one (damaged data skipped)",
            ));
        };
        let duration = self.band.frame_samples() as u64;
        let pts = self.next_ts;
        self.next_ts += duration;
        let mut frame = vec![0u8; len];
        frame[0] = type_byte;
        match self.source.read_buf_exact(&mut frame[1..]) {
            Ok(()) => {}
            // A frame cut short at the end is dropped.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        Ok(Some(super::track_packet(pts, duration, frame)))
    }
}

impl Scoreable for AmrReader<'_> {
    fn score(mut source: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        let mut head = [0u8; WIDE_MAGIC.len()];
        let mut got = 0;
        while got < head.len() {
            match source.read_byte() {
                Ok(byte) => head[got] = byte,
                Err(_) => break,
            }
            got += 1;
        }
        let head = &head[..got];
        let ours = band_of(head).is_some() || multichannel(head);
        Ok(if ours {
            Score::Supported(255)
        } else {
            Score::Unsupported
        })
    }
}

impl ProbeableFormat<'_> for AmrReader<'_> {
    fn try_probe_new(
        source: MediaSourceStream<'_>,
        _opts: FormatOptions,
    ) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(AmrReader::try_new(source)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        static DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["amr", "awb"],
                mime_types: &["audio/amr", "audio/amr-wb"],
                markers: &[b"#!AMR"],
            },
            info: AMR_INFO,
        }];
        &DATA
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::source::Unseekable;

    fn reader(bytes: Vec<u8>) -> Result<AmrReader<'static>> {
        AmrReader::try_new(MediaSourceStream::new(
            Box::new(Unseekable::new(io::Cursor::new(bytes))),
            Default::default(),
        ))
    }

    #[test]
    fn frames_come_out_by_their_type_and_damage_is_skipped() {
        let mut bytes = WIDE_MAGIC.to_vec();
        bytes.extend([8 << 3 | 4].iter().chain(&[7; 60])); // 23.85 kbit/s
        bytes.push(0xff); // not a frame type
        bytes.push(15 << 3 | 4); // no data
        bytes.extend([2 << 3 | 4].iter().chain(&[1; 10])); // cut short
        let mut reader = reader(bytes).unwrap();
        let first = reader.next_packet().unwrap().unwrap();
        assert_eq!(
            (first.data.len(), first.pts.get(), first.dur.get()),
            (61, 0, 320)
        );
        assert!(matches!(
            reader.next_packet(),
            Err(SymphoniaError::DecodeError(_))
        ));
        let no_data = reader.next_packet().unwrap().unwrap();
        assert_eq!((no_data.data.len(), no_data.pts.get()), (1, 320));
        assert!(reader.next_packet().unwrap().is_none());
    }

    #[test]
    fn magic_lines_are_told_apart() {
        assert_eq!(reader(b"#!AMR\n".to_vec()).unwrap().band, Band::Narrow);
        assert_eq!(reader(b"#!AMR-WB\n".to_vec()).unwrap().band, Band::Wide);
        assert!(matches!(
            reader(b"#!AMR_MC1.0\n\0\0\0\0".to_vec()),
            Err(SymphoniaError::Unsupported(
                "amr: multichannel AMR storage format"
            ))
        ));
        assert!(matches!(
            reader(b"#!AMR-XY\n".to_vec()),
            Err(SymphoniaError::Unsupported("amr: no AMR magic line"))
        ));
    }
}
