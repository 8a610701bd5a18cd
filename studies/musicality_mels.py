"""Mels of controlled outputs beside the uncontrolled clip of the same seed and real clips: the picture behind
the "control and musicality" table of docs/results.md.

    .venv/bin/python studies/musicality_mels.py --runs runs/mus-a --tuning runs/mus-tune --clip 1 \
        --out docs/img/musicality/mels.png
    .venv/bin/python studies/musicality_mels.py --runs runs/mus-k --panels shell --clip 1 \
        --out docs/img/musicality/mels-shell.png       # the paint controls with and without the spectral shell
    .venv/bin/python studies/musicality_mels.py --runs runs/mus-o --panels melody --clip 1,2,5 \
        --out docs/img/musicality/mels-melody.png      # the melody loss of session O against the floor before it
    .venv/bin/python studies/musicality_mels.py --runs runs/mus-o --panels mix --clip 0,8,13 \
        --out docs/img/musicality/mels-mix.png         # intensity with and without the noise mix (session P)
    .venv/bin/python studies/musicality_mels.py --runs runs/mus-o --panels melody-anchor --clip 0,7,10 \
        --out docs/img/musicality/mels-melody-anchor.png   # melody with and without its light anchor (0.01)

Panels (the final audio's mel, clip ``--clip`` of each set): a real test clip, the uncontrolled clip, and the
controlled clip of several tasks at the CLI defaults; the melody target with DITTO's NLL beside the hinge (tuning
run, 16 melodies) shows the loud bare tones the NLL made.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ditto2.audio import mel as M
from ditto2.audio.io import read_audio
from ditto2.plots import plot_mel_grid

SEED = 1000  # studies/control_musicality.py: clip i has seed SEED + i

PANELS = [("refs/ref_{i}.wav", "a real test clip (a fresh reference)"),
          ("intensity/none/clip_{i}.wav", "uncontrolled, same seed"),
          ("intensity/ditto2/clip_{i}.wav", "intensity (DITTO-2, defaults)"),
          ("structure/ditto2/clip_{i}.wav", "structure"),
          ("loop/ditto2/clip_{i}.clip.wav", "loop (the clip)"),
          ("long/ditto2/clip_{i}.wav", "long form, 12 s"),
          ("melody/ditto2/clip_{i}.wav", "melody, hinge at 0.4 (default)")]
SHELL_PANELS = [("refs/ref_{i}.wav", "a real test clip (the reference)"),
                ("loop/none/clip_{i}.clip.wav", "uncontrolled, same seed"),
                ("loop/ditto2/clip_{i}.clip.wav", "loop, anchor alone (before)"),
                ("loop/ditto2-ss/clip_{i}.clip.wav", "loop, anchor + spectral shell"),
                ("inpaint/ditto2/clip_{i}.wav", "inpainting 2-4 s, anchor alone"),
                ("inpaint/ditto2-ss/clip_{i}.wav", "inpainting 2-4 s, + shell"),
                ("outpaint/ditto2/clip_{i}.clip.wav", "continuation (the clip), anchor alone"),
                ("outpaint/ditto2-ss/clip_{i}.clip.wav", "continuation (the clip), + shell"),
                ("long/ditto2-ss/clip_{i}.wav", "long form, 12 s, + shell")]
MELODY_PANELS = [("melody/none/clip_{i}.wav", "uncontrolled, seed {seed}"),
                 ("melody/ditto2-floor04/clip_{i}.wav", "melody, floor 0.4 of the chroma (before)"),
                 ("melody/ditto2-m06/clip_{i}.wav", "melody, floor 0.6 at temperature 0.5")]
MIX_PANELS = [("intensity/none/clip_{i}.wav", "uncontrolled, seed {seed}"),
              ("intensity/ditto2/clip_{i}.wav", "intensity, Adam on the noise (before)"),
              ("intensity/ditto2-mix3/clip_{i}.wav", "intensity, a mix of 3 noises (session P)")]
MELODY_ANCHOR_PANELS = [("melody/none/clip_{i}.wav", "uncontrolled, seed {seed}"),
                        ("melody/ditto2-m06/clip_{i}.wav", "melody, not anchored (session O)"),
                        ("melody/ditto2-q/clip_{i}.wav", "melody, anchor 0.01 (session Q)")]
FIGURES = {"tasks": PANELS, "shell": SHELL_PANELS, "melody": MELODY_PANELS, "mix": MIX_PANELS,
           "melody-anchor": MELODY_ANCHOR_PANELS}
TUNING_PANELS = [("melody/ditto2/clip_{i}.wav", "melody, DITTO's NLL (tuning set)"),
                 ("melody/ditto2-f0.4/clip_{i}.wav", "melody, hinge at 0.4 (tuning set)")]


def mel_of(path: Path):
    with torch.no_grad():
        return M.wave_to_mel(torch.from_numpy(read_audio(path))).numpy()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=Path, required=True)
    p.add_argument("--tuning", type=Path, default=None)
    p.add_argument("--clip", default="1", help="clip index, or several comma-separated (one row each)")
    p.add_argument("--panels", choices=FIGURES, default="tasks",
                   help="tasks: every task at the defaults; shell: the paint controls with and without the spectral "
                        "shell; melody: session O's melody loss against the one before; mix: intensity with and "
                        "without the noise mix (session P); melody-anchor: melody with and without its light anchor")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    chosen = FIGURES[args.panels]
    clips = [int(c) for c in args.clip.split(",")]
    panels = [(args.runs / f.format(i=i), t.format(i=i, seed=SEED + i)) for i in clips for f, t in chosen]
    if args.tuning is not None:
        panels += [(args.tuning / f.format(i=clips[0]), t) for f, t in TUNING_PANELS]
    panels = [(path, title) for path, title in panels if path.is_file()]
    plot_mel_grid([mel_of(path) for path, _ in panels], args.out, titles=[t for _, t in panels], columns=3)
    print(args.out)


if __name__ == "__main__":
    main()
