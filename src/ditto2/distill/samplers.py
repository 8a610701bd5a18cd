"""Samplers for students: one step, and deterministic k-step decodes (k = 1..8).

Same style as ``diffusion/samplers.py``: pure functions, no ``torch.no_grad()`` inside (DITTO-2 back-propagates
through ``sample_one_step``), ``checkpoint=True`` recomputes each student call in the backward pass, and
``callback(step, sigma, x, x_next)`` is called after each student call. Nothing here draws fresh randomness:
x_T -> x_0 is a fixed function (for CD, of x_T and the pinned noise derived from the seed), so an optimised x_T
keeps its effect when it is decoded.

Decode levels: k steps visit ``karras_sigmas(k + 1)`` without its sigma_min level, i.e. sigma_max, k - 1 Karras
levels in between, then 0. A jump from sigma_min to 0 would be a wasted step (G(x, sigma_min, 0) = x).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch.utils.checkpoint import checkpoint as _checkpoint

from ditto2.errors import InputError

MAX_DECODE_STEPS = 8
Callback = Callable[[int, float, torch.Tensor, torch.Tensor], None] | None
_NOISE_STREAM = 0xD1770  # separates the re-noising streams from x_T's generator seeded with the seed itself


def check_steps(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_DECODE_STEPS:
        raise InputError(f"decode steps must be an integer from 1 to {MAX_DECODE_STEPS}, got {k!r}")
    return int(k)


def decode_sigmas(student, k: int) -> list[float]:
    """The k + 1 levels of a k-step decode, sigma_max first, 0 last."""
    k = check_steps(k)
    levels = [float(s) for s in student.karras_sigmas(k + 1)]
    return levels[:k] + [0.0]


def jump(student, x: torch.Tensor, sigma_from: float, sigma_to: float, cond=None,
         checkpoint: bool = False) -> torch.Tensor:
    """One student call G(x, sigma_from, sigma_to) at scalar levels, optionally checkpointed."""
    t, s = x.new_full((x.shape[0],), sigma_from), x.new_full((x.shape[0],), sigma_to)
    if checkpoint:
        return _checkpoint(student, x, t, s, cond, use_reentrant=False)
    return student(x, t, s, cond)


def sample_one_step(student, x_T: torch.Tensor, cond=None, *, checkpoint: bool = False,
                    callback: Callback = None) -> torch.Tensor:
    """x_0 = G(x_T, sigma_max, 0): the DITTO-2 surrogate. x_T is at sigma_max's scale (noise * sigma_max)."""
    x0 = jump(student, x_T, student.sigma_max, 0.0, cond, checkpoint)
    if callback is not None:
        callback(0, student.sigma_max, x_T, x0)
    return x0


def sample_ctd(student, x_T: torch.Tensor, k: int, cond=None, *, checkpoint: bool = False,
               callback: Callback = None) -> torch.Tensor:
    """CTM's gamma-sampler with gamma = 0: jump from level to level, no fresh noise (deterministic)."""
    x = x_T
    for i, (s, s_next) in enumerate(itertools.pairwise(decode_sigmas(student, k))):
        x_next = jump(student, x, s, s_next, cond, checkpoint)
        if callback is not None:
            callback(i, s, x, x_next)
        x = x_next
    return x


def sample_cd_multistep(student, x_T: torch.Tensor, k: int, noise: Sequence[torch.Tensor], cond=None, *,
                        checkpoint: bool = False, callback: Callback = None) -> torch.Tensor:
    """Consistency-model multistep sampling (CM Alg. 1) with the re-noising noise given: jump to 0, then
    re-noise to the next level with sqrt(s^2 - sigma_min^2) * noise[i]. ``noise`` needs k - 1 tensors
    (``pinned_noise``), so the map x_T -> x_0 is fixed."""
    levels = decode_sigmas(student, k)
    if len(noise) < len(levels) - 2:
        raise InputError(f"a {k}-step CD decode needs {len(levels) - 2} re-noising tensors, got {len(noise)}")
    x = x_T
    for i, (s, s_next) in enumerate(itertools.pairwise(levels)):
        x0 = jump(student, x, s, 0.0, cond, checkpoint)
        if callback is not None:
            callback(i, s, x, x0)
        if s_next == 0:
            return x0
        x = x0 + (s_next ** 2 - student.sigma_min ** 2) ** 0.5 * noise[i].to(x0)
    return x


def _stream_seed(seed: int, step: int) -> int:
    return int(np.random.SeedSequence([int(seed), _NOISE_STREAM, step]).generate_state(1, np.uint64)[0] >> 1)


def pinned_noise(seed: int | Sequence[int], shape: Sequence[int], k: int, *, device=None,
                 dtype=torch.float32) -> list[torch.Tensor]:
    """The k - 1 re-noising tensors of a k-step CD decode, derived from the seed (never fresh randomness).

    One seed gives tensors of ``shape``; a list of seeds gives a batch ``(len(seeds), *shape)``, each row from
    its own seed, so a sample never changes with its batch. The streams are independent of the x_T drawn from
    ``torch.Generator().manual_seed(seed)`` (``Teacher.initial_noise``).
    """
    k = check_steps(k)
    seeds = [seed] if isinstance(seed, (int, np.integer)) else list(seed)

    def draw(s: int, step: int) -> torch.Tensor:
        return torch.randn(tuple(shape), generator=torch.Generator().manual_seed(_stream_seed(s, step)))

    out = []
    for step in range(k - 1):
        rows = [draw(s, step) for s in seeds]
        out.append((rows[0] if isinstance(seed, (int, np.integer)) else torch.stack(rows)).to(device, dtype))
    return out


def sample_student(student, x_T: torch.Tensor, k: int, cond=None, *, seeds: Sequence[int] | None = None,
                   checkpoint: bool = False, callback: Callback = None) -> torch.Tensor:
    """The deterministic k-step decode for the student's method: CTD gamma = 0, or CD with noise pinned to
    ``seeds`` (one per row of x_T; required for CD with k > 1)."""
    k = check_steps(k)
    if k == 1:
        return sample_one_step(student, x_T, cond, checkpoint=checkpoint, callback=callback)
    if student.method == "ctd":
        return sample_ctd(student, x_T, k, cond, checkpoint=checkpoint, callback=callback)
    if seeds is None or len(seeds) != x_T.shape[0]:
        raise InputError(f"a {k}-step CD decode needs one seed per clip to pin its re-noising "
                         f"({x_T.shape[0]} clips, got {None if seeds is None else len(seeds)} seeds)")
    noise = pinned_noise(list(seeds), x_T.shape[1:], k, device=x_T.device, dtype=x_T.dtype)
    return sample_cd_multistep(student, x_T, k, noise, cond, checkpoint=checkpoint, callback=callback)
