"""``ditto2 bench``: the paper's comparison on our machine. For a fixed, seeded set of targets per task, generate
with each condition (uncontrolled, DITTO, DITTO-2 with CD or CTD at several decode step counts), time every clip,
score the final audio with ``ditto2 eval run`` (independent extractors, FAD against held-out real clips, the
musicality measures of ``ditto2.eval.musicality``), and write one table (``results.json``, ``results.md``) and a
speed/quality plot (``tradeoff.png``). Each row's musicality and FAD are also given as "quality kept" ratios to the
uncontrolled row (``none-...``) of the same task and model (``kept.baseline_row``).

Conditions (``conditions.PAPER``): ``none-teacher`` (the teacher's 20-step DDIM sample), ``none-MODEL-kK``,
``ditto``, ``ditto2-MODEL-kK[-rR]`` (model ``cd``/``ctd``). Resumable: finished clips are kept, and a condition
folder made under other weights, targets or settings is refused (``runner.claim_folder``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from tqdm import tqdm

from ditto2.bench.conditions import Condition
from ditto2.bench.kept import add_kept
from ditto2.bench.markdown import paper_markdown
from ditto2.bench.plot import plot_tradeoff
from ditto2.bench.runner import claim_folder, run_task_clips
from ditto2.bench.targets import FRESH_SKIP, TARGET_SETS, fresh_curves, task_controls, test_clips, write_reference
from ditto2.bench.timing import PAPER_FIGURES, timing_summary
from ditto2.errors import InputError
from ditto2.eval.run import evaluate
from ditto2.fileio import write_json
from ditto2.models import AUTOENCODER_FILE, TEACHER_FILE, student_file, weights_path
from ditto2.pipeline import REFINE_LR_FACTOR
from ditto2.precision import resolve
from ditto2.release import file_digest


def condition_settings(pipe, condition: Condition, controls: list, *, targets: str, seed: int, precision: str,
                       opt_steps: int | None, lr: float | None) -> dict:
    """What a condition's clips depend on: the weights it runs (by digest), the targets and seeds, the precision on
    this machine and the optimiser settings in force (explicit or the pipeline's defaults)."""
    files = [AUTOENCODER_FILE, TEACHER_FILE] + ([student_file(condition.model)] if condition.model != "teacher" else [])
    optim = {}
    if condition.method != "none":
        config = pipe.optim_config(condition.method, controls, opt_steps, lr)
        optim = {k: v for k, v in dataclasses.asdict(config).items() if k != "anchor_weights"}
        optim.update(refine_steps=condition.refine_steps, refine_lr_factor=REFINE_LR_FACTOR)
    return {"targets": targets, "seed": seed, "precision": resolve(precision) if condition.method != "none" else None,
            "weights": {f: file_digest(weights_path(f, pipe.models_dir)) for f in files}, "optim": optim}


def run_bench(pipe, data_root, out_dir, *, tasks, conditions: list[Condition], n: int, n_reference: int = 64,
              seed: int = 1000, opt_steps: int | None = None, lr: float | None = None, embedder=None,
              targets: str = "tuning", precision: str = "auto", progress: bool = True) -> dict:
    """Generate, time and score every (task, condition); resumable (finished clips are kept)."""
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
        timings = run_task_clips(pipe, condition, controls, folder, seed, opt_steps, lr, precision)
        scored = evaluate(folder, folder / "eval", reference=reference, embedder=embedder, plots=False,
                          progress=False)
        means = {k: v["mean"] for k, v in scored["means"].items()}
        rows.append({"task": task, "condition": condition.name, "clips": n,
                     **timing_summary(timings, PAPER_FIGURES), "metrics": means,
                     "fad": scored.get("fad", {}).get("fad"), "musicality": scored["musicality"]["median"]})
    add_kept(rows)
    result = {"n": n, "n_reference": n_reference, "seed": seed, "opt_steps": opt_steps, "lr": lr, "targets": targets,
              "curves": curves, "precision": precision, "rows": rows}
    write_json(out_dir / "results.json", result)
    (out_dir / "results.md").write_text(paper_markdown(result))
    plot_tradeoff(result, out_dir / "tradeoff.png")
    return result
