"""Raw denoiser networks F(x, c_noise, cond) -> (same shape as x); the EDM wrapper in ``edm.py`` owns
the parameterisation, so these never see sigma directly.

* ``UNet2D``: a 2-D UNet over (channels, frequency, time), e.g. the 8 x 20 x T/4 autoencoder latent.
  2-D convs share weights across frequency, so a note line is learned once for all pitches.
* ``UNet1D``: a 1-D UNet over time with (channels x frequency) folded into channels; a cheaper candidate.

Both are fully convolutional (any frequency/time size; odd sizes are handled by ceil-downsampling and
upsampling to the skip's exact size). Self-attention is optional and only at the lowest resolution.
Conditioning: a caption embedding (``cond_dim``, 384 for the sentence encoder) is projected and added to the
noise embedding, which drives FiLM scale/shift in every residual block. A row of all zeros is the *null*
caption: it is replaced by a learned null embedding (see ``edm.CFGDenoiser``); ``cond=None`` means all null.

``global_level``: GroupNorm removes every feature map's mean, so the net hardly sees, and hardly sets, a
clip's per-channel mean: its overall level. At high noise that mean is the one thing the noisy input still
says about the clip, and the trained net passes too little of it on, so samples all share one level
(docs/models.md). This path maps the input's per-channel means (with the embedding) to a per-channel offset
of the output; its last layer starts at zero, so a net trained without it loads and computes the same.
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from ditto2.config import JsonConfig
from ditto2.diffusion.layers import (Attention, Downsample, NoiseEmbedding, ResBlock, Upsample, conv_nd,
                                     group_norm, zero_init)
from ditto2.errors import InputError


@dataclasses.dataclass(frozen=True)
class UNet2DConfig(JsonConfig):
    kind = "unet2d"

    in_channels: int = 8              # latent channels (8 for the default autoencoder; 1 for a raw mel)
    out_channels: int = 0             # 0: same as in_channels
    # Defaults: the recommended CPU teacher (docs/networks.md): 6.8 M parameters, one block at the costly
    # finest level, two at the coarser ones.
    channels: tuple = (48, 96, 192)   # width per level; each level after the first halves every axis
    res_blocks: int | tuple = (1, 2, 2)  # residual blocks per level (an int, or one per level)
    attention: bool = True            # self-attention in the bottleneck (lowest resolution) only
    attn_heads: int = 4
    emb_dim: int = 256                # noise (+ caption) embedding width
    n_freqs: int = 32                 # Fourier features of c_noise
    max_freq: float = 64.0
    cond_dim: int = 0                 # 0: unconditional; 384 for a caption embedding
    norm_groups: int = 8
    dropout: float = 0.0
    global_level: bool = False        # the per-channel mean path (module docstring); zero-initialised

    def __post_init__(self):
        if not self.channels:
            raise InputError(f"{type(self).__name__}: channels must not be empty")
        if not isinstance(self.res_blocks, int) and len(self.res_blocks) != len(self.channels):
            raise InputError(f"{type(self).__name__}: res_blocks needs one entry per level")
        if min(self.blocks_per_level()) < 1:
            raise InputError(f"{type(self).__name__}: every level needs at least one residual block")

    def blocks_per_level(self) -> tuple[int, ...]:
        if isinstance(self.res_blocks, int):
            return (self.res_blocks,) * len(self.channels)
        return tuple(self.res_blocks)


@dataclasses.dataclass(frozen=True)
class UNet1DConfig(UNet2DConfig):
    kind = "unet1d"

    in_channels: int = 160            # 8 latent channels x 20 latent bins, or 80 mel bins
    channels: tuple = (128, 192, 256)
    res_blocks: int | tuple = 2


class _UNet(nn.Module):
    dims = 2

    def __init__(self, config: UNet2DConfig):
        super().__init__()
        self.config = cfg = config
        d, g, e = self.dims, cfg.norm_groups, cfg.emb_dim
        blocks = cfg.blocks_per_level()
        out_ch = cfg.out_channels or cfg.in_channels

        self.noise_emb = NoiseEmbedding(e, cfg.n_freqs, cfg.max_freq)
        if cfg.cond_dim:
            self.cond_emb = nn.Sequential(nn.Linear(cfg.cond_dim, e), nn.SiLU(), nn.Linear(e, e))
            self.null_emb = nn.Parameter(torch.zeros(e))

        def res(i, o):
            return ResBlock(d, i, o, e, g, cfg.dropout)

        self.conv_in = conv_nd(d, cfg.in_channels, cfg.channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        ch = cfg.channels[0]
        for level, (width, n) in enumerate(zip(cfg.channels, blocks, strict=True)):
            self.down.append(nn.ModuleList(res(ch if j == 0 else width, width) for j in range(n)))
            ch = width
            if level < len(cfg.channels) - 1:
                self.downsample.append(Downsample(d, ch))

        self.mid1 = res(ch, ch)
        self.mid_attn = Attention(ch, cfg.attn_heads, g) if cfg.attention else None
        self.mid2 = res(ch, ch)

        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for level in reversed(range(len(cfg.channels))):
            width, n = cfg.channels[level], blocks[level]
            if level < len(cfg.channels) - 1:
                self.upsample.append(Upsample(d, ch))
            # The first block takes the concatenated skip of this level.
            self.up.append(nn.ModuleList(res(ch + width if j == 0 else width, width) for j in range(n)))
            ch = width

        self.norm_out = group_norm(ch, g)
        self.conv_out = zero_init(conv_nd(d, ch, out_ch, 3, padding=1))
        self.level = None
        if cfg.global_level:
            self.level = nn.Sequential(nn.Linear(cfg.in_channels + e, e), nn.SiLU(), zero_init(nn.Linear(e, out_ch)))

    # Parameters a net may lack in older weights: they start at zero, so loading without them is exact.
    ZERO_START = ("level.",)

    def embed(self, c_noise: torch.Tensor, cond: torch.Tensor | None, batch: int) -> torch.Tensor:
        emb = self.noise_emb(c_noise.reshape(-1).expand(batch))
        if self.config.cond_dim:
            emb = emb + self._cond_embedding(cond, batch, emb)
        elif cond is not None:
            raise InputError("this network is unconditional (cond_dim 0) but a condition was given")
        return F.silu(emb)

    def _cond_embedding(self, cond, batch, like):
        null = self.null_emb.to(like).expand(batch, -1)
        if cond is None:
            return null
        if cond.shape[-1] != self.config.cond_dim:
            raise InputError(f"condition has {cond.shape[-1]} features, network expects {self.config.cond_dim}")
        cond = cond.to(like).reshape(-1, cond.shape[-1]).expand(batch, -1)
        is_null = (cond == 0).all(dim=1, keepdim=True)
        return torch.where(is_null, null, self.cond_emb(cond))

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.embed(torch.as_tensor(c_noise, device=x.device), cond, x.shape[0])
        h = self.conv_in(x)
        skips = []
        for level, blocks in enumerate(self.down):
            for block in blocks:
                h = block(h, emb)
            skips.append(h)
            if level < len(self.downsample):
                h = self.downsample[level](h)
        h = self.mid2(self._mid_attn(self.mid1(h, emb)), emb)
        for i, blocks in enumerate(self.up):
            skip = skips.pop()
            if i > 0:
                h = self.upsample[i - 1](h, skip.shape[2:])
            h = torch.cat([h, skip], dim=1)
            for block in blocks:
                h = block(h, emb)
        out = self.conv_out(F.silu(self.norm_out(h)))
        if self.level is not None:
            out = out + self._level_offset(x, emb).view(*out.shape[:2], *([1] * (out.ndim - 2)))
        return out

    def _level_offset(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        # Per-channel means times sqrt(count): unit scale for pure noise at any sigma and clip size, so the
        # clip's own mean shows as a departure from it (at high sigma a mean over n values is ~1/sqrt(n) small).
        means = x.flatten(2).mean(-1) * x[0, 0].numel() ** 0.5
        return self.level(torch.cat([means, emb], dim=1))

    def _mid_attn(self, h):
        return h if self.mid_attn is None else self.mid_attn(h)


class UNet2D(_UNet):
    """2-D UNet on (B, C, F, T)."""

    dims = 2

    def forward(self, x, c_noise, cond=None):
        if x.ndim != 4 or x.shape[1] != self.config.in_channels:
            raise InputError(f"UNet2D expects (B, {self.config.in_channels}, F, T), got {tuple(x.shape)}")
        return super().forward(x, c_noise, cond)


class UNet1D(_UNet):
    """1-D UNet over time on (B, C, T); a (B, C, F, T) input is folded to (B, C*F, T) and back."""

    dims = 1

    def forward(self, x, c_noise, cond=None):
        shape = x.shape
        if x.ndim == 4:
            x = x.flatten(1, 2)
        if x.ndim != 3 or x.shape[1] != self.config.in_channels:
            raise InputError(f"UNet1D expects (B, {self.config.in_channels}, T) or (B, C, F, T) with "
                             f"C*F = {self.config.in_channels}, got {tuple(shape)}")
        out = super().forward(x, c_noise, cond)
        return out.reshape(shape[0], -1, *shape[2:]) if len(shape) == 4 else out


NETWORKS = {UNet2DConfig.kind: (UNet2DConfig, UNet2D), UNet1DConfig.kind: (UNet1DConfig, UNet1D)}


def network_config(d: dict) -> UNet2DConfig:
    """Config object from its JSON dict (dispatch on 'kind')."""
    kind = d.get("kind")
    if kind not in NETWORKS:
        raise InputError(f"unknown network kind {kind!r}; known: {sorted(NETWORKS)}")
    return NETWORKS[kind][0].from_dict(d)


def build_network(config: dict | UNet2DConfig) -> nn.Module:
    """A network from a config object or its JSON dict."""
    cfg = network_config(config) if isinstance(config, dict) else config
    return NETWORKS[cfg.kind][1](cfg)
