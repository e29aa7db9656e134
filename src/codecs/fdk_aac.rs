//! AAC of every profile radio and streaming use: LC, HE-AAC (SBR), HE-AACv2 (PS), LD and ELD,
//! mono to 7.1, decoded with Fraunhofer's FDK AAC (the `fdk-aac` crate builds it from source).
//!
//! Written here rather than taken from `symphonia-adapter-fdk-aac` 0.2: that adapter rebuilds an
//! ADTS header around each packet (an allocation per packet, and ADTS cannot describe HE-AAC
//! signalled explicitly, LD or ELD), refuses more than two channels and does not reset; the
//! safe `fdk-aac` crate cannot set decoder parameters or flush. This one hands FDK the stream's
//! AudioSpecificConfig as it is, turns FDK's output limiter off (it bends peaks and delays the
//! output by its look-ahead; we convert from full-scale samples ourselves) and reads the rate
//! and channels of each decoded frame from FDK, because SBR doubles the rate and PS turns mono
//! into stereo only once the first frame is decoded. The unsafe FFI calls live in
//! [`FdkDecoder`] only.

use std::ptr::NonNull;

use symphonia::core::audio::{
    AsGenericAudioBufferRef, Audio, AudioBuffer, AudioMut, AudioSpec, Channels,
    GenericAudioBufferRef, Position,
};
use symphonia::core::codecs::audio::well_known::CODEC_ID_AAC;
use symphonia::core::codecs::audio::well_known::profiles::{
    CODEC_PROFILE_AAC_HE, CODEC_PROFILE_AAC_HE_V2, CODEC_PROFILE_AAC_LC,
};
use symphonia::core::codecs::audio::{
    AudioCodecParameters, AudioDecoder, AudioDecoderOptions, FinalizeResult,
};
use symphonia::core::codecs::registry::{RegisterableAudioDecoder, SupportedAudioCodec};
use symphonia::core::codecs::{CodecInfo, CodecProfile, CodecProfileInfo};
use symphonia::core::errors::{Error, Result, unsupported_error};
use symphonia::core::packet::PacketRef;

use fdk_aac_sys as sys;

use crate::container::mpeg_split::MPEG4_SAMPLE_RATES;

/// The longest frame FDK outputs: 1024 core samples doubled by SBR.
const MAX_FRAMES: usize = 2048;
/// AAC channel configurations go up to 7.1.
const MAX_CHANNELS: usize = 8;

/// Audio object types FDK cannot decode, with the name users know them by.
fn unsupported_object_type(aot: u8) -> Option<&'static str> {
    match aot {
        1 => Some("aac: AAC Main is not supported (LC, HE-AAC, HE-AACv2, LD and ELD are)"),
        3 => Some("aac: AAC SSR is not supported (LC, HE-AAC, HE-AACv2, LD and ELD are)"),
        4 => Some("aac: AAC LTP is not supported (LC, HE-AAC, HE-AACv2, LD and ELD are)"),
        _ => None,
    }
}

/// The low-delay audio object types: AAC-LD (ER AAC LD) and AAC-ELD.
const LD: u8 = 23;
const ELD: u8 = 39;

/// The audio object type an AudioSpecificConfig starts with (5 bits, 31 escapes to 32 + 6 bits).
pub fn object_type(asc: &[u8]) -> Option<u8> {
    let first = *asc.first()? >> 3;
    if first != 31 {
        return Some(first);
    }
    let bits = u16::from_be_bytes([asc[0], *asc.get(1)?]);
    Some(32 + ((bits >> 5) & 0x3f) as u8)
}

/// The two-byte AudioSpecificConfig of an AAC-LC stream, for streams that carry none (ADTS:
/// symphonia's reader passes on only the rate and channel count). FDK still finds SBR and PS
/// signalled implicitly in the frames.
fn lc_config(rate: u32, channels: usize) -> Result<[u8; 2]> {
    let rate_index = rate_index(rate)?;
    let channel_config = match channels {
        1..=6 => channels as u16,
        8 => 7,
        _ => return unsupported_error("aac: no channel configuration for this channel count"),
    };
    let bits = (2u16 << 11) | ((rate_index as u16) << 7) | (channel_config << 3);
    Ok(bits.to_be_bytes())
}

/// The index of `rate` in the MPEG-4 sampling frequency table, as ADTS headers and
/// AudioSpecificConfigs give it.
fn rate_index(rate: u32) -> Result<u8> {
    match MPEG4_SAMPLE_RATES.iter().position(|r| *r == rate) {
        Some(index) => Ok(index as u8),
        None => unsupported_error("aac: sample rate outside the MPEG-4 table"),
    }
}

/// The speakers of FDK's output, which is in WAVE order for the standard configurations.
fn positions(channels: usize) -> Option<Position> {
    use Position as P;
    let front = P::FRONT_LEFT | P::FRONT_RIGHT;
    Some(match channels {
        1 => P::FRONT_CENTER,
        2 => front,
        3 => front | P::FRONT_CENTER,
        4 => front | P::FRONT_CENTER | P::REAR_CENTER,
        5 => front | P::FRONT_CENTER | P::REAR_LEFT | P::REAR_RIGHT,
        6 => front | P::FRONT_CENTER | P::LFE1 | P::REAR_LEFT | P::REAR_RIGHT,
        8 => {
            front
                | P::FRONT_CENTER
                | P::LFE1
                | P::REAR_LEFT
                | P::REAR_RIGHT
                | P::SIDE_LEFT
                | P::SIDE_RIGHT
        }
        _ => return None,
    })
}

/// Owns an FDK AAC decoder instance for raw access units.
struct FdkDecoder(NonNull<sys::AAC_DECODER_INSTANCE>);

// SAFETY: the instance is plain memory owned by this value; FDK keeps no thread-local or global
// references to it. It is only touched through `&mut self` and in `drop`, so moving it to
// another thread (Send) and sharing `&FdkDecoder` (Sync, which allows no access) are sound.
unsafe impl Send for FdkDecoder {}
unsafe impl Sync for FdkDecoder {}

/// What FDK says about the frame it decoded last.
struct FrameInfo {
    rate: u32,
    channels: usize,
    frames: usize,
    /// SBR or PS at work: the output's rate or channel count differs from the AAC core's.
    extended: bool,
    core_channels: usize,
    /// FDK holds each frame back until the next one is decoded (its error concealment needs
    /// the next frame: AAC-LC, HE-AAC); the low-delay object types (LD, ELD) give each frame at
    /// once.
    holds_a_frame: bool,
    /// The speakers as the stream describes them (a program config element may lay out any
    /// channel count its own way), when FDK's channel types map to GStreamer's positions.
    layout: Option<Position>,
}

/// The speakers FDK's channel types describe, in its output order (front, side, back, LFE: the
/// positions' bit order): a quad stream's program config element gives two front and two back
/// channels, not the front centre and rear centre the channel count alone would suggest.
fn positions_from_types(types: &[sys::AUDIO_CHANNEL_TYPE]) -> Option<Position> {
    use Position as P;
    let count = |kind| types.iter().filter(|t| **t == kind).count();
    let (front, side, back, lfe) = (
        count(sys::AUDIO_CHANNEL_TYPE_ACT_FRONT),
        count(sys::AUDIO_CHANNEL_TYPE_ACT_SIDE),
        count(sys::AUDIO_CHANNEL_TYPE_ACT_BACK),
        count(sys::AUDIO_CHANNEL_TYPE_ACT_LFE),
    );
    if front + side + back + lfe != types.len() {
        return None;
    }
    let front = match front {
        0 => P::empty(),
        1 => P::FRONT_CENTER,
        2 => P::FRONT_LEFT | P::FRONT_RIGHT,
        3 => P::FRONT_LEFT | P::FRONT_RIGHT | P::FRONT_CENTER,
        _ => return None,
    };
    let side = match side {
        0 => P::empty(),
        2 => P::SIDE_LEFT | P::SIDE_RIGHT,
        _ => return None,
    };
    let back = match back {
        0 => P::empty(),
        1 => P::REAR_CENTER,
        2 => P::REAR_LEFT | P::REAR_RIGHT,
        3 => P::REAR_LEFT | P::REAR_RIGHT | P::REAR_CENTER,
        _ => return None,
    };
    let lfe = match lfe {
        0 => P::empty(),
        1 => P::LFE1,
        _ => return None,
    };
    Some(front | side | back | lfe)
}

fn check(error: sys::AAC_DECODER_ERROR) -> Result<()> {
    if error == sys::AAC_DECODER_ERROR_AAC_DEC_OK {
        return Ok(());
    }
    // FDK's error codes group by kind (aacdecoder_lib.h); say which kind, and the code.
    let kind = match error {
        0x1000..=0x1fff => "aac: damaged or incomplete frame",
        0x2000..=0x2fff => "aac: the stream's configuration cannot be decoded",
        0x4000..=0x4fff => "aac: damaged frame (FDK concealed it)",
        _ => "aac: the FDK decoder failed",
    };
    Err(Error::DecodeError(kind))
}

impl FdkDecoder {
    fn open(transport: sys::TRANSPORT_TYPE) -> Result<FdkDecoder> {
        // SAFETY: plain constructor; a null return is handled below.
        let handle = unsafe { sys::aacDecoder_Open(transport, 1) };
        let Some(handle) = NonNull::new(handle) else {
            return unsupported_error("aac: FDK could not allocate a decoder");
        };
        let decoder = FdkDecoder(handle);
        // SAFETY: a valid handle; the parameter takes an integer.
        check(unsafe {
            sys::aacDecoder_SetParam(
                decoder.0.as_ptr(),
                sys::AACDEC_PARAM_AAC_PCM_LIMITER_ENABLE,
                0,
            )
        })?;
        Ok(decoder)
    }

    /// A decoder fed ADTS frames, header included: FDK's ADTS parser takes the channel layout
    /// from a program config element in the frames, which raw mode cannot be configured with.
    fn new_adts() -> Result<FdkDecoder> {
        Self::open(sys::TRANSPORT_TYPE_TT_MP4_ADTS)
    }

    /// A decoder fed raw access units described by an AudioSpecificConfig.
    fn new(config: &[u8]) -> Result<FdkDecoder> {
        let decoder = Self::open(sys::TRANSPORT_TYPE_TT_MP4_RAW)?;
        let mut config_ptr = config.as_ptr() as *mut u8;
        let config_len = config.len() as u32;
        // SAFETY: FDK reads `config_len` bytes from the one buffer `config_ptr` points to, which
        // `config` keeps alive for the call; it does not write through either pointer.
        check(unsafe {
            sys::aacDecoder_ConfigRaw(decoder.0.as_ptr(), &mut config_ptr, &config_len)
        })
        .or_else(|_| unsupported_error("aac: FDK refuses the stream's AudioSpecificConfig"))?;
        Ok(decoder)
    }

    /// Decodes one access unit into `pcm` (interleaved, WAVE channel order).
    fn decode(&mut self, unit: &[u8], pcm: &mut [i16]) -> Result<FrameInfo> {
        let mut unit_ptr = unit.as_ptr() as *mut u8;
        let unit_len = unit.len() as u32;
        let mut left = unit_len;
        // SAFETY: FDK copies up to `unit_len` bytes from `unit_ptr` (alive for the call) into its
        // own buffer and writes how many it did not take to `left`.
        check(unsafe {
            sys::aacDecoder_Fill(self.0.as_ptr(), &mut unit_ptr, &unit_len, &mut left)
        })?;
        if left != 0 {
            return Err(Error::DecodeError(
                "aac: access unit larger than FDK's input buffer",
            ));
        }
        self.decode_flags(pcm, 0)?;
        Ok(self.frame_info())
    }

    /// Outputs the frame FDK holds back (its filter banks' delayed audio).
    fn flush(&mut self, pcm: &mut [i16]) -> Result<FrameInfo> {
        self.decode_flags(pcm, sys::AACDEC_FLUSH)?;
        Ok(self.frame_info())
    }

    /// Forgets all history: the next unit starts afresh.
    fn clear(&mut self, pcm: &mut [i16]) {
        let _ = self.decode_flags(pcm, sys::AACDEC_FLUSH | sys::AACDEC_CLRHIST);
    }

    /// Decodes what was filled (flags 0), or flushes (FLUSH: no new input is taken).
    fn decode_flags(&mut self, pcm: &mut [i16], flags: u32) -> Result<()> {
        // SAFETY: FDK writes at most `pcm.len()` samples into `pcm`.
        check(unsafe {
            sys::aacDecoder_DecodeFrame(self.0.as_ptr(), pcm.as_mut_ptr(), pcm.len() as i32, flags)
        })
    }

    fn frame_info(&self) -> FrameInfo {
        // SAFETY: FDK returns a pointer to a struct inside the instance, valid until the next
        // call on it; the fields are copied out at once.
        let info = unsafe { &*sys::aacDecoder_GetStreamInfo(self.0.as_ptr()) };
        let channels = info.numChannels.max(0) as usize;
        let layout = (!info.pChannelType.is_null() && channels > 0)
            .then(|| {
                // SAFETY: FDK fills `pChannelType` with `numChannels` entries for the frame it
                // decoded; read here, before any other call on the instance.
                let types = unsafe { std::slice::from_raw_parts(info.pChannelType, channels) };
                positions_from_types(types)
            })
            .flatten();
        FrameInfo {
            layout,
            rate: info.sampleRate.max(0) as u32,
            channels: info.numChannels.max(0) as usize,
            frames: info.frameSize.max(0) as usize,
            extended: info.sampleRate != info.aacSampleRate
                || info.numChannels != info.aacNumChannels,
            core_channels: info.aacNumChannels.max(0) as usize,
            holds_a_frame: info.frameSize > 0 && info.outputDelay >= info.frameSize as u32,
        }
    }
}

impl Drop for FdkDecoder {
    fn drop(&mut self) {
        // SAFETY: opened by aacDecoder_Open and closed exactly once, here.
        unsafe { sys::aacDecoder_Close(self.0.as_ptr()) }
    }
}

/// For AAC-LC and HE-AAC, FDK outputs each frame one call late (its first output is a frame of
/// silence) and gives the last one only when flushed. This decoder hides that: the first output
/// is dropped, each packet's trims apply to the frame that is really its own, and
/// [`FdkAacDecoder::drain`] returns the held-back last frame at the end of the stream. AAC-LD
/// and ELD frames come out at once and go on as they are. Its timeline then matches
/// symphonia's and ffmpeg's decoders, which the containers' gapless data assume.
pub struct FdkAacDecoder {
    params: AudioCodecParameters,
    decoder: FdkDecoder,
    pcm: Vec<i16>,
    buf: AudioBuffer<i16>,
    /// The trims of the packet whose frame FDK holds back; `None` before the first packet.
    held_trims: Option<(usize, usize)>,
    /// After the first decoded frame: whether the stream needs FDK (see `needs_fdk`).
    needs_fdk: Option<bool>,
    /// Whether FDK holds each frame back (see [`FrameInfo::holds_a_frame`]): guessed from the
    /// object type until the first frame says.
    holds_a_frame: bool,
    /// AAC-LD or ELD, which only FDK decodes.
    low_delay: bool,
    /// Set when FDK takes ADTS frames rather than raw access units.
    adts: Option<AdtsFraming>,
}

/// Puts an ADTS header back in front of each access unit of an AAC-LC stream whose channel
/// layout is a program config element (channel configuration 0).
struct AdtsFraming {
    rate_index: u8,
    /// The frame handed to FDK, reused from packet to packet.
    frame: Vec<u8>,
}

impl AdtsFraming {
    const HEADER_LEN: usize = 7;

    /// `unit` behind an ADTS header: MPEG-4, no CRC, AAC-LC, channel configuration 0.
    fn frame(&mut self, unit: &[u8]) -> Result<&[u8]> {
        let len = Self::HEADER_LEN + unit.len();
        if len >= 1 << 13 {
            return Err(Error::DecodeError("aac: access unit too long for ADTS"));
        }
        let len = len as u16;
        const LC: u8 = 1;
        self.frame.clear();
        self.frame.extend_from_slice(&[
            0xff,
            0xf1,
            (LC << 6) | (self.rate_index << 2),
            (len >> 11) as u8,
            (len >> 3) as u8,
            ((len & 7) << 5) as u8 | 0x1f,
            0xfc,
        ]);
        self.frame.extend_from_slice(unit);
        Ok(&self.frame)
    }
}

impl FdkAacDecoder {
    pub fn try_new(params: &AudioCodecParameters) -> Result<FdkAacDecoder> {
        let config = match &params.extra_data {
            Some(asc) => asc.to_vec(),
            None => {
                let Some(rate) = params.sample_rate else {
                    return unsupported_error("aac: sample rate is required");
                };
                let Some(channels) = &params.channels else {
                    // ADTS with channel configuration 0: the layout is in a program config
                    // element inside the frames, which only FDK's ADTS parser reads.
                    return Self::for_adts_with_pce(params, rate);
                };
                lc_config(rate, channels.count())?.to_vec()
            }
        };
        if let Some(reason) = object_type(&config).and_then(unsupported_object_type) {
            return unsupported_error(reason);
        }
        let low_delay = matches!(object_type(&config), Some(LD | ELD));
        Ok(Self::with(
            params,
            FdkDecoder::new(&config)?,
            low_delay,
            None,
        ))
    }

    /// `adts`: FDK takes ADTS frames, and symphonia's decoder can never take over (it needs
    /// the channel count the frames' PCE gives).
    fn with(
        params: &AudioCodecParameters,
        decoder: FdkDecoder,
        low_delay: bool,
        adts: Option<AdtsFraming>,
    ) -> FdkAacDecoder {
        FdkAacDecoder {
            params: params.clone(),
            decoder,
            pcm: vec![0; MAX_FRAMES * MAX_CHANNELS],
            // Replaced by the first decoded frame's spec.
            buf: AudioBuffer::new(
                AudioSpec::new(48_000, Channels::Positioned(Position::FRONT_CENTER)),
                0,
            ),
            held_trims: None,
            needs_fdk: adts.is_some().then_some(true),
            holds_a_frame: !low_delay,
            low_delay,
            adts,
        }
    }

    /// ADTS whose layout a program config element gives (symphonia's reader passes no channels
    /// for it): each packet goes to FDK with its ADTS header made again. symphonia's reader
    /// does not pass the profile on either; AAC-LC is assumed, as for every ADTS stream here.
    fn for_adts_with_pce(params: &AudioCodecParameters, rate: u32) -> Result<FdkAacDecoder> {
        let adts = AdtsFraming {
            rate_index: rate_index(rate)?,
            frame: Vec::new(),
        };
        Ok(Self::with(
            params,
            FdkDecoder::new_adts()?,
            false,
            Some(adts),
        ))
    }

    /// Known once a frame is decoded: false for plain AAC-LC in mono or stereo, which
    /// symphonia's float decoder handles at about half FDK's cost (and closer to ffmpeg's), true
    /// when SBR or PS is at work, there are more than two channels, or the stream is AAC-LD or
    /// ELD.
    pub fn needs_fdk(&self) -> Option<bool> {
        self.needs_fdk
    }

    /// Frames FDK holds back before it outputs one: 1, or 0 for AAC-LD and ELD.
    pub fn delay_frames(&self) -> u64 {
        u64::from(self.holds_a_frame)
    }

    /// The frame FDK still holds at the end of the stream, with its packet's trims; empty when
    /// there is none.
    pub fn drain(&mut self) -> GenericAudioBufferRef<'_> {
        self.buf.clear();
        if let Some(trims) = self.held_trims.take()
            && let Ok(info) = self.decoder.flush(&mut self.pcm)
            && self.fill_buffer(info, trims).is_err()
        {
            self.buf.clear();
        }
        self.buf.as_generic_audio_buffer_ref()
    }

    fn decode(&mut self, packet: &PacketRef<'_>) -> Result<()> {
        self.buf.clear();
        let unit = match &mut self.adts {
            Some(adts) => adts.frame(packet.data)?,
            None => packet.data,
        };
        let info = self.decoder.decode(unit, &mut self.pcm)?;
        self.needs_fdk
            .get_or_insert(self.low_delay || info.extended || info.core_channels > 2);
        let trims = (
            packet.trim_start.get() as usize,
            packet.trim_end.get() as usize,
        );
        self.holds_a_frame = info.holds_a_frame;
        if !info.holds_a_frame {
            return self.fill_buffer(info, trims);
        }
        // What came out belongs to the previous packet; the first output is FDK's delay.
        match self.held_trims.replace(trims) {
            Some(previous) => self.fill_buffer(info, previous),
            None => Ok(()),
        }
    }

    fn fill_buffer(
        &mut self,
        info: FrameInfo,
        (trim_start, trim_end): (usize, usize),
    ) -> Result<()> {
        let FrameInfo {
            rate,
            channels,
            frames,
            layout,
            ..
        } = info;
        let layout = layout
            .filter(|l| l.bits().count_ones() as usize == channels)
            .or_else(|| positions(channels));
        let Some(layout) = layout else {
            return unsupported_error("aac: no speaker layout for this number of channels");
        };
        let spec = AudioSpec::new(rate, Channels::Positioned(layout));
        if *self.buf.spec() != spec || self.buf.capacity() < frames {
            self.buf = AudioBuffer::new(spec, frames.max(MAX_FRAMES));
        }
        self.buf.render_uninit(Some(frames));
        for channel in 0..channels {
            let plane = self.buf.plane_mut(channel).expect("a plane per channel");
            for (frame, sample) in plane.iter_mut().enumerate() {
                *sample = self.pcm[frame * channels + channel];
            }
        }
        self.buf.trim(trim_start, trim_end);
        Ok(())
    }
}

impl AudioDecoder for FdkAacDecoder {
    fn reset(&mut self) {
        // The held-back frame is dropped with the rest of the history.
        self.decoder.clear(&mut self.pcm);
        self.held_trims = None;
    }

    fn codec_info(&self) -> &CodecInfo {
        &Self::supported_codecs()[0].info
    }

    fn codec_params(&self) -> &AudioCodecParameters {
        &self.params
    }

    fn decode_ref(&mut self, packet: &PacketRef<'_>) -> Result<GenericAudioBufferRef<'_>> {
        if let Err(e) = self.decode(packet) {
            self.buf.clear();
            return Err(e);
        }
        Ok(self.buf.as_generic_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> GenericAudioBufferRef<'_> {
        self.buf.as_generic_audio_buffer_ref()
    }
}

impl RegisterableAudioDecoder for FdkAacDecoder {
    fn try_registry_new(
        params: &AudioCodecParameters,
        _opts: &AudioDecoderOptions,
    ) -> Result<Box<dyn AudioDecoder>> {
        Ok(Box::new(FdkAacDecoder::try_new(params)?))
    }

    fn supported_codecs() -> &'static [SupportedAudioCodec] {
        const fn profile(
            profile: CodecProfile,
            short_name: &'static str,
            long_name: &'static str,
        ) -> CodecProfileInfo {
            CodecProfileInfo {
                profile,
                short_name,
                long_name,
            }
        }
        const AAC: SupportedAudioCodec = SupportedAudioCodec {
            id: CODEC_ID_AAC,
            info: CodecInfo {
                short_name: "aac",
                long_name: "Advanced Audio Coding (FDK AAC)",
                profiles: &[
                    profile(CODEC_PROFILE_AAC_LC, "aac-lc", "Low Complexity"),
                    profile(CODEC_PROFILE_AAC_HE, "aac-he", "High Efficiency"),
                    profile(CODEC_PROFILE_AAC_HE_V2, "aac-he-v2", "High Efficiency V2"),
                ],
            },
        };
        &[AAC]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_object_types_with_and_without_escape() {
        assert_eq!(object_type(&[0x12, 0x10]), Some(2), "LC 44.1 kHz stereo");
        assert_eq!(object_type(&[0x2b, 0x92, 0x08, 0x00]), Some(5), "HE-AAC");
        // 31 escapes: 11111 000111 → 32 + 7 = 39 (ELD).
        assert_eq!(object_type(&[0xf8, 0xe0]), Some(39));
        assert_eq!(object_type(&[0xf8]), None, "escape cut short");
        assert_eq!(object_type(&[]), None);
    }

    #[test]
    fn builds_the_lc_config_of_an_adts_stream() {
        // 44.1 kHz (index 4), stereo: 00010 0100 0010 000.
        assert_eq!(lc_config(44_100, 2).unwrap(), [0x12, 0x10]);
        assert_eq!(
            lc_config(48_000, 8).unwrap(),
            [0x11, 0xb8],
            "7.1 is configuration 7"
        );
        assert!(lc_config(44_000, 2).is_err());
        assert!(lc_config(48_000, 7).is_err());
    }

    #[test]
    fn main_and_ltp_are_refused_by_name() {
        // AAC Main, 44.1 kHz stereo: 00001 0100 0010 000.
        let error = FdkAacDecoder::try_new(
            AudioCodecParameters::new()
                .for_codec(CODEC_ID_AAC)
                .with_extra_data(vec![0x0a, 0x10].into_boxed_slice()),
        )
        .err()
        .expect("AAC Main is refused");
        assert!(error.to_string().contains("AAC Main"), "{error}");
        assert!(
            object_type(&[0x22, 0x10])
                .and_then(unsupported_object_type)
                .is_some(),
            "LTP"
        );
    }
}
