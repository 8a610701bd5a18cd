"""Adaptive step budgets for DITTO-2's intensity control: stop the surrogate once it is within a tolerance of the
target, up to a maximum, so the easy curves stop early and the hard ones get more steps.

    .venv/bin/python studies/adaptive_steps.py -n 24 --tols none,0.3,0.2 --max-steps 40,80 [--decode-steps 2]
        [--models DIR] [--threads 1]

Each setting runs ``Pipeline.generate`` (bf16 where fast; ``--decode-steps``, default 2 with the refinement, as
for the figures of docs/results.md, "An adaptive step budget"; 1 is today's intensity default) on the
tuning curves (``sweep_ditto2.py --targets random``: seed TUNING_SEED, seeds 100 + i; never the bench's fresh
curves). ``--tols`` are surrogate tolerances in dB RMS (``none``: every step of the budget, as ``--full-steps``). The table
gives the decoded-mel intensity error (dB RMS median, mean dB²), the surrogate steps run and the wall seconds
per clip (median and mean). Pause background training for the times; the errors do not depend on it.
"""
from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import torch

from ditto2 import features as F
from ditto2.bench.targets import TUNING_SEED, fresh_curves
from ditto2.controls import IntensityControl
from ditto2.controls.music import INTENSITY_SCALE_DB
from ditto2.pipeline import Pipeline



def parse_tol(text: str) -> float | None:
    return None if text.strip() == "none" else float(text)


def run_setting(pipe: Pipeline, curves, max_steps: int, tol_db: float | None, decode_steps: int) -> dict[str, list]:
    target = None if tol_db is None else (tol_db / INTENSITY_SCALE_DB) ** 2  # the control's loss units
    rows: dict[str, list[float]] = {"err_db": [], "steps": [], "seconds": []}
    for i, curve in enumerate(curves):
        control = IntensityControl(F.intensity_curve(curve))
        result = pipe.generate([control], seed=100 + i, opt_steps=max_steps, target_loss=target,
                               early_stop=tol_db is not None, decode_steps=decode_steps, progress=False)
        rows["err_db"].append(float(np.sqrt(result.final_losses["intensity"][0])) * INTENSITY_SCALE_DB)
        rows["steps"].append(sum(1 for r in result.history if not r.get("refine")) - 1)
        rows["seconds"].append(result.timing["total_s"])
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=24, help="tuning curves")
    p.add_argument("--tols", default="none,0.3,0.2", help="comma list of surrogate tolerances (dB RMS) or none")
    p.add_argument("--max-steps", default="40,80", help="comma list of step budgets")
    p.add_argument("--decode-steps", type=int, default=2)
    p.add_argument("--fast-lrs", default=None,
                   help="comma list of the intensity control's beta1-0.5 learning rates (default: its own)")
    p.add_argument("--models", default=None)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    pipe = Pipeline.from_pretrained(args.models)
    curves = fresh_curves(args.n, TUNING_SEED)
    pipe.generate([IntensityControl(F.intensity_curve(curves[0]))], opt_steps=2, progress=False)  # warm-up
    print(f"{args.n} tuning curves, threads {args.threads}; decoded-mel intensity error\n")
    print("| lr | max steps | tolerance (dB RMS) | error median dB RMS (mean dB²) | steps median / mean | "
          "s / clip median / mean |\n|---|---|---|---|---|---|")
    default = IntensityControl.settings
    lrs = [default.fast_lr] if args.fast_lrs is None else [float(v) for v in args.fast_lrs.split(",")]
    for lr, max_steps, tol in ((lr, int(m), parse_tol(t)) for lr in lrs for m in args.max_steps.split(",")
                               for t in args.tols.split(",")):
        IntensityControl.settings = dataclasses.replace(default, fast_lr=lr)
        rows = run_setting(pipe, curves, max_steps, tol, args.decode_steps)
        err = np.asarray(rows["err_db"])
        print(f"| {lr:g} | {max_steps} | {tol if tol is not None else 'none'} | {np.median(err):.2f} "
              f"({np.mean(err ** 2):.2f}) | {np.median(rows['steps']):.0f} / {np.mean(rows['steps']):.1f} | "
              f"{np.median(rows['seconds']):.2f} / {np.mean(rows['seconds']):.2f} |", flush=True)


if __name__ == "__main__":
    main()
