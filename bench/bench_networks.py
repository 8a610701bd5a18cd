"""Benchmark candidate teacher networks and the mel autoencoder on this machine (CPU by default).

Measures the median time of: forward (no grad) and one training step (EDM loss forward + backward + AdamW)
at batch B on a training crop, and forward / forward+backward at batch 1 on a full 512-frame clip (the
DITTO chain back-propagates through one such call per step). Writes a Markdown table between markers in
docs/networks.md, keeping the rest of that file.

Clocks: ``--clock cpu`` (default) runs torch on ONE thread and reads that thread's CPU time, which stays
meaningful when other jobs share the cores (wall time under load is inflated and erratic); the 2-core
training rate is then estimated with a stated scaling factor (``--scaling``). ``--clock wall`` times wall
clock with torch's default threads: use it on an idle machine.

    python bench/bench_networks.py --reps 3 --note "2 cores shared with a dataset build"
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shlex
import statistics
import time
from pathlib import Path

import torch

from ditto2.diffusion import AutoencoderConfig, Denoiser, MelAutoencoder, UNet1DConfig, UNet2DConfig, build_network, edm_loss

# Every field that matters is spelled out, so changing the library defaults never changes a candidate.
CANDIDATES = {
    "2d-32-64-128": UNet2DConfig(channels=(32, 64, 128), res_blocks=2),
    "2d-32-64-128-noattn": UNet2DConfig(channels=(32, 64, 128), res_blocks=2, attention=False),
    "2d-32-64-128-r1": UNet2DConfig(channels=(32, 64, 128), res_blocks=1),
    "2d-48-96-192-r1": UNet2DConfig(channels=(48, 96, 192), res_blocks=1),
    "2d-48-96-192-r122": UNet2DConfig(channels=(48, 96, 192), res_blocks=(1, 2, 2)),
    "2d-48-96-192": UNet2DConfig(channels=(48, 96, 192), res_blocks=2),
    "2d-64-128-192-r1": UNet2DConfig(channels=(64, 128, 192), res_blocks=1),
    "2d-64-128-192": UNet2DConfig(channels=(64, 128, 192), res_blocks=2),
    "2d-64-128-256": UNet2DConfig(channels=(64, 128, 256), res_blocks=2),
    "1d-128-192-256": UNet1DConfig(in_channels=160, channels=(128, 192, 256), res_blocks=2),
    "1d-256-384-512": UNet1DConfig(in_channels=160, channels=(256, 384, 512), res_blocks=2),
}
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


CLOCK = {"wall": time.perf_counter, "cpu": time.thread_time}
clock = CLOCK["cpu"]


def median_ms(fn, reps: int, warmup: int) -> float:
    """Median milliseconds of fn() on the selected clock, after warm-up calls (oneDNN primitive caching)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return 1000 * statistics.median(times)


def bench_net(cfg, args, gen) -> dict:
    torch.manual_seed(0)
    den = Denoiser(build_network(cfg), sigma_data=1.0)
    opt = torch.optim.AdamW(den.parameters(), lr=1e-4)
    crop = torch.randn(args.batch, 8, 20, args.crop_frames // 4, generator=gen)
    clip = torch.randn(1, 8, 20, args.clip_frames // 4, generator=gen)
    sigma = torch.full((args.batch,), 1.0)

    def forward_crop():
        with torch.no_grad():
            den(crop, sigma)

    def train_step():
        loss = edm_loss(den, crop, generator=gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def forward_clip():
        with torch.no_grad():
            den(clip, 1.0)

    def fwd_bwd_clip():
        x = clip.clone().requires_grad_()
        den(x, 1.0).square().sum().backward()

    r = dict(params=sum(p.numel() for p in den.parameters()))
    r["fwd_crop"] = median_ms(forward_crop, args.reps, 1)
    r["train_crop"] = median_ms(train_step, args.reps, 1)
    r["fwd_clip"] = median_ms(forward_clip, args.reps, 1)
    r["fwdbwd_clip"] = median_ms(fwd_bwd_clip, args.reps, 1)
    return r


def bench_ae(args, gen) -> dict:
    ae = MelAutoencoder(AutoencoderConfig())
    opt = torch.optim.AdamW(ae.parameters(), lr=1e-4)
    crop = torch.randn(args.batch, 80, args.crop_frames, generator=gen).clamp(-1, 1)
    clip = torch.randn(1, 80, args.clip_frames, generator=gen).clamp(-1, 1)
    z_clip = torch.randn(1, 8, 20, args.clip_frames // 4, generator=gen)

    def train_step():
        loss, _ = ae.loss(crop, generator=gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def encode_clip():
        with torch.no_grad():
            ae.encode(clip)

    def decode_clip():
        with torch.no_grad():
            ae.decode(z_clip)

    def decode_bwd_clip():
        z = z_clip.clone().requires_grad_()
        ae.decode(z).square().sum().backward()

    return dict(params=sum(p.numel() for p in ae.parameters()),
                train_crop=median_ms(train_step, args.reps, 1),
                encode_clip=median_ms(encode_clip, args.reps, 1),
                decode_clip=median_ms(decode_clip, args.reps, 1),
                decode_bwd_clip=median_ms(decode_bwd_clip, args.reps, 1))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()}-core CPU ({cpu}), torch {torch.__version__}"


def rate(train_ms: float, args) -> float:
    """Training steps/s: measured (wall) or estimated for 2 free cores from 1-thread CPU time."""
    return (args.scaling if args.clock == "cpu" else 1.0) * 1000 / train_ms


def render(results: dict, ae: dict | None, args, load_before, load_after) -> str:
    b, crop_t, cpu = args.batch, args.crop_frames // 4, args.clock == "cpu"
    clock_line = (f"Clock: CPU time of the bench's single torch thread (robust to other load). "
                  f"'2 free cores' = {args.scaling} x the 1-thread rate: an estimate assuming a "
                  f"{args.scaling}x two-thread speed-up, not a measurement."
                  if cpu else f"Clock: wall time, {torch.get_num_threads()} torch threads; steps/s measured.")
    rate_cols = [f"steps/s b{b}, 1 thread", f"est. steps/s b{b}, 2 free cores"] if cpu else [f"steps/s b{b}"]
    cols = ["network", "params (M)", f"fwd b{b} crop (ms)", f"train step b{b} (ms)", *rate_cols,
            "fwd b1 clip (ms)", "fwd+bwd b1 clip (ms)"]
    lines = [
        f"Command: `python bench/bench_networks.py {shlex.join(args.argv)}`",
        f"Date: {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}; machine: {machine()}.",
        f"Load average (1/5/15 min) before: {load_before}; after: {load_after}."
        + (f" Note: {args.note}." if args.note else ""),
        f"{clock_line} Median of {args.reps} reps after 1 warm-up. Crop: batch {b} of 8x20x{crop_t} latents "
        f"({args.crop_frames} frames); clip: batch 1 of 8x20x{args.clip_frames // 4} ({args.clip_frames} frames). "
        "Train step = EDM loss forward + backward + AdamW.",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * len(cols),
    ]
    for name, r in results.items():
        rates = [1000 / r["train_crop"], rate(r["train_crop"], args)] if cpu else [rate(r["train_crop"], args)]
        cells = [name, f"{r['params'] / 1e6:.2f}", f"{r['fwd_crop']:.0f}", f"{r['train_crop']:.0f}",
                 *(f"{v:.2f}" for v in rates), f"{r['fwd_clip']:.0f}", f"{r['fwdbwd_clip']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    if ae:
        lines += ["", f"| autoencoder | params (M) | train step b{b} (ms) | encode b1 clip (ms) | "
                  "decode b1 clip (ms) | decode fwd+bwd b1 clip (ms) |", "|---|---|---|---|---|---|",
                  f"| default 4x4, C_lat 8 | {ae['params'] / 1e6:.2f} | {ae['train_crop']:.0f} | "
                  f"{ae['encode_clip']:.0f} | {ae['decode_clip']:.0f} | {ae['decode_bwd_clip']:.0f} |"]
    return "\n".join(lines)


def write_doc(path: Path, table: str) -> None:
    block = f"{BEGIN}\n{table}\n{END}"
    text = path.read_text() if path.exists() else f"# Teacher networks: benchmark\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text:
        text += f"\n{BEGIN}\n{END}\n"
    text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text, flags=re.DOTALL)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=3, help="timed repetitions per measurement (median)")
    p.add_argument("--batch", type=int, default=16, help="training batch size")
    p.add_argument("--crop-frames", type=int, default=256, help="mel frames of a training crop")
    p.add_argument("--clip-frames", type=int, default=512, help="mel frames of a full clip")
    p.add_argument("--only", nargs="*", choices=sorted(CANDIDATES), help="candidates to run (default all)")
    p.add_argument("--no-ae", action="store_true", help="skip the autoencoder")
    p.add_argument("--clock", choices=sorted(CLOCK), default="cpu",
                   help="cpu: 1 thread, thread CPU time (robust to load); wall: wall clock, default threads")
    p.add_argument("--scaling", type=float, default=1.7,
                   help="assumed speed-up of 2 free cores over 1 thread, for the estimated rate (cpu clock)")
    p.add_argument("--threads", type=int, default=0, help="torch threads for --clock wall (0: torch default)")
    p.add_argument("--note", default="", help="free text for the report, e.g. what else loaded the machine")
    p.add_argument("--out", type=Path, default=Path("docs/networks.md"), help="Markdown file to update ('-': none)")
    args = p.parse_args(argv)
    args.argv = argv if argv is not None else __import__("sys").argv[1:]
    global clock
    clock = CLOCK[args.clock]
    if args.clock == "cpu":
        torch.set_num_threads(1)
    elif args.threads:
        torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    load_before = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"{machine()}; load average before: {load_before}"
          + (f"; note: {args.note}" if args.note else ""), flush=True)
    results = {}
    for name in args.only or CANDIDATES:
        results[name] = r = bench_net(CANDIDATES[name], args, gen)
        print(f"{name:22s} {r['params'] / 1e6:5.2f} M  fwd {r['fwd_crop']:6.0f} ms  "
              f"train {r['train_crop']:6.0f} ms ({rate(r['train_crop'], args):.2f}/s)  "
              f"clip fwd {r['fwd_clip']:5.0f} ms  fwd+bwd {r['fwdbwd_clip']:5.0f} ms", flush=True)
    ae = None if args.no_ae else bench_ae(args, gen)
    if ae:
        print(f"autoencoder {ae['params'] / 1e6:.2f} M  train {ae['train_crop']:.0f} ms  "
              f"encode {ae['encode_clip']:.0f} ms  decode {ae['decode_clip']:.0f} ms  "
              f"decode fwd+bwd {ae['decode_bwd_clip']:.0f} ms", flush=True)
    load_after = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    table = render(results, ae, args, load_before, load_after)
    if str(args.out) != "-":
        write_doc(args.out, table)
        print(f"wrote {args.out}")
    else:
        print(table)


if __name__ == "__main__":
    main()
