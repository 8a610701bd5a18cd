"""Where a paint control's windows meet the free music: the spectral flux of the generated clip (before assembly)
frame by frame around each window's inner edge, the median over clips, for several sets of one task.

    .venv/bin/python studies/window_edges.py --overlap 1 --out docs/img/musicality/oloop-window-edges.png \
        runs/mus-t-oloop-tune/oloop/none runs/mus-t-oloop-tune/oloop/ditto2 runs/mus-t-oloop-tune/oloop/ditto2-shell \
        runs/mus-t-oloop-tune/oloop/ditto2-shell-xf-a1 --labels "uncontrolled;anchor 3 (before);+ shell;+ shell, \
        crossfade-weighted windows, anchor 1 (default)"

Reads ``clip_<i>.clip.wav`` (the generated clip that ``studies/control_musicality.py`` writes beside each output;
the uncontrolled sets too) and measures the flux of ``eval.controls.seam_jump`` at frames ``edge + k``: the head
window ends at the overlap, a loop's tail window starts one overlap before the clip's end. A jump that the loss
makes where its window ends stands out as a peak over the set's level elsewhere (issue 15, session T).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ditto2.audio import mel as M
from ditto2.audio.io import read_audio
from ditto2.eval.controls import flux_profile

OFFSETS = np.arange(-30, 31, 2)


def profiles(folder: Path, overlap: int) -> dict[str, np.ndarray]:
    """{"head edge": (clips, offsets), "tail edge": ...} flux in dB."""
    head, tail = [], []
    for path in sorted(folder.glob("clip_*.clip.wav")):
        wave = read_audio(path)
        n = wave.size // M.HOP
        head.append(flux_profile(wave, overlap + OFFSETS))
        tail.append(flux_profile(wave, n - overlap + OFFSETS))
    if not head:
        raise SystemExit(f"{folder}: no clip_*.clip.wav files")
    return {"head edge": np.array(head), "tail edge": np.array(tail)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sets", nargs="+", type=Path, help="folders of one task's clips (e.g. runs/X/oloop/ditto2)")
    p.add_argument("--overlap", type=float, default=1.0, help="the task's overlap in seconds (default 1)")
    p.add_argument("--out", type=Path, default=None, help="a PNG of the profiles (default: print only)")
    p.add_argument("--labels", default=None, help="semicolon-separated legend labels, one per set (default: folders)")
    args = p.parse_args()
    overlap = M.seconds_to_frames(args.overlap)
    results = {folder: profiles(folder, overlap) for folder in args.sets}
    labels = args.labels.split(";") if args.labels else [f"{f.parent.parent.name}/{f.name}" for f in args.sets]
    if len(labels) != len(args.sets):
        raise SystemExit(f"--labels: {len(labels)} labels for {len(args.sets)} sets")
    for folder, prof in results.items():
        for edge, flux in prof.items():
            median = np.median(flux, 0)
            near = np.abs(OFFSETS) <= 6
            print(f"{folder} {edge}: peak within 6 frames {median[near].max():.2f} dB, elsewhere "
                  f"{np.median(median[~near]):.2f} dB (ratio {median[near].max() / np.median(median[~near]):.2f}), "
                  f"{len(flux)} clips")
    if args.out is not None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
        for ax, edge in zip(axes, ("head edge", "tail edge")):
            for label, prof in zip(labels, results.values()):
                ax.plot(OFFSETS / M.FRAME_RATE * 1000, np.median(prof[edge], 0), label=label)
            ax.axvline(0, color="grey", lw=0.5)
            ax.set_title(f"{edge} (window {'before' if edge == 'head edge' else 'after'} 0)", fontsize=9)
            ax.set_xlabel("ms from the window's inner edge", fontsize=8)
        axes[0].set_ylabel("spectral flux, median over clips (dB)", fontsize=8)
        axes[1].legend(fontsize=6)
        fig.tight_layout()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.out, dpi=110)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
