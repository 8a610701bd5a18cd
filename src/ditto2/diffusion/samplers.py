"""Samplers on the EDM probability-flow ODE: small pure functions with one signature (k-diffusion style).

    sample_xxx(model, x, sigmas, *, cond=None, checkpoint=False, callback=None) -> x_at_sigmas[-1]

``model`` follows the denoiser contract ``model(x, sigma, cond) -> x0_hat`` (``edm.Denoiser``,
``edm.CFGDenoiser``, or any function). ``sigmas`` is e.g. ``karras_sigmas(n)`` (n steps, ending in 0).
There is no ``torch.no_grad()`` here: the caller decides, so DITTO can back-propagate through a whole chain.
``checkpoint=True`` wraps every model call in ``torch.utils.checkpoint`` (non-reentrant): activations are
recomputed in the backward pass, so memory is one model call plus the chain's x values.
``callback(step, sigma, x, x0_hat)`` is called after each model evaluation of a step.
Stochastic steps take their noise explicitly, so x_T -> x_0 stays a deterministic map.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import torch
from torch.utils.checkpoint import checkpoint as _checkpoint

Callback = Callable[[int, float, torch.Tensor, torch.Tensor], None] | None


def _levels(sigmas) -> list[float]:
    # Python floats: the schedule is a constant of the chain, never differentiated.
    return [float(s) for s in sigmas]


def denoise(model, x: torch.Tensor, sigma: float, cond=None, checkpoint: bool = False) -> torch.Tensor:
    """One model call at a scalar sigma, optionally checkpointed."""
    s = x.new_full((x.shape[0],), sigma)
    if checkpoint:
        return _checkpoint(model, x, s, cond, use_reentrant=False)
    return model(x, s, cond)


def sample_euler(model, x: torch.Tensor, sigmas, *, cond=None, checkpoint: bool = False,
                 callback: Callback = None) -> torch.Tensor:
    """Euler on the probability-flow ODE == deterministic DDIM (eta = 0) in the sigma parameterisation.

    Written in DDIM form x' = x0_hat + (sigma'/sigma)(x - x0_hat), which is exactly x0_hat at sigma' = 0.
    """
    levels = _levels(sigmas)
    for i, (s, s_next) in enumerate(itertools.pairwise(levels)):
        x0 = denoise(model, x, s, cond, checkpoint)
        if callback is not None:
            callback(i, s, x, x0)
        x = x0 + (s_next / s) * (x - x0)
    return x


sample_ddim = sample_euler


def sample_heun(model, x: torch.Tensor, sigmas, *, cond=None, checkpoint: bool = False,
                callback: Callback = None) -> torch.Tensor:
    """Heun's 2nd-order method (Karras et al. 2022, Alg. 1): 2 model calls per step, 1 on the step to 0."""
    levels = _levels(sigmas)
    for i, (s, s_next) in enumerate(itertools.pairwise(levels)):
        x0 = denoise(model, x, s, cond, checkpoint)
        if callback is not None:
            callback(i, s, x, x0)
        d = (x - x0) / s
        x_euler = x + (s_next - s) * d
        if s_next == 0:
            x = x_euler
            continue
        d_next = (x_euler - denoise(model, x_euler, s_next, cond, checkpoint)) / s_next
        x = x + (s_next - s) * 0.5 * (d + d_next)
    return x


def invert_ddim(model, x: torch.Tensor, sigmas, *, cond=None, checkpoint: bool = False,
                callback: Callback = None) -> torch.Tensor:
    """DDIM inversion: Euler on the ODE from low to high sigma (clean x -> x_T).

    ``sigmas`` must increase, e.g. ``karras_sigmas(n).flip(0)`` (the sampling schedule reversed, so inverting
    and then sampling with the same n use the same levels). The ODE direction is undefined at sigma = 0, so a
    step that starts at 0 evaluates the model at the next level instead.
    """
    levels = _levels(sigmas)
    if any(b <= a for a, b in itertools.pairwise(levels)):
        raise ValueError("invert_ddim needs strictly increasing sigmas")
    for i, (s, s_next) in enumerate(itertools.pairwise(levels)):
        s_eval = s if s > 0 else s_next
        x0 = denoise(model, x, s_eval, cond, checkpoint)
        if callback is not None:
            callback(i, s_eval, x, x0)
        x = x + (s_next - s) * (x - x0) / s_eval
    return x


def ancestral_step(sigma: float, sigma_next: float, eta: float = 1.0) -> tuple[float, float]:
    """(sigma_down, sigma_up) for an ancestral step: go down deterministically, add sigma_up of fresh noise."""
    if sigma_next == 0 or eta == 0:
        return sigma_next, 0.0
    up = min(sigma_next, eta * math.sqrt(sigma_next ** 2 * (sigma ** 2 - sigma_next ** 2) / sigma ** 2))
    return math.sqrt(sigma_next ** 2 - up ** 2), up


def sample_euler_ancestral(model, x: torch.Tensor, sigmas, *, noise: Sequence[torch.Tensor], eta: float = 1.0,
                           cond=None, checkpoint: bool = False, callback: Callback = None) -> torch.Tensor:
    """Euler ancestral (DDPM-like, eta 1). ``noise[i]`` (shaped like x) is the fresh noise of step i; one
    is needed for every step that does not end at sigma 0, so the map stays deterministic given the list."""
    levels = _levels(sigmas)
    needed = sum(1 for s in levels[1:] if s > 0)
    if len(noise) < needed:
        raise ValueError(f"sample_euler_ancestral needs {needed} noise tensors, got {len(noise)}")
    for i, (s, s_next) in enumerate(itertools.pairwise(levels)):
        x0 = denoise(model, x, s, cond, checkpoint)
        if callback is not None:
            callback(i, s, x, x0)
        s_down, s_up = ancestral_step(s, s_next, eta)
        x = x0 + (s_down / s) * (x - x0)
        if s_next > 0:
            x = x + s_up * noise[i]
    return x
