"""The condition grammar of both benches: how a condition is named on the command line and what it generates with.

==========================  ======================================================================================
name                        what generates the clip
==========================  ======================================================================================
``none-teacher``            the teacher's DDIM sample of the seed's noise (no control)
``none-MODEL-kK``           the student's K-step decode of the seed's noise (``method="none"``)
``ditto``                   DITTO: optimisation through the teacher's 20-step DDIM chain
``ditto2-MODEL-kK[-rR]``    DITTO-2 through the one-step student, a K-step decode, R refinement steps through it
``cfg-W``                   the text-conditioned teacher, classifier-free guidance at scale W on the prompt
``both-MODEL-kK``           DITTO-2 on the text-conditioned student (the prompt as its condition)
==========================  ======================================================================================

MODEL is ``cd`` or ``ctd``, K 1-8 decode steps, R >= 1 only with K > 1. Each bench accepts its own subset
(``PAPER``: ``ditto2 bench``; ``TEXT``: ``ditto2 bench-text``).
"""
from __future__ import annotations

import dataclasses
import math

from ditto2.distill.samplers import check_steps
from ditto2.distill.student import METHODS as DISTILL_METHODS
from ditto2.engine import DITTO_STEPS
from ditto2.errors import InputError

STUDENT_MODELS = DISTILL_METHODS  # the students: cd, ctd
STUDENT_METHODS = ("none", "ditto2", "both")  # the methods written METHOD-MODEL-kK


@dataclasses.dataclass(frozen=True)
class Grammar:
    """The conditions one bench runs: its methods, whether DITTO-2 may refine (-rR), its forms for error messages."""

    methods: tuple[str, ...]
    refine: bool
    expected: str


PAPER = Grammar(("none", "ditto", "ditto2"), True,
                "ditto, none-teacher, none-MODEL-kK, ditto2-MODEL-kK or ditto2-MODEL-kK-rR (MODEL cd or ctd, K 1-8, "
                "R refinement steps through a K > 1 decode), e.g. ditto2-ctd-k4")
TEXT = Grammar(("none", "cfg", "ditto2", "both"), False,
               "none-teacher, cfg-W (W >= 0, e.g. cfg-3), none-MODEL-kK, ditto2-MODEL-kK or both-MODEL-kK "
               "(MODEL cd or ctd, K 1-8)")


@dataclasses.dataclass(frozen=True)
class Condition:
    method: str                  # none | ditto | ditto2 | cfg | both
    model: str = "teacher"       # teacher | cd | ctd
    decode_steps: int = DITTO_STEPS
    refine_steps: int = 0        # DITTO-2: Adam steps through the k-step decode after the surrogate
    cfg: float | None = None     # cfg-W: the guidance scale

    @property
    def name(self) -> str:
        if self.method == "ditto":
            return "ditto"
        if self.method == "cfg":
            return f"cfg-{self.cfg:g}"
        name = f"{self.method}-{self.model}" + ("" if self.model == "teacher" else f"-k{self.decode_steps}")
        return name + (f"-r{self.refine_steps}" if self.refine_steps else "")

    @property
    def pipeline_method(self) -> str:
        """The ``Pipeline.generate`` method: cfg only samples (with the prompt), both is DITTO-2 (with the prompt)."""
        return {"cfg": "none", "both": "ditto2"}.get(self.method, self.method)

    @property
    def optimises(self) -> bool:
        return self.pipeline_method != "none"

    @property
    def conditions_on_text(self) -> bool:
        """Whether the model takes the prompt's embedding as its condition."""
        return self.method in ("cfg", "both")

    @classmethod
    def parse(cls, text: str, grammar: Grammar = PAPER) -> Condition:
        parts = text.strip().split("-")
        condition = _teacher_condition(parts) or _guided_condition(parts) or _student_condition(parts)
        if condition is None or condition.method not in grammar.methods or (condition.refine_steps and not grammar.refine):
            raise InputError(f"condition {text!r}: expected {grammar.expected}")
        return condition


def parse_conditions(text: str, grammar: Grammar = PAPER) -> list[Condition]:
    """A comma list of conditions, each named once."""
    conditions = [Condition.parse(c, grammar) for c in text.split(",") if c.strip()]
    if not conditions:
        raise InputError("--conditions is empty")
    names = [c.name for c in conditions]
    if len(set(names)) < len(names):
        raise InputError(f"--conditions names a condition twice: {', '.join(names)}")
    return conditions


def _teacher_condition(parts: list[str]) -> Condition | None:
    if parts == ["ditto"]:
        return Condition("ditto")
    return Condition("none") if parts == ["none", "teacher"] else None


def _guided_condition(parts: list[str]) -> Condition | None:
    """["cfg", "3"] -> cfg-3; None if it is not that form or W is not a finite number >= 0."""
    if len(parts) != 2 or parts[0] != "cfg":
        return None
    try:
        scale = float(parts[1])
    except ValueError:
        return None
    return Condition("cfg", cfg=scale) if math.isfinite(scale) and scale >= 0 else None


def _student_condition(parts: list[str]) -> Condition | None:
    """["ditto2", "ctd", "k4"(, "r3")] -> ditto2-ctd-k4(-r3); None if it is not that form."""
    refine = 0
    if len(parts) == 4 and parts[0] == "ditto2":
        refine, parts = _refine_suffix(parts[3]), parts[:3]
    if (refine is None or len(parts) != 3 or parts[0] not in STUDENT_METHODS or parts[1] not in STUDENT_MODELS
            or parts[2][:1] != "k"):
        return None
    try:
        steps = check_steps(int(parts[2][1:]))
    except (ValueError, InputError):
        return None
    return None if refine and steps == 1 else Condition(parts[0], parts[1], steps, refine)


def _refine_suffix(part: str) -> int | None:
    """"r4" -> 4 (refinement steps through the decode); None if it is not that form."""
    if part[:1] != "r" or not part[1:].isdecimal() or int(part[1:]) < 1:
        return None
    return int(part[1:])
