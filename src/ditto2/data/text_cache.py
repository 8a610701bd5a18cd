"""Caption embeddings cached beside the shards, so training never runs the text encoder.

``<root>/text/<shard>.npy`` holds (clips, 3, 384) float16 unit-norm embeddings of the three
caption variants of each clip. Written atomically per shard; existing files are skipped.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ditto2.data import shards
from ditto2.fileio import atomic_path

TEXT_DIR = "text"


def embedding_path(shard_path: Path) -> Path:
    return shard_path.parent / TEXT_DIR / (shard_path.stem + ".npy")


def cache_caption_embeddings(root: str | Path, progress: bool = True) -> int:
    """Embed the captions of every shard that has no cache yet; returns the number of shards embedded."""
    from tqdm import tqdm

    from ditto2.text.encoder import encode_texts

    manifest = shards.load_manifest(root)
    paths = [Path(root) / s["file"] for split in manifest["splits"].values() for s in split["shards"]]
    todo = [p for p in paths if not embedding_path(p).is_file()]
    for path in tqdm(todo, desc="caption embeddings", unit="shard", disable=not progress):
        caps = shards.read_shard(path, fields=("captions",))["captions"]
        unique, inverse = np.unique(caps.reshape(-1), return_inverse=True)
        emb = encode_texts(list(map(str, unique)))[inverse].reshape(*caps.shape, -1) if caps.size else \
            np.zeros((*caps.shape, 384), np.float32)
        with atomic_path(embedding_path(path), suffix=".npy") as tmp:
            np.save(tmp, emb.astype(np.float16))
    return len(todo)


def load_caption_embeddings(shard_path: Path) -> np.ndarray:
    path = embedding_path(shard_path)
    if not path.is_file():
        from ditto2.errors import MissingResourceError

        raise MissingResourceError(f"no caption embeddings for {shard_path} (run `ditto2 data embed-captions`)")
    return np.load(path, allow_pickle=False)
