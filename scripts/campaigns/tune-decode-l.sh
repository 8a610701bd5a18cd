#!/usr/bin/env bash
# Session L: structure and text decoded in 4 student steps instead of 2 (the uncontrolled baseline of each set
# decodes as its task does), 8 tuning targets.
set -e
cd /work/main
run() { taskset -c 1 nice .venv/bin/python studies/control_musicality.py --data data/vocoder --out runs/mus-d4 -n 8 \
    --targets tuning --threads 1 "$@"; }
run --tasks structure --tag=-d4 --set StructureControl.decode_steps=4
run --tasks text --tag=-d4 --set TextControl.decode_steps=4
