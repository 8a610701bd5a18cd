"""The shipped models and how to load them: the mel autoencoder plus the teacher denoiser.

Default weights live in ``ditto2/weights/`` inside the package (safetensors, config in the header
and in a JSON file beside each), so they work from any install without a download.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import torch

from ditto2.audio import mel as M
from ditto2.diffusion import CFGDenoiser, Denoiser, sample_euler, sample_heun
from ditto2.diffusion.autoencoder import MelAutoencoder
from ditto2.errors import InputError, MissingResourceError

WEIGHTS_DIR = Path(__file__).parent / "weights"
AUTOENCODER_FILE = "autoencoder.safetensors"
TEACHER_FILE = "teacher.safetensors"
SAMPLERS = {"heun": sample_heun, "euler": sample_euler}


def weights_path(name: str, directory: str | Path | None = None) -> Path:
    path = Path(directory or WEIGHTS_DIR) / name
    if not path.is_file():
        raise MissingResourceError(f"model weights not found: {path} (train them with `ditto2 train ...` or "
                                   "pass the folder that holds them)")
    return path


@dataclasses.dataclass
class Teacher:
    """The latent diffusion teacher: D(z, sigma, cond) on the autoencoder latent, and the decoder to mels."""

    autoencoder: MelAutoencoder
    denoiser: Denoiser
    info: dict

    @classmethod
    def load(cls, directory: str | Path | None = None) -> "Teacher":
        from ditto2.train.autoencoder import load_autoencoder
        from ditto2.train.teacher import file_digest, load_denoiser

        ae_path, teacher_path = weights_path(AUTOENCODER_FILE, directory), weights_path(TEACHER_FILE, directory)
        denoiser, meta = load_denoiser(teacher_path)
        expected = meta["config"]["teacher"].get("autoencoder_sha")
        if expected and expected != file_digest(ae_path):
            raise InputError(f"{teacher_path} was trained on another autoencoder than {ae_path}")
        return cls(load_autoencoder(ae_path), denoiser, meta.get("info", {}))

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


def student_file(method: str) -> str:
    return f"student_{method}.safetensors"


def load_student_for(teacher_dir: str | Path | None, method: str):
    """The shipped (or given folder's) student of ``method``, checked against the teacher beside it."""
    from ditto2.train.distill import load_student

    if method not in ("cd", "ctd"):
        raise InputError(f"unknown student {method!r} (expected cd or ctd)")
    student, _ = load_student(weights_path(student_file(method), teacher_dir),
                              teacher=weights_path(TEACHER_FILE, teacher_dir))
    return student
