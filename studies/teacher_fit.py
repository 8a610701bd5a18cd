"""Under- or over-fitting? The teacher's validation loss on training, validation and test clips alike.

    .venv/bin/python studies/teacher_fit.py [--clips 96] [--models DIR] [--data data/full] [--latents whole|crop]

The teacher's validation measure (``train.teacher.fixed_sigma_losses``: EDM-weighted denoising error at fixed
sigmas with fixed noise) on the first 256 mel frames of the first --clips clips of each split, their latents
cut from the whole clips' latents (``whole``, as training since step 32,650 and sampling see them) or encoded
from the 256-frame crop alone (``crop``, as the teacher was trained and validated before). Since the teacher
trains on whole clips its own validation runs on whole clips, so these figures compare across splits, not
with the training log's. Training loss far below held-out loss would mean
over-fitting (more data or regularisation needed); equal losses mean the model under-fits the data, so more
capacity or more steps are what help.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from ditto2.models import Teacher
from ditto2.data.arrays import SplitArrays
from ditto2.train.teacher import fixed_sigma_losses


@torch.no_grad()
def split_loss(teacher: Teacher, data: str, split: str, clips: int, latents: str = "whole") -> dict[str, float]:
    arrays = SplitArrays(data, split, text=True, limit=clips)
    mel = torch.from_numpy(arrays.mel.astype(np.float32))
    if latents == "whole":
        x0 = teacher.autoencoder.to_latent(mel)[..., : 256 // teacher.autoencoder.config.down_time]
    else:
        x0 = teacher.autoencoder.to_latent(mel[..., :256])
    return fixed_sigma_losses(teacher.denoiser, x0, torch.from_numpy(arrays.text[:, 0].astype(np.float32)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=96)
    parser.add_argument("--models", default=None)
    parser.add_argument("--data", default="data/full")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--latents", choices=("whole", "crop"), default="whole")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    teacher = Teacher.load(args.models)
    rows = {split: split_loss(teacher, args.data, split, args.clips, args.latents)
            for split in ("train", "validation", "test")}
    keys = list(next(iter(rows.values())))
    print(f"teacher: {teacher.info}; first {args.clips} clips of each split, 256 frames, {args.latents} latents\n")
    print("| split | " + " | ".join(f"σ = {k[6:]}" if k != "loss" else "**mean**" for k in keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for split, row in rows.items():
        print(f"| {split} | " + " | ".join(f"{row[k]:.4f}" for k in keys) + " |")


if __name__ == "__main__":
    main()
