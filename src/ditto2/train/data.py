"""In-memory training data: a split's mels (and caption embeddings), random crops by step.

The whole train split of the default build fits in memory (about 1.5 GB of float16 mels), and batch k
is a pure function of (seed, rank, k), so a resumed run sees exactly the batches an uninterrupted
run would have seen. (``data.dataset.ShardStream`` streams larger datasets.)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ditto2.data import shards
from ditto2.data.text_cache import load_caption_embeddings
from ditto2.errors import InputError


class SplitArrays:
    def __init__(self, root: str | Path, split: str, text: bool = False, limit: int | None = None):
        mels, texts = [], []
        for path in shards.shard_paths(root, split):
            mels.append(shards.read_shard(path, fields=("mel",))["mel"])
            if text:
                texts.append(load_caption_embeddings(path))
        self.mel = np.concatenate(mels)[:limit] if mels else np.zeros((0, 80, 512), np.float16)
        self.text = np.concatenate(texts)[:limit] if text and texts else None
        if len(self.mel) == 0:
            raise InputError(f"split {split!r} of dataset {root} has no clips")

    def __len__(self) -> int:
        return len(self.mel)


def crop_batches(arrays: SplitArrays, batch_size: int, crop: int, seed: int, rank: int, start: int,
                 align: int = 1, text: bool = False):
    """Endless batches; batch k holds random clips, random ``crop``-frame windows (starts multiple of
    ``align``) and, with ``text``, one random caption variant embedding per clip."""
    frames = arrays.mel.shape[-1]
    if crop > frames or crop % align:
        raise InputError(f"crop of {crop} frames must be at most {frames} and a multiple of {align}")
    k = start
    while True:
        rng = np.random.default_rng([seed, rank, k])
        idx = rng.integers(len(arrays), size=batch_size)
        offsets = rng.integers(0, (frames - crop) // align + 1, size=batch_size) * align
        mel = np.stack([arrays.mel[i, :, o: o + crop] for i, o in zip(idx, offsets)]).astype(np.float32)
        batch = {"mel": torch.from_numpy(mel)}
        if text:
            variant = rng.integers(arrays.text.shape[1], size=batch_size)
            batch["text"] = torch.from_numpy(arrays.text[idx, variant].astype(np.float32))
        yield batch
        k += 1
