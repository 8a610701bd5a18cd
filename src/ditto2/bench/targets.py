"""The targets of ``ditto2 bench``'s tasks and the metrics that score them, plus the held-out real clips both
benches measure FAD against.

Target sets: ``tuning`` is the fixed set the defaults were chosen on; ``fresh`` is for acceptance runs: seeded
random loudness curves and the melodies of test clips after the first ``FRESH_SKIP``, never used for tuning.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ditto2 import controls as C
from ditto2 import features as F
from ditto2.audio.io import write_audio
from ditto2.controls import MelodyControl
from ditto2.data import shards
from ditto2.errors import InputError
from ditto2.features.melody_targets import Melody

TASKS = ("intensity", "melody", "structure", "inpaint", "outpaint", "loop")
INTENSITY_CURVES = {"crescendo": [-35, -15], "decrescendo": [-15, -35], "swell": [-35, -15, -35]}
TARGET_SETS = ("tuning", "fresh")
FRESH_SKIP = 32
FRESH_DB = (-40.0, -12.0)
TUNING_SEED = 7  # the curves settings are chosen on (fresh_curves of this seed); the acceptance runs use the bench's
STRUCTURES = ("ABA", "ABAB", "AABB")
INPAINT_GAP_S = (2.0, 4.0)
OUTPAINT_OVERLAP_S = 1.0
LOOP_OVERLAP_S = 0.5
# Per task: the control metrics shown (the first is plotted); seam and loop jumps are ratios to the mean jump
# between neighbouring windows inside real music (1 = as smooth as real music).
METRICS_OF_TASK = {"intensity": [("intensity_mse_db2", "intensity MSE (dB²) ↓")],
                   "melody": [("melody_accuracy", "melody accuracy ↑")],
                   "structure": [("structure_mse", "SSM MSE ↓"), ("structure_r", "SSM r ↑")],
                   "inpaint": [("context_error_db", "context error (dB) ↓"), ("seam_flux_ratio", "seam jump ↓")],
                   "outpaint": [("context_error_db", "context error (dB) ↓"), ("seam_flux_ratio", "seam jump ↓")],
                   "loop": [("loop_flux_ratio", "loop jump ↓"), ("loop_loudness_ratio", "loop level jump ↓")]}


def test_clips(data_root: str | Path, n: int, fields=("audio", "melody_pc"), skip: int = 0) -> dict[str, np.ndarray]:
    """``n`` clips of the test split (held out from every training run) in shard order, after the first ``skip``;
    with a melody field, only clips whose melody sounds in at least a quarter of the frames."""
    out: dict[str, list] = {f: [] for f in fields}
    for path in shards.shard_paths(data_root, "test"):
        data = shards.read_shard(path, fields=list(fields))
        keep = (data["melody_pc"] >= 0).mean(-1) >= 0.25 if "melody_pc" in data else np.ones(len(data[fields[0]]), bool)
        for f in fields:
            out[f].extend(data[f][keep])
        if len(out[fields[0]]) >= skip + n:
            break
    if len(out[fields[0]]) < skip + n:
        raise InputError(f"{data_root}: the test split has {len(out[fields[0]])} usable clips, fewer than "
                         f"{skip} skipped + -n {n}")
    return {f: np.stack(v[skip: skip + n]) for f, v in out.items()}


def as_float(audio: np.ndarray) -> np.ndarray:
    return (audio.astype(np.float32) / 32768.0) if audio.dtype == np.int16 else audio.astype(np.float32)


def write_reference(data_root, folder: Path, n: int) -> Path:
    """Held-out real clips (test split) as the FAD reference and the source of real seam jumps."""
    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob("*.wav"))) < n:
        for i, audio in enumerate(test_clips(data_root, n, fields=("audio",))["audio"]):
            write_audio(folder / f"real_{i:03d}.wav", as_float(audio))
    return folder


def fresh_curves(n: int, seed: int) -> list[list[float]]:
    """n random loudness curves (2-5 points in FRESH_DB dB, spread over the clip), a fixed function of seed."""
    rng = np.random.default_rng([seed, 0x1D7])
    return [np.round(rng.uniform(*FRESH_DB, size=int(rng.integers(2, 6))), 1).tolist() for _ in range(n)]


def melody_control(pitch_classes: np.ndarray):
    """The melody control of a clip's per-frame pitch classes (-1 = unvoiced), voiced frames placed at octave 4."""
    pcs = np.asarray(pitch_classes, dtype=np.int64)
    return MelodyControl(Melody(np.where(pcs >= 0, pcs + 60, -1)))


def task_controls(task: str, n: int, clips: dict, folder: Path, curves: list | None = None) -> list[list]:
    """n control lists for a task, the same for every condition (targets cycle through ``curves``, by default
    the fixed tuning set)."""
    if task == "intensity":
        curves = curves or list(INTENSITY_CURVES.values())
        return [[C.IntensityControl(F.intensity_curve(curves[i % len(curves)]))] for i in range(n)]
    if task == "structure":
        return [[C.StructureControl(F.structure_from_string(STRUCTURES[i % len(STRUCTURES)]))] for i in range(n)]
    if task == "melody":
        return [[melody_control(clips["melody_pc"][i])] for i in range(n)]
    if task == "loop":  # reference-free: the clip's end must lead back into its start
        return [[C.SelfLoopControl(LOOP_OVERLAP_S)] for _ in range(n)]
    refs = []
    for i in range(n):
        refs.append(write_audio(folder / f"ref_{i}.wav", as_float(clips["audio"][i])))
    if task == "inpaint":
        return [[C.InpaintControl(r, INPAINT_GAP_S)] for r in refs]
    if task == "outpaint":
        return [[C.OutpaintControl(r, OUTPAINT_OVERLAP_S)] for r in refs]
    raise InputError(f"unknown task {task!r} (expected one of {', '.join(TASKS)})")
