#!/usr/bin/env bash
# Builds fuzz/corpus/decode from the test fixtures: the first 16 KiB of each, prefixed with
# the two control bytes the target reads (chunk seed, mode) in two variants.
set -euo pipefail
cd "$(dirname "$0")/.."
fixtures=target/test-fixtures
if ! ls "$fixtures"/* >/dev/null 2>&1; then
  echo "no fixtures in $fixtures; run 'cargo test --release' first" >&2
  exit 1
fi
mkdir -p fuzz/corpus/decode
for file in "$fixtures"/*; do
  name=$(basename "$file")
  { printf '\x07\x00'; head -c 16384 "$file"; } > "fuzz/corpus/decode/$name.keep"
  { printf '\x2a\x01'; head -c 16384 "$file"; } > "fuzz/corpus/decode/$name.48k"
done
ls fuzz/corpus/decode | wc -l
