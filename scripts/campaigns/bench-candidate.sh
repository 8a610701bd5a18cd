#!/usr/bin/env bash
# A candidate student's models folder on the fresh acceptance targets with today's defaults, beside the DITTO and
# teacher rows already in its bench folders (settings checked by the bench). Training stopped while it runs.
#   bash scripts/campaigns/bench-candidate.sh MODELS_DIR TAG    -> runs/bench-TAG-int, runs/bench-TAG-mel
set -euo pipefail
cd "$(dirname "$0")/../.."
M=$1
TAG=$2
source scripts/campaigns/pause-training.sh
.venv/bin/ditto2 bench --models "$M" --tasks intensity --targets fresh -n 6 --out "runs/bench-$TAG-int" --precision auto \
  --conditions none-teacher,ditto,none-ctd-k2,ditto2-ctd-k1 > "runs/bench-$TAG-int.log" 2>&1
.venv/bin/ditto2 bench --models "$M" --tasks melody --targets fresh -n 4 --out "runs/bench-$TAG-mel" --precision auto \
  --conditions none-teacher,ditto,none-ctd-k2,ditto2-ctd-k2 > "runs/bench-$TAG-mel.log" 2>&1
