"""The CLAP-style model: a small mel audio tower and a projection head on the frozen MiniLM text embedding.

Both towers end in unit vectors of ``dim`` dimensions; ``logit_scale`` is the learned inverse temperature
of the symmetric InfoNCE loss. The text tower's frozen part (all-MiniLM-L6-v2, ``text/encoder.py``) runs
outside the module: the model takes its 384-d embedding, so training reads cached embeddings.

Audio towers (input: the normalised log-mel, (B, 80, T), any T >= 32):

* ``conv1d``: mel bins as channels, strided 1-D convs with residual blocks over time, attention + mean pooling.
* ``conv2d``: a small 2-D conv net over (mel, time), frequency folded into channels, the same pooling.

No batch statistics anywhere (GroupNorm), so a clip's embedding never depends on its batch: the text
control calls the tower on one clip at a time inside the optimisation loop.
"""
from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from ditto2.config import JsonConfig
from ditto2.errors import InputError
from ditto2.release import Pretrained

ARCHS = ("conv1d", "conv2d")
TEXT_DIM = 384
N_MELS = 80


@dataclasses.dataclass(frozen=True)
class ClapConfig(JsonConfig):
    arch: str = "conv1d"
    dim: int = 256                         # shared embedding size
    widths: tuple[int, ...] = (96, 128, 192)   # channels per stage (conv2d: per 2-D stage)
    text_hidden: int = 256
    init_temperature: float = 0.07

    def __post_init__(self):
        if self.arch not in ARCHS:
            raise InputError(f"unknown CLAP audio tower {self.arch!r}; choose one of {', '.join(ARCHS)}")


def default_config(arch: str) -> ClapConfig:
    """The shipped sizes: conv1d (the control model) and conv2d (the evaluation model)."""
    if arch == "conv2d":
        return ClapConfig(arch="conv2d", widths=(16, 32, 48, 64))
    return ClapConfig(arch=arch)


def _groups(c: int) -> int:
    return math.gcd(c, 8)


class _Res1d(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.norm = nn.GroupNorm(_groups(c), c)
        self.conv1 = nn.Conv1d(c, c, 3, padding=1)
        self.conv2 = nn.Conv1d(c, c, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.gelu(self.conv1(F.gelu(self.norm(x)))))


class _AttnPool(nn.Module):
    """Attention pooling over time, concatenated with the mean: (B, C, T) -> (B, 2C)."""

    def __init__(self, c: int):
        super().__init__()
        self.score = nn.Conv1d(c, 1, 1)

    def forward(self, x):
        w = torch.softmax(self.score(x), dim=-1)
        return torch.cat([(x * w).sum(-1), x.mean(-1)], dim=1)


class _Conv1dTower(nn.Module):
    def __init__(self, widths, dim):
        super().__init__()
        layers, c_in = [], N_MELS
        for c in widths:
            layers += [nn.Conv1d(c_in, c, 4, stride=2, padding=1), _Res1d(c)]
            c_in = c
        self.body = nn.Sequential(*layers)
        self.norm = nn.GroupNorm(_groups(c_in), c_in)
        self.pool = _AttnPool(c_in)
        self.out = nn.Linear(2 * c_in, dim)

    def forward(self, mel):
        return self.out(self.pool(F.gelu(self.norm(self.body(mel)))))


class _Conv2dTower(nn.Module):
    """Stride-2 3x3 conv stages (each followed by a 3x3 conv from the second stage on); the remaining
    frequency rows are folded into channels and mixed by a 1x1 conv before pooling over time."""

    def __init__(self, widths, dim):
        super().__init__()
        layers, c_in, rows = [], 1, N_MELS
        for k, c in enumerate(widths):
            layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.GroupNorm(_groups(c), c), nn.GELU()]
            if k:
                layers += [nn.Conv2d(c, c, 3, padding=1), nn.GELU()]
            c_in, rows = c, (rows + 1) // 2
        self.body = nn.Sequential(*layers)
        self.mix = nn.Conv1d(c_in * rows, 4 * c_in, 1)
        self.norm = nn.GroupNorm(_groups(4 * c_in), 4 * c_in)
        self.pool = _AttnPool(4 * c_in)
        self.out = nn.Linear(8 * c_in, dim)

    def forward(self, mel):
        x = self.body(mel.unsqueeze(1))
        x = self.mix(x.flatten(1, 2))
        return self.out(self.pool(F.gelu(self.norm(x))))


class ClapModel(Pretrained, nn.Module):
    """Released under "clap": {"model": its config, plus the training task's text encoder, crop, caption seed}."""

    RELEASE_KEY = "clap"

    def __init__(self, config: ClapConfig):
        super().__init__()
        self.config = config
        tower = _Conv1dTower if config.arch == "conv1d" else _Conv2dTower
        self.audio = tower(config.widths, config.dim)
        self.text_in = nn.Linear(TEXT_DIM, config.text_hidden)
        self.text_out = nn.Linear(config.text_hidden, config.dim)
        self.text_skip = nn.Linear(TEXT_DIM, config.dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / config.init_temperature)))

    def release_section(self) -> dict:
        return {"model": self.config.to_dict()}

    @classmethod
    def from_release_section(cls, section: dict) -> ClapModel:
        return cls(ClapConfig.from_dict(section["model"]))

    def embed_audio(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 80, T) normalised mel -> (B, dim) unit vectors."""
        if mel.dim() != 3 or mel.shape[1] != N_MELS or mel.shape[-1] < 32:
            raise InputError(f"the CLAP audio tower takes mels of shape (B, {N_MELS}, T >= 32), got {tuple(mel.shape)}")
        return F.normalize(self.audio(mel), dim=-1)

    def embed_text(self, text: torch.Tensor) -> torch.Tensor:
        """(B, 384) MiniLM embeddings -> (B, dim) unit vectors."""
        return F.normalize(self.text_out(F.gelu(self.text_in(text))) + self.text_skip(text), dim=-1)

    def scale(self) -> torch.Tensor:
        return self.logit_scale.clamp(max=math.log(100.0)).exp()

    def forward(self, mel, text):
        """(audio, text, scale): what ``contrastive_loss`` takes (one call, so DDP sees every parameter)."""
        return self.embed_audio(mel), self.embed_text(text), self.scale()


def contrastive_loss(audio: torch.Tensor, text: torch.Tensor, scale: torch.Tensor,
                     groups: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE on unit vectors. ``groups`` (B,): items with equal ids (clips of one piece, which
    share their metadata) are all positives of each other, with the target mass split evenly."""
    logits = scale * audio @ text.T
    if groups is None:
        target = torch.arange(len(audio), device=audio.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
    pos = (groups[:, None] == groups[None, :]).float()
    target = pos / pos.sum(1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
