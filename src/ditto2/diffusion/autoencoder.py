"""A small 2-D convolutional VAE-style autoencoder for the normalised log-mel.

The mel (80, T) is treated as a 1 x 80 x T image. Each level is one strided conv (kernel 2s, stride s,
so sizes divide exactly) followed by residual blocks; there are no blocks at full resolution, which keeps
the model cheap on CPU (the probe's 0.39 M version reconstructed held-out clips to about 2.3 dB).
With the defaults a clip becomes an 8 x 20 x T/4 latent. The decoder is part of every differentiable
path (DITTO chain, DITTO-2 surrogate), so it has no output squashing that would kill gradients.
"""
from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from ditto2.audio.mel import N_MELS
from ditto2.config import JsonConfig
from ditto2.diffusion.layers import ResBlock, group_norm
from ditto2.errors import InputError
from ditto2.release import Pretrained


@dataclasses.dataclass(frozen=True)
class AutoencoderConfig(JsonConfig):
    kind = "mel_autoencoder"

    n_mels: int = N_MELS
    latent_channels: int = 8
    channels: tuple = (32, 64)          # width after each down level
    strides: tuple = ((2, 2), (2, 2))   # (freq, time) stride per level: 1 or even
    res_blocks: int = 1                 # residual blocks per level
    mid_blocks: int = 1                 # residual blocks at the latent resolution
    norm_groups: int = 8
    l1_weight: float = 1.0
    l2_weight: float = 1.0
    kl_weight: float = 1e-4

    def __post_init__(self):
        if len(self.channels) != len(self.strides):
            raise InputError("AutoencoderConfig: channels and strides need one entry per level")
        for pair in self.strides:
            if len(pair) != 2 or any(s < 1 or (s > 1 and s % 2) for s in pair):
                raise InputError(f"AutoencoderConfig: stride {pair} must be (freq, time), each 1 or even")
        if self.n_mels % self.down_freq:
            raise InputError(f"AutoencoderConfig: n_mels {self.n_mels} not divisible by {self.down_freq}")

    @property
    def down_freq(self) -> int:
        return math.prod(s[0] for s in self.strides)

    @property
    def down_time(self) -> int:
        return math.prod(s[1] for s in self.strides)

    def latent_shape(self, frames: int) -> tuple[int, int, int]:
        """(C, F, T') of the latent of a (n_mels, frames) mel."""
        return (self.latent_channels, self.n_mels // self.down_freq, frames // self.down_time)


def _strided(stride: tuple[int, int]) -> dict:
    # kernel 2s, padding s/2 divides (or multiplies) sizes exactly; stride 1 is a plain 3x3.
    kernel = tuple(2 * s if s > 1 else 3 for s in stride)
    padding = tuple((k - s) // 2 for k, s in zip(kernel, stride, strict=True))
    return dict(kernel_size=kernel, stride=stride, padding=padding)


class _Blocks(nn.Module):
    def __init__(self, channels: int, n: int, groups: int):
        super().__init__()
        self.blocks = nn.ModuleList(ResBlock(2, channels, channels, groups=groups) for _ in range(n))

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x


class MelAutoencoder(Pretrained, nn.Module):
    """encode(mel) -> (mean, logvar); decode(z) -> mel; to_latent / from_latent use normalised latents."""

    RELEASE_KEY = "autoencoder"
    RELEASE_HALF = False  # small (1.7 MB in fp32), and every decode of every model goes through it

    def __init__(self, config: AutoencoderConfig | None = None):
        super().__init__()
        self.config = cfg = config or AutoencoderConfig()
        g = cfg.norm_groups
        widths = (1, *cfg.channels)
        enc = []
        for i, stride in enumerate(cfg.strides):
            enc += [nn.Conv2d(widths[i], widths[i + 1], **_strided(tuple(stride))),
                    _Blocks(widths[i + 1], cfg.res_blocks, g)]
        enc += [_Blocks(widths[-1], cfg.mid_blocks, g), group_norm(widths[-1], g), nn.SiLU(),
                nn.Conv2d(widths[-1], 2 * cfg.latent_channels, 3, padding=1)]
        self.encoder = nn.Sequential(*enc)

        dec = [nn.Conv2d(cfg.latent_channels, widths[-1], 3, padding=1), _Blocks(widths[-1], cfg.mid_blocks, g)]
        for i in reversed(range(len(cfg.strides))):
            last = i == 0
            dec += [_Blocks(widths[i + 1], cfg.res_blocks, g)]
            if last:  # the full-resolution layer only maps features to the mel, after a norm
                dec += [group_norm(widths[1], g), nn.SiLU()]
            dec += [_up(widths[i + 1], widths[i], tuple(cfg.strides[i]))]
        self.decoder = nn.Sequential(*dec)

        # Per-channel statistics of the latent means over the training set, set by the trainer; the
        # diffusion model sees (mean - latent_mean) / latent_std, about unit variance (sigma_data = 1).
        self.register_buffer("latent_mean", torch.zeros(cfg.latent_channels))
        self.register_buffer("latent_std", torch.ones(cfg.latent_channels))

    def release_section(self) -> dict:
        return self.config.to_dict()

    @classmethod
    def from_release_section(cls, section: dict) -> MelAutoencoder:
        return cls(AutoencoderConfig.from_dict(section))

    # -- shapes -------------------------------------------------------------------------------------
    def _as_image(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3:
            x = x.unsqueeze(1)
        cfg = self.config
        if x.ndim != 4 or x.shape[1] != 1 or x.shape[2] != cfg.n_mels:
            raise InputError(f"MelAutoencoder expects (B, {cfg.n_mels}, T) mel, got {tuple(x.shape)}")
        if x.shape[-1] % cfg.down_time:
            raise InputError(f"MelAutoencoder: frames {x.shape[-1]} not divisible by {cfg.down_time}")
        return x

    # -- core ---------------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 80, T) mel -> mean, logvar, each (B, C, 80/df, T/dt)."""
        mean, logvar = self.encoder(self._as_image(x)).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, C, F', T') un-normalised latent -> (B, 80, T) mel."""
        return self.decoder(z).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Deterministic reconstruction through the posterior mean."""
        return self.decode(self.encode(x)[0])

    # -- normalised latent (what the diffusion model works on) -------------------------------------
    def _stats(self, z: torch.Tensor):
        view = (1, -1, 1, 1)
        return self.latent_mean.view(view).to(z), self.latent_std.view(view).to(z)

    def to_latent(self, x: torch.Tensor) -> torch.Tensor:
        mean = self.encode(x)[0]
        mu, std = self._stats(mean)
        return (mean - mu) / std

    def from_latent(self, z: torch.Tensor) -> torch.Tensor:
        mu, std = self._stats(z)
        return self.decode(z * std + mu)

    @torch.no_grad()
    def set_latent_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.latent_mean.copy_(mean.reshape(-1))
        self.latent_std.copy_(std.reshape(-1).clamp_min(1e-6))

    # -- training -----------------------------------------------------------------------------------
    def loss(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """L1 + L2 reconstruction of a reparameterised sample + KL to N(0, I); all means per element.

        Returns (total, parts) where parts holds detached 'l1', 'l2', 'kl' for logging.
        """
        cfg = self.config
        x = self._as_image(x)
        mean, logvar = self.encode(x)
        eps = torch.randn(mean.shape, generator=generator,
                          device=generator.device if generator is not None else mean.device).to(mean)
        recon = self.decode(mean + eps * (0.5 * logvar).exp())
        target = x.squeeze(1)
        l1 = F.l1_loss(recon, target)
        l2 = F.mse_loss(recon, target)
        kl = 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).mean()
        total = cfg.l1_weight * l1 + cfg.l2_weight * l2 + cfg.kl_weight * kl
        return total, {"l1": l1.detach(), "l2": l2.detach(), "kl": kl.detach()}


def _up(in_ch: int, out_ch: int, stride: tuple[int, int]) -> nn.Module:
    if stride == (1, 1):
        return nn.Conv2d(in_ch, out_ch, 3, padding=1)
    return nn.ConvTranspose2d(in_ch, out_ch, **_strided(stride))


def latent_stats(latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std of (B, C, F, T) latent means, for ``set_latent_stats``."""
    flat = latents.transpose(0, 1).reshape(latents.shape[1], -1)
    return flat.mean(1), flat.std(1)
