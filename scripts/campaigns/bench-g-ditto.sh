#!/usr/bin/env bash
# DITTO rows of the release-G acceptance bench (teacher only: independent of the student being trained).
set -e
cd /work/main
export OMP_NUM_THREADS=1
.venv/bin/ditto2 bench --tasks intensity --targets fresh -n 6 --out runs/bench-g-int --precision auto \
  --conditions none-teacher,ditto
.venv/bin/ditto2 bench --tasks melody --targets fresh -n 4 --out runs/bench-g-mel --precision auto \
  --conditions none-teacher,ditto
