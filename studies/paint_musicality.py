"""Do the paint and loop controls keep the music? Uncontrolled vs the controls without and with the output anchor.

    .venv/bin/python studies/paint_musicality.py --out runs/paint-music -n 8 [--tasks loop,oloop,inpaint]
    .venv/bin/ditto2 eval run runs/paint-music/loop-new --real-seams runs/paint-music/real \
        --baseline runs/paint-music/loop-none --no-plots        # and -old, and the other tasks

Writes, per task, three folders of clips with sidecars (``ditto2 eval run`` scores them): ``none`` (the seed's
uncontrolled clip, assembled like the task's output), ``old`` (40 steps without the anchor: the defaults before
issue 15) and ``new`` (today's defaults). Tasks: ``loop`` (reference-free, 0.5 s overlap; one batch of seeds),
``oloop`` (``--outpaint REF --loop``, 1 s overlap) and ``inpaint`` (gap 2-4 s), one reference per seed. References
and the real music for the seam figures are validation clips (``--refs``, ``--real``: indices into ``--shard``),
never the test split. Seeds are 1000 + i, CTD student, 2-step decode. Figures: docs/generation.md, "Keeping the music".
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ditto2 import pipeline as P
from ditto2.audio.io import write_audio
from ditto2.controls import InpaintControl, OutpaintControl, SelfLoopControl
from ditto2.report import write_generation

SEED = 1000
CONTROLS = {"loop": lambda ref: [SelfLoopControl(0.5)],
            "oloop": lambda ref: [OutpaintControl(ref, 1.0, loop=True)],
            "inpaint": lambda ref: [InpaintControl(ref, (2.0, 4.0))]}


def indices(text: str) -> list[int]:
    """ "2,7,64-69" -> [2, 7, 64, ..., 69]"""
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def write_clips(shard: Path, picks: list[int], folder: Path, stem: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    audio = np.load(shard)["audio"]
    return [write_audio(folder / f"{stem}_{i:03d}.wav", audio[i].astype(np.float32) / 32768.0) for i in picks]


def generate(pipe, task: str, variant: str, refs: list[Path], n: int, folder: Path) -> dict:
    """One set; ``old`` switches the anchor off and takes the former 40 steps."""
    folder.mkdir(parents=True, exist_ok=True)
    kwargs = {"none": {"method": "none"}, "old": {"opt_steps": 40, "anchor": False}, "new": {}}[variant]
    start = time.perf_counter()
    if task == "loop":  # reference-free: the seeds are one batch
        controls = CONTROLS[task](None)
        result = pipe.generate(controls, seed=SEED, batch=n, decode_steps=2, progress=False, **kwargs)
        write_generation(result, [folder / f"clip_{i}.wav" for i in range(n)])
    for i in range(n if task != "loop" else 0):
        controls = CONTROLS[task](refs[i])
        result = pipe.generate(controls, seed=SEED + i, decode_steps=2, progress=False, **kwargs)
        write_generation(result, [folder / f"clip_{i}.wav"])
    return {"wall_s": time.perf_counter() - start, "settings": result.settings}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("-n", type=int, default=8)
    p.add_argument("--tasks", default="loop,oloop,inpaint")
    p.add_argument("--shard", type=Path, default=Path("data/full/validation-0000.npz"))
    p.add_argument("--refs", default="2,7,25,32,41,53,60,72", help="one clip per piece of the first validation shard")
    p.add_argument("--real", default="64-69,84-105", help="validation clips for the real seam jumps")
    args = p.parse_args()
    torch.set_num_threads(1)  # beside training on 2 cores, one thread is several times faster
    refs = write_clips(args.shard, indices(args.refs)[: args.n], args.out / "refs", "ref")
    write_clips(args.shard, indices(args.real), args.out / "real", "real")
    pipe, log = P.Pipeline.from_pretrained(), {}
    for task in args.tasks.split(","):
        for variant in ("none", "old", "new"):
            log[f"{task}-{variant}"] = generate(pipe, task, variant, refs, args.n, args.out / f"{task}-{variant}")
            print(task, variant, f"{log[f'{task}-{variant}']['wall_s']:.0f} s", flush=True)
    (args.out / "runs.json").write_text(json.dumps(log, indent=1))


if __name__ == "__main__":
    main()
