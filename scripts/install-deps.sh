#!/usr/bin/env bash
# Installs the system packages Skriva needs to build and run, when they are missing:
# a C/C++ toolchain with cmake (whisper.cpp), libclang (bindings), pkg-config and ALSA headers
# (microphone capture), Python 3 with pip (model provisioning), and Node, npm, Chromium,
# Firefox ESR and PulseAudio (the review page's browser tests).
set -euo pipefail

need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v c++ >/dev/null 2>&1 || need+=(g++)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
# libclang itself, not libclang-cpp (which some images carry without it).
ldconfig -p 2>/dev/null | grep -qE 'libclang(-[0-9.]+)?\.so' || need+=(libclang-dev)
[ -e /usr/include/alsa/asoundlib.h ] || need+=(libasound2-dev)
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
# The review page's end-to-end tests: Node with npm (playwright-core, puppeteer-core) and
# Debian's Chromium and Firefox ESR.
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/firefox-esr ] || need+=(firefox-esr)
# Firefox runs Web Audio only with an audio output: the tests give it a private PulseAudio
# server with a null sink (a PipeWire desktop's own server does as well; the two conflict).
command -v pulseaudio >/dev/null 2>&1 || command -v pipewire-pulse >/dev/null 2>&1 \
  || need+=(pulseaudio)

if [ ${#need[@]} -gt 0 ]; then
  echo "Installing system packages: ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install a stable Rust toolchain (https://rustup.rs)" >&2
  exit 1
fi
