"""The output anchor: a trust region on the rendered mel that keeps the music where a control does not look.

Why (issue 15, measured in docs/generation.md, "Keeping the music"): the student turns small, *targeted* changes of
the noise into a stationary wash, and a wash is the cheapest way to lower any loss that asks two stretches of
music to agree (a loop's end and start, a clip and a reference it cannot copy note for note). Adam moves every
noise coordinate by about the learning rate per step, so even a loss on half a second of the clip washes out all
of it within 5-10 steps; random changes of the same size do not (peakiness 2.8 -> 2.9 at 0.34 rms). Smaller
steps, a shell projection, a trust region on the noise itself or optimising only the noise under the windows
all washed the clip as well.

The anchor adds, to the gradient's objective only, the weighted squared change of the rendered mel and of its
frame-to-frame difference against the render of the starting noise (``mel_0``, the seed's uncontrolled clip):

    anchor(mel) = sum_t w_t [mean_f (mel - mel_0)^2 + mean_f (d mel - d mel_0)^2] / sum_t w_t / ANCHOR_SCALE

with ``w_t`` from the controls (``Control.free_weights``: 0 where a control's loss acts, rising to 1 away from
it). The difference term protects onsets, which a plain L2 lets smear at little cost. A wash is far from
``mel_0`` everywhere, so it no longer pays; the frames a control asks to change stay free.
"""
from __future__ import annotations

import torch

ANCHOR_SCALE = 0.01  # as the paint losses: 1 = an RMS change of 0.1 (about 6 dB) of the normalised mel


def anchor_penalty(mel: torch.Tensor, mel_0: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(B, 80, T) mel vs the starting render (B, 80, T), per-frame weights (T,) -> (B,) penalty."""
    mel, mel_0 = mel.float(), mel_0.float()  # under bf16 autocast, changes of 0.01 would round away
    weights = weights.to(mel)
    step_weights = torch.minimum(weights[1:], weights[:-1])  # a frame difference counts where both frames do
    level = ((mel - mel_0).square().mean(-2) * weights).sum(-1) / weights.sum().clamp(min=1e-12)
    motion = ((mel.diff(dim=-1) - mel_0.diff(dim=-1)).square().mean(-2) * step_weights).sum(-1)
    return (level + motion / step_weights.sum().clamp(min=1e-12)) / ANCHOR_SCALE  # no free frame: 0
