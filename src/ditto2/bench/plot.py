"""``ditto2 bench``'s tradeoff.png: seconds per clip (log) against each task's control metric, one point per
condition, real time dashed."""
from __future__ import annotations

from pathlib import Path

from ditto2.audio import mel as M
from ditto2.bench.targets import METRICS_OF_TASK


def plot_tradeoff(result: dict, path) -> Path:
    from ditto2.plots import pyplot, save_figure

    plt = pyplot()
    tasks = list(dict.fromkeys(r["task"] for r in result["rows"]))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        key, title = METRICS_OF_TASK[task][0]
        for r in (r for r in result["rows"] if r["task"] == task and r["metrics"].get(key) is not None):
            ax.scatter(r["seconds_per_clip"], r["metrics"][key])
            ax.annotate(r["condition"], (r["seconds_per_clip"], r["metrics"][key]), fontsize=6)
        ax.axvline(M.CLIP_SAMPLES / M.SAMPLE_RATE, color="grey", linestyle="--", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("seconds per clip (dashed: real time)", fontsize=7)
        ax.set_title(f"{task}: {title}", fontsize=8)
    return save_figure(fig, path)
