"""Streaming audio decoding in Python with the ``rsstreamdecoder`` GStreamer element.

Push compressed audio bytes (MP3, AAC, Ogg Opus/Vorbis, FLAC, WAV, ...) in chunks of any
size, iterate over S16LE PCM frames at the rate and channel count you ask for::

    from rsstreamdecoder import AudioStreamDecoder

    dec = AudioStreamDecoder(sample_rate=48000, num_channels=1)
    dec.push(chunk)        # as the bytes arrive
    dec.end_input()        # no more bytes
    async for frame in dec:
        play(frame.data)   # S16LE interleaved
    await dec.aclose()

The element must be on GStreamer's plugin path
(``export GST_PLUGIN_PATH=/path/to/target/release``).
"""

from __future__ import annotations

from ._decoder import AudioFrame, AudioStreamDecoder, DecodeError, ElementMissingError

__all__ = ["AudioFrame", "AudioStreamDecoder", "DecodeError", "ElementMissingError"]
__version__ = "0.1.0"
