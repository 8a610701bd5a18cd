"""Choose DITTO-2's optimiser settings: Adam learning rate x steps x decode steps on the intensity task.

    python bench/sweep_ditto2.py --model ctd --lrs 5e-3,2e-2,5e-2 --steps 10,20,40,70 --decode-steps 1,4 -n 3 \
        [--schedules constant,cosine]

For each setting, n seeded clips (crescendo / decrescendo / swell) are optimised through the one-step student and
decoded with k student steps; the table gives the intensity error of the decoded mel (dB RMS, the control's own
feature; the bench scores final audio with the independent extractor) and the wall time of the optimisation.
One constant-rate run per (lr, seed) is recorded at every step count in --steps, by decoding its best iterate so
far; a cosine schedule depends on the run's length, so it runs once per step count.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from ditto2 import features as F
from ditto2.bench import INTENSITY_CURVES
from ditto2.controls import IntensityControl
from ditto2.controls.base import total_loss
from ditto2.engine import Ditto2Engine, OptimConfig, optimise_noise
from ditto2.models import load_student_for
from ditto2.pipeline import Pipeline
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
    curves = list(INTENSITY_CURVES.values())
    schedules = [v.strip() for v in args.schedules.split(",")]
    rows: dict[tuple, list] = {}
    for schedule in schedules:
        # A constant rate is read off one run at every step count; a cosine schedule needs one run per count.
        runs = [max(checkpoints)] if schedule == "constant" else checkpoints
        for lr in lrs:
            for i in range(args.n):
                control = IntensityControl(F.intensity_curve(curves[i % len(curves)]))
                x_T = pipe.teacher.initial_noise([100 + i])
                engine = Ditto2Engine(pipe.teacher, student, 1)
                for length in runs:
                    start = time.perf_counter()
                    with autocast_for("cpu", args.precision):
                        result = optimise_noise(x_T, engine.render, lambda mel, c=control: total_loss([c], mel),
                                                OptimConfig(steps=length, lr=lr, schedule=schedule),
                                                sigma=student.sigma_max,
                                                snapshots=checkpoints if schedule == "constant" else [length])
                    rows.setdefault(("time", schedule, lr), []).append((time.perf_counter() - start) / length)
                    for steps, x in result.snapshots.items():
                        for k in decodes:
                            with torch.no_grad():
                                mel = Ditto2Engine(pipe.teacher, student, k).decode(x, [100 + i])
                            rows.setdefault((schedule, lr, steps, k), []).append(intensity_rms_db(mel, control))
                with torch.no_grad():
                    base = Ditto2Engine(pipe.teacher, student, 4).decode(x_T, [100 + i])
                rows.setdefault(("uncontrolled",), []).append(intensity_rms_db(base, control))
    print(f"model {args.model}, n {args.n}; intensity error of the decoded mel, dB RMS (median over clips)\n")
    print(f"uncontrolled (4-step decode): {np.median(rows[('uncontrolled',)]):.2f} dB\n")
    print("| schedule | lr | steps | " + " | ".join(f"decode {k}" for k in decodes) + " | s / step |")
    print("|---|---|---|" + "---|" * len(decodes) + "---|")
    for schedule in schedules:
        for lr in lrs:
            for steps in checkpoints:
                cells = " | ".join(f"{np.median(rows[(schedule, lr, steps, k)]):.2f}" for k in decodes)
                print(f"| {schedule} | {lr:g} | {steps} | {cells} | {np.median(rows[('time', schedule, lr)]):.3f} |")


if __name__ == "__main__":
    main()
