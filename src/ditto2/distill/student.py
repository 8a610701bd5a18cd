"""The distilled student: a jump G(x, sigma_from, sigma_to, cond=None) along the teacher's probability-flow ODE.

Parameterisation (CTM's, arXiv 2310.02279, with the consistency-model boundary scalings of arXiv 2303.01469):

    g(x, t, s) = c_skip(t) x + c_out(t) F(c_in(t) x, [c_noise(t), c_noise(s)], cond)
    G(x, t, s) = (s/t) x + (1 - s/t) g(x, t, s)

* G(x, s, s) = x exactly for any network (the outer DDIM-style mix), so a jump of length zero is the identity.
* c_skip, c_out are EDM's shifted by sigma_min (c_skip(sigma_min) = 1, c_out(sigma_min) = 0), so
  G(x, sigma_min, s) = x exactly as well: the consistency-model boundary condition holds by construction.
* ``method="ctd"`` adds a second noise embedding for the target level s, zero-initialised: the fresh student is
  the teacher's x0 prediction composed with a DDIM jump (up to the sigma_min shift of the scalings, a relative
  2.5e-5 at sigma_max). ``method="cd"`` has no target embedding: g(x, t, s) = f(x, t), the consistency function,
  and a jump to s > 0 is the DDIM jump along it (CD samplers jump to 0 and re-noise instead).
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from ditto2.config import JsonConfig
from ditto2.diffusion.edm import Denoiser, EDMConfig, _bcast, _sigma_batch, karras_sigmas
from ditto2.diffusion.layers import NoiseEmbedding, zero_init
from ditto2.diffusion.networks import NETWORKS, UNet1D, UNet2D, network_config
from ditto2.errors import InputError
from ditto2.release import Pretrained

METHODS = ("cd", "ctd")


@dataclasses.dataclass(frozen=True)
class StudentConfig(JsonConfig):
    """What a release needs to rebuild the student, and which teacher it belongs to."""

    KIND_FIELD = "method"

    method: str                 # "cd" or "ctd" (saved as "kind")
    network: dict               # the teacher's network config (the student is built from it)
    edm: dict                   # the teacher's EDMConfig dict: sigma range and sigma_data
    teacher_sha: str = ""       # file digest of the teacher release it was distilled from
    guidance: float = 1.0       # CFG scale baked into the teacher calls during distillation (1: none)

    def __post_init__(self):
        if self.method not in METHODS:
            raise InputError(f"unknown distillation method {self.method!r}; expected one of {list(METHODS)}")


class _TargetLevelEmbedding:
    """Mixin for the UNets: c_noise is (B, 2) = (c_noise(t), c_noise(s)); the s embedding is added before the
    SiLU and starts at exactly zero, so the network starts as the teacher's."""

    def __init__(self, config):
        super().__init__(config)
        self.target_emb = NoiseEmbedding(config.emb_dim, config.n_freqs, config.max_freq)
        zero_init(self.target_emb.mlp[-1])

    def embed(self, c_noise: torch.Tensor, cond: torch.Tensor | None, batch: int) -> torch.Tensor:
        c_from, c_to = c_noise.reshape(-1, 2).expand(batch, 2).unbind(1)
        emb = self.noise_emb(c_from) + self.target_emb(c_to)
        # Same caption handling as _UNet.embed (kept in step with it).
        if self.config.cond_dim:
            emb = emb + self._cond_embedding(cond, batch, emb)
        elif cond is not None:
            raise InputError("this network is unconditional (cond_dim 0) but a condition was given")
        return F.silu(emb)


class JumpUNet2D(_TargetLevelEmbedding, UNet2D):
    pass


class JumpUNet1D(_TargetLevelEmbedding, UNet1D):
    pass


JUMP_NETWORKS = {UNet2D: JumpUNet2D, UNet1D: JumpUNet1D}


def build_student_network(network: dict, method: str) -> nn.Module:
    cfg = network_config(network)
    cls = NETWORKS[cfg.kind][1]
    return JUMP_NETWORKS[cls](cfg) if method == "ctd" else cls(cfg)


class Student(Pretrained, nn.Module):
    """G(x, sigma_from, sigma_to, cond=None) -> x at sigma_to; sigmas are floats, 0-d or (B,) tensors."""

    RELEASE_KEY = "student"

    def __init__(self, net: nn.Module, config: StudentConfig):
        super().__init__()
        self.net, self.config = net, config
        edm = EDMConfig.from_dict(config.edm)
        self.sigma_data, self.sigma_min, self.sigma_max = edm.sigma_data, edm.sigma_min, edm.sigma_max

    @property
    def method(self) -> str:
        return self.config.method

    @classmethod
    def from_config(cls, config: StudentConfig) -> Student:
        return cls(build_student_network(config.network, config.method), config)

    def release_section(self) -> dict:
        return self.config.to_dict()

    @classmethod
    def from_release_section(cls, section: dict) -> Student:
        return cls.from_config(StudentConfig.from_dict(section))

    @classmethod
    def from_teacher(cls, teacher: Denoiser, method: str, teacher_sha: str = "", guidance: float = 1.0,
                     edm: EDMConfig | None = None) -> Student:
        """A student whose weights are a copy of the teacher network's (the target embedding starts at zero).
        ``edm``: the teacher's full EDM config (its p_mean/p_std set the CTD's DSM levels); default: its sigmas."""
        edm = edm or EDMConfig(teacher.sigma_data, teacher.sigma_min, teacher.sigma_max)
        config = StudentConfig(method, teacher.net.config.to_dict(), edm.to_dict(), teacher_sha, float(guidance))
        student = cls.from_config(config)
        missing, unexpected = student.net.load_state_dict(teacher.net.state_dict(), strict=False)
        if unexpected or any(not k.startswith("target_emb.") for k in missing):
            raise InputError(f"teacher weights do not fit the student network (missing {missing}, "
                             f"unexpected {unexpected})")
        return student.to(next(teacher.parameters()).device)

    def check_teacher(self, teacher_sha: str, name: str = "the teacher") -> None:
        """A clear error when this student was distilled from another teacher (no check if either digest is
        unknown, e.g. a student built in code without one)."""
        if self.config.teacher_sha and teacher_sha and self.config.teacher_sha != teacher_sha:
            raise InputError(f"this {self.method} student was distilled from teacher {self.config.teacher_sha}, "
                             f"not from {name} ({teacher_sha}); distil it again or use the matching teacher")

    def scalings(self, t: torch.Tensor):
        """EDM scalings with the sigma_min shift of consistency models: c_skip = 1, c_out = 0 at sigma_min."""
        sd = self.sigma_data
        c_skip = sd ** 2 / ((t - self.sigma_min).square() + sd ** 2)
        c_out = (t - self.sigma_min) * sd / (t.square() + sd ** 2).sqrt()
        c_in = (t.square() + sd ** 2).rsqrt()
        return c_skip, c_out, c_in

    def c_noise(self, sigma: torch.Tensor) -> torch.Tensor:
        # EDM's ln(sigma)/4. The target level 0 shares sigma_min's embedding: ln(0) is undefined and the
        # Fourier features of a far-out value would be arbitrary; the outer (s/t) mix separates the two.
        return sigma.clamp_min(self.sigma_min).log() / 4

    def inner(self, x: torch.Tensor, sigma_from, sigma_to, cond: torch.Tensor | None = None) -> torch.Tensor:
        """g(x, t, s): the preconditioned network output (the x0 estimate the jump mixes with x)."""
        t, s = _sigma_batch(sigma_from, x), _sigma_batch(sigma_to, x)
        c_skip, c_out, c_in = self.scalings(t)
        c_noise = self.c_noise(t) if self.method == "cd" else torch.stack([self.c_noise(t), self.c_noise(s)], 1)
        out = self.net(_bcast(c_in, x) * x, c_noise, cond)
        return _bcast(c_skip, x) * x + _bcast(c_out, x) * out.to(x.dtype)

    def outer(self, x: torch.Tensor, g: torch.Tensor, sigma_from, sigma_to) -> torch.Tensor:
        """CTM's outer mix G = (s/t) x + (1 - s/t) g; exactly x when s = t (also at t = s = 0)."""
        t, s = _sigma_batch(sigma_from, x), _sigma_batch(sigma_to, x)
        ratio = torch.where(t > 0, s / torch.where(t > 0, t, torch.ones_like(t)), torch.ones_like(t))
        r = _bcast(ratio, x)
        return r * x + (1 - r) * g

    def forward(self, x: torch.Tensor, sigma_from, sigma_to, cond: torch.Tensor | None = None, *,
                return_inner: bool = False):
        """G(x, t, s); with ``return_inner`` also g(x, t, s) (one network call: the CTD loss needs both)."""
        g = self.inner(x, sigma_from, sigma_to, cond)
        out = self.outer(x, g, sigma_from, sigma_to)
        return (out, g) if return_inner else out

    def karras_sigmas(self, n: int, rho: float = 7.0, device=None) -> torch.Tensor:
        return karras_sigmas(n, self.sigma_min, self.sigma_max, rho, device)
