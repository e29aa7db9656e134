# rsstreamdecoder: build, demo, test, bench and install.
#
#   make demo      install system deps, build, decode examples/sample.mp3 to target/demo/sample.wav
#   make test      install system deps, then fmt check, clippy -D warnings, release build, tests
#   make build     cargo build --release  -> target/release/libgstrsstreamdecoder.so
#   make bench     run examples/bench.rs: rsstreamdecoder vs decodebin chain vs ffmpeg
#   make install   build with meson and install the plugin into GStreamer's plugin dir
#   make clean     remove build outputs
#
# Variables: DEMO_PROPS="sample-rate=16000 channels=2" (extra element properties for
# `make demo`), BENCH_ARGS (arguments for the bench example), MESON_BUILDDIR,
# PREFIX (meson prefix, default /usr: the plugin goes to PREFIX/<libdir>/gstreamer-1.0, which
# is GStreamer's own plugin dir on Debian), PLUGINDIR (overrides that dir), DESTDIR (staged install),
# SKIP_DEPS=1 (skip the apt step).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# rustup installs cargo in ~/.cargo/bin, which non-login shells may not have on PATH.
export PATH := $(if $(CARGO_HOME),$(CARGO_HOME)/bin:)$(HOME)/.cargo/bin:$(PATH)

CARGO          ?= cargo
MESON_BUILDDIR ?= target/meson
PLUGINDIR      ?=
PREFIX         ?= /usr
BENCH_ARGS     ?=
PLUGIN_SO      := target/release/libgstrsstreamdecoder.so

.PHONY: all deps build demo test fmt-check clippy nextest bench install meson-setup clean help

all: build

help:
	@sed -n '1,14p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'

deps:
ifeq ($(SKIP_DEPS),1)
	@echo "deps: skipped (SKIP_DEPS=1)"
else
	@bash scripts/install-deps.sh
endif

build: deps
	$(CARGO) build --release
	@ls -l $(PLUGIN_SO)

demo: build
	@bash scripts/demo.sh examples/sample.mp3 target/demo/sample.wav

test: deps
	$(CARGO) --version
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --all-targets --no-default-features -- -D warnings
	$(CARGO) build --release
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		echo "+ $(CARGO) nextest run --release --no-fail-fast"; \
		$(CARGO) nextest run --release --no-fail-fast; \
	else \
		echo "cargo-nextest not found; falling back to cargo test"; \
		echo "+ $(CARGO) test --release --no-fail-fast"; \
		$(CARGO) test --release --no-fail-fast; \
	fi
	@echo "+ the Python package's tests (python/tests) against the release build"
	bash scripts/python-test.sh
	@echo "+ meson install --prefix into a temporary directory, loaded from there"
	bash scripts/install-test.sh
	@echo "+ every example, on examples/sample.mp3"
	bash scripts/examples-test.sh
	@echo "+ the build without FDK AAC warns about HE-AAC"
	$(CARGO) test --release --no-default-features --test element aac_without_fdk
	@echo "+ the static library (static feature) linked into a C program"
	bash scripts/static-test.sh

bench: build
	$(CARGO) run --release --example bench -- $(BENCH_ARGS)

meson-setup: deps
	@if [ -f $(MESON_BUILDDIR)/build.ninja ]; then \
		meson configure $(MESON_BUILDDIR) --prefix=$(PREFIX) -Dplugindir=$(PLUGINDIR); \
	else \
		meson setup $(MESON_BUILDDIR) --prefix=$(PREFIX) -Dplugindir=$(PLUGINDIR); \
	fi

install: meson-setup
	meson compile -C $(MESON_BUILDDIR)
	meson install -C $(MESON_BUILDDIR) --no-rebuild
	@echo "installed; check with: gst-inspect-1.0 rsstreamdecoder"

clean:
	-$(CARGO) clean
	rm -rf target/demo $(MESON_BUILDDIR)
