#!/usr/bin/env bash
set -e
cd /work/main
run() { taskset -c 1 nice .venv/bin/python studies/control_musicality.py --data data/vocoder --out runs/mus-guard -n 8 \
    --targets tuning --threads 1 "$@"; }
run --tasks text,loop,inpaint,structure --tag=-g1c11 --generate-kwargs '{"onset_guard": 1}' --guard-cap 1.1
