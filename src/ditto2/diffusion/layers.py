"""Building blocks shared by the autoencoder and the denoiser networks (1-D or 2-D).

``dims`` selects Conv1d/Conv2d so that one block definition serves the 2-D latent UNet, the 1-D
time-only UNet and the mel autoencoder.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def conv_nd(dims: int, *args, **kwargs) -> nn.Module:
    return {1: nn.Conv1d, 2: nn.Conv2d}[dims](*args, **kwargs)


def conv_transpose_nd(dims: int, *args, **kwargs) -> nn.Module:
    return {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d}[dims](*args, **kwargs)


def group_norm(channels: int, groups: int = 8) -> nn.GroupNorm:
    # The largest group count <= groups that divides channels, so any width is allowed.
    g = max(d for d in range(1, min(groups, channels) + 1) if channels % d == 0)
    return nn.GroupNorm(g, channels, eps=1e-5)


def zero_init(module: nn.Module) -> nn.Module:
    # Residual branches start as the identity: stable early training (ADM / EDM practice).
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice; optional FiLM (scale, shift) from an embedding after the 2nd norm."""

    def __init__(self, dims: int, in_ch: int, out_ch: int, emb_dim: int = 0, groups: int = 8,
                 dropout: float = 0.0):
        super().__init__()
        self.norm1 = group_norm(in_ch, groups)
        self.conv1 = conv_nd(dims, in_ch, out_ch, 3, padding=1)
        self.film = nn.Linear(emb_dim, 2 * out_ch) if emb_dim else None
        self.norm2 = group_norm(out_ch, groups)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = zero_init(conv_nd(dims, out_ch, out_ch, 3, padding=1))
        self.skip = conv_nd(dims, in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.norm2(h)
        if self.film is not None:
            scale, shift = self.film(emb).unflatten(1, (2, -1)).unbind(1)
            view = (*scale.shape, *([1] * (h.ndim - 2)))
            h = h * (1 + scale.view(view)) + shift.view(view)
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class Attention(nn.Module):
    """Pre-norm multi-head self-attention over all positions (time, or frequency x time)."""

    def __init__(self, channels: int, heads: int = 4, groups: int = 8):
        super().__init__()
        if channels % heads:
            raise ValueError(f"attention channels {channels} not divisible by heads {heads}")
        self.heads = heads
        self.norm = group_norm(channels, groups)
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = zero_init(nn.Linear(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        tokens = self.norm(x).flatten(2).transpose(1, 2)  # (B, N, C)
        q, k, v = self.qkv(tokens).view(b, -1, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, -1, c)
        return x + self.proj(out).transpose(1, 2).reshape(x.shape)


class Downsample(nn.Module):
    """Stride-2 conv; ceil(n/2) output so odd sizes are fine."""

    def __init__(self, dims: int, channels: int):
        super().__init__()
        self.conv = conv_nd(dims, channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """Nearest upsample to the skip's exact size, then conv: no checkerboard, any input size."""

    def __init__(self, dims: int, channels: int):
        super().__init__()
        self.conv = conv_nd(dims, channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, size) -> torch.Tensor:
        return self.conv(F.interpolate(x, size=size, mode="nearest"))


class NoiseEmbedding(nn.Module):
    """Fourier features of c_noise (= ln(sigma)/4 under EDM) -> MLP.

    Frequencies are fixed and geometric in [1, max_freq] rad per unit of c_noise: deterministic (no random
    buffer to save) and all of them vary over the useful c_noise range of about [-2, 1.5].
    """

    def __init__(self, out_dim: int, n_freqs: int = 32, max_freq: float = 64.0):
        super().__init__()
        freqs = torch.exp(torch.linspace(0.0, math.log(max_freq), n_freqs))
        self.register_buffer("freqs", freqs, persistent=False)
        self.mlp = nn.Sequential(nn.Linear(2 * n_freqs, out_dim), nn.SiLU(), nn.Linear(out_dim, out_dim))

    def forward(self, c_noise: torch.Tensor) -> torch.Tensor:
        angles = c_noise.to(self.freqs.dtype)[:, None] * self.freqs[None]
        return self.mlp(torch.cat([angles.cos(), angles.sin()], dim=1))
