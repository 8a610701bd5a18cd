#!/usr/bin/env bash
# Release G acceptance: DITTO-2 rows beside the DITTO rows of runs/bench-g-ditto.sh (same folders, settings
# checked), on the shipped models (release G installed in src/ditto2/weights).
set -euo pipefail
cd /work/main
export OMP_NUM_THREADS=1
.venv/bin/ditto2 bench --tasks intensity --targets fresh -n 6 --out runs/bench-g-int --precision auto \
  --conditions none-teacher,ditto,none-ctd-k2,ditto2-ctd-k1,ditto2-ctd-k2,ditto2-ctd-k2-r5 > runs/bench-g-int.log 2>&1
[ "${1:-}" = intensity ] || .venv/bin/ditto2 bench --tasks melody --targets fresh -n 4 --out runs/bench-g-mel --precision auto \
  --conditions none-teacher,ditto,none-ctd-k2,ditto2-ctd-k1,ditto2-ctd-k2,ditto2-ctd-k2-r5 > runs/bench-g-mel.log 2>&1
