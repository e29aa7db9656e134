#!/usr/bin/env bash
# `meson setup --prefix=DIR && meson install` into a temporary prefix, then check that GStreamer
# finds the plugin there (and only there) and that it decodes. Run after `cargo build --release`:
# the meson build reuses target/ (-Dcargo-target-dir), so nothing is compiled again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
prefix=$(mktemp -d)
builddir=$(mktemp -d)
trap 'rm -rf "$prefix" "$builddir"' EXIT

meson setup "$builddir" --prefix="$prefix" -Dcargo-target-dir="$root/target" >/dev/null
meson compile -C "$builddir" >/dev/null
meson install -C "$builddir" --no-rebuild >/dev/null

libdir=$(meson introspect "$builddir" --buildoptions |
  python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "libdir"))')
so="$prefix/$libdir/gstreamer-1.0/libgstrsstreamdecoder.so"
[[ -f $so ]] || { echo "install-test: $so was not installed" >&2; find "$prefix" >&2; exit 1; }

# Only the installed copy may be found: no GST_PLUGIN_PATH, a system path of the prefix and
# GStreamer's own directory (for the other elements of the pipeline), a fresh registry.
pluginsdir=$(pkg-config --variable=pluginsdir gstreamer-1.0)
export GST_PLUGIN_SYSTEM_PATH="$prefix/$libdir/gstreamer-1.0:$pluginsdir"
export GST_REGISTRY="$prefix/registry.bin"
unset GST_PLUGIN_PATH
filename=$(gst-inspect-1.0 rsstreamdecoder | awk '/^  Filename/ {print $2}')
[[ $filename == "$so" ]] || { echo "install-test: GStreamer loads '$filename', not $so" >&2; exit 1; }
gst-launch-1.0 -q filesrc location=examples/sample.mp3 ! rsstreamdecoder ! wavenc ! \
  filesink location="$prefix/sample.wav"
bytes=$(stat -c %s "$prefix/sample.wav")
# 4.91 s at 48 kHz mono S16: 471 kB of samples after the header.
(( bytes > 460000 && bytes < 480000 )) || { echo "install-test: sample.wav has $bytes bytes" >&2; exit 1; }
echo "install-test: meson install --prefix put the plugin in $prefix/$libdir/gstreamer-1.0;" \
  "GStreamer loads it from there and decodes examples/sample.mp3 to $bytes bytes of WAV"

# -Dplugindir overrides the directory under the prefix.
custom="$prefix/custom-plugins"
meson configure "$builddir" -Dplugindir="$custom" >/dev/null
meson install -C "$builddir" >/dev/null
[[ -f $custom/libgstrsstreamdecoder.so ]] || {
  echo "install-test: -Dplugindir=$custom did not put the plugin there" >&2
  find "$prefix" >&2
  exit 1
}
echo "install-test: -Dplugindir put it in $custom"
