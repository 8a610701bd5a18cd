"""Distilled students of the teacher (CD and CTD), their losses and their samplers.

No data and no training loop here; ``train/distill.py`` joins these with ``data/``.
"""
from ditto2.distill.losses import CDConfig, CTDConfig, cd_loss, ctd_loss, distance, teacher_step
from ditto2.distill.samplers import (MAX_DECODE_STEPS, check_steps, decode_sigmas, pinned_noise, sample_cd_multistep,
                                     sample_ctd, sample_one_step, sample_student)
from ditto2.distill.student import METHODS, Student, StudentConfig

__all__ = [
    "CDConfig", "CTDConfig", "cd_loss", "ctd_loss", "distance", "teacher_step",
    "MAX_DECODE_STEPS", "check_steps", "decode_sigmas", "pinned_noise", "sample_cd_multistep", "sample_ctd",
    "sample_one_step", "sample_student",
    "METHODS", "Student", "StudentConfig",
]
