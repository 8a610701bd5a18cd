"""Validation shared by the feature and target builders: every failure names the input."""
from __future__ import annotations

import math
import numbers
from pathlib import Path

import numpy as np
import torch

from ditto2.audio.mel import N_MELS
from ditto2.errors import InputError


def check_mel(mel: torch.Tensor, name: str = "mel") -> None:
    """Features take a normalised log-mel, (80, T) or (B, 80, T)."""
    if not isinstance(mel, torch.Tensor) or mel.dim() not in (2, 3) or mel.shape[-2] != N_MELS:
        shape = tuple(mel.shape) if hasattr(mel, "shape") else type(mel).__name__
        raise InputError(f"{name}: expected a tensor of shape ({N_MELS}, T) or (B, {N_MELS}, T), got {shape}")


def as_wave(wave, name: str = "wave") -> np.ndarray:
    """A mono waveform (numpy or torch) as a finite, non-empty float32 vector."""
    if isinstance(wave, torch.Tensor):
        wave = wave.detach().cpu().numpy()
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1 or wave.size == 0:
        raise InputError(f"{name}: expected a non-empty mono waveform of shape (samples,), got shape {wave.shape}")
    if not np.all(np.isfinite(wave)):
        raise InputError(f"{name}: the waveform contains NaN or infinite samples")
    return wave


def real(value, name: str, *, minimum: float | None = None, strict: bool = False) -> float:
    """A finite real number, optionally bounded below (strictly with ``strict``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InputError(f"{name}: expected a finite number, got {value!r}")
    value = float(value)
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise InputError(f"{name}: expected a number {'>' if strict else '>='} {minimum:g}, got {value:g}")
    return value


def positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InputError(f"{name}: expected a positive whole number, got {value!r}")
    return int(value)


def existing_file(path, name: str) -> Path:
    """A user-given file that must exist (a missing target file is bad input, not a missing resource)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{name}: file not found: {path}")
    return path
