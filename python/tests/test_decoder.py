"""Tests of rsstreamdecoder.AudioStreamDecoder on real encoder output (see conftest.py).

Plain pytest: each test runs its coroutine with asyncio.run.
"""

from __future__ import annotations

import asyncio
import gc
import math
import os
import random
import subprocess
import sys
import time
from array import array
from typing import Any, Dict, List, Optional, Tuple

import pytest

from rsstreamdecoder import AudioFrame, AudioStreamDecoder, DecodeError

# ffmpeg's sine source has amplitude 1/8: RMS = 32767 / 8 / sqrt(2).
SINE_RMS = 32767 / 8 / math.sqrt(2)
TIMEOUT = 20.0


def chunks(data: bytes, size: Optional[int]) -> List[bytes]:
    if size is None:
        return [data]
    return [data[i : i + size] for i in range(0, len(data), size)]


async def decode_async(pieces: List[bytes], **kwargs: Any) -> List[AudioFrame]:
    """Push every piece, end the input, collect every frame, close."""
    dec = AudioStreamDecoder(**kwargs)
    try:
        for piece in pieces:
            dec.push(piece)
        dec.end_input()
        return [frame async for frame in dec]
    finally:
        await dec.aclose()


def decode(pieces: List[bytes], **kwargs: Any) -> List[AudioFrame]:
    return asyncio.run(asyncio.wait_for(decode_async(pieces, **kwargs), TIMEOUT))


def samples(frames: List[AudioFrame]) -> array:
    pcm = array("h", b"".join(f.data for f in frames))
    if sys.byteorder == "big":
        pcm.byteswap()
    return pcm


def total(frames: List[AudioFrame]) -> int:
    return sum(f.samples_per_channel for f in frames)


def tone(pcm: array, rate: int, channels: int = 1) -> Tuple[float, float]:
    """(frequency from upward zero crossings, RMS) of the first channel, edges cut off."""
    mono = pcm[::channels]
    mid = mono[len(mono) // 10 : len(mono) - len(mono) // 10]
    ups = [i for i in range(1, len(mid)) if mid[i - 1] < 0 <= mid[i]]
    freq = (len(ups) - 1) * rate / (ups[-1] - ups[0])
    rms = math.sqrt(sum(x * x for x in mid) / len(mid))
    return freq, rms


def assert_s16(frames: List[AudioFrame], rate: int, channels: int) -> None:
    assert frames, "no frames"
    for f in frames:
        assert (f.sample_rate, f.num_channels) == (rate, channels)
        assert f.samples_per_channel > 0
        assert len(f.data) == f.samples_per_channel * f.num_channels * 2


def test_chunked_wav_each_chunk_with_its_own_header(media: Dict[str, bytes]) -> None:
    # As TTS services send it: every chunk is a complete WAV file.
    pieces = [media["wav_chunk0"], media["wav_chunk1"], media["wav_chunk2"]]
    frames = decode(pieces, sample_rate=24000)
    assert_s16(frames, 24000, 1)
    assert total(frames) == 6000 + 12000 + 19200
    freq, rms = tone(samples(frames), 24000)
    assert freq == pytest.approx(440, rel=0.01)
    assert rms == pytest.approx(SINE_RMS, rel=0.05)


def test_chunked_wav_in_small_pieces(media: Dict[str, bytes]) -> None:
    stream = media["wav_chunk0"] + media["wav_chunk1"] + media["wav_chunk2"]
    frames = decode(chunks(stream, 333), sample_rate=24000)
    assert total(frames) == 6000 + 12000 + 19200


def test_wav_16k_to_48k(media: Dict[str, bytes]) -> None:
    frames = decode(chunks(media["wav16k"], 1000), sample_rate=48000, num_channels=1)
    assert_s16(frames, 48000, 1)
    assert abs(total(frames) - 3 * 16000) <= 3
    freq, rms = tone(samples(frames), 48000)
    assert freq == pytest.approx(1000, rel=0.005)
    assert rms == pytest.approx(SINE_RMS, rel=0.02)


def test_headerless_pcm_with_format_hint(media: Dict[str, bytes]) -> None:
    frames = decode(chunks(media["pcm16k"], 777), format="audio/pcm;rate=16000")
    assert_s16(frames, 48000, 1)
    assert abs(total(frames) - 48000) <= 3
    assert tone(samples(frames), 48000)[0] == pytest.approx(1000, rel=0.005)


@pytest.mark.parametrize(
    "name,tolerance",
    [("mp3", 1152), ("opus", 960)],  # one codec frame: 1152 (MP3) or 960 (Opus, 20 ms)
)
def test_whole_and_small_pieces_agree(media: Dict[str, bytes], name: str, tolerance: int) -> None:
    ref = array("h", media[f"{name}_ref"])  # ffmpeg's decode at 48 kHz mono
    ref_rms = tone(ref, 48000)[1]
    whole = decode([media[name]])
    pieces = decode(chunks(media[name], 100))
    for frames in (whole, pieces):
        assert_s16(frames, 48000, 1)
        assert abs(total(frames) - 2 * 48000) <= tolerance, total(frames)
        freq, rms = tone(samples(frames), 48000)
        assert freq == pytest.approx(440, rel=0.01)
        assert rms == pytest.approx(ref_rms, rel=0.02)
    assert total(whole) == total(pieces)
    # The element's contract: output does not depend on the chunking.
    assert samples(whole) == samples(pieces)


def test_frames_are_valid_s16_stereo_at_the_rate_asked(media: Dict[str, bytes]) -> None:
    frames = decode(chunks(media["mp3"], 500), sample_rate=24000, num_channels=2)
    assert_s16(frames, 24000, 2)
    assert abs(total(frames) - 2 * 24000) <= 576
    pcm = samples(frames)
    assert tone(pcm, 24000, 2)[0] == pytest.approx(440, rel=0.01)
    assert max(abs(a - b) for a, b in zip(pcm[0::2], pcm[1::2])) <= 2  # same tone in L and R


def test_zero_keeps_the_streams_rate_and_channels(media: Dict[str, bytes]) -> None:
    frames = decode([media["mp3"]], sample_rate=0, num_channels=0)
    assert_s16(frames, 44100, 2)
    assert abs(total(frames) - 2 * 44100) <= 1152


def test_garbage_raises_decode_error(media: Dict[str, bytes]) -> None:
    garbage = random.Random(1234).randbytes(64 * 1024)
    with pytest.raises(DecodeError, match="no supported audio format"):
        decode(chunks(garbage, 4096))


def test_garbage_raises_without_end_input() -> None:
    async def run() -> None:
        dec = AudioStreamDecoder()
        try:
            for piece in chunks(random.Random(99).randbytes(64 * 1024), 1024):
                dec.push(piece)
            with pytest.raises(DecodeError, match="no supported audio format"):
                async for _ in dec:
                    pass
            async for _ in dec:  # the iteration stays ended
                pytest.fail("frame after the error")
            dec.push(b"more")  # dropped after the error, no exception
        finally:
            await dec.aclose()

    asyncio.run(asyncio.wait_for(run(), TIMEOUT))


def test_frames_decoded_before_an_error_come_out_first(media: Dict[str, bytes]) -> None:
    mp3 = media["mp3"]
    damaged = mp3[:8000] + random.Random(5).randbytes(20000) + mp3[8000:]
    got: List[AudioFrame] = []

    async def run() -> None:
        dec = AudioStreamDecoder(properties={"max-errors": 0})
        try:
            for piece in chunks(damaged, 1000):
                dec.push(piece)
            dec.end_input()
            async for frame in dec:
                got.append(frame)
        finally:
            await dec.aclose()

    with pytest.raises(DecodeError, match="corrupt"):
        asyncio.run(asyncio.wait_for(run(), TIMEOUT))
    assert total(got) > 24000  # 8000 bytes of 64 kbit/s MP3 hold about a second


def test_close_while_probing(thread_count: Any) -> None:
    async def run() -> List[AudioFrame]:
        dec = AudioStreamDecoder()
        dec.push(b"\x00" * 10)
        reader = asyncio.ensure_future(collect(dec))
        await asyncio.sleep(0.05)
        await dec.aclose()
        await dec.aclose()
        with pytest.raises(RuntimeError):
            dec.push(b"x")
        with pytest.raises(RuntimeError):
            dec.end_input()
        return await reader

    assert asyncio.run(asyncio.wait_for(run(), TIMEOUT)) == []  # warm-up: GStreamer's threads
    gc.collect()
    before = settled(thread_count)
    for _ in range(5):
        assert asyncio.run(asyncio.wait_for(run(), TIMEOUT)) == []
    gc.collect()
    # Closing while the stream is probed leaves no thread behind.
    assert settled(thread_count, target=before) <= before


async def collect(dec: AudioStreamDecoder) -> List[AudioFrame]:
    return [frame async for frame in dec]


def test_close_mid_stream(media: Dict[str, bytes]) -> None:
    async def run() -> int:
        dec = AudioStreamDecoder()
        for piece in chunks(media["opus"][: len(media["opus"]) // 2], 200):
            dec.push(piece)
        got = 0
        async for frame in dec:
            got += frame.samples_per_channel
            if got > 4800:
                break
        await dec.aclose()
        assert [f async for f in dec] == []
        await dec.aclose()
        return got

    assert asyncio.run(asyncio.wait_for(run(), TIMEOUT)) > 4800


def test_close_after_the_end_and_async_with(media: Dict[str, bytes]) -> None:
    async def run() -> int:
        async with AudioStreamDecoder(sample_rate=16000) as dec:
            dec.push(media["wav16k"])
            dec.end_input()
            n = total([f async for f in dec])
            with pytest.raises(RuntimeError):
                dec.push(b"late")
            assert dec.stats["codec"] != ""
        await dec.aclose()
        return n

    assert asyncio.run(asyncio.wait_for(run(), TIMEOUT)) == 16000


def test_a_hundred_decoders_leak_no_threads(media: Dict[str, bytes], thread_count: Any) -> None:
    wav = media["wav_chunk0"]
    mp3 = media["mp3"][:3000]

    async def one(i: int) -> None:
        dec = AudioStreamDecoder(sample_rate=16000 if i % 2 else 48000)
        dec.push(wav if i % 3 else mp3)
        if i % 4 == 0:  # some run to the end, the others are closed mid-stream
            dec.end_input()
            assert total([f async for f in dec]) > 0
        else:
            await dec.__anext__()
        if i % 10 == 9:
            del dec  # never closed: the finalizer stops the pipeline
        else:
            await dec.aclose()

    async def run(n: int, batch: int) -> None:
        for start in range(0, n, batch):
            await asyncio.gather(*(one(i) for i in range(start, start + batch)))

    asyncio.run(asyncio.wait_for(run(10, 10), TIMEOUT))  # warm-up: GStreamer's thread pools
    gc.collect()
    before = settled(thread_count)
    asyncio.run(asyncio.wait_for(run(100, 10), TIMEOUT))
    gc.collect()
    # A closed decoder's streaming thread idles 0.5 s in GLib's thread pool before it exits.
    after = settled(thread_count, target=before + 3)
    assert after <= before + 3, (before, after)


def settled(thread_count: Any, target: Optional[int] = None, timeout: float = 5.0) -> int:
    """The thread count once it is at most target, or (no target) has not changed for 0.7 s."""
    start = last_change = time.monotonic()
    count = thread_count()
    while time.monotonic() - start < timeout:
        if target is not None and count <= target:
            break
        if target is None and time.monotonic() - last_change >= 0.7:
            break
        time.sleep(0.05)
        now = thread_count()
        if now != count:
            count, last_change = now, time.monotonic()
    return count


def test_missing_element_says_to_set_gst_plugin_path(tmp_path: Any) -> None:
    env = dict(os.environ, GST_PLUGIN_PATH=str(tmp_path), GST_PLUGIN_SYSTEM_PATH=str(tmp_path),
               GST_REGISTRY=str(tmp_path / "registry.bin"))
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
        + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    code = (
        "from rsstreamdecoder import AudioStreamDecoder, ElementMissingError\n"
        "try:\n    AudioStreamDecoder()\n"
        "except ElementMissingError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert "GST_PLUGIN_PATH" in out.stdout, (out.stdout, out.stderr)
