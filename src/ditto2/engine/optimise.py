"""The noise optimisation loop shared by DITTO and DITTO-2: find x_T whose rendered mel minimises the controls.

``render`` maps x_T to a mel (DITTO: the teacher's full DDIM chain; DITTO-2: the one-step student), ``objective``
maps a mel to one loss per candidate. Adam with per-candidate gradient-norm clipping, best-iterate tracking per
candidate, and an optional early stop once every candidate is below a target loss. Optionally an output anchor
(``engine.anchor``) keeps the rendered mel near the starting render where the controls leave the music free, and
either the spectral shell or the noise mix keeps the optimised noise white (``SpectralShell``, ``NoiseMix``).

Adam runs on the **unit-variance** noise eps = x_T / sigma_max, as DITTO's DDPM does on x_T ~ N(0, I): our EDM
x_T has standard deviation sigma_max (80), where the paper's learning rate would move it 80 times less.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Sequence

import torch

from ditto2.engine.anchor import anchor_penalty
from ditto2.errors import InputError

Objective = Callable[[torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]
SCHEDULES = ("constant", "cosine")
MIX_SEED = 1234  # the noise mix's permutations (a fixed function of the basis index)


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    steps: int = 70
    lr: float = 5e-3
    clip: float | None = 1.0       # max gradient norm per candidate (relative to sqrt(numel) of one x_T)
    target_loss: float | None = None  # stop once every candidate's loss is at most this
    norm_prior: float = 0.0        # weight of a penalty keeping |eps| on the Gaussian shell (0 = off)
    schedule: str = "constant"     # learning rate over the steps: "constant", or "cosine" from lr down to 0
    beta1: float = 0.9             # Adam's momentum (0.9 as published; less turns faster near a minimum)
    anchor: float = 0.0            # weight of the output anchor (engine.anchor; 0 = off)
    anchor_weights: tuple[float, ...] | None = None  # per mel frame, 0 = free .. 1 = anchored; None = all frames
    spectral_shell: bool = False   # after each step, give eps back the starting noise's power in each octave band
    noise_mix: int = 0             # optimise eps as a mix of this many white noises per latent frame (0 = eps itself)

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise InputError(f"unknown learning-rate schedule {self.schedule!r}; expected one of {list(SCHEDULES)}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 0:
            raise InputError(f"--opt-steps must be a non-negative integer, got {self.steps!r}")
        if not self.lr > 0:
            raise InputError(f"--lr must be positive, got {self.lr!r}")
        if self.clip is not None and not self.clip > 0:
            raise InputError(f"gradient clip must be positive or None, got {self.clip!r}")
        if not 0 <= self.beta1 < 1:
            raise InputError(f"Adam beta1 must lie in [0, 1), got {self.beta1!r}")
        if not self.anchor >= 0:
            raise InputError(f"anchor weight must be non-negative, got {self.anchor!r}")
        if isinstance(self.noise_mix, bool) or not isinstance(self.noise_mix, int) or self.noise_mix < 0 \
                or self.noise_mix == 1:
            raise InputError(f"noise mix: expected 0 (off) or at least 2 noises, got {self.noise_mix!r}")
        if self.noise_mix and self.spectral_shell:
            raise InputError("the noise mix and the spectral shell are two ways to keep eps white: choose one")


@dataclasses.dataclass
class OptimResult:
    x_T: torch.Tensor                 # best iterate per candidate (detached, at x_T's scale)
    best_loss: torch.Tensor           # (B,)
    history: list[dict]               # per step: total loss per candidate and each control's loss (lists)
    steps_run: int
    snapshots: dict[int, torch.Tensor] = dataclasses.field(default_factory=dict)  # steps -> best x_T so far
    adam_state: dict | None = None    # the optimiser's moments at the end, to continue from (``moments=``)


def lr_at(step: int, config: OptimConfig) -> float:
    """The learning rate of step ``step`` (0-based) of ``config.steps``: cosine takes large steps while far from
    the target and small ones to settle near it."""
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * step / max(config.steps, 1)))
    return config.lr


def norm_penalty(eps: torch.Tensor) -> torch.Tensor:
    """(B,) squared deviation of |eps| / sqrt(d) from 1: unit Gaussian noise in many dimensions sits on that shell."""
    return (eps.flatten(1).square().mean(-1).sqrt() - 1.0).square()


def _octaves(n: int, folded: bool) -> torch.Tensor:
    """Band index of each FFT bin along an axis of n samples: 0 for DC, then octaves 1, 2-3, 4-7, ...
    ``folded``: a full FFT's bins (negative frequencies fold onto positive ones), else an rfft's."""
    k = torch.arange(n)
    if folded:
        k = torch.minimum(k, n - k)
    return torch.where(k == 0, 0, torch.floor(torch.log2(k.clamp(min=1).float())).long() + 1)


class SpectralShell:
    """Keeps eps as typical as white noise band by band: its power in each octave band of the (frequency, time)
    plane of the latent, pooled over channels, is reset to the starting noise's after every step. The optimiser
    may move power between phases, channels and bins of a band, not pile it into the slow bands, where a smooth
    change of the noise (measured: random low-pass changes of the size Adam makes) turns the music into a wash."""

    def __init__(self, eps_0: torch.Tensor):
        h, w = eps_0.shape[-2:]
        along_time = _octaves(w // 2 + 1, folded=False)
        bands = _octaves(h, folded=True)[:, None] * (int(along_time.max()) + 1) + along_time[None, :]
        self.index = bands.flatten().to(eps_0.device)
        self.n_bands = int(self.index.max()) + 1
        self.target = self._band_power(eps_0)

    def _band_power(self, eps: torch.Tensor) -> torch.Tensor:
        return self._power_of(torch.fft.rfft2(eps.float()))

    def _power_of(self, spectrum: torch.Tensor) -> torch.Tensor:
        power = spectrum.abs().square().sum(1).flatten(1)  # (B, h * (w // 2 + 1)), channels pooled
        return power.new_zeros(power.shape[0], self.n_bands).index_add_(1, self.index, power)

    def project(self, eps: torch.Tensor) -> torch.Tensor:
        spectrum = torch.fft.rfft2(eps.float())
        gain = (self.target / self._power_of(spectrum).clamp(min=1e-12)).sqrt()  # (B, bands)
        gain = gain[:, self.index].view(eps.shape[0], 1, *spectrum.shape[-2:])
        return torch.fft.irfft2(spectrum * gain, s=eps.shape[-2:]).to(eps.dtype)


def _permutation(n: int, i: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(MIX_SEED + i))


class NoiseMix:
    """eps as a mix of K white noises per latent time frame: eps[..., t] = sum_k w_k(t) eps_k[..., t] / |w(t)|,
    eps_0 the starting noise and eps_k (k > 0) fixed permutations of its elements (white, and independent of it for
    practical purposes). For any fixed weights the mix is exactly white unit noise; the optimiser moves the weights
    (K per frame, starting at eps_0 alone) and so chooses among typical noises instead of adding the slow power
    that washes the music (``SpectralShell``). Deterministic: the permutations are a fixed function of k."""

    def __init__(self, eps_0: torch.Tensor, k: int):
        flat = eps_0.detach().flatten(1)
        others = [flat[:, _permutation(flat.shape[1], i).to(flat.device)].view_as(eps_0) for i in range(1, k)]
        self.basis = torch.stack([eps_0.detach(), *others], 1)  # (B, K, C, H, W)

    def start(self) -> torch.Tensor:
        """(B, K, frames) weights of the starting noise alone."""
        b, k, *_, w = self.basis.shape
        weights = self.basis.new_zeros(b, k, w, dtype=torch.float32)
        weights[:, 0] = 1.0
        return weights

    def __call__(self, weights: torch.Tensor) -> torch.Tensor:
        mixed = torch.einsum("bkchw,bkw->bchw", self.basis.to(weights.dtype), weights)
        return mixed / weights.square().sum(1).clamp(min=1e-12).sqrt()[:, None, None, :]


def _clip_per_candidate(grad: torch.Tensor, max_norm: float) -> None:
    scale = grad[0].numel() ** 0.5
    norms = grad.flatten(1).norm(dim=-1) / scale
    factor = (max_norm / (norms + 1e-12)).clamp(max=1.0)
    grad.mul_(factor.view(-1, *[1] * (grad.dim() - 1)))


class _Anchor:
    """The weighted anchor penalty of each render against the first one it sees: the render of the starting noise
    (step 0, where the penalty is 0), i.e. the seed's uncontrolled clip or, when refining, the stage before's best."""

    def __init__(self, config: OptimConfig):
        self.weight, self.mel_0 = config.anchor, None
        self.frames = None if config.anchor_weights is None else torch.tensor(config.anchor_weights)

    def __call__(self, mel: torch.Tensor) -> torch.Tensor:
        if self.mel_0 is None:
            self.mel_0 = mel.detach()
            if self.frames is None:
                self.frames = torch.ones(mel.shape[-1])
            if self.frames.numel() != mel.shape[-1]:
                raise InputError(f"anchor weights: {self.frames.numel()} frames for a mel of {mel.shape[-1]}")
        return self.weight * anchor_penalty(mel, self.mel_0, self.frames)


def optimise_noise(x_T: torch.Tensor, render: Callable[[torch.Tensor], torch.Tensor], objective: Objective,
                   config: OptimConfig, *, sigma: float = 1.0,
                   callback: Callable[[int, dict], None] | None = None, snapshots: Sequence[int] = (),
                   moments: dict | None = None,
                   prior: Callable[[torch.Tensor], torch.Tensor] | None = None) -> OptimResult:
    """Adam on eps = x_T / sigma (B, ...). Returns the best x_T per candidate over all evaluated iterates, and the
    best x_T after each step count in ``snapshots`` (one run answers "what would N steps give" for several N).

    ``moments``: an earlier run's ``adam_state`` to continue from. A fresh Adam's first steps are sign-like (every
    element moves by lr); a refinement that starts near the earlier run's minimum keeps that run's per-element
    scales instead, and descends where a fresh Adam would oscillate (docs/results.md).
    ``prior``: mel -> (B,), a term of the gradient's objective only, as the anchor (``engine.realism``)."""
    eps_0 = x_T.detach() / sigma
    mix = NoiseMix(eps_0, config.noise_mix) if config.noise_mix else None
    param = (mix.start() if mix is not None else eps_0.clone()).requires_grad_(True)  # what Adam moves
    optimiser = torch.optim.Adam([param], lr=config.lr, betas=(config.beta1, 0.999))
    if moments is not None:  # a copy: the earlier run's state stays as it was, whoever else continues it
        optimiser.load_state_dict(copy.deepcopy(moments))
        optimiser.param_groups[0].update(lr=config.lr, betas=(config.beta1, 0.999))
    best_x, best_loss = eps_0.clone(), torch.full((eps_0.shape[0],), float("inf"))
    history: list[dict] = []
    saved: dict[int, torch.Tensor] = {}
    anchor = _Anchor(config) if config.anchor else None
    shell = SpectralShell(eps_0) if config.spectral_shell else None
    for step in range(config.steps + 1):  # the last pass only evaluates the final iterate
        final = step == config.steps
        with torch.set_grad_enabled(not final):
            x = mix(param) if mix is not None else param
            mel = render(x * sigma)
            total, parts = objective(mel)
            penalty = anchor(mel) if anchor is not None and not final else None
            if prior is not None and not final:
                penalty = prior(mel) if penalty is None else penalty + prior(mel)
        loss = total.detach().float().cpu()
        record = {"step": step, "loss": loss.tolist(), **{k: v.detach().float().cpu().tolist() for k, v in parts.items()}}
        history.append(record)
        improved = loss < best_loss
        best_loss = torch.where(improved, loss, best_loss)
        best_x[improved] = x.detach()[improved]
        if step in snapshots:
            saved[step] = best_x * sigma
        if callback is not None:
            callback(step, record)
        if final or (config.target_loss is not None and bool((best_loss <= config.target_loss).all())):
            break
        optimiser.zero_grad(set_to_none=True)
        objective_total = total + config.norm_prior * norm_penalty(x) if config.norm_prior else total
        if penalty is not None:  # the best iterate is chosen on the controls alone: the anchor only shapes the path
            objective_total = objective_total + penalty
        objective_total.sum().backward()  # candidates are independent: the sum gives each its own gradient
        if config.clip is not None:
            _clip_per_candidate(param.grad, config.clip)
        optimiser.param_groups[0]["lr"] = lr_at(step, config)
        optimiser.step()
        if shell is not None:
            with torch.no_grad():
                param.copy_(shell.project(param))
    return OptimResult(best_x * sigma, best_loss, history, steps_run=step, snapshots=saved,
                       adam_state=copy.deepcopy(optimiser.state_dict()))
