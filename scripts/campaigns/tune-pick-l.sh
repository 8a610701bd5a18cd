#!/usr/bin/env bash
# Session L: choosing among 2 candidates by onset peakiness (within 1.1x of the best control loss), 8 tuning targets.
set -e
cd /work/main
taskset -c 1 nice .venv/bin/python studies/control_musicality.py --data data/vocoder --out runs/mus-guard -n 8 \
    --targets tuning --threads 1 --tasks structure,text,loop --tag=-pick2 --pick-of 2
