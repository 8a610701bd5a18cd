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
from tqdm import tqdm

from ditto2.audio import mel as M
from ditto2.audio.vocoder import GriffinLim, Vocoder
from ditto2.controls.base import Control, ControlSettings, total_loss
from ditto2.controls.paint import OutpaintControl
from ditto2.diffusion import invert_ddim
from ditto2.engine import DITTO_STEPS, Ditto2Engine, DittoEngine, Engine, OptimConfig, optimise_noise
from ditto2.engine.onsets import OnsetGuard
from ditto2.engine.realism import TeacherRealism
from ditto2.errors import InputError
from ditto2.models import STUDENT_METHODS, Teacher, load_student_for, load_vocoder
from ditto2.precision import autocast_for, resolve
from ditto2.timing import StageTimer, peak_rss_bytes, reset_peak_rss

METHODS = ("ditto2", "ditto", "none")
MODELS = STUDENT_METHODS  # the students a models folder may hold
# DITTO: the paper's settings (150 steps for melody and structure, 70 otherwise; lr 5e-3; Adam's beta1 0.9).
# DITTO-2: each control's measured settings (``Control.settings``, docs/results-history.md "Choosing the optimiser
# settings"). A mix takes the most steps among its controls and, if every one of them has a beta1-0.5 rate
# (``fast_lr``), the smallest of those; otherwise beta1 0.9 and the smallest beta1-0.9 rate (pairs as measured,
# never a rate measured for one momentum used with the other).
DITTO_STEPS_SHORT, DITTO_STEPS_LONG, DITTO_LR = 70, 150, 5e-3
DEFAULT_BETA1, FAST_BETA1 = 0.9, 0.5
# Adam steps through the k-step decode after the surrogate (k > 1), continuing the surrogate run's Adam moments at
# half its rate: the 2-step decode drifts from the surrogate's optimum (1.1 dB RMS on the intensity tuning
# curves); 5 such steps bring it to 0.34 (docs/results.md). A fresh Adam there takes sign-like first steps that
# overshoot, whatever its rate. It runs where it was measured to help (``ControlSettings.refine``: intensity).
REFINE_STEPS = 5
ONSET_GUARD_CAP = None  # the onset guard's upper bound over the seed's peakiness (engine/onsets.py; None: one-sided)
REALISM_SIGMA = 2.0  # the noise level of the teacher's realism term (engine/realism.py; off unless asked)
REFINE_LR_FACTOR = 0.5
SEARCH_CHUNK = 16  # noises rendered at once by the start search
START_STRIDE = 1_000_003  # the start search's j-th noise for seed s is seed s + j * START_STRIDE's (j = 0: the seed's own)


def default_adam(method: str, controls) -> tuple[float, float]:
    """(learning rate, beta1) of Adam for these controls (the rule above)."""
    if method == "ditto":
        return DITTO_LR, DEFAULT_BETA1
    settings = [c.settings for c in controls]
    if settings and all(s.fast_lr is not None for s in settings):
        return min(s.fast_lr for s in settings), FAST_BETA1
    return min((s.lr for s in settings), default=ControlSettings.lr), DEFAULT_BETA1


def default_steps(method: str, controls, stopping: bool = False) -> int:
    """DITTO's step count; DITTO-2's: the most steps among its controls, or, when the run may stop early at a
    target loss (``stopping``), the most of their budgets."""
    if method == "ditto":
        return DITTO_STEPS_LONG if any(c.settings.ditto_long for c in controls) else DITTO_STEPS_SHORT
    if stopping:
        return max((c.settings.budget or c.settings.steps for c in controls), default=ControlSettings.steps)
    return max((c.settings.steps for c in controls), default=ControlSettings.steps)


def default_decode_steps(controls) -> int:
    """The student decode for these controls: the most steps any of them was measured to want, alone or, in a mix,
    beside the others (``ControlSettings.mix_decode_steps``)."""
    if len(controls) == 1:
        return controls[0].settings.decode_steps
    return max((c.settings.decode_steps if c.settings.mix_decode_steps is None else c.settings.mix_decode_steps
                for c in controls), default=ControlSettings.decode_steps)


def default_target_loss(method: str, controls) -> float | None:
    """DITTO-2 stops once the weighted loss is at most the sum of its controls' ``stop_below`` (when every control
    has one); DITTO runs the paper's fixed step counts."""
    if method == "ditto" or not controls or any(c.settings.stop_below is None for c in controls):
        return None
    return sum(c.weight * c.settings.stop_below for c in controls)


def default_refine_steps(controls) -> int:
    """The refinement runs only when every control was measured to gain from it (a mix with melody is not
    refined: it costs melody's transcribed accuracy)."""
    return REFINE_STEPS if controls and all(c.settings.refine for c in controls) else 0


def default_anchor(method: str, controls) -> tuple[float, tuple[float, ...] | None]:
    """(weight, per-frame weights) of DITTO-2's output anchor (engine/anchor.py; DITTO keeps the paper's plain
    Adam): when every control has an anchor weight and says which frames it leaves free (a mix with a control
    that may change every frame, as intensity, melody and text may, is not anchored); the smallest
    weight among the controls, the frames free of all of them."""
    if method == "ditto" or not controls or any(c.settings.anchor is None for c in controls):
        return 0.0, None
    free = [c.free_weights() for c in controls]
    if any(f is None for f in free):
        return 0.0, None
    return min(c.settings.anchor for c in controls), tuple(np.minimum.reduce(free).tolist())


def default_spectral_shell(method: str, controls) -> bool:
    """DITTO-2's spectral shell where every control was measured to keep more music with it (the paint controls:
    docs/generation.md); DITTO keeps the paper's plain Adam."""
    return method != "ditto" and bool(controls) and all(c.settings.spectral_shell for c in controls)


def default_noise_mix(method: str, controls) -> int:
    """DITTO-2's noise mix (engine/optimise.py: ``NoiseMix``) where every control was measured to keep more music
    with it, at the fewest noises any of them asks for; 0 (eps itself) otherwise and for DITTO (the paper's Adam)."""
    if method == "ditto" or not controls or any(c.settings.noise_mix < 2 for c in controls):
        return 0
    return min(c.settings.noise_mix for c in controls)


def default_start_search(method: str, controls) -> int:
    """DITTO-2's start search (``Pipeline.generate``) where every control was measured to keep more music with it,
    at the fewest noises any of them asks for (structure alone, docs/generation.md); 1 (the seed's own noise)
    otherwise and for DITTO (the paper's)."""
    if method == "ditto" or not controls:
        return 1
    return min(c.settings.start_search for c in controls)


def finish_change_db(before: np.ndarray, after: np.ndarray) -> list[float] | None:
    """[least, most] change of the frame level (dB) a finish made to a clip's audio; None where it made none."""
    if after is before or np.array_equal(after, before):
        return None
    from ditto2.features.intensity import intensity_db_audio

    change = intensity_db_audio(after, smooth=False) - intensity_db_audio(before, smooth=False)
    return [round(float(change.min()), 2), round(float(change.max()), 2)]


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
    controls: list = dataclasses.field(default_factory=list)  # the controls as optimised (``Control.unanchored``)


class Pipeline:
    """The teacher (autoencoder + denoiser), the students (loaded on first use) and the vocoder."""

    def __init__(self, teacher, models_dir: str | Path | None = None, vocoder: Vocoder | None = None,
                 students: dict | None = None):
        self.teacher = teacher
        self.models_dir = models_dir
        self.vocoder = vocoder or GriffinLim()
        self._students = dict(students or {})

    @classmethod
    def from_pretrained(cls, directory: str | Path | None = None, vocoder: str | None = None) -> Pipeline:
        """The shipped default models, or those in ``directory`` (autoencoder, teacher, student_*.safetensors);
        ``vocoder``: "neural" or "griffinlim" (None: the default, ``models.DEFAULT_VOCODER``)."""
        return cls(Teacher.load(directory), directory, vocoder=load_vocoder(vocoder, directory))

    def student(self, method: str):
        if method not in self._students:
            self._students[method] = load_student_for(self.models_dir, method)
        return self._students[method]

    def engine(self, method: str, model: str = "ctd", decode_steps: int = 2, text=None, cfg_scale: float = 3.0,
               teacher_steps: int = DITTO_STEPS) -> Engine:
        """The engine of ``method``; ``text`` (a prompt embedding) conditions the teacher (with CFG at ``cfg_scale``)
        or the student, ``teacher_steps`` is the length of the teacher's DDIM chain."""
        if method not in METHODS:
            raise InputError(f"unknown --method {method!r} (expected one of {', '.join(METHODS)})")
        if method == "ditto" or (method == "none" and model == "teacher"):
            return DittoEngine(self.teacher, teacher_steps, text, cfg_scale)
        if model not in MODELS:
            raise InputError(f"unknown --model {model!r} (expected one of {', '.join(MODELS)})")
        return Ditto2Engine(self.teacher, self.student(model), decode_steps, text)

    def invert(self, wave: np.ndarray, steps: int = DITTO_STEPS) -> torch.Tensor:
        """DITTO App. D: the x_T whose deterministic DDIM decode gives back this clip (one clip of audio)."""
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
                 decode_steps: int | None = None, norm_prior: float = 0.0, target_loss: float | None = None,
                 refine_steps: int | None = None, precision: str = "auto", init: np.ndarray | None = None,
                 text: torch.Tensor | None = None, cfg_scale: float = 3.0, teacher_steps: int = DITTO_STEPS,
                 anchor: bool = True, early_stop: bool = True, realism: float = 0.0, onset_guard: float = 0.0,
                 spectral_shell: bool | None = None, noise_mix: int | None = None, start_search: int | None = None,
                 callback: Callable[[int, dict], None] | None = None, progress: bool = True) -> GenerationResult:
        """Optimise x_T for ``batch`` candidates (seeds seed .. seed + batch - 1) and render them.

        ``refine_steps`` (DITTO-2 with a multi-step decode): after the one-step surrogate, that many Adam steps
        through the k-step decode itself, keeping the best decoded iterate: the control the decode would lose is
        won back, and the result is never worse on the decoded mel than without refinement.
        ``precision``: of the optimisation ("fp32", "bf16" or "auto": bf16 where the CPU has fast bf16); the
        final decode and the vocoder always run in fp32.
        ``text``: a prompt embedding, (1, D) or (D,) (``ditto2.text.encoder.encode_texts``), as the condition of a
        text-conditioned model: the teacher samples with classifier-free guidance at ``cfg_scale``, a student
        takes it as its condition. ``teacher_steps``: the teacher's DDIM steps (DITTO and ``method="none"``).
        ``anchor``: False turns DITTO-2's output anchor off (``default_anchor``). ``early_stop``: False runs the fixed
        step counts (``ControlSettings.steps``) where DITTO-2 would stop once within the controls' tolerance, after at
        most their budget (``default_target_loss``, ``default_steps``); so does an explicit ``opt_steps``.
        ``target_loss`` sets another loss to stop at (within the budget, or ``opt_steps``); the refinement stops at
        the same loss. ``spectral_shell``: True / False turns DITTO-2's spectral shell (engine/optimise.py) on / off
        against the controls' default (``default_spectral_shell``); ``noise_mix`` K (0 = off) DITTO-2's noise mix
        (``default_noise_mix``). ``realism``: the weight of the teacher's realism
        term (engine/realism.py; off by default: measured to wash the music out, docs/generation.md).
        ``onset_guard``: the weight of DITTO-2's onset guard (engine/onsets.py: the render's onset peakiness kept at
        least 0.9x the seed's)."""
        controls = [c.for_engine(method) for c in controls]
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
        if text is not None and not isinstance(text, torch.Tensor):
            raise InputError(f"text must be a prompt embedding (a tensor from ditto2.text.encoder.encode_texts), got "
                             f"{type(text).__name__}; to steer towards a prompt use TextControl")
        if start_search is not None and start_search != 1 and init is not None:
            raise InputError("--start-search with --init: the start is the inversion of that audio")
        if start_search is None:
            start_search = default_start_search(method, controls)
        if isinstance(start_search, bool) or not isinstance(start_search, int) or start_search < 1:
            raise InputError(f"--start-search must be a positive integer, got {start_search!r}")
        seeds = [seed + k for k in range(batch)]
        if decode_steps is None:  # the uncontrolled baseline decodes as DITTO-2 does without controls
            decode_steps = default_decode_steps(controls if method == "ditto2" else [])
        engine = self.engine(method, model, decode_steps, text, cfg_scale, teacher_steps)
        reset_peak_rss()  # the report's peak memory is this generation's
        timer = StageTimer()
        with timer.stage("invert" if init is not None else "noise"):
            x_T = self.teacher.initial_noise(seeds) if init is None else self.invert(init).expand(batch, -1, -1, -1)
        config = self.optim_config(method, controls, opt_steps, lr, norm_prior, target_loss, anchor, early_stop,
                                   spectral_shell, noise_mix)
        if not config.anchor:
            controls = [c.unanchored() for c in controls]
        precision = resolve(precision, x_T.device)  # bad values fail before the optimisation
        searching = method != "none" and start_search > 1 and init is None and bool(controls)
        if searching:
            with timer.stage("search"), autocast_for(x_T.device, precision):
                x_T = self._search_start(engine.render, x_T, seeds, controls, start_search)
        history: list[dict] = []
        best: list[float] = []
        moments, steps_run, prior = None, 0, None
        if refine_steps is None:
            refine_steps = default_refine_steps(controls)
        if isinstance(refine_steps, bool) or not isinstance(refine_steps, int) or refine_steps < 0:
            raise InputError(f"--refine-steps must be a non-negative integer, got {refine_steps!r}")
        if method != "none" and config.steps > 0:
            with timer.stage("optimise"), autocast_for(x_T.device, precision):
                prior = self._prior(method, realism, onset_guard, seed)
                result = self._optimise(engine.render, f"optimising ({engine.name})", engine.sigma_max, x_T, controls,
                                        config, callback, progress, prior=prior)
            x_T, history, best, moments = result.x_T, result.history, result.best_loss.tolist(), result.adam_state
            steps_run = result.steps_run
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
        with timer.stage("finish"):
            finished = [self.finish(controls, a) for a in clip_audio]
            finish_db = [finish_change_db(a, b) for a, b in zip(clip_audio, finished)]
            clip_audio = finished
        with timer.stage("assemble"):
            audio = [self.assemble(controls, a) for a in clip_audio]
        on_teacher = isinstance(engine, DittoEngine)
        settings = {"method": method, "model": "teacher" if on_teacher else model, "seeds": seeds,
                    "opt_steps": config.steps if method != "none" else 0, "opt_steps_run": steps_run,
                    "target_loss": config.target_loss, "lr": config.lr,
                    "spectral_shell": config.spectral_shell and method != "none" and steps_run > 0,
                    "noise_mix": config.noise_mix if method != "none" and steps_run > 0 else 0,
                    "beta1": config.beta1, "norm_prior": config.norm_prior,
                    "decode_steps": engine.steps if on_teacher else decode_steps,
                    "refine_steps": refine_steps if refining else 0, "precision": precision,
                    **({"refine_lr": refine.lr, "refined_loss": refined_loss} if refining else {}),
                    "realism": realism if prior is not None else 0.0,
                    "onset_guard": onset_guard if prior is not None else 0.0,
                    "init": init is not None, "text_condition": text is not None,
                    "start_search": start_search if searching else 1,
                    "controls": {c.name: c.weight for c in controls},
                    **{k: v for c in controls for k, v in c.engine_record().items()},
                    **({"finish_change_db": finish_db} if any(finish_db) else {})}
        timing = timer.report(audio_seconds=batch * M.CLIP_SAMPLES / M.SAMPLE_RATE)
        return GenerationResult(audio, clip_audio, mel, x_T, seeds, history, best, final, timing, settings, controls)

    @staticmethod
    def optim_config(method: str, controls, opt_steps, lr, norm_prior=0.0, target_loss=None,
                     anchor: bool = True, early_stop: bool = True, spectral_shell: bool | None = None,
                     noise_mix: int | None = None) -> OptimConfig:
        """The paper's DITTO settings; DITTO-2's chosen ones (docs/results.md); explicit values win; ``anchor``
        False turns DITTO-2's output anchor off, ``early_stop`` False its stop within the controls' tolerance,
        ``spectral_shell`` True / False the spectral shell on / off, ``noise_mix`` the noise mix's size (0 = off;
        None for either: the controls' default)."""
        key = "ditto" if method == "ditto" else "ditto2"
        if target_loss is None and early_stop and opt_steps is None:  # an explicit count runs every step
            target_loss = default_target_loss(key, controls)
        steps = default_steps(key, controls, target_loss is not None) if opt_steps is None else opt_steps
        clip = None if key == "ditto" else 1.0  # the DITTO baseline as published: plain Adam
        anchor, anchor_weights = default_anchor(key, controls) if anchor else (0.0, None)
        default_rate, beta1 = default_adam(key, controls)
        if spectral_shell is None:  # an explicit noise mix replaces the default shell (both keep eps white)
            spectral_shell = default_spectral_shell(key, controls) and not noise_mix
        if noise_mix is None:
            noise_mix = 0 if spectral_shell else default_noise_mix(key, controls)
        return OptimConfig(steps=steps, lr=default_rate if lr is None else lr, clip=clip, beta1=beta1,
                           norm_prior=norm_prior, target_loss=target_loss, anchor=anchor, anchor_weights=anchor_weights,
                           spectral_shell=bool(spectral_shell), noise_mix=noise_mix)

    def _prior(self, method: str, realism: float, onset_guard: float, seed: int):
        """DITTO-2's gradient-only terms: the teacher's realism and the onset guard, where their weights ask."""
        terms = [] if method != "ditto2" else (
            ([TeacherRealism(self.teacher, realism, REALISM_SIGMA, seed)] if realism > 0 else []) +
            ([OnsetGuard(onset_guard, cap=ONSET_GUARD_CAP)] if onset_guard > 0 else []))
        if not terms:
            return None
        return lambda mel: sum(term(mel) for term in terms)

    def _search_start(self, render, x_T, seeds, controls, n: int) -> torch.Tensor:
        """Per candidate, the one of ``n`` noises (its seed's and ``n - 1`` derived ones) whose surrogate render has
        the lowest control loss: the optimiser then starts nearer its target and need move the noise less."""
        chosen = []
        for seed, own in zip(seeds, x_T):
            others = self.teacher.initial_noise([seed + j * START_STRIDE for j in range(1, n)]).to(own)
            options = torch.cat([own[None], others])
            with torch.no_grad():  # in chunks: memory stays that of a batch of SEARCH_CHUNK, whatever n
                losses = torch.cat([total_loss(controls, render(part))[0].float()
                                    for part in options.split(SEARCH_CHUNK)])
            chosen.append(options[int(losses.argmin())])
        return torch.stack(chosen)

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
    def _optimise(render, desc: str, sigma: float, x_T, controls, config, callback, progress, moments=None,
                  prior=None):
        with tqdm(total=config.steps, desc=desc, unit="step", disable=not progress) as bar:
            def on_step(step: int, record: dict) -> None:
                bar.set_postfix(loss=f"{min(record['loss']):.4f}", refresh=False)
                if step < config.steps:
                    bar.update()
                if callback is not None:
                    callback(step, record)

            result = optimise_noise(x_T, render, lambda mel: total_loss(controls, mel), config,
                                    sigma=sigma, callback=on_step, moments=moments, prior=prior)
            if result.steps_run < config.steps:  # stopped within the tolerance: the bar ends full, and says so
                bar.total = bar.n = result.steps_run
                bar.set_description(f"{desc}, within tolerance", refresh=False)
            return result

    @staticmethod
    def finish(controls: Sequence[Control], wave: np.ndarray) -> np.ndarray:
        """Each control's finish on the generated clip's audio (a loudness curve's closing gain), in order."""
        for control in controls:
            wave = control.finish(wave)
        return wave

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
        if clips > 1:  # the settings above are the first clip's; the continuations may optimise otherwise
            first.settings["continuations_spectral_shell"] = nxt.settings["spectral_shell"]
            first.settings["continuations_noise_mix"] = nxt.settings["noise_mix"]
        return dataclasses.replace(first, audio=[audio], history=history)
