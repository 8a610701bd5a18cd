"""Issue 15's acceptance: does every control meet its target *and* stay as musical as the uncontrolled clips of the
same model and seeds? Shipped models, CLI defaults, fresh targets, n seeds per task, one run.

    .venv/bin/python studies/control_musicality.py --data data/vocoder --out runs/musicality -n 8 \
        [--tasks intensity,melody,...] [--methods ditto2,ditto] [--threads 1]

Per task, folders ``ditto2`` (``Pipeline.generate`` with its defaults, i.e. the CLI's) and, with ``--methods``,
``ditto``, each beside the uncontrolled clips of its own model and seeds (``none``: the student's, decoded as the
task's controls decode; ``none-teacher``: the teacher's DDIM samples; both assembled like the task's output), and
scored by ``ditto2 eval run`` on the final audio (control metrics, musicality, FAD against held-out test clips)
with that uncontrolled set as the baseline of the "kept" ratios. Text is also read against the same model sampled
from the same seeds conditioned on the prompt (``none-prompted``, ``none-teacher-prompted``: rows "vs prompted").
Resumable: finished clips are kept.
Writes ``summary.json`` and ``summary.md`` (the table of docs/results.md, "Control and musicality").

Targets are never the tuning ones: the bench's fresh loudness curves (``bench.targets.fresh_curves``), melodies
and references from test clips after the first ``FRESH_SKIP``, structures other than the tuning set, the text
bench's prompts (tuning: others), and long form (``--seconds 12``) after a fresh curve.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ditto2 import controls as C
from ditto2 import features as F
from ditto2 import pipeline as P
from ditto2.audio.io import write_audio
from ditto2.bench.prompts import DEFAULT_PROMPTS
from ditto2.bench.targets import (FRESH_SKIP, TUNING_SEED, as_float, fresh_curves, melody_control, test_clips,
                                  write_reference)
from ditto2.eval.reference import make_embedder
from ditto2.eval.run import evaluate
from ditto2.fileio import write_json
from ditto2.report import write_generation

SEED = 1000
LONG_SECONDS = 12.0
STRUCTURES = ("AABA", "ABAC", "ABBA", "ABCA")
TUNING_STRUCTURES = ("ABA", "ABAB", "AABB")  # the bench's; --targets tuning
TUNING_PROMPTS = ("a lively folk dance on accordion", "a quiet motet for choir", "a bright string quartet",
                  "a solemn hymn on organ", "a fast reel on fiddle", "a gentle guitar piece in a major key")
ACCEPT = {"onset_peakiness": 0.9, "notes_per_clip": 0.9, "peak_persistence": 0.95}  # kept >=; FAD kept <= 1.25
FAD_KEPT_MAX = 1.25


class Targets:
    """The fresh targets of clip i of every task."""

    def __init__(self, data: Path, n: int, folder: Path, tuning: bool = False, melody_floor: float | None = None,
                 structure_form: str = "blocks", structure_margin: float | None = None,
                 melody_window: int | None = None):
        self.clips = test_clips(data, n, skip=0 if tuning else FRESH_SKIP)
        self.curves = fresh_curves(n, TUNING_SEED if tuning else SEED)
        self.structures = TUNING_STRUCTURES if tuning else STRUCTURES
        self.melody_floor, self.melody_window = melody_floor, melody_window
        self.prompts = TUNING_PROMPTS if tuning else DEFAULT_PROMPTS
        self.structure_form, self.structure_margin = structure_form, structure_margin
        folder.mkdir(parents=True, exist_ok=True)
        self.refs = [write_audio(folder / f"ref_{i}.wav", as_float(a)) for i, a in enumerate(self.clips["audio"])]

    def intensity(self, i):
        return C.IntensityControl(F.intensity_curve(self.curves[i]))

    def melody(self, i):
        control = melody_control(self.clips["melody_pc"][i])
        if self.melody_floor is not None:  # a variant under study
            control.floor = self.melody_floor or None
        if self.melody_window is not None:
            control.window = self.melody_window
        return control

    def diagram(self, i) -> str:
        return self.structures[i % len(self.structures)]

    def structure(self, i):
        if self.structure_form == "repeats":  # a variant under study
            control = C.StructureControl.from_diagram(self.diagram(i))
        else:
            control = C.StructureControl(F.structure_from_string(self.diagram(i)))
        if self.structure_margin is not None:  # a variant under study
            control.margin, control.margin_given = self.structure_margin, True
        return control

    def controls(self, task: str, i: int) -> list:
        """The controls of clip i (``long``: those of its first clip)."""
        single = {"intensity": lambda: [self.intensity(i)], "melody": lambda: [self.melody(i)],
                  "structure": lambda: [self.structure(i)],
                  "inpaint": lambda: [C.InpaintControl(self.refs[i], (2.0, 4.0))],
                  "outpaint": lambda: [C.OutpaintControl(self.refs[i], 1.0)],
                  "loop": lambda: [C.SelfLoopControl(1.0)],
                  "oloop": lambda: [C.OutpaintControl(self.refs[i], 1.0, loop=True)],
                  "text": lambda: [C.TextControl(self.prompts[i % len(self.prompts)])],
                  "intensity+melody": lambda: [self.intensity(i), self.melody(i)],
                  "structure+intensity": lambda: [self.structure(i), self.intensity(i)],
                  "melody+structure": lambda: [self.melody(i), self.structure(i)],
                  "long": lambda: [self.intensity(i)]}
        return single[task]()


TASKS = ("intensity", "melody", "structure", "inpaint", "outpaint", "loop", "oloop", "text", "intensity+melody",
         "structure+intensity", "melody+structure", "long")


BASELINE = {"ditto2": "none", "ditto": "none-teacher"}  # the uncontrolled set of each engine's own model
# Text only: each engine's model sampled from the same seeds *conditioned* on the prompt (the model's own music for
# it, no optimisation; the teacher with its CFG): what asking for that prompt does to the music, so text's ratios
# can be read against it too.
PROMPTED = {"ditto2": "none-prompted", "ditto": "none-teacher-prompted"}


def make_clip(pipe, task: str, method: str, controls: list, seed: int, **kwargs):
    """One clip of ``method`` (``none``: the seed's uncontrolled clip from the student, decoded as the task's
    controls decode; ``none-teacher``: the teacher's DDIM sample; ``PROMPTED``: either model conditioned on the text
    control's prompt); ``kwargs`` go to the controlled generation."""
    if method in PROMPTED.values():
        model = "teacher" if method == PROMPTED["ditto"] else "ctd"
        return pipe.generate(controls, method="none", model=model, seed=seed, text=controls[0].condition,
                             decode_steps=P.default_decode_steps(controls), progress=False)
    if method in BASELINE.values():
        decode, model = P.default_decode_steps(controls), "teacher" if method == "none-teacher" else "ctd"
        kept = [] if task == "long" else controls  # assembled like the task's output (loops cut, references kept)
        return pipe.generate(kept, method="none", model=model, seed=seed, decode_steps=decode, progress=False)
    if task == "long":
        return pipe.generate_long(LONG_SECONDS, controls, method=method, seed=seed, progress=False, **kwargs)
    if PICK_OF > 1:
        return pick_candidate([pipe.generate(controls, method=method, seed=seed + 1000 * k, progress=False, **kwargs)
                               for k in range(PICK_OF)])
    return pipe.generate(controls, method=method, seed=seed, progress=False, **kwargs)


PICK_OF = 1  # --pick-of: candidates per clip (seeds seed + 1000 k), one kept by ``pick_candidate``
PICK_SLACK = 1.1  # a candidate is eligible when its control loss is within this factor of the best one's


def pick_candidate(results: list):
    """The candidate with the peakiest onsets (``engine.onsets``: the mel route of the evaluation's measure) among
    those whose control loss on the decoded mel is within PICK_SLACK of the best: a realism choice that never
    trades the target away."""
    from ditto2.engine.onsets import mel_onset_peakiness

    losses = [sum(v[0] for v in r.final_losses.values()) for r in results]
    eligible = [r for r, loss in zip(results, losses) if loss <= PICK_SLACK * min(losses) + 1e-9]
    return max(eligible, key=lambda r: float(mel_onset_peakiness(r.mel)[0]))


def run_set(pipe, targets: Targets, task: str, method: str, n: int, folder: Path, **kwargs) -> list[float]:
    """clip_i.wav for seeds SEED + i (finished clips kept); the seconds each new clip took."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        path = folder / f"clip_{i}.wav"
        if path.with_suffix(".json").is_file():
            continue
        start = time.perf_counter()
        result = make_clip(pipe, task, method, targets.controls(task, i), SEED + i, **kwargs)
        write_json(path.with_suffix(".seconds.json"), {"seconds": time.perf_counter() - start})
        write_generation(result, [path])
    return clip_seconds(folder, n)


def clip_seconds(folder: Path, n: int) -> list[float]:
    """The wall time of each clip of a set; for a set made before the times were recorded, the gaps between its
    sidecars' modification times (one set is made in one go)."""
    files = [folder / f"clip_{i}.seconds.json" for i in range(n)]
    if all(f.is_file() for f in files):
        return [json.loads(f.read_text())["seconds"] for f in files]
    times = sorted((folder / f"clip_{i}.json").stat().st_mtime for i in range(n) if (folder / f"clip_{i}.json").is_file())
    return list(np.diff(times))


def paired(scored: dict) -> dict:
    """Per measure, the median over seeds of each clip's figure over its own seed's uncontrolled clip: the n=8
    set medians swing with a few clips (notes per clip run from 4 to 30), the pairs much less."""
    base = {r["file"]: r["musicality"] for r in scored["baseline"]["per_file"]}
    out = {}
    for m in ACCEPT:
        ratios = [r["musicality"][m] / base[r["file"]][m] for r in scored["per_file"]
                  if r["file"] in base and base[r["file"]][m]]
        out[m] = float(np.median(ratios)) if ratios else None
    return out


def structure_errors(targets: Targets, folder: Path, n: int) -> dict:
    """Both structure targets' errors on each clip's final audio (means): the block target (``structure_from_string``)
    and the repetition target with its mask (``structure_repeats_from_string``), whichever the clips were made for."""
    from ditto2.audio.io import read_audio
    from ditto2.eval.controls import structure_error

    errors = {"structure_block_mse": [], "structure_repeat_mse": []}
    for i in range(n):
        wave, diagram = read_audio(folder / f"clip_{i}.wav"), targets.diagram(i)
        errors["structure_block_mse"].append(structure_error(wave, F.structure_from_string(diagram)).mse)
        target, mask = F.structure_repeats_from_string(diagram)
        errors["structure_repeat_mse"].append(structure_error(wave, target, mask=mask).mse)
    return {k: float(np.mean(v)) for k, v in errors.items()}


def summarise(task: str, method: str, scored: dict, seconds: list[float]) -> dict:
    kept = scored["kept"]
    verdict = {m: kept[m] is not None and kept[m] >= floor for m, floor in ACCEPT.items()}
    verdict["fad"] = kept["fad"] is not None and kept["fad"] <= FAD_KEPT_MAX
    return {"task": task, "method": method, "metrics": {k: v["mean"] for k, v in scored["means"].items()},
            "musicality": scored["musicality"]["median"], "baseline": scored["baseline"]["musicality"]["median"],
            "fad": scored["fad"]["fad"], "baseline_fad": scored["baseline"]["fad"]["fad"], "kept": kept,
            "passes": verdict, "paired": paired(scored),
            "seconds_per_clip": sorted(seconds)[len(seconds) // 2] if seconds else None}


def prompted_rows(pipe, targets: Targets, folder: Path, method: str, name: str, n: int, reference,
                  embedder) -> list[dict]:
    """Text's two readings against the engine's prompted set (``PROMPTED``): the prompted clips against the
    unconditional ones (what the prompt itself asks of the music), and the controlled clips against the prompted."""
    prompted = folder / PROMPTED[method]
    seconds = run_set(pipe, targets, "text", PROMPTED[method], n, prompted)
    rows = []
    for clips, base, label, times in ((prompted, folder / BASELINE[method], prompted.name, seconds),
                                      (folder / name, prompted, f"{name} vs prompted", clip_seconds(folder / name, n))):
        scored = evaluate(clips, clips / f"eval-vs-{base.name}", reference=reference, embedder=embedder, plots=False,
                          progress=False, baseline=base)
        rows.append(summarise("text", label, scored, times))
        print(markdown(rows[-1:]).splitlines()[-1], flush=True)
    return rows


SHOWN = {"intensity_mse_db2": "intensity MSE (dB²)", "melody_accuracy": "melody accuracy",
         "structure_mse": "SSM MSE", "structure_r": "SSM r", "context_error_db": "context error (dB)",
         "seam_flux_ratio": "seam jump", "seam_own_flux_ratio": "seam jump / own",
         "loop_flux_ratio": "loop jump", "loop_own_flux_ratio": "loop jump / own", "clap_score": "CLAP score"}


def markdown(rows: list[dict]) -> str:
    head = ("| task | engine | control (means) | onset peakiness (kept) | notes / 5.94 s (kept) | peak persistence "
            "(kept) | FAD (kept) | all kept | per seed: peakiness / notes / persistence | s per clip |\n"
            "|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        metrics = ", ".join(f"{SHOWN[k]} {v:.3g}" for k, v in r["metrics"].items() if k in SHOWN and v is not None)
        cells = [f"{r['musicality'][m]:.3g} ({r['kept'][m]:.2f}×)" for m in ACCEPT]
        cells.append(f"{r['fad']:.3g} ({r['kept']['fad']:.2f}×)")
        pairs = " / ".join(f"{r['paired'][m]:.2f}" for m in ACCEPT)
        seconds = "—" if r["seconds_per_clip"] is None else f"{r['seconds_per_clip']:.1f}"
        lines.append(f"| {r['task']} | {r['method']} | {metrics or '—'} | " + " | ".join(cells)
                     + f" | {'yes' if all(r['passes'].values()) else 'no'} | {pairs} | {seconds} |")
    return "\n".join(lines) + "\n"


def override_setting(item: str) -> None:
    """"OutpaintControl.anchor=10" -> that class's settings with the field replaced (a variant under study)."""
    import dataclasses

    target, _, value = item.partition("=")
    cls_name, _, field = target.partition(".")
    cls = getattr(C, cls_name)
    cls.settings = dataclasses.replace(cls.settings, **{field: json.loads(value)})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("data/full"), help="dataset whose test split gives the targets")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("-n", type=int, default=8, help="seeds per task")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--methods", default="ditto2", help="ditto2 and/or ditto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--models", default=None, help="folder with the model weights (default: shipped)")
    p.add_argument("--embedder", choices=("clap", "logmel", "musicnn"), default="clap",
                   help="FAD embedding (default: the evaluation CLAP model's audio tower)")
    p.add_argument("--targets", choices=("fresh", "tuning"), default="fresh")
    p.add_argument("--score-only", action="store_true", help="score the finished sets only, generate nothing")
    p.add_argument("--tag", default="", help="suffix of the controlled sets' folders (a variant under study)")
    p.add_argument("--generate-kwargs", type=json.loads, default={}, metavar="JSON",
                   help='extra Pipeline.generate arguments of the controlled sets, e.g. \'{"realism": 1}\'')
    p.add_argument("--set", action="append", default=[], metavar="CLASS.FIELD=VALUE",
                   help="override a control class's ControlSettings for this run, e.g. OutpaintControl.anchor=10")
    p.add_argument("--structure-form", choices=("blocks", "repeats"), default="blocks",
                   help="structure target: the block target (default, the CLI's) or the masked repetition target")
    p.add_argument("--structure-margin", type=float, default=None,
                   help="StructureControl's hinge margin for this run (0: plain L2)")
    p.add_argument("--melody-floor", type=float, default=None,
                   help="MelodyControl's floor for this run (0: DITTO's NLL)")
    p.add_argument("--melody-window", type=int, default=None,
                   help="MelodyControl's window for this run (frames either side where a target may be met)")
    p.add_argument("--realism-sigma", type=float, default=None, help="pipeline.REALISM_SIGMA for this run")
    p.add_argument("--guard-cap", type=float, default=None, help="pipeline.ONSET_GUARD_CAP for this run")
    p.add_argument("--pick-of", type=int, default=1, metavar="K",
                   help="controlled sets: K candidates per clip, the peakiest within 1.1x of the best control loss kept")
    p.add_argument("--vocoder", choices=("griffinlim", "neural"), default=None,
                   help="render every set (the uncontrolled ones too) with this vocoder (default: the CLI's)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for item in args.set:
        override_setting(item)
    if args.realism_sigma is not None:
        P.REALISM_SIGMA = args.realism_sigma
    if args.guard_cap is not None:
        P.ONSET_GUARD_CAP = args.guard_cap
    global PICK_OF
    PICK_OF = args.pick_of
    targets = Targets(args.data, args.n, args.out / "refs", tuning=args.targets == "tuning",
                      melody_floor=args.melody_floor, structure_form=args.structure_form,
                      structure_margin=args.structure_margin, melody_window=args.melody_window)
    reference = write_reference(args.data, args.out / "reference", 64)
    pipe, rows = P.Pipeline.from_pretrained(args.models, vocoder=args.vocoder), []
    embedder = make_embedder(args.embedder, 0)
    for task in args.tasks.split(","):
        folder = args.out / task
        for method in args.methods.split(","):
            name, baseline = method + args.tag, folder / BASELINE[method]
            if args.score_only and not (folder / name / f"clip_{args.n - 1}.json").is_file():
                continue  # that set was not made (e.g. DITTO for some tasks only)
            run_set(pipe, targets, task, BASELINE[method], args.n, baseline)
            if args.score_only:
                seconds = clip_seconds(folder / name, args.n)
            else:
                seconds = run_set(pipe, targets, task, method, args.n, folder / name, **args.generate_kwargs)
            scored = evaluate(folder / name, folder / name / "eval", reference=reference, embedder=embedder,
                              plots=False, progress=False, baseline=baseline)
            rows.append(summarise(task, name, scored, seconds))
            if task == "structure":
                rows[-1]["metrics"].update(structure_errors(targets, folder / name, args.n))
            print(markdown(rows[-1:]).splitlines()[-1], flush=True)
            if task == "text":
                rows += prompted_rows(pipe, targets, folder, method, name, args.n, reference, embedder)
    write_json(args.out / f"summary{args.tag}.json", {"n": args.n, "seed": SEED, "data": str(args.data),
                                                      "targets": args.targets, "embedder": args.embedder,
                                                      "generate_kwargs": args.generate_kwargs, "rows": rows})
    (args.out / f"summary{args.tag}.md").write_text(markdown(rows))
    print(json.dumps([{r["task"]: r["passes"]} for r in rows]))


if __name__ == "__main__":
    main()
