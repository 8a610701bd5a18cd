"""Melody targets: one MIDI pitch per frame (-1 = silence), from notes, MIDI files or audio.

Pitch classes (pitch % 12, C = 0) are what the melody control scores; the MIDI pitch is kept so
reports can show the tune.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ditto2.audio import mel as M
from ditto2.errors import InputError
from ditto2.features._checks import as_wave, existing_file, positive_int

_NOTE = re.compile(r"^(?:(?P<rest>[Rr])|(?P<step>[A-Ga-g])(?P<accidental>#{1,2}|b{1,2})?(?P<octave>-?\d+))"
                   r"(?::(?P<beats>\d+(?:\.\d*)?|\.\d+))?$")
_STEP = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass(frozen=True, eq=False)  # eq on arrays is ambiguous; compare .pitch instead
class Melody:
    pitch: np.ndarray  # (T,) int64 MIDI pitch, -1 = silence

    @property
    def pitch_class(self) -> np.ndarray:
        return np.where(self.pitch >= 0, self.pitch % 12, -1)

    @property
    def voiced(self) -> np.ndarray:
        return self.pitch >= 0

    def __len__(self) -> int:
        return int(self.pitch.size)


def _checked(pitch: np.ndarray, source: str) -> Melody:
    if not (pitch >= 0).any():
        raise InputError(f"{source}: the melody is empty (no sounding notes in the clip)")
    return Melody(pitch.astype(np.int64))


# --- note strings ------------------------------------------------------------------------------

def parse_note(token: str) -> tuple[int, float]:
    """'Eb4:2' -> (63, 2.0); 'R' -> (-1, 1.0). Octave 4 holds middle C (C4 = MIDI 60)."""
    match = _NOTE.match(token)
    if match is None:
        raise InputError(f"melody note {token!r}: expected a name and octave such as C4, F#3 or Eb5, "
                         "optionally ':beats' (e.g. E4:2), or R for a rest")
    beats = float(match["beats"]) if match["beats"] else 1.0
    if beats <= 0:
        raise InputError(f"melody note {token!r}: the duration must be more than 0 beats")
    if match["rest"]:
        return -1, beats
    accidental = match["accidental"] or ""
    pitch = 12 * (int(match["octave"]) + 1) + _STEP[match["step"].upper()] + len(accidental) * (
        1 if accidental.startswith("#") else -1)
    if not 0 <= pitch <= 127:
        raise InputError(f"melody note {token!r}: outside the MIDI range C-1 to G9")
    return pitch, beats


def melody_from_notes(notes: str, n_frames: int = M.CLIP_FRAMES) -> Melody:
    """Notes such as "C4 D4 E4:2 R G4" -> a Melody spread over the clip in proportion to their beats."""
    n_frames = positive_int(n_frames, "n_frames")
    tokens = notes.replace(",", " ").split() if isinstance(notes, str) else []
    if not tokens:
        raise InputError(f"melody notes: expected notes such as 'C4 D4 E4:2 R G4', got {notes!r}")
    parsed = [parse_note(t) for t in tokens]
    edges = np.round(np.cumsum([0.0] + [b for _, b in parsed]) / sum(b for _, b in parsed) * n_frames).astype(int)
    if (np.diff(edges) < 1).any():
        raise InputError(f"melody notes: {len(parsed)} notes do not fit in {n_frames} frames "
                         "(use fewer or longer notes)")
    pitch = np.full(n_frames, -1, dtype=np.int64)
    for (p, _), start, end in zip(parsed, edges[:-1], edges[1:]):
        pitch[start:end] = p
    return _checked(pitch, f"melody notes {notes!r}")


# --- MIDI files --------------------------------------------------------------------------------

def melody_from_midi(path, n_frames: int = M.CLIP_FRAMES) -> Melody:
    """Top voice of a MIDI file: the highest sounding (non-drum) pitch in each frame, from t = 0."""
    import pretty_midi

    path = existing_file(path, "melody MIDI file")
    n_frames = positive_int(n_frames, "n_frames")
    try:
        midi = pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # mido/pretty_midi raise many types for malformed files
        raise InputError(f"melody MIDI file {path}: cannot read it as MIDI ({exc})") from None
    pitch = np.full(n_frames, -1, dtype=np.int64)
    for inst in midi.instruments:
        if inst.is_drum:
            continue
        for note in inst.notes:
            # Frame t (centred at t * hop) sounds the note when start <= time < end.
            start, end = (int(np.ceil(s * M.FRAME_RATE)) for s in (note.start, note.end))
            pitch[start:end] = np.maximum(pitch[start:end], note.pitch)
    return _checked(pitch, f"melody MIDI file {path}")


# --- audio -------------------------------------------------------------------------------------

def melody_from_audio(audio, n_frames: int = M.CLIP_FRAMES, *, model: str = "tiny",
                      periodicity_threshold: float = 0.3, silence_db: float = -60.0) -> Melody:
    """Pitch of a monophonic recording (path or 22.05 kHz waveform) with CREPE, on the clip's grid.

    A frame is voiced when CREPE's periodicity reaches ``periodicity_threshold`` and its RMS level
    exceeds ``silence_db``. ``model`` "tiny" is the CPU default; "full" is more accurate and ~5x slower.
    """
    from ditto2.audio.io import read_audio
    from ditto2.features.intensity import intensity_db_audio
    from ditto2.features.pitch import track_pitch

    n_frames = positive_int(n_frames, "n_frames")
    if isinstance(audio, (str, Path)):
        source = f"melody audio file {audio}"
        wave = read_audio(existing_file(audio, "melody audio file"))
    else:
        source = "melody audio"
        wave = as_wave(audio, source)
    wave = wave[: n_frames * M.HOP]
    if wave.size < M.HOP:
        raise InputError(f"{source}: too short (needs at least {M.HOP} samples)")
    hz, periodicity = track_pitch(wave, wave.size // M.HOP, model=model)
    level = intensity_db_audio(wave, smooth=False)
    voiced = (periodicity >= periodicity_threshold) & (level > silence_db) & (hz > 0)
    pitch = np.full(n_frames, -1, dtype=np.int64)
    midi = 69.0 + 12.0 * np.log2(np.maximum(hz, 1e-3) / 440.0)
    pitch[: hz.size] = np.where(voiced, np.round(midi), -1)
    return _checked(pitch, source)
