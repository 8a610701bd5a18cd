"""``ditto2 sample``: generate with the teacher (students join with the distillation issue)."""
from __future__ import annotations


def add_commands(sub) -> None:
    pass
