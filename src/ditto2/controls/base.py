"""The Control interface: a differentiable loss on the generated mel, plus what evaluation needs.

A control sees the normalised log-mel of the generated clip, (B, 80, T) in [-1, 1] (``audio/mel.py``),
and returns one loss per clip, (B,), so the engines can track the best iterate of each candidate.
``record()`` is the control's entry in the sidecar JSON written beside each generated file; ``ditto2 eval run``
scores the final audio against it with extractors independent of the mel features optimised here.

Sidecar entries (``targets`` of ``OUT.json``; frames are mel frames, 256 samples each at 22.05 kHz). When the
final audio was assembled (stitched into a reference, cut to a loop), the sidecar's top-level ``"clip"`` names the
generated clip alone, and the music targets (intensity, melody, structure, text) describe that file:

* ``intensity``: ``{"db": [T floats]}``
* ``melody``:    ``{"pitch_class": [T ints, -1 = unvoiced]}``
* ``structure``: ``{"ssm": [[N floats] * N], "margin": float, "mask": [[N floats] * N] (optional)}`` (the margin
  is the loss's hinge, recorded; the evaluation scores the plain SSM error)
* ``context``:   ``{"audio": raw clip file, "reference": file, "mask": [T 0/1], "reference_mask": [R 0/1]}``
  (paint and loop controls: the generated clip must match the reference where the masks are set)
* ``seams``:     ``[frame, ...]`` boundaries in the final audio where two sources were joined
* ``loop``:      ``true`` when the final audio is meant to repeat seamlessly (seam = its end to its start)
* ``text``:      ``{"prompt": str}``
"""
from __future__ import annotations

import abc
import dataclasses
from typing import ClassVar

import numpy as np
import torch

from ditto2.errors import InputError


@dataclasses.dataclass(frozen=True)
class ControlSettings:
    """How the engines optimise for a control, chosen per control by measurement on tuning targets
    (docs/results-history.md "Choosing the optimiser settings", docs/generation.md "Keeping the music"); the pipeline
    combines them for a mix of controls (``Pipeline.optim_config``)."""

    lr: float = 2e-2                # DITTO-2's Adam rate with beta1 0.9
    fast_lr: float | None = None    # DITTO-2's rate with beta1 0.5, where that momentum was measured to win
    steps: int = 40                 # DITTO-2's surrogate steps
    stop_below: float | None = None  # DITTO-2 may stop once the control's loss is at most this ...
    budget: int | None = None       # ... and then runs up to this many steps instead of ``steps``
    decode_steps: int = 2           # DITTO-2's student decode steps alone
    mix_decode_steps: int | None = None  # ... and beside other controls (None: the same); a mix takes the most
    refine: bool = False            # refine through the k-step decode (measured to help this control)
    anchor: float | None = None     # DITTO-2's output-anchor weight on the frames the control leaves free
    spectral_shell: bool = False    # DITTO-2 keeps the noise's octave-band powers (engine.optimise.SpectralShell)
    noise_mix: int = 0              # DITTO-2 optimises a mix of this many white noises (engine.optimise.NoiseMix)
    start_search: int = 1           # DITTO-2 starts from the best of this many seed-derived noises (Pipeline.generate)
    ditto_long: bool = False        # DITTO's 150 steps instead of 70 (the paper's, for melody and structure)
    swing: float = 1.0              # DITTO-2 asks the noise for this share of a loudness curve's swing about its mean
    finish_db: float = 0.0          # ... and a smooth gain of at most this many dB on the clip's audio finishes it


class Control(abc.ABC):
    """One target for the generated clip. Subclasses set ``name`` and implement ``loss``; ``settings`` (how to
    optimise for it), ``sidecar_keys`` (the sidecar entries its ``record`` and assembly write, each scored by
    ``ditto2 eval run``'s scorer of that key) and ``plot_panel`` (its target against the achieved feature)
    make it a complete control: the pipeline, the report and the evaluation read them from here."""

    name: str = "control"
    settings: ControlSettings = ControlSettings()  # per class; an instance may adapt it to its own mode
    sidecar_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, weight: float = 1.0):
        if not weight > 0:
            raise InputError(f"{self.name} weight must be positive, got {weight!r}")
        self.weight = float(weight)

    @abc.abstractmethod
    def loss(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 80, T) normalised mel -> (B,) loss, differentiable in ``mel``."""

    def record(self) -> dict:
        """Entries for the sidecar's ``targets`` (see the module docstring)."""
        return {}

    def assemble(self, wave: np.ndarray) -> np.ndarray:
        """The final audio from the generated clip's audio (e.g. stitched into a reference); default: as is."""
        return wave

    def seams(self) -> list[int]:
        """Frames of the assembled audio where two sources meet (for the seam metric)."""
        return []

    def free_weights(self) -> np.ndarray | None:
        """(T,) per mel frame, how free of this control the music is: 0 where its loss acts, up to 1 where it does
        not look at all. The optimiser may keep the free frames where the seed's noise put them (the output
        anchor, ``engine.anchor``), so a loss on a few windows cannot wash out the rest of the clip. None (the
        default): the control may change every frame, and nothing is anchored."""
        return None

    def unanchored(self) -> Control:
        """This control as it runs where DITTO-2's output anchor is off (DITTO, a mix with a control that may change
        every frame, ``anchor=False``): by default the same; a loss tuned beside the anchor may loosen without it."""
        return self

    def for_engine(self, method: str) -> Control:
        """This control as ``method`` runs it: by default the same; DITTO-2 may ask the noise for less of a target
        and finish the rest on the audio (``finish``), where that was measured to keep more music."""
        return self

    def finish(self, wave: np.ndarray) -> np.ndarray:
        """The generated clip's audio after the vocoder, before assembly: default as is."""
        return wave

    def engine_record(self) -> dict:
        """Entries for the sidecar's ``settings``: how the engine ran this control, where that differs by engine."""
        return {}

    def plot_panel(self, ax, mel: torch.Tensor, seconds: np.ndarray) -> None:
        """Draw the target against the feature of ``mel`` (1, 80, T) on a matplotlib axis, where the control can."""
        raise NotImplementedError(f"the {self.name} control has no plot panel")

    @classmethod
    def has_panel(cls) -> bool:
        return cls.plot_panel is not Control.plot_panel

    loops: bool = False  # the assembled audio is meant to repeat seamlessly


def total_loss(controls: list[Control], mel: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted sum of the controls' losses, (B,), and each control's own (unweighted) loss."""
    if not controls:
        raise InputError("no controls given: add at least one target (or generate with --method none)")
    parts = {}
    # The controls' features (NNLS spectra, chroma, dB levels) run in fp32 even under a bf16 autocast: rounding
    # the mel to bf16 inside them costs more accuracy than the networks' bf16 does (docs/results.md).
    with torch.autocast(mel.device.type, enabled=False):
        mel = mel.float()
        for control in controls:
            key = control.name if control.name not in parts else f"{control.name}_{len(parts)}"
            parts[key] = control.loss(mel)
    total = sum(c.weight * parts[k] for c, k in zip(controls, parts))
    return total, parts
