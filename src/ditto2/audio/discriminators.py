"""Discriminators for the neural vocoder's adversarial term (issue 17): multi-period and multi-resolution.

The STFT and mel losses pin the magnitude at a few resolutions; what they leave is the fine structure a listener
hears as phasiness. Two families of small convolutional critics look for it, in the manner of HiFi-GAN (arXiv
2010.05646, periods) and UnivNet / Vocos (resolutions), written here at a width a 2-core CPU can train:

* ``PeriodCritic(p)``: the waveform folded into rows of p samples, 2-D convolutions along the rows (kernel (5, 1)),
  so each column sees one phase of a period p: periodic structure (pitch, its harmonics) at periods 2..11.
* ``ResolutionCritic(n_fft)``: 2-D convolutions over the log-magnitude STFT at one resolution, strided by 2 in
  frequency and time at every layer.

Each returns its score map and the activations of every layer (for feature matching). ``Discriminators`` runs them
all. Losses are least squares (LSGAN), as in HiFi-GAN: real -> 1, generated -> 0.
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from ditto2.config import JsonConfig

SLOPE = 0.1  # leaky ReLU


@dataclasses.dataclass(frozen=True)
class DiscriminatorConfig(JsonConfig):
    kind = "mpd_mrd"

    periods: tuple[int, ...] = (2, 3, 5, 7, 11)
    ffts: tuple[int, ...] = (512, 1024, 2048)
    channels: tuple[int, ...] = (16, 32, 64, 128)   # per critic layer (HiFi-GAN: 32 .. 1024)


def _convolve(layers: nn.ModuleList, out: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """A critic's layers over its view of the waveform: (flattened scores, every layer's activations)."""
    features = []
    for layer in layers:
        x = F.leaky_relu(layer(x), SLOPE)
        features.append(x)
    return out(x).flatten(1), features


class PeriodCritic(nn.Module):
    def __init__(self, period: int, channels: tuple[int, ...]):
        super().__init__()
        self.period = period
        widths = (1, *channels)
        self.layers = nn.ModuleList(nn.Conv2d(a, b, (5, 1), (3, 1), padding=(2, 0)) for a, b in zip(widths, widths[1:]))
        self.out = nn.Conv2d(widths[-1], 1, (3, 1), padding=(1, 0))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        pad = (-wave.shape[-1]) % self.period
        x = F.pad(wave, (0, pad), mode="reflect").unsqueeze(1)
        return _convolve(self.layers, self.out, x.reshape(x.shape[0], 1, -1, self.period))


class ResolutionCritic(nn.Module):
    def __init__(self, n_fft: int, channels: tuple[int, ...]):
        super().__init__()
        self.n_fft = n_fft
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        widths = (1, *channels)
        # Strided in frequency too: at full frequency resolution (UnivNet's layout) these critics cost 40x the
        # generator's step on one core (1.9-2.0 s per 16-crop batch against 0.05-0.07 s for a period critic).
        self.layers = nn.ModuleList(nn.Conv2d(a, b, 3, 2, padding=1) for a, b in zip(widths, widths[1:]))
        self.out = nn.Conv2d(widths[-1], 1, (3, 3), padding=(1, 1))

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        spec = torch.stft(wave.float(), self.n_fft, self.n_fft // 4, window=self.window, return_complex=True)
        return _convolve(self.layers, self.out, torch.log(spec.abs().clamp(min=1e-5)).unsqueeze(1))  # (B, 1, freq, frames)


class Discriminators(nn.Module):
    """Every critic of a ``DiscriminatorConfig``; ``forward(wave)`` -> [(scores, features)] per critic.

    A discriminator never changes what the generator computes, so a vocoder release warm-starts a GAN run with a
    fresh one: its parameters may be missing from a release (``ZERO_START``, ``release.load_release``)."""

    ZERO_START = ("",)

    def __init__(self, config: DiscriminatorConfig | None = None):
        super().__init__()
        self.config = cfg = config or DiscriminatorConfig()
        self.critics = nn.ModuleList([*(PeriodCritic(p, cfg.channels) for p in cfg.periods),
                                      *(ResolutionCritic(n, cfg.channels) for n in cfg.ffts)])

    def forward(self, wave: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        return [critic(wave) for critic in self.critics]


def critic_loss(real: list, fake: list) -> torch.Tensor:
    """The discriminators' least-squares loss: real scores -> 1, generated (detached) scores -> 0."""
    return sum((1 - r).square().mean() + f.square().mean() for (r, _), (f, _) in zip(real, fake))


def generator_losses(real: list, fake: list) -> tuple[torch.Tensor, torch.Tensor]:
    """(adversarial, feature matching) for the generator: its scores -> 1, and the L1 distance of every critic
    layer's activations on its waveform to those on the real one (real side detached)."""
    adversarial = sum((1 - f).square().mean() for f, _ in fake)
    matching = sum((fr.detach() - ff).abs().mean() for (_, real_feats), (_, fake_feats) in zip(real, fake)
                   for fr, ff in zip(real_feats, fake_feats))
    return adversarial, matching
