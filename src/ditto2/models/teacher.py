"""The teacher bundle: the mel autoencoder plus the latent diffusion denoiser trained on it."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import torch

from ditto2.audio import mel as M
from ditto2.diffusion import CFGDenoiser, Denoiser, sample_euler, sample_heun
from ditto2.diffusion.autoencoder import MelAutoencoder
from ditto2.errors import InputError
from ditto2.models.files import AUTOENCODER_FILE, TEACHER_FILE, weights_path
from ditto2.release import file_digest

SAMPLERS = {"heun": sample_heun, "euler": sample_euler}


@dataclasses.dataclass
class Teacher:
    """The latent diffusion teacher: D(z, sigma, cond) on the autoencoder latent, and the decoder to mels."""

    autoencoder: MelAutoencoder
    denoiser: Denoiser
    info: dict

    @classmethod
    def load(cls, directory: str | Path | None = None) -> Teacher:
        """The teacher of a models folder (default: the shipped one), checked against the autoencoder beside it."""
        ae_path, teacher_path = weights_path(AUTOENCODER_FILE, directory), weights_path(TEACHER_FILE, directory)
        denoiser = Denoiser.from_pretrained(teacher_path)
        check_autoencoder(denoiser, teacher_path, ae_path)
        return cls(MelAutoencoder.from_pretrained(ae_path), denoiser, denoiser.info)

    def latent_shape(self, frames: int = M.CLIP_FRAMES) -> tuple[int, int, int]:
        if frames % self.autoencoder.config.down_time:
            raise InputError(f"frames must be a multiple of {self.autoencoder.config.down_time}, got {frames}")
        return self.autoencoder.config.latent_shape(frames)

    def initial_noise(self, seeds: list[int], frames: int = M.CLIP_FRAMES) -> torch.Tensor:
        """x_T for each seed, from its own generator: a sample never changes with the batch it is in."""
        shape = self.latent_shape(frames)
        noise = [torch.randn(shape, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
        return torch.stack(noise) * self.denoiser.sigma_max

    def guided(self, text_embedding: torch.Tensor | None, cfg_scale: float):
        """The denoiser to sample with: unconditional, conditional, or classifier-free guided."""
        if text_embedding is None:
            return self.denoiser
        return CFGDenoiser(self.denoiser, text_embedding, cfg_scale)

    def sample(self, x_T: torch.Tensor, steps: int = 20, sampler: str = "heun", text_embedding=None,
               cfg_scale: float = 3.0, callback: Callable | None = None) -> torch.Tensor:
        """x_T -> normalised mel (deterministic ODE sampling, then the decoder)."""
        if steps < 1:
            raise InputError(f"--steps must be at least 1, got {steps}")
        if sampler not in SAMPLERS:
            raise InputError(f"unknown sampler {sampler!r} (expected one of {sorted(SAMPLERS)})")
        model = self.guided(text_embedding, cfg_scale)
        z = SAMPLERS[sampler](model, x_T, self.denoiser.karras_sigmas(steps), callback=callback)
        return self.autoencoder.from_latent(z).clamp(-1, 1)


def check_autoencoder(denoiser: Denoiser, teacher_path, autoencoder_path) -> None:
    """A clear error when a teacher release was trained on another autoencoder than the one beside it."""
    expected = denoiser.release_meta["config"]["teacher"].get("autoencoder_sha")
    if expected and expected != file_digest(autoencoder_path):
        raise InputError(f"{teacher_path} was trained on another autoencoder than {autoencoder_path}")
