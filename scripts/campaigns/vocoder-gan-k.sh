#!/usr/bin/env bash
# Session K: the first adversarial training of the vocoder, from the shipped step 30,000 (fresh critics), one core.
set -euo pipefail
cd /work/main
exec taskset -c 0 nice .venv/bin/ditto2 train vocoder --run runs/vocoder-gan --init src/ditto2/weights/vocoder.safetensors \
    --adv-weight 1 --threads 1 --minutes "${MINUTES:-60}" --val-every 250 --ckpt-every 250
