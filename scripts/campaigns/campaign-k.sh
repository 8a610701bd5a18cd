#!/usr/bin/env bash
# Session K: the CTD campaign resumed from the shipped release-F student (the G/H runs were not kept), on the
# vocoder-profile data (every genre of the full build, a tenth of its pieces), a larger trajectory bank (480).
# Steps 5,524-6,875 ran at lr 5e-5; from 6,875 on LR=3e-5 (the validation swung by +-0.01 at 5e-5); session L:
# from 9,074 on LR=1.5e-5 (at 3e-5 the 1-step distance sat at 0.085-0.087 from 8,250 to 9,000).
set -euo pipefail
cd /work/main
exec taskset -c 0 nice .venv/bin/ditto2 distill --method ctd --data data/vocoder --run runs/ctd-k \
    --init src/ditto2/weights/student_ctd.safetensors \
    --trajectories 480 --traj-weight 2 --lr "${LR:-5e-5}" --ema-decay 0.995 --warmup 100 \
    --minutes "${MINUTES:-150}" --val-every 250 --ckpt-every 125 --sample-every 100000 --threads 1 --precision bf16
