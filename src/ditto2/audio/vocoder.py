"""Vocoders: normalised log-mel -> waveform.

``Vocoder`` is the interface every synthesiser implements, so a neural vocoder can replace
Griffin-Lim without touching callers. Griffin-Lim here is the "fast" variant (Perraudin et al.
2013, momentum 0.99) on a magnitude recovered from the mel by non-negative least squares
(a few multiplicative updates from the pseudo-inverse); its initial phase comes from a fixed
seed so the same mel always gives the same audio.
"""
from __future__ import annotations

import abc

import torch

from ditto2.audio import mel as M


class Vocoder(abc.ABC):
    """Maps (batch, 80, frames) normalised log-mels to (batch, frames * 256) waveforms."""

    @abc.abstractmethod
    def __call__(self, mel: torch.Tensor) -> torch.Tensor: ...


def mel_to_linear(mel_mag: torch.Tensor, n_iter: int = 10) -> torch.Tensor:
    """Non-negative linear magnitude S with mel_basis @ S ~= mel_mag (multiplicative NNLS updates).

    Under autograd only the last update is differentiated, through its numerator basis^T @ mel_mag (the earlier
    iterates are detached): the value is exact, and the gradient is the update's local linearisation, which
    costs one update's backward instead of ``n_iter`` (a third of a DITTO-2 intensity step; docs/benchmarks.md)."""
    if n_iter < 1:
        raise ValueError("mel_to_linear needs at least one update")
    basis = M.mel_basis(mel_mag.device, mel_mag.dtype)

    def update(spec, target):
        return spec * target / torch.matmul(basis.T, torch.matmul(basis, spec)).clamp_min(1e-10)

    target = torch.matmul(basis.T, mel_mag)
    with torch.no_grad():
        pinv = torch.from_numpy(M.mel_pinv_np()).to(mel_mag.device, mel_mag.dtype)
        spec = torch.matmul(pinv, mel_mag).clamp_min(1e-6)
        for _ in range(n_iter - 1):
            spec = update(spec, target.detach())
    return update(spec, target)


class GriffinLim(Vocoder):
    def __init__(self, n_iter: int = 32, momentum: float = 0.99, seed: int = 0):
        if n_iter < 1:
            raise ValueError("Griffin-Lim needs at least one iteration")
        self.n_iter, self.momentum, self.seed = n_iter, momentum, seed

    def __call__(self, mel: torch.Tensor) -> torch.Tensor:
        squeeze = mel.dim() == 2
        mel = mel.unsqueeze(0) if squeeze else mel
        mag = mel_to_linear(M.mel_to_magnitude(mel.float()))
        wave = self._reconstruct(mag)
        return wave[0] if squeeze else wave

    def _reconstruct(self, mag: torch.Tensor) -> torch.Tensor:
        frames = mag.shape[-1]
        length = frames * M.HOP
        window = torch.hann_window(M.N_FFT, device=mag.device)
        gen = torch.Generator(device="cpu").manual_seed(self.seed)
        phase = torch.rand(mag.shape, generator=gen).to(mag.device) * 2 * torch.pi
        # STFT of a length-L signal has L // HOP + 1 centred frames; pad one frame of silence.
        mag = torch.nn.functional.pad(mag, (0, 1))
        phase = torch.nn.functional.pad(phase, (0, 1))
        angles = torch.polar(torch.ones_like(mag), phase)
        previous = torch.zeros_like(angles)
        for _ in range(self.n_iter):
            wave = torch.istft(mag * angles, M.N_FFT, M.HOP, window=window, center=True, length=length)
            rebuilt = torch.stft(wave, M.N_FFT, M.HOP, window=window, center=True, return_complex=True)
            accelerated = rebuilt - (self.momentum / (1 + self.momentum)) * previous
            previous = rebuilt
            angles = accelerated / accelerated.abs().clamp_min(1e-8)
        return torch.istft(mag * angles, M.N_FFT, M.HOP, window=window, center=True, length=length)
