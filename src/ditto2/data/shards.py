"""Shard files and the dataset manifest.

A shard is one ``.npz`` (no pickled objects) holding the clips of a group of pieces:

========================  ============================  ==========================================
array                     shape, dtype                  meaning
========================  ============================  ==========================================
``mel``                   (n, 80, 512) float16          normalised log-mel (see ditto2.audio.mel)
``melody_pitch``          (n, 512) int16                top-voice MIDI pitch per frame, -1 = none
``melody_pc``             (n, 512) int8                 its pitch class, -1 = none
``captions``              (n, 3) str                    caption variants written from the metadata
``meta``                  (n,) str                      JSON metadata of each clip
``audio`` (held-out)      (n, 131072) int16             the rendered clip (validation/test only)
``skipped``               (k,) str                      "piece id: reason" for pieces that failed
========================  ============================  ==========================================

Shards are written to a temporary name and renamed, so an existing ``*.npz`` is always complete:
that is what makes the build resumable. ``manifest.json`` lists the shards once all are done.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ditto2.errors import InputError, MissingResourceError
from ditto2.fileio import atomic_path, read_json

MANIFEST = "manifest.json"
FIELDS = ("mel", "melody_pitch", "melody_pc", "captions", "meta")


def write_shard(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


def read_shard(path: Path, fields=None) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            names = data.files if fields is None else [f for f in fields if f in data.files]
            return {name: data[name] for name in names}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # a truncated .npz is a bad zip
        raise InputError(f"corrupt or unreadable shard {path}: {exc}") from None


def clip_meta(shard: dict[str, np.ndarray], index: int) -> dict:
    return json.loads(str(shard["meta"][index]))


def load_manifest(root: str | Path) -> dict:
    root = Path(root)
    path = root / MANIFEST
    if not path.is_file():
        raise MissingResourceError(f"no dataset at {root}: {MANIFEST} is missing (build one with `ditto2 data build`)")
    return read_json(path)


def shard_paths(root: str | Path, split: str) -> list[Path]:
    manifest = load_manifest(root)
    if split not in manifest["splits"]:
        raise InputError(f"dataset {root} has no split {split!r} (it has {sorted(manifest['splits'])})")
    return [Path(root) / s["file"] for s in manifest["splits"][split]["shards"]]
