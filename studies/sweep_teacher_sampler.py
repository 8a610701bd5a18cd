"""Does a sampler setting close the teacher's quality gap? The gate's figures for several sampler settings.

    .venv/bin/python studies/sweep_teacher_sampler.py [-n 16] [--threads 1] [--settings real "cfg3 heun20" ...]

For each setting, n clips (seeds 0..n-1; captions of n validation clips where guided) go through the same
Griffin-Lim and are scored like ``ditto2 eval quality``: FD-54 against 64 test-split clips, median onset
peakiness and basic-pitch notes. Appends one JSON line per setting to --out (runs/sweep-sampler.jsonl). Settings
(quote the names, they hold a space): ``real`` (real mels through Griffin-Lim, the target), ``uncond heun20``,
``uncond ancestral40`` (Euler ancestral, stochastic, eta 1), ``cfg1 heun20`` ... ``cfg8 heun20`` (CFG 1/3/5/8)
and ``cfg3 ancestral40``; all by default.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from ditto2.audio.vocoder import GriffinLim
from ditto2.diffusion.samplers import sample_euler_ancestral
from ditto2.eval import quality
from ditto2.eval.teacher_report import _held_out, _vocode
from ditto2.models import Teacher


@torch.no_grad()
def generate(teacher: Teacher, text: torch.Tensor, n: int, cfg: float | None, steps: int, ancestral: bool):
    """n mels from seeds 0..n-1: ``Teacher.sample`` (Heun), or Euler ancestral with seed-pinned fresh noise."""
    mels = []
    for k in range(n):
        x, cond = teacher.initial_noise([k]), None if cfg is None else text[k: k + 1]
        if not ancestral:
            mels.append(teacher.sample(x, steps, "heun", cond, cfg or 1.0)[0])
            continue
        gen = torch.Generator().manual_seed(1000 + k)
        noise = [torch.randn(x.shape, generator=gen) for _ in range(steps)]
        z = sample_euler_ancestral(teacher.guided(cond, cfg or 1.0), x, teacher.denoiser.karras_sigmas(steps),
                                   noise=noise)
        mels.append(teacher.autoencoder.from_latent(z).clamp(-1, 1)[0])
    return torch.stack(mels)


SETTINGS = {  # name: (cfg or None for unconditional, steps, ancestral)
    "uncond heun20": (None, 20, False),
    "uncond ancestral40": (None, 40, True),
    "cfg1 heun20": (1.0, 20, False),
    "cfg3 heun20": (3.0, 20, False),
    "cfg5 heun20": (5.0, 20, False),
    "cfg8 heun20": (8.0, 20, False),
    "cfg3 ancestral40": (3.0, 40, True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data", default="data/full")
    parser.add_argument("--settings", nargs="*", default=["real"] + list(SETTINGS), choices=["real", *SETTINGS],
                        metavar="SETTING", help=f"subset of: real, {', '.join(SETTINGS)}")
    parser.add_argument("--out", default="runs/sweep-sampler.jsonl")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    teacher, vocoder, counter = Teacher.load(None), GriffinLim(), quality.NoteCounter()
    reference = _held_out(args.data, "test", 64, 0)
    real = _held_out(args.data, "validation", args.n, 1)
    ref_features = np.stack([quality.clip_features(c) for c in reference["audio"]])
    for name in args.settings:
        start = time.time()
        if name == "real":
            clips = _vocode(real["mel"], vocoder)
        else:
            clips = _vocode(generate(teacher, real["text"], args.n, *SETTINGS[name]), vocoder)
        score = quality.score_set(name, clips, ref_features, counter).__dict__
        score["seconds"] = round(time.time() - start, 1)
        with open(args.out, "a") as log:
            log.write(json.dumps(score) + "\n")
        print(json.dumps(score), flush=True)


if __name__ == "__main__":
    main()
