#!/usr/bin/env bash
set -euo pipefail
cd /work/main
export OMP_NUM_THREADS=1
.venv/bin/ditto2 bench --tasks melody --targets fresh -n 4 --out runs/bench-g-mel --precision auto \
  --conditions none-teacher,ditto,none-ctd-k2,ditto2-ctd-k1,ditto2-ctd-k2,ditto2-ctd-k2-r5 > runs/bench-g-mel.log 2>&1
