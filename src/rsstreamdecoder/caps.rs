//! Between GStreamer's descriptions and the decoder's: upstream caps as a container hint,
//! the decoder's output format as caps and channel positions, its tags as a tag list, and the
//! names the element posts for containers and codecs.

use crate::codecs::opus::OpusLayout;
use crate::codecs::telephony::Codec;
use crate::container::SampleCoding;
use crate::container::aac_frames::AdtsFields;
use crate::container::raw::RawPcmFormat;
use crate::decoder::{StreamFormat, StreamTag};
use crate::format_hint::ContainerHint;

/// The stream's tags as GStreamer tags.
pub(super) fn tag_list(tags: &[StreamTag]) -> gst::TagList {
    use gst::tags;
    let mut list = gst::TagList::new();
    let list_mut = list.get_mut().expect("new tag list is writable");
    let mode = gst::TagMergeMode::Append;
    for tag in tags {
        match tag {
            StreamTag::Title(s) => list_mut.add::<tags::Title>(&s.as_str(), mode),
            StreamTag::Artist(s) => list_mut.add::<tags::Artist>(&s.as_str(), mode),
            StreamTag::Album(s) => list_mut.add::<tags::Album>(&s.as_str(), mode),
            StreamTag::AlbumArtist(s) => list_mut.add::<tags::AlbumArtist>(&s.as_str(), mode),
            StreamTag::Genre(s) => list_mut.add::<tags::Genre>(&s.as_str(), mode),
            StreamTag::Comment(s) => list_mut.add::<tags::Comment>(&s.as_str(), mode),
            StreamTag::Composer(s) => list_mut.add::<tags::Composer>(&s.as_str(), mode),
            StreamTag::Copyright(s) => list_mut.add::<tags::Copyright>(&s.as_str(), mode),
            StreamTag::Date(s) => {
                if let Ok(date) = gst::DateTime::from_iso8601_string(s) {
                    list_mut.add::<tags::DateTime>(&date, mode);
                }
            }
            StreamTag::TrackNumber(n) => {
                list_mut.add::<tags::TrackNumber>(&u32::try_from(*n).unwrap_or(u32::MAX), mode)
            }
        }
    }
    list
}

/// A reader's container as GStreamer's tags name it (symphonia's short names otherwise).
pub(super) fn container_name(short_name: &str) -> &str {
    match short_name {
        "mp1" | "mp2" | "mp3" => "MPEG audio",
        "aac" => "ADTS",
        "isomp4" => "ISO MP4/M4A",
        "ogg" => "Ogg",
        "matroska" => "Matroska",
        "wave" => "WAV",
        "aiff" => "AIFF",
        "caf" => "Core Audio Format",
        "flac" => "FLAC",
        "amr" => "AMR",
        "wavpack" => "WavPack",
        "mpegts" => "MPEG-2 Transport Stream",
        "packets" => "Opus packets",
        name => name,
    }
}

/// A codec as GStreamer's tags name it (symphonia's short names otherwise).
pub(super) fn codec_name(short_name: &str) -> &str {
    match short_name {
        "mp1" => "MPEG-1 Layer 1",
        "mp2" => "MPEG-1 Layer 2 (MP2)",
        "mp3" => "MPEG-1 Layer 3 (MP3)",
        "aac" => "MPEG-4 AAC",
        "opus" => "Opus",
        "vorbis" => "Vorbis",
        "speex" => "Speex",
        "amrnb" => "Adaptive Multi-Rate (AMR)",
        "amrwb" => "Adaptive Multi-Rate Wide-Band (AMR-WB)",
        "wavpack" => "WavPack",
        "flac" => "Free Lossless Audio Codec (FLAC)",
        "alac" => "Apple Lossless Audio (ALAC)",
        name if name.starts_with("pcm") => "Uncompressed PCM audio",
        name if name.starts_with("adpcm") => "ADPCM audio",
        "g722" => "G.722 audio",
        "g726" | "g726le" => "G.726 audio",
        "gsm" | "gsm_ms" => "GSM audio",
        name => name,
    }
}

/// A container hint from upstream caps (typefind, appsrc caps, souphttpsrc content type), or
/// the description of headerless PCM (`audio/x-raw`, `audio/x-unaligned-raw`, `audio/x-mulaw`,
/// `audio/x-alaw`) or of a telephony codec's frames (`audio/G722`, G.726 `audio/x-adpcm`,
/// `audio/x-gsm`, `audio/ms-gsm`).
pub(super) fn hint_from_caps(caps: &gst::CapsRef) -> Option<ContainerHint> {
    let s = caps.structure(0)?;
    let headerless = |coding| {
        Some(ContainerHint::RawPcm(RawPcmFormat {
            coding,
            rate: s.get::<i32>("rate").ok().map(|r| r.max(0) as u32),
            channels: s.get::<i32>("channels").ok().map(|c| c.clamp(0, 64) as u16),
        }))
    };
    match s.name().as_str() {
        "audio/x-raw" => return raw_caps_hint(caps),
        // What souphttpsrc makes of an `audio/L16;rate=...` Content-Type: the same description,
        // without a promise that buffers hold whole samples (the element does not need one).
        "audio/x-unaligned-raw" => {
            let mut aligned = caps.to_owned();
            aligned.make_mut().structure_mut(0)?.set_name("audio/x-raw");
            return raw_caps_hint(&aligned);
        }
        "audio/x-mulaw" => return headerless(SampleCoding::MuLaw),
        "audio/x-alaw" => return headerless(SampleCoding::ALaw),
        // What rtpg722depay, rtpg726depay (bit order as avdec_g726 takes it) and rtpgsmdepay
        // send, and WAV49 GSM as wavparse sends it.
        "audio/G722" => return headerless(SampleCoding::Coded(Codec::G722)),
        "audio/x-gsm" => return headerless(SampleCoding::Coded(Codec::Gsm { wav49: false })),
        "audio/ms-gsm" => return headerless(SampleCoding::Coded(Codec::Gsm { wav49: true })),
        "audio/x-adpcm" if s.get::<&str>("layout").ok() == Some("g726") => {
            let bits = s.get::<i32>("bitrate").ok()? / 8000;
            let bits = u8::try_from(bits).ok().filter(|b| (2..=5).contains(b))?;
            return headerless(SampleCoding::Coded(Codec::G726 {
                bits,
                msb_first: true,
            }));
        }
        "audio/x-opus" => return opus_packets_hint(s).map(ContainerHint::OpusPackets),
        _ => {}
    }
    if s.name() == "audio/mpeg" && s.get::<&str>("stream-format").ok() == Some("raw") {
        // Raw AAC frames, one per buffer: ADTS headers from the AudioSpecificConfig.
        return s
            .get::<gst::Buffer>("codec_data")
            .ok()
            .and_then(|config| AdtsFields::from_audio_specific_config(&config.map_readable().ok()?))
            .map(ContainerHint::AacFrames);
    }
    ContainerHint::from_caps_fields(
        s.name().as_str(),
        s.get::<i32>("mpegversion").ok(),
        s.get::<&str>("stream-format").ok(),
    )
}

/// Opus packets, one per buffer (`audio/x-opus`, as `rtpopusdepay`, `opusparse` and the
/// demuxers send them): the layout from the OpusHead in `streamheader` when there is one (with
/// its pre-skip), else from the caps' fields (`channels`, `channel-mapping-family`,
/// `stream-count`, `coupled-count`, `channel-mapping`), as `opusdec` reads them.
fn opus_packets_hint(s: &gst::StructureRef) -> Option<OpusLayout> {
    let from_header = s
        .get::<gst::ArrayRef>("streamheader")
        .ok()
        .and_then(|headers| headers.first()?.get::<gst::Buffer>().ok())
        .and_then(|head| OpusLayout::from_head(&head.map_readable().ok()?));
    if from_header.is_some() {
        return from_header;
    }
    let int = |name: &str| s.get::<i32>(name).ok().and_then(|v| u8::try_from(v).ok());
    let channels = int("channels").unwrap_or(2);
    let family = int("channel-mapping-family").unwrap_or(0);
    let mapping: Vec<u8> = s
        .get::<gst::ArrayRef>("channel-mapping")
        .map(|values| {
            values
                .iter()
                .filter_map(|v| v.get::<i32>().ok().and_then(|v| u8::try_from(v).ok()))
                .collect()
        })
        .unwrap_or_default();
    let layout = (family != 0).then(|| {
        (
            family,
            int("stream-count").unwrap_or(channels),
            int("coupled-count").unwrap_or(0),
            mapping.as_slice(),
        )
    });
    OpusLayout::new(channels, layout, 0, 0)
}

/// Headerless PCM described by `audio/x-raw` caps (non-interleaved buffers are interleaved on
/// input, see `interleave`).
fn raw_caps_hint(caps: &gst::CapsRef) -> Option<ContainerHint> {
    let info = gst_audio::AudioInfo::from_caps(caps).ok()?;
    let format = info.format_info();
    let bytes = (format.width() / 8) as u8;
    let big_endian = format.is_big_endian();
    let coding = if format.is_float() {
        SampleCoding::Float { bytes, big_endian }
    } else {
        SampleCoding::Int {
            bytes,
            bits: format.depth() as u8,
            signed: format.is_signed(),
            big_endian,
        }
    };
    Some(ContainerHint::RawPcm(RawPcmFormat {
        coding,
        rate: Some(info.rate()),
        channels: Some(info.channels().min(u16::MAX as u32) as u16),
    }))
}

/// Interleaves the planes of a non-interleaved buffer, sample by sample. By hand: the only
/// library for it here, GstAudioConverter, has no Rust binding.
pub(super) fn interleave(planes: &[&[u8]], bytes_per_sample: usize) -> Vec<u8> {
    let frames = planes.iter().map(|p| p.len()).min().unwrap_or(0) / bytes_per_sample.max(1);
    let mut out = Vec::with_capacity(frames * bytes_per_sample * planes.len());
    for frame in 0..frames {
        let at = frame * bytes_per_sample;
        for plane in planes {
            out.extend_from_slice(&plane[at..at + bytes_per_sample]);
        }
    }
    out
}

/// Output caps for a format, with a channel mask when more than two channels are kept.
pub(super) fn output_caps(format: &StreamFormat) -> Option<gst::Caps> {
    let channels = u32::try_from(format.out_channels).ok()?;
    let mut builder =
        gst_audio::AudioInfo::builder(gst_audio::AudioFormat::S16le, format.out_rate, channels);
    let positions = channel_positions(format.out_channel_mask, format.out_channels);
    if let Some(positions) = positions.as_deref() {
        builder = builder.positions(positions);
    }
    builder.build().ok()?.to_caps().ok()
}

/// Maps a WAVE-style channel mask to GStreamer positions (the two enumerations differ after
/// the rear-center bit). `None` lets GStreamer pick its default for 1 and 2 channels.
fn channel_positions(mask: u64, channels: usize) -> Option<Vec<gst_audio::AudioChannelPosition>> {
    use gst_audio::AudioChannelPosition as P;
    const WAVE_ORDER: [P; 18] = [
        P::FrontLeft,
        P::FrontRight,
        P::FrontCenter,
        P::Lfe1,
        P::RearLeft,
        P::RearRight,
        P::FrontLeftOfCenter,
        P::FrontRightOfCenter,
        P::RearCenter,
        P::SideLeft,
        P::SideRight,
        P::TopCenter,
        P::TopFrontLeft,
        P::TopFrontCenter,
        P::TopFrontRight,
        P::TopRearLeft,
        P::TopRearCenter,
        P::TopRearRight,
    ];
    if channels <= 2 {
        return None;
    }
    let positions: Vec<P> = WAVE_ORDER
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1 << bit) != 0)
        .map(|(_, p)| *p)
        .collect();
    if positions.len() == channels {
        Some(positions)
    } else {
        // Unknown layout: unpositioned channels.
        Some(vec![P::None; channels])
    }
}
