"""A dataset split in memory: its mels (float16) and, optionally, its caption embeddings.

The whole train split of the default build fits in memory (about 1.5 GB of float16 mels); ``data.dataset.
ShardStream`` streams larger datasets.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

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
