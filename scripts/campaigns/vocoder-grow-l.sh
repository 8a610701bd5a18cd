#!/usr/bin/env bash
# Session L: the shipped vocoder (8 blocks, 30,000 steps) grown by 8 identity-start blocks (--grow), trained on
# the vocoder-profile data at the shipped run's settings (lr 5e-4, batch 16, 64-frame crops), one pinned core.
set -euo pipefail
cd /work/main
exec taskset -c 0 nice .venv/bin/ditto2 train vocoder --run runs/vocoder-grow-l --data data/vocoder \
    --init src/ditto2/weights/vocoder.safetensors --grow 8 --lr "${LR:-5e-4}" --warmup 200 \
    --minutes "${MINUTES:-120}" --val-every 500 --ckpt-every 250 --threads 1
