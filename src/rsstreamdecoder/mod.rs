use gst::glib;
use gst::prelude::*;

mod caps;
mod imp;
mod properties;
mod timeline;

glib::wrapper! {
    /// Decodes a compressed audio byte stream to S16LE PCM. See `imp.rs`.
    pub struct RsStreamDecoder(ObjectSubclass<imp::RsStreamDecoder>)
        @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rsstreamdecoder",
        gst::Rank::NONE,
        RsStreamDecoder::static_type(),
    )
}
