"""An onset guard: the optimiser may change the music, not blur its attacks.

Why (issue 15): text, structure and the loop reach their targets with softer attacks than the seed's uncontrolled
clip (onset peakiness 0.69-0.76x on the fresh targets, docs/results.md), and the output anchor cannot be used for
the controls that may change every frame: it holds the mel itself, which is what they must change. This term holds
one figure of the mel instead, the peakiness of its onset envelope (the evaluation's measure, computed here on the
rendered mel rather than on the final audio with librosa), and only from below:

    guard(mel) = weight * relu(keep * P(mel_0) - P(mel))^2,   P = q95(onset) / q50(onset)

with onset_t = mean over bands of relu(mel_t - mel_{t-1}) and mel_0 the starting render (the seed's uncontrolled
clip). A clip as peaky as its seed's costs nothing, so a control is free to reach its target any way but by
smearing onsets; like the anchor it shapes the optimiser's path only (``optimise_noise``'s ``prior``).
"""
from __future__ import annotations

import torch

KEEP = 0.9  # issue 15's acceptance: peakiness at least 0.9x the uncontrolled clip's


def mel_onset_peakiness(mel: torch.Tensor) -> torch.Tensor:
    """(B, 80, T) normalised log-mel -> (B,) 95th over 50th percentile of its onset envelope."""
    onset = torch.relu(mel.float().diff(dim=-1)).mean(-2)
    high, median = torch.quantile(onset, torch.tensor([0.95, 0.5], device=onset.device), dim=-1)
    return high / median.clamp(min=1e-3)  # real clips: medians 0.006-0.015 (≈ 0.2-0.6 dB)


class OnsetGuard:
    """``guard(mel) -> (B,)`` for ``optimise_noise(prior=...)``: the hinge above, against the first render seen."""

    def __init__(self, weight: float, keep: float = KEEP, cap: float | None = None):
        self.weight, self.keep, self.cap = float(weight), float(keep), cap
        self.start: torch.Tensor | None = None

    def __call__(self, mel: torch.Tensor) -> torch.Tensor:
        peakiness = mel_onset_peakiness(mel)
        if self.start is None:
            self.start = peakiness.detach()
        below = torch.relu(self.keep * self.start - peakiness).square()
        if self.cap is None:
            return self.weight * below
        return self.weight * (below + torch.relu(peakiness - self.cap * self.start).square())
