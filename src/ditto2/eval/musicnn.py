"""musicnn (Pons & Serra 2019; MTT model, penultimate layer, 200-d per 3 s patch) as a FAD embedder.

musicnn needs TensorFlow 2.15 and numpy<2, which cannot live in the main venv, so it runs in a venv
of its own (``make eval-env`` makes ``.venv-tf``) through a subprocess: the waveforms go over as
.npy files in a temporary folder, ``musicnn_worker.py`` (beside this file) embeds them all with one
model load, and the embeddings come back as .npy files. Nothing is pickled.

The venv is looked up in this order: the ``venv`` argument, ``$DITTO2_TF_VENV``, ``./.venv-tf``,
then ``.venv-tf`` at the root of the source checkout.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ditto2.errors import InputError, MissingResourceError
from ditto2.eval.fad import Embedder
from ditto2.features._checks import as_wave

WORKER = Path(__file__).with_name("musicnn_worker.py")
MODELS = ("MTT_musicnn", "MSD_musicnn", "MSD_musicnn_big")
LAYERS = ("penultimate", "max_pool", "mean_pool")
RATE = 16000  # musicnn's front end


def venv_candidates(venv=None) -> list[Path]:
    if venv is not None:
        return [Path(venv)]
    env = os.environ.get("DITTO2_TF_VENV")
    checkout = Path(__file__).resolve().parents[3] / ".venv-tf"  # src/ditto2/eval -> repository root
    return [Path(env)] if env else [Path.cwd() / ".venv-tf", checkout]


def find_tf_python(venv=None) -> Path | None:
    """The TF venv's python, or None when no candidate has one."""
    for root in venv_candidates(venv):
        python = root / "bin" / "python"
        if python.is_file():
            return python
    return None


class MusicnnEmbedder(Embedder):
    rate = RATE

    def __init__(self, model: str = "MTT_musicnn", layer: str = "penultimate", *, window_s: float = 3.0,
                 hop_s: float = 1.0, venv=None, timeout_s: float | None = None):
        if model not in MODELS:
            raise InputError(f"musicnn model: expected one of {', '.join(MODELS)}, got {model!r}")
        if layer not in LAYERS:
            raise InputError(f"musicnn layer: expected one of {', '.join(LAYERS)}, got {layer!r}")
        if not 0 < hop_s <= window_s:
            raise InputError(f"hop_s: expected 0 < hop_s <= window_s ({window_s:g} s), got {hop_s!r}")
        self.model, self.layer, self.window_s, self.hop_s = model, layer, float(window_s), float(hop_s)
        self.venv, self.timeout_s = venv, timeout_s
        self.name = f"musicnn-{model}-{layer}"

    def python(self) -> Path:
        python = find_tf_python(self.venv)
        if python is None:
            looked = ", ".join(str(p) for p in venv_candidates(self.venv))
            raise MissingResourceError(
                f"the musicnn embedder needs its own TensorFlow venv, not found (looked in {looked}); "
                "run `make eval-env` once (about 1.7 GB) or set DITTO2_TF_VENV to its folder")
        return python

    def embed(self, wave) -> np.ndarray:
        return self.embed_many([wave])[0]

    def embed_many(self, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
        python = self.python()
        waves = [as_wave(w, f"musicnn input {i}") for i, w in enumerate(waves)]
        for i, wave in enumerate(waves):
            if wave.size < self.window_s * RATE:
                raise InputError(f"musicnn input {i}: {wave.size / RATE:.2f} s is shorter than one "
                                 f"{self.window_s:g} s patch")
        with tempfile.TemporaryDirectory(prefix="ditto2-musicnn-") as tmp:
            folder = Path(tmp)
            request = {"model": self.model, "layer": self.layer, "window_s": self.window_s, "hop_s": self.hop_s,
                       "count": len(waves)}
            (folder / "request.json").write_text(json.dumps(request))
            for i, wave in enumerate(waves):
                np.save(folder / f"in_{i}.npy", wave)
            self._run(python, folder)
            return [np.load(folder / f"out_{i}.npy", allow_pickle=False) for i in range(len(waves))]

    def _run(self, python: Path, folder: Path) -> None:
        # The worker must not see the main venv's packages (numpy 2 vs TF's numpy<2).
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
        proc = subprocess.run([str(python), str(WORKER), str(folder)], env=env, capture_output=True, text=True,
                              timeout=self.timeout_s, check=False)
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
            raise RuntimeError(f"musicnn worker ({python}) failed with exit code {proc.returncode} (if the venv "
                               f"is incomplete, remove it and run `make eval-env` again):\n{tail}")
