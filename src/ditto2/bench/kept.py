"""``ditto2 bench``'s "quality kept": each row's musicality and FAD as ratios to the uncontrolled row (``none-...``)
of the same task and model, its baseline."""
from __future__ import annotations

from ditto2.bench.conditions import Condition
from ditto2.eval.musicality import kept


def quality_figures(row: dict) -> dict:
    """The figures a row keeps or loses: the musicality medians and the FAD."""
    return {**row["musicality"], "fad": row["fad"]}


def baseline_row(row: dict, rows: list[dict]) -> dict | None:
    """The uncontrolled row of the same task and model: with the same decode steps if there is one, else the
    first listed; None if the bench ran no uncontrolled condition of that model."""
    target = Condition.parse(row["condition"])
    conditions = {r["condition"]: Condition.parse(r["condition"]) for r in rows}
    uncontrolled = [r for r in rows if r["task"] == row["task"] and conditions[r["condition"]].method == "none"
                    and conditions[r["condition"]].model == target.model]
    uncontrolled.sort(key=lambda r: conditions[r["condition"]].decode_steps != target.decode_steps)  # stable sort
    return uncontrolled[0] if uncontrolled else None


def add_kept(rows: list[dict]) -> None:
    """Each row's "baseline" (the uncontrolled condition it is compared with) and its "kept" ratios to it."""
    for row in rows:
        base = baseline_row(row, rows)
        row["baseline"] = base["condition"] if base else None
        row["kept"] = kept(quality_figures(row), quality_figures(base)) if base else None
