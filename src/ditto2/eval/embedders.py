"""Embedders for FAD that need nothing beyond the main environment.

``LogMelProjection`` is for tests and CI only: a fixed random projection of the project's log-mel
frames. It has no training and no weights (the matrix comes from a seeded generator), so it is
deterministic everywhere; it measures spectral-envelope statistics, not musical quality. Real figures
use a pretrained music embedding (``ditto2.eval.musicnn.MusicnnEmbedder``).
"""
from __future__ import annotations

import numpy as np
import torch

from ditto2.audio import mel as M
from ditto2.errors import InputError
from ditto2.eval.fad import Embedder
from ditto2.features._checks import as_wave, positive_int


class LogMelProjection(Embedder):
    rate = M.SAMPLE_RATE

    def __init__(self, dim: int = 16, seed: int = 0):
        self.dim = positive_int(dim, "dim")
        self.seed = int(seed)
        # Scaled so each output has roughly the variance of one normalised mel band.
        self.matrix = np.random.default_rng(self.seed).standard_normal((M.N_MELS, self.dim)) / np.sqrt(M.N_MELS)
        self.name = f"logmel-projection-{self.dim}d-seed{self.seed}"

    def embed(self, wave) -> np.ndarray:
        wave = as_wave(wave)
        if wave.size < M.N_FFT:
            raise InputError(f"{self.name}: audio too short ({wave.size} samples; needs at least {M.N_FFT})")
        with torch.no_grad():
            mel = M.wave_to_mel(torch.from_numpy(wave)).numpy()  # (80, frames), in [-1, 1]
        return mel.T.astype(np.float64) @ self.matrix


class ClapEmbedder(Embedder):
    """The project's own music embedding: the **evaluation** CLAP model's audio tower (never the control model
    that generation optimises against), applied to 1.5 s log-mel windows with a 0.75 s hop.

    Trained on this project's data only, so it knows its instruments and styles; 256-d, one row per window.
    """

    rate = M.SAMPLE_RATE
    WINDOW, HOP = 128, 64  # mel frames

    def __init__(self, models_dir=None):
        from ditto2.models import load_clap

        self.model = load_clap("eval", models_dir)
        self.name = "clap-eval-audio-tower"

    def embed(self, wave) -> np.ndarray:
        wave = as_wave(wave)
        if wave.size < self.WINDOW * M.HOP:
            raise InputError(f"{self.name}: audio too short ({wave.size} samples; needs at least "
                             f"{self.WINDOW * M.HOP}, {self.WINDOW * M.HOP / M.SAMPLE_RATE:.2f} s)")
        with torch.no_grad():
            mel = M.wave_to_mel(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)))
            windows = mel.unfold(-1, self.WINDOW, self.HOP).permute(1, 0, 2)  # (n, 80, WINDOW)
            return self.model.embed_audio(windows).double().numpy()
