#!/usr/bin/env bash
# Decode examples/sample.mp3 with the freshly built plugin and describe what
# went in and what came out. Run through `make demo`, which builds first.
#   scripts/demo.sh [INPUT] [OUTPUT_WAV]
# Extra element properties can be given in DEMO_PROPS, e.g.
#   DEMO_PROPS="sample-rate=16000 channels=2" make demo
set -euo pipefail
cd "$(dirname "$0")/.."

input=${1:-examples/sample.mp3}
output=${2:-target/demo/sample.wav}
plugin_dir=$PWD/target/release
props=${DEMO_PROPS:-}

if [[ ! -f "$plugin_dir/libgstrsstreamdecoder.so" ]]; then
  echo "demo: $plugin_dir/libgstrsstreamdecoder.so is missing; run 'cargo build --release' first" >&2
  exit 1
fi
export GST_PLUGIN_PATH="$plugin_dir${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"

if ! gst-inspect-1.0 rsstreamdecoder >/dev/null 2>&1; then
  echo "demo: GStreamer cannot load the rsstreamdecoder element from $plugin_dir" >&2
  gst-inspect-1.0 "$plugin_dir/libgstrsstreamdecoder.so" >&2 || true
  exit 1
fi

mkdir -p "$(dirname "$output")"
rm -f "$output"

# `discover FILE FIELD`: one field of gst-discoverer-1.0's first audio stream.
discover() {
  gst-discoverer-1.0 "$1" 2>/dev/null | awk -v want="$2" '
    /^ *Duration:/ && want == "Duration" { sub(/^ *Duration: */, ""); print; exit }
    /^ *audio #[0-9]+:/ { inaudio = 1; if (want == "codec") { sub(/^ *audio #[0-9]+: */, ""); print; exit } }
    inaudio { line = $0; sub(/^ */, "", line)
              if (index(line, want ": ") == 1) { print substr(line, length(want) + 3); exit } }'
}

pipeline="filesrc location=$input ! rsstreamdecoder${props:+ $props} ! wavenc ! filesink location=$output"
echo "demo: gst-launch-1.0 -q $pipeline"
start=$(date +%s.%N)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The element logs what it detected at INFO level.
# shellcheck disable=SC2086 # the pipeline description is split into words on purpose
GST_DEBUG=rsstreamdecoder:4 GST_DEBUG_NO_COLOR=1 gst-launch-1.0 -q $pipeline 2>"$log"
end=$(date +%s.%N)
detected=$(grep -o 'detected .*; output' "$log" | head -n1 | sed 's/^detected //; s/; output$//')

in_bytes=$(stat -c %s "$input")
out_bytes=$(stat -c %s "$output")

echo
echo "input : $input ($in_bytes bytes)"
echo "        rsstreamdecoder detected: ${detected:-nothing (see $log)}"
echo "        for comparison, gst-discoverer-1.0: $(discover "$input" codec)," \
     "duration $(discover "$input" Duration) (decodebin, without gapless trimming)"
echo "output: $output ($out_bytes bytes)"
if command -v soxi >/dev/null 2>&1; then
  echo "        $(soxi -r "$output") Hz, $(soxi -c "$output") ch," \
       "$(soxi -b "$output")-bit $(soxi -e "$output")," \
       "$(soxi -s "$output") frames = $(soxi -D "$output") s   (soxi)"
else
  echo "        $(discover "$output" 'Sample rate') Hz, $(discover "$output" Channels | awk '{print $1}') ch," \
       "duration $(discover "$output" Duration)   (gst-discoverer-1.0)"
fi
awk -v a="$start" -v b="$end" 'BEGIN { printf "        decoded in %.3f s wall time (including GStreamer start-up)\n", b - a }'
echo
echo "Listen: gst-launch-1.0 playbin uri=file://$PWD/$output   (or: play $output)"
