"""``ditto2 train clap``: the CLAP-style audio tower (and text head) against the frozen MiniLM text tower.

Each train clip gets a pool of varied captions drawn from its piece's metadata (``clap/captions.py``,
a pure function of piece and ``caption_seed``); every distinct caption is embedded once by MiniLM and cached
under the dataset (``<data>/text/clap-captions.npz``), so training never runs the text encoder after the
first start. Batch k (random clips, random crops, one random caption of each clip's pool) is a pure
function of (seed, rank, k): a resumed run sees the batches of an uninterrupted one. Clips of one piece in a
batch are positives of each other (they share their metadata).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ditto2.clap import captions as C
from ditto2.clap.evaluate import evaluate, split_metas
from ditto2.clap.model import ClapConfig, ClapModel, contrastive_loss
from ditto2.clap.text_cache import CaptionEmbeddings
from ditto2.errors import InputError
from ditto2.data.arrays import SplitArrays


@dataclasses.dataclass
class ClapTask:
    data: str
    model: ClapConfig = dataclasses.field(default_factory=ClapConfig)
    crop: int = 256             # mel frames per training crop (the towers pool over time)
    pool: int = 16              # captions drawn per piece
    caption_seed: int = 0
    val_clips: int | None = None  # None: the whole validation split
    encoder: object = None      # list[str] -> (n, 384); None: MiniLM (tests pass a stand-in)
    name: str = "clap"

    def __post_init__(self):
        self.text = CaptionEmbeddings.for_dataset(self.data, self.encoder)
        self.train = SplitArrays(self.data, "train")
        if not 32 <= self.crop <= self.train.mel.shape[-1]:
            raise InputError(f"--crop must be between 32 and {self.train.mel.shape[-1]} frames, got {self.crop}")
        metas = split_metas(self.data, "train")
        pieces = sorted({m["piece"] for m in metas})
        index = {p: i for i, p in enumerate(pieces)}
        self.group = np.array([index[m["piece"]] for m in metas], dtype=np.int64)
        first = {}
        for m in metas:
            first.setdefault(m["piece"], m)
        self.pool_captions = [C.caption_pool(first[p], self.pool, self.caption_seed) for p in pieces]
        flat = [c for pool in self.pool_captions for c in pool]
        self.pool_emb = self.text(flat).astype(np.float16).reshape(len(pieces), self.pool, -1)
        self.unique_captions = len(set(flat))
        self.val_mel = SplitArrays(self.data, "validation", limit=self.val_clips).mel
        self.val_metas = split_metas(self.data, "validation", self.val_clips)

    def build_model(self) -> ClapModel:
        return ClapModel(self.model)

    def config(self) -> dict:
        return {"model": self.model.to_dict(), "crop": self.crop, "pool": self.pool,
                "caption_seed": self.caption_seed, "data": str(self.data)}

    def batches(self, batch_size, seed, rank, world_size, start):
        frames = self.train.mel.shape[-1]
        k = start
        while True:
            rng = np.random.default_rng([seed, rank, k])
            idx = rng.integers(len(self.train), size=batch_size)
            offsets = rng.integers(0, frames - self.crop + 1, size=batch_size)
            variant = rng.integers(self.pool, size=batch_size)
            mel = np.stack([self.train.mel[i, :, o: o + self.crop] for i, o in zip(idx, offsets)]).astype(np.float32)
            group = self.group[idx]
            yield {"mel": torch.from_numpy(mel), "text": torch.from_numpy(self.pool_emb[group, variant].astype(np.float32)),
                   "group": torch.from_numpy(group)}
            k += 1

    def loss(self, model, batch, generator):
        audio, text, scale = model(batch["mel"], batch["text"])
        return contrastive_loss(audio, text, scale, batch["group"])

    @torch.no_grad()
    def validate(self, ema) -> dict:
        out = evaluate(ema, self.val_mel, self.val_metas, self.text)
        out = {k: v for k, v in out.items() if not k.startswith("chance") and k not in ("queries", "clips")
               and not k.endswith("_chance")}
        out["temperature"] = float(1 / ema.scale())
        return out

    def samples(self, ema, step: int, out_dir: Path) -> None:
        return None

    def release(self, ema, path: Path, info: dict) -> None:
        ema.save_pretrained(path, info, extra={"text_encoder": "all-MiniLM-L6-v2", "crop": self.crop,
                                               "caption_seed": self.caption_seed})
