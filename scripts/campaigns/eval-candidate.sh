#!/usr/bin/env bash
# Session K: a campaign student against what ships, with training stopped. The surrogate check on the 24 tuning
# curves ran before (studies/adaptive_steps.py --models runs/models-TAG, one core).
#   bash scripts/campaigns/eval-candidate.sh RUN/validated/STEP.safetensors TAG
# core 0: the quality gate of its k-step decodes, then melody on the fresh targets beside session J's DITTO rows
#         (runs/bench-j-mel: same teacher, so its DITTO and teacher folders are reused);
# core 1: every task's control and musicality on the fresh targets (DITTO rows of intensity and loop reused).
set -euo pipefail
cd "$(dirname "$0")/../.."
CAND=$1
TAG=$2
M=runs/models-$TAG
mkdir -p "$M"
cp src/ditto2/weights/*.json src/ditto2/weights/*.safetensors "$M"/
cp "$CAND" "$M/student_ctd.safetensors"
cp "${CAND%.safetensors}.json" "$M/student_ctd.json"
(
  OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/ditto2 eval quality --data data/vocoder --models "$M" --out "runs/quality-$TAG" \
    -n 32 --student ctd --student-steps 1,2,4
  mkdir -p "runs/bench-$TAG-mel"
  for d in melody/ditto melody/none-teacher reference; do
    mkdir -p "runs/bench-$TAG-mel/$(dirname $d)"; [ -e "runs/bench-$TAG-mel/$d" ] || cp -r "runs/bench-j-mel/$d" "runs/bench-$TAG-mel/$d"
  done
  taskset -c 0 .venv/bin/ditto2 bench --data data/vocoder --models "$M" --tasks melody --targets fresh -n 4 \
    --conditions none-teacher,ditto,none-ctd-k2,ditto2-ctd-k2 --out "runs/bench-$TAG-mel"
) > "runs/eval-$TAG-core0.log" 2>&1 &
mkdir -p "runs/mus-$TAG"
for t in intensity loop; do
  mkdir -p "runs/mus-$TAG/$t"
  for v in ditto none-teacher; do [ -e "runs/mus-$TAG/$t/$v" ] || cp -r "runs/mus-a/$t/$v" "runs/mus-$TAG/$t/$v"; done
done
mus=(studies/control_musicality.py --data data/vocoder --out "runs/mus-$TAG" -n 8 --threads 1 --models "$M")
taskset -c 1 .venv/bin/python "${mus[@]}" > "runs/eval-$TAG-core1.log" 2>&1
taskset -c 1 .venv/bin/python "${mus[@]}" --score-only --methods ditto2,ditto >> "runs/eval-$TAG-core1.log" 2>&1
wait
