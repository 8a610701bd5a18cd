#!/usr/bin/env bash
# Session H speed on the idle machine (training stopped meanwhile): in-process seconds per clip with the CLI
# defaults, and DITTO against DITTO-2's default end to end in one bench run (the first 2 fresh curves).
set -euo pipefail
cd /work/main
B=.venv/bin
source scripts/campaigns/pause-training.sh
$B/python bench/time_generate.py --reps 5 > runs/time-h.txt 2>runs/time-h.err
$B/ditto2 bench --tasks intensity --targets fresh -n 2 --out runs/bench-h-time \
  --conditions ditto,ditto2-ctd-k1 > runs/bench-h-time.log 2>&1
