#!/usr/bin/env bash
# Session M: the gain-augmented vocoder (session L, step 42,437) trained on the evaluation's own multi-resolution
# LSD as well (--lsd-weight), to close the last acceptance gap of issue 17 (0.79x Griffin-Lim's LSD; asked 0.75x).
# RUN, CORE, THREADS, LSD_WEIGHT, INIT, MINUTES, LR from the environment; further arguments go to `train vocoder`.
set -euo pipefail
cd /work/main
exec taskset -c "${CORE:-0}" nice .venv/bin/ditto2 train vocoder --run "${RUN:-runs/vocoder-lsd-m}" --data data/vocoder \
    --init "${INIT:-runs/vocoder-gain-l/release.safetensors}" --blocks 16 --gain-db 12 --lsd-weight "${LSD_WEIGHT:-0.1}" \
    --lr "${LR:-1.5e-4}" --warmup 100 --minutes "${MINUTES:-150}" --val-every 500 --ckpt-every 250 --threads "${THREADS:-1}" "$@"
