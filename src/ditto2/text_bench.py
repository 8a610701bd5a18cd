"""``ditto2 bench-text``: text adherence four ways (issue 7, part 3; docs/text-control.md).

For a fixed set of prompts — some in the training captions' words, some paraphrased with the held-out words of
``clap.captions.HELD_OUT`` — and ``seeds`` clips per prompt, each condition generates one 5.94 s clip per
(prompt, seed):

============================  ===================================================================================
condition                     what generates the clip
============================  ===================================================================================
``none-teacher``              the unconditional teacher (``teacher_steps``-step Euler/DDIM, no caption)
``none-MODEL-kK``             the unconditional student's K-step decode of the seed's noise (``method="none"``)
``cfg-W``                     the text-conditioned teacher, classifier-free guidance at scale W on the prompt's
                              MiniLM embedding (``Teacher.sample(..., text_embedding, cfg_scale=W)``)
``ditto2-MODEL-kK``           DITTO-2 on the *unconditional* student with the CLAP text control
                              (``Pipeline.generate([TextControl(prompt)], method="ditto2")``)
``both-MODEL-kK``             DITTO-2 with the CLAP text control on the *text-conditioned* student (the prompt's
                              MiniLM embedding as the student's condition)
============================  ===================================================================================

Every condition starts clip (prompt i, seed j) from the same initial noise, seed ``seed + 100 i + j``, so the
rows differ only in how the noise becomes music. The final audio (16-bit wav, read back) is scored with:

* **CLAP score**: cosine between the *evaluation* CLAP model's audio embedding and its text embedding of the
  prompt (the same figure as ``eval.run.TextScorer``); the control model's cosine is reported beside it as a
  reward-hacking diagnostic (only the control model is ever optimised against);
* **attribute accuracy**: the evaluation model's zero-shot classifier (class prompts ``captions.ZERO_SHOT``, as in
  ``clap.evaluate``) for instrument family, tempo band and mode, compared with what the prompt states
  (``stated_attributes``; attributes a prompt does not state are not scored);
* **FAD** of all the condition's clips against held-out real clips (``eval.fad``; logmel projection by default);
* **seconds per clip** (one clip at a time, batch 1: noise, optimisation, decode, vocoder).

Resumable: each clip is written with a sidecar (``targets.text.prompt``, so ``ditto2 eval run`` can score the
folder too); a clip whose sidecar matches its prompt and settings is kept on the next run.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ditto2.audio import mel as M
from ditto2.errors import InputError
from ditto2.fileio import write_json

# (prompt, group) — the group says which vocabulary the prompt is written in; checked by the tests.
DEFAULT_PROMPTS = (
    "a slow chorale for church organ",
    "a fast fiddle tune with drums",
    "a calm piece for flute and harp in a minor key",
    "an adagio melancholy piece for bowed strings",
    "an energetic cheerful tune on keys",
    "a joyful rapid tune for horns",
)
DEFAULT_CONDITIONS = "none-teacher,none-ctd-k2,cfg-1,cfg-3,ditto2-ctd-k2,both-ctd-k2"
GROUPS = ("training", "held-out", "other")
ATTRIBUTES = ("family", "tempo", "mode")
MAX_SEEDS = 100           # seeds of prompt i are seed + 100 i + j, j < MAX_SEEDS
SIDECAR_VERSION = 1


# --- prompts -----------------------------------------------------------------------------------------

def _phrase_table() -> dict[str, list[tuple[str, str]]]:
    """{attribute: [(phrase, class)]} from the caption vocabulary, training and held-out words."""
    from ditto2.clap import captions as C

    family = [(w, C.FAMILY_OF[ens]) for ens, words in C.INSTRUMENT_WORDS.items() for w in words]
    family += [(w, fam) for fam, words in C.FAMILY_WORDS.items() for w in words]
    family += [(w, fam) for fam, words in C.HELD_OUT["family"].items() for w in words]
    tempo = [(w, band) for band, words in C.TEMPO_WORDS.items() for w in words]
    tempo += [(w, band) for band, words in C.HELD_OUT["tempo"].items() for w in words]
    mode = [(m, m) for m in C.MODES] + [(w, m) for m, words in C.HELD_OUT["mode"].items() for w in words]
    return {"family": family, "tempo": tempo, "mode": mode}


def _find(phrase: str, text: str) -> int:
    match = re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text)
    return match.start() if match else -1


def stated_attributes(prompt: str) -> dict[str, str]:
    """The zero-shot classes a prompt states, from the caption vocabulary and the held-out paraphrases:
    ``{"family": "organ", "tempo": "slow"}`` for "a slow chorale for church organ". Where a prompt names several
    classes of one attribute (a solo instrument and its accompaniment) the first one named counts."""
    text = prompt.lower()
    out = {}
    for attr, table in _phrase_table().items():
        hits = [(pos, -len(phrase), cls) for phrase, cls in table if (pos := _find(phrase, text)) >= 0]
        if hits:
            out[attr] = min(hits)[2]
    return out


def prompt_group(prompt: str) -> str:
    """``held-out`` when the prompt uses a word of ``captions.HELD_OUT``, ``training`` when every word is in the
    training captions' vocabulary, ``other`` otherwise."""
    from ditto2.clap import captions as C

    text = prompt.lower()
    held = [w for table in C.HELD_OUT.values() for words in table.values() for w in words]
    if any(_find(w, text) >= 0 for w in held):
        return "held-out"
    return "training" if set(re.findall(r"[a-z]+", text)) <= C.training_vocabulary() else "other"


@dataclasses.dataclass(frozen=True)
class Prompt:
    text: str
    group: str
    attributes: dict

    @classmethod
    def make(cls, text: str) -> Prompt:
        from ditto2.clap.prompts import check_text_prompt

        text = check_text_prompt(text)
        return cls(text, prompt_group(text), stated_attributes(text))


def make_prompts(texts: Sequence[str]) -> list[Prompt]:
    """Checked prompts (InputError for an empty, over-long or non-Latin one, or a repeated one)."""
    if isinstance(texts, str) or not len(texts):
        raise InputError("bench-text needs a list of one or more prompts")
    prompts = [Prompt.make(t) for t in texts]
    seen = set()
    for p in prompts:
        if p.text in seen:
            raise InputError(f"the prompt {p.text!r} is given twice")
        seen.add(p.text)
    return prompts


# --- conditions --------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TextCondition:
    kind: str                 # none | cfg | ditto2 | both
    model: str = "teacher"    # teacher | cd | ctd
    decode_steps: int = 20
    cfg: float | None = None

    @property
    def name(self) -> str:
        if self.kind == "cfg":
            return f"cfg-{self.cfg:g}"
        if self.model == "teacher":
            return f"{self.kind}-teacher"
        return f"{self.kind}-{self.model}-k{self.decode_steps}"

    @property
    def uses_text(self) -> bool:
        return self.kind != "none"

    @classmethod
    def parse(cls, text: str) -> TextCondition:
        from ditto2.bench import parse_student_condition

        parts = text.strip().split("-")
        if parts == ["none", "teacher"]:
            return cls("none")
        if len(parts) == 2 and parts[0] == "cfg":
            try:
                scale = float(parts[1])
            except ValueError:
                scale = float("nan")
            if math.isfinite(scale) and scale >= 0:
                return cls("cfg", cfg=scale)
        student = parse_student_condition(parts, ("none", "ditto2", "both"))
        if student is not None:
            return cls(*student)
        raise InputError(f"condition {text!r}: expected none-teacher, cfg-W (W >= 0, e.g. cfg-3), none-MODEL-kK, "
                         "ditto2-MODEL-kK or both-MODEL-kK (MODEL cd or ctd, K 1-8)")


def parse_conditions(text: str) -> list[TextCondition]:
    conditions = [TextCondition.parse(c) for c in text.split(",") if c.strip()]
    if not conditions:
        raise InputError("--conditions is empty")
    names = [c.name for c in conditions]
    if len(set(names)) < len(names):
        raise InputError(f"--conditions names a condition twice: {', '.join(names)}")
    return conditions


# --- generation --------------------------------------------------------------------------------------

class Generator:
    """One clip of any condition; the shared models, prompt embeddings and text controls are made once."""

    def __init__(self, pipe, control_model, *, teacher_steps: int = 20, opt_steps: int | None = None,
                 lr: float | None = None):
        if teacher_steps < 1:
            raise InputError(f"--teacher-steps must be at least 1, got {teacher_steps}")
        self.pipe = pipe
        self.control_model = control_model
        self.teacher_steps = teacher_steps
        self.opt_steps = opt_steps
        self.lr = lr
        self._raw: dict[str, torch.Tensor] = {}
        self._controls: dict[str, object] = {}
        self._digests: dict[int, str] = {}

    def settings(self, condition: TextCondition) -> dict:
        """What a finished clip must match to be kept on resume: the settings and the weights it came from (a
        retrained student or control model makes the clips again)."""
        teacher = self.pipe.teacher
        models = [teacher.autoencoder, teacher.denoiser]
        out = {"condition": condition.name}
        if condition.model == "teacher":
            out["teacher_steps"] = self.teacher_steps
        else:
            models.append(self.pipe.student(condition.model))
        if condition.kind in ("ditto2", "both"):
            config = self.pipe.optim_config("ditto2", [], self.opt_steps, self.lr)
            out.update(opt_steps=config.steps, lr=config.lr)
            models.append(self.control_model)
        out["weights"] = [self._digest(m) for m in models]
        return out

    def _digest(self, module) -> str:
        key = id(module)
        if key not in self._digests:
            h = hashlib.sha1()
            for name, tensor in sorted(module.state_dict().items()):
                h.update(name.encode())
                tensor = tensor.detach().cpu()
                tensor = tensor.float() if tensor.dtype == torch.bfloat16 else tensor
                h.update(tensor.contiguous().numpy().tobytes())
            self._digests[key] = h.hexdigest()[:12]
        return self._digests[key]

    def raw_text(self, prompt: str) -> torch.Tensor:
        """(1, 384) MiniLM embedding: the teacher's and the students' caption condition."""
        if prompt not in self._raw:
            from ditto2.text.encoder import encode_texts

            self._raw[prompt] = torch.from_numpy(encode_texts([prompt]))
        return self._raw[prompt]

    def text_control(self, prompt: str):
        if prompt not in self._controls:
            from ditto2.controls.text import TextControl

            self._controls[prompt] = TextControl(prompt, model=self.control_model)
        return self._controls[prompt]

    def prepare(self, conditions: Sequence[TextCondition], prompts: Sequence[Prompt]) -> None:
        """Load every model and embed every prompt before the first clip (missing weights fail early)."""
        for c in conditions:
            if c.model != "teacher":
                self.pipe.student(c.model)
            if c.kind in ("ditto2", "both"):
                self.pipe.optim_config("ditto2", [], self.opt_steps, self.lr)  # checks --opt-steps / --lr
        for p in prompts:
            if any(c.kind in ("cfg", "both") for c in conditions):
                self.raw_text(p.text)
            if any(c.kind in ("ditto2", "both") for c in conditions):
                self.text_control(p.text)

    def clip(self, condition: TextCondition, prompt: str, seed: int) -> tuple[np.ndarray, dict]:
        """(waveform, timing) of one clip."""
        from ditto2.eval.timing import StageTimer, reset_peak_rss

        reset_peak_rss()
        if condition.kind == "none" and condition.model != "teacher":
            result = self.pipe.generate(method="none", model=condition.model, seed=seed,
                                        decode_steps=condition.decode_steps, progress=False)
            return result.clip_audio[0], result.timing
        if condition.kind == "ditto2":
            result = self.pipe.generate([self.text_control(prompt)], method="ditto2", model=condition.model,
                                        seed=seed, decode_steps=condition.decode_steps, opt_steps=self.opt_steps,
                                        lr=self.lr, progress=False)
            return result.clip_audio[0], result.timing
        timer = StageTimer()
        teacher = self.pipe.teacher
        with timer.stage("noise"):
            x_T = teacher.initial_noise([seed])
        if condition.model == "teacher":  # none-teacher, cfg-W
            text = self.raw_text(prompt) if condition.kind == "cfg" else None
            with timer.stage("decode"), torch.no_grad():
                mel = teacher.sample(x_T, self.teacher_steps, "euler", text_embedding=text,
                                     cfg_scale=condition.cfg if condition.cfg is not None else 1.0)
        else:  # both: DITTO-2 with the CLAP control on the text-conditioned student
            mel = self._ditto2_conditioned(condition, prompt, seed, x_T, timer)
        with timer.stage("vocode"), torch.no_grad():
            wave = self.pipe.vocoder(mel).cpu().numpy()[0].astype(np.float32)
        return wave, timer.report(audio_seconds=M.CLIP_SAMPLES / M.SAMPLE_RATE)

    def _ditto2_conditioned(self, condition, prompt, seed, x_T, timer) -> torch.Tensor:
        from ditto2.controls.base import total_loss
        from ditto2.engine import Ditto2Engine, optimise_noise

        controls = [self.text_control(prompt)]
        engine = Ditto2Engine(self.pipe.teacher, self.pipe.student(condition.model), condition.decode_steps,
                              text=self.raw_text(prompt))
        config = self.pipe.optim_config("ditto2", controls, self.opt_steps, self.lr)
        if config.steps > 0:
            with timer.stage("optimise"):
                x_T = optimise_noise(x_T, engine.render, lambda mel: total_loss(controls, mel), config,
                                     sigma=engine.sigma_max).x_T
        with timer.stage("decode"), torch.no_grad():
            return engine.decode(x_T, [seed])


def clip_seed(seed: int, prompt_index: int, j: int) -> int:
    return seed + MAX_SEEDS * prompt_index + j


def run_condition(gen: Generator, condition: TextCondition, prompts: list[Prompt], seeds: int, seed: int,
                  folder: Path, bar=None) -> list[dict]:
    """Generate (or keep) every clip of one condition; returns one record per clip."""
    from ditto2.audio.io import write_audio

    folder.mkdir(parents=True, exist_ok=True)
    settings = gen.settings(condition)
    records = []
    for i, prompt in enumerate(prompts):
        for j in range(seeds):
            s = clip_seed(seed, i, j)
            path = folder / f"p{i}_s{s}.wav"
            sidecar = path.with_suffix(".json")
            record = _finished(sidecar, path, prompt.text, s, settings)
            if record is None:
                wave, timing = gen.clip(condition, prompt.text, s)
                write_audio(path, wave)
                record = {"ditto2": SIDECAR_VERSION, "audio": path.name, "sample_rate": M.SAMPLE_RATE, "seed": s,
                          "prompt": prompt.text, "settings": settings, "timing": timing,
                          # the prompt is a target of every condition, the unconditional ones included:
                          # `ditto2 eval run FOLDER` scores it with the evaluation CLAP model as well
                          "targets": {"text": {"prompt": prompt.text}}}
                write_json(sidecar, record)
            records.append({**record, "path": str(path), "prompt_index": i})
            if bar is not None:
                bar.update()
    return records


def _finished(sidecar: Path, path: Path, prompt: str, seed: int, settings: dict) -> dict | None:
    if not (sidecar.is_file() and path.is_file()):
        return None
    try:
        record = json.loads(sidecar.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    same = record.get("prompt") == prompt and record.get("seed") == seed and record.get("settings") == settings
    return record if same and isinstance(record.get("timing"), dict) else None


# --- scoring -----------------------------------------------------------------------------------------

class Scorer:
    """The evaluation model's CLAP score and zero-shot attribute classes, plus the control model's score."""

    def __init__(self, eval_model, control_model, text_fn=None):
        from ditto2.clap import captions as C
        from ditto2.clap.evaluate import embed_texts

        if text_fn is None:
            from ditto2.text.encoder import encode_texts as text_fn
        self.eval_model, self.control_model, self.text_fn = eval_model, control_model, text_fn
        self._text: dict[tuple[int, str], torch.Tensor] = {}
        self.classes = {}
        for attr, classes in C.class_prompts(C.ZERO_SHOT).items():  # the same classifier as clap.evaluate
            names = sorted(classes)
            protos = torch.stack([F.normalize(embed_texts(eval_model, classes[c], text_fn).mean(0), dim=0)
                                  for c in names])
            self.classes[attr] = (names, protos)

    def text(self, model, prompt: str) -> torch.Tensor:
        key = (id(model), prompt)
        if key not in self._text:
            from ditto2.clap.evaluate import embed_texts

            self._text[key] = embed_texts(model, [prompt], self.text_fn)[0]
        return self._text[key]

    @torch.no_grad()
    def score(self, wave: np.ndarray, prompt: Prompt) -> dict:
        mel = M.wave_to_mel(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)))[None]
        audio = self.eval_model.embed_audio(mel)[0]
        control = self.control_model.embed_audio(mel)[0]
        out = {"clap_score": float(audio @ self.text(self.eval_model, prompt.text)),
               "control_clap_score": float(control @ self.text(self.control_model, prompt.text)),
               "predicted": {}, "correct": {}}
        for attr, (names, protos) in self.classes.items():
            out["predicted"][attr] = names[int((protos @ audio).argmax())]
            if attr in prompt.attributes:
                out["correct"][attr] = out["predicted"][attr] == prompt.attributes[attr]
        return out


def _mean(values) -> float | None:
    values = [float(v) for v in values]
    return float(np.mean(values)) if values else None


def summarise(clips: list[dict]) -> dict:
    """Means over clips: CLAP scores, attribute accuracy (overall = every stated attribute of every clip)."""
    out = {"clips": len(clips),
           "clap_score": _mean(c["clap_score"] for c in clips),
           "control_clap_score": _mean(c["control_clap_score"] for c in clips),
           "attribute_accuracy": _mean(v for c in clips for v in c["correct"].values()),
           "attribute_checks": sum(len(c["correct"]) for c in clips)}
    for attr in ATTRIBUTES:
        out[f"{attr}_accuracy"] = _mean(c["correct"][attr] for c in clips if attr in c["correct"])
    return out


def _timing_summary(clips: list[dict]) -> dict:
    totals = [c["timing"]["total_s"] for c in clips]
    stages = sorted({s for c in clips for s in c["timing"].get("stages_s", {})})
    return {"seconds_per_clip": float(np.median(totals)), "seconds_per_clip_mean": float(np.mean(totals)),
            "stages_s": {s: float(np.median([c["timing"]["stages_s"].get(s, 0.0) for c in clips])) for s in stages},
            "peak_rss_mb": max(c["timing"].get("peak_rss_mb", 0.0) for c in clips)}


# --- the whole comparison ----------------------------------------------------------------------------

def run_text_bench(pipe, out_dir, *, prompts: Sequence[str] = DEFAULT_PROMPTS, conditions=DEFAULT_CONDITIONS,
                   seeds: int = 2, seed: int = 1000, data_root=None, reference=None, n_reference: int = 64,
                   embedder=None, control_model=None, eval_model=None, teacher_steps: int = 20,
                   opt_steps: int | None = None, lr: float | None = None, progress: bool = True) -> dict:
    """Generate, time and score every (condition, prompt, seed); write results.json and results.md.

    ``reference``: a folder of real clips for FAD; without it, ``n_reference`` test clips of ``data_root`` are
    written to ``OUT/reference`` (``bench.write_reference``). ``control_model`` / ``eval_model``: CLAP models
    (default: the shipped ones, or those beside the pipeline's weights). Resumable.
    """
    from tqdm import tqdm

    from ditto2.clap import load_shipped
    from ditto2.eval.fad import _pooled, embed_set, fad_from_embeddings, list_audio

    prompt_list = make_prompts(prompts)  # bad prompts fail before anything is loaded or written
    condition_list = parse_conditions(conditions) if isinstance(conditions, str) else list(conditions)
    if not (isinstance(seeds, int) and 1 <= seeds <= MAX_SEEDS):
        raise InputError(f"--seeds must be an integer from 1 to {MAX_SEEDS}, got {seeds!r}")
    if len(prompt_list) * seeds < 2:
        raise InputError("FAD needs at least 2 clips per condition: give two prompts or --seeds 2")
    if seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    if reference is None and data_root is None:
        raise InputError("give a dataset (--data) or a folder of real clips (--reference) for the FAD")
    if embedder is None:
        from ditto2.eval.reference import make_embedder

        embedder = make_embedder("logmel", 0)
    out_dir = Path(out_dir)
    control_model = control_model or load_shipped("control", pipe.models_dir)
    eval_model = eval_model or load_shipped("eval", pipe.models_dir)
    if eval_model is control_model:
        raise InputError("the evaluation CLAP model must not be the control model (the score would measure "
                         "reward hacking)")
    gen = Generator(pipe, control_model, teacher_steps=teacher_steps, opt_steps=opt_steps, lr=lr)
    gen.prepare(condition_list, prompt_list)  # missing weights fail before the reference is written
    if reference is None:
        from ditto2.bench import write_reference

        reference = write_reference(data_root, out_dir / "reference", n_reference)
    reference_files = list_audio(reference)

    records = {}
    total = len(condition_list) * len(prompt_list) * seeds
    with tqdm(total=total, desc="bench-text", unit="clip", disable=not progress) as bar:
        for condition in condition_list:
            bar.set_postfix_str(condition.name, refresh=False)
            records[condition.name] = run_condition(gen, condition, prompt_list, seeds, seed,
                                                    out_dir / condition.name, bar)

    from ditto2.audio.io import read_audio

    scorer = Scorer(eval_model, control_model)
    ref_emb, ref_summary = embed_set(reference_files, embedder, label="reference")
    ref_pooled = _pooled(ref_emb, ref_summary, "reference")
    rows, clips_out = [], []
    for condition in condition_list:
        clips = []
        waves = []
        for rec in records[condition.name]:
            prompt = prompt_list[rec["prompt_index"]]
            wave = read_audio(rec["path"])
            waves.append(wave)
            clips.append({"condition": condition.name, "prompt": prompt.text, "group": prompt.group,
                          "seed": rec["seed"], "audio": str(Path(rec["path"]).relative_to(out_dir)),
                          "timing": rec["timing"], **scorer.score(wave, prompt)})
        emb, summary = embed_set(waves, embedder, label=condition.name)
        fad_value = fad_from_embeddings(ref_pooled, _pooled(emb, summary, condition.name))
        row = {"condition": condition.name, **summarise(clips), **_timing_summary(clips), "fad": fad_value,
               "by_group": {g: summarise([c for c in clips if c["group"] == g])
                            for g in GROUPS if any(c["group"] == g for c in clips)},
               "by_prompt": [{"prompt": p.text, "group": p.group, **summarise([c for c in clips
                                                                               if c["prompt"] == p.text])}
                             for p in prompt_list]}
        rows.append(row)
        clips_out += clips
    optim = pipe.optim_config("ditto2", [], opt_steps, lr)
    result = {"prompts": [dataclasses.asdict(p) for p in prompt_list], "seeds": seeds, "seed": seed,
              "conditions": [c.name for c in condition_list], "teacher_steps": teacher_steps,
              "opt_steps": optim.steps, "lr": optim.lr, "embedder": embedder.name, "reference": str(reference),
              "n_reference": len(reference_files), "models": str(pipe.models_dir or "shipped"),
              "clap_eval": getattr(eval_model, "info", {}), "clap_control": getattr(control_model, "info", {}),
              "rows": rows, "clips": clips_out}
    write_json(out_dir / "results.json", result)
    (out_dir / "results.md").write_text(results_markdown(result))
    return result


# --- report ------------------------------------------------------------------------------------------

def _f(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def results_markdown(result: dict) -> str:
    n_prompts, seeds = len(result["prompts"]), result["seeds"]
    lines = [(f"{n_prompts} prompts × {seeds} seeds per condition (one 5.94 s clip each, seeds from "
             f"{result['seed']}; the same initial noise in every condition). CLAP = cosine of the **evaluation** "
             "model (never optimised against); control = the control model's cosine (the one DITTO-2 maximises). "
             "Attributes = zero-shot family / tempo band / mode of the evaluation model against what the prompt "
             f"states. FAD ({result['embedder']}) against {result['n_reference']} held-out real clips. "
             "Seconds per clip: median, batch 1."), ""]
    group_names = {"training": "training words", "held-out": "held-out words", "other": "other words"}
    lines += [("| condition | CLAP (training words) | CLAP (held-out words) | CLAP (all) | control CLAP | "
               "attributes (training) | attributes (held-out) | attributes (all) | FAD | s / clip |"),
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        g = r["by_group"]
        lines.append(f"| {r['condition']} | {_f(g.get('training', {}).get('clap_score'))} | "
                     f"{_f(g.get('held-out', {}).get('clap_score'))} | {_f(r['clap_score'])} | "
                     f"{_f(r['control_clap_score'])} | {_pct(g.get('training', {}).get('attribute_accuracy'))} | "
                     f"{_pct(g.get('held-out', {}).get('attribute_accuracy'))} | {_pct(r['attribute_accuracy'])} | "
                     f"{_f(r['fad'], 2)} | {r['seconds_per_clip']:.2f} |")
    lines.append("")
    for r in result["rows"]:
        lines += [f"### {r['condition']}", "",
                  f"FAD {_f(r['fad'], 2)}; {r['seconds_per_clip']:.2f} s per clip (median; stages: "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in r["stages_s"].items()) + ").", "",
                  "| prompt | words | CLAP | control CLAP | family | tempo | mode | attributes |",
                  "|---|---|---|---|---|---|---|---|"]
        for p in r["by_prompt"]:
            lines.append(f"| {p['prompt']} | {p['group']} | {_f(p['clap_score'])} | {_f(p['control_clap_score'])} | "
                         f"{_pct(p['family_accuracy'])} | {_pct(p['tempo_accuracy'])} | {_pct(p['mode_accuracy'])} | "
                         f"{_pct(p['attribute_accuracy'])} |")
        for g, s in r["by_group"].items():
            lines.append(f"| **mean, {group_names[g]}** | | {_f(s['clap_score'])} | {_f(s['control_clap_score'])} | "
                         f"{_pct(s['family_accuracy'])} | {_pct(s['tempo_accuracy'])} | {_pct(s['mode_accuracy'])} | "
                         f"{_pct(s['attribute_accuracy'])} |")
        lines.append(f"| **mean, all** | | {_f(r['clap_score'])} | {_f(r['control_clap_score'])} | "
                     f"{_pct(r['family_accuracy'])} | {_pct(r['tempo_accuracy'])} | {_pct(r['mode_accuracy'])} | "
                     f"{_pct(r['attribute_accuracy'])} |")
        lines.append("")
    return "\n".join(lines)
