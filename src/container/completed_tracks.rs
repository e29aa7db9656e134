//! symphonia's reader with its track list completed: tracks its own parsers leave without codec
//! parameters, or with too few for our decoders (`mp4_tracks`, `mkv_tta`, `mkv_acm`), and their
//! packets retimed on the way out where the container's timing does not fit the codec. Every
//! other call goes to the reader.

use symphonia::core::errors::Result;
use symphonia::core::formats::{
    FormatInfo, FormatReader, MediaInfo, SeekMode, SeekTo, SeekedTo, Track,
};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::Metadata;
use symphonia::core::packet::Packet;

/// What happens to each packet of the reader: passed on as it is, changed, or (`None`) dropped.
pub(crate) trait PacketMap: Send + Sync {
    fn map(&self, packet: Packet) -> Option<Packet>;
}

/// Packets pass as they are.
impl PacketMap for () {
    fn map(&self, packet: Packet) -> Option<Packet> {
        Some(packet)
    }
}

/// `inner` with `tracks` in place of its own, its packets through `packets`.
pub(crate) struct CompletedTracks<'s, P: PacketMap = ()> {
    inner: Box<dyn FormatReader + 's>,
    tracks: Vec<Track>,
    packets: P,
}

impl<'s, P: PacketMap> CompletedTracks<'s, P> {
    pub(crate) fn new(
        inner: Box<dyn FormatReader + 's>,
        tracks: Vec<Track>,
        packets: P,
    ) -> CompletedTracks<'s, P> {
        CompletedTracks {
            inner,
            tracks,
            packets,
        }
    }
}

impl<P: PacketMap> FormatReader for CompletedTracks<'_, P> {
    fn format_info(&self) -> &FormatInfo {
        self.inner.format_info()
    }

    fn media_info(&self) -> &MediaInfo {
        self.inner.media_info()
    }

    fn metadata(&mut self) -> Metadata<'_> {
        self.inner.metadata()
    }

    fn seek(&mut self, mode: SeekMode, to: SeekTo) -> Result<SeekedTo> {
        self.inner.seek(mode, to)
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn next_packet(&mut self) -> Result<Option<Packet>> {
        loop {
            let Some(packet) = self.inner.next_packet()? else {
                return Ok(None);
            };
            if let Some(packet) = self.packets.map(packet) {
                return Ok(Some(packet));
            }
        }
    }

    fn into_inner<'a>(self: Box<Self>) -> MediaSourceStream<'a>
    where
        Self: 'a,
    {
        self.inner.into_inner()
    }
}
