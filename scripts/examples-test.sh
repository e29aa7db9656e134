#!/usr/bin/env bash
# Smoke test of every example on examples/sample.mp3 (4.91 s: 235670 samples at 48 kHz mono).
# Run after `cargo build --release`; each example must run and report the whole sample.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export GST_PLUGIN_PATH=$PWD/target/release
export PYTHONPATH=$PWD/python${PYTHONPATH:+:$PYTHONPATH}
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import gi' 2>/dev/null || PYTHON=/usr/bin/python3

expect() { # expect WHAT PATTERN COMMAND...: run COMMAND, show its output, require PATTERN in it
  local what=$1 pattern=$2
  shift 2
  echo "+ $*"
  # Global: the caller may look at the output too.
  output=$("$@" 2>&1) || { echo "$output"; echo "examples-test: $what failed" >&2; exit 1; }
  echo "$output" | sed 's/^/    /'
  grep -q -- "$pattern" <<<"$output" || { echo "examples-test: $what: no '$pattern'" >&2; exit 1; }
}

expect "file to WAV (make demo)" "235670 frames" bash scripts/demo.sh examples/sample.mp3 target/demo/sample.wav
expect "static embedding (examples/embed.rs)" "235670 frames" \
  cargo run -q --release --example embed -- examples/sample.mp3 1024 2
expect "Python package (examples/python_decode.py)" "total samples: 235670" \
  "$PYTHON" examples/python_decode.py examples/sample.mp3 --chunk 700
expect "HTTP TTS stream (examples/http_tts.py)" "decoded 235670 samples" \
  "$PYTHON" examples/http_tts.py examples/sample.mp3 --kbps 256
grep -q "first sound after [0-9]" <<<"$output" ||
  { echo "examples-test: http_tts.py printed no time to first sound" >&2; exit 1; }
echo "examples-test: every example decoded the whole sample"
