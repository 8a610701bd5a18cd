"""The teacher's first quality figure: does generated audio look like music to simple, independent probes?

Per clip (5.94 s of audio at 22.05 kHz):
* **onset peakiness**: 95th percentile / median of librosa's onset strength — crisp note onsets give
  high values, washes and noise about 1.5 (reference/cpu-probe.md);
* **transcribed notes**: the number of notes basic-pitch (ONNX, ships its weights) finds;
* a **feature vector** of summary statistics (20 band-averaged log-mel means and standard deviations over
  time, 12 chroma means, onset-strength mean and std), whose Fréchet distance between two sets of clips
  ("FD-54") compares distributions. It is a stand-in until the evaluation issue's FAD on a music embedding.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ditto2.audio import mel as M
from ditto2.eval.fad import frechet_distance  # moved to eval/fad.py; the name stays public here
from ditto2.eval.melody import Transcriber

NOTES_FOR_MUSIC = 10  # a clip "has notes" when basic-pitch finds at least this many


def onset_peakiness(audio: np.ndarray) -> float:
    import librosa

    strength = librosa.onset.onset_strength(y=audio, sr=M.SAMPLE_RATE, hop_length=M.HOP)
    return float(np.percentile(strength, 95) / max(np.median(strength), 1e-8))


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

    def row(self) -> str:
        return (f"| {self.name} | {self.clips} | {self.fd:.1f} | {self.peakiness_median:.2f} | "
                f"{self.notes_median:.0f} | {100 * self.share_with_notes:.0f} % |")


TABLE_HEADER = ("| set | clips | FD-54 vs reference ↓ | onset peakiness (median) | basic-pitch notes (median) | "
                "clips with ≥ 10 notes |\n|---|---|---|---|---|---|")


def score_set(name: str, clips: list[np.ndarray], reference_features: np.ndarray, counter: NoteCounter) -> SetScore:
    features = np.stack([clip_features(c) for c in clips])
    notes = np.array([counter(c) for c in clips])
    return SetScore(name, len(clips), frechet_distance(features, reference_features),
                    float(np.median([onset_peakiness(c) for c in clips])), float(np.median(notes)),
                    float(np.mean(notes >= NOTES_FOR_MUSIC)))
