"""How much does a text prompt itself move the musicality measures? Real held-out clips that have every attribute a
prompt states (instrument family, tempo band, mode: ``bench.prompts.stated_attributes`` against the clips'
``clap.captions.labels``) against all real held-out clips: the ratio of their medians is what a text control that
followed its prompt perfectly would show as "kept", with no wash at all.

    .venv/bin/python studies/prompt_musicality.py --data data/full [--clips 600] [--per-prompt 48]

Onset peakiness and transcribed notes per clip (``eval.musicality``), on the clips' audio. Prompts: the text bench's
(``DEFAULT_PROMPTS``, the fresh targets of studies/control_musicality.py) and the study's tuning prompts.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from control_musicality import TUNING_PROMPTS  # noqa: E402

from ditto2.bench.prompts import DEFAULT_PROMPTS, stated_attributes  # noqa: E402
from ditto2.bench.targets import as_float, test_clips  # noqa: E402
from ditto2.clap.captions import labels  # noqa: E402
from ditto2.eval.melody import Transcriber  # noqa: E402
from ditto2.eval.musicality import clip_musicality  # noqa: E402


def matches(clip_labels: dict, stated: dict) -> bool:
    return all(clip_labels.get(attr) == cls for attr, cls in stated.items())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("data/full"))
    p.add_argument("--clips", type=int, default=600, help="real test clips read (the first ones)")
    p.add_argument("--per-prompt", type=int, default=48, help="matching clips scored per prompt, at most")
    p.add_argument("--out", type=Path, default=Path("runs/prompt-musicality.json"))
    args = p.parse_args()
    clips = test_clips(args.data, args.clips, fields=("audio", "meta"))
    clip_labels = [labels(json.loads(str(m))) for m in clips["meta"]]
    transcriber, cache = Transcriber(), {}

    def score(i: int) -> dict:
        if i not in cache:
            cache[i] = clip_musicality(as_float(clips["audio"][i]), transcriber)
        return cache[i]

    everyone = list(range(0, len(clip_labels), max(1, len(clip_labels) // 96)))[:96]  # spread over the pieces
    base = {m: float(np.median([score(i)[m] for i in everyone])) for m in ("onset_peakiness", "notes_per_clip")}
    rows = []
    for group, prompts in (("fresh", DEFAULT_PROMPTS), ("tuning", TUNING_PROMPTS)):
        for prompt in prompts:
            stated = stated_attributes(prompt)
            chosen = [i for i, lab in enumerate(clip_labels) if matches(lab, stated)]
            chosen = chosen[:: max(1, len(chosen) // args.per_prompt)][: args.per_prompt]
            row = {"group": group, "prompt": prompt, "attributes": stated, "clips": len(chosen)}
            for m in base:
                value = float(np.median([score(i)[m] for i in chosen])) if chosen else None
                row[m] = value
                row[m + "_ratio"] = None if value is None else value / base[m]
            rows.append(row)
            print(row, flush=True)
    args.out.write_text(json.dumps({"all_real": base, "n_all": len(everyone), "rows": rows}, indent=1))
    print(f"\nall real test clips (n = {len(everyone)}): peakiness {base['onset_peakiness']:.2f}, "
          f"notes {base['notes_per_clip']:.1f}")
    print("| prompts | prompt | attributes | clips | peakiness (ratio to all) | notes (ratio) |\n|---|---|---|---|---|---|")
    for r in rows:
        cells = " | ".join("—" if r[m] is None else f"{r[m]:.3g} ({r[m + '_ratio']:.2f}×)" for m in base)
        print(f"| {r['group']} | {r['prompt']} | {r['attributes']} | {r['clips']} | {cells} |")


if __name__ == "__main__":
    main()
