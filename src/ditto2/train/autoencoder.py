"""``ditto2 train autoencoder``: the mel autoencoder whose latent the teacher diffuses in."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ditto2.audio import mel as M
from ditto2.diffusion.autoencoder import AutoencoderConfig, MelAutoencoder, latent_stats
from ditto2.data.arrays import SplitArrays
from ditto2.train.data import crop_batches

NEPER_DB = 20 / np.log(10)  # dB per natural-log unit of magnitude
DB_PER_UNIT = (M.LN_CEIL - M.LN_FLOOR) / 2 * NEPER_DB  # dB per unit of the normalised mel


@dataclasses.dataclass
class AutoencoderTask:
    data: str
    model: AutoencoderConfig = dataclasses.field(default_factory=AutoencoderConfig)
    crop: int = 128
    val_clips: int = 48
    stats_clips: int = 256
    name: str = "autoencoder"

    def __post_init__(self):
        self.train = SplitArrays(self.data, "train")
        self.val = torch.from_numpy(SplitArrays(self.data, "validation", limit=self.val_clips).mel.astype(np.float32))

    def build_model(self) -> MelAutoencoder:
        return MelAutoencoder(self.model)

    def config(self) -> dict:
        return {"model": self.model.to_dict(), "crop": self.crop, "data": self.data}

    def batches(self, batch_size, seed, rank, world_size, start):
        for batch in crop_batches(self.train, batch_size, self.crop, seed, rank, start, align=self.model.down_time):
            yield batch["mel"]

    def loss(self, model, batch, generator):
        return model.loss(batch, generator)[0]

    @torch.no_grad()
    def validate(self, ema) -> dict:
        errors = [(ema(chunk) - chunk).abs().mean().item() for chunk in self.val.split(16)]
        return {"l1_db": float(np.mean(errors)) * DB_PER_UNIT}

    @torch.no_grad()
    def samples(self, ema, step: int, out_dir: Path) -> None:
        from ditto2.plots import plot_mel_grid

        real = self.val[:4]
        recon = ema(real)
        mels = [m for pair in zip(real, recon) for m in pair]
        plot_mel_grid(mels, out_dir / f"recon-{step:07d}.png", titles=["real", "reconstruction"] * 4)

    @torch.no_grad()
    def release(self, ema, path: Path, info: dict) -> None:
        """Set the latent statistics on a fixed subset of train clips, then save fp32 weights."""
        subset = torch.from_numpy(self.train.mel[: self.stats_clips].astype(np.float32))
        means = torch.cat([ema.encode(chunk)[0] for chunk in subset.split(32)])
        ema.set_latent_stats(*latent_stats(means))
        ema.save_pretrained(path, info)
