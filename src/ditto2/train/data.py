"""Training batches: random crops by step of a split held in memory (``data.arrays.SplitArrays``).

Batch k is a pure function of (seed, rank, k), so a resumed run sees exactly the batches an uninterrupted run
would have seen.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ditto2.data.arrays import SplitArrays
from ditto2.errors import InputError


def crop_batches(arrays: SplitArrays, batch_size: int, crop: int, seed: int, rank: int, start: int,
                 align: int = 1, text: bool = False, frames_of=None):
    """Endless batches; batch k holds random clips, random ``crop``-frame windows (starts multiple of
    ``align``) and, with ``text``, one random caption variant embedding per clip.

    ``frames_of`` (default ``arrays.mel``) is the array cut along its last axis: e.g. the split's autoencoder
    latents, cut with ``crop`` and ``align`` in latent frames. The same (seed, rank, k) picks the same clips,
    windows and captions whatever array is cut, as long as crop / align / length scale together."""
    source = arrays.mel if frames_of is None else frames_of
    frames = source.shape[-1]
    if crop > frames or crop % align:
        raise InputError(f"crop of {crop} frames must be at most {frames} and a multiple of {align}")
    k = start
    while True:
        rng = np.random.default_rng([seed, rank, k])
        idx = rng.integers(len(arrays), size=batch_size)
        offsets = rng.integers(0, (frames - crop) // align + 1, size=batch_size) * align
        cut = np.stack([source[i, ..., o: o + crop] for i, o in zip(idx, offsets)]).astype(np.float32)
        batch = {"mel": torch.from_numpy(cut)}
        if text:
            variant = rng.integers(arrays.text.shape[1], size=batch_size)
            batch["text"] = torch.from_numpy(arrays.text[idx, variant].astype(np.float32))
        yield batch
        k += 1


def _encode(ae, mel: np.ndarray, chunk: int = 32) -> np.ndarray:
    from tqdm import tqdm

    parts = []
    with torch.no_grad():
        for i in tqdm(range(0, len(mel), chunk), desc="encoding latents", unit="chunk", leave=False):
            parts.append(ae.to_latent(torch.from_numpy(mel[i: i + chunk].astype(np.float32))).half().numpy())
    return np.concatenate(parts)


def split_latents(ae, ae_digest: str, root: str | Path, split: str, arrays: SplitArrays) -> np.ndarray:
    """The split's whole clips encoded once by the frozen autoencoder (float16, memory-mapped).

    Encoding each training crop anew cost a fifth of a CPU training step; crops of whole-clip latents are
    also what the teacher meets when it samples whole clips. Cached in ``ROOT/cache/``, named by the
    autoencoder's and the manifest's digests, written atomically, so a rebuilt dataset or another
    autoencoder never reads a stale file."""
    import hashlib

    from ditto2.fileio import atomic_path

    manifest = hashlib.sha256((Path(root) / "manifest.json").read_bytes()).hexdigest()[:12]
    path = Path(root) / "cache" / f"latents-{split}-{ae_digest}-{manifest}-{len(arrays)}.npy"
    if not path.is_file():
        latents = _encode(ae, arrays.mel)
        with atomic_path(path) as tmp:  # makes the folder too
            with open(tmp, "wb") as f:
                np.save(f, latents)
    return np.load(path, mmap_mode="r")
