#!/usr/bin/env bash
# Release G speed on the idle machine (both background jobs stopped): in-process seconds per clip, the inner
# loop's stages, and DITTO against DITTO-2 end to end in one bench run. (Since release H the defaults differ:
# to repeat these figures add --decode-steps 2 --full-steps to the time_generate calls.)
set -euo pipefail
cd /work/main
B=.venv/bin
{ $B/python bench/time_generate.py --reps 5
  $B/python bench/time_generate.py --reps 3 --precision fp32 --opt-steps 40 --refine-steps 3
  $B/python bench/bench_engines.py --reps 3; } > runs/time-g.txt 2>runs/time-g.err
$B/ditto2 bench --tasks intensity --targets fresh -n 2 --out runs/bench-g-time \
  --conditions ditto,ditto2-ctd-k2-r5 > runs/bench-g-time.log 2>&1
