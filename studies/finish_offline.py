"""Finish a made set's loudness curves on its audio after the fact, as DITTO-2's pipeline does (controls/music.py).

    .venv/bin/python studies/finish_offline.py SET_FOLDER OUT_FOLDER [--limit-db 12]

Each clip_i.wav whose sidecar holds an intensity target is put under the smooth bounded gain of
``features.intensity.gain_to_curve`` and written, with its sidecars, to OUT_FOLDER; score it with
``studies/control_musicality.py --score-only`` (a tag naming OUT_FOLDER). It asks whether DITTO, the baseline, gains
as much from the same finish as DITTO-2 does (docs/generation.md, session U).
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from ditto2.audio.io import read_audio, write_audio
from ditto2.features.intensity import gain_to_curve


def finish_set(folder: Path, out: Path, limit_db: float) -> int:
    out.mkdir(parents=True, exist_ok=True)
    done = 0
    for sidecar in sorted(folder.glob("clip_*[0-9].json")):
        record = json.loads(sidecar.read_text())
        for extra in folder.glob(f"{sidecar.stem}.*json"):
            shutil.copy(extra, out / extra.name)
        target = record.get("targets", {}).get("intensity")
        wave = read_audio(folder / record["audio"])
        if target is not None:
            wave = gain_to_curve(wave, np.asarray(target["db"]), limit_db)
            done += 1
        write_audio(out / record["audio"], wave)
    return done


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--limit-db", type=float, default=12.0)
    args = p.parse_args()
    print(f"{finish_set(args.folder, args.out, args.limit_db)} clips finished into {args.out}")


if __name__ == "__main__":
    main()
