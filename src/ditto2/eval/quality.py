"""The teacher's first quality figure: does generated audio look like music to simple, independent probes?

Per clip (5.94 s of audio at 22.05 kHz):
* **onset peakiness**: 95th percentile / median of librosa's onset strength — crisp note onsets give
  high values, washes and noise about 1.5 (reference/cpu-probe.md);
* **transcribed notes**: the number of notes basic-pitch (ONNX, ships its weights) finds;
* a **feature vector** of summary statistics (20 band-averaged log-mel means and standard deviations over
  time, 12 chroma means, onset-strength mean and std), whose Fréchet distance between two sets of clips
  ("FD-54") compares distributions. It is a stand-in until the evaluation issue's FAD on a music embedding;
  beside it, the **feature spread**: the trace of the set's feature covariance over the reference's, which
  falls far under 1 when every clip sounds alike (docs/models.md).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ditto2.audio import mel as M
from ditto2.eval.fad import frechet_distance  # moved to eval/fad.py; the name stays public here
from ditto2.eval.melody import Transcriber
from ditto2.eval.musicality import onset_peakiness  # moved to eval/musicality.py; the name stays public here

NOTES_FOR_MUSIC = 10  # a clip "has notes" when basic-pitch finds at least this many


def clip_features(audio: np.ndarray) -> np.ndarray:
    import librosa
    import torch

    ln_mel = M.denormalise(M.wave_to_mel(torch.from_numpy(audio.astype(np.float32)))).numpy()
    bands = ln_mel.reshape(20, 4, -1).mean(1)
    chroma = librosa.feature.chroma_stft(y=audio, sr=M.SAMPLE_RATE, hop_length=M.HOP).mean(1)
    onset = librosa.onset.onset_strength(y=audio, sr=M.SAMPLE_RATE, hop_length=M.HOP)
    return np.concatenate([bands.mean(1), bands.std(1), chroma, [onset.mean(), onset.std()]])


class NoteCounter(Transcriber):
    """basic-pitch on ONNX (``melody.Transcriber``); loads once. Calling it counts the notes of a clip."""

    def __call__(self, audio: np.ndarray) -> int:
        return len(self.notes(audio))


@dataclasses.dataclass
class SetScore:
    name: str
    clips: int
    fd: float                  # FD-54 against the reference set
    peakiness_median: float
    notes_median: float
    share_with_notes: float    # clips with at least NOTES_FOR_MUSIC transcribed notes
    peakiness_quartiles: tuple[float, float] = (float("nan"), float("nan"))
    notes_quartiles: tuple[float, float] = (float("nan"), float("nan"))
    spread: float = float("nan")  # trace of the feature covariance / the reference set's

    def row(self) -> str:
        (p1, p3), (n1, n3) = self.peakiness_quartiles, self.notes_quartiles
        return (f"| {self.name} | {self.clips} | {self.fd:.1f} | {self.peakiness_median:.2f} ({p1:.1f}–{p3:.1f}) | "
                f"{self.notes_median:.0f} ({n1:.0f}–{n3:.0f}) | {100 * self.share_with_notes:.0f} % | "
                f"{self.spread:.2f} |")


TABLE_HEADER = ("| set | clips | FD-54 vs reference ↓ | onset peakiness: median (quartiles) | "
                "basic-pitch notes: median (quartiles) | clips with ≥ 10 notes | feature spread vs reference |"
                "\n|---|---|---|---|---|---|---|")


def feature_spread(features: np.ndarray, reference_features: np.ndarray) -> float:
    """How much a set's clips differ from one another, relative to the reference's: a ratio of covariance traces."""
    return float(np.trace(np.cov(features, rowvar=False)) / np.trace(np.cov(reference_features, rowvar=False)))


def _quartiles(values: np.ndarray) -> tuple[float, float]:
    q1, q3 = np.percentile(values, [25, 75])
    return float(q1), float(q3)


def score_set(name: str, clips: list[np.ndarray], reference_features: np.ndarray, counter: NoteCounter) -> SetScore:
    features = np.stack([clip_features(c) for c in clips])
    notes = np.array([counter(c) for c in clips])
    peakiness = np.array([onset_peakiness(c) for c in clips])
    return SetScore(name, len(clips), frechet_distance(features, reference_features),
                    float(np.median(peakiness)), float(np.median(notes)), float(np.mean(notes >= NOTES_FOR_MUSIC)),
                    _quartiles(peakiness), _quartiles(notes), feature_spread(features, reference_features))


def gate_misses(generated: SetScore, real: SetScore, noise: SetScore) -> list[str]:
    """Why ``generated`` misses the teacher's quality gate; an empty list means it passes.

    The gate (issue 3, docs/models.md) asks for onset peakiness and note counts "in the range of real clips
    through the same vocoder, not of washes or noise". Read as: each median lies within the quartiles of
    ``real`` (real mels through the same vocoder), and the FD-54 is nearer to ``real``'s than to that of
    ``noise`` (noise with a real spectral envelope).
    """
    misses = []
    for label, median, (q1, q3) in (("onset peakiness", generated.peakiness_median, real.peakiness_quartiles),
                                    ("basic-pitch notes", generated.notes_median, real.notes_quartiles)):
        if not q1 <= median <= q3:
            misses.append(f"{label} median {median:.2f} outside the real clips' quartiles {q1:.2f}–{q3:.2f}")
    if generated.fd >= (real.fd + noise.fd) / 2:
        misses.append(f"FD-54 {generated.fd:.1f} is not nearer the real clips' {real.fd:.1f} "
                      f"than the envelope noise's {noise.fd:.1f}")
    return misses
