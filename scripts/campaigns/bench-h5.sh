#!/usr/bin/env bash
# The campaign's best student (runs/ctd-f, step 10750: runs/models-h10750) on the fresh targets with today's
# defaults, beside the DITTO and teacher rows of runs/bench-g-* (same folders, settings checked). Training stopped.
set -euo pipefail
cd /work/main
source scripts/campaigns/pause-training.sh
M=runs/models-h10750
.venv/bin/ditto2 bench --models $M --tasks intensity --targets fresh -n 6 --out runs/bench-h5-int --precision auto \
  --conditions none-teacher,ditto,none-ctd-k2,ditto2-ctd-k1 > runs/bench-h5-int.log 2>&1
.venv/bin/ditto2 bench --models $M --tasks melody --targets fresh -n 4 --out runs/bench-h5-mel --precision auto \
  --conditions none-teacher,ditto,none-ctd-k2,ditto2-ctd-k2 > runs/bench-h5-mel.log 2>&1
