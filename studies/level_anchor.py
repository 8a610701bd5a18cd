"""Can a level-free output anchor keep intensity's notes? Intensity with today's defaults (budget 80, stop within
0.3 dB, 1-step decode) plus an anchor on the mel's spectral shape (per-frame mean removed, so loudness may move),
on all frames, weight W; scored on the final audio: intensity MSE, notes, onset peakiness; then the uncontrolled
clips of the same seeds. Tuning curves (``bench.fresh_curves(N, 7)``), seeds 100 + i. The variant anchor replaces
``engine.optimise.anchor_penalty`` inside this script only (it is not in the package: tried and not adopted,
docs/results.md).

    .venv/bin/python studies/level_anchor.py N WEIGHTS      e.g.  12 0,1,3
"""
import sys

import numpy as np
import torch

import ditto2.engine.optimise as O
from ditto2 import features as F
from ditto2.bench import fresh_curves
from ditto2.controls import IntensityControl
from ditto2.controls.base import total_loss
from ditto2.engine.anchor import ANCHOR_SCALE
from ditto2.eval.controls import intensity_error
from ditto2.eval.melody import Transcriber
from ditto2.eval.musicality import clip_musicality
from ditto2.pipeline import Pipeline
from ditto2.precision import autocast_for


def shape_penalty(mel, mel_0, weights):
    d = mel.float() - mel_0.float()
    d = d - d.mean(-2, keepdim=True)  # a change of level alone is free
    dd = d.diff(dim=-1)
    return (d.square().mean((-2, -1)) + dd.square().mean((-2, -1))) / ANCHOR_SCALE


O.anchor_penalty = shape_penalty
torch.set_num_threads(1)
n = int(sys.argv[1]); weights = [float(w) for w in sys.argv[2].split(",")]
pipe, tr = Pipeline.from_pretrained(), Transcriber()
curves = fresh_curves(n, 7)
for w in weights:
    rows = []
    for i, curve in enumerate(curves):
        c = IntensityControl(F.intensity_curve(curve))
        base = Pipeline.optim_config("ditto2", [c], None, None)
        cfg = O.OptimConfig(steps=base.steps, lr=base.lr, clip=base.clip, beta1=base.beta1, target_loss=base.target_loss,
                            anchor=w, anchor_weights=tuple([1.0] * 512) if w else None)
        eng = pipe.engine("ditto2", decode_steps=1)
        x_T = pipe.teacher.initial_noise([100 + i])
        with autocast_for(x_T.device, "bf16"):
            res = O.optimise_noise(x_T, eng.render, lambda m: total_loss([c], m), cfg, sigma=eng.sigma_max)
        with torch.no_grad():
            mel = eng.decode(res.x_T, [100 + i])
            audio = pipe.vocoder(mel).cpu().numpy()[0].astype(np.float32)
        mus = clip_musicality(audio, tr)
        rows.append((intensity_error(audio, c.target.numpy()).mse_db2, mus["notes_per_clip"], mus["onset_peakiness"], res.steps_run))
    r = np.array(rows)
    print(f"anchor {w}: MSE mean {r[:,0].mean():.3f} median {np.median(r[:,0]):.3f} | notes median {np.median(r[:,1]):.1f} mean {r[:,1].mean():.1f} | peakiness median {np.median(r[:,2]):.2f} | steps median {np.median(r[:,3]):.0f}", flush=True)
# the uncontrolled clips of the same seeds
rows = []
for i in range(n):
    res = pipe.generate([], method="none", seed=100 + i, decode_steps=1, progress=False)
    mus = clip_musicality(res.audio[0], tr); rows.append((mus["notes_per_clip"], mus["onset_peakiness"]))
r = np.array(rows)
print(f"uncontrolled (1-step): notes median {np.median(r[:,0]):.1f} mean {r[:,0].mean():.1f} | peakiness median {np.median(r[:,1]):.2f}")
