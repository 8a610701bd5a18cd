"""Choose DITTO-2's optimiser settings: Adam learning rate x steps x decode steps on the intensity task.

    .venv/bin/python studies/sweep_ditto2.py --model ctd --lrs 5e-3,2e-2,5e-2 --steps 10,20,40,70 --decode-steps 1,4 \
        -n 3 [--schedules constant,cosine] [--refine-steps 0,3] [--targets tuning|random] [--beta1 0.9] \
        [--precision fp32|bf16|auto] [--models DIR] [--threads 2]

For each setting, n seeded clips (seeds 100 + i; targets cycling through crescendo / decrescendo / swell) are
optimised through the one-step student and
decoded with k student steps; the table gives the intensity error of the decoded mel (dB RMS, the control's own
feature; the bench scores final audio with the independent extractor) and the wall time of the optimisation.
One constant-rate run per (lr, seed) is recorded at every step count in --steps, by decoding its best iterate so
far; a cosine schedule depends on the run's length, so it runs once per step count. With --refine-steps R, a
decode of k > 1 steps is also reported after R Adam steps through the k-step decode itself (the pipeline's
refinement). --targets random draws n loudness curves at random (seed TUNING_SEED, not the bench's fresh
targets, which stay unseen by tuning).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from ditto2 import features as F
from ditto2.bench.targets import INTENSITY_CURVES, TUNING_SEED, fresh_curves
from ditto2.controls import IntensityControl
from ditto2.controls.base import total_loss
from ditto2.engine import Ditto2Engine, OptimConfig, optimise_noise
from ditto2.models import load_student_for
from ditto2.pipeline import REFINE_LR_FACTOR, Pipeline
from ditto2.precision import autocast_for




def intensity_rms_db(mel: torch.Tensor, control: IntensityControl) -> float:
    return float((F.intensity_db(mel) - control.target).square().mean().sqrt())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="ctd")
    p.add_argument("--lrs", default="5e-3,2e-2,5e-2")
    p.add_argument("--steps", default="10,20,40,70")
    p.add_argument("--decode-steps", default="1,4")
    p.add_argument("--schedules", default="constant", help="comma list of constant, cosine")
    p.add_argument("--precision", default="fp32", help="of the optimisation: fp32, bf16 or auto")
    p.add_argument("--refine-steps", default="0", help="comma list: Adam steps through the k-step decode")
    p.add_argument("--beta1", type=float, default=0.9, help="Adam's momentum")
    p.add_argument("--refine-lr", type=float, default=None, help="of the refinement (default: the pipeline's, "
                   "REFINE_LR_FACTOR x --lrs)")
    p.add_argument("--fresh-refine", action="store_true", help="refine with a fresh Adam (default: continue "
                   "the surrogate run's moments, as the pipeline does)")
    p.add_argument("--targets", choices=("tuning", "random"), default="tuning")
    p.add_argument("-n", type=int, default=3)
    p.add_argument("--models", default=None)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    pipe = Pipeline.from_pretrained(args.models)
    student = load_student_for(args.models, args.model)
    lrs = [float(v) for v in args.lrs.split(",")]
    checkpoints = [int(v) for v in args.steps.split(",")]
    decodes = [int(v) for v in args.decode_steps.split(",")]
    refines = [int(v) for v in args.refine_steps.split(",")]
    curves = list(INTENSITY_CURVES.values()) if args.targets == "tuning" else fresh_curves(args.n, TUNING_SEED)
    schedules = [v.strip() for v in args.schedules.split(",")]
    rows: dict[tuple, list] = {}
    continuing = any(refines) and not args.fresh_refine
    for schedule in schedules:
        # A constant rate is read off one run at every step count, unless a refinement continues the run's Adam
        # moments (those of its last step); a cosine schedule needs one run per count.
        one_run = schedule == "constant" and not continuing
        runs = [max(checkpoints)] if one_run else checkpoints
        for lr in lrs:
            for i in range(args.n):
                control = IntensityControl(F.intensity_curve(curves[i % len(curves)]))
                x_T = pipe.teacher.initial_noise([100 + i])
                engine = Ditto2Engine(pipe.teacher, student, 1)
                for length in runs:
                    start = time.perf_counter()
                    with autocast_for("cpu", args.precision):
                        result = optimise_noise(x_T, engine.render, lambda mel, c=control: total_loss([c], mel),
                                                OptimConfig(steps=length, lr=lr, schedule=schedule,
                                                            beta1=args.beta1),
                                                sigma=student.sigma_max,
                                                snapshots=checkpoints if one_run else [length])
                    rows.setdefault(("time", schedule, lr), []).append((time.perf_counter() - start) / length)
                    for steps, x in result.snapshots.items():
                        for k in decodes:
                            for refine in refines if k > 1 else [0]:
                                moments = None if args.fresh_refine else result.adam_state
                                mel = decode_refined(Ditto2Engine(pipe.teacher, student, k), x, [100 + i], control,
                                                     refine, args.refine_lr or lr * REFINE_LR_FACTOR, args.beta1,
                                                     args.precision,
                                                     rows, moments)
                                rows.setdefault((schedule, lr, steps, k, refine), []).append(
                                    intensity_rms_db(mel, control))
                with torch.no_grad():
                    base = Ditto2Engine(pipe.teacher, student, 4).decode(x_T, [100 + i])
                rows.setdefault(("uncontrolled",), []).append(intensity_rms_db(base, control))
    print(f"model {args.model}, n {args.n}; intensity error of the decoded mel, dB RMS: median over clips (in brackets "
          "the mean squared error over clips, dB², the bench's figure)\n")
    print(f"uncontrolled (4-step decode): {np.median(rows[('uncontrolled',)]):.2f} dB\n")
    columns = [(k, r) for k in decodes for r in (refines if k > 1 else [0])]
    names = [f"decode {k}" + (f" + {r} refine" if r else "") for k, r in columns]
    refine_lr = args.refine_lr or f"{REFINE_LR_FACTOR} x lr"
    print(f"precision {args.precision}; beta1 {args.beta1}; refine lr {refine_lr}")
    print(f"targets {args.targets}: {curves}\n")
    print("| schedule | lr | steps | " + " | ".join(names) + " | s / step |")
    print("|---|---|---|" + "---|" * len(columns) + "---|")
    for schedule in schedules:
        for lr in lrs:
            for steps in checkpoints:
                cells = " | ".join(f"{np.median(rows[(schedule, lr, steps, k, r)]):.2f} "
                                   f"({np.mean(np.square(rows[(schedule, lr, steps, k, r)])):.2f})" for k, r in columns)
                print(f"| {schedule} | {lr:g} | {steps} | {cells} | {np.median(rows[('time', schedule, lr)]):.3f} |")
    for refine in (r for r in refines if r and ("refine", r) in rows):
        print(f"\nrefinement: {np.median(rows[('refine', refine)]):.3f} s / step ({refine} steps)")


def decode_refined(engine, x_T, seeds, control, steps: int, lr: float, beta1: float, precision: str,
                   rows, moments=None) -> torch.Tensor:
    """The k-step decode of x_T after ``steps`` Adam steps through that decode (none: the plain decode)."""
    if steps:
        start = time.perf_counter()
        with autocast_for("cpu", precision):
            x_T = optimise_noise(x_T, engine.decode_render(seeds), lambda mel: total_loss([control], mel),
                                 OptimConfig(steps=steps, lr=lr, beta1=beta1), sigma=engine.sigma_max,
                                 moments=moments).x_T
        rows.setdefault(("refine", steps), []).append((time.perf_counter() - start) / steps)
    with torch.no_grad():
        return engine.decode(x_T, seeds)


if __name__ == "__main__":
    main()
