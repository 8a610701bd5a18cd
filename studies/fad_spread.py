"""How far does FAD move between sets of equally musical clips? Disjoint sets of uncontrolled student clips (2-step
decode, Griffin-Lim, seeds 2000 +) against the held-out reference of ``studies/control_musicality.py``, on the
evaluation CLAP embedder: the spread of the ratio of one set's FAD to another's is the noise floor of issue 15's
"FAD kept" ratio at that set size.

    .venv/bin/python studies/fad_spread.py --data data/vocoder --sets 5 -n 16 [--embedder clap]
"""
from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import torch

from ditto2 import pipeline as P
from ditto2.audio.io import write_audio
from ditto2.bench.targets import write_reference
from ditto2.eval.fad import embed_set, fad_from_embeddings
from ditto2.eval.reference import make_embedder

SEED = 2000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("data/vocoder"))
    p.add_argument("--out", type=Path, default=Path("runs/fad-spread"))
    p.add_argument("--sets", type=int, default=5)
    p.add_argument("-n", type=int, default=16, help="clips per set")
    p.add_argument("--embedder", choices=("clap", "logmel", "musicnn"), default="clap")
    args = p.parse_args()
    torch.set_num_threads(1)
    pipe = P.Pipeline.from_pretrained(None)
    folder = args.out / "clips"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(args.sets * args.n):
        path = folder / f"clip_{i}.wav"
        if not path.is_file():
            result = pipe.generate([], method="none", seed=SEED + i, decode_steps=2, progress=False)
            write_audio(path, result.audio[0])
        paths.append(path)
    embedder = make_embedder(args.embedder, 0)
    reference = write_reference(args.data, args.out / "reference", 64)
    ref = np.concatenate(embed_set(reference, embedder, label="reference")[0], axis=0)
    fads = []
    for k in range(args.sets):
        emb, _ = embed_set(paths[k * args.n:(k + 1) * args.n], embedder, label=f"set {k}")
        fads.append(fad_from_embeddings(ref, np.concatenate(emb, axis=0)))
    ratios = [a / b for a, b in itertools.permutations(fads, 2)]
    print(f"FAD ({args.embedder}) of {args.sets} disjoint sets of {args.n} uncontrolled clips:",
          ", ".join(f"{f:.3f}" for f in fads))
    print(f"ratio of one set's FAD to another's: {min(ratios):.2f}-{max(ratios):.2f} "
          f"(median of the ratios above 1: {np.median([r for r in ratios if r >= 1]):.2f})")


if __name__ == "__main__":
    main()
