"""Time of the mel front-end and every control feature for one 5.94 s clip (2-core CPU).

    .venv/bin/python bench/bench_features.py [--reps 20] [--note "..."]

Prints a markdown table of medians: forward only (evaluation) and forward + backward to the mel
(what one optimisation step pays for the features).
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from ditto2.audio import mel as M
from ditto2.audio.vocoder import GriffinLim
from ditto2.features import intensity_db, melody_log_probs, ssm
from ditto2.timing import median_seconds


def _median_ms(fn, reps: int) -> float:
    return 1000 * median_seconds(fn, reps)


def _backward(feature):
    def run():
        mel = torch.zeros(1, M.N_MELS, M.CLIP_FRAMES, requires_grad=True)
        feature(mel + 0.01 * torch.randn_like(mel)).sum().backward()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--note", default="")
    args = parser.parse_args()
    torch.manual_seed(0)
    wave = 0.1 * torch.randn(1, M.CLIP_SAMPLES)
    mel = M.wave_to_mel(wave)
    rows = [
        ("waveform -> mel", lambda: M.wave_to_mel(wave), None),
        ("intensity (dB curve)", lambda: intensity_db(mel), _backward(intensity_db)),
        ("melody (chroma log-probs)", lambda: melody_log_probs(mel), _backward(melody_log_probs)),
        ("structure (MFCC SSM)", lambda: ssm(mel), _backward(ssm)),
        ("all three features", lambda: (intensity_db(mel), melody_log_probs(mel), ssm(mel)),
         _backward(lambda m: intensity_db(m).mean() + melody_log_probs(m).mean() + ssm(m).mean())),
        ("Griffin-Lim vocoder, 32 iterations", lambda: GriffinLim()(mel), None),
    ]
    print(f"Command: `python bench/bench_features.py --reps {args.reps}`  ")
    print(f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads. {args.note}\n")
    print("| stage (one 5.94 s clip) | forward (ms) | forward + backward (ms) |")
    print("|---|---|---|")
    for name, fwd, bwd in rows:
        with torch.no_grad():
            f = _median_ms(fwd, args.reps)
        b = f"{_median_ms(bwd, args.reps):.1f}" if bwd else "—"
        print(f"| {name} | {f:.1f} | {b} |")


if __name__ == "__main__":
    main()
