"""Does a loudness curve cost transcribed notes by level alone? Each uncontrolled clip of an intensity set is given
its seed's target curve by **gain alone** (multiplied by the target over its own loudness curve, per frame, then
kept under full scale) and scored as a controlled clip is (``eval.musicality``). If basic-pitch or the onset measure
counted fewer notes where the music is quiet, these clips would lose them too; the notes a control loses beyond
that are the model's. ``--real N``: instead, how note density follows level in N real held-out clips (quieter
clips, and the quieter half of each clip's frames).

    .venv/bin/python studies/level_notes.py --set runs/mus-o/intensity/none -n 16              # the fresh curves
    .venv/bin/python studies/level_notes.py --set runs/mus-guard/intensity/none -n 32 --targets tuning
    .venv/bin/python studies/level_notes.py --real 96 --data data/vocoder
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ditto2 import features as F
from ditto2.audio import mel as M
from ditto2.audio.io import read_audio
from ditto2.bench.targets import TUNING_SEED, as_float, fresh_curves, test_clips
from ditto2.eval.melody import Transcriber
from ditto2.eval.musicality import MEASURES, clip_musicality
from ditto2.features.intensity import intensity_db_audio

SEED = 1000  # studies/control_musicality.py's fresh curves


def with_curve(wave: np.ndarray, target_db: np.ndarray) -> np.ndarray:
    """The wave with its loudness curve moved onto the target by a per-frame gain (interpolated per sample)."""
    own = intensity_db_audio(wave)
    frames = min(own.size, target_db.size)
    gain_db = np.interp(np.arange(wave.size) / M.HOP, np.arange(frames), target_db[:frames] - own[:frames])
    out = wave * 10 ** (gain_db / 20)
    return (out / max(1.0, float(np.abs(out).max()))).astype(np.float32)


def real_music(data: Path, n: int) -> None:
    """Note density against level in real held-out clips: between clips and within each clip."""
    transcriber = Transcriber()
    level, notes, quiet, loud = [], [], 0, 0
    for clip in test_clips(data, n, fields=("audio",))["audio"]:
        wave = as_float(clip)
        db = intensity_db_audio(wave)
        onsets = np.array([min(int(start * M.FRAME_RATE), db.size - 1) for start, _, _ in transcriber.notes(wave)], int)
        below = int((db[onsets] < np.median(db)).sum()) if onsets.size else 0
        level.append(float(db.mean()))
        notes.append(onsets.size)
        quiet, loud = quiet + below, loud + onsets.size - below
    level, notes = np.array(level), np.array(notes)
    softer = level < np.median(level)
    print(f"{n} real clips: notes, the quieter half of the clips {np.median(notes[softer]):.1f} against the louder "
          f"{np.median(notes[~softer]):.1f}; r(mean level, notes) {np.corrcoef(level, notes)[0, 1]:.2f}; notes starting "
          f"in the quieter half of a clip's frames {quiet} against the louder {loud}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--set", type=Path, default=None, help="folder of uncontrolled clips clip_<i>.wav")
    p.add_argument("-n", type=int, default=16)
    p.add_argument("--targets", choices=("fresh", "tuning"), default="fresh")
    p.add_argument("--real", type=int, default=0, metavar="N", help="note density against level in N real clips")
    p.add_argument("--data", type=Path, default=Path("data/vocoder"), help="dataset whose test split --real reads")
    args = p.parse_args()
    if args.real:
        return real_music(args.data, args.real)
    if args.set is None:
        p.error("--set is required without --real")
    curves = fresh_curves(args.n, TUNING_SEED if args.targets == "tuning" else SEED)
    transcriber = Transcriber()
    before, after = [], []
    for i, curve in enumerate(curves):
        wave = read_audio(args.set / f"clip_{i}.wav")
        before.append(clip_musicality(wave, transcriber))
        after.append(clip_musicality(with_curve(wave, F.intensity_curve(curve)), transcriber))
    for name in MEASURES:
        a, b = (np.array([c[name] for c in cs]) for cs in (before, after))
        print(f"{name}: median {np.median(a):.3f} -> {np.median(b):.3f} ({np.median(b) / np.median(a):.2f}x), "
              f"per clip {np.median(b / np.maximum(a, 1e-9)):.2f}")


if __name__ == "__main__":
    main()
