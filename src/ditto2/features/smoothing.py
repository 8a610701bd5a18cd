"""Savitzky-Golay smoothing as fixed kernels.

A mel feature and its audio twin go through the same kernel and the same edge rule (replicate the
edge value, scipy's mode="nearest"), so they differ only in how the raw curve is measured.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import convolve1d
from scipy.signal import savgol_coeffs


@functools.lru_cache(maxsize=None)
def savgol_kernel(window: int, order: int) -> np.ndarray:
    """Centred smoothing coefficients (use="dot": apply as a correlation, which conv1d is)."""
    if window % 2 == 0 or window <= order:
        raise ValueError(f"Savitzky-Golay window must be odd and > order, got window={window}, order={order}")
    return savgol_coeffs(window, order, use="dot").astype(np.float32)


def odd_window(frames: float, order: int, limit: int | None = None) -> int:
    """Nearest odd window >= order + 1 (at most ``limit``) for a length given in frames."""
    window = max(int(round(frames)) // 2 * 2 + 1, order + 1 + order % 2)
    if limit is not None and window > limit:
        window = limit if limit % 2 else limit - 1
    return window


def smooth_time(x: torch.Tensor, window: int, order: int) -> torch.Tensor:
    """Smooth (..., T) along the last axis; output length T, differentiable."""
    kernel = torch.from_numpy(savgol_kernel(window, order)).to(x.device, x.dtype).view(1, 1, -1)
    flat = x.reshape(-1, 1, x.shape[-1])
    half = window // 2
    # Replicate padding: level curves keep their edge value instead of mirroring it.
    padded = F.pad(flat, (half, half), mode="replicate")
    return F.conv1d(padded, kernel).reshape(x.shape)


def smooth_time_np(x: np.ndarray, window: int, order: int) -> np.ndarray:
    """numpy twin of ``smooth_time`` (same kernel, same edge rule)."""
    return convolve1d(np.asarray(x, dtype=np.float64), savgol_kernel(window, order)[::-1].astype(np.float64),
                      axis=-1, mode="nearest")


def smooth_2d_np(matrix: np.ndarray, window: int, order: int) -> np.ndarray:
    """2-D Savitzky-Golay smoothing as the separable (tensor-product) filter: rows, then columns."""
    kernel = savgol_kernel(window, order)[::-1].astype(np.float64)
    out = convolve1d(np.asarray(matrix, dtype=np.float64), kernel, axis=0, mode="nearest")
    return convolve1d(out, kernel, axis=1, mode="nearest")
