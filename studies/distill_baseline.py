"""The distillation validation figure of a student that has not been distilled from this teacher: by default a
fresh copy of the teacher (the starting point that the CD and CTD runs' ``val_mse_*step`` improve on); with
``--ctd-student``/``--cd-student``, a released student distilled from an earlier teacher, scored against
``--teacher`` (what a re-distillation after a new teacher release must beat).

    .venv/bin/python studies/distill_baseline.py [--data data/full] [--teacher T.safetensors]
        [--ctd-student S1.safetensors,S2.safetensors --cd-student S.safetensors] [--methods ctd] [--threads 1]
"""
from __future__ import annotations

import argparse

import torch

from ditto2.models import AUTOENCODER_FILE, TEACHER_FILE, WEIGHTS_DIR
from ditto2.release import load_release
from ditto2.train.distill import DistillTask


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/full")
    p.add_argument("--teacher", default=str(WEIGHTS_DIR / TEACHER_FILE))
    p.add_argument("--ctd-student", default=None,
                   help="released CTD student(s) to score, comma-separated: one teacher reference for all "
                   "(default: a fresh copy)")
    p.add_argument("--cd-student", default=None, help="released CD student to score (default: a fresh copy)")
    p.add_argument("--methods", default="ctd,cd", help="students to score (default ctd,cd)")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    chosen = args.methods.split(",")
    for method, students in (m for m in (("ctd", args.ctd_student), ("cd", args.cd_student)) if m[0] in chosen):
        task = DistillTask(args.data, args.teacher, str(WEIGHTS_DIR / AUTOENCODER_FILE), method)
        for student in students.split(",") if students else [None]:
            model = task.build_model()
            if student:
                load_release(student, model)
            figures = task.validate(model.eval())  # the teacher's reference is computed once per task
            print(method, student or "fresh student (= the teacher's own jumps)", "vs", args.teacher,
                  {k: round(v, 4) for k, v in figures.items() if k != "loss"}, flush=True)


if __name__ == "__main__":
    main()
