"""How well a student steers: DITTO-2's intensity control through it as the one-step surrogate.

A student is shipped for the control it gives, and distance to the teacher did not predict that (docs/distillation.md,
the release-G and -H candidates: nearer the teacher, steered worse). So the distillation validation also runs the
control itself: Adam on x_T at the intensity control's own settings for a fixed number of steps on tuning curves
(``TUNING_SEED``, never the acceptance targets), and reports the one-step render's error in dB RMS (median over
the curves; lower is better). A few seconds per validation on one core.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from ditto2 import features as F
from ditto2.bench.targets import TUNING_SEED, fresh_curves
from ditto2.controls import IntensityControl
from ditto2.controls.music import INTENSITY_SCALE_DB
from ditto2.engine.engines import Ditto2Engine
from ditto2.engine.optimise import OptimConfig, optimise_noise
from ditto2.pipeline import FAST_BETA1


@dataclasses.dataclass(frozen=True)
class SteeringCheck:
    curves: int = 4
    steps: int = 30
    first_seed: int = 100  # x_T seeds 100 + i, as the tuning studies use

    def targets(self) -> list[list[float]]:
        return fresh_curves(self.curves, TUNING_SEED)


def steering_error_db(teacher, student: torch.nn.Module, check: SteeringCheck = SteeringCheck()) -> float:
    """Median over the check's curves of the one-step render's intensity error (dB RMS) after ``check.steps``
    Adam steps at the intensity control's settings (its beta1-0.5 rate)."""
    settings = IntensityControl.settings
    config = OptimConfig(steps=check.steps, lr=settings.fast_lr, beta1=FAST_BETA1)
    engine = Ditto2Engine(teacher, student, decode_steps=1)
    flags = [p.requires_grad for p in student.parameters()]
    student.requires_grad_(False)  # gradients for x_T only
    errors = []
    try:
        with torch.enable_grad():
            for i, curve in enumerate(check.targets()):
                control = IntensityControl(F.intensity_curve(curve))
                x_T = teacher.initial_noise([check.first_seed + i]).to(next(student.parameters()).device)
                result = optimise_noise(x_T, engine.render, lambda mel: (control.loss(mel), {}), config,
                                        sigma=engine.sigma_max)
                errors.append(math.sqrt(float(result.best_loss[0])) * INTENSITY_SCALE_DB)
    finally:
        for p, flag in zip(student.parameters(), flags):
            p.requires_grad_(flag)
    return float(np.median(errors))
