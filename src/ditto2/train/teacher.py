"""``ditto2 train teacher``: the EDM latent diffusion teacher, caption-conditioned with CFG dropout."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ditto2.diffusion import Denoiser, EDMConfig, build_network, drop_cond, edm_loss, edm_weight
from ditto2.diffusion.autoencoder import MelAutoencoder
from ditto2.diffusion.networks import UNet2DConfig
from ditto2.diffusion.samplers import sample_heun
from ditto2.errors import InputError
from ditto2.release import file_digest
from ditto2.data.arrays import SplitArrays
from ditto2.train.data import crop_batches, split_latents

VAL_SIGMAS = (0.05, 0.2, 0.5, 1.0, 2.0, 5.0)


@torch.no_grad()
def fixed_sigma_losses(denoiser, x0: torch.Tensor, text: torch.Tensor | None) -> dict[str, float]:
    """EDM-weighted denoising error of ``denoiser`` on ``x0`` at each of VAL_SIGMAS, with fixed noise, and
    their mean as "loss": the teacher's validation figure, comparable across runs and splits."""
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(1234))
    out = {}
    for sigma in VAL_SIGMAS:
        weight = edm_weight(sigma, denoiser.sigma_data)
        err = (denoiser(x0 + sigma * noise, sigma, text) - x0).square().mean().item()
        out[f"loss_s{sigma:g}"] = weight * err
    out["loss"] = float(np.mean(list(out.values())))
    return out


# Training noise levels: EDM's ln sigma ~ N(-1.2, 1.2^2) shifted up by ln 2 for whole 512-frame clips, over
# which a clip-wide property stays readable to a sigma twice that of a 128-frame crop (docs/models.md).
TEACHER_EDM = EDMConfig(p_mean=-0.5)


def default_network(latent_channels: int = 8) -> dict:
    """The shipped teacher's net: 2-D UNet 48/96/192, (1, 2, 2) blocks, bottleneck attention (docs/networks.md)."""
    return UNet2DConfig(in_channels=latent_channels, cond_dim=384).to_dict()


@dataclasses.dataclass
class TeacherTask:
    data: str
    autoencoder: str
    network: dict = dataclasses.field(default_factory=default_network)
    edm: EDMConfig = TEACHER_EDM
    crop: int = 512             # mel frames per training crop: whole clips (shorter ones cut sample diversity)
    cond_dropout: float = 0.2   # share of captions replaced by the null caption (CFG)
    val_clips: int = 32
    name: str = "teacher"

    def __post_init__(self):
        self.ae = MelAutoencoder.from_pretrained(self.autoencoder)
        self.ae_digest = file_digest(self.autoencoder)
        self.train = SplitArrays(self.data, "train", text=True)
        self.train_latents = split_latents(self.ae, self.ae_digest, self.data, "train", self.train)
        val = SplitArrays(self.data, "validation", text=True, limit=self.val_clips)
        with torch.no_grad():  # the first two crops' worth of whole-clip latents, as training and sampling see them
            whole = self.ae.to_latent(torch.from_numpy(val.mel.astype(np.float32)))
        self.val_latent = whole[..., : 2 * self.crop // self.ae.config.down_time]
        self.val_text = torch.from_numpy(val.text[:, 0].astype(np.float32))

    def build_model(self) -> Denoiser:
        return Denoiser.from_config(build_network(self.network), self.edm)

    def config(self) -> dict:
        return {"network": self.network, "edm": self.edm.to_dict(), "crop": self.crop,
                "cond_dropout": self.cond_dropout, "autoencoder_sha": self.ae_digest, "data": self.data}

    def batches(self, batch_size, seed, rank, world_size, start):
        return latent_batches(self.train, self.train_latents, self.ae.config.down_time, batch_size, self.crop, seed,
                              rank, start)

    def loss(self, model, batch, generator):
        cond = drop_cond(batch["text"], self.cond_dropout, generator)
        return edm_loss(model, batch["latent"], cond, edm=self.edm, generator=generator)

    @torch.no_grad()
    def validate(self, ema) -> dict:
        """Weighted denoising loss on held-out latents at fixed sigmas with fixed noise."""
        return fixed_sigma_losses(ema, self.val_latent, self.val_text)

    @torch.no_grad()
    def samples(self, ema, step: int, out_dir: Path) -> None:
        from ditto2.plots import plot_mel_grid

        n = min(4, len(self.val_text))
        gen = torch.Generator().manual_seed(0)
        x = torch.randn((n, *self.ae.config.latent_shape(512)), generator=gen) * ema.sigma_max
        z = sample_heun(ema, x, ema.karras_sigmas(20), cond=self.val_text[:n])
        mels = self.ae.from_latent(z).clamp(-1, 1)
        plot_mel_grid(list(mels), out_dir / f"samples-{step:07d}.png", titles=[f"step {step}"] * n)

    def release(self, ema, path: Path, info: dict) -> None:
        ema.save_pretrained(path, info, extra={"autoencoder_sha": self.ae_digest, "cond_dropout": self.cond_dropout})


def latent_batches(arrays: SplitArrays, latents: np.ndarray, down_time: int, batch_size: int, crop: int, seed: int,
                   rank: int, start: int):
    """Caption-conditioned training batches {"latent", "text"} (batch k a pure function of (seed, rank, k)):
    random windows of ``crop`` mel frames (starting at multiples of the autoencoder's time stride) cut from
    the whole-clip latents of ``split_latents``."""
    if crop % down_time:
        raise InputError(f"--crop must be a multiple of the autoencoder's time stride {down_time}, got {crop}")
    for batch in crop_batches(arrays, batch_size, crop // down_time, seed, rank, start, text=True, frames_of=latents):
        batch["latent"] = batch.pop("mel")
        yield batch
