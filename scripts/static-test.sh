#!/usr/bin/env bash
# Static linking: build the plugin as a static library (`static` feature) and link it into a C
# program, which registers it with gst_plugin_rsstreamdecoder_register() and decodes the sample.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo rustc -q --release --lib --features static --crate-type staticlib
out=target/static-test
mkdir -p "$out"
# shellcheck disable=SC2046
cc -O1 -o "$out/static_embed" examples/static_embed.c target/release/libgstrsstreamdecoder.a \
  $(pkg-config --cflags --libs gstreamer-1.0 gstreamer-base-1.0 gstreamer-audio-1.0) \
  -lopus -lspeex -lopencore-amrnb -lopencore-amrwb -lwavpack -lmpcdec -lspandsp -lm -ldl -lpthread
# Only the system's plugins (filesrc, fakesink) and a fresh registry: the element can come
# from the program alone, which the gst-inspect check proves.
export GST_PLUGIN_PATH=
export GST_PLUGIN_SYSTEM_PATH
GST_PLUGIN_SYSTEM_PATH=$(pkg-config --variable=pluginsdir gstreamer-1.0)
export GST_REGISTRY="$out/registry.bin"
rm -f "$GST_REGISTRY"
if gst-inspect-1.0 rsstreamdecoder >/dev/null 2>&1; then
  echo "static-test: rsstreamdecoder is installed as a plugin file; the test proves nothing" >&2
  exit 1
fi
output=$("$out/static_embed" examples/sample.mp3)
echo "$output"
grep -q "235670 frames" <<<"$output" || { echo "static-test: not the whole sample" >&2; exit 1; }
echo "static-test: the statically linked plugin decoded the whole sample"
