"""Inner-loop cost of DITTO vs DITTO-2 on the shipped teacher: one optimisation step (forward + backward of the
surrogate, decoder and an intensity control) for one 5.94 s clip, plus the decodes and the vocoder.

    python bench/bench_engines.py --reps 5 [--models DIR]

Without shipped students, a fresh student made from the teacher stands in (same network, same cost).
"""
from __future__ import annotations

import argparse

import torch

from ditto2 import features as F
from ditto2.controls import IntensityControl
from ditto2.distill import Student
from ditto2.engine import Ditto2Engine, DittoEngine
from ditto2.errors import MissingResourceError
from ditto2.models import Teacher, load_student_for
from ditto2.timing import median_seconds


def student_for(teacher, models, method: str):
    try:
        return load_student_for(models, method), "shipped"
    except MissingResourceError:
        return Student.from_teacher(teacher.denoiser, method).eval().requires_grad_(False), "fresh"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--models", default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    teacher = Teacher.load(args.models)
    control = IntensityControl(F.intensity_curve([-35, -15]))
    x_T = teacher.initial_noise([0])

    def step(engine):
        def run():
            x = x_T.clone().requires_grad_(True)
            control.loss(engine.render(x)).sum().backward()
        return run

    rows = []
    ditto = DittoEngine(teacher)
    rows.append(("DITTO opt step (20-step DDIM chain, checkpointed)", median_seconds(step(ditto), args.reps)))
    rows.append(("DITTO decode (20 DDIM steps)", median_seconds(lambda: ditto.decode(x_T, [0]), args.reps)))
    for method in ("ctd", "cd"):
        student, origin = student_for(teacher, args.models, method)
        for k in (1, 2, 4, 8):
            engine = Ditto2Engine(teacher, student, k)
            if k == 1:
                rows.append((f"DITTO-2 opt step ({method}, one-step student, {origin})",
                             median_seconds(step(engine), args.reps)))
            rows.append((f"DITTO-2 decode ({method}, {k} steps)",
                         median_seconds(lambda e=engine: e.decode(x_T, [0]), args.reps)))
    from ditto2.audio.vocoder import GriffinLim

    mel = ditto.decode(x_T, [0])
    rows.append(("Griffin-Lim vocoder (32 it)", median_seconds(lambda: GriffinLim()(mel), args.reps)))
    print(f"threads {args.threads}, reps {args.reps}, one 5.94 s clip, median seconds\n")
    print("| stage | seconds |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
