"""Does the teacher denoise a whole clip as well as short windows of it?

    .venv/bin/python studies/window_fit.py [--clips 32] [--models DIR] [--windows 32,64,128]

The teacher samples whole 512-frame clips (128 latent frames); it trained on 128-frame mel crops (32 latent
frames) up to step 43,825 and on whole clips since (docs/models.md). Its bottleneck attention and GroupNorms
see the whole input, so a training length other than the sampling length is a mismatch. This scores the same
latent frames (the whole clips' latents of the validation split, fixed noise) once denoised as one window of
each length in --windows; a loss that grows with the window means the net does not generalise to the
sampling length (training on longer crops should help), one that falls means it uses the longer context.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from ditto2.diffusion.edm import edm_weight
from ditto2.models import Teacher
from ditto2.data.arrays import SplitArrays
from ditto2.train.teacher import VAL_SIGMAS


@torch.no_grad()
def windowed_losses(denoiser, x0: torch.Tensor, text: torch.Tensor, window: int) -> dict[str, float]:
    """EDM-weighted error per sigma, with x0 cut into windows of ``window`` latent frames denoised apart."""
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(1234))
    out = {}
    for sigma in VAL_SIGMAS:
        weight = edm_weight(sigma, denoiser.sigma_data)
        noisy = x0 + sigma * noise
        pieces = [denoiser(noisy[..., s:s + window], sigma, text) for s in range(0, x0.shape[-1], window)]
        out[f"σ={sigma:g}"] = weight * (torch.cat(pieces, -1) - x0).square().mean().item()
    out["mean"] = float(np.mean(list(out.values())))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--models", default=None)
    parser.add_argument("--data", default="data/full")
    parser.add_argument("--split", default="validation")
    parser.add_argument("--windows", default="32,64,128")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    teacher = Teacher.load(args.models)
    arrays = SplitArrays(args.data, args.split, text=True, limit=args.clips)
    x0 = teacher.autoencoder.to_latent(torch.from_numpy(arrays.mel.astype(np.float32)))
    text = torch.from_numpy(arrays.text[:, 0].astype(np.float32))
    rows = {w: windowed_losses(teacher.denoiser, x0, text, int(w)) for w in args.windows.split(",")}
    keys = list(next(iter(rows.values())))
    print(f"teacher: {teacher.info}; {args.clips} {args.split} clips, {x0.shape[-1]} latent frames each\n")
    print("| window (latent frames) | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for w, row in rows.items():
        print(f"| {w} | " + " | ".join(f"{row[k]:.4f}" for k in keys) + " |")


if __name__ == "__main__":
    main()
