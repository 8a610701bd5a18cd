#!/usr/bin/env bash
set -e
cd /work/main
run() { taskset -c 1 nice .venv/bin/python studies/control_musicality.py --data data/vocoder --out runs/mus-guard -n 8 \
    --targets tuning --tasks text,structure,loop,inpaint --threads 1 "$@"; }
run
run --tag=-g1 --generate-kwargs '{"onset_guard": 1}'
run --tag=-g10 --generate-kwargs '{"onset_guard": 10}'
