"""Structure: a self-similarity matrix (SSM) of timbre features (DITTO §4).

Timbre features are MFCCs without c0 (c0 is overall level, which belongs to intensity), taken as
the orthonormal DCT-II of the dB mel (librosa's MFCC convention), averaged over ``pool`` frames
and z-scored per coefficient over time. Pooling (default 8 frames, ~93 ms, 64 x 64 for a clip)
makes the SSM describe sections rather than note-to-note timbre jitter, and keeps it small.

Similarity is cosine similarity mapped to [0, 1] as (1 + cos) / 2, the range of the phrase-diagram
targets (1 = same section, 0 = different): after z-scoring, two contrasting sections point in
opposite directions (cos = -1), so raw cosines could never reach a 0 target.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F

from ditto2.audio import mel as M
from ditto2.features._checks import as_wave, check_mel, positive_int

N_MFCC = 13  # c1..c13
POOL = 8
_DB_PER_NEPER = 20.0 / math.log(10.0)  # ln(magnitude) -> dB


@functools.lru_cache(maxsize=None)
def _dct_rows(n_mfcc: int) -> np.ndarray:
    """Rows 1..n_mfcc of the orthonormal DCT-II matrix over the mel bands."""
    k = np.arange(1, n_mfcc + 1)[:, None]
    m = np.arange(M.N_MELS)[None, :]
    return (np.sqrt(2.0 / M.N_MELS) * np.cos(np.pi * k * (2 * m + 1) / (2 * M.N_MELS))).astype(np.float32)


def mfcc(mel: torch.Tensor, n_mfcc: int = N_MFCC) -> torch.Tensor:
    """(..., 80, T) normalised mel -> (..., n_mfcc, T) MFCCs c1..c_n (c0 dropped); differentiable."""
    check_mel(mel)
    dct = torch.from_numpy(_dct_rows(positive_int(n_mfcc, "n_mfcc"))).to(mel.device, mel.dtype)
    return torch.matmul(dct, M.denormalise(mel) * _DB_PER_NEPER)


def pooled_length(n_frames: int, pool: int = POOL) -> int:
    return -(-n_frames // pool)


def pool_time(x: torch.Tensor, pool: int = POOL) -> torch.Tensor:
    """Average (..., C, T) over blocks of ``pool`` frames -> (..., C, ceil(T / pool)).

    A ragged last block is completed with its last frame so every cell averages ``pool`` values.
    """
    pool = positive_int(pool, "pool")
    if pool == 1:
        return x
    extra = pooled_length(x.shape[-1], pool) * pool - x.shape[-1]
    if extra:
        x = torch.cat([x, x[..., -1:].expand(*x.shape[:-1], extra)], dim=-1)
    return x.reshape(*x.shape[:-1], -1, pool).mean(-1)


def zscore(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Normalise each coefficient over time (last axis); eps keeps constant rows finite."""
    centred = x - x.mean(-1, keepdim=True)
    return centred / (centred.square().mean(-1, keepdim=True) + eps).sqrt()


def self_similarity(features: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(..., C, N) features -> (..., N, N) similarity (1 + cos) / 2 in [0, 1]."""
    unit = features / (features.square().sum(-2, keepdim=True) + eps).sqrt()
    return 0.5 * (1.0 + unit.transpose(-1, -2) @ unit)


def timbre_features(mel: torch.Tensor, pool: int = POOL, n_mfcc: int = N_MFCC) -> torch.Tensor:
    """(..., 80, T) -> (..., n_mfcc, ceil(T / pool)) pooled, time-normalised MFCCs."""
    return zscore(pool_time(mfcc(mel, n_mfcc), pool))


def ssm(mel: torch.Tensor, pool: int = POOL, n_mfcc: int = N_MFCC) -> torch.Tensor:
    """(..., 80, T) normalised mel -> (..., N, N) SSM with N = ceil(T / pool); differentiable."""
    return self_similarity(timbre_features(mel, pool, n_mfcc))


def mfcc_audio(wave, n_mfcc: int = N_MFCC) -> np.ndarray:
    """Audio twin of ``mfcc``: librosa mel (same STFT, bands, magnitude and clipping) -> librosa MFCC."""
    import librosa

    wave = as_wave(wave)
    mel = librosa.feature.melspectrogram(y=wave, sr=M.SAMPLE_RATE, n_fft=M.N_FFT, hop_length=M.HOP, center=True,
                                         pad_mode="reflect", power=1.0, n_mels=M.N_MELS, fmin=M.F_MIN,
                                         fmax=M.F_MAX, htk=False, norm="slaney")[:, : wave.size // M.HOP]
    db = np.clip(np.log(np.maximum(mel, 1e-10)), M.LN_FLOOR, M.LN_CEIL) * _DB_PER_NEPER
    return librosa.feature.mfcc(S=db, n_mfcc=positive_int(n_mfcc, "n_mfcc") + 1, dct_type=2, norm="ortho")[1:]


def ssm_audio(wave, pool: int = POOL, n_mfcc: int = N_MFCC) -> np.ndarray:
    """Audio twin of ``ssm``: (samples,) at 22.05 kHz -> (N, N) with N = ceil((samples // 256) / pool)."""
    feats = torch.from_numpy(mfcc_audio(wave, n_mfcc).astype(np.float32))
    return self_similarity(zscore(pool_time(feats, pool))).numpy()


def resample_time(x: torch.Tensor, length: int) -> torch.Tensor:
    """(C, T) -> (C, length) by averaging (shrink) or linear interpolation (stretch)."""
    if x.shape[-1] >= length:
        return F.adaptive_avg_pool1d(x.unsqueeze(0), length)[0]
    return F.interpolate(x.unsqueeze(0), size=length, mode="linear", align_corners=False)[0]
