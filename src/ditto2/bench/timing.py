"""A condition's timing figures from its clips' timing records (``ditto2.timing.StageTimer.report``): medians, so
one slow clip (a page fault, a busy core) does not move the row."""
from __future__ import annotations

import numpy as np

PAPER_FIGURES = ("seconds_per_clip", "real_time_factor", "peak_rss_mb", "stages_s")
TEXT_FIGURES = ("seconds_per_clip", "seconds_per_clip_mean", "stages_s", "peak_rss_mb")


def _totals(timings: list[dict]) -> list[float]:
    return [t["total_s"] for t in timings]


def _median_stages(timings: list[dict]) -> dict[str, float]:
    """Each stage's median seconds, 0 for a clip that did not run it."""
    stages = sorted({s for t in timings for s in t.get("stages_s", {})})
    return {s: float(np.median([t["stages_s"].get(s, 0.0) for t in timings])) for s in stages}


FIGURES = {"seconds_per_clip": lambda ts: float(np.median(_totals(ts))),
           "seconds_per_clip_mean": lambda ts: float(np.mean(_totals(ts))),
           "real_time_factor": lambda ts: float(np.median([t["real_time_factor"] for t in ts])),
           "peak_rss_mb": lambda ts: max(t.get("peak_rss_mb", 0.0) for t in ts),
           "stages_s": _median_stages}


def timing_summary(timings: list[dict], figures=PAPER_FIGURES) -> dict:
    """``figures`` (names of ``FIGURES``, in the order the results list them) over the clips' timings."""
    return {name: FIGURES[name](timings) for name in figures}
