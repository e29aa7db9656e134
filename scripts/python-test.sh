#!/usr/bin/env bash
# Run the Python package's tests (python/tests) against the release build of the plugin.
# Run after `cargo build --release`; extra arguments go to pytest (e.g. -k opus, -x).
#
# Needs the Debian 12 packages python3-gi, gir1.2-gstreamer-1.0, gir1.2-gst-plugins-base-1.0,
# python3-pytest, gstreamer1.0-plugins-base (appsrc, appsink) and ffmpeg (fixtures).
# PYTHON picks the interpreter; by default python3, or /usr/bin/python3 when the python3
# on PATH (pyenv, a venv) cannot import gi and pytest.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

so=target/release/libgstrsstreamdecoder.so
if [[ ! -f $so ]]; then
  echo "python-test: $so not found; run cargo build --release first" >&2
  exit 1
fi

if [[ -z ${PYTHON:-} ]]; then
  PYTHON=python3
  if ! "$PYTHON" -c 'import gi, pytest' >/dev/null 2>&1 && [[ -x /usr/bin/python3 ]]; then
    PYTHON=/usr/bin/python3
  fi
fi
if ! "$PYTHON" -c 'import gi, pytest' >/dev/null 2>&1; then
  echo "python-test: $PYTHON cannot import gi and pytest;" \
    "install python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 python3-pytest" >&2
  exit 1
fi

export GST_PLUGIN_PATH=$ROOT/target/release
export PYTHONPATH=$ROOT/python${PYTHONPATH:+:$PYTHONPATH}
# Keep pytest's cache out of the source tree.
echo "+ GST_PLUGIN_PATH=$GST_PLUGIN_PATH PYTHONPATH=$PYTHONPATH $PYTHON -m pytest -q python/tests $*"
exec "$PYTHON" -m pytest -q -p no:cacheprovider python/tests "$@"
