"""``ditto2 bench-text``: text adherence four ways (issue 7, part 3; docs/text-control.md).

For a fixed set of prompts (``prompts.DEFAULT_PROMPTS``: some in the training captions' words, some paraphrased
with the held-out words of ``clap.captions.HELD_OUT``) and ``seeds`` clips per prompt, each condition
(``conditions.TEXT``) generates one 5.94 s clip per (prompt, seed) through ``Pipeline.generate``:

============================  ===================================================================================
condition                     what generates the clip
============================  ===================================================================================
``none-teacher``              the unconditional teacher (``teacher_steps``-step Euler/DDIM, no caption)
``none-MODEL-kK``             the unconditional student's K-step decode of the seed's noise (``method="none"``)
``cfg-W``                     the text-conditioned teacher, classifier-free guidance at scale W on the prompt's
                              MiniLM embedding (``generate(method="none", model="teacher", text=, cfg_scale=W)``)
``ditto2-MODEL-kK``           DITTO-2 on the *unconditional* student with the CLAP text control
                              (``generate([TextControl(prompt)], method="ditto2")``)
``both-MODEL-kK``             DITTO-2 with the CLAP text control on the *text-conditioned* student (the prompt's
                              MiniLM embedding as the student's condition, ``text=``)
============================  ===================================================================================

Every condition starts clip (prompt i, seed j) from the same initial noise, seed ``seed + 100 i + j``, so the
rows differ only in how the noise becomes music. The final audio (16-bit wav, read back) is scored by
``text_scores`` (CLAP score, control model's score, attribute accuracy), with the **FAD** of all the condition's
clips against held-out real clips (``eval.fad``; logmel projection by default) and the **seconds per clip** (one
clip at a time, batch 1: noise, optimisation, decode, vocoder).

Resumable: each clip is written with a sidecar (``targets.text.prompt``, so ``ditto2 eval run`` can score the
folder too); a clip whose sidecar matches its prompt and settings is kept on the next run (``runner``).
"""
from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ditto2.audio.io import read_audio
from ditto2.bench.conditions import TEXT, Condition, parse_conditions
from ditto2.bench.markdown import text_markdown
from ditto2.bench.prompts import DEFAULT_PROMPTS, GROUPS, Prompt, make_prompts
from ditto2.bench.runner import MAX_SEEDS, generate, run_prompt_clips
from ditto2.bench.targets import write_reference
from ditto2.bench.text_scores import Scorer, summarise
from ditto2.bench.timing import TEXT_FIGURES, timing_summary
from ditto2.controls.text import TextControl
from ditto2.errors import InputError
from ditto2.eval.fad import _pooled, embed_set, fad_from_embeddings, list_audio
from ditto2.eval.reference import make_embedder
from ditto2.fileio import write_json
from ditto2.models import load_clap

DEFAULT_CONDITIONS = "none-teacher,none-ctd-k2,cfg-1,cfg-3,ditto2-ctd-k2,both-ctd-k2"


class TextClips:
    """One clip of any condition; the prompt embeddings, text controls and weight digests are made once."""

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

    def settings(self, condition: Condition) -> dict:
        """What a finished clip must match to be kept on resume: the settings and the weights it came from (a
        retrained student or control model makes the clips again)."""
        teacher = self.pipe.teacher
        models = [teacher.autoencoder, teacher.denoiser]
        out = {"condition": condition.name}
        if condition.model == "teacher":
            out["teacher_steps"] = self.teacher_steps
        else:
            models.append(self.pipe.student(condition.model))
        if condition.optimises:
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
            self._controls[prompt] = TextControl(prompt, model=self.control_model)
        return self._controls[prompt]

    def prepare(self, conditions: Sequence[Condition], prompts: Sequence[Prompt]) -> None:
        """Load every model and embed every prompt before the first clip (missing weights fail early)."""
        for c in conditions:
            if c.model != "teacher":
                self.pipe.student(c.model)
            if c.optimises:
                self.pipe.optim_config("ditto2", [], self.opt_steps, self.lr)  # checks --opt-steps / --lr
        for p in prompts:
            if any(c.conditions_on_text for c in conditions):
                self.raw_text(p.text)
            if any(c.optimises for c in conditions):
                self.text_control(p.text)

    def clip(self, condition: Condition, prompt: str, seed: int) -> tuple[np.ndarray, dict]:
        """(waveform, timing) of one clip."""
        optimises = condition.optimises
        # "both" optimises in fp32 as it always has (the bench used to run its own loop, without autocast), so its
        # rows stay comparable with docs/text-control.md; "ditto2" has the pipeline's default precision.
        result = generate(self.pipe, condition, [self.text_control(prompt)] if optimises else [], seed=seed,
                          text=self.raw_text(prompt) if condition.conditions_on_text else None,
                          opt_steps=self.opt_steps if optimises else None, lr=self.lr if optimises else None,
                          precision="fp32" if condition.method == "both" else "auto",
                          teacher_steps=self.teacher_steps)
        return result.clip_audio[0], result.timing


def run_text_bench(pipe, out_dir, *, prompts: Sequence[str] = DEFAULT_PROMPTS, conditions=DEFAULT_CONDITIONS,
                   seeds: int = 2, seed: int = 1000, data_root=None, reference=None, n_reference: int = 64,
                   embedder=None, control_model=None, eval_model=None, teacher_steps: int = 20,
                   opt_steps: int | None = None, lr: float | None = None, progress: bool = True) -> dict:
    """Generate, time and score every (condition, prompt, seed); write results.json and results.md.

    ``reference``: a folder of real clips for FAD; without it, ``n_reference`` test clips of ``data_root`` are
    written to ``OUT/reference`` (``targets.write_reference``). ``control_model`` / ``eval_model``: CLAP models
    (default: the shipped ones, or those beside the pipeline's weights). Resumable.
    """
    prompt_list = make_prompts(prompts)  # bad prompts fail before anything is loaded or written
    condition_list = parse_conditions(conditions, TEXT) if isinstance(conditions, str) else list(conditions)
    if not (isinstance(seeds, int) and 1 <= seeds <= MAX_SEEDS):
        raise InputError(f"--seeds must be an integer from 1 to {MAX_SEEDS}, got {seeds!r}")
    if len(prompt_list) * seeds < 2:
        raise InputError("FAD needs at least 2 clips per condition: give two prompts or --seeds 2")
    if seed < 0:
        raise InputError(f"--seed must be a non-negative integer, got {seed}")
    if reference is None and data_root is None:
        raise InputError("give a dataset (--data) or a folder of real clips (--reference) for the FAD")
    if embedder is None:
        embedder = make_embedder("logmel", 0)
    out_dir = Path(out_dir)
    control_model = control_model or load_clap("control", pipe.models_dir)
    eval_model = eval_model or load_clap("eval", pipe.models_dir)
    if eval_model is control_model:
        raise InputError("the evaluation CLAP model must not be the control model (the score would measure "
                         "reward hacking)")
    clips = TextClips(pipe, control_model, teacher_steps=teacher_steps, opt_steps=opt_steps, lr=lr)
    clips.prepare(condition_list, prompt_list)  # missing weights fail before the reference is written
    if reference is None:
        reference = write_reference(data_root, out_dir / "reference", n_reference)
    reference_files = list_audio(reference)

    records = {}
    total = len(condition_list) * len(prompt_list) * seeds
    with tqdm(total=total, desc="bench-text", unit="clip", disable=not progress) as bar:
        for condition in condition_list:
            bar.set_postfix_str(condition.name, refresh=False)
            records[condition.name] = run_prompt_clips(partial(clips.clip, condition), clips.settings(condition),
                                                       prompt_list, seeds, seed, out_dir / condition.name, bar)
    rows, scored_clips = score_conditions(records, prompt_list, out_dir, reference_files, embedder, eval_model,
                                          control_model)
    optim = pipe.optim_config("ditto2", [], opt_steps, lr)
    result = {"prompts": [dataclasses.asdict(p) for p in prompt_list], "seeds": seeds, "seed": seed,
              "conditions": [c.name for c in condition_list], "teacher_steps": teacher_steps,
              "opt_steps": optim.steps, "lr": optim.lr, "embedder": embedder.name, "reference": str(reference),
              "n_reference": len(reference_files), "models": str(pipe.models_dir or "shipped"),
              "clap_eval": getattr(eval_model, "info", {}), "clap_control": getattr(control_model, "info", {}),
              "rows": rows, "clips": scored_clips}
    write_json(out_dir / "results.json", result)
    (out_dir / "results.md").write_text(text_markdown(result))
    return result


def score_conditions(records: dict[str, list[dict]], prompts: list[Prompt], out_dir: Path, reference_files: list,
                     embedder, eval_model, control_model) -> tuple[list[dict], list[dict]]:
    """One row per condition (scores by group and by prompt, timing, FAD) and every clip's scores."""
    scorer = Scorer(eval_model, control_model)
    ref_emb, ref_summary = embed_set(reference_files, embedder, label="reference")
    ref_pooled = _pooled(ref_emb, ref_summary, "reference")
    rows, all_clips = [], []
    for name, condition_records in records.items():
        clips, waves = [], []
        for rec in condition_records:
            prompt = prompts[rec["prompt_index"]]
            wave = read_audio(rec["path"])
            waves.append(wave)
            clips.append({"condition": name, "prompt": prompt.text, "group": prompt.group,
                          "seed": rec["seed"], "audio": str(Path(rec["path"]).relative_to(out_dir)),
                          "timing": rec["timing"], **scorer.score(wave, prompt)})
        emb, summary = embed_set(waves, embedder, label=name)
        fad_value = fad_from_embeddings(ref_pooled, _pooled(emb, summary, name))
        rows.append({"condition": name, **summarise(clips),
                     **timing_summary([c["timing"] for c in clips], TEXT_FIGURES), "fad": fad_value,
                     "by_group": {g: summarise([c for c in clips if c["group"] == g])
                                  for g in GROUPS if any(c["group"] == g for c in clips)},
                     "by_prompt": [{"prompt": p.text, "group": p.group,
                                    **summarise([c for c in clips if c["prompt"] == p.text])} for p in prompts]})
        all_clips += clips
    return rows, all_clips
