"""The results.md tables of both benches: ``paper_markdown`` (``ditto2 bench``, one table per task) and
``text_markdown`` (``ditto2 bench-text``, one summary table, then one table per condition)."""
from __future__ import annotations

from ditto2.bench.kept import quality_figures
from ditto2.bench.targets import METRICS_OF_TASK
from ditto2.eval.musicality import MEASURES, TITLES

GROUP_NAMES = {"training": "training words", "held-out": "held-out words", "other": "other words"}


def cell(value, spec: str = ".3g") -> str:
    """A number as a table cell, "–" where there is none."""
    return "–" if value is None else format(value, spec)


def percent(value) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table's lines (an empty cell is written as one space)."""
    return [_row(header), "|" + "---|" * len(header)] + [_row(r) for r in rows]


def _row(cells: list[str]) -> str:
    return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"


# --- ditto2 bench ---------------------------------------------------------------------------------------------

def _with_kept(row: dict, figure: str) -> str:
    """A figure with its "kept" ratio to the uncontrolled row in brackets (none without a baseline)."""
    ratio = (row["kept"] or {}).get(figure)
    return cell(quality_figures(row)[figure]) + ("" if ratio is None else f" ({cell(ratio, '.2g')})")


def paper_markdown(result: dict) -> str:
    lines = [f"{result['n']} clips per row (one 5.94 s clip each, seeds from {result['seed']}); FAD against "
             f"{result['n_reference']} held-out real clips. Real-time factor = audio s / wall s (> 1 is faster "
             "than real time). Musicality: median over the clips (docs/evaluation.md). In brackets, kept = this row "
             "/ the uncontrolled row of the same model (`baseline` in results.json; FAD: > 1 is further from real).",
             ""]
    figures = ["fad", *MEASURES]
    for task in dict.fromkeys(r["task"] for r in result["rows"]):
        metrics = METRICS_OF_TASK[task]
        header = (["condition", "s / clip", "real-time factor"] + [title for _, title in metrics]
                  + [f"{TITLES[f]} (kept)" for f in figures] + ["peak RSS (MB)"])
        rows = [[r["condition"], f"{r['seconds_per_clip']:.2f}", f"{r['real_time_factor']:.2f}"]
                + [cell(r["metrics"].get(key)) for key, _ in metrics] + [_with_kept(r, f) for f in figures]
                + [f"{r['peak_rss_mb']:.0f}"] for r in result["rows"] if r["task"] == task]
        lines += [f"### {task}", "", *table(header, rows), ""]
    return "\n".join(lines)


# --- ditto2 bench-text ----------------------------------------------------------------------------------------

def _text_scores(summary: dict) -> list[str]:
    """The CLAP and attribute cells of one prompt, one group or one whole condition."""
    return [cell(summary["clap_score"], ".3f"), cell(summary["control_clap_score"], ".3f")] + [
        percent(summary[f"{a}_accuracy"]) for a in ("family", "tempo", "mode", "attribute")]


def text_markdown(result: dict) -> str:
    n_prompts, seeds = len(result["prompts"]), result["seeds"]
    lines = [(f"{n_prompts} prompts × {seeds} seeds per condition (one 5.94 s clip each, seeds from "
             f"{result['seed']}; the same initial noise in every condition). CLAP = cosine of the **evaluation** "
             "model (never optimised against); control = the control model's cosine (the one DITTO-2 maximises). "
             "Attributes = zero-shot family / tempo band / mode of the evaluation model against what the prompt "
             f"states. FAD ({result['embedder']}) against {result['n_reference']} held-out real clips. "
             "Seconds per clip: median, batch 1."), ""]
    header = ["condition", "CLAP (training words)", "CLAP (held-out words)", "CLAP (all)", "control CLAP",
              "attributes (training)", "attributes (held-out)", "attributes (all)", "FAD", "s / clip"]
    rows = []
    for r in result["rows"]:
        training, held_out = r["by_group"].get("training", {}), r["by_group"].get("held-out", {})
        rows.append([r["condition"], cell(training.get("clap_score"), ".3f"), cell(held_out.get("clap_score"), ".3f"),
                     cell(r["clap_score"], ".3f"), cell(r["control_clap_score"], ".3f"),
                     percent(training.get("attribute_accuracy")), percent(held_out.get("attribute_accuracy")),
                     percent(r["attribute_accuracy"]), cell(r["fad"], ".2f"), f"{r['seconds_per_clip']:.2f}"])
    lines += [*table(header, rows), ""]
    for r in result["rows"]:
        stages = ", ".join(f"{k} {v:.2f} s" for k, v in r["stages_s"].items())
        rows = [[p["prompt"], p["group"], *_text_scores(p)] for p in r["by_prompt"]]
        rows += [[f"**mean, {GROUP_NAMES[g]}**", "", *_text_scores(s)] for g, s in r["by_group"].items()]
        rows.append(["**mean, all**", "", *_text_scores(r)])
        lines += [f"### {r['condition']}", "",
                  f"FAD {cell(r['fad'], '.2f')}; {r['seconds_per_clip']:.2f} s per clip (median; stages: {stages}).", "",
                  *table(["prompt", "words", "CLAP", "control CLAP", "family", "tempo", "mode", "attributes"], rows),
                  ""]
    return "\n".join(lines)
