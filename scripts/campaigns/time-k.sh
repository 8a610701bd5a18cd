#!/usr/bin/env bash
# Session K: speed of the release-K defaults on the idle machine (nothing else running), then DITTO against DITTO-2
# end to end on the first 2 fresh curves in one bench run.
set -euo pipefail
cd "$(dirname "$0")/../.."
.venv/bin/python bench/time_generate.py --reps 5 --data data/vocoder --tasks intensity,melody,structure
.venv/bin/ditto2 bench --data data/vocoder --tasks intensity --targets fresh -n 2 --conditions ditto,ditto2-ctd-k1 \
  --out runs/bench-k-time
