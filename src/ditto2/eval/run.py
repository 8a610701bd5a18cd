"""``ditto2 eval run``: score a folder of generated audio against the targets recorded beside each file.

Every generated file ``X.wav`` (any audio extension) may have a sidecar ``X.json`` written by generation;
its ``targets`` object holds one entry per control (format: the docstring of ``ditto2.controls.base``).
Relative paths inside a sidecar are relative to the sidecar's folder. Each entry is scored on the final
audio with the instruments of ``ditto2.eval`` (never the mel features the optimiser saw):

=============  ================================================================================
key            metrics (per file)
=============  ================================================================================
intensity      ``intensity_mse_db2``, ``intensity_pearson`` (None for a flat curve)
melody         ``melody_accuracy`` (basic-pitch top note vs the pitch classes);
               ``melody_raw_chroma`` too when the entry also has ``f0_hz`` (optional)
structure      ``structure_mse``, ``structure_r``
context        ``context_error_db``: mean |Δ dB log-mel| of ``audio`` (default: the file itself)
               against ``reference`` where ``mask`` / ``reference_mask`` are set
seams          ``seam_loudness_db``, ``seam_flux_db``, their ratios to the mean jump inside real
               music and percentiles among those jumps (mean over the file's seams)
loop           the same ``loop_*`` measures at the seam of the audio played twice (``loop_wave``)
text           not scored yet (see ``SCORERS``)
=============  ================================================================================

Every generated file also gets the musicality measures of ``ditto2.eval.musicality`` (onset peakiness,
transcribed notes per 5.94 s, spectral peak persistence), on the generated clip (the sidecar's ``clip``
before assembly when it names one, so a real reference pasted around it does not count), summarised per set
as medians and quartiles. With ``baseline`` (a folder of uncontrolled clips of the same model and seeds) the
same figures of that set, its FAD, and the "quality kept" ratios (this set / the uncontrolled set) are added.

Files without a sidecar (or without ``targets``) only enter the FAD. Audio files that a sidecar names
(a context's ``audio`` or ``reference``) are inputs, not generated clips: they are left out of the
scored set and of the FAD. The whole folder is validated (sidecars parsed, referenced files found)
before any slow work, and every ``InputError`` names the file it is about.

**Extension point.** ``SCORERS`` maps a sidecar key to a ``Scorer``; a key that some control writes
(``Control.sidecar_keys``, gathered in ``KNOWN_KEYS``) without a scorer is accepted and listed under
``unscored`` for each file. The CLAP text evaluator plugs in with
``register_scorer(TextScorer())`` (``key = "text"``), nothing else changes.
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from ditto2.audio import mel as M
from ditto2.controls import CONTROLS
from ditto2.errors import InputError
from ditto2.fileio import write_json

KNOWN_KEYS = tuple(sorted({key for control in CONTROLS for key in control.sidecar_keys}))  # what generation writes


# --- shared state for one run ------------------------------------------------------------------------

class RunContext:
    """What several files share: one basic-pitch model, the real-music jump distribution for seams."""

    def __init__(self, real_seams: Path | None = None, seed: int = 0, models_dir: Path | None = None):
        self.real_seams_dir = real_seams
        self.models_dir = models_dir  # where the evaluation CLAP model is (default: the shipped weights)
        self.seed = seed
        self._transcriber = None
        self._real = None
        self._clap = None

    @property
    def transcriber(self):
        if self._transcriber is None:
            from ditto2.eval.melody import Transcriber

            self._transcriber = Transcriber()
        return self._transcriber

    @property
    def clap_eval(self):
        """The shipped *evaluation* CLAP model (never the control model that generation optimised against)."""
        if self._clap is None:
            from ditto2.models import load_clap

            self._clap = load_clap("eval", self.models_dir)
        return self._clap

    @property
    def real_jumps(self) -> tuple[np.ndarray, np.ndarray]:
        if self._real is None:
            from ditto2.audio.io import read_audio
            from ditto2.eval.controls import real_jumps
            from ditto2.eval.fad import list_audio

            waves = [read_audio(p) for p in list_audio(self.real_seams_dir)]
            self._real = real_jumps(waves, seed=self.seed)
        return self._real


# --- scorers -----------------------------------------------------------------------------------------

class Scorer:
    """One sidecar key. ``parse`` checks the raw entry (cheap, before any scoring); ``score`` returns
    (flat metrics, plot data or None); ``metrics`` are the names averaged over files."""

    key: str = ""
    metrics: tuple[str, ...] = ()
    needs_real_music = False
    on_clip = False  # scored on the sidecar's "clip" file (the generated clip before assembly) when there is one

    def parse(self, value, folder: Path):
        raise NotImplementedError

    def score(self, wave: np.ndarray, target, ctx: RunContext) -> tuple[dict, dict | None]:
        raise NotImplementedError


def _field(value, name: str, key: str):
    if not isinstance(value, dict) or name not in value:
        got = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise InputError(f'target "{key}": expected an object with "{name}", got {got}')
    return value[name]


def _numbers(values, key: str, *, ndim: int = 1, integer: bool = False) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f'target "{key}": expected {"a list" if ndim == 1 else "a matrix"} of numbers') from None
    if array.ndim != ndim or array.size == 0:
        raise InputError(f'target "{key}": expected a non-empty {ndim}-D list of numbers, got shape {array.shape}')
    if not np.all(np.isfinite(array)):
        raise InputError(f'target "{key}": contains NaN or infinite values')
    if integer:
        if not np.all(array == np.round(array)):
            raise InputError(f'target "{key}": expected whole numbers')
        return array.astype(np.int64)
    return array


class IntensityScorer(Scorer):
    key = "intensity"
    on_clip = True
    metrics = ("intensity_mse_db2", "intensity_pearson")

    def parse(self, value, folder):
        return _numbers(_field(value, "db", self.key), "intensity.db")

    def score(self, wave, target, ctx):
        from ditto2.eval.controls import intensity_error

        s = intensity_error(wave, target)
        return ({"intensity_mse_db2": s.mse_db2, "intensity_pearson": s.pearson},
                {"target": target, "achieved": s.achieved_db})


class MelodyScorer(Scorer):
    key = "melody"
    on_clip = True
    metrics = ("melody_accuracy", "melody_raw_chroma")

    def parse(self, value, folder):
        pc = _numbers(_field(value, "pitch_class", self.key), "melody.pitch_class", integer=True)
        hz = value.get("f0_hz")
        return pc, (None if hz is None else _numbers(hz, "melody.f0_hz"))

    def score(self, wave, target, ctx):
        from ditto2.eval.melody import pitch_class, score_melody

        pc, hz = target
        s = score_melody(wave, pc, target_hz=hz, transcriber=ctx.transcriber)
        metrics = {"melody_accuracy": s.accuracy, "voiced_frames": s.voiced_frames,
                   "transcribed_frames": s.transcribed_frames}
        if hz is not None:
            metrics["melody_raw_chroma"] = s.raw_chroma
        return metrics, {"target": pc, "achieved": pitch_class(s.estimate)}


class StructureScorer(Scorer):
    key = "structure"
    on_clip = True
    metrics = ("structure_mse", "structure_r")

    def parse(self, value, folder):
        ssm = _numbers(_field(value, "ssm", self.key), "structure.ssm", ndim=2)
        if ssm.shape[0] != ssm.shape[1]:
            raise InputError(f'target "structure": the SSM must be square, got shape {ssm.shape}')
        mask = value.get("mask")
        if mask is not None:
            mask = _numbers(mask, "structure.mask", ndim=2)
            if mask.shape != ssm.shape:
                raise InputError(f'target "structure": the mask must have the SSM\'s shape {ssm.shape}, '
                                 f"got {mask.shape}")
        return ssm, mask

    def score(self, wave, target, ctx):
        from ditto2.eval.controls import structure_error

        ssm, mask = target
        s = structure_error(wave, ssm, mask=mask)
        return {"structure_mse": s.mse, "structure_r": s.r}, {"target": ssm, "achieved": s.achieved}


def _mask(values, name: str) -> np.ndarray:
    mask = _numbers(values, name, integer=True)
    if not np.isin(mask, (0, 1)).all():
        raise InputError(f'target "{name}": expected a list of 0/1 values')
    return mask.astype(bool)


def _referenced_file(path, folder: Path, name: str) -> Path:
    if not isinstance(path, str) or not path:
        raise InputError(f'target "{name}": expected a file name, got {path!r}')
    full = folder / path
    if not full.is_file():
        raise InputError(f'target "{name}": referenced file not found: {full}')
    return full


class ContextScorer(Scorer):
    key = "context"
    metrics = ("context_error_db",)

    def parse(self, value, folder):
        reference = _referenced_file(_field(value, "reference", self.key), folder, "context.reference")
        audio = value.get("audio")
        audio = None if audio is None else _referenced_file(audio, folder, "context.audio")
        mask = _mask(_field(value, "mask", self.key), "context.mask")
        ref_mask = value.get("reference_mask")
        return {"audio": audio, "reference": reference, "mask": mask,
                "reference_mask": None if ref_mask is None else _mask(ref_mask, "context.reference_mask")}

    def referenced(self, target) -> list[Path]:
        return [p for p in (target["audio"], target["reference"]) if p is not None]

    def score(self, wave, target, ctx):
        from ditto2.audio.io import read_audio
        from ditto2.eval.controls import context_error_db

        audio = wave if target["audio"] is None else read_audio(target["audio"])
        error = context_error_db(audio, read_audio(target["reference"]), target["mask"], target["reference_mask"])
        return {"context_error_db": error}, None


_SEAM_FIELDS = ("loudness_db", "flux_db", "loudness_ratio", "flux_ratio", "loudness_percentile", "flux_percentile",
                "own_flux_ratio")


def _seam_metrics(prefix: str, scores) -> dict:
    return {f"{prefix}_{f}": float(np.mean([s.to_dict()[f] for s in scores])) for f in _SEAM_FIELDS}


class SeamsScorer(Scorer):
    key = "seams"
    metrics = tuple(f"seam_{f}" for f in _SEAM_FIELDS)
    needs_real_music = True

    def parse(self, value, folder):
        if not isinstance(value, list) or not value:
            raise InputError('target "seams": expected a non-empty list of frame numbers')
        return [int(f) for f in _numbers(value, "seams", integer=True)]

    def score(self, wave, target, ctx):
        from ditto2.eval.controls import seam_scores

        scores = seam_scores(wave, target, ctx.real_jumps)
        return {**_seam_metrics("seam", scores), "seam_count": len(scores)}, None


class LoopScorer(Scorer):
    key = "loop"
    metrics = tuple(f"loop_{f}" for f in _SEAM_FIELDS)
    needs_real_music = True

    def parse(self, value, folder):
        if not isinstance(value, bool):
            raise InputError(f'target "loop": expected true or false, got {value!r}')
        return value

    def score(self, wave, target, ctx):
        from ditto2.eval.controls import loop_wave, seam_score

        if not target:
            return {}, None
        doubled, frame = loop_wave(wave)
        return _seam_metrics("loop", [seam_score(doubled, frame, ctx.real_jumps)]), None


class TextScorer(Scorer):
    """CLAP score: cosine between the evaluation model's embeddings of the audio and of the prompt."""

    key = "text"
    on_clip = True
    metrics = ("clap_score",)

    def parse(self, value, folder):
        from ditto2.clap.prompts import check_text_prompt

        return check_text_prompt(_field(value, "prompt", self.key))

    def score(self, wave, target, ctx):
        import torch

        from ditto2.text.encoder import encode_texts

        model = ctx.clap_eval
        with torch.no_grad():
            mel = M.wave_to_mel(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)))[None]
            text = model.embed_text(torch.as_tensor(encode_texts([target]), dtype=torch.float32))[0]
            return {"clap_score": float(model.embed_audio(mel)[0] @ text)}, None


SCORERS: dict[str, Scorer] = {}


def register_scorer(scorer: Scorer) -> None:
    """Add or replace the scorer of a sidecar key (e.g. the CLAP text evaluator for ``text``)."""
    if scorer.key not in KNOWN_KEYS:
        raise InputError(f"scorer key {scorer.key!r} is not a sidecar key ({', '.join(KNOWN_KEYS)})")
    SCORERS[scorer.key] = scorer


for _scorer in (IntensityScorer(), MelodyScorer(), StructureScorer(), ContextScorer(), SeamsScorer(), LoopScorer(),
                TextScorer()):
    register_scorer(_scorer)


# --- reading the folder ------------------------------------------------------------------------------

@dataclasses.dataclass
class Item:
    audio: Path
    sidecar: Path | None
    targets: dict            # key -> parsed target (scored keys only)
    unscored: list[str]      # known keys without a scorer (e.g. text)
    clip: Path | None = None  # the generated clip before assembly (stitching, loop cuts), if the sidecar names one
    chained: bool = False     # long form: clips chained by outpainting; its musicality is that of the whole file


def read_sidecar(path: Path) -> tuple[dict, list[str]]:
    """Parse and check one sidecar; errors name the file."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a valid JSON sidecar ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object with a \"targets\" object, got {type(data).__name__}")
    raw = data.get("targets", {})
    if not isinstance(raw, dict):
        raise InputError(f"{path}: \"targets\" must be an object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(KNOWN_KEYS))
    if unknown:
        raise InputError(f"{path}: unknown target key(s) {', '.join(unknown)} "
                         f"(expected some of {', '.join(KNOWN_KEYS)})")
    targets, unscored = {}, []
    for key, value in raw.items():
        if key not in SCORERS:
            unscored.append(key)
            continue
        try:
            targets[key] = SCORERS[key].parse(value, path.parent)
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
    return targets, unscored


def clip_file(sidecar: Path) -> Path | None:
    """The sidecar's top-level "clip": music targets describe that file when the final audio was assembled."""
    name = json.loads(sidecar.read_text()).get("clip")
    try:
        return None if name is None else _referenced_file(name, sidecar.parent, "clip")
    except InputError as exc:
        raise InputError(f"{sidecar}: {exc}") from None


def is_chain(sidecar: Path) -> bool:
    """Whether the sidecar is a long-form output (``Pipeline.generate_long``: more than one clip chained)."""
    settings = json.loads(sidecar.read_text()).get("settings")
    return isinstance(settings, dict) and isinstance(settings.get("clips"), int) and settings["clips"] > 1


def collect(folder: str | Path) -> tuple[list[Item], list[Path]]:
    """The generated clips of a folder (with parsed sidecars) and the auxiliary files the sidecars name."""
    from ditto2.eval.fad import list_audio

    files = list_audio(folder)  # InputError for a missing or empty folder
    items = []
    for audio in files:
        sidecar = audio.with_suffix(".json")
        if sidecar.is_file():
            targets, unscored = read_sidecar(sidecar)
            items.append(Item(audio, sidecar, targets, unscored, clip_file(sidecar), is_chain(sidecar)))
        else:
            items.append(Item(audio, None, {}, []))
    referenced = {it.clip.resolve() for it in items if it.clip is not None}
    for item in items:
        for key, target in item.targets.items():
            if hasattr(SCORERS[key], "referenced"):
                referenced |= {p.resolve() for p in SCORERS[key].referenced(target)}
    generated = [it for it in items if it.audio.resolve() not in referenced]
    auxiliary = [it.audio for it in items if it.audio.resolve() in referenced]
    if not generated:
        raise InputError(f"{folder}: every audio file is named as a reference by a sidecar; no generated clips left")
    return generated, auxiliary


# --- the run ------------------------------------------------------------------------------------------

def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        raise FloatingPointError(f"a metric came out {value}")
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def score_item(item: Item, ctx: RunContext, plot_dir: Path | None) -> dict:
    from ditto2.audio.io import read_audio

    wave = read_audio(item.audio)
    clip_wave = read_audio(item.clip) if item.clip is not None else wave
    record = {"file": item.audio.name, "sidecar": item.sidecar.name if item.sidecar else None,
              "seconds": round(wave.size / M.SAMPLE_RATE, 3), "frames": wave.size // M.HOP,
              "metrics": {}, "unscored": item.unscored}
    panels = {}
    for key, target in item.targets.items():
        try:
            scorer = SCORERS[key]
            metrics, plot = scorer.score(clip_wave if scorer.on_clip else wave, target, ctx)
        except InputError as exc:
            raise InputError(f"{item.audio} ({key}): {exc}") from None
        record["metrics"].update({k: _clean(v) for k, v in metrics.items()})
        if plot is not None:
            panels[key] = plot
    if panels and plot_dir is not None:
        from ditto2.plots import plot_control_targets

        path = plot_control_targets(plot_dir / f"{item.audio.stem}.png", item.audio.name, **panels)
        record["plot"] = str(path.relative_to(plot_dir.parent))
    return record


def item_musicality(item: Item, ctx: RunContext) -> dict:
    """The musicality measures of a generated clip (the sidecar's "clip" before assembly, else the file; all of a
    long-form chain, whose continuations are where music is lost)."""
    from ditto2.audio.io import read_audio
    from ditto2.eval.musicality import clip_musicality

    try:
        source = item.audio if item.chained else item.clip or item.audio
        measures = clip_musicality(read_audio(source), ctx.transcriber)
    except InputError as exc:
        raise InputError(f"{item.audio} (musicality): {exc}") from None
    return {k: _clean(v) for k, v in measures.items()}


def summarise(records: list[dict]) -> dict:
    """Mean of each metric over the files that have it (None values, e.g. an undefined r, are counted apart)."""
    names = [m for s in SCORERS.values() for m in s.metrics]
    means = {}
    for name in names:
        values = [r["metrics"][name] for r in records if name in r["metrics"]]
        if not values:
            continue
        defined = [v for v in values if v is not None]
        means[name] = {"mean": float(np.mean(defined)) if defined else None, "files": len(defined),
                       "undefined": len(values) - len(defined)}
    return means


SEAM_WINDOW_S = 3.0  # audio around each join for the seam FAD


def _window(wave: np.ndarray, centre: int, length: int) -> np.ndarray:
    """``length`` samples of ``wave`` around ``centre``, shifted to stay inside (the whole wave if shorter)."""
    start = min(max(0, centre - length // 2), max(0, wave.size - length))
    return wave[start:start + length]


def seam_windows(items) -> list[np.ndarray]:
    """The audio around every join (``seams`` frames, and a loop's end-to-start) of the generated files."""
    from ditto2.audio.io import read_audio
    from ditto2.eval.controls import loop_wave

    length, out = int(SEAM_WINDOW_S * M.SAMPLE_RATE), []
    for item in items:
        if "seams" not in item.targets and "loop" not in item.targets:
            continue
        wave = read_audio(item.audio)
        out += [_window(wave, frame * M.HOP, length) for frame in item.targets.get("seams", [])]
        if item.targets.get("loop"):
            doubled, frame = loop_wave(wave)
            out.append(_window(doubled, frame * M.HOP, length))
    return out


def real_windows(folder, count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` windows of real music at seeded random places, cycling through the folder's files."""
    from ditto2.audio.io import read_audio
    from ditto2.eval.fad import list_audio

    length, rng = int(SEAM_WINDOW_S * M.SAMPLE_RATE), np.random.default_rng(seed)
    waves = [read_audio(p) for p in list_audio(folder)]
    return [_window(w, int(rng.integers(0, max(1, w.size))), length) for w in (waves[k % len(waves)]
                                                                           for k in range(count))]


def seam_fad(items, reference, embedder, seed: int = 0) -> dict | None:
    """FAD of the windows straddling joins against as many (at least 16) real windows; None without joins."""
    from ditto2.eval.fad import fad

    seams = seam_windows(items)
    if len(seams) < 2:
        return None
    real = real_windows(reference, max(16, len(seams)), seed)
    out = fad(real, seams, embedder, seed=seed).to_dict()
    out.update(window_s=SEAM_WINDOW_S, windows=len(seams), real_windows=len(real))
    return out


def set_fad(reference, items, embedder, seed: int = 0) -> dict:
    """FAD of a set's generated files against the reference folder, with both sets' sizes."""
    from ditto2.eval.fad import fad

    if embedder is None:
        raise InputError("FAD: give an embedder (--embedder logmel or musicnn)")
    return {**fad(reference, [it.audio for it in items], embedder, seed=seed).to_dict(),
            "reference_folder": str(reference)}


def set_figures(scored: dict) -> dict:
    """The figures a "kept" ratio compares: each musicality median, and the FAD (None without a reference)."""
    return {**scored["musicality"]["median"], "fad": scored["fad"]["fad"] if "fad" in scored else None}


def score_baseline(folder, items, ctx: RunContext, reference=None, embedder=None, seed: int = 0) -> dict:
    """The uncontrolled set of the same model and seeds: its musicality and, with a reference, its FAD."""
    from ditto2.eval.musicality import set_musicality

    per_file = [{"file": it.audio.name, "musicality": item_musicality(it, ctx)} for it in items]
    out = {"folder": str(folder), "musicality": set_musicality([r["musicality"] for r in per_file]),
           "per_file": per_file}
    if reference is not None:
        out["fad"] = set_fad(reference, items, embedder, seed)
    return out


def evaluate(generated: str | Path, out_dir: str | Path, *, reference: str | Path | None = None,
             embedder=None, real_seams: str | Path | None = None, plots: bool = True, seed: int = 0,
             progress: bool = True, models_dir: str | Path | None = None, baseline: str | Path | None = None) -> dict:
    """Score every clip of ``generated``; write ``eval.json``, ``eval.md`` and ``plots/`` into ``out_dir``.
    ``baseline``: a folder of uncontrolled clips of the same model and seeds, for the "quality kept" ratios."""
    from tqdm import tqdm

    from ditto2.eval.fad import list_audio
    from ditto2.eval.musicality import kept, set_musicality

    generated, out_dir = Path(generated), Path(out_dir)
    items, auxiliary = collect(generated)
    baseline_items = collect(baseline)[0] if baseline is not None else None  # fail now, not after scoring
    if reference is not None:
        list_audio(reference)  # fail now, not after scoring, on a missing or empty reference folder
    seams_from = real_seams if real_seams is not None else reference
    needing = [it.sidecar for it in items for k in it.targets if SCORERS[k].needs_real_music]
    if needing and seams_from is None:
        raise InputError(f"{needing[0]}: seam/loop targets are measured against jumps inside real music; "
                         "give --real-seams REF_DIR (or --reference REF_DIR)")
    if needing:
        list_audio(seams_from)
    ctx = RunContext(Path(seams_from) if seams_from is not None else None, seed=seed, models_dir=models_dir)
    plot_dir = out_dir / "plots" if plots else None
    records = [dict(score_item(it, ctx, plot_dir), musicality=item_musicality(it, ctx))
               for it in tqdm(items, desc="scoring", unit="file", disable=not progress)]
    result = {"generated": str(generated), "files": len(items), "auxiliary_files": [p.name for p in auxiliary],
              "per_file": records, "means": summarise(records),
              "musicality": set_musicality([r["musicality"] for r in records])}
    if seams_from is not None and needing:
        result["real_seams"] = {"folder": str(seams_from), "jumps": int(ctx.real_jumps[0].size)}
    if reference is not None:
        result["fad"] = set_fad(reference, items, embedder, seed)
        joins = seam_fad(items, reference, embedder, seed)
        if joins is not None:
            result["seam_fad"] = joins
    if baseline is not None:
        result["baseline"] = score_baseline(baseline, baseline_items, ctx, reference, embedder, seed)
        result["kept"] = kept(set_figures(result), set_figures(result["baseline"]))
    write_json(out_dir / "eval.json", result)
    (out_dir / "eval.md").write_text(markdown(result))
    return result


# --- the report --------------------------------------------------------------------------------------

COLUMNS = {  # metric -> column title, in table order
    "intensity_mse_db2": "intensity MSE (dB²) ↓", "intensity_pearson": "intensity r ↑",
    "melody_accuracy": "melody acc. ↑", "melody_raw_chroma": "raw chroma ↑", "structure_mse": "SSM MSE ↓",
    "context_error_db": "context error (dB) ↓", "clap_score": "CLAP score (eval model) ↑",
    "seam_loudness_ratio": "seam loudness / real ↓", "seam_flux_ratio": "seam flux / real ↓",
    "loop_loudness_ratio": "loop seam loudness / real ↓", "loop_flux_ratio": "loop seam flux / real ↓",
    "seam_own_flux_ratio": "seam flux / own ↓", "loop_own_flux_ratio": "loop seam flux / own ↓",
}


def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def file_table(result: dict, present: list[str]) -> list[str]:
    """One row per file, its control metrics then its musicality; the last row the means (musicality: medians)."""
    from ditto2.eval.musicality import MEASURES, TITLES

    means, median = result["means"], result["musicality"]["median"]
    lines = ["| file | s | " + " | ".join([COLUMNS[c] for c in present] + [TITLES[m] for m in MEASURES]) + " |",
             "|---|---|" + "---|" * (len(present) + len(MEASURES))]
    for r in result["per_file"]:
        cells = [_fmt(r["metrics"][c]) if c in r["metrics"] else "" for c in present]
        cells += [_fmt(r["musicality"][m]) for m in MEASURES]
        lines.append(f"| {r['file']} | {r['seconds']:.2f} | " + " | ".join(cells) + " |")
    cells = [f"**{_fmt(means[c]['mean'])}** (n={means[c]['files']})" if c in means else "" for c in present]
    cells += [f"**{_fmt(median[m])}** (median)" for m in MEASURES]
    return lines + ["| **mean** | | " + " | ".join(cells) + " |", ""]


def _spread(summary: dict, measure: str) -> str:
    q1, q3 = summary["quartiles"][measure]
    return f"{_fmt(summary['median'][measure])} ({_fmt(q1)}–{_fmt(q3)})"


def musicality_lines(result: dict) -> list[str]:
    """The set's musicality; with a baseline, beside the uncontrolled set's and the "kept" ratio."""
    from ditto2.eval.musicality import MEASURES, TITLES

    own, base = result["musicality"], result.get("baseline")
    lines = [f"Musicality of the generated clips, median (quartiles) over {own['files']} files"
             + ("; kept = this set / the uncontrolled set:" if base else ":"), ""]
    if base is None:
        rows = [f"| {TITLES[m]} | {_spread(own, m)} |" for m in MEASURES]
        return lines + ["| figure | this set |", "|---|---|"] + rows + [""]
    kept = result["kept"]
    rows = [(TITLES[m], _spread(own, m), _spread(base["musicality"], m), kept[m]) for m in MEASURES]
    if kept["fad"] is not None:
        rows.append((f"FAD ({result['fad']['embedder']}) ↓", _fmt(result["fad"]["fad"]), _fmt(base["fad"]["fad"]),
                     kept["fad"]))
    head = f"| figure | this set | uncontrolled `{base['folder']}` ({base['musicality']['files']} files) | kept |"
    return lines + [head, "|---|---|---|---|"] + [f"| {a} | {b} | {c} | {_fmt(k)} |" for a, b, c, k in rows] + [""]


def markdown(result: dict) -> str:
    records = result["per_file"]
    present = [c for c in COLUMNS if any(c in r["metrics"] for r in records)]
    lines = [f"# Evaluation of `{result['generated']}` ({result['files']} files)", ""] + file_table(result, present)
    if not present:
        lines += ["No file has a sidecar with scored targets.", ""]
    unscored = sorted({k for r in records for k in r["unscored"]})
    if unscored:
        lines += [f"Not scored (no evaluator yet): {', '.join(unscored)}.", ""]
    if "real_seams" in result:
        rs = result["real_seams"]
        lines += [f"Seams are compared with {rs['jumps']} jumps at random frames inside `{rs['folder']}`.", ""]
    if "fad" in result:
        f = result["fad"]
        lines += [(f"FAD ({f['embedder']}, {f['dim']}-d) against `{f['reference_folder']}`: **{f['fad']:.4g}** — "
                   f"reference {f['reference']['files']} files, {f['reference']['frames']} frames, "
                   f"{f['reference']['seconds']:.1f} s; evaluated {f['evaluated']['files']} files, "
                   f"{f['evaluated']['frames']} frames, {f['evaluated']['seconds']:.1f} s."), ""]
    if "seam_fad" in result:
        j = result["seam_fad"]
        lines += [(f"Seam FAD: {j['windows']} windows of {j['window_s']:g} s straddling joins against "
                   f"{j['real_windows']} random real windows: **{j['fad']:.4g}**."), ""]
    return "\n".join(lines + musicality_lines(result))
