"""fp32 vs bf16 autocast on this CPU: the teacher's training step and the gradient error bf16 brings.

    .venv/bin/python bench/bench_precision.py [--reps 8] [--threads 2] [--data data/full] [--note "..."]

Times one training step of the default teacher network (batch 24 of 8 x 20 x 32 latents = 128-frame crops,
EDM loss, backward, AdamW), as the median over repetitions after two warm-ups, in fp32 and under
``torch.autocast("cpu", bfloat16)`` (the loop's ``--precision bf16``), with the default and channels-last
memory layouts. With ``--data``, it also compares the shipped teacher's loss and gradient on one real batch
in both precisions (cosine similarity and norm ratio), the evidence that bf16 trains the same model.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import platform
import time

import numpy as np
import torch

from ditto2.diffusion import Denoiser, EDMConfig, build_network, edm_loss
from ditto2.precision import autocast_for, cpu_has_fast_bf16
from ditto2.train.teacher import default_network

BATCH, LATENT = 24, (8, 20, 32)


def step_ms(precision: str, channels_last: bool, reps: int) -> float:
    torch.manual_seed(0)
    model = Denoiser.from_config(build_network(default_network()), EDMConfig())
    x, cond = torch.randn(BATCH, *LATENT), torch.randn(BATCH, 384)
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    times = []
    for i in range(reps + 2):
        start = time.perf_counter()
        with autocast_for(torch.device("cpu"), precision):
            loss = edm_loss(model, x, cond, generator=torch.Generator().manual_seed(i))
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times[2:]))


def gradient_agreement(data: str, seeds: int = 3) -> list[tuple[float, float, float, float]]:
    """(fp32 loss, bf16 loss, gradient cosine, bf16/fp32 gradient norm) of the shipped teacher on real batches."""
    from ditto2.models import Teacher
    from ditto2.data.arrays import SplitArrays

    teacher = Teacher.load(None)
    model = teacher.denoiser.float().requires_grad_(True)
    arrays = SplitArrays(data, "train", text=True, limit=BATCH)
    with torch.no_grad():
        x0 = teacher.autoencoder.to_latent(torch.from_numpy(arrays.mel[..., :128].astype(np.float32)))
    cond = torch.from_numpy(arrays.text[:, 0].astype(np.float32))

    def loss_and_grad(precision, seed):
        model.zero_grad()
        with autocast_for(torch.device("cpu"), precision):
            loss = edm_loss(model, x0, cond, generator=torch.Generator().manual_seed(seed))
        loss.backward()
        return loss.item(), torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])

    rows = []
    for seed in range(seeds):
        (l32, g32), (l16, g16) = loss_and_grad("fp32", seed), loss_and_grad("bf16", seed)
        cosine = torch.nn.functional.cosine_similarity(g32, g16, dim=0).item()
        rows.append((l32, l16, cosine, (g16.norm() / g32.norm()).item()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", default=None, help="dataset for the gradient check (skipped without)")
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"Command: `python bench/bench_precision.py --reps {args.reps} --threads {args.threads}"
          f"{' --data ' + args.data if args.data else ''}`  ")
    print(f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, fast bf16 (AMX or AVX512-BF16): {cpu_has_fast_bf16()}, torch {torch.__version__}, "
          f"{args.threads} threads. {args.note}\n")
    print(f"| teacher training step (batch {BATCH}, 128-frame crops) | median (ms) | steps/s | vs fp32 |")
    print("|---|---|---|---|")
    base = None
    for precision, channels_last in (("fp32", False), ("bf16", False), ("fp32", True), ("bf16", True)):
        ms = step_ms(precision, channels_last, args.reps)
        base = base or ms
        layout = ", channels-last" if channels_last else ""
        print(f"| {precision}{layout} | {ms:.0f} | {1000 / ms:.2f} | {base / ms:.2f}× |", flush=True)
    if args.data:
        print("\n| real batch (shipped teacher) | loss fp32 | loss bf16 | gradient cosine | gradient norm bf16 / fp32 |")
        print("|---|---|---|---|---|")
        for seed, (l32, l16, cosine, ratio) in enumerate(gradient_agreement(args.data)):
            print(f"| noise seed {seed} | {l32:.5f} | {l16:.5f} | {cosine:.4f} | {ratio:.4f} |")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
