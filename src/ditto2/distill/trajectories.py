"""Teacher ODE trajectories recorded at the student's decode levels: the targets of CTD's trajectory term.

A k-step CTD decode chains the jumps G(x, sigma_j, sigma_{j+1}) between the levels of ``decode_sigmas(k)``.
The CTM loss trains every jump on the 18-level grid against a few teacher steps and the student's own
continuation, so what the decode chains is learnt only indirectly, and the one-step surrogate and the k-step
decodes drift apart (docs/distillation.md). The trajectory term trains exactly those jumps against the
teacher's own ODE solution from x_T: a bank of trajectories, each solved once by the teacher (Heun on a
Karras grid that passes through every decode level) and stored at those levels, then reused for many steps.
It is CTM's loss with u = s on the decode levels (the teacher solves all the way to the target level).

The bank lives in ``DATA/cache/`` beside the latents, one ``.npz`` shard per ``SHARD`` trajectories, named
by the teacher's digest and the settings, written atomically: an interrupted build resumes shard by shard,
and another teacher never reads a stale bank.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ditto2.config import JsonConfig
from ditto2.diffusion.edm import karras_sigmas
from ditto2.diffusion.samplers import sample_heun
from ditto2.errors import InputError
from ditto2.fileio import atomic_path

SHARD = 16            # trajectories per shard file
SEED_BASE = 1_000_000  # x_T seeds of the bank: far from the seeds validation and users draw (0, 1, ...)


@dataclasses.dataclass(frozen=True)
class TrajectoryConfig(JsonConfig):
    kind = "trajectories"

    size: int = 1024               # trajectories in the bank
    decode_steps: tuple = (1, 2, 4)  # the decodes whose jumps are trained; each must divide the largest
    substeps: int = 4              # teacher Heun steps between two neighbouring levels of the finest decode
    frames: int = 512              # mel frames per trajectory (whole clips, the length DITTO-2 renders)
    cond_dropout: float = 0.2      # share of trajectories on the null caption (the unconditional mode)
    batch: int = 4                 # trajectories per training step
    weight: float = 1.0            # weight of the term beside the CTM + DSM loss

    def __post_init__(self):
        steps = self.decode_steps
        if not steps or any(isinstance(k, bool) or not isinstance(k, int) or k < 1 for k in steps):
            raise InputError(f"trajectory decode steps must be positive integers, got {steps!r}")
        if any(max(steps) % k for k in steps):
            raise InputError(f"each trajectory decode step count must divide the largest ({max(steps)}), got {steps}")
        for name in ("size", "substeps", "frames", "batch"):
            if getattr(self, name) < 1:
                raise InputError(f"trajectories: {name} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.cond_dropout <= 1:
            raise InputError(f"trajectories: cond_dropout must be in [0, 1], got {self.cond_dropout}")
        if self.weight < 0:
            raise InputError(f"trajectories: weight must be >= 0, got {self.weight}")

    @property
    def finest(self) -> int:
        return max(self.decode_steps)

    def jumps(self) -> list[list[tuple[int, int]]]:
        """Per decode, its jumps as (from, to) indices into the stored levels (0 = sigma_max, finest = 0)."""
        out = []
        for k in self.decode_steps:
            stride = self.finest // k
            out.append([(j * stride, (j + 1) * stride) for j in range(k)])
        return out


def stored_levels(denoiser, finest: int) -> list[float]:
    """The levels a trajectory is stored at: the finest decode's (``decode_sigmas``), sigma_max first, 0 last."""
    sigmas = [float(s) for s in karras_sigmas(finest + 1, denoiser.sigma_min, denoiser.sigma_max)]
    return sigmas[:finest] + [0.0]


@torch.no_grad()
def solve(teacher, x_T: torch.Tensor, cond, config: TrajectoryConfig) -> torch.Tensor:
    """(B, finest + 1, ...) states of the teacher's Heun solution from x_T at the stored levels.

    The Heun grid is Karras with ``finest * substeps`` steps: its every ``substeps``-th level is a decode
    level (both are Karras ramps over the same range), so the states are read off the ODE solve itself."""
    n, s = config.finest, config.substeps
    grid = [float(v) for v in karras_sigmas(n * s + 1, teacher.sigma_min, teacher.sigma_max)]  # .., sigma_min, 0
    states, x = [x_T], x_T
    for j in range(n):
        segment = grid[j * s: (j + 1) * s + 1] if j < n - 1 else grid[j * s:]
        x = sample_heun(teacher, x, segment, cond=cond)
        states.append(x)
    return torch.stack(states, 1)


def bank_dir(data: str | Path, teacher_sha: str, guidance: float, config: TrajectoryConfig, latent_shape) -> Path:
    """The bank's folder: named by teacher, guidance, solver settings and latent shape (not by size or loss
    weights: a larger bank reuses the shards of a smaller one)."""
    key = {"teacher": teacher_sha, "guidance": guidance, "decode_steps": list(config.decode_steps), "substeps": config.substeps,
           "frames": config.frames, "cond_dropout": config.cond_dropout, "shape": list(latent_shape)}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return Path(data) / "cache" / f"trajectories-{teacher_sha}-{digest}"


class TrajectoryBank:
    """The stored trajectories in memory: ``states`` (N, L, ...) float16, ``cond`` (N, D) float32 or None,
    ``levels`` (L,) floats."""

    def __init__(self, states: np.ndarray, cond: np.ndarray | None, levels: list[float], config: TrajectoryConfig):
        self.states, self.cond, self.levels, self.config = states, cond, levels, config
        self._jumps = config.jumps()

    def __len__(self) -> int:
        return len(self.states)

    @classmethod
    def build(cls, folder: Path, teacher, config: TrajectoryConfig, latent_shape, captions: np.ndarray | None,
              progress: bool = True) -> TrajectoryBank:
        """Solve the missing shards (seeded by their index, so a resumed build equals an uninterrupted one),
        then load all of them."""
        levels = stored_levels(teacher, config.finest)
        shards = -(-config.size // SHARD)
        missing = [i for i in range(shards) if not (folder / f"shard-{i:05d}.npz").is_file()]
        for i in tqdm(missing, desc="teacher trajectories", unit="shard", disable=not progress or not missing):
            seeds = list(range(SEED_BASE + i * SHARD, SEED_BASE + (i + 1) * SHARD))
            cond = _draw_captions(captions, i, config.cond_dropout)
            x_T = torch.stack([torch.randn(tuple(latent_shape), generator=torch.Generator().manual_seed(s))
                               for s in seeds]) * teacher.sigma_max
            states = solve(teacher, x_T, None if cond is None else torch.from_numpy(cond), config)
            arrays = {"states": states.numpy().astype(np.float16), "levels": np.asarray(levels, np.float32),
                      "seeds": np.asarray(seeds, np.int64)}
            if cond is not None:
                arrays["cond"] = cond
            with atomic_path(folder / f"shard-{i:05d}.npz") as tmp:
                np.savez(tmp, **arrays)
        return cls.load(folder, config, shards)

    @classmethod
    def load(cls, folder: Path, config: TrajectoryConfig, shards: int) -> TrajectoryBank:
        states, cond, levels = [], [], None
        for i in range(shards):
            path = folder / f"shard-{i:05d}.npz"
            try:
                with np.load(path) as shard:
                    states.append(shard["states"])
                    cond.append(shard["cond"] if "cond" in shard else None)
                    levels = [float(v) for v in shard["levels"]]
            except (KeyError, ValueError, OSError, zipfile.BadZipFile) as e:
                raise InputError(f"trajectory shard {path} is damaged ({e}); delete it to rebuild it") from e
        if any(c is None for c in cond) and not all(c is None for c in cond):
            raise InputError(f"trajectory bank {folder} mixes conditional and unconditional shards; delete it")
        joined = None if cond[0] is None else np.concatenate(cond)[: config.size]
        return cls(np.concatenate(states)[: config.size], joined, levels, config)

    def draw(self, generator: torch.Generator, device) -> tuple[torch.Tensor, ...]:
        """A training batch from the explicit generator: x_a, sigma_a, sigma_b, x_b, cond (None if
        unconditional). Each trajectory gets one decode (uniform), then one of that decode's jumps (uniform):
        every decode weighs the same, so the one-step surrogate's jump is a third of the draws at (1, 2, 4)."""
        b = self.config.batch
        u = torch.rand(3, b, generator=generator, device=generator.device).cpu()
        rows = (u[0] * len(self)).long().clamp_max(len(self) - 1).numpy()
        pairs = []
        for i in range(b):
            jumps = self._jumps[min(int(u[1, i] * len(self._jumps)), len(self._jumps) - 1)]
            pairs.append(jumps[min(int(u[2, i] * len(jumps)), len(jumps) - 1)])
        a_idx, b_idx = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
        states = self.states[rows]
        x_a = torch.from_numpy(states[np.arange(b), a_idx].astype(np.float32)).to(device)
        x_b = torch.from_numpy(states[np.arange(b), b_idx].astype(np.float32)).to(device)
        levels = torch.tensor(self.levels, dtype=torch.float32, device=device)
        cond = None if self.cond is None else torch.from_numpy(self.cond[rows]).to(device)
        return x_a, levels[a_idx], levels[b_idx], x_b, cond


def _draw_captions(captions: np.ndarray | None, shard: int, dropout: float) -> np.ndarray | None:
    """One caption embedding per trajectory from the training captions (N, variants, D), seeded by the shard;
    a ``dropout`` share become the null caption (zeros), as in training. None: an unconditional teacher."""
    if captions is None:
        return None
    rng = np.random.default_rng([0x7AAC, shard])
    clips = rng.integers(0, captions.shape[0], SHARD)
    variants = rng.integers(0, captions.shape[1], SHARD)
    cond = captions[clips, variants].astype(np.float32)
    cond[rng.random(SHARD) < dropout] = 0.0
    return cond
