//! The element's properties: their specifications, defaults and the settings they hold
//! (`max-errors` and `stats` live with the element: a damage limit shared with the running
//! decoder, and the running statistics).

use std::sync::LazyLock;

use gst::glib;
use gst::prelude::*;

use crate::container::mp4;

const DEFAULT_SAMPLE_RATE: u32 = 48_000;
const DEFAULT_CHANNELS: u32 = 1;
/// `max-errors`: the decoder's damage limit (see `decoder::MAX_DAMAGE`).
const DEFAULT_MAX_ERRORS: i32 = crate::decoder::MAX_DAMAGE as i32;
pub(super) const MAX_SAMPLE_RATE: u32 = 768_000;
pub(super) const MAX_CHANNELS: u32 = 64;

#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) sample_rate: u32,
    pub(super) channels: u32,
    pub(super) format: Option<String>,
    /// Rate and channels of headerless PCM when its description leaves them open; 0 = unset.
    pub(super) input_rate: u32,
    pub(super) input_channels: u32,
    pub(super) mp4_buffer_limit: u64,
    /// Which audio track of a container holding several to decode; 0 is the first.
    pub(super) audio_track: u32,
    /// Check FLAC's decoded audio against the MD5 checksum in its header.
    pub(super) verify_checksums: bool,
    /// Tests only: a place where the element panics, to check that becomes an ERROR.
    #[cfg(test)]
    pub(super) panic_at: Option<super::imp::tests::PanicPoint>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sample_rate: DEFAULT_SAMPLE_RATE,
            channels: DEFAULT_CHANNELS,
            format: None,
            input_rate: 0,
            input_channels: 0,
            mp4_buffer_limit: mp4::DEFAULT_BUFFER_LIMIT,
            audio_track: 0,
            verify_checksums: false,
            #[cfg(test)]
            panic_at: None,
        }
    }
}

impl Settings {
    /// Sets the property `name` (one of the settings) from a value of its type.
    pub(super) fn set(&mut self, name: &str, value: &glib::Value) {
        let expect = "type checked upstream";
        match name {
            "sample-rate" => self.sample_rate = value.get().expect(expect),
            "channels" => self.channels = value.get().expect(expect),
            "input-rate" => self.input_rate = value.get().expect(expect),
            "input-channels" => self.input_channels = value.get().expect(expect),
            "mp4-buffer-limit" => self.mp4_buffer_limit = value.get().expect(expect),
            "audio-track" => self.audio_track = value.get().expect(expect),
            "verify-checksums" => self.verify_checksums = value.get().expect(expect),
            "format" => {
                let format: Option<String> = value.get().expect(expect);
                self.format = format.filter(|f| !f.trim().is_empty());
            }
            _ => unreachable!("unknown property {name}"),
        }
    }

    /// The value of the property `name` (one of the settings).
    pub(super) fn get(&self, name: &str) -> glib::Value {
        match name {
            "sample-rate" => self.sample_rate.to_value(),
            "channels" => self.channels.to_value(),
            "format" => self.format.to_value(),
            "input-rate" => self.input_rate.to_value(),
            "input-channels" => self.input_channels.to_value(),
            "mp4-buffer-limit" => self.mp4_buffer_limit.to_value(),
            "audio-track" => self.audio_track.to_value(),
            "verify-checksums" => self.verify_checksums.to_value(),
            _ => unreachable!("unknown property {name}"),
        }
    }
}

/// Every property of the element, as `ObjectImpl::properties` gives them.
pub(super) fn param_specs() -> &'static [glib::ParamSpec] {
    static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
        vec![
            glib::ParamSpecUInt::builder("sample-rate")
                .nick("Sample rate")
                .blurb(
                    "Output sample rate in Hz; 0 keeps the stream's rate \
                     (or the rate downstream caps fix)",
                )
                .maximum(MAX_SAMPLE_RATE)
                .default_value(DEFAULT_SAMPLE_RATE)
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("channels")
                .nick("Channels")
                .blurb(
                    "Output channel count (stereo to mono averages, mono to stereo \
                     duplicates, surround downmixes); 0 keeps the stream's channels \
                     (or the count downstream caps fix)",
                )
                .maximum(MAX_CHANNELS)
                .default_value(DEFAULT_CHANNELS)
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("format")
                .nick("Format hint")
                .blurb(
                    "Container of the input as a MIME type or file extension \
                     (audio/mpeg, mp3, audio/wav; codecs=1, ogg, webm, m4a, ...); \
                     picks the reader directly instead of probing. A wrong hint falls \
                     back to probing. Headerless PCM is named with its parameters \
                     (audio/L16;rate=24000;channels=1, audio/pcm;rate=16000, audio/basic, \
                     audio/PCMU, pcm_s16le, pcm_f32le, mulaw, alaw, ...), headerless \
                     telephony codecs by their RTP names (audio/G722, audio/G726-32, \
                     audio/GSM). Empty: use upstream caps (audio/x-raw, \
                     audio/x-unaligned-raw, audio/x-mulaw, audio/x-alaw, audio/G722, G.726 \
                     audio/x-adpcm, audio/x-gsm and audio/ms-gsm included), else probe",
                )
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("input-rate")
                .nick("Input sample rate")
                .blurb(
                    "Sample rate of headerless PCM named by the format property when the \
                     name carries no rate parameter (e.g. format=pcm_s16le); 0: unset",
                )
                .maximum(MAX_SAMPLE_RATE)
                .default_value(0)
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("input-channels")
                .nick("Input channels")
                .blurb(
                    "Channel count of headerless PCM named by the format property when the \
                     name carries no channels parameter; 0: unset (1)",
                )
                .maximum(MAX_CHANNELS)
                .default_value(0)
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt64::builder("mp4-buffer-limit")
                .nick("MP4 buffer limit")
                .blurb(
                    "Most bytes of an MP4/M4A/MOV file whose index (moov box) comes after \
                     its media that are held in memory until the index arrives; past it, \
                     an ERROR says to remux the file with the index first (faststart)",
                )
                .default_value(mp4::DEFAULT_BUFFER_LIMIT)
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("audio-track")
                .nick("Audio track")
                .blurb(
                    "Which audio track to decode when a container (MP4, Matroska, MPEG-TS, Ogg) holds \
                     several: 0 the first, 1 the second, ...; a track the stream does not \
                     have is an ERROR. Video and other tracks are not counted",
                )
                .default_value(0)
                .mutable_ready()
                .build(),
            glib::ParamSpecBoolean::builder("verify-checksums")
                .nick("Verify checksums")
                .blurb(
                    "Check a FLAC stream's decoded audio against the MD5 checksum in its \
                     header, and post a WARNING at its end when they differ (damage no frame \
                     checksum caught, or an altered file). Costs about a sixth of FLAC's \
                     decoding time; off, as in flacdec and ffmpeg",
                )
                .default_value(false)
                .mutable_ready()
                .build(),
            glib::ParamSpecInt::builder("max-errors")
                .nick("Max errors")
                .blurb(
                    "How much damage a stream may show before it is an ERROR: each corrupt \
                     packet adds one, each good one takes one away, and every corrupt one is \
                     a WARNING. -1: never an ERROR; 0: the first corrupt packet is one",
                )
                .minimum(-1)
                .default_value(DEFAULT_MAX_ERRORS)
                .mutable_playing()
                .build(),
            glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                .nick("Statistics")
                .blurb(
                    "Statistics of the current stream, reset when the element starts and \
                     after a flush: bytes-in, buffers-in, frames-out, buffers-out (guint64); \
                     warnings (guint64, damage skipped); container, codec (strings, empty \
                     until detected); stream-rate, stream-channels (guint, 0 until \
                     detected); bytes-to-first-pcm (guint64, bytes in when the first PCM \
                     went out, 0 before); first-pcm-latency (guint64, ns from the first \
                     input buffer to the first PCM, 0 before)",
                )
                .read_only()
                .build(),
        ]
    });
    PROPERTIES.as_ref()
}
