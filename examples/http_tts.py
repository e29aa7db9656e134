#!/usr/bin/env python3
"""A text-to-speech-like HTTP stream, decoded as it arrives, with the time to first sound.

    python3 examples/http_tts.py examples/sample.mp3 [--chunk 512] [--kbps 64]

Starts a local HTTP server that sends the file the way a TTS service streams its answer
(chunked transfer encoding, at the audio's own bitrate), reads the body in small pieces as
they arrive and pushes each into an AudioStreamDecoder. Prints when the first byte came in,
when the first PCM came out (the time to first sound) and what was decoded.
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import importlib.util
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("rsstreamdecoder") is None:  # a checkout without PYTHONPATH=python
    sys.path.insert(0, str(REPO / "python"))
if "GST_PLUGIN_PATH" not in os.environ and (REPO / "target" / "release").is_dir():
    os.environ["GST_PLUGIN_PATH"] = str(REPO / "target" / "release")

from rsstreamdecoder import AudioStreamDecoder  # noqa: E402


def serve(body: bytes, chunk: int, bytes_per_second: float) -> http.server.HTTPServer:
    """An HTTP server on 127.0.0.1 (any free port) sending `body` chunked, in real time."""

    class TtsHandler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            start = time.monotonic()
            for offset in range(0, len(body), chunk):
                due = start + offset / bytes_per_second
                time.sleep(max(0.0, due - time.monotonic()))
                piece = body[offset : offset + chunk]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), TtsHandler)
    threading.Thread(target=server.handle_request, daemon=True).start()
    return server


async def main_async(path: Path, chunk: int, kbps: float) -> int:
    body = path.read_bytes()
    server = serve(body, chunk, kbps * 1000 / 8)
    url = f"http://127.0.0.1:{server.server_address[1]}/speech.mp3"
    decoder = AudioStreamDecoder(sample_rate=48000, num_channels=1)
    loop = asyncio.get_running_loop()
    start = time.monotonic()
    first_byte = None

    def read_body() -> None:
        nonlocal first_byte
        with urllib.request.urlopen(url) as response:
            while piece := response.read1(chunk):
                if first_byte is None:
                    first_byte = time.monotonic() - start
                loop.call_soon_threadsafe(decoder.push, piece)
        loop.call_soon_threadsafe(decoder.end_input)

    reader = loop.run_in_executor(None, read_body)
    first_sound = None
    samples = 0
    async for frame in decoder:
        if first_sound is None:
            first_sound = time.monotonic() - start
        samples += frame.samples_per_channel
    await reader
    await decoder.aclose()
    server.server_close()
    print(f"{url}: {len(body)} bytes at {kbps:g} kbit/s in {chunk}-byte pieces")
    print(f"first byte after {first_byte * 1000:.1f} ms, "
          f"first sound after {first_sound * 1000:.1f} ms" if first_sound else "no sound")
    print(f"decoded {samples} samples = {samples / 48000:.3f} s at 48000 Hz mono "
          f"in {time.monotonic() - start:.2f} s")
    return 0 if samples else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--chunk", type=int, default=512, help="bytes per piece (512)")
    parser.add_argument("--kbps", type=float, default=64.0, help="sending rate (64 kbit/s)")
    args = parser.parse_args()
    return asyncio.run(main_async(args.file, max(1, args.chunk), args.kbps))


if __name__ == "__main__":
    sys.exit(main())
