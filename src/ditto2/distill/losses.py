"""Distillation losses: consistency distillation (CD, arXiv 2303.01469) and consistency trajectory
distillation (CTD, the CTM loss of arXiv 2310.02279 with its DSM term, no GAN).

Both take the online ``student`` (a ``Student``, possibly DDP-wrapped), the ``teacher`` (denoiser contract
``D(x, sigma, cond) -> x0_hat``; a ``CFGDenoiser`` bakes a guidance scale in), clean latents ``x0`` and an
explicit ``generator`` for every random choice (levels, noise), so the loss of training step k is a fixed
function of the weights. The teacher always runs under ``no_grad``.

``target`` is the stop-gradient target network. None (the default) means the online weights themselves under
stop-gradient (EMA rate 0, as in iCT/sCM): no extra copy to keep in step, exact resume. An EMA copy can be
passed instead.

The student is called exactly once through ``student`` per loss (the CTD online and DSM branches share one
batched call), so DDP sees one forward per backward; target and stop-gradient calls use the unwrapped module.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from ditto2.config import JsonConfig
from ditto2.diffusion.edm import EDMConfig, _bcast, edm_weight, training_sigmas
from ditto2.errors import InputError

SOLVERS = ("heun", "euler")
DISTANCES = ("huber", "l2")


def _check(cfg) -> None:
    if cfg.levels < 2:
        raise InputError(f"{cfg.kind}: levels must be at least 2, got {cfg.levels}")
    if cfg.solver not in SOLVERS:
        raise InputError(f"{cfg.kind}: unknown teacher solver {cfg.solver!r}; expected one of {list(SOLVERS)}")
    if cfg.distance not in DISTANCES:
        raise InputError(f"{cfg.kind}: unknown distance {cfg.distance!r}; expected one of {list(DISTANCES)}")


@dataclasses.dataclass(frozen=True)
class CDConfig(JsonConfig):
    kind = "cd"

    levels: int = 18            # N of the Karras discretisation (CM paper: 18 for CIFAR-10 with Heun)
    rho: float = 7.0
    solver: str = "heun"        # teacher ODE step t_{n+k} -> t_n: "heun" (2 calls) or "euler" (= DDIM, 1 call)
    skip: int = 1               # k: one teacher step spans k levels (LCM's skipping-step solver)
    distance: str = "huber"     # "huber": sqrt(mse + c^2) - c per sample (iCT's pseudo-Huber on the RMS scale)
    huber_c: float = 1e-3

    def __post_init__(self):
        _check(self)
        if not 1 <= self.skip < self.levels:
            raise InputError(f"cd: skip must be in [1, {self.levels - 1}], got {self.skip}")


@dataclasses.dataclass(frozen=True)
class CTDConfig(JsonConfig):
    kind = "ctd"

    levels: int = 18
    rho: float = 7.0
    solver: str = "heun"
    max_teacher_steps: int = 4  # the teacher solves t -> u in 1..this many grid steps (CTM: up to N; costly)
    distance: str = "huber"
    huber_c: float = 1e-3
    dsm_weight: float = 1.0     # weight of the denoising score-matching term on g(x_t, t, t)

    def __post_init__(self):
        _check(self)
        if not 1 <= self.max_teacher_steps < self.levels:
            raise InputError(f"ctd: max_teacher_steps must be in [1, {self.levels - 1}], got {self.max_teacher_steps}")
        if self.dsm_weight < 0:
            raise InputError(f"ctd: dsm_weight must be >= 0, got {self.dsm_weight}")


def distance(a: torch.Tensor, b: torch.Tensor, kind: str = "huber", c: float = 1e-3) -> torch.Tensor:
    """Per-sample distance: mean squared error, or pseudo-Huber on it (robust to outlier samples)."""
    mse = (a.float() - b.float()).square().flatten(1).mean(1)
    return (mse + c * c).sqrt() - c if kind == "huber" else mse


@torch.no_grad()
def teacher_step(teacher, x: torch.Tensor, t: torch.Tensor, s: torch.Tensor, cond=None,
                 solver: str = "heun") -> torch.Tensor:
    """One probability-flow ODE step of the teacher from per-sample levels t to s < t, both (B,).
    Heun falls back to Euler where s = 0 (its second slope is undefined there), as in ``sample_heun``."""
    tb, sb = _bcast(t, x), _bcast(s, x)
    d = (x - teacher(x, t, cond)) / tb
    x_euler = x + (sb - tb) * d
    if solver == "euler":
        return x_euler
    s_eval = torch.where(s > 0, s, t)
    d_next = (x_euler - teacher(x_euler, s_eval, cond)) / _bcast(s_eval, x)
    return torch.where(_bcast(s > 0, x), x + (sb - tb) * 0.5 * (d + d_next), x_euler)


def _unwrap(model: nn.Module) -> nn.Module:
    return getattr(model, "module", model)  # DDP keeps the model in .module


def _stopgrad(module: nn.Module):
    """The module with detached weights: gradients flow through its input only (CTM's G_sg)."""
    params = {k: v.detach() for k, v in module.named_parameters()}
    return lambda *args, **kwargs: torch.func.functional_call(module, params, args, kwargs)


def _randint(low: int, high, size: int, generator: torch.Generator, device) -> torch.Tensor:
    """Integers in [low, high) (high may be a tensor of per-sample bounds) from the explicit generator."""
    u = torch.rand(size, generator=generator, device=generator.device).to(device)
    return (low + (u * (torch.as_tensor(high, device=device) - low)).floor()).long()


def _noise(x0: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(x0.shape, generator=generator, device=generator.device).to(x0)


def cd_loss(student: nn.Module, teacher, x0: torch.Tensor, cond: torch.Tensor | None = None, *,
            generator: torch.Generator, config: CDConfig = CDConfig(), target: nn.Module | None = None) -> torch.Tensor:
    """d(f(x_{t_{n+k}}, t_{n+k}), f_target(x^_{t_n}, t_n)), x^_{t_n} one teacher step from x_{t_{n+k}} (CM Alg. 2).

    f(x, t) = G(x, t, 0). Levels are the N-level Karras grid sigma_max .. sigma_min (uniform over n); t_n is
    never below sigma_min, where the target is x itself by the boundary condition.
    """
    base = _unwrap(student)
    target = base if target is None else target
    grid = base.karras_sigmas(config.levels, config.rho, device=x0.device)  # descending; grid[levels] = 0
    i = _randint(0, config.levels - config.skip, x0.shape[0], generator, x0.device)
    t, s = grid[i], grid[i + config.skip]
    x_t = x0 + _bcast(t, x0) * _noise(x0, generator)
    with torch.no_grad():
        y = target(teacher_step(teacher, x_t, t, s, cond, config.solver), s, 0.0, cond)
    return distance(student(x_t, t, 0.0, cond), y, config.distance, config.huber_c).mean()


def _ctd_levels(grid: torch.Tensor, config: CTDConfig, b: int, generator: torch.Generator):
    """Grid indices t < u <= s (descending sigmas): u is m teacher steps below t (one m per batch, so the
    solver runs batched), u stays >= sigma_min, and s is uniform in [u, 0] with 0 included."""
    n = config.levels
    m = int(_randint(1, min(config.max_teacher_steps, n - 1) + 1, 1, generator, grid.device))
    i = _randint(0, n - m, b, generator, grid.device)
    j = i + m
    k = _randint(0, n + 1 - j, b, generator, grid.device) + j
    return i, j, k, m


def _dsm_levels(base, b: int, generator: torch.Generator, device) -> torch.Tensor:
    """The teacher's log-normal training distribution of sigma, inside the student's range. Without its
    high-noise share: that share mends the teacher's overall level at high sigma, while the DSM term only keeps
    the student's score knowledge (and every student so far was distilled without it)."""
    edm = dataclasses.replace(EDMConfig.from_dict(base.config.edm), high_share=0.0)
    return training_sigmas(b, edm, generator).to(device).clamp(base.sigma_min, base.sigma_max)


def ctd_loss(student: nn.Module, teacher, x0: torch.Tensor, cond: torch.Tensor | None = None, *,
             generator: torch.Generator, config: CTDConfig = CTDConfig(), target: nn.Module | None = None,
             trajectory: tuple | None = None, trajectory_weight: float = 1.0) -> torch.Tensor:
    """CTM loss + dsm_weight * DSM (+ trajectory_weight * the trajectory term).

    CTM: d(G_sg(G(x_t, t, s), s, 0), G_sg(G_sg(Solver(x_t, t -> u), u, s), s, 0)) with t > u >= s on the grid;
    both sides are mapped to 0 by the stop-gradient student, so the distance is measured on clean latents.
    DSM: EDM-weighted ||g(x_sigma, sigma, sigma) - x0||^2. g(., t, t) is the slot that the outer mix G(x, t, t) = x
    never uses; CTM trains it as a denoiser to keep the network's score knowledge (not G(x, t, 0), which the DSM
    target would pull towards the blurry posterior mean).
    Trajectory (``trajectory = (x_a, sigma_a, sigma_b, x_b, cond)`` from a ``TrajectoryBank``): the same
    distance for a jump the decodes chain, against the teacher's own ODE state x_b: CTM with u = s.
    """
    base = _unwrap(student)
    target = base if target is None else target
    b = x0.shape[0]
    grid = base.karras_sigmas(config.levels, config.rho, device=x0.device)
    i, j, k, m = _ctd_levels(grid, config, b, generator)
    t, u, s = grid[i], grid[j], grid[k]
    x_t = x0 + _bcast(t, x0) * _noise(x0, generator)

    with torch.no_grad():
        x_u = x_t
        for q in range(m):
            x_u = teacher_step(teacher, x_u, grid[i + q], grid[i + q + 1], cond, config.solver)
        y = target(target(x_u, u, s, cond), s, 0.0, cond)

    # One batched student call for every term: (inputs, from, to, cond) per segment.
    segments = [(x_t, t, s, cond)]
    if config.dsm_weight > 0:
        sigma = _dsm_levels(base, b, generator, x0.device)
        segments.append((x0 + _bcast(sigma, x0) * _noise(x0, generator), sigma, sigma, cond))
    if trajectory is not None:
        x_a, sigma_a, sigma_b, x_b, traj_cond = trajectory
        segments.append((x_a, sigma_a, sigma_b, traj_cond))
    x_in, t_in, s_in = (torch.cat([seg[n] for seg in segments]) for n in range(3))
    c_in = None if cond is None else torch.cat([seg[3] for seg in segments])
    jumped, inner = student(x_in, t_in, s_in, c_in, return_inner=True)

    # Map the CTM and trajectory jumps to 0 with the stop-gradient student (one call).
    ends = [(jumped[:b], s, cond)]
    if trajectory is not None:
        ends.append((jumped[-len(x_a):], sigma_b, traj_cond))
    est = _stopgrad(target)(*(torch.cat([e[n] for e in ends]) for n in range(2)), 0.0,
                            None if cond is None else torch.cat([e[2] for e in ends]))
    loss = distance(est[:b], y, config.distance, config.huber_c).mean()
    if config.dsm_weight > 0:
        weight = edm_weight(sigma, base.sigma_data)
        dsm = (weight * (inner[b:2 * b] - x0).float().square().flatten(1).mean(1)).mean()
        loss = loss + config.dsm_weight * dsm
    if trajectory is not None:
        with torch.no_grad():
            y_traj = target(x_b, sigma_b, 0.0, traj_cond)  # x_b itself where sigma_b = 0
        loss = loss + trajectory_weight * distance(est[b:], y_traj, config.distance, config.huber_c).mean()
    return loss
