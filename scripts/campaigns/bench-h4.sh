#!/usr/bin/env bash
# How typical are the 6 acceptance curves? DITTO-2's default on 12 fresh curves (the first 6 are the acceptance
# ones), with the uncontrolled row; training stopped for the timings.
set -euo pipefail
cd /work/main
source scripts/campaigns/pause-training.sh
.venv/bin/ditto2 bench --tasks intensity --targets fresh -n 12 --out runs/bench-h4-int --precision auto \
  --conditions none-ctd-k2,ditto2-ctd-k1 > runs/bench-h4-int.log 2>&1
