//! The codecs: symphonia's, nanomp3 for MPEG audio (`mpeg_audio`), libopus for Opus (`opus`, on
//! `opus_streams`), libspeex for Speex (`speex`), opencore-amr for AMR and AMR-WB (`amr`),
//! libwavpack for WavPack (`wavpack`), the `ape-decoder` crate for Monkey's Audio (`ape`),
//! libmpcdec for Musepack (`musepack`), spandsp for G.722, G.726 and GSM 06.10 (`telephony`),
//! our own True Audio decoder (`tta`), Apple IMA ADPCM (`ima_qt`) and Yamaha ADPCM
//! (`yamaha_adpcm`) decoders, AC-3 decoder
//! (`ac3`) and DSD to PCM converter (`dsd`) and,
//! with the `fdk-aac` feature, FDK AAC for every AAC stream (`fdk_aac`).

/// The `AudioDecoder` methods that our decoders holding their output in a `decoded` buffer,
/// with their parameters in `codec_params`, one entry in `supported_codecs` and a
/// `decode_packet(&mut self, &PacketRef) -> Result<()>` that fills `decoded`, write alike: a
/// packet that fails leaves nothing decoded.
macro_rules! buffered_decoder_methods {
    () => {
        $crate::codecs::buffered_decoder_methods!(@shared);

        fn codec_info(&self) -> &symphonia::core::codecs::CodecInfo {
            &Self::supported_codecs()[0].info
        }
    };
    // A decoder of several codecs says which one it decodes through a method of its own.
    (codec_info: $codec_info:ident) => {
        $crate::codecs::buffered_decoder_methods!(@shared);

        fn codec_info(&self) -> &symphonia::core::codecs::CodecInfo {
            self.$codec_info()
        }
    };
    (@shared) => {
        fn decode_ref(
            &mut self,
            packet: &symphonia::core::packet::PacketRef<'_>,
        ) -> symphonia::core::errors::Result<symphonia::core::audio::GenericAudioBufferRef<'_>> {
            if let Err(e) = self.decode_packet(packet) {
                self.decoded.clear();
                return Err(e);
            }
            self.decoded.trim(
                packet.trim_start.get() as usize,
                packet.trim_end.get() as usize,
            );
            Ok(self.decoded.as_generic_audio_buffer_ref())
        }

        fn codec_params(&self) -> &symphonia::core::codecs::audio::AudioCodecParameters {
            &self.codec_params
        }

        fn finalize(&mut self) -> symphonia::core::codecs::audio::FinalizeResult {
            symphonia::core::codecs::audio::FinalizeResult::default()
        }

        fn last_decoded(&self) -> symphonia::core::audio::GenericAudioBufferRef<'_> {
            self.decoded.as_generic_audio_buffer_ref()
        }
    };
}
pub(crate) use buffered_decoder_methods;

/// Makes `decoded` hold the first `frames` frames of `interleaved` samples, growing it only
/// when it is too small (what our decoders that decode into an interleaved buffer end with).
pub(crate) fn fill_interleaved<S>(
    decoded: &mut symphonia::core::audio::AudioBuffer<S>,
    interleaved: &[S],
    frames: usize,
) where
    S: symphonia::core::audio::sample::Sample + symphonia::core::audio::conv::FromSample<S>,
{
    use symphonia::core::audio::{Audio, AudioMut};
    decoded.clear();
    if decoded.capacity() < frames {
        decoded.grow_capacity(frames);
    }
    decoded.render_uninit(Some(frames));
    let channels = decoded.spec().channels().count();
    decoded.copy_from_slice_interleaved(&&interleaved[..frames * channels]);
}

/// The name users know a codec by, for one that a container names and nothing here decodes
/// (or, for True Audio outside `.tta` files, decodes without what it needs).
pub fn codec_name(id: symphonia::core::codecs::audio::AudioCodecId) -> Option<&'static str> {
    use symphonia::core::codecs::audio::well_known::*;
    Some(match id {
        CODEC_ID_TRUEHD => "Dolby TrueHD",
        CODEC_ID_DCA => "DTS",
        CODEC_ID_AC4 => "Dolby AC-4",
        CODEC_ID_WMA => "Windows Media Audio",
        CODEC_ID_ATRAC1 | CODEC_ID_ATRAC3 | CODEC_ID_ATRAC3PLUS | CODEC_ID_ATRAC9 => "Sony ATRAC",
        CODEC_ID_RA10 | CODEC_ID_RA20 | CODEC_ID_SIPR | CODEC_ID_COOK | CODEC_ID_RALF => {
            "RealAudio"
        }
        CODEC_ID_SBC | CODEC_ID_APTX | CODEC_ID_APTX_HD | CODEC_ID_LDAC => "Bluetooth audio",
        CODEC_ID_BINK_AUDIO | CODEC_ID_SMACKER_AUDIO => "RAD Game Tools audio",
        CODEC_ID_TTA => "True Audio",
        _ => return None,
    })
}

/// A codec our decoders name in `supported_codecs`.
pub(crate) const fn supported_codec(
    id: symphonia::core::codecs::audio::AudioCodecId,
    short_name: &'static str,
    long_name: &'static str,
) -> symphonia::core::codecs::registry::SupportedAudioCodec {
    symphonia::core::codecs::registry::SupportedAudioCodec {
        id,
        info: CodecInfo {
            short_name,
            long_name,
            profiles: &[],
        },
    }
}

pub mod ac3;
pub mod amr;
pub mod ape;
pub mod dsd;
#[cfg(feature = "fdk-aac")]
pub mod fdk_aac;
pub mod ima_qt;
pub mod mpeg_audio;
pub mod musepack;
pub mod opus;
pub mod opus_streams;
pub mod pcm16;
pub mod speex;
pub mod telephony;
pub mod tta;
pub mod wavpack;
pub mod yamaha_adpcm;

use std::sync::LazyLock;

use symphonia::core::audio::GenericAudioBufferRef;
use symphonia::core::codecs::CodecInfo;
use symphonia::core::codecs::audio::{
    AudioCodecParameters, AudioDecoder, AudioDecoderOptions, FinalizeResult,
};
use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::common::Tier;
use symphonia::core::errors::Result;
use symphonia::core::packet::PacketRef;

pub static CODECS: LazyLock<CodecRegistry> = LazyLock::new(|| {
    let mut registry = CodecRegistry::new();
    symphonia::default::register_enabled_codecs(&mut registry);
    registry.register_audio_decoder::<speex::SpeexDecoder>();
    registry.register_audio_decoder::<amr::AmrDecoder>();
    registry.register_audio_decoder::<wavpack::WavPackDecoder>();
    registry.register_audio_decoder::<ape::ApeDecoder>();
    registry.register_audio_decoder::<musepack::MusepackDecoder>();
    registry.register_audio_decoder::<tta::TtaDecoder>();
    registry.register_audio_decoder::<dsd::DsdDecoder>();
    registry.register_audio_decoder::<ac3::Ac3Decoder>();
    registry.register_audio_decoder::<opus::OpusDecoder>();
    registry.register_audio_decoder::<telephony::TelephonyDecoder>();
    registry.register_audio_decoder::<yamaha_adpcm::YamahaAdpcmDecoder>();
    // Ahead of symphonia's MPEG audio, Apple IMA ADPCM and 16-bit PCM decoders (see
    // `mpeg_audio`, `ima_qt` and `pcm16` for why).
    registry.register_audio_decoder_at_tier::<mpeg_audio::MpegAudioDecoder>(Tier::Preferred);
    registry.register_audio_decoder_at_tier::<ima_qt::ImaQtDecoder>(Tier::Preferred);
    registry.register_audio_decoder_at_tier::<pcm16::Pcm16Decoder>(Tier::Preferred);
    registry
});

/// The decoder of one track. symphonia's trait has no way to hand out audio a codec holds back
/// until the end of the stream (FDK AAC's last frame), so that codec is kept by its type. An AAC
/// stream starts with FDK and moves to symphonia's decoder after its first frame when that shows
/// plain AAC-LC in mono or stereo (see `FdkAacDecoder::needs_fdk`).
pub enum TrackDecoder {
    Registry(Box<dyn AudioDecoder>),
    /// DSD, whose filter's last samples come out at the end.
    Dsd(Box<dsd::DsdDecoder>),
    #[cfg(feature = "fdk-aac")]
    FdkAac(Box<fdk_aac::FdkAacDecoder>),
}

impl TrackDecoder {
    /// A decoder for these parameters: FDK AAC for AAC when built with it, else the registry's.
    pub fn new(params: &AudioCodecParameters, opts: &AudioDecoderOptions) -> Result<TrackDecoder> {
        #[cfg(feature = "fdk-aac")]
        if params.codec == symphonia::core::codecs::audio::well_known::CODEC_ID_AAC {
            return Ok(TrackDecoder::FdkAac(Box::new(
                fdk_aac::FdkAacDecoder::try_new(params)?,
            )));
        }
        #[cfg(not(feature = "fdk-aac"))]
        if params.codec == symphonia::core::codecs::audio::well_known::CODEC_ID_AAC
            && let Some(core) = params
                .extra_data
                .as_deref()
                .and_then(crate::container::aac_config::ConfigHead::core_config)
        {
            // HE-AAC signalled explicitly, which symphonia refuses: its core, as for HE-AAC
            // signalled implicitly (a WARNING says what is missing).
            let mut core_params = params.clone();
            core_params.extra_data = Some(core.to_vec().into_boxed_slice());
            return CODECS
                .make_audio_decoder(&core_params, opts)
                .map(TrackDecoder::Registry);
        }
        #[cfg(not(feature = "fdk-aac"))]
        if params.codec == symphonia::core::codecs::audio::well_known::CODEC_ID_AAC
            && params.channels.is_none()
            && params.extra_data.is_none()
        {
            // symphonia's decoder would only say that it needs a channel count.
            return symphonia::core::errors::unsupported_error(
                "aac: ADTS whose channel layout is a program config element (channel \
                 configuration 0) needs the fdk-aac feature (meson: -Dfdk-aac=enabled)",
            );
        }
        if params.codec == dsd::CODEC_ID_DSD {
            return Ok(TrackDecoder::Dsd(Box::new(dsd::DsdDecoder::try_new(
                params,
            )?)));
        }
        CODECS
            .make_audio_decoder(params, opts)
            .map(TrackDecoder::Registry)
    }

    /// Audio still held by the codec at the end of the stream (empty for most codecs).
    pub fn drain(&mut self) -> Option<GenericAudioBufferRef<'_>> {
        match self {
            TrackDecoder::Registry(_) => None,
            TrackDecoder::Dsd(decoder) => Some(decoder.drain()),
            #[cfg(feature = "fdk-aac")]
            TrackDecoder::FdkAac(decoder) => Some(decoder.drain()),
        }
    }

    /// Packets the codec holds back before it outputs one (FDK AAC outputs AAC-LC and HE-AAC one
    /// frame late).
    pub fn delay_packets(&self) -> u64 {
        match self {
            TrackDecoder::Registry(_) | TrackDecoder::Dsd(_) => 0,
            #[cfg(feature = "fdk-aac")]
            TrackDecoder::FdkAac(decoder) => decoder.delay_frames(),
        }
    }

    fn inner(&mut self) -> &mut dyn AudioDecoder {
        match self {
            TrackDecoder::Registry(decoder) => &mut **decoder,
            TrackDecoder::Dsd(decoder) => &mut **decoder,
            #[cfg(feature = "fdk-aac")]
            TrackDecoder::FdkAac(decoder) => &mut **decoder,
        }
    }

    fn inner_ref(&self) -> &dyn AudioDecoder {
        match self {
            TrackDecoder::Registry(decoder) => &**decoder,
            TrackDecoder::Dsd(decoder) => &**decoder,
            #[cfg(feature = "fdk-aac")]
            TrackDecoder::FdkAac(decoder) => &**decoder,
        }
    }
}

impl AudioDecoder for TrackDecoder {
    fn reset(&mut self) {
        self.inner().reset()
    }

    fn codec_info(&self) -> &CodecInfo {
        self.inner_ref().codec_info()
    }

    fn codec_params(&self) -> &AudioCodecParameters {
        self.inner_ref().codec_params()
    }

    fn decode_ref(&mut self, packet: &PacketRef<'_>) -> Result<GenericAudioBufferRef<'_>> {
        #[cfg(feature = "fdk-aac")]
        if let TrackDecoder::FdkAac(fdk) = self
            && fdk.needs_fdk().is_none()
        {
            // The first frame tells whether FDK is needed. FDK's output for it is only its
            // delay, so symphonia can take over from this very packet, with nothing lost.
            fdk.decode_ref(packet)?;
            let lc = match fdk.needs_fdk() {
                Some(false) => CODECS
                    .make_audio_decoder(fdk.codec_params(), &AudioDecoderOptions::default())
                    .ok(),
                _ => None,
            };
            match lc {
                Some(lc) => *self = TrackDecoder::Registry(lc),
                None => return Ok(self.last_decoded()),
            }
        }
        self.inner().decode_ref(packet)
    }

    fn finalize(&mut self) -> FinalizeResult {
        self.inner().finalize()
    }

    fn last_decoded(&self) -> GenericAudioBufferRef<'_> {
        self.inner_ref().last_decoded()
    }
}
