#!/usr/bin/env bash
# Install the Debian 12 system packages rsstreamdecoder needs to build, test,
# demo and install. Idempotent: when every package is already installed it
# returns at once without touching apt. Uses sudo only when not root.
set -euo pipefail

PACKAGES=(
  libgstreamer1.0-dev
  libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools
  gstreamer1.0-plugins-base-apps
  gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly
  gstreamer1.0-libav
  ffmpeg
  sox
  mkvtoolnix
  # WavPack's own encoder, for test fixtures.
  wavpack
  # Monkey's Audio's Java port (jmac), the one APE encoder Debian has, for test fixtures.
  libjmac-java
  # Musepack's encoder (mpcenc), for test fixtures.
  musepack-tools
  libopus-dev
  # Speex (Ogg Speex), decoded with the system libspeex (src/codecs/speex.rs).
  libspeex-dev
  # AMR and AMR-WB (.amr files), decoded with the system opencore-amr (src/codecs/amr.rs).
  libopencore-amrnb-dev
  libopencore-amrwb-dev
  # WavPack (.wv), decoded with the system libwavpack (src/codecs/wavpack.rs).
  libwavpack-dev
  # Musepack (.mpc), decoded with the system libmpcdec's frame decoder (src/codecs/musepack.rs).
  libmpcdec-dev
  # G.722, G.726 and GSM 06.10 (telephony WAV, AU and RTP payloads), decoded with the system
  # spandsp (src/codecs/telephony.rs).
  libspandsp-dev
  pkg-config
  gcc
  # FDK AAC (the default fdk-aac feature) is C++, built by the fdk-aac-sys crate.
  g++
  libc6-dev
  make
  # The Python package (python/) and its tests: PyGObject over the element.
  python3-gi
  gir1.2-gstreamer-1.0
  gir1.2-gst-plugins-base-1.0
  python3-pytest
  # pip-installing the package (python-test.sh), offline.
  python3-venv
  python3-pip
  python3-setuptools
  python3-wheel
  meson
  ninja-build
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} system packages present"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: missing packages (${missing[*]}) and no apt-get on this system;" >&2
  echo "install-deps: install the equivalents of these Debian packages by hand" >&2
  exit 1
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: not root and no sudo; cannot install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
echo "install-deps: done"
