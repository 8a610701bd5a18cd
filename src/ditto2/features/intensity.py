"""Intensity: the smoothed per-frame RMS level in dB (Music ControlNet's dynamics, DITTO §4).

Mel route (differentiable): the linear magnitude spectrum is recovered from the mel by the same
non-negative least squares that the Griffin-Lim vocoder uses (``ditto2.audio.vocoder.mel_to_linear``),
so the feature is the level the vocoder will render; Parseval then gives the mean-square sample
value of each frame. Audio route (evaluation): librosa's frame RMS with the same frame (1024),
hop (256) and centring. Both become ``10 log10(ms + 10^(floor/10))`` — a
smooth floor at ``FLOOR_DB`` that keeps gradients alive in silence — and are smoothed with the
same ~1 s Savitzky-Golay kernel.
"""
from __future__ import annotations


import numpy as np
import torch

from ditto2.audio import mel as M
from ditto2.audio.vocoder import mel_to_linear
from ditto2.errors import InputError
from ditto2.features._checks import as_wave, check_mel
from ditto2.features.smoothing import smooth_time, smooth_time_np

FLOOR_DB = -80.0
# ~1.0 s window, order 1: the setting of the one public extractor (MuseControlLite: 279 frames at
# 44.1 kHz / hop 160); Music ControlNet's own coefficients are not published.
SMOOTH_WINDOW = 87
SMOOTH_ORDER = 1
# Sum of a periodic Hann window's squares is 3N/8: the windowed frame energy over this is the
# plain mean square that librosa's RMS measures.
_HANN_ENERGY = 3.0 * M.N_FFT / 8.0


def frame_mean_square(mel: torch.Tensor) -> torch.Tensor:
    """(..., 80, T) normalised mel -> (..., T) mean-square sample value per frame."""
    spec = mel_to_linear(M.mel_to_magnitude(mel))
    # Parseval on the one-sided spectrum: DC and Nyquist bins appear once, the others twice.
    power = spec.square()
    energy = 2.0 * power.sum(-2) - power[..., 0, :] - power[..., -1, :]
    return energy / (M.N_FFT * _HANN_ENERGY)


def power_to_db(ms, floor_db: float = FLOOR_DB):
    """Mean square -> dB with a smooth floor (torch or numpy)."""
    floor = 10.0 ** (floor_db / 10.0)
    if isinstance(ms, torch.Tensor):
        return 10.0 * torch.log10(ms + floor)
    return 10.0 * np.log10(np.asarray(ms, dtype=np.float64) + floor)


def intensity_db(mel: torch.Tensor, *, smooth: bool = True, floor_db: float = FLOOR_DB) -> torch.Tensor:
    """(..., 80, T) normalised mel -> (..., T) smoothed RMS level in dB; differentiable."""
    check_mel(mel)
    level = power_to_db(frame_mean_square(mel), floor_db)
    return smooth_time(level, SMOOTH_WINDOW, SMOOTH_ORDER) if smooth else level


def intensity_db_audio(wave, *, smooth: bool = True, floor_db: float = FLOOR_DB) -> np.ndarray:
    """Audio twin of ``intensity_db``: (samples,) waveform at 22.05 kHz -> (samples // 256,) dB."""
    import librosa

    wave = as_wave(wave)
    rms = librosa.feature.rms(y=wave, frame_length=M.N_FFT, hop_length=M.HOP, center=True)[0]
    level = power_to_db(np.square(rms[: wave.size // M.HOP], dtype=np.float64), floor_db)
    return smooth_time_np(level, SMOOTH_WINDOW, SMOOTH_ORDER) if smooth else level


def pearson(a: torch.Tensor, b, dim: int = -1, eps: float = 1e-8) -> torch.Tensor:
    """Pearson correlation along ``dim`` (DITTO App. C uses -rho as the intensity loss).

    ``b`` (e.g. a numpy target curve) broadcasts against ``a``. The eps sits inside the square
    root so a flat curve gives rho = 0 with finite gradients instead of NaN.
    """
    b = torch.as_tensor(b, dtype=a.dtype, device=a.device)
    a = a - a.mean(dim, keepdim=True)
    b = b - b.mean(dim, keepdim=True)
    return (a * b).sum(dim) / (a.square().sum(dim) * b.square().sum(dim) + eps).sqrt()


def gain_to_curve(wave, target_db, limit_db: float, passes: int = 2) -> np.ndarray:
    """The waveform under a smooth gain that brings its loudness curve (``intensity_db_audio``) to ``target_db``,
    the gain at most ``limit_db`` either way. The gain follows the smoothed curves, so it moves the level over about
    a second and leaves attacks and notes as they were; a second pass closes what the smoothing of the gained audio
    left (the level of a gained frame is not exactly the level plus the gain)."""
    wave = as_wave(wave)
    target = np.asarray(target_db, dtype=np.float64)
    if target.ndim != 1 or target.size != wave.size // M.HOP:
        raise InputError(f"loudness target: {target.size} frames for audio of {wave.size // M.HOP}")
    frames = np.arange(target.size) * M.HOP  # librosa's centred frame k sits at sample k * hop
    gain_db = np.zeros(target.size)
    for _ in range(passes):
        level = intensity_db_audio(wave * _gain(gain_db, frames, wave.size))
        gain_db = np.clip(gain_db + target - level[: target.size], -limit_db, limit_db)
    return (wave * _gain(gain_db, frames, wave.size)).astype(np.float32)


def _gain(gain_db: np.ndarray, frames: np.ndarray, samples: int) -> np.ndarray:
    return 10.0 ** (np.interp(np.arange(samples), frames, gain_db) / 20.0)
