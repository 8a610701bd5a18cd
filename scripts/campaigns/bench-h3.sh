#!/usr/bin/env bash
# Melody at 30 surrogate steps (tried for release H and rejected; MelodyControl.settings steps=30 repeats it) on the fresh melodies, beside the DITTO, teacher and
# uncontrolled rows of runs/bench-g-mel (same folders, settings checked); then the in-process timing. Training stopped.
set -euo pipefail
cd /work/main
source scripts/campaigns/pause-training.sh
.venv/bin/ditto2 bench --tasks melody --targets fresh -n 4 --out runs/bench-h3-mel --precision auto \
  --conditions none-teacher,ditto,none-ctd-k2,ditto2-ctd-k2 > runs/bench-h3-mel.log 2>&1
.venv/bin/python bench/time_generate.py --reps 5 > runs/time-h3.txt 2>runs/time-h3.err  # melody ran 30 steps then
