//! Codec parameters the readers get wrong or leave out, made right before the decoder is built:
//! Opus heads (MP4 `dOps`, Matroska without CodecPrivate) and the profile of
//! ADTS AAC that is not AAC-LC.

use symphonia::core::codecs::audio::AudioCodecParameters;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::formats::FormatReader;

use super::Worker;
use crate::codecs;
use crate::container::mp4_edit;

impl Worker<'_> {
    /// ADTS AAC Main, SSR or LTP: the config its headers give, so the decoder refuses the
    /// profile by name instead of taking it for AAC-LC and failing on every frame.
    pub(super) fn own_adts_config(
        &self,
        format: &dyn FormatReader,
        params: &AudioCodecParameters,
    ) -> Option<Vec<u8>> {
        if format.format_info().short_name != "aac" || params.extra_data.is_some() {
            return None;
        }
        self.reader.adts_config_unless_lc().map(|c| c.to_vec())
    }

    /// The OpusHead to decode an Opus track with in place of what its reader gives, if any: the
    /// MP4 `dOps` box turned into the OpusHead it stands for (with no pre-skip of its own when
    /// the track's edit list skips the priming, as ffmpeg writes it, so it is not skipped
    /// twice); or one made from the channel count and the track's CodecDelay for Matroska
    /// without CodecPrivate, which the spec requires and some writers leave out.
    pub(super) fn own_opus_head(
        &self,
        params: &AudioCodecParameters,
        edit: Option<&mp4_edit::EditList>,
    ) -> Option<Vec<u8>> {
        if params.codec != CODEC_ID_OPUS {
            return None;
        }
        if let Some(extra) = &params.extra_data {
            let pre_skip = edit.filter(|e| e.media_time > 0).map(|_| 0);
            return codecs::opus::opus_head_from_mp4(extra, pre_skip);
        }
        let channels = params.channels.as_ref().map_or(2, |c| c.count()) as u8;
        self.reader.mkv_codec_delay_ns().map(|ns| {
            let pre_skip = (ns * 48_000 + 500_000_000) / 1_000_000_000;
            codecs::opus::plain_opus_head(channels, u16::try_from(pre_skip).unwrap_or(u16::MAX))
        })
    }
}
