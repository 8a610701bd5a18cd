"""Do generated clips differ from one another as much as real clips do, at each sampling length?

    .venv/bin/python studies/sample_diversity.py [--models DIR ...] [--clips 32] [--frames 128,512] [--steps 20]
                                               [--students ctd,cd]

Per set of clips (normalised log-mels): the **between-clip spread**, the standard deviation across clips of
each clip's time-averaged spectrum (mean over the 80 bands), and the **within-clip spread**, each clip's
standard deviation over time (mean over bands and clips). Generated sets are unconditional, 20 Heun steps,
seeds 0..clips-1 (with --students, also each folder's students' one-step samples of the same x_T); real sets
are the first --frames frames of --clips validation clips drawn at random (seed 0; neighbouring clips come
from the same piece, so the first few would understate real diversity). A generated
between-clip spread far under the real one means every sample has the same overall sound (the FD-54's
covariance term in ``ditto2 eval quality``), however good each looks.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from ditto2.distill.samplers import sample_one_step
from ditto2.errors import InputError
from ditto2.models import Teacher, load_student_for
from ditto2.data.arrays import SplitArrays


def spreads(mels: np.ndarray) -> tuple[float, float]:
    """(between-clip, within-clip) spread of a (clips, bands, frames) batch of normalised mels."""
    return float(mels.mean(-1).std(0).mean()), float(mels.std(-1).mean())


@torch.no_grad()
def generated(teacher: Teacher, clips: int, frames: int, steps: int, student=None) -> np.ndarray:
    """Unconditional mels of seeds 0..clips-1: the teacher's Heun samples, or ``student``'s one-step ones."""
    x_T = teacher.initial_noise(list(range(clips)), frames)
    if student is None:
        return teacher.sample(x_T, steps, "heun", None).numpy()
    return teacher.autoencoder.from_latent(sample_one_step(student, x_T)).clamp(-1, 1).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=[None], help="model folders (default: the shipped one)")
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--frames", default="128,512", help="comma-separated mel lengths to sample")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--students", default="", help="comma-separated student methods to add (ctd, cd)")
    parser.add_argument("--data", default="data/full")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    real = SplitArrays(args.data, "validation").mel
    real = real[np.sort(np.random.default_rng(0).choice(len(real), args.clips, replace=False))].astype(np.float32)
    print(f"{args.clips} clips per set; unconditional, {args.steps} Heun steps\n")
    print("| set | mel frames | between-clip spread | within-clip spread | between-clip, generated / real |")
    print("|---|---|---|---|---|")
    models = [(where, Teacher.load(where)) for where in args.models]
    sets = {}  # row name -> (teacher, student or None), loaded once for every length
    for where, teacher in models:
        label = where or "shipped"
        sets[f"teacher {teacher.info.get('steps', '?')} steps ({label})"] = (teacher, None)
        for method in filter(None, args.students.split(",")):
            try:
                sets[f"{method} student, 1 step ({label})"] = (teacher, load_student_for(where, method))
            except InputError as err:  # e.g. a teacher checkpoint with no students distilled from it yet
                print(f"<!-- {method} student of {label} skipped: {err} -->")
    for frames in (int(f) for f in args.frames.split(",")):
        real_between, real_within = spreads(real[..., :frames])
        print(f"| real validation clips | {frames} | {real_between:.3f} | {real_within:.3f} | 1 |")
        for name, (teacher, student) in sets.items():
            between, within = spreads(generated(teacher, args.clips, frames, args.steps, student))
            print(f"| {name} | {frames} | {between:.3f} | {within:.3f} | {between / real_between:.2f} |")


if __name__ == "__main__":
    main()
