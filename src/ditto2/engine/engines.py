"""The two noise-optimisation engines, as a differentiable surrogate x_T -> mel plus a final decode x_T -> mel.

* **DITTO** (arXiv 2401.12179): the surrogate *is* the sampler, the teacher's full deterministic DDIM chain
  (``steps`` calls, each checkpointed so memory stays flat); the decode is the same chain without gradients.
* **DITTO-2** (arXiv 2405.20289): the surrogate is the one-step student G(x_T, sigma_max, 0); the optimised x_T is
  then decoded with k deterministic student steps (CTD gamma = 0, or CD with seed-pinned re-noising).

Both end in the autoencoder's decoder, so the controls see the normalised log-mel. The surrogate leaves the mel
unclamped (a clamp would zero the gradient of over-range frames); the decode clamps to the mel range.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

import torch

from ditto2.diffusion import sample_euler
from ditto2.distill import check_steps, sample_one_step, sample_student
from ditto2.errors import InputError

DITTO_STEPS = 20  # the DITTO paper's DDIM steps
CHECKPOINT_ABOVE = 2  # the 2-step decode keeps its activations for the refinement's backward: 25 % faster


class Engine(Protocol):
    """What the pipeline needs of an engine: a differentiable surrogate x_T -> mel for the Adam loop (on
    eps = x_T / sigma_max) and the final decode x_T -> mel in [-1, 1]."""

    name: str

    @property
    def sigma_max(self) -> float: ...

    def render(self, x_T: torch.Tensor) -> torch.Tensor: ...

    def decode(self, x_T: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor: ...


@dataclasses.dataclass
class DittoEngine:
    """Optimise through the teacher's ``steps``-step DDIM chain (the slow baseline)."""

    teacher: object               # ditto2.models.Teacher
    steps: int = DITTO_STEPS
    text: torch.Tensor | None = None  # caption embedding for the text-conditioned teacher (CFG)
    cfg_scale: float = 3.0
    name = "ditto"

    def __post_init__(self):
        if self.steps < 1:
            raise InputError(f"DITTO sampler steps must be at least 1, got {self.steps}")

    @property
    def sigma_max(self) -> float:
        return self.teacher.denoiser.sigma_max

    def _chain(self, x_T: torch.Tensor, checkpoint: bool) -> torch.Tensor:
        model = self.teacher.guided(self.text, self.cfg_scale)
        z = sample_euler(model, x_T, self.teacher.denoiser.karras_sigmas(self.steps), checkpoint=checkpoint)
        return self.teacher.autoencoder.from_latent(z)

    def render(self, x_T: torch.Tensor) -> torch.Tensor:
        return self._chain(x_T, checkpoint=torch.is_grad_enabled())

    @torch.no_grad()
    def decode(self, x_T: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        return self._chain(x_T, checkpoint=False).clamp(-1, 1)


@dataclasses.dataclass
class Ditto2Engine:
    """Optimise through the one-step student, decode with ``decode_steps`` deterministic student steps."""

    teacher: object               # for its autoencoder
    student: torch.nn.Module      # ditto2.distill.Student (cd or ctd)
    decode_steps: int = 4
    text: torch.Tensor | None = None  # only for students distilled with guidance baked in
    name = "ditto2"

    def __post_init__(self):
        self.decode_steps = check_steps(self.decode_steps)  # fail before the optimisation, not after

    @property
    def sigma_max(self) -> float:
        return self.student.sigma_max

    def _cond(self, batch: int):
        return None if self.text is None else self.text.reshape(1, -1).expand(batch, -1)

    def render(self, x_T: torch.Tensor) -> torch.Tensor:
        z = sample_one_step(self.student, x_T, self._cond(x_T.shape[0]))
        return self.teacher.autoencoder.from_latent(z)

    def _decode(self, x_T: torch.Tensor, seeds: Sequence[int], checkpoint: bool = False) -> torch.Tensor:
        z = sample_student(self.student, x_T, self.decode_steps, self._cond(x_T.shape[0]), seeds=list(seeds),
                           checkpoint=checkpoint)
        return self.teacher.autoencoder.from_latent(z)

    @torch.no_grad()
    def decode(self, x_T: torch.Tensor, seeds: Sequence[int]) -> torch.Tensor:
        return self._decode(x_T, seeds).clamp(-1, 1)

    def decode_render(self, seeds: Sequence[int]):
        """x_T -> mel through the k-step decode itself, differentiable: the refinement's surrogate is exactly
        what ``decode`` renders, clamp included, so its best iterate is the best decode. Decodes longer than
        ``CHECKPOINT_ABOVE`` steps are checkpointed (memory flat in k, one more forward per step)."""
        checkpoint = torch.is_grad_enabled() and self.decode_steps > CHECKPOINT_ABOVE
        return lambda x_T: self._decode(x_T, seeds, checkpoint=checkpoint).clamp(-1, 1)

