"""Controls on the music itself: intensity (loudness curve), melody (pitch class per frame), structure (SSM).

Each loss is scaled so that 1 means "about as far off as an uncontrolled clip" (stated per class), which
makes weights of combined controls comparable; the report's metrics on the final audio stay in natural units.
"""
from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import torch

from ditto2.audio import mel as M
from ditto2.controls.base import Control, ControlSettings
from ditto2.errors import InputError
from ditto2.features import chroma, intensity_db, melody_log_probs, pearson, ssm, structure_repeats_from_string
from ditto2.features.intensity import gain_to_curve
from ditto2.features.melody_targets import Melody

INTENSITY_SCALE_DB = 10.0  # loss 1 = 10 dB RMS error
MELODY_CHANCE_NATS = float(np.log(12.0))  # loss 1 = the NLL of a uniform pitch-class guess
# The melody's pitch class must reach a floor of the frame's pitch-class distribution, not all of it (DITTO's NLL),
# and that distribution is sharpened (p ~ chroma^2, temperature 0.5), so the target need only lead the other classes
# rather than own the chroma: the accompaniment stays. 16 tuning melodies (session O): transcribed accuracy 0.794
# against 0.743 for the share floor of 0.4 used before (temperature 1), notes kept 1.02x against 0.65x, peakiness
# 1.31x against 1.93x (bare tones), FAD 1.92x against 1.74x (within chance). docs/generation.md.
MELODY_FLOOR = 0.6
MELODY_TEMPERATURE = 0.5  # with a floor; DITTO's NLL (floor None) keeps temperature 1
MELODY_WINDOW = 0  # frames either side within which a frame's target may be met (0: that frame itself)
INTENSITY_TOLERANCE_DB = 0.4  # DITTO-2 stops once the loudness is this close (RMS); 0.3 until session K
STRUCTURE_SCALE = 0.1  # loss 1 = an SSM mean squared error of 0.1 (a random clip vs "ABAB" is ~0.1-0.2)
# A "same section" cell need only reach 0.85 and a "different" one 0.15: the exact 0/1 blocks were met by sections that
# hold one timbre (16 tuning diagrams: notes 0.79x -> 0.94x with 0.3, docs/generation.md "Structure: a hinge"). 0.3
# until session P, where a light output anchor on every frame came in beside it (``StructureControl.settings``): the
# anchor keeps the notes, the tighter hinge the form (docs/generation.md "Structure: a light anchor"). Without the
# anchor (DITTO, a mix with intensity) the tighter hinge costs the music, so there it stays 0.3 (session Q).
STRUCTURE_MARGIN = 0.15
STRUCTURE_MARGIN_UNANCHORED = 0.3


def _curve(target, frames_name: str) -> torch.Tensor:
    target = torch.as_tensor(np.asarray(target, dtype=np.float32))
    if target.dim() != 1 or not torch.isfinite(target).all():
        raise InputError(f"{frames_name}: expected a finite (frames,) curve, got shape {tuple(target.shape)}")
    return target


def _every_frame() -> np.ndarray:
    """``free_weights`` of a control that looks at every frame but asks little of each (a pitch class, a section's
    timbre): a light anchor holds every frame, so the seed's notes and onsets stay within what the target asks."""
    return np.ones(M.CLIP_FRAMES, dtype=np.float32)


def _check_frames(name: str, mel: torch.Tensor, frames: int) -> None:
    if mel.shape[-1] != frames:
        raise InputError(f"{name} target has {frames} frames but the generated mel has {mel.shape[-1]}")


class IntensityControl(Control):
    """Loudness curve in dB (``features.intensity_curve``): L2 (DITTO's loss) or 1 - Pearson's r (shape only)."""

    name = "intensity"
    # Adam's beta1 0.5 at 3e-2 (24 tuning curves, 40 steps: 0.18 dB² against 0.88 with beta1 0.9 at 2e-2). A step
    # budget, not a count: stop within 0.4 dB RMS of the target, else go on to 80 steps (release K, 24 tuning curves:
    # 35 steps on average against 41 at 0.3 dB, mean decoded error 0.17 against 0.12 dB²; on fresh curves the final
    # audio stays under DITTO's error, docs/results.md). With it the 1-step decode, the surrogate itself, beats the
    # 2-step decode + 5 refinement steps on fresh curves: 0.31 against 0.38 dB² (DITTO 0.33), as many notes, faster.
    # The refinement stays for a 2-step decode asked for with --decode-steps 2. Adam moves a mix of 3 white noises
    # per latent frame, not the noise itself (session P, 32 tuning curves: 0.359 against 0.398 dB² with every
    # musicality measure kept, notes 0.93x against 0.88x; docs/generation.md "The noise mix"). A smooth gain of at
    # most 12 dB on the audio finishes the curve (session U: 0.335 -> 0.145 dB² on 32 fresh curves, 0.350 -> 0.133 on
    # 32 tuning, every musicality measure as it was; the gain moved the level by 4.5 dB at the median, never 6).
    # Asking the noise for half the swing (swing 0.5) kept more notes on lone curves but fewer in mixes, FAD worse.
    settings = ControlSettings(fast_lr=3e-2, stop_below=(INTENSITY_TOLERANCE_DB / INTENSITY_SCALE_DB) ** 2, budget=80,
                               decode_steps=1, refine=True, noise_mix=3, swing=1.0, finish_db=12.0)
    sidecar_keys = ("intensity",)

    def __init__(self, target_db, weight: float = 1.0, mode: str = "l2", swing: float | None = None,
                 finish_db: float | None = None):
        """``swing``: the share of the curve's swing about its mean the noise is asked for, in [0, 1]; ``finish_db``:
        the most the gain that finishes the curve on the audio may move it (0: none). None: the engine's (DITTO-2:
        ``settings``; DITTO: the paper's 1 and 0, the whole curve from the noise)."""
        super().__init__(weight)
        if mode not in ("l2", "corr"):
            raise InputError(f"intensity mode must be 'l2' or 'corr', got {mode!r}")
        if swing is not None and not 0 <= swing <= 1:
            raise InputError(f"intensity swing must lie in [0, 1], got {swing!r}")
        if finish_db is not None and not (math.isfinite(finish_db) and finish_db >= 0):
            raise InputError(f"intensity finish must be a non-negative number of dB, got {finish_db!r}")
        if mode == "corr" and (swing, finish_db) != (None, None):
            raise InputError("intensity swing and finish apply to the l2 loss (the correlation has no level)")
        self.target, self.mode = _curve(target_db, "intensity target"), mode
        self.asked = (swing, finish_db)
        self.swing, self.finish_db = 1.0 if swing is None else swing, 0.0 if finish_db is None else finish_db
        if mode == "corr":  # the tolerance is in dB and the budget was measured with it: the fixed 40 steps and the
            # 2-step decode + refinement of the L2 loss before the budget (a shape-only loss was never tuned)
            self.settings = dataclasses.replace(self.settings, stop_below=None, budget=None, decode_steps=2)

    def loss(self, mel: torch.Tensor) -> torch.Tensor:
        _check_frames(self.name, mel, self.target.numel())
        level, target = intensity_db(mel), self.target.to(mel)
        if self.mode == "corr":
            return 1.0 - pearson(level, target)
        return ((level - self.asked_of_music(target)) / INTENSITY_SCALE_DB).square().mean(-1)

    def asked_of_music(self, target):
        """The curve the noise is asked for: ``swing`` of the target's swing about its mean (tensor or array)."""
        return target.mean() + self.swing * (target - target.mean())

    def for_engine(self, method: str) -> IntensityControl:
        """DITTO-2 (the L2 loss) asks the noise for ``settings.swing`` of the curve's swing about its mean and
        finishes the curve with a gain of at most ``settings.finish_db`` on the audio; DITTO keeps the paper's; what
        the caller asked for stands for either."""
        if self.mode != "l2":
            return self
        default = (self.settings.swing, self.settings.finish_db) if method == "ditto2" else (1.0, 0.0)
        twin = copy.copy(self)
        twin.swing, twin.finish_db = (d if a is None else a for a, d in zip(self.asked, default))
        return twin

    def finish(self, wave: np.ndarray) -> np.ndarray:
        if self.finish_db <= 0:
            return wave
        return gain_to_curve(wave, self.target.numpy(), self.finish_db)

    def engine_record(self) -> dict:
        return {"intensity_swing": self.swing, "intensity_finish_db": self.finish_db}

    def record(self) -> dict:
        return {"intensity": {"db": self.target.tolist()}}

    def plot_panel(self, ax, mel: torch.Tensor, seconds: np.ndarray) -> None:
        target = self.target.numpy()
        ax.plot(seconds, target, label="target", color="black")
        if self.swing != 1 and self.mode == "l2":  # the rest comes from the gain on the audio (``finish``)
            ax.plot(seconds, self.asked_of_music(target), label=f"asked of the music ({self.swing:g} of the swing)", color="gray", ls="--")
        ax.plot(seconds, intensity_db(mel)[0].numpy(), label="achieved (mel)", color="tab:orange")
        ax.set_ylabel("dB", fontsize=7)
        ax.legend(fontsize=6)


class MelodyControl(Control):
    """Pitch class per frame (``features.melody_from_*``): over voiced frames, a hinge on the chroma's
    log-probability of the target pitch class at ``floor`` (DITTO's NLL with ``floor=None``)."""

    name = "melody"
    # 1.5e-1 with either momentum; beta1 0.5 wins (6 tuning melodies, 40 steps: decoded accuracy 0.94 against
    # 0.86). No refinement: it lowers the chroma loss but not the transcribed accuracy (docs/results.md).
    # With the hinge the loss can be met: stop within 0.005 (at most the 40 steps): 16 tuning melodies keep their
    # accuracy (-0.004 +- 0.007 per melody) in a median 13 steps, with more music kept (peakiness 1.6x against 2.2x,
    # notes 0.70x against 0.62x); a tolerance of 0.02 lost 0.057 of accuracy (docs/generation.md).
    # Since session Q a very light output anchor on every frame (weight 0.005, ``free_weights``): 32 tuning melodies
    # keep their accuracy (0.808 against 0.799) nearer real music (FAD 1.69x against 1.89x) with every other measure
    # kept; 0.01 went further (FAD 1.50x) but lost attack (peakiness 0.86x) and, on fresh melodies, some accuracy;
    # heavier anchors trade accuracy for FAD (docs/generation.md).
    # Beside intensity, melody takes intensity's 1-step decode (the surrogate the loudness was met on): 16 fresh pairs,
    # intensity 0.405 against 1.47 dB^2 at the same melody (0.595 against 0.596) and music (notes 0.76x against
    # 0.78x, FAD 1.51x against 1.57x); alone it keeps 2 steps (1 step: accuracy 0.791 against 0.812, attack 0.87x).
    settings = ControlSettings(lr=1.5e-1, fast_lr=1.5e-1, ditto_long=True, stop_below=0.005, budget=40, anchor=0.005,
                               mix_decode_steps=1)
    sidecar_keys = ("melody",)

    def __init__(self, melody: Melody, weight: float = 1.0, temperature: float | None = None,
                 floor: float | None = MELODY_FLOOR, window: int = MELODY_WINDOW):
        """``floor``: once the target pitch class holds this probability of a frame's pitch-class distribution
        (``features.melody_log_probs`` at ``temperature``), the frame is met (a hinge on the log-probability) and
        the rest of the music is left alone; None: DITTO's NLL, which pushes every frame towards the target pitch
        class alone: a few loud sustained tones (docs/generation.md). ``temperature`` None: MELODY_TEMPERATURE
        with a floor, 1 (the chroma's own shares) with the NLL. ``window``: a frame's target counts as met where it
        leads any frame within this many either side (the best of them), so a note may start or end a little
        early or late instead of the student gliding to the exact frame (docs/generation.md)."""
        super().__init__(weight)
        pc = torch.as_tensor(melody.pitch_class, dtype=torch.long)
        if not (pc >= 0).any():
            raise InputError("melody target: no voiced frames")
        if floor is not None and not 0 < floor < 1:
            raise InputError(f"melody floor must lie in (0, 1), got {floor!r}")
        if not (isinstance(window, (int, np.integer)) and window >= 0):
            raise InputError(f"melody window must be a whole number of frames >= 0, got {window!r}")
        self.pitch_class, self.temperature, self.floor, self.window = pc, temperature, floor, int(window)

    def loss(self, mel: torch.Tensor) -> torch.Tensor:
        _check_frames(self.name, mel, self.pitch_class.numel())
        temperature = self.temperature
        if temperature is None:
            temperature = MELODY_TEMPERATURE if self.floor is not None else 1.0
        log_probs = melody_log_probs(mel, temperature)  # (B, 12, T)
        voiced = self.pitch_class >= 0
        target = self.pitch_class.clamp(min=0).to(mel.device)
        picked = _best_within(log_probs, target, self.window)[:, voiced]  # (B, voiced)
        if self.floor is not None:
            return (math.log(self.floor) - picked).clamp(min=0).mean(-1) / MELODY_CHANCE_NATS
        return -picked.mean(-1) / MELODY_CHANCE_NATS

    def free_weights(self) -> np.ndarray:
        return _every_frame()

    def record(self) -> dict:
        return {"melody": {"pitch_class": self.pitch_class.tolist()}}

    def plot_panel(self, ax, mel: torch.Tensor, seconds: np.ndarray) -> None:
        target = self.pitch_class.numpy().astype(float)
        ax.plot(seconds, np.where(target >= 0, target, np.nan), ".", markersize=2, label="target", color="black")
        ax.plot(seconds, chroma(mel)[0].argmax(0).numpy(), ".", markersize=1, alpha=0.5, label="achieved (chroma)",
                color="tab:orange")
        ax.set_ylabel("pitch class", fontsize=7)
        ax.legend(fontsize=6)


def _best_within(log_probs: torch.Tensor, target: torch.Tensor, window: int) -> torch.Tensor:
    """(B, 12, T) log-probabilities, (T,) classes -> (B, T): each frame's target class at its best frame within
    ``window`` frames either side (the frame itself at 0)."""
    batch, _, frames = log_probs.shape
    if window == 0:
        return log_probs.gather(-2, target.expand(batch, 1, -1)).squeeze(-2)
    padded = torch.nn.functional.pad(log_probs, (window, window), value=-math.inf)
    near = padded.unfold(-1, 2 * window + 1, 1)  # (B, 12, T, 2w + 1): frame t's neighbours
    index = target.view(1, 1, frames, 1).expand(batch, 1, frames, 2 * window + 1)
    return near.gather(1, index).squeeze(1).amax(-1)


class StructureControl(Control):
    """Target self-similarity matrix (``features.structure_repeats_from_string`` with its mask, or
    ``structure_from_string`` / ``_from_audio``): L2 over the cells the mask keeps (all without one).

    ``margin``: a hinge, each cell's error counts only beyond it, so a section may move within it instead of
    holding one timbre (0: plain L2, DITTO's)."""

    name = "structure"
    # DITTO-2 stops once the hinge is nearly met (16 tuning diagrams: 1.4 s a clip instead of 6.3, SSM MSE 0.026);
    # since session P with a light output anchor on every frame (weight 0.1, ``free_weights``), which rarely lets it
    # stop, so the budget is 56 steps (under 3 s a clip): on 16 tuning diagrams, with the margin at 0.15, notes 0.93x
    # against 0.83x, FAD 1.08x against 1.25x, onset peakiness 0.84x against 0.90x, at a clearer form (SSM r 0.969
    # against 0.953; docs/generation.md "Structure: a light anchor"). Since session S it starts from the best of 16
    # seed-derived noises (32 tuning diagrams: every musicality measure kept, onset peakiness 0.99x against 0.87x, at
    # the same form; docs/generation.md "The start search").
    settings = ControlSettings(steps=56, ditto_long=True, stop_below=0.001, budget=56, anchor=0.1, start_search=16)
    sidecar_keys = ("structure",)

    def __init__(self, target_ssm, weight: float = 1.0, mask=None, margin: float | None = None):
        super().__init__(weight)
        if margin is not None and not margin >= 0:
            raise InputError(f"structure margin must be non-negative, got {margin!r}")
        # None: STRUCTURE_MARGIN beside DITTO-2's anchor, STRUCTURE_MARGIN_UNANCHORED without it (``unanchored``)
        self.margin_given = margin is not None
        self.margin = STRUCTURE_MARGIN if margin is None else float(margin)
        target = torch.as_tensor(np.asarray(target_ssm, dtype=np.float32))
        if target.dim() != 2 or target.shape[0] != target.shape[1] or not torch.isfinite(target).all():
            raise InputError(f"structure target: expected a finite square matrix, got shape {tuple(target.shape)}")
        self.target, self.mask = target, None
        if mask is not None:
            self.mask = torch.as_tensor(np.asarray(mask, dtype=np.float32))
            if self.mask.shape != target.shape or not (self.mask >= 0).all() or not self.mask.sum() > 0:
                raise InputError(f"structure mask: expected non-negative weights of the target's shape "
                                 f"{tuple(target.shape)}, not all 0")

    @classmethod
    def from_diagram(cls, diagram: str, weight: float = 1.0) -> StructureControl:
        """A phrase diagram such as "AABA" as a repetition target (``structure_repeats_from_string``)."""
        target, mask = structure_repeats_from_string(diagram)
        return cls(target, weight, mask)

    def loss(self, mel: torch.Tensor) -> torch.Tensor:
        achieved = ssm(mel)
        if achieved.shape[-1] != self.target.shape[-1]:
            raise InputError(f"structure target is {self.target.shape[-1]} cells wide but the generated mel gives "
                             f"{achieved.shape[-1]}")
        error = ((achieved - self.target.to(mel)).abs() - self.margin).clamp(min=0).square()
        if self.mask is None:
            return error.mean((-2, -1)) / STRUCTURE_SCALE
        mask = self.mask.to(mel)
        return (error * mask).sum((-2, -1)) / mask.sum() / STRUCTURE_SCALE

    def free_weights(self) -> np.ndarray:
        return _every_frame()  # the form asks for coarse changes of timbre per section

    def unanchored(self) -> StructureControl:
        """The looser default hinge where the anchor is off; a margin given explicitly is kept."""
        if self.margin_given:
            return self
        loose = copy.copy(self)
        loose.margin = STRUCTURE_MARGIN_UNANCHORED
        return loose

    def record(self) -> dict:
        mask = {} if self.mask is None else {"mask": self.mask.tolist()}
        return {"structure": {"ssm": self.target.tolist(), "margin": self.margin, **mask}}

    def plot_panel(self, ax, mel: torch.Tensor, seconds: np.ndarray) -> None:
        n = self.target.shape[-1]
        both = np.concatenate([self.target.numpy(), ssm(mel)[0].numpy()], axis=1)
        ax.imshow(both, origin="lower", cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.axvline(n - 0.5, color="white")
