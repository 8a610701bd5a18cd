"""Sampling speed and peak memory of the shipped teacher (one 5.94 s clip, CPU).

    .venv/bin/python bench/bench_teacher.py [--reps 3] [--models DIR] [--note "..."]

Times 20-step deterministic DDIM (Euler) and Heun sampling of the latent, the decoder, and Griffin-Lim,
as medians over repetitions, and reports the peak resident memory of the process. Training throughput
comes from the training log (docs/models.md).
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import torch

from ditto2.audio.mel import CLIP_SAMPLES, SAMPLE_RATE
from ditto2.audio.vocoder import GriffinLim
from ditto2.diffusion import sample_euler, sample_heun
from ditto2.models import Teacher
from ditto2.timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--models", default=None)
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    teacher = Teacher.load(args.models)
    x_T = teacher.initial_noise([0])
    sigmas = teacher.denoiser.karras_sigmas(20)
    vocoder = GriffinLim()
    with torch.no_grad():
        z = sample_euler(teacher.denoiser, x_T, sigmas)
        mel = teacher.autoencoder.from_latent(z)
        rows = [
            ("20-step DDIM (Euler), latent", median_seconds(lambda: sample_euler(teacher.denoiser, x_T, sigmas), args.reps)),
            ("20-step Heun (39 model calls), latent", median_seconds(lambda: sample_heun(teacher.denoiser, x_T, sigmas),
                                                                 args.reps)),
            ("decoder (latent → mel)", median_seconds(lambda: teacher.autoencoder.from_latent(z), args.reps)),
            ("Griffin-Lim, 32 iterations (mel → audio)", median_seconds(lambda: vocoder(mel[0]), args.reps)),
        ]
    audio_s = CLIP_SAMPLES / SAMPLE_RATE
    print(f"Command: `python bench/bench_teacher.py --reps {args.reps}`  ")
    print(f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads. {args.note}\n")
    print("| stage (one 5.94 s clip) | median (s) | speed (audio s / wall s) |")
    print("|---|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {audio_s / seconds:.1f}× |")
    total = rows[0][1] + rows[2][1] + rows[3][1]
    print(f"| **DDIM 20 + decoder + Griffin-Lim** | **{total:.3f}** | **{audio_s / total:.1f}×** |")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPeak resident memory of the process: {peak_mb:.0f} MB.")


if __name__ == "__main__":
    main()
