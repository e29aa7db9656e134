#!/usr/bin/env python3
"""Decode an audio file in small chunks through the rsstreamdecoder Python package.

    GST_PLUGIN_PATH=$PWD/target/release PYTHONPATH=python \\
        python3 examples/python_decode.py examples/sample.mp3 [--chunk 1024] [--rate 48000] ...

A producer task pushes the file chunk by chunk (as a network stream would arrive) while the
consumer iterates over the decoded frames; prints the time to the first frame and the totals.
Exits with status 1 if the stream cannot be decoded or gives no audio.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("rsstreamdecoder") is None:  # a checkout without PYTHONPATH=python
    sys.path.insert(0, str(REPO / "python"))
if "GST_PLUGIN_PATH" not in os.environ and (REPO / "target" / "release").is_dir():
    os.environ["GST_PLUGIN_PATH"] = str(REPO / "target" / "release")

from rsstreamdecoder import AudioStreamDecoder, DecodeError  # noqa: E402


async def decode(path: Path, chunk: int, rate: int, channels: int, fmt: Optional[str],
                 delay_ms: float) -> int:
    data = path.read_bytes()
    dec = AudioStreamDecoder(sample_rate=rate, num_channels=channels, format=fmt)
    start = time.monotonic()

    async def produce() -> None:
        for i in range(0, len(data), chunk):
            dec.push(data[i : i + chunk])
            await asyncio.sleep(delay_ms / 1000)
        dec.end_input()

    producer = asyncio.ensure_future(produce())
    first: Optional[float] = None
    samples = frames = 0
    out_rate = out_channels = 0
    try:
        async for frame in dec:
            if first is None:
                first = time.monotonic() - start
            frames += 1
            samples += frame.samples_per_channel
            out_rate, out_channels = frame.sample_rate, frame.num_channels
        await producer
    except DecodeError as e:
        print(f"{path}: decode error: {e}", file=sys.stderr)
        return 1
    finally:
        producer.cancel()
        stats = dec.stats
        await dec.aclose()
    elapsed = time.monotonic() - start
    print(f"file: {path} ({len(data)} bytes in {chunk}-byte chunks)")
    print(f"detected: {stats.get('container')} / {stats.get('codec')}, "
          f"{stats.get('stream-rate')} Hz, {stats.get('stream-channels')} ch")
    if first is None:
        print("time to first frame: no frame")
    else:
        print(f"time to first frame: {first * 1000:.1f} ms")
    print(f"total samples: {samples} per channel in {frames} frames "
          f"({samples / out_rate if out_rate else 0:.3f} s at {out_rate} Hz, {out_channels} ch)")
    print(f"elapsed: {elapsed * 1000:.1f} ms")
    return 0 if samples else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--chunk", type=int, default=1024, help="bytes per push (1024)")
    parser.add_argument("--rate", type=int, default=48000, help="output rate, 0 keeps (48000)")
    parser.add_argument("--channels", type=int, default=1, help="output channels, 0 keeps (1)")
    parser.add_argument("--format", default=None, help="format hint, e.g. audio/mpeg")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="pause between pushes")
    args = parser.parse_args()
    return asyncio.run(decode(args.file, max(1, args.chunk), args.rate, args.channels,
                              args.format, args.delay_ms))


if __name__ == "__main__":
    sys.exit(main())
