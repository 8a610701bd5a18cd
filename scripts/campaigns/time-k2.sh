#!/usr/bin/env bash
# Session K, the 0.4 dB intensity tolerance: the speed rows again on the idle machine (training stopped).
set -euo pipefail
cd "$(dirname "$0")/../.."
.venv/bin/python bench/time_generate.py --reps 5 --data data/vocoder --tasks intensity
.venv/bin/ditto2 bench --data data/vocoder --tasks intensity --targets fresh -n 2 --conditions ditto,ditto2-ctd-k1 \
  --out runs/bench-k2-time
