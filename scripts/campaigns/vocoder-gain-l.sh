#!/usr/bin/env bash
# Session L: the shipped (grown, 16-block) vocoder fine-tuned with random gains of -6..+12 dB per crop, so that it
# renders the louder mels the controls make at their level (docs/vocoder.md, "Through the controls").
set -euo pipefail
cd /work/main
exec taskset -c 0 nice .venv/bin/ditto2 train vocoder --run runs/vocoder-gain-l --data data/vocoder \
    --init src/ditto2/weights/vocoder.safetensors --blocks 16 --gain-db 12 --lr "${LR:-1.5e-4}" --warmup 100 \
    --minutes "${MINUTES:-20}" --val-every 500 --ckpt-every 250 --threads 1
