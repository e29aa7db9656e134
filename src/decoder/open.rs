//! Opening a format reader for each stream: the probe, a reader named by a hint (with the
//! probe as fallback), and the streams symphonia's readers refuse as they are and read once
//! something is put in front of them (an MP4 whose index comes last, FLAC with a malformed or
//! missing header), and Ogg, which our own reader reads.

use std::io;
use std::sync::LazyLock;

use symphonia::core::common::Tier;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::{Hint, Probe, ProbeOptions};
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions, ReadBytes, SeekBuffered};
use symphonia::core::meta::MetadataOptions;
use symphonia::default::formats as readers;

use super::{DecoderEvent, MAX_PROBE_BYTES, Worker};
use crate::container::flac_frames::{FlacFrameReader, Stamping};
use crate::container::mpeg_audio::MpegAudioReader;
use crate::container::ogg_audio::OggAudioReader;
use crate::container::opus_units::{OPUS_PACKETS_INFO, OpusUnitsReader};
use crate::container::source::Unseekable;
use crate::container::ts_unwrap::TsAudio;
use crate::container::{self, PcmStreamReader, mp4};
use crate::container::{mp4_edit, mp4_tracks};
use crate::format_hint::ContainerHint;

/// Symphonia's read-ahead ring: a power of two above 32 KiB. Kept small: one per stream.
const SOURCE_BUFFER_LEN: usize = 64 * 1024;

static PROBE: LazyLock<Probe> = LazyLock::new(|| {
    let mut probe = Probe::new_with_options(&ProbeOptions {
        max_probe_depth: MAX_PROBE_BYTES,
        ..Default::default()
    });
    // Ours first: they read the PCM containers symphonia's readers refuse, and say no to what
    // they do not read (ADPCM WAV), which symphonia's readers then get.
    probe.register_format_at_tier::<PcmStreamReader>(Tier::Preferred);
    // Ahead of symphonia's MPEG reader, which refuses free format and streams of one frame.
    probe.register_format_at_tier::<MpegAudioReader>(Tier::Preferred);
    // For Ogg after junk or a tag (an Ogg stream's first page at the start is opened directly).
    probe.register_format_at_tier::<OggAudioReader>(Tier::Preferred);
    // symphonia has no AMR reader.
    probe.register_format::<container::amr::AmrReader>();
    // symphonia has no WavPack reader; ahead of its WAV reader, which would find the WAV header
    // inside the first block.
    probe.register_format_at_tier::<container::wavpack::WavPackReader>(Tier::Preferred);
    // Likewise for Monkey's Audio, whose header also holds the original WAV header.
    probe.register_format_at_tier::<container::ape::ApeReader>(Tier::Preferred);
    // symphonia has no Musepack reader; a false MPEG frame sync in its data made the probe
    // take a few frames of noise for MP3.
    probe.register_format_at_tier::<container::musepack::MusepackReader>(Tier::Preferred);
    // symphonia has no TTA reader.
    probe.register_format_at_tier::<container::tta::TtaReader>(Tier::Preferred);
    // Nor DSD readers.
    probe.register_format_at_tier::<container::dsf::DsfReader>(Tier::Preferred);
    probe.register_format_at_tier::<container::dsdiff::DsdiffReader>(Tier::Preferred);
    // Nor an AC-3 reader (this one finds AC-3 after junk or a tag; at the start it is opened
    // directly).
    probe.register_format_at_tier::<container::ac3::Ac3Reader>(Tier::Preferred);
    // Nor a LOAS/LATM reader (likewise).
    probe.register_format_at_tier::<container::loas::LoasReader>(Tier::Preferred);
    symphonia::default::register_enabled_formats(&mut probe);
    probe
});

impl Worker<'_> {
    pub(super) fn new_source(&self) -> MediaSourceStream<'static> {
        read_ahead(Unseekable::new(self.reader.clone()))
    }

    /// Builds a format reader: from the hint for the first stream when there is one (falling
    /// back to the probe, with the bytes the hinted reader consumed replayed), else by probing.
    pub(super) fn open(
        &mut self,
        mut source: MediaSourceStream<'static>,
    ) -> Result<Box<dyn FormatReader>, String> {
        if let Some(ContainerHint::OpusPackets(layout)) = self.settings.hint {
            // Packets the element framed: nothing to probe.
            self.reader.set_retain(None);
            return OpusUnitsReader::new(source, &layout.head(), &OPUS_PACKETS_INFO)
                .map(|reader| Box::new(reader) as Box<dyn FormatReader>);
        }
        if let Some(TsAudio::Opus { channel_config }) = self.reader.ts_audio() {
            // Opus access units unwrapped from a transport stream: nothing to probe.
            self.reader.set_retain(None);
            return OpusUnitsReader::for_transport_stream(source, channel_config)
                .map(|reader| Box::new(reader) as Box<dyn FormatReader>);
        }
        let may_be_ape = matches!(self.settings.hint, None | Some(ContainerHint::Ape));
        if may_be_ape && container::ape::at_header(&mut source) {
            // Its header holds the original WAV header, which a hinted reader or the probe
            // could take for the stream's.
            self.reader.set_retain(None);
            return container::ape::ApeReader::try_new(source)
                .map(|reader| Box::new(reader) as Box<dyn FormatReader>)
                .map_err(|e| format!("the Monkey's Audio stream could not be read: {e}"));
        }
        let may_be_musepack = matches!(self.settings.hint, None | Some(ContainerHint::Musepack));
        if may_be_musepack && container::musepack::at_header(&mut source) {
            self.reader.set_retain(None);
            return container::musepack::MusepackReader::try_new(source)
                .map(|reader| Box::new(reader) as Box<dyn FormatReader>)
                .map_err(|e| format!("the Musepack stream could not be read: {e}"));
        }
        let may_be_tta = matches!(self.settings.hint, None | Some(ContainerHint::Tta));
        if may_be_tta && container::tta::at_header(&mut source) {
            self.reader.set_retain(None);
            return container::tta::TtaReader::try_new(source)
                .map(|reader| Box::new(reader) as Box<dyn FormatReader>)
                .map_err(|e| format!("the True Audio stream could not be read: {e}"));
        }
        let may_be_ac3 = matches!(self.settings.hint, None | Some(ContainerHint::Ac3));
        if may_be_ac3 && let Some(header) = container::ac3::at_header(&mut source) {
            self.reader.set_retain(None);
            return Ok(Box::new(container::ac3::Ac3Reader::starting_with(
                source, &header,
            )));
        }
        let may_be_flv = matches!(self.settings.hint, None | Some(ContainerHint::Flv));
        if may_be_flv && container::flv::at_header(&mut source) {
            self.reader.set_retain(None);
            return container::flv::FlvReader::try_new(source)
                .map(|reader| Box::new(reader) as Box<dyn FormatReader>);
        }
        let may_be_avi = matches!(self.settings.hint, None | Some(ContainerHint::Avi));
        if may_be_avi && container::avi::at_header(&mut source) {
            self.reader.set_retain(None);
            return container::avi::AviReader::try_new(source)
                .map(|reader| Box::new(reader) as Box<dyn FormatReader>);
        }
        let may_be_loas = matches!(self.settings.hint, None | Some(ContainerHint::Loas));
        if may_be_loas && container::loas::at_frames(&mut source) {
            self.reader.set_retain(None);
            return container::loas::LoasReader::try_new(source)
                .map(|reader| Box::new(reader) as Box<dyn FormatReader>)
                .map_err(|e| format!("the LOAS/LATM AAC stream could not be read: {e}"));
        }
        if self.settings.hint.is_none() {
            if container::dsf::at_header(&mut source) {
                self.reader.set_retain(None);
                return container::dsf::DsfReader::try_new(source)
                    .map(|reader| Box::new(reader) as Box<dyn FormatReader>)
                    .map_err(|e| format!("the DSF stream could not be read: {e}"));
            }
            if container::dsdiff::at_header(&mut source) {
                self.reader.set_retain(None);
                return container::dsdiff::DsdiffReader::try_new(source)
                    .map(|reader| Box::new(reader) as Box<dyn FormatReader>)
                    .map_err(|e| format!("the DSDIFF stream could not be read: {e}"));
            }
        }
        if !matches!(self.settings.hint, Some(ContainerHint::RawPcm(_)))
            && let Some(name) = container::known_undecodable_format(&mut source)
        {
            return Err(format!(
                "no supported audio format found: the stream is {name}, which this element does \
                 not decode"
            ));
        }
        let may_be_mp4 = matches!(self.settings.hint, None | Some(ContainerHint::IsoMp4));
        if may_be_mp4 && let Ok(Some(mp4::Layout::MediaFirst)) = mp4::layout(&mut source) {
            return self.open_held_mp4(source);
        }
        let may_be_ogg = matches!(self.settings.hint, None | Some(ContainerHint::Ogg));
        if may_be_ogg && container::ogg_audio::at_first_page(&mut source) {
            return self.open_ogg_audio(source);
        }
        let may_be_wav = matches!(self.settings.hint, None | Some(ContainerHint::Wav));
        if may_be_wav && container::riff::mpeg_audio_data(&mut source) {
            // MP3 in WAV (format tag 0x55), which symphonia's WAV reader refuses: the data
            // chunk's frames go to the MPEG audio reader.
            self.reader.set_retain(None);
            return MpegAudioReader::try_new(source, FormatOptions::default())
                .map(|reader| Box::new(reader) as Box<dyn FormatReader>)
                .map_err(|e| format!("the WAV file's MPEG audio could not be read: {e}"));
        }
        let may_be_wavpack = matches!(self.settings.hint, None | Some(ContainerHint::WavPack));
        if may_be_wavpack && container::wavpack::at_block(&mut source) {
            // The first frame may be longer than a hinted reader may read before its hint is
            // given up (several blocks of half a second for surround): the header is proof
            // enough.
            self.reader.set_retain(None);
            return container::wavpack::WavPackReader::try_new(source)
                .map(|reader| Box::new(reader) as Box<dyn FormatReader>)
                .map_err(|e| format!("the WavPack stream could not be read: {e}"));
        }
        let may_be_flac = matches!(self.settings.hint, None | Some(ContainerHint::Flac));
        if may_be_flac && let Ok(Some(header)) = container::flac::repaired_header(&mut source) {
            return self.open_repaired_flac(header, source);
        }
        let source = match self.settings.hint.filter(|_| self.streams_opened == 0) {
            Some(ContainerHint::RawPcm(raw)) => {
                // Nothing to probe: the description is all there is.
                self.reader.set_retain(None);
                if raw.coding == container::SampleCoding::MuLaw
                    && container::au::at_header(&mut source)
                {
                    // `audio/basic` names headerless µ-law, and is also what web servers call
                    // `.au` files: a Sun AU header says which this is.
                    return container::open_pcm_container(source)
                        .map(|reader| Box::new(reader) as Box<dyn FormatReader>)
                        .map_err(|e| format!("the Sun AU stream could not be read: {e}"));
                }
                let header = raw.header()?;
                return Ok(Box::new(PcmStreamReader::new(
                    source,
                    &container::RAW_INFO,
                    header,
                )));
            }
            Some(hint) => {
                // Retention has been on since the first byte (see `run`), so a rewind replays
                // everything `source` has seen.
                drop(source);
                self.reader.rewind();
                let attempt = open_hinted(hint, self.new_source());
                match attempt {
                    Ok(format) => {
                        // The reader owns what it read now; nothing to replay any more.
                        self.reader.set_retain(None);
                        return Ok(format);
                    }
                    Err(_) if self.reader.is_aborted() => return Err("aborted".into()),
                    Err(_) => {
                        self.reader.rewind();
                        self.reader.set_retain(None);
                        self.new_source()
                    }
                }
            }
            None => source,
        };
        match probe(source) {
            Ok(format) => Ok(format),
            Err(_) if self.reader.is_aborted() => Err("aborted".into()),
            Err(e) => {
                // What the probe read, read again in another way.
                if self.streams_opened == 0
                    && let Some(head) = self.reader.take_whole_head()
                {
                    if let Some(format) = self.open_after_damaged_id3v2(&head, &e) {
                        return Ok(format);
                    }
                    if let Some(codec) = container::undecodable_wav_codec(&head) {
                        return Err(format!(
                            "no supported audio format found: the stream is {codec}, which this \
                             element does not decode"
                        ));
                    }
                    if may_be_flac && let Some(format) = self.open_headerless_flac(head, &e) {
                        return Ok(format);
                    }
                }
                Err(format!(
                    "no supported audio format found in the first {} KiB of the stream ({e})",
                    MAX_PROBE_BYTES / 1024
                ))
            }
        }
    }

    /// A stream whose leading ID3v2 tag symphonia's probe refuses (mutagen's `issue_21.id3`: an
    /// ID3v2.4 extended header of the wrong length): the probe runs again on what follows the
    /// tag, whose length its header states. The tag's information is lost, the audio is not.
    fn open_after_damaged_id3v2(
        &mut self,
        head: &[u8],
        probe_error: &SymphoniaError,
    ) -> Option<Box<dyn FormatReader>> {
        let tag_len = container::mpeg_audio::id3v2_len(head)?;
        let source = match head.get(tag_len..) {
            Some(after_tag) => bytes_then(after_tag.to_vec(), self.new_source()),
            None => {
                // The probe gave up inside the tag: skip the rest of it.
                let mut source = self.new_source();
                source.ignore_bytes((tag_len - head.len()) as u64).ok()?;
                source
            }
        };
        let format = probe(source).ok()?;
        self.events.send(DecoderEvent::Warning(format!(
            "the ID3v2 tag at the start of the stream could not be read ({probe_error}): it is \
             skipped"
        )));
        Some(format)
    }

    /// FLAC frames with no `fLaC` header before them (a stream joined after its start): the
    /// probe found nothing, so the bytes it read are read again behind the STREAMINFO their
    /// frame headers imply (see `container::flac::header_for_frames`).
    fn open_headerless_flac(
        &mut self,
        head: Vec<u8>,
        probe_error: &SymphoniaError,
    ) -> Option<Box<dyn FormatReader>> {
        let (at, header) = container::flac::header_for_frames(&head)?;
        if memchr::memmem::find(&head[..at], b"fLaC").is_some() {
            // A header was there and could not be read: the frames say what it should have.
            self.events.send(DecoderEvent::Warning(format!(
                "the FLAC header could not be read ({probe_error}): the frames are decoded as \
                 their own headers describe them"
            )));
        }
        let mut replay = header;
        replay.extend_from_slice(&head[at..]);
        let source = bytes_then(replay, self.new_source());
        readers::FlacReader::try_new(source, FormatOptions::default())
            .ok()
            .map(|reader| FlacFrameReader::take_over(Box::new(reader), Stamping::Header))
    }

    /// An MP4 whose index comes last: holds the file until the index arrives, then reads the
    /// copy (see `container::mp4`).
    fn open_held_mp4(
        &mut self,
        mut source: MediaSourceStream<'static>,
    ) -> Result<Box<dyn FormatReader>, String> {
        // The watchers of other containers must not cut the media data short, and a hint's
        // replay limit must not either.
        self.reader.set_mpeg_split(false);
        self.reader.set_flac_split(false);
        self.reader.set_mkv_watch(false);
        self.reader.set_retain(None);
        let held = mp4::hold_until_index(&mut source, self.settings.mp4_buffer_limit)?;
        self.held_edit = Some(mp4_edit::audio_edit_list(&held, self.settings.audio_track));
        let unnamed = mp4_tracks::unnamed_tracks(&held);
        self.after_held_file = Some(source);
        // Seekable: the reader goes to the media data after the index.
        let copy = MediaSourceStream::new(
            Box::new(io::Cursor::new(held)),
            MediaSourceStreamOptions {
                buffer_len: SOURCE_BUFFER_LEN,
            },
        );
        readers::IsoMp4Reader::try_new(copy, FormatOptions::default())
            .map(|reader| mp4_tracks::with_unnamed_tracks(Box::new(reader), &unnamed))
            .map_err(|e| format!("the MP4 file could not be read once its index arrived: {e}"))
    }

    /// A FLAC whose tags symphonia would refuse: its repaired header, then the rest of the
    /// stream (see `container::flac`).
    fn open_repaired_flac(
        &mut self,
        header: container::flac::RepairedHeader,
        source: MediaSourceStream<'static>,
    ) -> Result<Box<dyn FormatReader>, String> {
        self.reader.set_retain(None);
        for block in &header.dropped_blocks {
            self.events.send(DecoderEvent::Warning(format!(
                "the FLAC file's {block} is malformed: it is ignored"
            )));
        }
        if let Some((from, frames_at)) = header.skipped_to_frames {
            self.events.send(DecoderEvent::Warning(format!(
                "the FLAC file's metadata blocks are damaged from byte {from} on (a block's \
                 length is wrong): they are ignored, and decoding starts at the first frame, \
                 byte {frames_at}"
            )));
        }
        let repaired = bytes_then(header.bytes, source);
        let reader =
            readers::FlacReader::try_new(repaired, FormatOptions::default()).map_err(|e| {
                format!("the FLAC stream could not be read after its header was repaired: {e}")
            })?;
        let stamping = if header.old_variable_blocks {
            Stamping::SampleCount
        } else {
            Stamping::Header
        };
        Ok(FlacFrameReader::take_over(Box::new(reader), stamping))
    }

    /// Ogg: our reader (see `container::ogg_audio`), whose message says why a file with nothing
    /// to decode cannot be.
    fn open_ogg_audio(
        &mut self,
        source: MediaSourceStream<'static>,
    ) -> Result<Box<dyn FormatReader>, String> {
        self.reader.set_retain(None);
        OggAudioReader::open(source, self.settings.audio_track)
            .map(|reader| Box::new(reader) as Box<dyn FormatReader>)
    }
}

/// The reader the probe finds for `source`; a FLAC reader comes wrapped in our frame reader
/// (which passes any other reader through).
fn probe(
    source: MediaSourceStream<'static>,
) -> symphonia::core::errors::Result<Box<dyn FormatReader>> {
    let format = PROBE.probe(
        &Hint::new(),
        source,
        FormatOptions::default(),
        MetadataOptions::default(),
    )?;
    Ok(FlacFrameReader::take_over(format, Stamping::Header))
}

/// A source that reads `bytes` (a repaired or made-up header), then the rest of `source`.
fn bytes_then(bytes: Vec<u8>, source: MediaSourceStream<'static>) -> MediaSourceStream<'static> {
    read_ahead(Unseekable::new(io::Read::chain(
        io::Cursor::new(bytes),
        source,
    )))
}

/// A symphonia source over the forward-only byte stream `inner`, with our read-ahead size.
pub(super) fn read_ahead(
    inner: Unseekable<impl io::Read + Send + Sync + 'static>,
) -> MediaSourceStream<'static> {
    MediaSourceStream::new(
        Box::new(inner),
        MediaSourceStreamOptions {
            buffer_len: SOURCE_BUFFER_LEN,
        },
    )
}

/// Builds the reader a hint names.
fn open_hinted(
    hint: ContainerHint,
    source: MediaSourceStream<'static>,
) -> symphonia::core::errors::Result<Box<dyn FormatReader>> {
    let opts = FormatOptions::default();
    Ok(match hint {
        ContainerHint::MpegAudio => Box::new(MpegAudioReader::try_new(source, opts)?),
        // Raw AAC frames reach the decoder behind the ADTS headers the element gave them.
        ContainerHint::Adts | ContainerHint::AacFrames(_) => {
            Box::new(readers::AdtsReader::try_new(source, opts)?)
        }
        ContainerHint::Ogg => Box::new(OggAudioReader::try_new(source)?),
        // A WAV or AIFF variant ours refuses (ADPCM) falls back to the probe, where symphonia's
        // readers get it.
        ContainerHint::Wav | ContainerHint::Aiff | ContainerHint::Au => {
            match container::open_pcm_container(source) {
                Ok(reader) => Box::new(reader),
                Err(container::HeaderError::Io(e)) => return Err(SymphoniaError::IoError(e)),
                Err(_) => return Err(SymphoniaError::Unsupported("not a PCM container")),
            }
        }
        ContainerHint::Flac => FlacFrameReader::take_over(
            Box::new(readers::FlacReader::try_new(source, opts)?),
            Stamping::Header,
        ),
        ContainerHint::Matroska => Box::new(readers::MkvReader::try_new(source, opts)?),
        ContainerHint::IsoMp4 => Box::new(readers::IsoMp4Reader::try_new(source, opts)?),
        ContainerHint::Amr => Box::new(container::amr::AmrReader::try_new(source)?),
        ContainerHint::WavPack => Box::new(container::wavpack::WavPackReader::try_new(source)?),
        ContainerHint::Ape => Box::new(container::ape::ApeReader::try_new(source)?),
        ContainerHint::Musepack => Box::new(container::musepack::MusepackReader::try_new(source)?),
        ContainerHint::Tta => Box::new(container::tta::TtaReader::try_new(source)?),
        ContainerHint::Ac3 => Box::new(container::ac3::Ac3Reader::try_new(source)?),
        ContainerHint::Loas => Box::new(container::loas::LoasReader::try_new(source)?),
        ContainerHint::Avi => Box::new(
            container::avi::AviReader::try_new(source)
                .map_err(|_| SymphoniaError::Unsupported("not an AVI stream with audio"))?,
        ),
        ContainerHint::Flv => Box::new(
            container::flv::FlvReader::try_new(source)
                .map_err(|_| SymphoniaError::Unsupported("not an FLV stream with audio"))?,
        ),
        ContainerHint::RawPcm(_) => unreachable!("raw PCM is opened without a reader to try"),
        ContainerHint::OpusPackets(_) => unreachable!("Opus packets are opened without a probe"),
    })
}

/// True when the source has no more bytes (waits for bytes or the end of input).
pub(super) fn at_end(source: &mut MediaSourceStream<'static>) -> bool {
    match source.read_byte() {
        Ok(_) => {
            source.seek_buffered_rev(1);
            false
        }
        Err(_) => true,
    }
}
