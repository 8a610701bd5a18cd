"""EDM (Karras et al. 2022) preconditioning, training loss, noise schedule and classifier-free guidance.

The ``Denoiser`` is the boundary between a raw network and everything else: samplers, distillation and the
optimisation engines only ever call ``D(x, sigma, cond=None) -> x0_hat``.

Null-conditioning convention (for CFG and caption dropout): the null caption is an **all-zeros row** of the
caption embedding. ``cond=None`` is the same as all rows null. The network swaps null rows for a learned null
embedding, so the trainer drops captions by zeroing rows (``drop_cond``) and keeps one batch shape.
"""
from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from ditto2.config import JsonConfig
from ditto2.diffusion.networks import build_network, network_config
from ditto2.errors import InputError
from ditto2.release import Pretrained


@dataclasses.dataclass(frozen=True)
class EDMConfig(JsonConfig):
    kind = "edm"

    sigma_data: float = 1.0     # the normalised autoencoder latent has about unit std per channel
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    p_mean: float = -1.2        # training: ln(sigma) ~ N(p_mean, p_std^2)
    p_std: float = 1.2
    high_share: float = 0.0     # training: this share of sigmas log-uniform on [high_sigma_min, sigma_max] instead
    high_sigma_min: float = 5.0

    def __post_init__(self):
        if not self.p_std > 0:
            raise InputError(f"the training noise spread p_std must be positive, got {self.p_std}")
        if not 0 <= self.high_share <= 1:
            raise InputError(f"the high-noise share must be in [0, 1], got {self.high_share}")
        if not 0 < self.high_sigma_min < self.sigma_max:
            raise InputError(f"high_sigma_min must be in (0, sigma_max = {self.sigma_max}), got {self.high_sigma_min}")


def _sigma_batch(sigma, x: torch.Tensor) -> torch.Tensor:
    """A float, 0-d or (B,) sigma -> (B,) tensor in x's dtype and device."""
    s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1)
    return s.expand(x.shape[0]) if s.numel() == 1 else s


def _bcast(s: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return s.view(-1, *([1] * (x.ndim - 1)))


class Denoiser(Pretrained, nn.Module):
    """D(x, sigma) = c_skip x + c_out F(c_in x, c_noise); exactly x at sigma = 0. Released as "teacher"."""

    RELEASE_KEY = "teacher"

    def __init__(self, net: nn.Module, sigma_data: float = 1.0, sigma_min: float = 0.002,
                 sigma_max: float = 80.0):
        super().__init__()
        self.net = net
        self.sigma_data, self.sigma_min, self.sigma_max = float(sigma_data), float(sigma_min), float(sigma_max)
        self.edm = EDMConfig(self.sigma_data, self.sigma_min, self.sigma_max)  # training settings: from_config's

    @classmethod
    def from_config(cls, net: nn.Module, config: EDMConfig) -> Denoiser:
        denoiser = cls(net, config.sigma_data, config.sigma_min, config.sigma_max)
        denoiser.edm = config
        return denoiser

    def release_section(self) -> dict:
        return {"network": self.net.config.to_dict(), "edm": self.edm.to_dict()}

    @classmethod
    def from_release_section(cls, section: dict) -> Denoiser:
        return cls.from_config(build_network(network_config(section["network"])), EDMConfig.from_dict(section["edm"]))

    def scalings(self, sigma: torch.Tensor):
        sd2 = self.sigma_data ** 2
        total = sigma.square() + sd2
        c_skip = sd2 / total
        c_out = sigma * self.sigma_data / total.sqrt()
        c_in = total.rsqrt()
        # ln(0) would make the embedding NaN; at sigma = 0 c_out is 0, so any finite value is exact.
        c_noise = sigma.clamp_min(1e-20).log() / 4
        return c_skip, c_out, c_in, c_noise

    def forward(self, x: torch.Tensor, sigma, cond: torch.Tensor | None = None) -> torch.Tensor:
        s = _sigma_batch(sigma, x)
        c_skip, c_out, c_in, c_noise = self.scalings(s)
        out = self.net(_bcast(c_in, x) * x, c_noise, cond)
        return _bcast(c_skip, x) * x + _bcast(c_out, x) * out.to(x.dtype)

    def karras_sigmas(self, n: int, rho: float = 7.0, device=None) -> torch.Tensor:
        return karras_sigmas(n, self.sigma_min, self.sigma_max, rho, device)


def training_sigmas(n: int, edm: EDMConfig, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """n training noise levels: ln sigma ~ N(p_mean, p_std^2), except that each is, with probability
    high_share, log-uniform on [high_sigma_min, sigma_max] -- levels the normal almost never reaches
    (sigma > 20 in 0.2 % of draws at p_mean -0.5) but where a sampler sets each clip's overall level."""
    dev = generator.device if generator is not None else device
    ln_sigma = torch.randn(n, generator=generator, device=dev) * edm.p_std + edm.p_mean
    if edm.high_share > 0:
        lo, hi = math.log(edm.high_sigma_min), math.log(edm.sigma_max)
        ln_high = lo + torch.rand(n, generator=generator, device=dev) * (hi - lo)
        pick = torch.rand(n, generator=generator, device=dev) < edm.high_share
        ln_sigma = torch.where(pick, ln_high, ln_sigma)
    return ln_sigma.exp()


def edm_weight(sigma, sigma_data: float):
    """EDM's loss weight (sigma^2 + sd^2) / (sigma sd)^2: makes the denoising error a unit-variance regression on
    the network output at every sigma (float or tensor)."""
    return (sigma * sigma + sigma_data ** 2) / (sigma * sigma_data) ** 2


def edm_loss(denoiser: Denoiser, x0: torch.Tensor, cond: torch.Tensor | None = None, *,
             edm: EDMConfig = EDMConfig(), generator: torch.Generator | None = None,
             reduction: str = "mean") -> torch.Tensor:
    """EDM training loss at ``training_sigmas``, weight (sigma^2 + sd^2) / (sigma sd)^2.

    The weight makes the loss a unit-variance regression on the network output at every sigma.
    ``reduction='none'`` gives one value per sample (for logging the loss against sigma).
    """
    dev = generator.device if generator is not None else x0.device
    sigma = training_sigmas(x0.shape[0], edm, generator, dev).to(x0)
    noise = torch.randn(x0.shape, generator=generator, device=dev).to(x0)
    weight = edm_weight(sigma, denoiser.sigma_data)
    x0_hat = denoiser(x0 + _bcast(sigma, x0) * noise, sigma, cond)
    per_sample = weight * (x0_hat - x0).square().flatten(1).mean(1)
    return per_sample.mean() if reduction == "mean" else per_sample


def karras_sigmas(n: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0,
                  device=None) -> torch.Tensor:
    """n decreasing noise levels from sigma_max to sigma_min (Karras eq. 5), then a final 0: n steps."""
    ramp = torch.linspace(0, 1, n, dtype=torch.float64)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    sigmas = (hi + ramp * (lo - hi)) ** rho
    return torch.cat([sigmas, sigmas.new_zeros(1)]).to(device=device, dtype=torch.float32)


def drop_cond(cond: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Caption dropout for CFG training: each row becomes the null caption (zeros) with probability p."""
    dev = generator.device if generator is not None else cond.device
    keep = (torch.rand(cond.shape[0], generator=generator, device=dev) >= p).to(cond)
    return cond * keep.view(-1, *([1] * (cond.ndim - 1)))


class CFGDenoiser(nn.Module):
    """Classifier-free guidance with the Denoiser contract: u + scale (c - u) on x0_hat.

    u is the null-caption output (zeros), c the conditional one; scale 1 is the conditional denoiser
    (computed with one call), scale 0 the unconditional one. ``cond`` passed to forward overrides the
    stored caption. Both branches run as one doubled batch. In the EDM parameterisation guidance on x0_hat
    equals guidance on epsilon at the same sigma, as in DITTO's eq. 13.
    """

    def __init__(self, denoiser: nn.Module, cond: torch.Tensor | None = None, scale: float = 1.0):
        super().__init__()
        self.denoiser = denoiser
        self.cond = cond
        self.scale = float(scale)

    # The sigma range belongs to the wrapped denoiser; samplers and engines read it from here too.
    @property
    def sigma_data(self) -> float:
        return self.denoiser.sigma_data

    @property
    def sigma_min(self) -> float:
        return self.denoiser.sigma_min

    @property
    def sigma_max(self) -> float:
        return self.denoiser.sigma_max

    def karras_sigmas(self, n: int, rho: float = 7.0, device=None) -> torch.Tensor:
        return karras_sigmas(n, self.sigma_min, self.sigma_max, rho, device)

    def forward(self, x: torch.Tensor, sigma, cond: torch.Tensor | None = None) -> torch.Tensor:
        cond = self.cond if cond is None else cond
        if cond is None or self.scale == 1.0:
            return self.denoiser(x, sigma, cond)
        b = x.shape[0]
        cond = cond.to(x.device).reshape(-1, cond.shape[-1]).expand(b, -1)
        sigma = _sigma_batch(sigma, x)
        both = self.denoiser(torch.cat([x, x]), torch.cat([sigma, sigma]),
                             torch.cat([torch.zeros_like(cond), cond]))
        uncond, c = both.chunk(2)
        return uncond + self.scale * (c - uncond)
