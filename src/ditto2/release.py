"""Released weights: one safetensors file per model (fp16 where lossless enough), never pickled, written atomically,
with its config and info in the header and in a JSON file beside it.

``Pretrained`` gives each shipped model class ``from_pretrained(path)`` and ``save_pretrained(path)``: the one
place a release is read or written. A class names its header section (``RELEASE_KEY``) and how its config
becomes that section and back; training tasks add their own fields to the section (``extra``) or beside it.
Training checkpoints (optimiser state, RNG) are ``train.checkpoint``'s.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import ClassVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from ditto2.errors import InputError, MissingResourceError
from ditto2.fileio import atomic_path, write_json

META_KEY = "ditto2"


def file_digest(path: str | Path) -> str:
    """A release's identity: the first 16 hex digits of its SHA-256 (students and teachers record their parent's)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def read_meta(path: str | Path) -> dict:
    """The JSON metadata of a ditto2 safetensors file (release or training checkpoint)."""
    path = Path(path)
    if not path.is_file():
        raise MissingResourceError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = handle.metadata() or {}
    except (SafetensorError, OSError) as exc:
        raise InputError(f"corrupt or unreadable checkpoint {path}: {exc}") from None
    if META_KEY not in header:
        raise InputError(f"{path} is not a ditto2 checkpoint (no '{META_KEY}' metadata)")
    return json.loads(header[META_KEY])


def save_release(path: str | Path, module: torch.nn.Module, config: dict, info: dict | None = None,
                 half: bool = True) -> Path:
    """Shipping weights: float tensors in fp16 (or fp32); config and info in the header and in a JSON beside."""
    tensors = {}
    for key, value in module.state_dict().items():
        value = value.detach().cpu().contiguous()
        tensors[key] = value.half() if half and value.is_floating_point() else value
    meta = {"config": config, "info": info or {}}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={META_KEY: json.dumps(meta)})
    write_json(Path(path).with_suffix(".json"), meta)
    return Path(path)


def load_release(path: str | Path, module: torch.nn.Module) -> dict:
    """Load release weights into ``module`` (cast to its dtype); returns the metadata.

    Parameters the file lacks are accepted only where a submodule lists them in ``ZERO_START`` (paths that
    start at zero and leave the function unchanged, e.g. a path added to a trained net): they keep their
    initial values, so the loaded module computes what the released one did."""
    meta = read_meta(path)
    tensors = load_file(str(path))
    reference = module.state_dict()
    cast = {k: v.to(reference[k].dtype) if k in reference else v for k, v in tensors.items()}
    optional = tuple(f"{name}.{p}" if name else p for name, sub in module.named_modules()
                     for p in getattr(sub, "ZERO_START", ()))
    cast |= {k: v for k, v in reference.items() if k not in cast and k.startswith(optional)}
    try:
        module.load_state_dict(cast)
    except RuntimeError as exc:
        raise InputError(f"{path}: the weights do not match the model config ({str(exc).splitlines()[0]})") from None
    return meta


class Pretrained:
    """Mixin for ``nn.Module`` classes that ship: ``from_pretrained`` / ``save_pretrained``.

    A subclass sets ``RELEASE_KEY`` (its section of the header's config), ``RELEASE_HALF`` (fp16 weights) and
    implements ``release_section`` (its config as that section) and ``from_release_section`` (an untrained
    module of that config). A loaded model carries the file's metadata as ``release_meta``."""

    RELEASE_KEY: ClassVar[str] = ""
    RELEASE_HALF: ClassVar[bool] = True
    release_meta: dict

    def release_section(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_release_section(cls, section: dict):
        raise NotImplementedError

    @classmethod
    def from_pretrained(cls, path: str | Path):
        """The released model at ``path``: fp32 in memory, eval mode, frozen."""
        meta = read_meta(path)
        config = meta.get("config", {})
        if cls.RELEASE_KEY not in config:
            raise InputError(f"{path} is not a {cls.RELEASE_KEY} release (no {cls.RELEASE_KEY!r} config in its "
                             f"header; found {sorted(config)})")
        model = cls.from_release_section(config[cls.RELEASE_KEY])
        load_release(path, model)
        model.release_meta = meta
        return model.eval().requires_grad_(False)

    def save_pretrained(self, path: str | Path, info: dict | None = None, *, extra: dict | None = None,
                        beside: dict | None = None) -> Path:
        """Write the release: ``extra`` joins this model's config section (e.g. the data it was trained on),
        ``beside`` adds further sections (e.g. a student's distillation settings)."""
        config = {self.RELEASE_KEY: {**self.release_section(), **(extra or {})}, **(beside or {})}
        return save_release(path, self, config, info, half=self.RELEASE_HALF)

    @property
    def info(self) -> dict:
        """The release's training figures (steps, hours, ...); empty for a model built in code."""
        return getattr(self, "release_meta", {}).get("info", {})
