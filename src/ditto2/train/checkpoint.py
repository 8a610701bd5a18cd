"""Training checkpoints: one safetensors file per checkpoint, written atomically, never pickled.

A training checkpoint holds the model, its EMA copy, the optimiser moments and the RNG state (tensors), plus
step, configs and optimiser hyper-parameters (JSON in the safetensors header). Releases (the EMA weights and
config, for shipping) are ``ditto2.release``'s.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ditto2.errors import InputError
from ditto2.fileio import atomic_path
from ditto2.release import META_KEY, read_meta


def _flatten_optimizer(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    state = opt.state_dict()
    tensors, scalars = {}, {}
    for index, slots in state["state"].items():
        for name, value in slots.items():
            if torch.is_tensor(value):
                tensors[f"opt.{index}.{name}"] = value.contiguous()
            else:
                scalars[f"{index}.{name}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for key, value in meta["scalars"].items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_training(path: str | Path, *, model: torch.nn.Module, ema: torch.nn.Module, optimizer, step: int,
                  config: dict, extra: dict | None = None) -> Path:
    """Write everything needed to resume; the old file stays valid until the rename."""
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    tensors.update({f"ema.{k}": v.detach().contiguous() for k, v in ema.state_dict().items()})
    opt_tensors, opt_meta = _flatten_optimizer(optimizer)
    tensors.update(opt_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {"step": step, "config": config, "optimizer": opt_meta, "extra": extra or {}}
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file({k: v.cpu() for k, v in tensors.items()}, str(tmp), metadata={META_KEY: json.dumps(meta)})
    return path


def load_training(path: str | Path, *, model, ema, optimizer) -> dict:
    """Restore model, EMA, optimiser and RNG in place; returns the metadata (step, config, extra)."""
    meta = read_meta(path)
    tensors = load_file(str(path))
    _load_prefixed(model, tensors, "model.", path)
    _load_prefixed(ema, tensors, "ema.", path)
    optimizer.load_state_dict(_unflatten_optimizer(tensors, meta["optimizer"]))
    torch.set_rng_state(tensors["rng.torch"])
    return meta


def _load_prefixed(module: torch.nn.Module, tensors: dict, prefix: str, path) -> None:
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(f"{path}: the weights do not match the model config ({str(exc).splitlines()[0]})") from None
