"""``ditto2 eval vocoder``: vocoders against the original audio of held-out clips.

Per clip and vocoder: the multi-resolution log-spectral distance of the resynthesis (``eval.spectral``; STFT sizes
other than the mel's), the attacks kept (onset peakiness of the resynthesis over the original's), and the seconds
the vocoder took. The set's means, and a mel grid of originals beside each resynthesis.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from ditto2.audio import mel as M
from ditto2.data.arrays import SplitArrays
from ditto2.eval.musicality import onset_peakiness
from ditto2.eval.spectral import log_spectral_distance
from ditto2.fileio import write_json

INT16 = 32768.0


def score_vocoder(vocoder, mels: torch.Tensor, originals: np.ndarray, progress: bool = True) -> dict:
    """Per-clip figures of one vocoder and their means; also its waveforms (for the grid)."""
    from tqdm import tqdm

    rows, waves = [], []
    for mel, original in tqdm(list(zip(mels, originals)), desc="vocoding", unit="clip", disable=not progress):
        start = time.perf_counter()
        wave = vocoder(mel).numpy()
        seconds = time.perf_counter() - start
        lsd = log_spectral_distance(original, wave)
        rows.append({**lsd, "seconds": seconds, "attacks_kept": onset_peakiness(wave) / onset_peakiness(original)})
        waves.append(wave)
    summary = {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}
    summary["seconds_median"] = float(np.median([r["seconds"] for r in rows]))
    summary["attacks_kept_median"] = float(np.median([r["attacks_kept"] for r in rows]))
    return {"summary": summary, "clips": rows, "waves": waves}


def evaluate_vocoders(vocoders: dict, data: str, split: str, n: int, out: str | Path, progress: bool = True) -> dict:
    """Score each named vocoder on the first ``n`` clips of ``split``; write vocoders.json and vocoders.png."""
    from ditto2.plots import plot_mel_grid

    clips = SplitArrays(data, split, audio=True, limit=n)
    mels = torch.from_numpy(clips.mel.astype(np.float32))
    originals = clips.audio.astype(np.float32) / INT16
    results = {name: score_vocoder(v, mels, originals, progress) for name, v in vocoders.items()}
    out = Path(out)
    figures = {"data": data, "split": split, "clips": len(mels), **{k: r["summary"] for k, r in results.items()}}
    write_json(out / "vocoders.json", figures)
    shown = range(min(3, len(mels)))
    grid = [M.wave_to_mel(torch.from_numpy(w)) for i in shown
            for w in [originals[i], *(r["waves"][i] for r in results.values())]]
    titles = [name for _ in shown for name in ["original", *results]]
    plot_mel_grid(grid, out / "vocoders.png", titles=titles, columns=1 + len(results))
    return figures
