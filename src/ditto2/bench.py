"""``ditto2 bench``: the paper's comparison on our machine. For a fixed, seeded set of targets per task, generate
with each condition (uncontrolled, DITTO, DITTO-2 with CD or CTD at several decode step counts), time every clip,
score the final audio with ``ditto2 eval run`` (independent extractors, FAD against held-out real clips, the
musicality measures of ``ditto2.eval.musicality``), and write one table (``results.json``, ``results.md``) and a
speed/quality plot. Each row's musicality and FAD are also given as "quality kept" ratios to the uncontrolled row
(``none-...``) of the same task and model (``baseline_row``).

Conditions are named ``none-<model>-k<K>``, ``ditto``, ``ditto2-<model>-k<K>`` (model ``cd``/``ctd``;
``none-teacher`` is the teacher's 20-step DDIM sample). Each clip is generated alone (batch 1), so its time is
the time a user waits for one clip.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from ditto2.audio import mel as M
from ditto2.audio.io import write_audio
from ditto2.distill.samplers import check_steps
from ditto2.errors import InputError
from ditto2.fileio import write_json

TASKS = ("intensity", "melody", "structure", "inpaint", "outpaint", "loop")
INTENSITY_CURVES = {"crescendo": [-35, -15], "decrescendo": [-15, -35], "swell": [-35, -15, -35]}
# Target sets: "tuning" is the fixed set the defaults were chosen on; "fresh" is for acceptance runs: seeded
# random loudness curves and the melodies of test clips after the first FRESH_SKIP, never used for tuning.
TARGET_SETS = ("tuning", "fresh")
FRESH_SKIP = 32
FRESH_DB = (-40.0, -12.0)
STRUCTURES = ("ABA", "ABAB", "AABB")
INPAINT_GAP_S = (2.0, 4.0)
OUTPAINT_OVERLAP_S = 1.0
LOOP_OVERLAP_S = 0.5


def parse_student_condition(parts: list[str], methods) -> tuple[str, str, int] | None:
    """["ditto2", "ctd", "k4"] -> ("ditto2", "ctd", 4) for a method in ``methods``; None if it is not that form."""
    if len(parts) != 3 or parts[0] not in methods or parts[1] not in ("cd", "ctd") or parts[2][:1] != "k":
        return None
    try:
        return parts[0], parts[1], check_steps(int(parts[2][1:]))
    except (ValueError, InputError):
        return None


def _refine_suffix(part: str) -> int | None:
    """"r4" -> 4 (refinement steps through the decode); None if it is not that form."""
    if part[:1] != "r" or not part[1:].isdecimal() or int(part[1:]) < 1:
        return None
    return int(part[1:])


@dataclasses.dataclass(frozen=True)
class Condition:
    method: str          # none | ditto | ditto2
    model: str           # teacher | cd | ctd
    decode_steps: int
    refine_steps: int = 0  # DITTO-2: Adam steps through the k-step decode after the surrogate

    @property
    def name(self) -> str:
        if self.method == "ditto":
            return "ditto"
        name = f"{self.method}-{self.model}" + ("" if self.model == "teacher" else f"-k{self.decode_steps}")
        return name + (f"-r{self.refine_steps}" if self.refine_steps else "")

    @classmethod
    def parse(cls, text: str) -> Condition:
        parts = text.split("-")
        if parts == ["ditto"]:
            return cls("ditto", "teacher", 20)
        if parts == ["none", "teacher"]:
            return cls("none", "teacher", 20)
        refine = _refine_suffix(parts[-1]) if len(parts) == 4 and parts[0] == "ditto2" else None
        student = parse_student_condition(parts[:3] if refine else parts, ("none", "ditto2"))
        if student is not None and (refine is None or student[2] > 1):
            return cls(*student, refine_steps=refine or 0)
        raise InputError(f"condition {text!r}: expected ditto, none-teacher, none-MODEL-kK, ditto2-MODEL-kK or "
                         "ditto2-MODEL-kK-rR (MODEL cd or ctd, K 1-8, R refinement steps through a K > 1 decode), "
                         "e.g. ditto2-ctd-k4")


def test_clips(data_root: str | Path, n: int, fields=("audio", "melody_pc"), skip: int = 0) -> dict[str, np.ndarray]:
    """``n`` clips of the test split (held out from every training run) in shard order, after the first ``skip``;
    with a melody field, only clips whose melody sounds in at least a quarter of the frames."""
    from ditto2.data import shards

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


def fresh_curves(n: int, seed: int) -> list[list[float]]:
    """n random loudness curves (2-5 points in FRESH_DB dB, spread over the clip), a fixed function of seed."""
    rng = np.random.default_rng([seed, 0x1D7])
    return [np.round(rng.uniform(*FRESH_DB, size=int(rng.integers(2, 6))), 1).tolist() for _ in range(n)]


def melody_control(pitch_classes: np.ndarray):
    """The melody control of a clip's per-frame pitch classes (-1 = unvoiced), voiced frames placed at octave 4."""
    from ditto2.controls import MelodyControl
    from ditto2.features.melody_targets import Melody

    pcs = np.asarray(pitch_classes, dtype=np.int64)
    return MelodyControl(Melody(np.where(pcs >= 0, pcs + 60, -1)))


def task_controls(task: str, n: int, clips: dict, folder: Path, curves: list | None = None) -> list[list]:
    """n control lists for a task, the same for every condition (targets cycle through ``curves``, by default
    the fixed tuning set)."""
    from ditto2 import controls as C
    from ditto2 import features as F

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


def run_condition(pipe, condition: Condition, controls_per_clip: list[list], folder: Path, seed: int,
                  opt_steps: int | None, lr: float | None = None, precision: str = "auto") -> list[dict]:
    """Generate each clip of a task under one condition; returns its timing records."""
    from ditto2.report import write_generation

    timings = []
    for i, controls in enumerate(controls_per_clip):
        path = folder / f"clip_{i}.wav"
        if path.with_suffix(".json").is_file():  # resumable: finished clips are kept
            timings.append(json.loads(path.with_suffix(".timing.json").read_text()))
            continue
        result = pipe.generate(controls, method=condition.method, model=condition.model, seed=seed + i,
                               decode_steps=condition.decode_steps, refine_steps=condition.refine_steps,
                               opt_steps=opt_steps, lr=lr, precision=precision, progress=False)
        write_json(path.with_suffix(".timing.json"), result.timing)
        write_generation(result, controls, [path])
        timings.append(result.timing)
    return timings


def condition_settings(pipe, condition: Condition, controls: list, *, targets: str, seed: int, precision: str,
                       opt_steps: int | None, lr: float | None) -> dict:
    """What a condition's clips depend on: the weights it runs (by digest), the targets and seeds, the precision on
    this machine and the optimiser settings in force (explicit or the pipeline's defaults)."""
    from ditto2.models import AUTOENCODER_FILE, TEACHER_FILE, student_file, weights_path
    from ditto2.pipeline import REFINE_LR_FACTOR
    from ditto2.precision import resolve
    from ditto2.train.teacher import file_digest

    files = [AUTOENCODER_FILE, TEACHER_FILE] + ([student_file(condition.model)] if condition.model != "teacher" else [])
    optim = {}
    if condition.method != "none":
        config = pipe.optim_config(condition.method, controls, opt_steps, lr)
        optim = {k: v for k, v in dataclasses.asdict(config).items() if k != "anchor_weights"}
        optim.update(refine_steps=condition.refine_steps, refine_lr_factor=REFINE_LR_FACTOR)
    return {"targets": targets, "seed": seed, "precision": resolve(precision) if condition.method != "none" else None,
            "weights": {f: file_digest(weights_path(f, pipe.models_dir)) for f in files}, "optim": optim}


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


def timing_summary(timings: list[dict]) -> dict:
    totals = [t["total_s"] for t in timings]
    stages = sorted({s for t in timings for s in t["stages_s"]})
    return {"seconds_per_clip": float(np.median(totals)), "real_time_factor": float(np.median(
        [t["real_time_factor"] for t in timings])), "peak_rss_mb": max(t["peak_rss_mb"] for t in timings),
        "stages_s": {s: float(np.median([t["stages_s"].get(s, 0.0) for t in timings])) for s in stages}}


def write_reference(data_root, folder: Path, n: int) -> Path:
    """Held-out real clips (test split) as the FAD reference and the source of real seam jumps."""
    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob("*.wav"))) < n:
        for i, audio in enumerate(test_clips(data_root, n, fields=("audio",))["audio"]):
            write_audio(folder / f"real_{i:03d}.wav", as_float(audio))
    return folder


def run_bench(pipe, data_root, out_dir, *, tasks, conditions: list[Condition], n: int, n_reference: int = 64,
              seed: int = 1000, opt_steps: int | None = None, lr: float | None = None, embedder=None,
              targets: str = "tuning", precision: str = "auto", progress: bool = True) -> dict:
    """Generate, time and score every (task, condition); resumable (finished clips are kept)."""
    from tqdm import tqdm

    from ditto2.eval.run import evaluate

    if targets not in TARGET_SETS:
        raise InputError(f"--targets must be one of {', '.join(TARGET_SETS)}, got {targets!r}")
    out_dir = Path(out_dir)
    reference = write_reference(data_root, out_dir / "reference", n_reference)
    fresh = targets == "fresh"
    clips = test_clips(data_root, n, skip=FRESH_SKIP if fresh else 0)
    curves = fresh_curves(n, seed) if fresh else None
    rows = []
    jobs = [(t, c) for t in tasks for c in conditions]
    controls_of = {}
    for task, condition in jobs:  # every folder is checked before the first clip is made
        (out_dir / task).mkdir(parents=True, exist_ok=True)
        controls_of.setdefault(task, task_controls(task, n, clips, out_dir / task, curves))
        claim_folder(out_dir / task / condition.name, condition_settings(
            pipe, condition, controls_of[task][0], targets=targets, seed=seed, precision=precision,
            opt_steps=opt_steps, lr=lr))
    for task, condition in tqdm(jobs, desc="bench", unit="condition", disable=not progress):
        folder, controls = out_dir / task / condition.name, controls_of[task]
        timings = run_condition(pipe, condition, controls, folder, seed, opt_steps, lr, precision)
        scored = evaluate(folder, folder / "eval", reference=reference, embedder=embedder, plots=False,
                          progress=False)
        means = {k: v["mean"] for k, v in scored["means"].items()}
        rows.append({"task": task, "condition": condition.name, "clips": n, **timing_summary(timings),
                     "metrics": means, "fad": scored.get("fad", {}).get("fad"),
                     "musicality": scored["musicality"]["median"]})
    add_kept(rows)
    result = {"n": n, "n_reference": n_reference, "seed": seed, "opt_steps": opt_steps, "lr": lr, "targets": targets,
              "curves": curves, "precision": precision, "rows": rows}
    write_json(out_dir / "results.json", result)
    (out_dir / "results.md").write_text(results_markdown(result))
    plot_tradeoff(result, out_dir / "tradeoff.png")
    return result


def baseline_row(row: dict, rows: list[dict]) -> dict | None:
    """The uncontrolled row of the same task and model: with the same decode steps if there is one, else the
    first listed; None if the bench ran no uncontrolled condition of that model."""
    target = Condition.parse(row["condition"])
    conditions = {r["condition"]: Condition.parse(r["condition"]) for r in rows}
    uncontrolled = [r for r in rows if r["task"] == row["task"] and conditions[r["condition"]].method == "none"
                    and conditions[r["condition"]].model == target.model]
    uncontrolled.sort(key=lambda r: conditions[r["condition"]].decode_steps != target.decode_steps)  # stable sort
    return uncontrolled[0] if uncontrolled else None


def _figures(row: dict) -> dict:
    return {**row["musicality"], "fad": row["fad"]}


def add_kept(rows: list[dict]) -> None:
    """Each row's "baseline" (the uncontrolled condition it is compared with) and its "kept" ratios to it."""
    from ditto2.eval.musicality import kept

    for row in rows:
        base = baseline_row(row, rows)
        row["baseline"] = base["condition"] if base else None
        row["kept"] = kept(_figures(row), _figures(base)) if base else None


# Per task: the control metrics shown (the first is plotted); seam and loop jumps are ratios to the mean jump
# between neighbouring windows inside real music (1 = as smooth as real music).
METRICS_OF_TASK = {"intensity": [("intensity_mse_db2", "intensity MSE (dB²) ↓")],
                   "melody": [("melody_accuracy", "melody accuracy ↑")],
                   "structure": [("structure_mse", "SSM MSE ↓")],
                   "inpaint": [("context_error_db", "context error (dB) ↓"), ("seam_flux_ratio", "seam jump ↓")],
                   "outpaint": [("context_error_db", "context error (dB) ↓"), ("seam_flux_ratio", "seam jump ↓")],
                   "loop": [("loop_flux_ratio", "loop jump ↓"), ("loop_loudness_ratio", "loop level jump ↓")]}


def _fmt(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _with_kept(row: dict, figure: str) -> str:
    """A figure with its "kept" ratio to the uncontrolled row in brackets (none without a baseline)."""
    ratio = (row["kept"] or {}).get(figure)
    return _fmt(_figures(row)[figure]) + ("" if ratio is None else f" ({_fmt(ratio, 2)})")


def results_markdown(result: dict) -> str:
    from ditto2.eval.musicality import MEASURES, TITLES

    lines = [f"{result['n']} clips per row (one 5.94 s clip each, seeds from {result['seed']}); FAD against "
             f"{result['n_reference']} held-out real clips. Real-time factor = audio s / wall s (> 1 is faster "
             "than real time). Musicality: median over the clips (docs/evaluation.md). In brackets, kept = this row "
             "/ the uncontrolled row of the same model (`baseline` in results.json; FAD: > 1 is further from real).",
             ""]
    figures = ["fad", *MEASURES]
    for task in dict.fromkeys(r["task"] for r in result["rows"]):
        metrics = METRICS_OF_TASK[task]
        titles = " | ".join([title for _, title in metrics] + [f"{TITLES[f]} (kept)" for f in figures])
        lines += [f"### {task}", "", f"| condition | s / clip | real-time factor | {titles} | peak RSS (MB) |",
                  "|---|---|---|" + "---|" * (len(metrics) + len(figures)) + "---|"]
        for r in (r for r in result["rows"] if r["task"] == task):
            cells = [_fmt(r["metrics"].get(key)) for key, _ in metrics] + [_with_kept(r, f) for f in figures]
            lines.append(f"| {r['condition']} | {r['seconds_per_clip']:.2f} | {r['real_time_factor']:.2f} | "
                         f"{' | '.join(cells)} | {r['peak_rss_mb']:.0f} |")
        lines.append("")
    return "\n".join(lines)


def plot_tradeoff(result: dict, path) -> Path:
    """Seconds per clip (log) against each task's control metric, one point per condition."""
    from ditto2.plots import _pyplot, save_figure

    plt = _pyplot()
    tasks = list(dict.fromkeys(r["task"] for r in result["rows"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        key, title = METRICS_OF_TASK[task][0]
        for r in (r for r in result["rows"] if r["task"] == task and r["metrics"].get(key) is not None):
            ax.scatter(r["seconds_per_clip"], r["metrics"][key])
            ax.annotate(r["condition"], (r["seconds_per_clip"], r["metrics"][key]), fontsize=6)
        ax.axvline(M.CLIP_SAMPLES / M.SAMPLE_RATE, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("seconds per clip (dashed: real time)", fontsize=7)
        ax.set_title(f"{task}: {title}", fontsize=8)
    return save_figure(fig, path)
