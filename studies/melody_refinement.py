"""Melody's DITTO-2 settings on the final audio: refinement steps through the 2-step decode, and surrogate steps.
DITTO-2 with the defaults on the tuning melodies (the first N test clips; the bench's fresh melodies skip 32), for
each (surrogate steps, refinement steps) pair, scored by basic-pitch transcription of the final audio.

    .venv/bin/python studies/melody_refinement.py --refine-steps 0,5 [--opt-steps 20,30,40] -n 8 [--data data/full]
        [--models DIR] [--threads 1]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from ditto2.bench import melody_control, test_clips
from ditto2.eval.melody import Transcriber, score_melody
from ditto2.pipeline import Pipeline


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--refine-steps", default="0,5")
    p.add_argument("--opt-steps", default=None, help="comma list of surrogate step counts (default: the pipeline's)")
    p.add_argument("-n", type=int, default=8)
    p.add_argument("--data", default="data/full")
    p.add_argument("--models", default=None)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    pipe, transcriber = Pipeline.from_pretrained(args.models), Transcriber()
    melodies = test_clips(args.data, args.n)["melody_pc"].astype(np.int64)
    steps = [None] if args.opt_steps is None else [int(v) for v in args.opt_steps.split(",")]
    print("| surrogate steps | refinement steps | accuracy, mean | median | per clip |\n|---|---|---|---|---|")
    for opt_steps in steps:
        for refine in (int(v) for v in args.refine_steps.split(",")):
            scores = []
            for i, pcs in enumerate(melodies):
                result = pipe.generate([melody_control(pcs)], seed=100 + i, opt_steps=opt_steps, refine_steps=refine,
                                       progress=False)
                scores.append(score_melody(result.audio[0], pcs, transcriber=transcriber).accuracy)
            print(f"| {result.settings['opt_steps']} | {refine} | {np.mean(scores):.3f} | {np.median(scores):.3f} | "
                  f"{' '.join(f'{s:.2f}' for s in scores)} |", flush=True)


if __name__ == "__main__":
    main()
