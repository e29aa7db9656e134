//! Headerless PCM, the way TTS services and RTP name it: a MIME type with parameters
//! (`audio/L16;rate=24000;channels=1`, `audio/pcm;rate=16000`, `audio/basic`, `audio/PCMU`), a
//! short name (`pcm_s16le`, `f32le`, `mulaw`), or upstream caps translated by the element. RTP's
//! telephony codecs are described the same way (`audio/G722`, `audio/G726-32`, `audio/GSM`).
//!
//! Raw PCM has nothing to probe: the description is the only source of truth, so a stream
//! described as raw is read as raw from its first byte.

use super::pcm_stream::{PcmHeader, PcmLayout, SampleCoding};
use crate::codecs::telephony::Codec;

/// Headerless PCM: how samples are stored, and the rate and channels when the description
/// gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPcmFormat {
    pub coding: SampleCoding,
    pub rate: Option<u32>,
    pub channels: Option<u16>,
}

impl RawPcmFormat {
    /// Reads a description: a lower- or mixed-case MIME type or short name, optionally followed
    /// by `;key=value` parameters (`rate`, `channels`). `None` when the name is not raw PCM.
    pub fn parse(text: &str) -> Option<RawPcmFormat> {
        let mut parts = text.split(';');
        let name = parts.next()?.trim().to_ascii_lowercase();
        let (coding, default_rate, default_channels) = coding_for_name(&name)?;
        let mut format = RawPcmFormat {
            coding,
            rate: default_rate,
            channels: default_channels,
        };
        for param in parts {
            let Some((key, value)) = param.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            match key.trim().to_ascii_lowercase().as_str() {
                "rate" | "samplerate" | "sample-rate" | "sample_rate" => {
                    format.rate = value.parse().ok().or(format.rate)
                }
                "channels" | "channel-count" => {
                    format.channels = value.parse().ok().or(format.channels)
                }
                _ => {}
            }
        }
        Some(format)
    }

    /// Fills in what the description left open from the element's `input-rate` and
    /// `input-channels` properties.
    pub fn with_defaults(self, rate: Option<u32>, channels: Option<u16>) -> RawPcmFormat {
        RawPcmFormat {
            rate: self.rate.or(rate),
            channels: self.channels.or(channels),
            ..self
        }
    }

    /// The header a raw stream would have had: the whole stream is sample data. One channel
    /// unless said otherwise; the rate must be known.
    pub fn header(&self) -> Result<PcmHeader, String> {
        let Some(rate) = self.rate else {
            return Err(
                "headerless PCM needs a sample rate: add ;rate=N to the format (e.g. \
                 \"audio/L16;rate=24000\") or set the input-rate property"
                    .into(),
            );
        };
        let layout = PcmLayout {
            coding: self.coding,
            rate: match self.coding {
                // A telephony codec decodes at its own rate (RTP gives G.722 an 8 kHz clock).
                SampleCoding::Coded(codec) => codec.rate(),
                _ => rate,
            },
            channels: self.channels.unwrap_or(1),
            channel_mask: 0,
        };
        layout
            .check()
            .map_err(|why| format!("cannot read headerless PCM: {why}"))?;
        Ok(PcmHeader {
            layout,
            data_len: None,
            trailing_len: 0,
            declared_frames: None,
        })
    }
}

/// The coding a name stands for, with the rate and channel count it implies (G.711 and
/// `audio/basic` are 8 kHz mono unless parameters say otherwise).
fn coding_for_name(name: &str) -> Option<(SampleCoding, Option<u32>, Option<u16>)> {
    let g711_defaults = (Some(8000), Some(1));
    let (coding, (rate, channels)) = match name {
        // RFC 2586 / RFC 3551: network byte order, i.e. big-endian.
        "audio/l16" => (SampleCoding::int(2, true, true), (None, None)),
        "audio/l24" => (SampleCoding::int(3, true, true), (None, None)),
        // RFC 3551: L8 is offset binary.
        "audio/l8" => (SampleCoding::int(1, false, false), (None, None)),
        // What TTS APIs call "pcm" or "linear16" is little-endian 16-bit.
        "audio/pcm" | "audio/x-pcm" | "audio/raw" | "audio/linear16" | "pcm" | "linear16"
        | "raw" => (SampleCoding::int(2, true, false), (None, None)),
        "audio/basic" | "audio/pcmu" | "audio/x-mulaw" | "audio/mulaw" | "audio/ulaw"
        | "audio/x-ulaw" | "mulaw" | "ulaw" | "mu-law" | "pcm_mulaw" | "g711u" | "pcmu" => {
            (SampleCoding::MuLaw, g711_defaults)
        }
        "audio/pcma" | "audio/x-alaw" | "audio/alaw" | "alaw" | "a-law" | "pcm_alaw" | "g711a"
        | "pcma" => (SampleCoding::ALaw, g711_defaults),
        // RTP's telephony codecs (RFC 3551 names, ffmpeg's short names).
        "audio/g722" | "g722" => (SampleCoding::Coded(Codec::G722), g711_defaults),
        "audio/gsm" | "gsm" => (
            SampleCoding::Coded(Codec::Gsm { wav49: false }),
            g711_defaults,
        ),
        other => match g726_coding(other) {
            Some(coding) => (coding, g711_defaults),
            None => (short_name_coding(other)?, (None, None)),
        },
    };
    Some((coding, rate, channels))
}

/// G.726 by its RTP name: `audio/G726-32` (RFC 3551: codes packed from each byte's least
/// significant bit up), `audio/AAL2-G726-32` (ITU-T I.366.2: from the most significant bit
/// down); also without the `audio/` prefix.
fn g726_coding(name: &str) -> Option<SampleCoding> {
    let name = name.strip_prefix("audio/").unwrap_or(name);
    let (kbits, msb_first) = match name.strip_prefix("aal2-g726-") {
        Some(kbits) => (kbits, true),
        None => (name.strip_prefix("g726-")?, false),
    };
    let bits = match kbits {
        "16" => 2,
        "24" => 3,
        "32" => 4,
        "40" => 5,
        _ => return None,
    };
    Some(SampleCoding::Coded(Codec::G726 { bits, msb_first }))
}

/// ffmpeg's names: `pcm_s16le`, `s16le`, `u8`, `f32be`, `pcm_f64le`, ...
fn short_name_coding(name: &str) -> Option<SampleCoding> {
    let name = name.strip_prefix("pcm_").unwrap_or(name);
    let kind = name.chars().next()?;
    let rest = &name[1..];
    let (bits, big_endian) = if let Some(bits) = rest.strip_suffix("le") {
        (bits, false)
    } else if let Some(bits) = rest.strip_suffix("be") {
        (bits, true)
    } else {
        (rest, false)
    };
    let bits: u8 = bits.parse().ok()?;
    // Only 8-bit samples may omit the byte order.
    if bits != 8 && !(name.ends_with("le") || name.ends_with("be")) {
        return None;
    }
    let bytes = match bits {
        8 | 16 | 24 | 32 | 64 => bits / 8,
        _ => return None,
    };
    match kind {
        's' if bytes <= 4 => Some(SampleCoding::int(bytes, true, big_endian)),
        'u' if bytes <= 4 => Some(SampleCoding::int(bytes, false, big_endian)),
        'f' if bytes == 4 || bytes == 8 => Some(SampleCoding::Float { bytes, big_endian }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mime_types_with_parameters() {
        assert_eq!(
            RawPcmFormat::parse("audio/L16;rate=24000;channels=1"),
            Some(RawPcmFormat {
                coding: SampleCoding::int(2, true, true),
                rate: Some(24000),
                channels: Some(1),
            })
        );
        assert_eq!(
            RawPcmFormat::parse("audio/pcm; rate=16000"),
            Some(RawPcmFormat {
                coding: SampleCoding::int(2, true, false),
                rate: Some(16000),
                channels: None,
            })
        );
        let basic = RawPcmFormat::parse("audio/basic").unwrap();
        assert_eq!(
            (basic.coding, basic.rate, basic.channels),
            (SampleCoding::MuLaw, Some(8000), Some(1))
        );
        let pcma = RawPcmFormat::parse("audio/PCMA;rate=16000;channels=2").unwrap();
        assert_eq!(
            (pcma.coding, pcma.rate, pcma.channels),
            (SampleCoding::ALaw, Some(16000), Some(2))
        );
        assert_eq!(RawPcmFormat::parse("audio/mpeg"), None);
        assert_eq!(RawPcmFormat::parse("wav"), None);
    }

    #[test]
    fn reads_short_names() {
        let cases = [
            ("pcm_s16le", SampleCoding::int(2, true, false)),
            ("s16be", SampleCoding::int(2, true, true)),
            ("pcm_u8", SampleCoding::int(1, false, false)),
            ("s8", SampleCoding::int(1, true, false)),
            ("pcm_s24le", SampleCoding::int(3, true, false)),
            ("pcm_u32be", SampleCoding::int(4, false, true)),
            (
                "pcm_f32le",
                SampleCoding::Float {
                    bytes: 4,
                    big_endian: false,
                },
            ),
            (
                "f64be",
                SampleCoding::Float {
                    bytes: 8,
                    big_endian: true,
                },
            ),
            ("mulaw", SampleCoding::MuLaw),
            ("alaw", SampleCoding::ALaw),
        ];
        for (name, coding) in cases {
            assert_eq!(
                RawPcmFormat::parse(name).map(|f| f.coding),
                Some(coding),
                "{name}"
            );
        }
        for name in ["s16", "pcm_s12le", "f16le", "u64le", "mp3", "pcm_x16le"] {
            assert_eq!(RawPcmFormat::parse(name), None, "{name}");
        }
    }

    #[test]
    fn reads_telephony_codec_names_at_their_own_rates() {
        let g726 = |bits, msb_first| SampleCoding::Coded(Codec::G726 { bits, msb_first });
        let cases = [
            (
                "audio/G722;rate=8000",
                SampleCoding::Coded(Codec::G722),
                16_000,
            ),
            ("g722", SampleCoding::Coded(Codec::G722), 16_000),
            (
                "audio/GSM",
                SampleCoding::Coded(Codec::Gsm { wav49: false }),
                8000,
            ),
            ("audio/G726-32", g726(4, false), 8000),
            ("g726-16", g726(2, false), 8000),
            ("audio/AAL2-G726-40", g726(5, true), 8000),
        ];
        for (name, coding, rate) in cases {
            let format = RawPcmFormat::parse(name).unwrap();
            assert_eq!(format.coding, coding, "{name}");
            let layout = format.header().unwrap().layout;
            assert_eq!((layout.rate, layout.channels), (rate, 1), "{name}");
        }
        assert_eq!(RawPcmFormat::parse("audio/G726-33"), None);
        let stereo = RawPcmFormat::parse("audio/G722;channels=2").unwrap();
        assert!(stereo.header().unwrap_err().contains("G.722 in 2 channels"));
    }

    #[test]
    fn a_rate_is_required_and_channels_default_to_one() {
        let format = RawPcmFormat::parse("pcm_s16le").unwrap();
        let error = format.header().unwrap_err();
        assert!(error.contains("input-rate"), "{error}");
        let header = format.with_defaults(Some(22050), None).header().unwrap();
        assert_eq!((header.layout.rate, header.layout.channels), (22050, 1));
        assert_eq!(header.data_len, None);
        // The description wins over the properties.
        let format = RawPcmFormat::parse("audio/L16;rate=8000;channels=2").unwrap();
        let layout = format
            .with_defaults(Some(16000), Some(1))
            .header()
            .unwrap()
            .layout;
        assert_eq!((layout.rate, layout.channels), (8000, 2));
    }
}
