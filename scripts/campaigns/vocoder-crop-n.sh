#!/usr/bin/env bash
# Session N: the LSD-trained vocoder (session M, best validation at step 76,000) on 128-frame crops (batch 8, the
# same samples per step): the LSD's 4096-point term sees 17 frames of a 64-frame crop, edges and a crop-local floor
# included, and the 4096-point figure is the worst of the four. Session M's campaign with these flags added;
# RUN, CORE, THREADS, INIT, MINUTES, LR from the environment.
set -euo pipefail
RUN="${RUN:-runs/vocoder-crop-n}" INIT="${INIT:-runs/vocoder-lsd-m10lr/best.safetensors}" LSD_WEIGHT=1 \
    LR="${LR:-1e-4}" MINUTES="${MINUTES:-60}" exec "$(dirname "$0")/vocoder-lsd-m.sh" --crop 128 --batch-size 8
