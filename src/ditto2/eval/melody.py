"""Melody accuracy of final audio, measured with a transcriber independent of the optimised chroma.

basic-pitch (ONNX backend; ships its weights) transcribes the audio into notes; the **highest
sounding note** in each frame is the estimated melody (the same "top voice" rule as
``features.melody_from_midi``). The frame grid is the mel's: frame f sits at f * 256 / 22050 s, a
waveform of L samples has L // 256 frames, and a note (start, end) sounds in frame f when
start <= f * 256 / 22050 < end.

* ``frame_accuracy``: share of voiced target frames (pitch class >= 0) whose estimated pitch class
  matches; a frame with no transcribed note counts as wrong. DITTO's "overall frame accuracy".
* ``raw_chroma_accuracy``: mir_eval's raw chroma accuracy against an f0 line in Hz (octave errors
  ignored, 50 cent tolerance); the estimate is the top note's equal-tempered frequency.

Known limit: basic-pitch sometimes reports a strong upper partial (e.g. the 3rd harmonic, a 12th
above) as a note of its own, and "highest note" then picks it; pure or mellow timbres are safe.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import logging
import math
import tempfile
from pathlib import Path

import numpy as np

from ditto2.audio import mel as M
from ditto2.errors import InputError
from ditto2.features._checks import as_wave

RECENT_CLIPS = 8


class Transcriber:
    """basic-pitch on ONNX; the model loads once per instance."""

    def __init__(self):
        logging.getLogger("root").setLevel(logging.ERROR)  # basic-pitch warns about absent TF/CoreML backends
        from basic_pitch import FilenameSuffix, build_icassp_2022_model_path
        from basic_pitch.inference import Model

        self.model = Model(build_icassp_2022_model_path(FilenameSuffix.onnx))
        self._recent: dict[str, list] = {}  # the melody score and the musicality measures ask for the same clip

    def notes(self, wave) -> list[tuple[float, float, int]]:
        """(start_s, end_s, midi_pitch) of every note in a 22.05 kHz waveform (the last few are remembered)."""
        from basic_pitch.inference import predict

        from ditto2.audio.io import write_audio

        wave = as_wave(wave)
        key = hashlib.sha1(np.ascontiguousarray(wave, dtype=np.float32).tobytes()).hexdigest()
        if key not in self._recent:
            with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
                # basic-pitch reads files only (and prints a line per file).
                _, _, events = predict(str(write_audio(Path(tmp) / "clip.wav", wave)), self.model)
            if len(self._recent) >= RECENT_CLIPS:
                self._recent.pop(next(iter(self._recent)))
            self._recent[key] = [(float(s), float(e), int(p)) for s, e, p, *_ in events]
        return list(self._recent[key])

    def top_pitch(self, wave) -> np.ndarray:
        """(L // 256,) MIDI pitch of the highest sounding note per frame, -1 where none sounds."""
        wave = as_wave(wave)
        return top_pitch(self.notes(wave), wave.size // M.HOP)


def top_pitch(notes, n_frames: int) -> np.ndarray:
    pitch = np.full(n_frames, -1, dtype=np.int64)
    for start, end, p in notes:
        first, stop = (math.ceil(t * M.FRAME_RATE) for t in (start, end))
        pitch[first:stop] = np.maximum(pitch[first:stop], p)
    return pitch


def pitch_class(pitch: np.ndarray) -> np.ndarray:
    return np.where(pitch >= 0, pitch % 12, -1)


def _target_pc(target, n_frames: int) -> np.ndarray:
    """A Melody or a per-frame pitch-class array (-1 = unvoiced) of exactly n_frames."""
    if n_frames < 1:
        raise InputError(f"melody: the audio is shorter than one frame ({M.HOP} samples)")
    pc = target.pitch_class if hasattr(target, "pitch_class") else np.asarray(target)
    if pc.ndim != 1 or pc.size != n_frames:
        raise InputError(f"melody target: expected {n_frames} frames (one per 256 samples of audio), "
                         f"got shape {pc.shape}")
    if not np.issubdtype(pc.dtype, np.integer) or pc.min() < -1 or pc.max() > 11:
        raise InputError("melody target: expected whole pitch classes 0-11, or -1 for unvoiced frames")
    if not (pc >= 0).any():
        raise InputError("melody target: no voiced frames to score")
    return pc.astype(np.int64)


def frame_accuracy(estimate_pitch: np.ndarray, target) -> float:
    """Share of voiced target frames whose estimated pitch class matches (misses count as wrong)."""
    target_pc = _target_pc(target, len(estimate_pitch))
    voiced = target_pc >= 0
    return float(np.mean(pitch_class(estimate_pitch)[voiced] == target_pc[voiced]))


def midi_to_hz(pitch: np.ndarray) -> np.ndarray:
    """MIDI pitch -> Hz, 0 where the pitch is -1 (mir_eval's "unvoiced")."""
    return np.where(pitch >= 0, 440.0 * 2.0 ** ((pitch - 69) / 12.0), 0.0)


def _target_hz(target_hz, n_frames: int) -> np.ndarray:
    """A per-frame f0 line in Hz of exactly n_frames; values <= 0 become 0 (unvoiced)."""
    hz = np.asarray(target_hz, dtype=np.float64)
    if hz.ndim != 1 or hz.size != n_frames:
        raise InputError(f"f0 target: expected {n_frames} frames (one per 256 samples of audio), got shape {hz.shape}")
    if not np.all(np.isfinite(hz)):
        raise InputError("f0 target: contains NaN or infinite values (use 0 for unvoiced frames)")
    if not (hz > 0).any():
        raise InputError("f0 target: no voiced frames (every value <= 0 Hz)")
    return np.maximum(hz, 0.0)


def raw_chroma_accuracy(estimate_pitch: np.ndarray, target_hz, cent_tolerance: float = 50.0) -> float:
    """mir_eval raw chroma accuracy of the top-note line against a per-frame f0 (Hz; <= 0 = unvoiced)."""
    import mir_eval.melody as mm

    ref_hz, ref_voicing = mm.freq_to_voicing(_target_hz(target_hz, len(estimate_pitch)))
    est_hz, est_voicing = mm.freq_to_voicing(midi_to_hz(estimate_pitch))
    return float(mm.raw_chroma_accuracy(ref_voicing, mm.hz2cents(ref_hz), est_voicing, mm.hz2cents(est_hz),
                                        cent_tolerance=cent_tolerance))


@dataclasses.dataclass(frozen=True)
class MelodyScore:
    accuracy: float | None         # frame accuracy against the pitch-class target
    raw_chroma: float | None       # mir_eval raw chroma accuracy against the f0 target
    frames: int
    voiced_frames: int             # frames the target marks voiced
    transcribed_frames: int        # frames where any note sounds
    estimate: np.ndarray = dataclasses.field(repr=False)  # (frames,) top MIDI pitch, -1 = none

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["estimate"] = self.estimate.tolist()
        return out


def score_melody(wave, target_pc=None, *, target_hz=None, transcriber: Transcriber | None = None) -> MelodyScore:
    """Transcribe once, then score against a pitch-class target (or Melody), an f0 line in Hz, or both."""
    if target_pc is None and target_hz is None:
        raise InputError("melody score: give a pitch-class target, an f0 target in Hz, or both")
    wave = as_wave(wave)
    n_frames = wave.size // M.HOP
    # Check the targets before the slow transcription.
    voiced = _target_pc(target_pc, n_frames) >= 0 if target_pc is not None else _target_hz(target_hz, n_frames) > 0
    if target_pc is not None and target_hz is not None:
        _target_hz(target_hz, n_frames)
    estimate = (transcriber or Transcriber()).top_pitch(wave)
    accuracy = frame_accuracy(estimate, target_pc) if target_pc is not None else None
    chroma = raw_chroma_accuracy(estimate, target_hz) if target_hz is not None else None
    return MelodyScore(accuracy=accuracy, raw_chroma=chroma, frames=n_frames, voiced_frames=int(voiced.sum()),
                       transcribed_frames=int((estimate >= 0).sum()), estimate=estimate)
