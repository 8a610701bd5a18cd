#!/usr/bin/env bash
# Release G, last phase: the same run at a lower rate and a longer EMA (EMA 0.99's releases swung by 0.02 in
# 1-step MSE between validations), validated and released every 125 steps; runs/keep-best.py keeps the best.
set -euo pipefail
cd /work/main
.venv/bin/ditto2 distill --method ctd --run runs/ctd-f --init src/ditto2/weights/student_ctd.safetensors \
    --trajectories 320 --traj-weight 2 --lr 3e-5 --ema-decay 0.995 --warmup 100 \
    --minutes "${MINUTES:-22}" --val-every 125 --ckpt-every 125 --sample-every 1000 --threads 1 --precision bf16
