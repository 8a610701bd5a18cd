"""Why a control's onset peakiness falls: its top (softer attacks) or its median (busier music)? Onset peakiness
(``eval.musicality.onset_peakiness``) is the onset envelope's 95th percentile over its median; this splits it, per
clip of a controlled set against the uncontrolled clip of the same seed, and gives the level change beside it.

    .venv/bin/python studies/onset_parts.py --controlled runs/mus-o/text/ditto2 --uncontrolled runs/mus-o/text/none -n 16
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ditto2.audio import mel as M
from ditto2.audio.io import read_audio


def onset_parts(path: Path) -> tuple[float, float, float]:
    """(95th percentile, median) of librosa's onset strength, and the RMS level in dB, of one audio file."""
    import librosa

    wave = read_audio(path)
    strength = librosa.onset.onset_strength(y=wave, sr=M.SAMPLE_RATE, hop_length=M.HOP)
    level = 20 * np.log10(np.sqrt(np.mean(np.square(wave, dtype=np.float64))) + 1e-9)
    return float(np.percentile(strength, 95)), float(np.median(strength)), float(level)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--controlled", type=Path, required=True, help="a set of clip_{i}.wav")
    p.add_argument("--uncontrolled", type=Path, required=True, help="the uncontrolled clips of the same seeds")
    p.add_argument("-n", type=int, default=16)
    args = p.parse_args()
    ratios = []
    for i in range(args.n):
        top, mid, level = onset_parts(args.controlled / f"clip_{i}.wav")
        top_0, mid_0, level_0 = onset_parts(args.uncontrolled / f"clip_{i}.wav")
        ratios.append((top / top_0, mid / mid_0, level - level_0))
    top, mid, level = np.median(np.array(ratios), axis=0)
    print(f"{args.controlled}: per seed, medians: 95th percentile {top:.2f}x, median {mid:.2f}x, level {level:+.1f} dB")


if __name__ == "__main__":
    main()
