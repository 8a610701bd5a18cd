"""Cutting a rendered piece into 5.94 s clips with their mels and per-frame melody targets."""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ditto2.audio import mel as M
from ditto2.audio.io import rms_db

MIN_CLIP_FRACTION = 0.5   # a trailing remainder shorter than half a clip is dropped
SILENT_CLIP_DB = -50.0    # clips quieter than this (RMS dBFS) carry nothing to learn


@dataclasses.dataclass
class Clips:
    audio: np.ndarray          # (n, CLIP_SAMPLES) float32
    starts: np.ndarray         # (n,) start of each clip in seconds
    melody_pitch: np.ndarray   # (n, CLIP_FRAMES) int16, MIDI pitch, -1 = no melody note sounding

    def __len__(self) -> int:
        return len(self.audio)


def melody_frames(notes, n_frames: int) -> np.ndarray:
    """Highest sounding pitch per mel frame (frame f is at f / FRAME_RATE seconds); -1 where silent."""
    track = np.full(n_frames, -1, dtype=np.int16)
    for note in notes:
        first, last = int(np.ceil(note.start * M.FRAME_RATE)), int(np.ceil(note.end * M.FRAME_RATE))
        span = slice(max(first, 0), min(last, n_frames))
        track[span] = np.maximum(track[span], note.pitch)
    return track


def cut_clips(audio: np.ndarray, melody: np.ndarray | None = None) -> Clips:
    """Non-overlapping clips from the start; a remainder of at least half a clip is zero-padded."""
    n_full, remainder = divmod(len(audio), M.CLIP_SAMPLES)
    n = n_full + (remainder >= MIN_CLIP_FRACTION * M.CLIP_SAMPLES)
    padded = np.zeros(n * M.CLIP_SAMPLES, dtype=np.float32)
    padded[: min(len(audio), len(padded))] = audio[: len(padded)]
    clips = padded.reshape(n, M.CLIP_SAMPLES)
    if melody is None:
        melody = np.full(n * M.CLIP_FRAMES, -1, dtype=np.int16)
    melody = np.pad(melody, (0, max(0, n * M.CLIP_FRAMES - len(melody))), constant_values=-1)
    pitch = melody[: n * M.CLIP_FRAMES].reshape(n, M.CLIP_FRAMES)
    keep = np.array([rms_db(c) > SILENT_CLIP_DB for c in clips], dtype=bool)
    starts = np.arange(n) * M.CLIP_SAMPLES / M.SAMPLE_RATE
    return Clips(clips[keep], starts[keep], pitch[keep])


def clip_mels(audio: np.ndarray, batch: int = 16) -> np.ndarray:
    """(n, CLIP_SAMPLES) -> (n, 80, 512) float16 normalised log-mels."""
    out = np.zeros((len(audio), M.N_MELS, M.CLIP_FRAMES), dtype=np.float16)
    with torch.no_grad():
        for i in range(0, len(audio), batch):
            out[i: i + batch] = M.wave_to_mel(torch.from_numpy(audio[i: i + batch])).numpy()
    return out


def pitch_classes(pitch: np.ndarray) -> np.ndarray:
    return np.where(pitch >= 0, pitch % 12, -1).astype(np.int8)
