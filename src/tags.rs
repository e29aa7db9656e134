//! The stream's own tags (ID3, Vorbis comments, FLAC and MP4 metadata) as symphonia reads them,
//! reduced to the ones players show, in a form free of GStreamer.

use std::sync::Arc;

use symphonia::core::formats::{FormatReader, TrackType};
use symphonia::core::meta::StandardTag;

/// A tag of the stream itself, for the ones players show. Free of GStreamer, like the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamTag {
    Title(String),
    Artist(String),
    Album(String),
    AlbumArtist(String),
    Genre(String),
    Comment(String),
    Composer(String),
    Copyright(String),
    /// As written (a year, or an ISO 8601 date).
    Date(String),
    TrackNumber(u64),
}

impl StreamTag {
    fn from_standard(tag: &StandardTag) -> Option<StreamTag> {
        let text = |s: &Arc<String>| s.trim().to_string();
        Some(match tag {
            StandardTag::TrackTitle(s) => StreamTag::Title(text(s)),
            StandardTag::Artist(s) => StreamTag::Artist(text(s)),
            StandardTag::Album(s) => StreamTag::Album(text(s)),
            StandardTag::AlbumArtist(s) => StreamTag::AlbumArtist(text(s)),
            StandardTag::Genre(s) => StreamTag::Genre(text(s)),
            StandardTag::Comment(s) => StreamTag::Comment(text(s)),
            StandardTag::Composer(s) => StreamTag::Composer(text(s)),
            StandardTag::Copyright(s) => StreamTag::Copyright(text(s)),
            StandardTag::RecordingDate(s) | StandardTag::ReleaseDate(s) => StreamTag::Date(text(s)),
            StandardTag::TrackNumber(n) => StreamTag::TrackNumber(*n),
            _ => return None,
        })
    }
}

/// The tags symphonia read for a stream: its latest metadata revision, media-level and the
/// audio track's.
pub fn stream_tags(format: &mut dyn FormatReader) -> Vec<StreamTag> {
    let track = format.default_track(TrackType::Audio).map(|t| t.id);
    let mut metadata = format.metadata();
    metadata.skip_to_latest();
    let Some(revision) = metadata.current() else {
        return Vec::new();
    };
    let per_track = revision
        .per_track
        .iter()
        .filter(|t| Some(t.track_id as u32) == track)
        .flat_map(|t| &t.metadata.tags);
    let mut tags: Vec<StreamTag> = Vec::new();
    for tag in revision.media.tags.iter().chain(per_track) {
        if let Some(tag) = tag.std.as_ref().and_then(StreamTag::from_standard)
            && !tags.contains(&tag)
        {
            tags.push(tag);
        }
    }
    tags
}
