//! rsstreamdecoder: a GStreamer element that turns a stream of compressed audio bytes into raw
//! S16LE PCM at a fixed rate and channel count.
//!
//! The core (`stream_buffer`, `watch`, `container`, `decoder`, `pcm`, `format_hint`) knows nothing of
//! GStreamer;
//! `rsstreamdecoder` is the element glue.

use gst::glib;

pub mod checksum;
pub mod codecs;
pub mod container;
pub mod coroutine;
pub mod decoder;
pub mod format_hint;
pub mod pcm;
pub mod stream_buffer;
pub mod tags;
pub mod watch;

mod rsstreamdecoder;

pub use rsstreamdecoder::RsStreamDecoder;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    rsstreamdecoder::register(plugin)
}

gst::plugin_define!(
    rsstreamdecoder,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MPL-2.0",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
