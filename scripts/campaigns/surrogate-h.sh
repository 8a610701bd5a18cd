#!/usr/bin/env bash
# Is the campaign's best student (runs/ctd-f best, step 8625) a better surrogate than the shipped one? The 24 tuning
# curves, today's intensity defaults (1-step decode, stop within 0.3 dB, budget 80) and 40 fixed steps; one core.
set -euo pipefail
cd /work/main
for m in shipped runs/models-h8625; do
  args=(); [ "$m" != shipped ] && args=(--models "$m")
  echo "== $m"
  taskset -c 1 .venv/bin/python studies/adaptive_steps.py -n 24 --tols none,0.3 --max-steps 40,80 --decode-steps 1 \
    --threads 1 "${args[@]}"
done
