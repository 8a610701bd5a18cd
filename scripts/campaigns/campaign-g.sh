#!/usr/bin/env bash
# Release G: continue the release-F CTD run (resumed from runs/ctd-f/last.safetensors).
set -euo pipefail
cd /work/main
.venv/bin/ditto2 distill --method ctd --run runs/ctd-f --init src/ditto2/weights/student_ctd.safetensors \
    --trajectories 320 --traj-weight 2 --lr 5e-5 --ema-decay 0.99 --warmup 100 \
    --minutes "${MINUTES:-140}" --val-every 250 --ckpt-every 100 --sample-every 1000 --threads 1 --precision bf16
