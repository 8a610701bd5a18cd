"""MiniLM embeddings of caption strings, each string encoded once: in memory, and on disk under the dataset.

``<root>/text/clap-captions.npz`` holds ``captions`` (n,) str and ``emb`` (n, 384) float16 (unit vectors).
Missing strings are encoded in one batch and the file is rewritten atomically (two runs writing at once
both leave a valid file; the later one wins and the other's extra strings are simply encoded again).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ditto2.data.text_cache import TEXT_DIR
from ditto2.fileio import atomic_path

CACHE_FILE = "clap-captions.npz"


class CaptionEmbeddings:
    def __init__(self, path: str | Path | None = None, encoder=None):
        """``path``: the cache file (None: memory only); ``encoder``: list[str] -> (n, 384) array
        (default: the frozen MiniLM of ``text/encoder.py``)."""
        self.path = Path(path) if path else None
        self._encoder = encoder
        self.table: dict[str, np.ndarray] = {}
        self.encoded = 0  # strings this object had to run the encoder on
        if self.path and self.path.is_file():
            with np.load(self.path, allow_pickle=False) as data:
                self.table = dict(zip(map(str, data["captions"]), data["emb"]))

    @classmethod
    def for_dataset(cls, root: str | Path, encoder=None) -> CaptionEmbeddings:
        return cls(Path(root) / TEXT_DIR / CACHE_FILE, encoder)

    def encode(self, texts: list[str]) -> np.ndarray:
        if self._encoder is None:
            from ditto2.text.encoder import encode_texts

            self._encoder = encode_texts
        return np.asarray(self._encoder(texts), dtype=np.float32)

    def __call__(self, texts: list[str]) -> np.ndarray:
        """(n, 384) float32 embeddings of ``texts``, encoding (and caching) only the unseen ones."""
        missing = sorted({t for t in texts if t not in self.table})
        if missing:
            emb = self.encode(missing).astype(np.float16)
            self.table.update(zip(missing, emb))
            self.encoded += len(missing)
            self.save()
        if not texts:
            return np.zeros((0, 384), np.float32)
        return np.stack([self.table[t] for t in texts]).astype(np.float32)

    def save(self) -> None:
        if self.path is None:
            return
        keys = sorted(self.table)
        with atomic_path(self.path, suffix=".npz") as tmp:
            np.savez(tmp, captions=np.array(keys, dtype=str), emb=np.stack([self.table[k] for k in keys]))
