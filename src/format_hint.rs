//! Container hints: upstream caps and the `format` property name a container (MIME type or file
//! extension) so the decoder can build that reader directly instead of probing, or describe
//! headerless PCM, which cannot be probed at all.

use crate::codecs::opus::OpusLayout;
use crate::container::aac_frames::AdtsFields;
use crate::container::raw::RawPcmFormat;

/// A container the decoder can open directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerHint {
    /// MPEG audio layer 1/2/3 elementary stream.
    MpegAudio,
    /// AAC in ADTS framing.
    Adts,
    Ogg,
    Wav,
    Aiff,
    /// Sun/NeXT AU (`.au`, `.snd`).
    Au,
    /// Flash Video (`.flv`): its audio.
    Flv,
    /// AVI (`.avi`): its audio.
    Avi,
    Flac,
    /// Matroska and WebM.
    Matroska,
    /// ISO base media: MP4, M4A, 3GP, QuickTime.
    IsoMp4,
    /// AMR or AMR-WB in the storage format (`.amr`).
    Amr,
    /// WavPack (`.wv`).
    WavPack,
    /// Monkey's Audio (`.ape`).
    Ape,
    /// Musepack (`.mpc`).
    Musepack,
    /// True Audio (`.tta`).
    Tta,
    /// Raw AC-3 or E-AC-3 (`.ac3`, `.eac3`).
    Ac3,
    /// AAC in LOAS/LATM (`.loas`, `.latm`; DVB's AAC).
    Loas,
    /// Headerless PCM, described by caps or a MIME type with parameters.
    RawPcm(RawPcmFormat),
    /// Opus packets that come one per buffer (`audio/x-opus` caps), framed by the element (see
    /// `container::opus_units`), with the layout the caps describe.
    OpusPackets(OpusLayout),
    /// Raw AAC frames that come one per buffer, with what their ADTS headers need (see
    /// `container::aac_frames`): the element makes them an ADTS stream.
    AacFrames(AdtsFields),
}

impl ContainerHint {
    /// Parses a MIME type (parameters such as `; codecs=1` are ignored, except the `rate` and
    /// `channels` of raw PCM types such as `audio/L16`) or a file extension (with or without
    /// the leading dot). Unknown names give `None`.
    pub fn parse(text: &str) -> Option<ContainerHint> {
        if let Some(raw) = RawPcmFormat::parse(text) {
            return Some(ContainerHint::RawPcm(raw));
        }
        let name = text
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let name = name.trim_start_matches('.');
        let hint = match name {
            "audio/mpeg" | "audio/mp3" | "audio/mpeg3" | "audio/x-mpeg" | "audio/x-mp3"
            | "audio/mpa" | "audio/mp2" | "audio/mp1" | "mp3" | "mp2" | "mp1" | "mpa" | "mpga" => {
                ContainerHint::MpegAudio
            }
            "audio/aac" | "audio/aacp" | "audio/x-aac" | "audio/adts" | "aac" | "adts" => {
                ContainerHint::Adts
            }
            "audio/ogg" | "application/ogg" | "audio/opus" | "audio/vorbis" | "audio/x-vorbis"
            | "audio/x-opus" | "audio/x-ogg" | "ogg" | "oga" | "opus" | "ogx" => ContainerHint::Ogg,
            "audio/wav" | "audio/wave" | "audio/x-wav" | "audio/vnd.wave" | "wav" | "wave" => {
                ContainerHint::Wav
            }
            "audio/aiff" | "audio/x-aiff" | "aiff" | "aif" | "aifc" => ContainerHint::Aiff,
            "audio/x-au" | "audio/au" | "au" | "snd" => ContainerHint::Au,
            "video/x-flv" | "video/flv" | "audio/x-flv" | "flv" => ContainerHint::Flv,
            "video/x-msvideo" | "video/avi" | "video/msvideo" | "avi" => ContainerHint::Avi,
            "audio/flac" | "audio/x-flac" | "flac" => ContainerHint::Flac,
            "audio/webm" | "video/webm" | "audio/x-matroska" | "video/x-matroska"
            | "audio/matroska" | "webm" | "mka" | "mkv" => ContainerHint::Matroska,
            "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "video/mp4" | "video/quicktime"
            | "audio/3gpp" | "video/3gpp" | "audio/3gpp2" | "video/3gpp2" | "mp4" | "m4a"
            | "m4b" | "mov" | "3gp" | "3g2" => ContainerHint::IsoMp4,
            "audio/amr" | "audio/amr-wb" | "amr" | "awb" => ContainerHint::Amr,
            "audio/x-wavpack" | "audio/wavpack" | "wv" => ContainerHint::WavPack,
            "audio/x-ape" | "audio/ape" | "ape" => ContainerHint::Ape,
            "audio/x-musepack" | "audio/musepack" | "mpc" | "mp+" | "mpp" => {
                ContainerHint::Musepack
            }
            "audio/x-tta" | "audio/tta" | "tta" => ContainerHint::Tta,
            "audio/ac3" | "audio/x-ac3" | "ac3" | "a52" | "audio/eac3" | "audio/x-eac3"
            | "audio/ec-3" | "eac3" | "ec3" => ContainerHint::Ac3,
            "audio/loas" | "audio/x-loas" | "audio/aac-loas" | "loas" | "latm" => {
                ContainerHint::Loas
            }
            _ => return None,
        };
        Some(hint)
    }

    /// Reads a hint from GStreamer-style caps: the structure name plus the fields that tell
    /// MPEG audio flavours apart (`mpegversion`, `stream-format`). Kept free of GStreamer types:
    /// the element passes the fields it finds.
    pub fn from_caps_fields(
        name: &str,
        mpegversion: Option<i32>,
        stream_format: Option<&str>,
    ) -> Option<ContainerHint> {
        match name {
            "audio/mpeg" => match mpegversion {
                Some(2) | Some(4) => match stream_format {
                    Some("adts") | None => Some(ContainerHint::Adts),
                    Some("loas") => Some(ContainerHint::Loas),
                    // Raw AAC needs codec data from a container; let the probe decide.
                    _ => None,
                },
                _ => Some(ContainerHint::MpegAudio),
            },
            "audio/x-wav" => Some(ContainerHint::Wav),
            "audio/x-aiff" => Some(ContainerHint::Aiff),
            // typefind's name for Sun AU.
            "audio/x-au" => Some(ContainerHint::Au),
            "video/x-flv" => Some(ContainerHint::Flv),
            "video/x-msvideo" => Some(ContainerHint::Avi),
            "audio/x-flac" => Some(ContainerHint::Flac),
            "audio/ogg" | "application/ogg" => Some(ContainerHint::Ogg),
            "audio/webm" | "video/webm" | "audio/x-matroska" | "video/x-matroska" => {
                Some(ContainerHint::Matroska)
            }
            "audio/x-m4a" | "video/quicktime" | "audio/mp4" => Some(ContainerHint::IsoMp4),
            // typefind's names for the storage format.
            "audio/x-amr-nb-sh" | "audio/x-amr-wb-sh" => Some(ContainerHint::Amr),
            "audio/x-wavpack" => Some(ContainerHint::WavPack),
            // typefind's name for Monkey's Audio.
            "application/x-ape" => Some(ContainerHint::Ape),
            "audio/x-musepack" => Some(ContainerHint::Musepack),
            "audio/x-ttafile" | "audio/x-tta" => Some(ContainerHint::Tta),
            "audio/x-ac3" | "audio/ac3" | "audio/x-eac3" => Some(ContainerHint::Ac3),
            // Byte-stream caps that say nothing about the container.
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mime_types_and_extensions() {
        assert_eq!(
            ContainerHint::parse("audio/mpeg"),
            Some(ContainerHint::MpegAudio)
        );
        assert_eq!(ContainerHint::parse("MP3"), Some(ContainerHint::MpegAudio));
        assert_eq!(ContainerHint::parse(".wav"), Some(ContainerHint::Wav));
        assert_eq!(
            ContainerHint::parse("audio/AMR-WB"),
            Some(ContainerHint::Amr)
        );
        assert_eq!(
            ContainerHint::from_caps_fields("audio/x-amr-nb-sh", None, None),
            Some(ContainerHint::Amr)
        );
        assert_eq!(ContainerHint::parse(".wv"), Some(ContainerHint::WavPack));
        assert_eq!(
            ContainerHint::from_caps_fields("audio/x-wavpack", None, None),
            Some(ContainerHint::WavPack)
        );
        assert_eq!(
            ContainerHint::parse("audio/wav; codecs=1"),
            Some(ContainerHint::Wav)
        );
        assert_eq!(
            ContainerHint::parse("audio/ogg;codecs=opus"),
            Some(ContainerHint::Ogg)
        );
        assert_eq!(ContainerHint::parse("webm"), Some(ContainerHint::Matroska));
        assert_eq!(ContainerHint::parse("m4a"), Some(ContainerHint::IsoMp4));
        assert_eq!(ContainerHint::parse("3gp"), Some(ContainerHint::IsoMp4));
        assert_eq!(
            ContainerHint::parse("video/3gpp"),
            Some(ContainerHint::IsoMp4)
        );
        assert_eq!(ContainerHint::parse("aac"), Some(ContainerHint::Adts));
        assert_eq!(ContainerHint::parse("loas"), Some(ContainerHint::Loas));
        assert_eq!(ContainerHint::parse("flac"), Some(ContainerHint::Flac));
        assert_eq!(ContainerHint::parse("aiff"), Some(ContainerHint::Aiff));
        assert_eq!(ContainerHint::parse(".au"), Some(ContainerHint::Au));
        assert!(matches!(
            ContainerHint::parse("audio/L16;rate=24000"),
            Some(ContainerHint::RawPcm(RawPcmFormat {
                rate: Some(24000),
                ..
            }))
        ));
        assert!(matches!(
            ContainerHint::parse("pcm_f32le"),
            Some(ContainerHint::RawPcm(_))
        ));
        assert_eq!(ContainerHint::parse(""), None);
        assert_eq!(ContainerHint::parse("text/html"), None);
    }

    #[test]
    fn reads_caps_fields() {
        assert_eq!(
            ContainerHint::from_caps_fields("audio/mpeg", Some(1), None),
            Some(ContainerHint::MpegAudio)
        );
        assert_eq!(
            ContainerHint::from_caps_fields("audio/mpeg", Some(4), Some("adts")),
            Some(ContainerHint::Adts)
        );
        assert_eq!(
            ContainerHint::from_caps_fields("audio/mpeg", Some(4), Some("raw")),
            None
        );
        // aacparse's and tsdemux's caps for LATM.
        assert_eq!(
            ContainerHint::from_caps_fields("audio/mpeg", Some(4), Some("loas")),
            Some(ContainerHint::Loas)
        );
        assert_eq!(
            ContainerHint::from_caps_fields("application/x-id3", None, None),
            None
        );
        assert_eq!(
            ContainerHint::from_caps_fields("audio/x-wav", None, None),
            Some(ContainerHint::Wav)
        );
    }
}
