"""What does real music score on the melody metric? The real test clips whose melodies are the melody control's
targets, scored as a generated clip is: basic-pitch's highest note per frame against the clip's own melody line
(``eval.melody.frame_accuracy``), and the share of the high-passed chroma its melody's pitch class holds
(``features.melody_log_probs`` at temperature 1: what the control's floor asks, 0.4 by default).

    .venv/bin/python studies/real_melody.py [--data data/vocoder] [-n 16] [--skip 0]

``--skip 0``: the tuning melodies of studies/control_musicality.py; ``--skip 32``: the fresh ones.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from ditto2.audio import mel as M
from ditto2.bench.targets import as_float, test_clips
from ditto2.eval.melody import Transcriber, frame_accuracy
from ditto2.features import melody_log_probs


def melody_share(wave: np.ndarray, pitch_class: np.ndarray) -> float:
    """Median over voiced frames of the melody pitch class's share of the frame's chroma."""
    mel = M.wave_to_mel(torch.from_numpy(wave))[None, :, : M.CLIP_FRAMES]
    probs = melody_log_probs(mel)[0].exp()
    voiced = pitch_class >= 0
    picked = probs[torch.from_numpy(pitch_class.clip(0).astype(np.int64)), torch.arange(probs.shape[-1])]
    return float(np.median(picked.numpy()[voiced]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("data/vocoder"))
    p.add_argument("-n", type=int, default=16)
    p.add_argument("--skip", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(1)
    clips = test_clips(args.data, args.n, fields=("audio", "melody_pc"), skip=args.skip)
    transcriber = Transcriber()
    shares, accuracies = [], []
    for audio, pitch_class in zip(clips["audio"], clips["melody_pc"]):
        wave = as_float(audio)
        shares.append(melody_share(wave, pitch_class))
        accuracies.append(frame_accuracy(transcriber.top_pitch(wave), pitch_class))
    print(f"{args.n} real clips: transcribed accuracy against their own melody {np.mean(accuracies):.3f} "
          f"(range {min(accuracies):.2f}-{max(accuracies):.2f}); median chroma share of the melody's pitch class "
          f"{np.median(shares):.3f} (range {min(shares):.2f}-{max(shares):.2f})")


if __name__ == "__main__":
    main()
