"""Seconds per 5.94 s clip of ``Pipeline.generate`` in process (models loaded, one warm-up call), per stage.

    python bench/time_generate.py --reps 5 [--tasks intensity,melody,structure] [--opt-steps N] [--refine-steps R]
        [--decode-steps K] [--full-steps] [--precision auto|bf16|fp32] [--start-search N] [--method ditto2|ditto] [--models DIR]
        [--threads 2]

The defaults are the CLI's (DITTO-2, CTD student, each control's settings: intensity stops within its tolerance
and decodes in 1 step, melody runs 40 steps and decodes in 2). Release G's defaults were ``--decode-steps 2
--full-steps`` (refinement 5). Targets: a fixed loudness curve and the melody of the first test clip of --data;
seeds 0 .. reps-1. Pause background training first.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from ditto2 import features as F
from ditto2.bench import melody_control, test_clips
from ditto2.controls import IntensityControl, StructureControl
from ditto2.pipeline import Pipeline


def task_controls(data: str) -> dict[str, list]:
    single = {"intensity": [IntensityControl(F.intensity_curve([-30, -15, -25]))],
              "melody": [melody_control(test_clips(data, 1)["melody_pc"][0])],
              "structure": [StructureControl(F.structure_from_string("AABA"))]}
    return {**single, "intensity+melody": single["intensity"] + single["melody"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--tasks", default="intensity,melody")
    p.add_argument("--method", default="ditto2")
    p.add_argument("--opt-steps", type=int, default=None)
    p.add_argument("--refine-steps", type=int, default=None)
    p.add_argument("--decode-steps", type=int, default=None)
    p.add_argument("--full-steps", action="store_true", help="the fixed step counts, no early stop")
    p.add_argument("--precision", default="auto")
    p.add_argument("--start-search", type=int, default=None, help="noises per candidate to start from (default: "
                                                                     "the controls')")
    p.add_argument("--models", default=None)
    p.add_argument("--data", default="data/full")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    pipe = Pipeline.from_pretrained(args.models)
    controls = task_controls(args.data)
    settings = dict(method=args.method, opt_steps=args.opt_steps, precision=args.precision, progress=False,
                    decode_steps=args.decode_steps, early_stop=not args.full_steps, start_search=args.start_search)
    if args.refine_steps is not None:
        settings["refine_steps"] = args.refine_steps
    pipe.generate(controls["intensity"], **dict(settings, opt_steps=2))  # warm-up: first-call allocations
    print(f"threads {args.threads}, reps {args.reps}, median seconds per clip\n")
    print("| task | method | steps run (budget) + refine | precision | total | stages |\n|---|---|---|---|---|---|")
    for task in args.tasks.split(","):
        runs = [pipe.generate(controls[task], seed=seed, **settings) for seed in range(args.reps)]
        total = float(np.median([r.timing["total_s"] for r in runs]))
        stages = {k: float(np.median([r.timing["stages_s"].get(k, 0.0) for r in runs]))
                  for k in runs[0].timing["stages_s"]}
        s = runs[0].settings
        cells = ", ".join(f"{k} {v:.2f}" for k, v in stages.items() if v >= 0.005)
        run = float(np.median([r.settings["opt_steps_run"] for r in runs]))
        print(f"| {task} | {s['method']} | {run:g} ({s['opt_steps']}) + {s['refine_steps']} | {s['precision']} | "
              f"{total:.2f} | {cells} |")


if __name__ == "__main__":
    main()
