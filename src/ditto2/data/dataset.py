"""Datasets over the clip shards.

* ``ClipDataset``: map-style, loads a split into memory (validation, test, small data).
* ``ShardStream``: iterable, streams shards in a seeded random order with a shuffle buffer,
  splits shards over DataLoader workers and distributed ranks, and can cut random crops.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ditto2.data import shards
from ditto2.data.text_cache import load_caption_embeddings
from ditto2.errors import InputError

DEFAULT_FIELDS = ("mel",)


def _load(path: Path, fields: tuple[str, ...]) -> dict[str, np.ndarray]:
    data = shards.read_shard(path, fields=[f for f in fields if f != "text"])
    if "text" in fields:
        data["text"] = load_caption_embeddings(path)
    missing = set(fields) - set(data)
    if missing:
        raise InputError(f"shard {path} has no field(s) {sorted(missing)}")
    return data


def _item(data: dict[str, np.ndarray], i: int) -> dict:
    item = {}
    for name, array in data.items():
        if name == "meta":
            item[name] = json.loads(str(array[i]))
        elif name == "captions":
            item[name] = [str(c) for c in array[i]]
        else:
            value = torch.from_numpy(np.ascontiguousarray(array[i]))
            item[name] = value.float() if value.dtype in (torch.float16, torch.int16) and name != "melody_pitch" else value
    return item


class ClipDataset(torch.utils.data.Dataset):
    """All clips of one split in memory. Items are dicts of the requested fields."""

    def __init__(self, root: str | Path, split: str, fields: tuple[str, ...] = DEFAULT_FIELDS):
        loaded = [_load(p, fields) for p in shards.shard_paths(root, split)]
        loaded = [d for d in loaded if len(next(iter(d.values())))]
        self.data = {f: np.concatenate([d[f] for d in loaded]) for f in fields} if loaded else {f: np.zeros(0) for f in fields}

    def __len__(self) -> int:
        return len(next(iter(self.data.values())))

    def __getitem__(self, i: int) -> dict:
        return _item(self.data, i)


class ShardStream(torch.utils.data.IterableDataset):
    """Endless (or one-pass) shuffled stream of clips from a split's shards.

    ``crop_frames`` cuts a random window of that many frames from every frame-indexed field
    (mel, melody) so a fully convolutional model can train on short crops.
    """

    def __init__(self, root, split="train", fields=DEFAULT_FIELDS, seed=0, buffer_shards=4,
                 crop_frames=None, epochs=None, rank=0, world_size=1):
        self.paths = shards.shard_paths(root, split)
        self.fields, self.seed, self.buffer_shards = tuple(fields), seed, buffer_shards
        self.crop_frames, self.epochs, self.rank, self.world_size = crop_frames, epochs, rank, world_size
        self.epoch = 0

    def _my_paths(self, order: list[Path]) -> list[Path]:
        info = torch.utils.data.get_worker_info()
        worker, n_workers = (info.id, info.num_workers) if info else (0, 1)
        stride = n_workers * self.world_size
        return order[self.rank * n_workers + worker:: stride]

    def __iter__(self):
        epoch = self.epoch
        while self.epochs is None or epoch < self.epochs:
            rng = np.random.default_rng([self.seed, epoch])
            order = [self.paths[i] for i in rng.permutation(len(self.paths))]
            for group in _chunks(self._my_paths(order), self.buffer_shards):
                yield from self._shuffled(group, rng)
            epoch += 1

    def _shuffled(self, group: list[Path], rng: np.random.Generator):
        loaded = [d for d in (_load(p, self.fields) for p in group) if len(next(iter(d.values())))]
        if not loaded:
            return
        data = {f: np.concatenate([d[f] for d in loaded]) for f in self.fields}
        for i in rng.permutation(len(next(iter(data.values())))):
            item = _item(data, int(i))
            yield self._crop(item, rng) if self.crop_frames else item

    def _crop(self, item: dict, rng: np.random.Generator) -> dict:
        frames = item["mel"].shape[-1] if "mel" in item else item["melody_pc"].shape[-1]
        start = int(rng.integers(0, frames - self.crop_frames + 1))
        for name in ("mel", "melody_pitch", "melody_pc"):
            if name in item:
                item[name] = item[name][..., start: start + self.crop_frames]
        return item


def _chunks(items: list, size: int):
    for k in range(0, len(items), size):
        yield items[k: k + size]
