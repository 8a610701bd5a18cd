"""Differentiable waveform -> normalised log-mel front-end.

The representation every model and feature in ditto2 works on:

* 22.05 kHz mono, STFT with n_fft 1024 (Hann window), hop 256, centred frames;
  a signal of L samples gives L // 256 frames (the frame t is centred on sample 256 t).
* 80 mel bands, 0-11,025 Hz, Slaney mel scale and area normalisation (librosa's default),
  applied to the STFT **magnitude**.
* ``x = 2 (clip(ln mel, LN_FLOOR, LN_CEIL) - LN_FLOOR) / (LN_CEIL - LN_FLOOR) - 1``, so x lies in [-1, 1].
  LN_FLOOR = ln(1e-5) (about -100 dB), LN_CEIL = 2.5 (above anything a loudness-normalised
  render reaches). The clip is only applied on the way in; ``denormalise`` is its exact
  inverse inside the range and stays differentiable, so features of generated mels have gradients.

512 frames (131,072 samples, 5.94 s) make one clip.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

SAMPLE_RATE = 22050
N_FFT = 1024
HOP = 256
N_MELS = 80
F_MIN = 0.0
F_MAX = SAMPLE_RATE / 2
CLIP_FRAMES = 512
CLIP_SAMPLES = CLIP_FRAMES * HOP
LN_FLOOR = math.log(1e-5)
LN_CEIL = 2.5
FRAME_RATE = SAMPLE_RATE / HOP  # ~86.13 frames per second


def seconds_to_frames(seconds: float) -> int:
    return int(round(seconds * FRAME_RATE))


def frames_to_seconds(frames: float) -> float:
    return frames / FRAME_RATE


@functools.lru_cache(maxsize=None)
def mel_basis_np() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) Slaney mel filterbank."""
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=F_MIN, fmax=F_MAX,
                               htk=False, norm="slaney").astype(np.float32)


@functools.lru_cache(maxsize=None)
def mel_pinv_np() -> np.ndarray:
    """Pseudo-inverse of the filterbank, computed once (torch's pinv is slow on busy cores)."""
    return np.linalg.pinv(mel_basis_np()).astype(np.float32)


@functools.lru_cache(maxsize=None)
def mel_center_frequencies() -> np.ndarray:
    """Centre frequency (Hz) of each mel band."""
    import librosa

    return librosa.mel_frequencies(n_mels=N_MELS + 2, fmin=F_MIN, fmax=F_MAX, htk=False)[1:-1]


def mel_basis(device=None, dtype=torch.float32) -> torch.Tensor:
    return torch.from_numpy(mel_basis_np()).to(device=device, dtype=dtype)


def stft_magnitude(wave: torch.Tensor) -> torch.Tensor:
    """(..., L) waveform -> (..., N_FFT//2+1, L // HOP) magnitude spectrogram."""
    shape = wave.shape
    flat = wave.reshape(-1, shape[-1])
    window = torch.hann_window(N_FFT, device=wave.device, dtype=wave.dtype)
    spec = torch.stft(flat, N_FFT, HOP, window=window, center=True, pad_mode="reflect", return_complex=True)
    frames = shape[-1] // HOP
    mag = spec.abs()[..., :frames]
    return mag.reshape(*shape[:-1], mag.shape[-2], frames)


def mel_magnitude(wave: torch.Tensor) -> torch.Tensor:
    """(..., L) waveform -> (..., N_MELS, L // HOP) mel magnitudes (linear scale)."""
    mag = stft_magnitude(wave)
    return torch.matmul(mel_basis(wave.device, wave.dtype), mag)


def normalise(ln_mel: torch.Tensor) -> torch.Tensor:
    """Natural-log mel -> x in [-1, 1]."""
    clipped = ln_mel.clamp(LN_FLOOR, LN_CEIL)
    return 2.0 * (clipped - LN_FLOOR) / (LN_CEIL - LN_FLOOR) - 1.0


def denormalise(x: torch.Tensor) -> torch.Tensor:
    """x -> natural-log mel (differentiable, no clipping)."""
    return (x + 1.0) * 0.5 * (LN_CEIL - LN_FLOOR) + LN_FLOOR


def wave_to_mel(wave: torch.Tensor) -> torch.Tensor:
    """(..., L) waveform in [-1, 1] -> (..., 80, L // 256) normalised log-mel."""
    return normalise(torch.log(mel_magnitude(wave).clamp_min(1e-10)))


def mel_to_magnitude(x: torch.Tensor) -> torch.Tensor:
    """Normalised log-mel -> linear mel magnitudes."""
    return torch.exp(denormalise(x))
