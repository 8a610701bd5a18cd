"""How much of a noisy clip's overall level does the teacher pass on, against the Bayes-optimal amount?

    .venv/bin/python studies/level_gain.py [--models DIR ...] [--clips 64] [--sigmas 5,10,20,40,80]

A clip's per-channel latent mean over (frequency, time), its "DC", carries its overall level. For real
whole-clip latents x0 (random validation clips) plus fixed noise at each sigma, this prints the regression gain
of the denoiser's predicted DC on the noisy input's DC, beside the gain a linear-Bayes estimator would use
(signal variance / (signal + noise variance), per channel, averaged). An ODE sampler whose denoiser passes on
less than that shrinks the spread of its samples' overall levels: every sample sounds equally loud
(docs/models.md). Unconditional (null caption).
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from ditto2.models import Teacher
from ditto2.data.arrays import SplitArrays


def channel_means(z: torch.Tensor) -> torch.Tensor:
    return z.mean(dim=(2, 3))


def gains(teacher: Teacher, x0: torch.Tensor, sigmas: list[float]) -> list[tuple[float, float]]:
    """(denoiser gain, Bayes gain) per sigma, each averaged over the latent channels."""
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    signal_var = channel_means(x0).var(0)
    out = []
    for sigma in sigmas:
        noisy = x0 + sigma * noise
        with torch.no_grad():
            predicted = channel_means(teacher.denoiser(noisy, sigma, None))
        seen = channel_means(noisy)
        centred = seen - seen.mean(0)
        gain = ((predicted - predicted.mean(0)) * centred).mean(0) / centred.square().mean(0)
        bayes = signal_var / (signal_var + channel_means(sigma * noise).var(0))
        out.append((gain.mean().item(), bayes.mean().item()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=[None], help="model folders (default: the shipped one)")
    parser.add_argument("--clips", type=int, default=64)
    parser.add_argument("--sigmas", default="5,10,20,40,80")
    parser.add_argument("--data", default="data/full")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sigmas = [float(s) for s in args.sigmas.split(",")]
    mel = SplitArrays(args.data, "validation").mel
    mel = mel[np.sort(np.random.default_rng(0).choice(len(mel), args.clips, replace=False))].astype(np.float32)
    rows = []
    for models in args.models:
        teacher = Teacher.load(models)
        with torch.no_grad():
            x0 = teacher.autoencoder.to_latent(torch.from_numpy(mel))
        rows.append((f"teacher {teacher.info.get('steps', '?')} steps ({models or 'shipped'})", gains(teacher, x0, sigmas)))
    print(f"{args.clips} random validation clips, whole 512-frame latents, fixed noise, null caption\n")
    print("| σ | " + " | ".join(f"{s:g}" for s in sigmas) + " |")
    print("|---" * (len(sigmas) + 1) + "|")
    print("| Bayes gain | " + " | ".join(f"{b:.3f}" for _, b in rows[0][1]) + " |")
    for name, row in rows:
        print(f"| {name} | " + " | ".join(f"{g:.3f}" for g, _ in row) + " |")


if __name__ == "__main__":
    main()
