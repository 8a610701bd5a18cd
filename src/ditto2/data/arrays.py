"""A dataset split in memory: its mels (float16) and, optionally, its caption embeddings and rendered audio.

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
    def __init__(self, root: str | Path, split: str, text: bool = False, limit: int | None = None,
                 audio: bool = False):
        mels, texts, waves = [], [], []
        for path in shards.shard_paths(root, split):
            arrays = shards.read_shard(path, fields=("mel", "audio") if audio else ("mel",))
            mels.append(arrays["mel"])
            if text:
                texts.append(load_caption_embeddings(path))
            if audio:
                if "audio" not in arrays:
                    raise InputError(f"shard {path} keeps no audio (the {split} split of a build that keeps it "
                                     "for the held-out splits only; build with --profile vocoder)")
                waves.append(arrays["audio"])
        self.mel = np.concatenate(mels)[:limit] if mels else np.zeros((0, 80, 512), np.float16)
        self.text = np.concatenate(texts)[:limit] if text and texts else None
        self.audio = np.concatenate(waves)[:limit] if waves else None  # int16, (clips, 131072)
        if len(self.mel) == 0:
            raise InputError(f"split {split!r} of dataset {root} has no clips")

    def __len__(self) -> int:
        return len(self.mel)
