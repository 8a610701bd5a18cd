"""Every clip of a condition through ``Pipeline.generate``, one at a time (batch 1, so its time is the time a user
waits for one clip), timed, written with its sidecar, and kept when a bench is run again.

Two resume rules, one per bench: ``ditto2 bench`` keeps a numbered clip once its sidecar exists and checks the
folder's ``settings.json`` once (``claim_folder``); ``ditto2 bench-text`` keeps a clip whose own sidecar records the
same prompt, seed and settings, and makes the others again.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from ditto2.audio import mel as M
from ditto2.audio.io import write_audio
from ditto2.bench.conditions import Condition
from ditto2.engine import DITTO_STEPS
from ditto2.errors import InputError
from ditto2.fileio import write_json
from ditto2.report import write_generation

MAX_SEEDS = 100           # bench-text: seeds of prompt i are seed + 100 i + j, j < MAX_SEEDS
SIDECAR_VERSION = 1       # bench-text's sidecars


def generate(pipe, condition: Condition, controls: Sequence = (), *, seed: int, text=None,
             opt_steps: int | None = None, lr: float | None = None, precision: str = "auto",
             teacher_steps: int = DITTO_STEPS):
    """One clip of ``condition`` (``text``: the prompt embedding of a text-conditioned one)."""
    guidance = {} if condition.cfg is None else {"cfg_scale": condition.cfg}
    return pipe.generate(controls, method=condition.pipeline_method, model=condition.model, seed=seed,
                         decode_steps=condition.decode_steps, refine_steps=condition.refine_steps,
                         opt_steps=opt_steps, lr=lr, precision=precision, text=text, teacher_steps=teacher_steps,
                         progress=False, **guidance)


# --- ditto2 bench: numbered clips in a claimed folder ----------------------------------------------------------

def claim_folder(folder: Path, settings: dict) -> None:
    """Record a condition folder's settings, or check that its kept clips were made under the same ones: a resumed
    bench must not mix clips of other weights, targets or settings into one row."""
    path = folder / "settings.json"
    if path.is_file():
        old = json.loads(path.read_text())
        changed = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
        if changed:
            raise InputError(f"{folder}: its clips were made with other {', '.join(changed)} than this run's; "
                             "use another --out (or delete the folder)")
        return
    if any(folder.glob("clip_*.json")):
        raise InputError(f"{folder}: holds clips but no settings.json (made by an older ditto2): their settings "
                         "cannot be checked; use another --out (or delete the folder)")
    folder.mkdir(parents=True, exist_ok=True)
    write_json(path, settings)


def run_task_clips(pipe, condition: Condition, controls_per_clip: list[list], folder: Path, seed: int,
                   opt_steps: int | None, lr: float | None = None, precision: str = "auto") -> list[dict]:
    """clip_{i}.wav (seed + i) for each control list, with ``report.write_generation``'s sidecar and the timing
    beside it; returns the timing records."""
    timings = []
    for i, controls in enumerate(controls_per_clip):
        path = folder / f"clip_{i}.wav"
        if path.with_suffix(".json").is_file():  # finished clips are kept
            timings.append(json.loads(path.with_suffix(".timing.json").read_text()))
            continue
        result = generate(pipe, condition, controls, seed=seed + i, opt_steps=opt_steps, lr=lr, precision=precision)
        write_json(path.with_suffix(".timing.json"), result.timing)
        write_generation(result, [path])
        timings.append(result.timing)
    return timings


# --- ditto2 bench-text: one clip per (prompt, seed), each sidecar with its settings -----------------------------

def clip_seed(seed: int, prompt_index: int, j: int) -> int:
    return seed + MAX_SEEDS * prompt_index + j


def run_prompt_clips(make_clip: Callable, settings: dict, prompts: Sequence, seeds: int, seed: int, folder: Path,
                     bar=None) -> list[dict]:
    """p{i}_s{seed}.wav for ``seeds`` seeds of every prompt, ``make_clip(prompt, seed) -> (waveform, timing)``;
    returns one record per clip."""
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for i, prompt in enumerate(prompts):
        for j in range(seeds):
            s = clip_seed(seed, i, j)
            path = folder / f"p{i}_s{s}.wav"
            record = _kept_clip(path, prompt.text, s, settings)
            if record is None:
                wave, timing = make_clip(prompt.text, s)
                write_audio(path, wave)
                record = {"ditto2": SIDECAR_VERSION, "audio": path.name, "sample_rate": M.SAMPLE_RATE, "seed": s,
                          "prompt": prompt.text, "settings": settings, "timing": timing,
                          # the prompt is a target of every condition, the unconditional ones included:
                          # `ditto2 eval run FOLDER` scores it with the evaluation CLAP model as well
                          "targets": {"text": {"prompt": prompt.text}}}
                write_json(path.with_suffix(".json"), record)
            records.append({**record, "path": str(path), "prompt_index": i})
            if bar is not None:
                bar.update()
    return records


def _kept_clip(path: Path, prompt: str, seed: int, settings: dict) -> dict | None:
    """The sidecar of a finished clip made for this prompt, seed and settings; None if it must be made (again)."""
    sidecar = path.with_suffix(".json")
    if not (sidecar.is_file() and path.is_file()):
        return None
    try:
        record = json.loads(sidecar.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    same = record.get("prompt") == prompt and record.get("seed") == seed and record.get("settings") == settings
    return record if same and isinstance(record.get("timing"), dict) else None
