"""Fixtures for the rsstreamdecoder Python tests: real files made by ffmpeg at test time."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

if importlib.util.find_spec("rsstreamdecoder") is None:  # not installed, no PYTHONPATH=python
    sys.path.insert(0, str(HERE.parent))


def pytest_configure(config: pytest.Config) -> None:
    # Tests run against the freshly built plugin unless GST_PLUGIN_PATH says otherwise.
    os.environ.setdefault("GST_PLUGIN_PATH", str(REPO / "target" / "release"))


def _ffmpeg(out: Path, source: str, *args: str) -> bytes:
    """``ffmpeg -f lavfi -i <source> <args> <out>``; returns the file's bytes."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source, *args, str(out)]
    subprocess.run(cmd, check=True)
    return out.read_bytes()


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, bytes]:
    """Encoded test signals (ffmpeg's sine source, amplitude 1/8) and references."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed to make the test fixtures (apt-get install ffmpeg)")
    d = tmp_path_factory.mktemp("media")
    out: Dict[str, bytes] = {}
    # TTS-style chunks: three complete 24 kHz mono WAV files of 6000, 12000 and 19200 frames.
    for i, secs in enumerate((0.25, 0.5, 0.8)):
        out[f"wav_chunk{i}"] = _ffmpeg(
            d / f"chunk{i}.wav", f"sine=frequency=440:sample_rate=24000:duration={secs}",
            "-c:a", "pcm_s16le",
        )
    out["wav16k"] = _ffmpeg(
        d / "16k.wav", "sine=frequency=1000:sample_rate=16000:duration=1", "-c:a", "pcm_s16le"
    )
    out["pcm16k"] = _ffmpeg(
        d / "16k.raw", "sine=frequency=1000:sample_rate=16000:duration=1", "-f", "s16le"
    )
    out["mp3"] = _ffmpeg(
        d / "sine.mp3", "sine=frequency=440:sample_rate=44100:duration=2",
        "-ac", "2", "-c:a", "libmp3lame", "-b:a", "64k",
    )
    out["opus"] = _ffmpeg(
        d / "sine.opus", "sine=frequency=440:sample_rate=48000:duration=2",
        "-c:a", "libopus", "-b:a", "48k", "-f", "ogg",
    )
    # ffmpeg's own decode of the lossy files, at 48 kHz mono, as the reference level.
    for name, ext in (("mp3", "mp3"), ("opus", "opus")):
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(d / f"sine.{ext}"),
             "-ac", "1", "-ar", "48000", "-f", "s16le", str(d / f"{name}.ref.raw")],
            check=True,
        )
        out[f"{name}_ref"] = (d / f"{name}.ref.raw").read_bytes()
    return out


@pytest.fixture(scope="session")
def thread_count() -> Callable[[], int]:
    """Number of threads of this process."""
    return lambda: len(os.listdir("/proc/self/task"))
