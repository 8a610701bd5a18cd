"""Multi-resolution log-spectral distance (LSD) between a waveform and its resynthesis.

A vocoder can match the magnitude at the mel's own STFT (1024 points) and still smear phase, which shows at other
resolutions: so the distance is measured at STFT sizes other than the mel's. Per size: the RMS over frequency of
the dB difference of the power spectra, averaged over frames; both spectra are floored 80 dB below the
reference's peak, so near-silent bins cannot dominate.
"""
from __future__ import annotations

import numpy as np
import torch

LSD_SIZES = (256, 512, 2048, 4096)  # the mel's 1024 left out on purpose
FLOOR_DB = 80.0


def _power(wave: torch.Tensor, n_fft: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, dtype=wave.dtype)
    spec = torch.stft(wave, n_fft, n_fft // 4, window=window, center=True, return_complex=True)
    return spec.abs().square()


def log_spectral_distance(reference: np.ndarray | torch.Tensor, estimate: np.ndarray | torch.Tensor,
                          sizes=LSD_SIZES) -> dict[str, float]:
    """{"lsd_<n>": dB per STFT size, "lsd": their mean} for two mono waveforms (cut to the shorter)."""
    ref, est = (torch.as_tensor(np.asarray(w), dtype=torch.float64).reshape(-1) for w in (reference, estimate))
    n = min(len(ref), len(est))
    out = {}
    for size in sizes:
        p_ref, p_est = _power(ref[:n], size), _power(est[:n], size)
        floor = p_ref.max().clamp_min(1e-20) * 10 ** (-FLOOR_DB / 10)
        diff_db = 10 * (p_ref.clamp_min(floor).log10() - p_est.clamp_min(floor).log10())
        out[f"lsd_{size}"] = float(diff_db.square().mean(dim=0).sqrt().mean())
    out["lsd"] = float(np.mean([out[f"lsd_{s}"] for s in sizes]))
    return out
