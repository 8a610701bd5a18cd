"""One training loop for every model (autoencoder, teacher, students, text model).

A ``TrainTask`` says what is trained (model, loss, data, validation, samples, release); the loop
owns the rest: AdamW with warm-up, gradient clipping, EMA, bf16 autocast (CUDA, and CPUs with AMX), DDP when started
by ``torchrun`` (gloo on CPU), a progress bar with loss and throughput, a JSON-lines log,
atomic checkpoints, and resume after a kill (model, EMA, optimiser, step, RNG).
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import os
import signal
import time
from pathlib import Path
from typing import Iterator, Protocol

import torch

from ditto2.errors import InputError
from ditto2.precision import PRECISIONS, autocast_for
from ditto2.release import load_release, read_meta
from ditto2.train import checkpoint as ckpt

LAST = "last.safetensors"
BEST = "best.safetensors"  # the EMA at the best validation so far (a short EMA's last release can sit on an upswing)


@dataclasses.dataclass
class LoopConfig:
    steps: int = 10000          # total optimiser steps (a resumed run continues up to this)
    batch_size: int = 16
    lr: float = 5e-4
    warmup: int = 200
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    log_every: int = 25
    ckpt_every: int = 250
    val_every: int = 500
    sample_every: int = 0       # 0: no periodic samples
    minutes: float = 0.0        # stop (with a checkpoint) after this wall time; 0 = no limit
    seed: int = 0
    precision: str = "auto"     # bf16 | fp32 | auto (bf16 where the hardware has it fast: CUDA, AMX CPUs)

    def validate(self) -> None:
        for name in ("steps", "batch_size"):
            if getattr(self, name) <= 0:
                raise InputError(f"--{name.replace('_', '-')} must be positive, got {getattr(self, name)}")
        if self.lr <= 0:
            raise InputError(f"--lr must be positive, got {self.lr}")
        if self.precision not in PRECISIONS:
            raise InputError(f"--precision must be one of {PRECISIONS}, got {self.precision!r}")


class TrainTask(Protocol):
    name: str

    def build_model(self) -> torch.nn.Module: ...
    def config(self) -> dict: ...
    def batches(self, batch_size: int, seed: int, rank: int, world_size: int, start: int) -> Iterator:
        """Batch k (k = start, start+1, ...) must depend only on (seed, rank, k): exact resume."""
    def loss(self, model: torch.nn.Module, batch, generator: torch.Generator) -> torch.Tensor: ...
    def validate(self, ema: torch.nn.Module) -> dict: ...
    def samples(self, ema: torch.nn.Module, step: int, out_dir: Path) -> None: ...
    def release(self, ema: torch.nn.Module, path: Path, info: dict) -> None: ...


@dataclasses.dataclass
class _Dist:
    rank: int = 0
    world_size: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed(device: torch.device) -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return _Dist(torch.distributed.get_rank(), world)


def pick_device(name: str | None = None) -> torch.device:
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p.detach(), 1.0 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)


@dataclasses.dataclass
class RunState:
    step: int = 0
    hours: float = 0.0
    warm_from: int = 0  # step where the optimiser state started fresh: warm-up counts from here


def lr_at(step: int, cfg: LoopConfig, warm_from: int = 0) -> float:
    """Linear warm-up, then constant: cumulative training across sessions has no known end.
    A warm start from released weights has fresh Adam moments, so it warms up again."""
    return cfg.lr * min(1.0, (step - warm_from + 1) / max(cfg.warmup, 1))


class _StopFlag:
    """Turns SIGTERM into a clean stop with a checkpoint."""

    def __init__(self):
        self.stop = False
        with contextlib.suppress(ValueError):  # not in the main thread
            signal.signal(signal.SIGTERM, self._handler)

    def _handler(self, *_):
        self.stop = True


def run(task: TrainTask, run_dir: str | Path, cfg: LoopConfig, *, init: str | Path | None = None,
        device: str | None = None, progress: bool = True) -> dict:
    """Train until ``cfg.steps`` (or ``cfg.minutes``); returns the last logged record."""
    cfg.validate()
    run_dir = Path(run_dir)
    dev = pick_device(device)
    dist = _init_distributed(dev)
    torch.manual_seed(cfg.seed + dist.rank)
    model = task.build_model().to(dev)
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    state = _restore(run_dir, model, ema, optimizer, init)
    if dist.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps({"task": task.config(), "loop": dataclasses.asdict(cfg)}, indent=2))
    train_model = _wrap_ddp(model, dev, dist)
    batches = task.batches(cfg.batch_size, cfg.seed, dist.rank, dist.world_size, state.step)
    return _loop(task, run_dir, cfg, train_model, model, ema, optimizer, batches, state, dev, dist, progress)


def _wrap_ddp(model, dev, dist):
    if dist.world_size == 1:
        return model
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)


def _check_release_kind(path, model) -> None:
    """A warm start from a release of another kind (a teacher for a student run, ...) fails by name, not by a
    state-dict mismatch."""
    key = getattr(model, "RELEASE_KEY", "")
    config = read_meta(path).get("config", {})
    if key and key not in config:
        raise InputError(f"--init {path} is not a {key} release (its header holds {sorted(config)})")


def _restore(run_dir: Path, model, ema, optimizer, init) -> RunState:
    """Resume from run_dir/last (full state), else warm-start from ``init`` (release weights)."""
    last = run_dir / LAST
    if last.is_file():
        meta = ckpt.load_training(last, model=model, ema=ema, optimizer=optimizer)
        extra = meta["extra"]
        return RunState(meta["step"], extra.get("hours", 0.0), extra.get("warm_from", 0))
    if init:
        _check_release_kind(init, model)
        meta = load_release(init, model)
        ema.load_state_dict(model.state_dict())
        info = meta.get("info", {})
        step = int(info.get("steps", 0))
        return RunState(step, float(info.get("hours", 0.0)), warm_from=step)
    return RunState()


def _loop(task, run_dir, cfg, train_model, model, ema, optimizer, batches, state: RunState, dev, dist, progress):
    from tqdm import tqdm

    stop = _StopFlag()
    autocast = autocast_for(dev, cfg.precision)
    started, window_start, window_steps, losses = time.time(), time.time(), 0, []
    step, hours, gen = state.step, state.hours, torch.Generator(device=dev)
    bar = tqdm(total=cfg.steps, initial=step, desc=task.name, unit="step", disable=not (progress and dist.main),
               dynamic_ncols=True)
    record = {"step": step}
    while step < cfg.steps and not stop.stop:
        batch = _to_device(next(batches), dev)
        gen.manual_seed(cfg.seed * 1_000_003 + step * 7919 + dist.rank)  # noise of step k is fixed: exact resume
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, cfg, state.warm_from)
        with autocast:
            loss = task.loss(train_model, batch, gen)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        ema_update(ema, model, cfg.ema_decay)
        step, window_steps = step + 1, window_steps + 1
        losses.append(float(loss.detach()))
        if not math.isfinite(losses[-1]):
            raise RuntimeError(f"{task.name}: loss became {losses[-1]} at step {step}; the last checkpoint is kept")
        bar.update()
        timed_out = cfg.minutes > 0 and time.time() - started > cfg.minutes * 60
        if step % cfg.log_every == 0 or step == cfg.steps or timed_out:
            elapsed = time.time() - window_start
            record = {"step": step, "loss": sum(losses) / len(losses), "grad_norm": float(grad_norm),
                      "lr": lr_at(step - 1, cfg, state.warm_from), "steps_per_s": window_steps / elapsed,
                      "clips_per_s": window_steps * cfg.batch_size * dist.world_size / elapsed,
                      "hours": hours + (time.time() - started) / 3600, "time": time.time()}
            bar.set_postfix(loss=f"{record['loss']:.4f}", sps=f"{record['steps_per_s']:.2f}")
            losses, window_start, window_steps = [], time.time(), 0
            if dist.main:
                _periodic(task, run_dir, cfg, model, ema, optimizer, RunState(step, record["hours"], state.warm_from),
                          record, timed_out)
        if timed_out:
            break
    bar.close()
    record["step"] = step
    if dist.main:
        _save(run_dir, task, model, ema, optimizer, RunState(step, record.get("hours", hours), state.warm_from))
    return record


def _periodic(task, run_dir, cfg, model, ema, optimizer, state: RunState, record, force):
    step = state.step
    if cfg.val_every and (step % cfg.val_every == 0 or force):
        record.update({f"val_{k}": v for k, v in task.validate(ema).items()})
        _keep_best(task, run_dir, ema, record, state)
    with open(run_dir / "log.jsonl", "a") as log:
        log.write(json.dumps(record) + "\n")
    if step % cfg.ckpt_every == 0 or force:
        _save(run_dir, task, model, ema, optimizer, state)
    if cfg.sample_every and step % cfg.sample_every == 0:
        task.samples(ema, step, run_dir / "samples")


def _keep_best(task, run_dir: Path, ema, record: dict, state: RunState) -> None:
    """Release the EMA as BEST when its validation figure (``val_loss``, else the first ``val_`` key; lower is
    better) beats every earlier one of the run; BEST's JSON records the figure, so a resumed run continues."""
    keys = [k for k in record if k.startswith("val_")]
    if not keys:
        return
    key = "val_loss" if "val_loss" in keys else keys[0]
    meta_path = (run_dir / BEST).with_suffix(".json")
    best = json.loads(meta_path.read_text()).get("info", {}) if meta_path.is_file() else {}
    if best.get("val_key") == key and not record[key] < best.get("val_value", math.inf):
        return
    task.release(ema, run_dir / BEST, {"steps": state.step, "hours": round(state.hours, 4), "val_key": key,
                                       "val_value": record[key]})


def _save(run_dir, task, model, ema, optimizer, state: RunState):
    ckpt.save_training(run_dir / LAST, model=model, ema=ema, optimizer=optimizer, step=state.step,
                       config=task.config(), extra={"hours": state.hours, "warm_from": state.warm_from})
    task.release(ema, run_dir / "release.safetensors", {"steps": state.step, "hours": round(state.hours, 4)})


def _to_device(batch, dev):
    if torch.is_tensor(batch):
        return batch.to(dev, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to_device(v, dev) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, dev) for v in batch)
    return batch


def read_log(run_dir: str | Path) -> list[dict]:
    path = Path(run_dir) / "log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
