"""Which change of the noise washes the music? The structure control's optimised noise against changes of the same
size drawn at random: white, with the optimised change's own power spectrum (phases randomised along time), and
low-passed along time. Each x_T is decoded as the task decodes (2 student steps), rendered with Griffin-Lim, and
scored by onset peakiness on the audio (``eval.musicality``) and on the mel (``engine.onsets``, the optimiser's
own route). Tuning targets (``control_musicality.Targets(tuning=True)``), seeds 1000 + i.

    .venv/bin/python studies/noise_perturbation.py [--task structure] [-n 8]

Measured (session O, docs/generation.md "The spectral shell"): random low-pass changes of the optimised change's
size take peakiness from 3.38 to 2.93 (3x the size: 1.95) while white ones do not (3.53): the student reads slow
changes of the noise as a wash, whatever their direction.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import control_musicality as CM  # noqa: E402  (the study's targets)

from ditto2 import pipeline as P  # noqa: E402
from ditto2.engine.onsets import mel_onset_peakiness  # noqa: E402
from ditto2.eval.musicality import onset_peakiness  # noqa: E402

LOWPASS_BINS = 8  # of the 65 along time of a 128-step latent: the slowest eighth


def phase_randomised(change: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """The same power at every frequency along time, random phases (DC keeps its size, random sign)."""
    spectrum = torch.fft.rfft(change, dim=-1)
    phases = torch.exp(2j * np.pi * torch.rand(spectrum.shape, generator=gen))
    out = spectrum.abs() * phases
    out[..., 0] = spectrum[..., 0].abs() * torch.randn(spectrum[..., 0].shape, generator=gen).sign()
    return torch.fft.irfft(out, n=change.shape[-1], dim=-1)


def lowpass_white(like: torch.Tensor, gen: torch.Generator, bins: int = LOWPASS_BINS) -> torch.Tensor:
    """White noise low-passed along time to ``bins`` frequencies, at ``like``'s rms."""
    spectrum = torch.fft.rfft(torch.randn(like.shape, generator=gen), dim=-1)
    spectrum[..., bins:] = 0
    slow = torch.fft.irfft(spectrum, n=like.shape[-1], dim=-1)
    return slow / slow.square().mean().sqrt() * like.square().mean().sqrt()


def variants(eps_0: torch.Tensor, eps_opt: torch.Tensor, gen: torch.Generator) -> dict[str, torch.Tensor]:
    change = eps_opt - eps_0
    rms = change.square().mean().sqrt()
    return {"seed's noise": eps_0, "optimised": eps_opt,
            "white change, same rms": eps_0 + torch.randn(change.shape, generator=gen) * rms,
            "optimised change, phases randomised": eps_0 + phase_randomised(change, gen),
            "low-passed random change, same rms": eps_0 + lowpass_white(change, gen),
            "low-passed random change, 3x rms": eps_0 + 3 * lowpass_white(change, gen)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="structure", choices=CM.TASKS[:-1])
    p.add_argument("-n", type=int, default=8)
    p.add_argument("--data", type=Path, default=Path("data/vocoder"))
    p.add_argument("--out", type=Path, default=Path("runs/noise-perturbation"))
    args = p.parse_args()
    torch.set_num_threads(1)
    pipe = P.Pipeline.from_pretrained(None)
    targets = CM.Targets(args.data, args.n, args.out / "refs", tuning=True)
    rows = []
    for i in range(args.n):
        seed, controls = CM.SEED + i, targets.controls(args.task, i)
        result = pipe.generate(controls, seed=seed, progress=False)
        engine = pipe.engine("ditto2", "ctd", P.default_decode_steps(controls))
        sigma = engine.sigma_max
        sets = variants(pipe.teacher.initial_noise([seed]) / sigma, result.x_T / sigma,
                        torch.Generator().manual_seed(i))
        row = {}
        with torch.no_grad():
            for name, eps in sets.items():
                mel = engine.decode(eps * sigma, [seed])
                row[name] = (onset_peakiness(pipe.vocoder(mel).cpu().numpy()[0]), float(mel_onset_peakiness(mel)[0]))
        rows.append(row)
        print(i, {k: f"{a:.2f}/{m:.2f}" for k, (a, m) in row.items()}, flush=True)
    print(f"\n| noise ({args.task}, {args.n} tuning targets) | onset peakiness, audio (median) | on the mel |")
    print("|---|---|---|")
    for name in rows[0]:
        audio, mel = (np.median([r[name][j] for r in rows]) for j in (0, 1))
        print(f"| {name} | {audio:.2f} | {mel:.2f} |")


if __name__ == "__main__":
    main()
