#!/usr/bin/env bash
# Called by meson.build: build the plugin with cargo in release mode inside the
# meson build directory, then copy the cdylib to the path meson expects.
#   meson-cargo-build.sh CARGO MANIFEST TARGET_DIR OUTPUT [fdk-aac|no-fdk-aac]
set -euo pipefail
cargo=$1 manifest=$2 target_dir=$3 output=$4 aac=${5:-fdk-aac}
features=()
if [ "$aac" = no-fdk-aac ]; then
  features=(--no-default-features)
fi

# A rustup proxy finds rustc next to itself; make sure that directory is on PATH.
PATH="$(dirname "$cargo"):$PATH"
export PATH

"$cargo" build --release --manifest-path "$manifest" --target-dir "$target_dir" --lib "${features[@]}"
cp -f "$target_dir/release/libgstrsstreamdecoder.so" "$output"
