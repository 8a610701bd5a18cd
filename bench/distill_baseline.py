"""The distillation validation figure of an undistilled student (a copy of the teacher): the starting point that
the CD and CTD runs' ``val_mse_*step`` improve on.

    python bench/distill_baseline.py [--data data/full]
"""
from __future__ import annotations

import argparse

import torch

from ditto2.models import AUTOENCODER_FILE, TEACHER_FILE, WEIGHTS_DIR
from ditto2.train.distill import DistillTask


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/full")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    for method in ("ctd", "cd"):
        task = DistillTask(args.data, str(WEIGHTS_DIR / TEACHER_FILE), str(WEIGHTS_DIR / AUTOENCODER_FILE), method)
        figures = task.validate(task.build_model().eval())
        print(method, "fresh student (= the teacher's own jumps):",
              {k: round(v, 4) for k, v in figures.items() if k != "loss"})


if __name__ == "__main__":
    main()
