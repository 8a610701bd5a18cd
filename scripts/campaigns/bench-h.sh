#!/usr/bin/env bash
# Session H acceptance (issue 16): the adaptive intensity budget (stop within 0.3 dB RMS, up to 80 steps) on the
# fresh curves, beside the DITTO and uncontrolled rows of runs/bench-g-int (same folders, settings checked); run with the
# training job stopped (kill -STOP), as it was.
set -euo pipefail
cd /work/main
.venv/bin/ditto2 bench --tasks intensity --targets fresh -n 6 --out runs/bench-h-int --precision auto \
  --conditions none-teacher,ditto,none-ctd-k2,ditto2-ctd-k1,ditto2-ctd-k2-r5 > runs/bench-h-int.log 2>&1
