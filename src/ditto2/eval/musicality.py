"""Is controlled audio still music? Per-clip musicality measures, and how much of it a control keeps.

Per clip (22.05 kHz audio, any length):

* **onset peakiness** (``onset_peakiness``): the 95th percentile over the median of librosa's onset strength
  (hop 256). Crisp note onsets stand far above the median frame; washes and noise sit near 1.5.
* **transcribed notes** (``notes_per_clip``): the notes basic-pitch finds (``melody.Transcriber``, the
  transcriber of the melody metric), per 5.94 s (one clip, ``CLIP_SECONDS``) when the audio is longer; a
  shorter clip keeps its count. Music gives tens of notes per clip, a noise-like wash a handful.
* **spectral peak persistence** (``peak_persistence``): the share of strong spectral peaks that are still a
  peak, within ±1 bin, in the next STFT frame (2048-sample Hann window, hop 512: 10.8 Hz bins, 23 ms apart).
  A strong peak is a local maximum of the dB magnitude spectrum that stands ``PROMINENCE_DB`` above the
  local spectral envelope (the mean dB over ±``ENVELOPE_BINS`` bins) and lies within ``RANGE_DB`` of the
  frame's loudest bin. Peaks are pooled over all frames (a frame counts as often as it has peaks); a clip
  without a strong peak scores 0. Held notes keep their partials in place from frame to frame; the few
  peaks of a noise-like wash stand up by chance and move.

Per set, ``set_musicality`` gives the median and quartiles of each measure, and ``kept`` the "quality kept"
ratio of a controlled set to the uncontrolled set of the same model and seeds: controlled median / uncontrolled
median (1 = as musical as without the control), and for a distance (FAD) controlled / uncontrolled.
"""
from __future__ import annotations

import numpy as np

from ditto2.audio import mel as M
from ditto2.errors import InputError
from ditto2.features._checks import as_wave

MEASURES = ("onset_peakiness", "notes_per_clip", "peak_persistence")
TITLES = {"onset_peakiness": "onset peakiness", "notes_per_clip": "notes / 5.94 s",
          "peak_persistence": "peak persistence", "fad": "FAD"}

CLIP_SECONDS = M.CLIP_SAMPLES / M.SAMPLE_RATE  # 5.94 s
PERSISTENCE_FFT = 2048
PERSISTENCE_HOP = 512
ENVELOPE_BINS = 10      # the envelope a peak must stand out from: mean dB over ±10 bins (±108 Hz)
PROMINENCE_DB = 10.0    # a strong peak stands at least this far above that envelope
RANGE_DB = 40.0         # ... and within this of its frame's loudest bin


def onset_peakiness(audio: np.ndarray) -> float:
    import librosa

    strength = librosa.onset.onset_strength(y=audio, sr=M.SAMPLE_RATE, hop_length=M.HOP)
    return float(np.percentile(strength, 95) / max(np.median(strength), 1e-8))


def notes_per_clip(notes: int, seconds: float) -> float:
    """A note count per 5.94 s clip: scaled down for longer audio, kept as it is for shorter."""
    return notes * min(1.0, CLIP_SECONDS / seconds)


def strong_peaks(audio: np.ndarray) -> np.ndarray:
    """(bins, frames) bool: the strong spectral peaks of each STFT frame (definition: module docstring)."""
    import librosa
    from scipy.ndimage import uniform_filter1d

    db = 20 * np.log10(np.maximum(np.abs(librosa.stft(audio, n_fft=PERSISTENCE_FFT, hop_length=PERSISTENCE_HOP,
                                                       center=False)), 1e-10))
    local_max = np.zeros_like(db, dtype=bool)
    local_max[1:-1] = (db[1:-1] > db[:-2]) & (db[1:-1] >= db[2:])
    envelope = uniform_filter1d(db, 2 * ENVELOPE_BINS + 1, axis=0, mode="nearest")
    return local_max & (db - envelope >= PROMINENCE_DB) & (db >= db.max(axis=0) - RANGE_DB)


def peak_persistence(audio: np.ndarray) -> float:
    """Share of strong spectral peaks still a peak within ±1 bin one frame later; 0 without strong peaks."""
    from scipy.ndimage import maximum_filter1d

    audio = as_wave(audio, "peak persistence")
    if audio.size < PERSISTENCE_FFT + PERSISTENCE_HOP:
        raise InputError(f"peak persistence: the audio is shorter than two STFT frames "
                         f"({PERSISTENCE_FFT + PERSISTENCE_HOP} samples), got {audio.size}")
    peaks = strong_peaks(audio)
    nearby = maximum_filter1d(peaks, 3, axis=0)
    count = peaks[:, :-1].sum()
    return float((peaks[:, :-1] & nearby[:, 1:]).sum() / count) if count else 0.0


def clip_musicality(audio: np.ndarray, transcriber) -> dict[str, float]:
    """The three measures of one clip; ``transcriber`` is a ``melody.Transcriber`` (loaded once per run)."""
    persistence = peak_persistence(audio)  # first: it checks the input
    audio = as_wave(audio)
    return {"onset_peakiness": onset_peakiness(audio),
            "notes_per_clip": notes_per_clip(len(transcriber.notes(audio)), audio.size / M.SAMPLE_RATE),
            "peak_persistence": persistence}


def set_musicality(per_clip: list[dict]) -> dict:
    """Median and quartiles of each measure over a set's clips."""
    stats = {m: np.percentile([c[m] for c in per_clip], [25, 50, 75]) for m in MEASURES}
    return {"files": len(per_clip), "median": {m: float(q[1]) for m, q in stats.items()},
            "quartiles": {m: [float(q[0]), float(q[2])] for m, q in stats.items()}}


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline, None where either is missing or the baseline is 0."""
    return None if value is None or not baseline else value / baseline


def kept(figures: dict, baseline: dict) -> dict:
    """The "quality kept" ratio of each figure (the measures' medians, "fad") to the uncontrolled set's."""
    return {name: ratio(value, baseline.get(name)) for name, value in figures.items()}
