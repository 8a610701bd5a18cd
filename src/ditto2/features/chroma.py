"""Melody: a high-passed 12-bin chromagram and the per-frame pitch-class distribution it implies.

Mel route (differentiable): a fixed (12, 80) matrix maps the squared mel magnitudes (power per
band) to pitch classes. Each weight is the overlap of a mel triangle with librosa's chroma
filterbank for the 1024-point STFT, times the power response of the high-pass that the audio
twin applies (2nd-order Butterworth at middle C, run forwards and backwards). Mel bands are
~41 Hz apart below 1 kHz (wider than a semitone below ~700 Hz) and ~0.7 semitone apart above,
so low bands spread their energy over neighbouring classes; overlapping triangles still locate
a partial, and the harmonics above 1 kHz sharpen the picture.

Audio route (evaluation): the same high-pass on the waveform, then ``librosa.feature.chroma_stft``
(n_fft 2048 for finer low-frequency resolution, hop 256, centred, tuning fixed at A440).

Pitch class 0 is C, as in MIDI pitch % 12 and librosa's chroma.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from ditto2.audio import mel as M
from ditto2.errors import InputError
from ditto2.features._checks import as_wave, check_mel

HIGHPASS_HZ = 261.63  # middle C, as in MusicGen / Music ControlNet's melody extractor
AUDIO_N_FFT = 2048
_EPS = 1e-10


def highpass_power_response(freqs: np.ndarray) -> np.ndarray:
    """Power gain of a 2nd-order Butterworth high-pass applied twice (filtfilt): 1 / (1 + (fc/f)^4)^2."""
    freqs = np.asarray(freqs, dtype=np.float64)
    with np.errstate(divide="ignore"):
        ratio = np.where(freqs > 0, HIGHPASS_HZ / np.maximum(freqs, 1e-12), np.inf)
    return 1.0 / (1.0 + ratio**4) ** 2


@functools.lru_cache(maxsize=None)
def chroma_weights_np() -> np.ndarray:
    """(12, 80) weights from mel-band power to pitch-class energy."""
    import librosa

    freqs = np.fft.rfftfreq(M.N_FFT, 1.0 / M.SAMPLE_RATE)
    chroma_fb = librosa.filters.chroma(sr=M.SAMPLE_RATE, n_fft=M.N_FFT, n_chroma=12, tuning=0.0)
    basis = M.mel_basis_np().astype(np.float64)
    # Spread each band's power over its bins in proportion to its triangle, then read off chroma.
    weights = (chroma_fb * highpass_power_response(freqs)) @ (basis / basis.sum(1, keepdims=True)).T
    return weights.astype(np.float32)


def chroma(mel: torch.Tensor) -> torch.Tensor:
    """(..., 80, T) normalised mel -> (..., 12, T) high-passed pitch-class energy; differentiable."""
    check_mel(mel)
    weights = torch.from_numpy(chroma_weights_np()).to(mel.device, mel.dtype)
    return torch.matmul(weights, M.mel_to_magnitude(mel).square())


def melody_log_probs(mel: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """(..., 80, T) -> (..., 12, T) log-probabilities over pitch classes per frame.

    ``log_softmax(log C / temperature)``: at temperature 1 the probability of a class is its share
    of the frame's chroma energy (DITTO's "log C" made a proper distribution); below 1 the
    distribution sharpens (p ∝ C^(1/temperature)), pushing the optimiser towards one dominant class.
    """
    if not temperature > 0:
        raise InputError(f"temperature: expected a positive number, got {temperature!r}")
    return torch.log_softmax(torch.log(chroma(mel) + _EPS) / temperature, dim=-2)


def _targets(target_pc, voiced, like: torch.Tensor) -> torch.Tensor:
    """Per-frame class indices as a long tensor with -1 wherever the frame is silent or masked out."""
    target = torch.as_tensor(target_pc, device=like.device).long()
    if target.shape[-1] != like.shape[-1]:
        raise InputError(f"target_pc: expected {like.shape[-1]} frames, got {target.shape[-1]}")
    if ((target < -1) | (target > 11)).any():
        raise InputError("target_pc: expected pitch classes 0-11, or -1 for silence")
    if voiced is not None:
        target = torch.where(torch.as_tensor(voiced, device=like.device).bool(), target, torch.full_like(target, -1))
    target = target.expand(*like.shape[:-2], like.shape[-1]) if like.dim() > 2 else target
    if not (target >= 0).any():
        raise InputError("target_pc: no voiced frames to compare (every frame is silence or masked out)")
    return target


def melody_nll(log_probs: torch.Tensor, target_pc, voiced=None) -> torch.Tensor:
    """Mean negative log-likelihood of the target pitch class over voiced frames.

    ``log_probs``: (12, T) or (B, 12, T); ``target_pc``: (T,) or (B, T), -1 = silence (ignored);
    ``voiced``: optional extra (T,) mask of frames to score.
    """
    target = _targets(target_pc, voiced, log_probs)
    if log_probs.dim() == 2:
        log_probs, target = log_probs.unsqueeze(0), target.unsqueeze(0)
    return F.nll_loss(log_probs, target, ignore_index=-1)


def melody_accuracy(scores, target_pc, voiced=None) -> float:
    """Fraction of voiced frames whose arg-max pitch class matches; ``scores`` is (..., 12, T)."""
    scores = torch.as_tensor(scores)
    target = _targets(target_pc, voiced, scores)
    scored = target >= 0
    return float((scores.argmax(-2) == target)[scored].float().mean())


def chroma_audio(wave, n_fft: int = AUDIO_N_FFT) -> np.ndarray:
    """Audio twin of ``chroma``: (samples,) at 22.05 kHz -> (12, samples // 256) pitch-class energy."""
    import librosa
    from scipy.signal import butter, sosfiltfilt

    wave = as_wave(wave)
    sos = butter(2, HIGHPASS_HZ, btype="highpass", fs=M.SAMPLE_RATE, output="sos")
    high = sosfiltfilt(sos, wave)  # zero-phase, so the chroma frames stay aligned with the mel's
    energy = librosa.feature.chroma_stft(y=high.astype(np.float32), sr=M.SAMPLE_RATE, n_fft=n_fft, hop_length=M.HOP,
                                         center=True, tuning=0.0, norm=None)
    return energy[:, : wave.size // M.HOP]
