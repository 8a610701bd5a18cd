"""Figures people would rather look at than read: mel grids with melody overlays."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ditto2.audio import mel as M
from ditto2.fileio import atomic_path


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path) -> Path:
    """Write a figure atomically (format from the extension) and close it."""
    plt = pyplot()
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path


def plot_mel_grid(mels, path, titles=None, melody=None, columns: int = 2) -> Path:
    """Save a grid of (80, T) normalised mels; ``melody`` is an optional list of per-frame MIDI pitches."""
    plt = pyplot()
    mels = [np.asarray(m, dtype=np.float32) for m in mels]
    columns = max(1, min(columns, len(mels)))
    rows = int(np.ceil(len(mels) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(6 * columns, 2.4 * rows), squeeze=False)
    centres = M.mel_center_frequencies()
    for k, ax in enumerate(axes.flat):
        if k >= len(mels):
            ax.axis("off")
            continue
        ax.imshow(mels[k], origin="lower", aspect="auto", vmin=-1, vmax=1, cmap="magma",
                  extent=(0, M.frames_to_seconds(mels[k].shape[-1]), 0, M.N_MELS))
        if melody is not None and melody[k] is not None:
            _overlay_melody(ax, np.asarray(melody[k]), centres)
        if titles is not None:
            ax.set_title(str(titles[k])[:90], fontsize=8)
        ax.set_xlabel("s", fontsize=7)
        ax.set_ylabel("mel band", fontsize=7)
        ax.tick_params(labelsize=6)
    return save_figure(fig, path)


def _overlay_melody(ax, pitch: np.ndarray, centres: np.ndarray) -> None:
    """Draw the melody's fundamental at its mel-band position."""
    hz = np.where(pitch >= 0, 440.0 * 2 ** ((pitch - 69) / 12), np.nan)
    band = np.interp(hz, centres, np.arange(len(centres)))
    t = M.frames_to_seconds(np.arange(len(pitch)))
    ax.plot(t, band, color="cyan", linewidth=0.8, alpha=0.8)


def plot_curves(records: list[dict], path, keys=None, title: str = "") -> Path:
    """Training curves from a run's log records (loss and every val_* metric against step)."""
    plt = pyplot()
    keys = keys or ["loss"] + sorted({k for r in records for k in r if k.startswith("val_")})
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3), squeeze=False)
    for ax, key in zip(axes[0], keys):
        points = [(r["step"], r[key]) for r in records if key in r]
        if points:
            ax.plot(*zip(*points), marker="." if len(points) < 30 else None)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.set_yscale("log" if points and min(p[1] for p in points) > 0 else "linear")
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)


def plot_control_targets(path, title: str = "", intensity=None, melody=None, structure=None) -> Path:
    """Target vs achieved per control (``ditto2 eval run``): each argument is {"target", "achieved"}.

    intensity: two (T,) dB curves; melody: two (T,) pitch-class lines (-1 = none, not drawn);
    structure: two (N, N) SSMs side by side.
    """
    plt = pyplot()
    panels = [(k, v) for k, v in (("intensity", intensity), ("melody", melody)) if v is not None]
    columns = len(panels) + (2 if structure is not None else 0)
    fig, axes = plt.subplots(1, max(columns, 1), figsize=(4.2 * max(columns, 1), 3.2), squeeze=False)
    axes = list(axes[0])
    for key, data in panels:
        ax = axes.pop(0)
        target, achieved = (np.asarray(data[k], dtype=np.float64) for k in ("target", "achieved"))
        t = M.frames_to_seconds(np.arange(len(target)))
        if key == "melody":
            ax.plot(t, np.where(target >= 0, target, np.nan), ".", ms=2, label="target")
            ax.plot(t, np.where(achieved >= 0, achieved, np.nan), ".", ms=2, alpha=0.6, label="transcribed")
            ax.set_ylim(-0.5, 11.5)
            ax.set_ylabel("pitch class", fontsize=8)
        else:
            ax.plot(t, target, label="target")
            ax.plot(M.frames_to_seconds(np.arange(len(achieved))), achieved, label="achieved")
            ax.set_ylabel("dB", fontsize=8)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("s", fontsize=8)
        ax.legend(fontsize=7)
        ax.tick_params(labelsize=7)
    if structure is not None:
        for which in ("target", "achieved"):
            ax = axes.pop(0)
            ax.imshow(np.asarray(structure[which]), origin="lower", vmin=0, vmax=1, cmap="viridis")
            ax.set_title(f"SSM, {which}", fontsize=9)
            ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
