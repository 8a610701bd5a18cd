"""How far is a crop's own latent from the same frames of its whole clip's latent?

    .venv/bin/python studies/crop_latents.py [--clips 64] [--data data/full]

Encodes --clips validation clips whole and their mel frames 128-255 on their own, and prints the MSE per
latent frame between the two (latents are normalised to unit variance). The teacher used to train on
crops encoded on their own; it samples, and the decoder decodes, whole-clip latents.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from ditto2.models import Teacher
from ditto2.data.arrays import SplitArrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=64)
    parser.add_argument("--data", default="data/full")
    args = parser.parse_args()
    ae = Teacher.load(None).autoencoder
    mel = torch.from_numpy(SplitArrays(args.data, "validation", limit=args.clips).mel.astype(np.float32))
    with torch.no_grad():
        whole = ae.to_latent(mel)[..., 32:64]
        crop = ae.to_latent(mel[..., 128:256])
    err = (whole - crop).square().mean(dim=(0, 1, 2))
    print("MSE per latent frame of the crop:", " ".join(f"{e:.4f}" for e in err.tolist()))
    print(f"first {err[0]:.3f}, second {err[1]:.3f}, inside (frames 2..{len(err) - 3}) {err[2:-2].mean():.4f}; "
          f"latent variance {whole.var():.3f}")


if __name__ == "__main__":
    main()
