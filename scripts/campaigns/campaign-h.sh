#!/usr/bin/env bash
# Session H: continue the CTD campaign (runs/ctd-f) on one core; best.safetensors is kept by the loop.
set -euo pipefail
cd /work/main
exec taskset -c 0 .venv/bin/ditto2 distill --method ctd --run runs/ctd-f --init src/ditto2/weights/student_ctd.safetensors \
    --trajectories 320 --traj-weight 2 --lr 3e-5 --ema-decay 0.995 --warmup 100 \
    --minutes "${MINUTES:-160}" --val-every 125 --ckpt-every 125 --sample-every 1000 --threads 1 --precision bf16
