//! Raw AC-3 and E-AC-3 streams (`.ac3`, `.eac3`, and both unwrapped from an MPEG transport
//! stream): sync frames back to back, each with its length in its header, each a packet for
//! `codecs::ac3` (of 256 to 1536 samples; none for the E-AC-3 substreams it passes over).
//! Bytes between frames that are not one (damage, a tag) are passed over to the next frame
//! header, with one error; a cut ends the stream quietly.

use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::well_known::{CODEC_ID_AC3, CODEC_ID_EAC3};
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

use crate::codecs::ac3::header::{self, FRAME_SAMPLES, FrameHeader, HEADER_BYTES, Syntax};

static AC3_INFO: FormatInfo = FormatInfo {
    format: FormatId::new(FourCc::new(*b"ac-3")),
    short_name: "ac3",
    long_name: "AC-3 or E-AC-3 (Dolby Digital) elementary stream",
};

/// The header of the AC-3 or E-AC-3 frame the source is at, when the frame's CRC checks (read
/// whole: a frame is at most 4 KiB). The source is left where it was.
pub fn at_header(source: &mut MediaSourceStream<'_>) -> Option<FrameHeader> {
    super::source::look_ahead(source, |source| checked_frame_header(source).ok().flatten())
}

/// Reads a frame and gives its header when its CRC checks; None when the bytes are not a frame.
fn checked_frame_header(source: &mut impl ReadBytes) -> std::io::Result<Option<FrameHeader>> {
    let mut head = [0u8; HEADER_BYTES];
    source.read_buf_exact(&mut head)?;
    let Some(header) = FrameHeader::parse(&head) else {
        return Ok(None);
    };
    let mut frame = vec![0u8; header.frame_bytes];
    frame[..HEADER_BYTES].copy_from_slice(&head);
    source.read_buf_exact(&mut frame[HEADER_BYTES..])?;
    Ok((header::crc16(&frame[2..]) == 0).then_some(header))
}

/// The track of an AC-3 or E-AC-3 stream whose first frame has this header.
pub fn ac3_track(header: &FrameHeader) -> Track {
    let mut codec = AudioCodecParameters::new();
    codec
        .for_codec(match header.syntax {
            Syntax::Ac3 => CODEC_ID_AC3,
            Syntax::Enhanced => CODEC_ID_EAC3,
        })
        .with_sample_rate(header.rate)
        .with_max_frames_per_packet(FRAME_SAMPLES as u64);
    super::audio_track(codec)
}

/// Reads the frames of a raw AC-3 stream, a packet each.
pub struct Ac3Reader<'s> {
    source: MediaSourceStream<'s>,
    tracks: Vec<Track>,
    media_info: MediaInfo,
    metadata: MetadataLog,
    /// Samples per channel handed out so far.
    samples: u64,
    ended: bool,
}

impl<'s> Ac3Reader<'s> {
    pub fn try_new(mut source: MediaSourceStream<'s>) -> Result<Self> {
        let header = at_header(&mut source).ok_or(SymphoniaError::DecodeError("ac3: no frame"))?;
        Ok(Self::starting_with(source, &header))
    }

    /// A reader of the stream whose first frame, with this header, `at_header` found.
    pub fn starting_with(source: MediaSourceStream<'s>, header: &FrameHeader) -> Self {
        let track = ac3_track(header);
        Ac3Reader {
            source,
            media_info: MediaInfo::from_track(&track),
            tracks: vec![track],
            metadata: MetadataLog::default(),
            samples: 0,
            ended: false,
        }
    }

    /// Reads past bytes up to the next frame header, or to the end.
    fn find_next_frame(&mut self) {
        loop {
            let mut head = [0u8; HEADER_BYTES];
            let found = super::source::look_ahead(&mut self.source, |source| {
                source
                    .read_buf_exact(&mut head)
                    .is_ok()
                    .then(|| FrameHeader::parse(&head).is_some())
            });
            match found {
                Some(true) => return,
                Some(false) if self.source.read_byte().is_ok() => {}
                _ => {
                    self.ended = true;
                    return;
                }
            }
        }
    }
}

impl FormatReader for Ac3Reader<'_> {
    super::unseekable_reader_methods!(AC3_INFO);

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        if self.ended {
            return Ok(None);
        }
        let mut head = [0u8; HEADER_BYTES];
        let found = super::source::look_ahead(&mut self.source, |source| {
            source
                .read_buf_exact(&mut head)
                .map(|()| FrameHeader::parse(&head))
        });
        let header = match found {
            Ok(Some(header)) => header,
            // The stream ends here, or inside a header (a cut).
            Err(_) => {
                self.ended = true;
                return Ok(None);
            }
            Ok(None) => {
                super::skip_trailing_tags(&mut self.source);
                self.find_next_frame();
                if self.ended {
                    return Ok(None);
                }
                return Err(SymphoniaError::DecodeError(
                    "ac3: damaged data between frames passed over",
                ));
            }
        };
        let mut data = vec![0u8; header.frame_bytes];
        if !super::source::read_packet(&mut self.source, &mut data)? {
            self.ended = true;
            return Ok(None);
        }
        // E-AC-3 substreams that are not decoded take no time of their own.
        let pts = self.samples;
        let samples = header.samples() as u64;
        self.samples += samples;
        Ok(Some(super::track_packet(pts, samples, data)))
    }
}

/// For the probe, which finds AC-3 after junk or a tag: a sync word starting a whole frame
/// whose CRC checks.
impl Scoreable for Ac3Reader<'_> {
    fn score(mut source: ScopedStream<&mut MediaSourceStream<'_>>) -> Result<Score> {
        Ok(match checked_frame_header(&mut source)? {
            Some(_) => Score::Supported(255),
            None => Score::Unsupported,
        })
    }
}

impl ProbeableFormat<'_> for Ac3Reader<'_> {
    fn try_probe_new(
        source: MediaSourceStream<'_>,
        _opts: FormatOptions,
    ) -> Result<Box<dyn FormatReader + '_>> {
        Ok(Box::new(Ac3Reader::try_new(source)?))
    }

    fn probe_data() -> &'static [ProbeFormatData] {
        static DATA: [ProbeFormatData; 1] = [ProbeFormatData {
            spec: ProbeDataMatchSpec {
                extensions: &["ac3", "a52"],
                mime_types: &["audio/ac3", "audio/x-ac3"],
                markers: &[&header::SYNC_WORD.to_be_bytes()],
            },
            info: AC3_INFO,
        }];
        &DATA
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::source::Unseekable;
    use symphonia::core::io::MediaSourceStreamOptions;

    fn stream(bytes: &[u8]) -> MediaSourceStream<'static> {
        MediaSourceStream::new(
            Box::new(Unseekable::new(std::io::Cursor::new(bytes.to_vec()))),
            MediaSourceStreamOptions::default(),
        )
    }

    /// Found by fuzzing: an E-AC-3 header whose frame is shorter than a header (2 words).
    #[test]
    fn an_enhanced_frame_shorter_than_its_header_is_not_one() {
        let bytes = [0x0b, 0x77, 0x28, 0x01, 0x0b, 0x77, 0x8a, 0x0a, 0x5e, 0x40];
        assert_eq!(at_header(&mut stream(&bytes)), None);
    }

    #[test]
    fn junk_is_neither() {
        assert_eq!(
            at_header(&mut stream(&[0x0b, 0x77, 0, 0, 0, 0, 0, 0])),
            None
        );
        assert_eq!(at_header(&mut stream(b"RIFF....WAVE")), None);
        assert!(Ac3Reader::try_new(stream(b"RIFF....WAVE")).is_err());
    }
}
