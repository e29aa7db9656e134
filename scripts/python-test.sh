#!/usr/bin/env bash
# Run the Python package's tests (python/tests) against the release build of the plugin.
# Run after `cargo build --release`; extra arguments go to pytest (e.g. -k opus, -x).
#
# Needs the Debian 12 packages python3-gi, gir1.2-gstreamer-1.0, gir1.2-gst-plugins-base-1.0,
# python3-pytest, python3-venv, python3-pip, python3-setuptools, python3-wheel,
# gstreamer1.0-plugins-base (appsrc, appsink) and ffmpeg (fixtures).
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

# The tests run against the package as pip installs it (into a throwaway venv that sees the
# system's gi and pytest; offline: setuptools and wheel come from the system too), which also
# shows that it installs. The examples (examples-test.sh) use it through PYTHONPATH=python.
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
"$PYTHON" -m venv --system-site-packages "$venv"
# From a copy: setuptools builds in the source directory.
cp -r "$ROOT/python" "$venv/src"
"$venv/bin/python" -m pip install -q --no-build-isolation --no-deps --no-index "$venv/src"
unset PYTHONPATH
installed=$("$venv/bin/python" -c 'import rsstreamdecoder; print(rsstreamdecoder.__file__)')
[[ $installed == "$venv"/* ]] || {
  echo "python-test: rsstreamdecoder imports from $installed, not the venv" >&2
  exit 1
}
echo "python-test: pip installed the package as $installed"
# importlib mode keeps python/ off sys.path, so the tests import the installed copy. Keep
# pytest's cache out of the source tree.
echo "+ GST_PLUGIN_PATH=$GST_PLUGIN_PATH $venv/bin/python -m pytest -q python/tests $*"
"$venv/bin/python" -m pytest -q -p no:cacheprovider --import-mode=importlib python/tests "$@"
