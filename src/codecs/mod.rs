//! The codec registry: symphonia's codecs, libopus for Opus (through
//! `symphonia-adapter-libopus` for mono and stereo, `opus_multistream` for more channels).

pub mod opus_multistream;

use std::sync::LazyLock;

use symphonia::core::codecs::registry::CodecRegistry;
use symphonia::core::common::Tier;

pub static CODECS: LazyLock<CodecRegistry> = LazyLock::new(|| {
    let mut registry = CodecRegistry::new();
    symphonia::default::register_enabled_codecs(&mut registry);
    registry.register_audio_decoder::<symphonia_adapter_libopus::OpusDecoder>();
    // Ahead of the adapter: it takes every Opus stream and hands mono and stereo to the adapter.
    registry.register_audio_decoder_at_tier::<opus_multistream::OpusDecoder>(Tier::Preferred);
    registry
});
