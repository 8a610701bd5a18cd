"""``Pipeline``: the shipped models plus the engines, from targets to finished audio.

>>> pipe = Pipeline.from_pretrained()
>>> result = pipe.generate([IntensityControl(intensity_curve([-40, -15]))], method="ditto2", seed=0)
>>> result.audio[0]  # 22.05 kHz numpy waveform

Methods: ``"ditto2"`` (optimise through the one-step student, decode with k student steps), ``"ditto"`` (optimise
through the teacher's 20-step DDIM chain, the slow baseline) and ``"none"`` (decode the seed's noise, no controls
applied: the uncontrolled baseline of the chosen model).
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ditto2.audio import mel as M
from ditto2.audio.vocoder import GriffinLim, Vocoder
from ditto2.controls.base import Control, total_loss
from ditto2.engine import DITTO_STEPS, Ditto2Engine, DittoEngine, OptimConfig, optimise_noise
from ditto2.errors import InputError
from ditto2.eval.timing import peak_rss_bytes
from ditto2.precision import autocast_for, resolve

METHODS = ("ditto2", "ditto", "none")
MODELS = ("ctd", "cd")
# DITTO: the paper's settings (150 steps for melody and structure, 70 otherwise; lr 5e-3; Adam's beta1 0.9).
# DITTO-2: chosen per control by measurement on tuning targets (docs/results.md, "Choosing the optimiser
# settings"). Intensity and melody run Adam with beta1 0.5 (less momentum turns faster near the minimum: on 24
# tuning curves, 40 steps reach a mean intensity error of 0.18 dB² against 0.88 with beta1 0.9; 20 steps leave a
# heavy tail of clips far from their targets, 0.86 dB², though their median is low); the others keep beta1 0.9 with the
# learning rates measured for it. A mix takes the most steps among its controls and, if every one of them has a
# beta1-0.5 rate, the smallest of those; otherwise beta1 0.9 and the smallest beta1-0.9 rate (pairs as measured,
# never a rate measured for one momentum used with the other). Structure keeps 80 steps; inpainting and
# outpainting (looped or not) take 80 too since the output anchor (below): it slows their context match, which
# passes the unanchored 40-step figure by 80 steps (docs/generation.md, "Keeping the music").
LONG_CONTROLS = ("melody", "structure")  # DITTO's
DEFAULT_STEPS = {"ditto": (70, 150), "ditto2": 40}
DEFAULT_LR = {"ditto": 5e-3, "ditto2": 2e-2}
DEFAULT_BETA1, FAST_BETA1 = 0.9, 0.5
DITTO2_LR_OF_CONTROL = {"melody": 1.5e-1, "inpaint": 8e-2, "outpaint": 8e-2, "loop": 8e-2}  # with beta1 0.9
DITTO2_FAST_LR_OF_CONTROL = {"intensity": 3e-2, "melody": 1.5e-1}  # with beta1 0.5
DITTO2_STEPS_OF_CONTROL = {"structure": 80, "inpaint": 80, "outpaint": 80}
# Adam steps through the k-step decode after the surrogate (k > 1), continuing the surrogate run's Adam moments at
# half its rate: the 2-step decode drifts from the surrogate's optimum (1.1 dB RMS on the intensity tuning
# curves); 5 such steps bring it to 0.34 (docs/results.md). A fresh Adam there takes sign-like first steps that
# overshoot, whatever its rate.
REFINE_STEPS = 5
REFINE_LR_FACTOR = 0.5
# By default the refinement runs where it was measured to help: intensity (fresh curves, 2-step decode: 1.08 ->
# 0.57 dB²). On melody it lowers the decoded chroma loss but not the transcribed accuracy of the final audio
# (8 tuning melodies: 0.80 without, 0.76 with; docs/results.md), so a mix with any other control is not refined.
REFINE_CONTROLS = ("intensity",)
# DITTO-2's output anchor (engine/anchor.py), measured in docs/generation.md ("Keeping the music"): its weight per
# control. It applies when every control says which frames it leaves free (Control.free_weights) and has a weight
# here; a mix with a control that may change every frame (intensity, melody, structure, text) is not anchored.
DITTO2_ANCHOR_OF_CONTROL = {"loop": 10.0, "inpaint": 3.0, "outpaint": 3.0}


def default_adam(method: str, controls) -> tuple[float, float]:
    """(learning rate, beta1) of Adam for these controls (the rule above)."""
    if method == "ditto":
        return DEFAULT_LR["ditto"], DEFAULT_BETA1
    if controls and all(c.name in DITTO2_FAST_LR_OF_CONTROL for c in controls):
        return min(DITTO2_FAST_LR_OF_CONTROL[c.name] for c in controls), FAST_BETA1
    return min((DITTO2_LR_OF_CONTROL.get(c.name, DEFAULT_LR["ditto2"]) for c in controls),
               default=DEFAULT_LR["ditto2"]), DEFAULT_BETA1


def default_steps(method: str, controls) -> int:
    if method == "ditto":
        return DEFAULT_STEPS["ditto"][any(c.name in LONG_CONTROLS for c in controls)]
    return max((DITTO2_STEPS_OF_CONTROL.get(c.name, DEFAULT_STEPS["ditto2"]) for c in controls),
               default=DEFAULT_STEPS["ditto2"])


def default_refine_steps(controls) -> int:
    return REFINE_STEPS if controls and all(c.name in REFINE_CONTROLS for c in controls) else 0


def default_anchor(method: str, controls) -> tuple[float, tuple[float, ...] | None]:
    """(weight, per-frame weights) of the output anchor: DITTO-2 only (DITTO keeps the paper's plain Adam); the
    smallest weight among the controls, the frames free of all of them."""
    if method == "ditto" or not controls or any(c.name not in DITTO2_ANCHOR_OF_CONTROL for c in controls):
        return 0.0, None
    free = [c.free_weights() for c in controls]
    if any(f is None for f in free):
        return 0.0, None
    return min(DITTO2_ANCHOR_OF_CONTROL[c.name] for c in controls), tuple(np.minimum.reduce(free).tolist())


def _offset(callback, steps: int):
    """The callback with its step numbers continued after ``steps`` earlier ones (None stays None)."""
    return None if callback is None else (lambda step, record: callback(steps + step, record))


@dataclasses.dataclass
class GenerationResult:
    audio: list[np.ndarray]          # final audio per candidate (assembled with references, loops cut)
    clip_audio: list[np.ndarray]     # the generated clip alone, before assembly
    mel: torch.Tensor                # (B, 80, T) decoded mel of the generated clips
    x_T: torch.Tensor                # (B, ...) optimised initial noise
    seeds: list[int]
    history: list[dict]              # per optimisation step: total and per-control losses (surrogate; "refine": decode)
    best_surrogate_loss: list[float]  # the surrogate stage's best loss, per candidate (refinement: settings)
    final_losses: dict[str, list[float]]  # each control's loss on the decoded mel (not the surrogate's)
    timing: dict                     # seconds per stage, real-time factor (audio s / wall s), peak memory
    settings: dict


class Pipeline:
    """The teacher (autoencoder + denoiser), the students (loaded on first use) and the vocoder."""

    def __init__(self, teacher, models_dir: str | Path | None = None, vocoder: Vocoder | None = None,
                 students: dict | None = None):
        self.teacher = teacher
        self.models_dir = models_dir
        self.vocoder = vocoder or GriffinLim()
        self._students = dict(students or {})

    @classmethod
    def from_pretrained(cls, directory: str | Path | None = None) -> Pipeline:
        """The shipped default models, or those in ``directory`` (autoencoder, teacher, student_*.safetensors)."""
        from ditto2.models import Teacher

        return cls(Teacher.load(directory), directory)

    def student(self, method: str):
        if method not in self._students:
            from ditto2.models import load_student_for

            self._students[method] = load_student_for(self.models_dir, method)
        return self._students[method]

    def engine(self, method: str, model: str = "ctd", decode_steps: int = 2, text=None, cfg_scale: float = 3.0):
        if method not in METHODS:
            raise InputError(f"unknown --method {method!r} (expected one of {', '.join(METHODS)})")
        if method == "ditto" or (method == "none" and model == "teacher"):
            return DittoEngine(self.teacher, DITTO_STEPS, text, cfg_scale)
        if model not in MODELS:
            raise InputError(f"unknown --model {model!r} (expected one of {', '.join(MODELS)})")
        return Ditto2Engine(self.teacher, self.student(model), decode_steps)

    def invert(self, wave: np.ndarray, steps: int = DITTO_STEPS) -> torch.Tensor:
        """DITTO App. D: the x_T whose deterministic DDIM decode gives back this clip (one clip of audio)."""
        from ditto2.diffusion import invert_ddim

        if wave.size < M.CLIP_SAMPLES:
            raise InputError(f"--init audio is {wave.size / M.SAMPLE_RATE:.2f} s, shorter than a clip "
                             f"({M.CLIP_SAMPLES / M.SAMPLE_RATE:.2f} s)")
        mel = M.wave_to_mel(torch.from_numpy(wave[: M.CLIP_SAMPLES].astype(np.float32)))[None, :, : M.CLIP_FRAMES]
        with torch.no_grad():
            z = self.teacher.autoencoder.to_latent(mel)
            sigmas = self.teacher.denoiser.karras_sigmas(steps).flip(0)
            return invert_ddim(self.teacher.denoiser, z, sigmas)

    def generate(self, controls: Sequence[Control] = (), *, method: str = "ditto2", model: str = "ctd",
                 seed: int = 0, batch: int = 1, opt_steps: int | None = None, lr: float | None = None,
                 decode_steps: int = 2, norm_prior: float = 0.0, target_loss: float | None = None,
                 refine_steps: int | None = None, precision: str = "auto", init: np.ndarray | None = None,
                 callback: Callable[[int, dict], None] | None = None, progress: bool = True) -> GenerationResult:
        """Optimise x_T for ``batch`` candidates (seeds seed .. seed + batch - 1) and render them.

        ``refine_steps`` (DITTO-2 with a multi-step decode): after the one-step surrogate, that many Adam steps
        through the k-step decode itself, keeping the best decoded iterate: the control the decode would lose is
        won back, and the result is never worse on the decoded mel than without refinement.
        ``precision``: of the optimisation ("fp32", "bf16" or "auto": bf16 where the CPU has fast bf16); the
        final decode and the vocoder always run in fp32."""
        from ditto2.eval.timing import StageTimer, reset_peak_rss

        controls = list(controls)
        assembling = [c.name for c in controls if type(c).assemble is not Control.assemble]
        if len(assembling) > 1:
            raise InputError(f"{' and '.join(assembling)} cannot be combined: each builds the output around the "
                             "generated clip (for a reference-based loop use --outpaint FILE --loop)")
        if method != "none" and not controls:
            raise InputError("no controls given: add a target (e.g. --intensity) or use --method none")
        if batch < 1:
            raise InputError(f"--batch must be at least 1, got {batch}")
        if seed < 0:
            raise InputError(f"--seed must be a non-negative integer, got {seed}")
        seeds = [seed + k for k in range(batch)]
        engine = self.engine(method, model, decode_steps)
        reset_peak_rss()  # the report's peak memory is this generation's
        timer = StageTimer()
        with timer.stage("invert" if init is not None else "noise"):
            x_T = self.teacher.initial_noise(seeds) if init is None else self.invert(init).expand(batch, -1, -1, -1)
        config = self.optim_config(method, controls, opt_steps, lr, norm_prior, target_loss)
        history: list[dict] = []
        best: list[float] = []
        moments = None
        precision = resolve(precision, x_T.device)  # bad values fail before the optimisation
        if refine_steps is None:
            refine_steps = default_refine_steps(controls)
        if isinstance(refine_steps, bool) or not isinstance(refine_steps, int) or refine_steps < 0:
            raise InputError(f"--refine-steps must be a non-negative integer, got {refine_steps!r}")
        if method != "none" and config.steps > 0:
            with timer.stage("optimise"), autocast_for(x_T.device, precision):
                result = self._optimise(engine.render, f"optimising ({engine.name})", engine.sigma_max, x_T, controls,
                                        config, callback, progress)
            x_T, history, best, moments = result.x_T, result.history, result.best_loss.tolist(), result.adam_state
        refining = method == "ditto2" and refine_steps > 0 and decode_steps > 1 and bool(controls)
        unrefined = x_T
        if refining:
            with timer.stage("refine"), autocast_for(x_T.device, precision):
                refine = dataclasses.replace(config, steps=refine_steps, lr=config.lr * REFINE_LR_FACTOR)
                result = self._optimise(engine.decode_render(seeds), f"refining ({decode_steps}-step decode)",
                                        engine.sigma_max, x_T, controls, refine, _offset(callback, len(history)),
                                        progress, moments)
            x_T, refined_loss = result.x_T, result.best_loss.tolist()  # on the decoded mel, not the surrogate
            history += [dict(r, step=len(history) + r["step"], refine=True) for r in result.history]
        with timer.stage("decode"), torch.no_grad():
            mel = engine.decode(x_T, seeds)
            if refining and precision != "fp32":
                x_T, mel = self._keep_better_decode(engine, controls, seeds, x_T, mel, unrefined)
            final = {k: v.tolist() for k, v in total_loss(controls, mel)[1].items()} if controls else {}
        with timer.stage("vocode"), torch.no_grad():
            clip_audio = [a.astype(np.float32) for a in self.vocoder(mel).cpu().numpy()]
        with timer.stage("assemble"):
            audio = [self.assemble(controls, a) for a in clip_audio]
        on_teacher = isinstance(engine, DittoEngine)
        settings = {"method": method, "model": "teacher" if on_teacher else model, "seeds": seeds,
                    "opt_steps": config.steps if method != "none" else 0, "lr": config.lr,
                    "beta1": config.beta1, "norm_prior": config.norm_prior,
                    "decode_steps": DITTO_STEPS if on_teacher else decode_steps,
                    "refine_steps": refine_steps if refining else 0, "precision": precision,
                    **({"refine_lr": refine.lr, "refined_loss": refined_loss} if refining else {}),
                    "init": init is not None, "controls": {c.name: c.weight for c in controls}}
        timing = timer.report(audio_seconds=batch * M.CLIP_SAMPLES / M.SAMPLE_RATE)
        return GenerationResult(audio, clip_audio, mel, x_T, seeds, history, best, final, timing, settings)

    @staticmethod
    def optim_config(method: str, controls, opt_steps, lr, norm_prior=0.0, target_loss=None) -> OptimConfig:
        """The paper's DITTO settings; DITTO-2's chosen ones (docs/results.md); explicit values win."""
        key = "ditto" if method == "ditto" else "ditto2"
        steps = default_steps(key, controls) if opt_steps is None else opt_steps
        clip = None if key == "ditto" else 1.0  # the DITTO baseline as published: plain Adam
        anchor, anchor_weights = default_anchor(key, controls)
        default_rate, beta1 = default_adam(key, controls)
        return OptimConfig(steps=steps, lr=default_rate if lr is None else lr, clip=clip, beta1=beta1,
                           norm_prior=norm_prior, target_loss=target_loss, anchor=anchor, anchor_weights=anchor_weights)

    @staticmethod
    def _keep_better_decode(engine, controls, seeds, refined, mel, unrefined):
        """Under bf16 the refinement chose its best iterate on a bf16 decode: keep it only where the final fp32
        decode agrees that it beats the surrogate's result, so refining never loses (one more decode)."""
        before = engine.decode(unrefined, seeds)
        worse = total_loss(controls, mel)[0] > total_loss(controls, before)[0]
        shape = (-1,) + (1,) * (refined.dim() - 1)
        return (torch.where(worse.view(shape), unrefined, refined),
                torch.where(worse.view(-1, 1, 1), before, mel))

    @staticmethod
    def _optimise(render, desc: str, sigma: float, x_T, controls, config, callback, progress, moments=None):
        from tqdm import tqdm

        with tqdm(total=config.steps, desc=desc, unit="step", disable=not progress) as bar:
            def on_step(step: int, record: dict) -> None:
                bar.set_postfix(loss=f"{min(record['loss']):.4f}", refresh=False)
                if step < config.steps:
                    bar.update()
                if callback is not None:
                    callback(step, record)

            return optimise_noise(x_T, render, lambda mel: total_loss(controls, mel), config,
                                  sigma=sigma, callback=on_step, moments=moments)

    @staticmethod
    def assemble(controls: Sequence[Control], wave: np.ndarray) -> np.ndarray:
        """Apply each control's assembly (stitching into references, loop cuts) in order."""
        for control in controls:
            wave = control.assemble(wave)
        return wave.astype(np.float32)

    def generate_long(self, seconds: float, controls: Sequence[Control] = (), *, overlap_s: float = 1.0,
                      batch: int = 1, seed: int = 0, progress: bool = True, **kwargs) -> GenerationResult:
        """Long-form generation by chained outpainting: the first clip follows ``controls`` (or is uncontrolled
        without any), each next clip continues the audio so far (its first ``overlap_s`` matching the last), until
        ``seconds`` are reached; the result is cut to ``seconds``."""
        from ditto2.controls.paint import OutpaintControl

        clip_s = M.CLIP_SAMPLES / M.SAMPLE_RATE
        if not (math.isfinite(seconds) and seconds > 0):
            raise InputError(f"--seconds must be a positive number, got {seconds!r}")
        if batch != 1:
            raise InputError("--seconds with --batch: long-form generation makes one candidate at a time")
        if any(c.loops for c in controls):
            raise InputError("--seconds with --loop: a chained continuation would no longer loop")
        if not 0 < overlap_s < clip_s:
            raise InputError(f"--overlap must lie between 0 and the clip ({clip_s:.2f} s), got {overlap_s:g}")
        first_kwargs = dict(kwargs, method="none") if not controls else kwargs
        first = self.generate(controls, batch=1, seed=seed, progress=progress, **first_kwargs)
        audio, history, clips, timing = first.audio[0], list(first.history), 1, dict(first.timing["stages_s"])
        seams = [s for c in controls for s in c.seams()]
        step_kwargs = {k: v for k, v in kwargs.items() if k != "init"}
        while audio.size / M.SAMPLE_RATE < seconds - 1e-6:
            continuation = OutpaintControl(audio, overlap_s)
            nxt = self.generate([continuation], batch=1, seed=seed + clips, progress=progress, **step_kwargs)
            audio, clips, history = nxt.audio[0], clips + 1, history + nxt.history
            seams += continuation.seams()
            for stage, t in nxt.timing["stages_s"].items():
                timing[stage] = timing.get(stage, 0.0) + t
        audio = audio[: int(round(seconds * M.SAMPLE_RATE))]
        total = sum(timing.values())
        first.timing.update(stages_s=timing, total_s=total, audio_s=audio.size / M.SAMPLE_RATE,
                            real_time_factor=audio.size / M.SAMPLE_RATE / total, peak_rss_mb=peak_rss_bytes() / 2**20)
        first.settings.update(seconds=seconds, clips=clips, overlap_s=overlap_s,
                              seams=[s for s in seams if s < audio.size // M.HOP])
        return dataclasses.replace(first, audio=[audio], history=history)
