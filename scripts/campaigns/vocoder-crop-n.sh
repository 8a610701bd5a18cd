#!/usr/bin/env bash
# Session N: the LSD-trained vocoder (session M, best validation at step 76,000) on 128-frame crops (batch 8, the
# same samples per step): the LSD's 4096-point term sees 17 frames of a 64-frame crop, edges and a crop-local floor
# included, and the 4096-point figure is the worst of the four. RUN, CORE, THREADS, INIT, MINUTES, LR from the
# environment.
set -euo pipefail
cd /work/main
exec taskset -c "${CORE:-0}" nice .venv/bin/ditto2 train vocoder --run "${RUN:-runs/vocoder-crop-n}" --data data/vocoder \
    --init "${INIT:-runs/vocoder-lsd-m10lr/best.safetensors}" --blocks 16 --gain-db 12 --lsd-weight 1 --crop 128 \
    --batch-size 8 --lr "${LR:-1e-4}" --warmup 100 --minutes "${MINUTES:-60}" --val-every 500 --ckpt-every 250 \
    --threads "${THREADS:-1}"
