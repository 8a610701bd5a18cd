"""Seeded arrangement of a score: ensemble, tempo, transposition, dynamics, accompaniment, drums.

Every random choice comes from one generator seeded by (dataset seed, piece id), so a piece is
arranged identically on every build, whatever order the workers take pieces in. The choices are
returned as ``Arrangement`` and recorded in the clip metadata.
"""
from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pretty_midi

from ditto2.data.score import ScoreNote, ScoreNotes

# Ensembles for polyphonic pieces: GM programs assigned to parts top-down (cycled).
ENSEMBLES = {
    "string quartet": (40, 40, 41, 42),
    "string orchestra": (48, 48, 49, 48),
    "piano": (0,),
    "church organ": (19,),
    "woodwind quintet": (73, 68, 71, 60, 70),
    "brass ensemble": (56, 56, 60, 57, 58),
    "choir": (52, 52, 53, 52),
    "guitar duo": (24, 25),
    "harpsichord": (6,),
    "saxophone quartet": (64, 65, 66, 67),
    "electric piano": (4,),
    "marimba and vibraphone": (11, 12),
    "synthesizer": (81, 89, 89, 38),
}
# Instruments for monophonic tunes, played alone or over an accompaniment.
SOLO_INSTRUMENTS = {
    "violin": 40, "flute": 73, "oboe": 68, "clarinet": 71, "trumpet": 56, "recorder": 74,
    "accordion": 21, "harmonica": 22, "fiddle": 110, "pan flute": 75, "tin whistle": 78,
    "alto saxophone": 65, "piano": 0, "vibraphone": 11, "nylon guitar": 24,
}
ACCOMPANIMENTS = {  # name -> (chord program, bass program)
    "piano": (0, 0), "guitar": (25, 32), "strings": (48, 43), "harp": (46, 46),
    "accordion": (21, 21), "electric piano": (4, 33), "organ": (16, 19),
}
PATTERNS = ("block", "arpeggio", "oompah", "sustained")

# Beats per minute of the counted beat, by genre; drums probability by genre.
TEMPO_RANGE = {"chorale": (56, 96), "renaissance": (50, 96), "medieval": (60, 116), "folk": (70, 144),
               "fiddle": (84, 150), "classical": (50, 144)}
DRUM_PROBABILITY = {"chorale": 0.08, "renaissance": 0.05, "medieval": 0.1, "folk": 0.35,
                    "fiddle": 0.4, "classical": 0.1}
ACCOMPANIED_PROBABILITY = 0.6

MAJOR_CHORDS = {0: (0, 4, 7), 2: (2, 5, 9), 5: (5, 9, 0), 7: (7, 11, 2), 9: (9, 0, 4)}
MINOR_CHORDS = {0: (0, 3, 7), 5: (5, 8, 0), 7: (7, 11, 2), 8: (8, 0, 3), 3: (3, 7, 10)}
CHORD_PRIOR = {0: 0.3, 7: 0.2, 5: 0.15}


@dataclasses.dataclass(frozen=True)
class Arrangement:
    ensemble: str               # caption name of the ensemble or solo instrument
    programs: tuple[int, ...]   # one GM program per part (melody part first)
    accompaniment: str | None   # name from ACCOMPANIMENTS, monophonic tunes only
    pattern: str | None
    drums: bool
    bpm: float                  # counted beats per minute
    seconds_per_quarter: float
    transpose: int
    base_velocity: int
    swell_seed: int             # seeds the slow loudness envelope
    reverb_seconds: float       # RT60 of the seeded room
    reverb_mix: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def piece_rng(seed: int, piece_id: str) -> np.random.Generator:
    digest = int(hashlib.sha1(f"{seed}:{piece_id}".encode()).hexdigest()[:16], 16)
    return np.random.default_rng(digest)


def choose_arrangement(score: ScoreNotes, genre: str, rng: np.random.Generator) -> Arrangement:
    lo, hi = TEMPO_RANGE[genre]
    bpm = float(round(rng.uniform(lo, hi)))
    if score.monophonic:
        ensemble = str(rng.choice(sorted(SOLO_INSTRUMENTS)))
        programs = (SOLO_INSTRUMENTS[ensemble],)
        accompanied = rng.random() < ACCOMPANIED_PROBABILITY
        accompaniment = str(rng.choice(sorted(ACCOMPANIMENTS))) if accompanied else None
        pattern = str(rng.choice(PATTERNS)) if accompanied else None
    else:
        ensemble = str(rng.choice(sorted(ENSEMBLES)))
        cycle = ENSEMBLES[ensemble]
        programs = tuple(cycle[i % len(cycle)] for i in range(len(score.parts)))
        accompaniment = pattern = None
    return Arrangement(
        ensemble=ensemble, programs=programs, accompaniment=accompaniment, pattern=pattern,
        drums=bool(rng.random() < DRUM_PROBABILITY[genre]), bpm=bpm,
        seconds_per_quarter=60.0 / bpm / score.beat_quarters,
        transpose=_transposition(score, rng), base_velocity=int(rng.integers(55, 110)),
        swell_seed=int(rng.integers(2**31)),
        reverb_seconds=round(float(rng.uniform(0.3, 2.2)), 2), reverb_mix=round(float(rng.uniform(0.05, 0.35)), 2),
    )


def _transposition(score: ScoreNotes, rng: np.random.Generator) -> int:
    """A shift of -5..+6 semitones, moved by octaves so the melody sits in a playable range."""
    shift = int(rng.integers(-5, 7))
    centre = np.mean([n.pitch for n in score.parts[0]]) + shift
    while centre > 84:
        shift, centre = shift - 12, centre - 12
    while centre < 57:
        shift, centre = shift + 12, centre + 12
    return shift


def build_midi(score: ScoreNotes, arr: Arrangement, max_seconds: float) -> pretty_midi.PrettyMIDI:
    """The arranged piece as MIDI, cut at ``max_seconds``. Part 0 is the melody part."""
    midi = pretty_midi.PrettyMIDI()
    envelope = _velocity_envelope(arr)
    for index, (notes, program) in enumerate(zip(score.parts, arr.programs)):
        boost = 8 if index == 0 else 0  # the melody sits a little above the other voices
        midi.instruments.append(_instrument(program, notes, arr, envelope, max_seconds, boost, name=f"part{index}"))
    if arr.accompaniment:
        for inst in _accompaniment(score, arr, envelope, max_seconds):
            midi.instruments.append(inst)
    if arr.drums:
        midi.instruments.append(_drums(score, arr, envelope, max_seconds))
    return midi


def melody_notes(midi: pretty_midi.PrettyMIDI) -> list[pretty_midi.Note]:
    return midi.instruments[0].notes


def _velocity_envelope(arr: Arrangement):
    """A slow random swell (two sinusoids with 6-30 s periods), in velocity units."""
    rng = np.random.default_rng(arr.swell_seed)
    periods, phases, depth = rng.uniform(6, 30, 2), rng.uniform(0, 2 * np.pi, 2), rng.uniform(5, 25)

    def velocity(t: float, boost: int = 0) -> int:
        swell = depth * np.mean(np.sin(2 * np.pi * t / periods + phases))
        return int(np.clip(arr.base_velocity + boost + swell + rng.normal(0, 4), 20, 127))

    return velocity


def _instrument(program, notes, arr, envelope, max_seconds, boost=0, name="", drum=False, transpose=True):
    inst = pretty_midi.Instrument(program=program, is_drum=drum, name=name)
    shift = arr.transpose if transpose else 0
    for n in notes:
        start, end = n.onset * arr.seconds_per_quarter, (n.onset + n.duration) * arr.seconds_per_quarter
        if start >= max_seconds:
            continue
        pitch = int(np.clip(n.pitch + shift, 0, 127))
        inst.notes.append(pretty_midi.Note(envelope(start, boost), pitch, start, min(end, max_seconds)))
    return inst


def _chord_for(window: list[ScoreNote], score: ScoreNotes) -> tuple[int, tuple[int, ...]]:
    """The diatonic triad (root degree, pitch classes) best covering the melody notes in a window."""
    chords = MAJOR_CHORDS if score.mode == "major" else MINOR_CHORDS
    weights = np.zeros(12)
    for n in window:
        weights[(n.pitch - score.tonic_pc) % 12] += n.duration
    best = max(chords, key=lambda d: sum(weights[pc] for pc in chords[d]) + CHORD_PRIOR.get(d, 0.0))
    return best, chords[best]


def _accompaniment(score: ScoreNotes, arr: Arrangement, envelope, max_seconds):
    """Chord and bass parts under a monophonic tune, one chord per bar (half bar in long bars)."""
    chord_prog, bass_prog = ACCOMPANIMENTS[arr.accompaniment]
    window = score.bar_quarters / 2 if score.beats_per_bar >= 4 else score.bar_quarters
    beat = score.beat_quarters
    melody_low = min(n.pitch for n in score.parts[0])
    chord_notes, bass_notes = [], []
    t = 0.0
    while t < score.length_quarters:
        inside = [n for n in score.parts[0] if t <= n.onset < t + window]
        degree, pcs = _chord_for(inside, score)
        pitches = _voice(pcs, score.tonic_pc, top=min(melody_low - 1, 72))
        root = 36 + (score.tonic_pc + degree) % 12
        bass_notes.append(ScoreNote(t, window, root))
        chord_notes.extend(_pattern_notes(arr.pattern, pitches, t, window, beat))
        t += window
    return [
        _instrument(chord_prog, chord_notes, arr, envelope, max_seconds, -12, name="chords"),
        _instrument(bass_prog, bass_notes, arr, envelope, max_seconds, -6, name="bass"),
    ]


def _voice(pcs: tuple[int, ...], tonic_pc: int, top: int) -> list[int]:
    """Close-position triad: each chord tone at its highest pitch not above ``top``."""
    top = max(top, 55)
    return sorted(top - (top - (tonic_pc + pc)) % 12 for pc in pcs)


def _pattern_notes(pattern: str, pitches: list[int], start: float, length: float, beat: float):
    if pattern == "sustained":
        return [ScoreNote(start, length, p) for p in pitches]
    beats = max(1, int(round(length / beat)))
    notes = []
    for b in range(beats):
        t = start + b * beat
        if pattern == "block" or (pattern == "oompah" and b > 0):
            notes.extend(ScoreNote(t, beat * 0.9, p) for p in pitches)
        elif pattern == "arpeggio":
            for k in range(2):
                notes.append(ScoreNote(t + k * beat / 2, beat / 2, pitches[(2 * b + k) % len(pitches)]))
    return notes


def _drums(score: ScoreNotes, arr: Arrangement, envelope, max_seconds):
    """Kick on the first (and middle) beat, snare on the off-beats, hi-hat on half beats, crash every 8 bars."""
    beat, bar, n_beats = score.beat_quarters, score.bar_quarters, score.beats_per_bar
    notes = []
    for index in range(int(np.ceil(score.length_quarters / bar))):
        t0 = index * bar
        if index % 8 == 0:
            notes.append(ScoreNote(t0, beat, 49))
        for b in range(n_beats):
            t = t0 + b * beat
            kick = b == 0 or (n_beats == 4 and b == 2)
            notes.append(ScoreNote(t, beat / 2, 36 if kick else 38))
            notes.extend(ScoreNote(t + k * beat / 2, beat / 4, 42) for k in range(2))
    return _instrument(0, notes, arr, envelope, max_seconds, -15, name="drums", drum=True, transpose=False)


def repeat_to_length(score: ScoreNotes, arr: Arrangement, min_seconds: float, max_times: int = 4) -> ScoreNotes:
    """Play a short tune several times (whole bars) so it fills at least ``min_seconds``."""
    seconds = score.length_quarters * arr.seconds_per_quarter
    times = min(max_times, int(np.ceil(min_seconds / max(seconds, 1e-6))))
    if times <= 1:
        return score
    period = np.ceil(score.length_quarters / score.bar_quarters) * score.bar_quarters
    parts = [[dataclasses.replace(n, onset=n.onset + k * period) for k in range(times) for n in part]
             for part in score.parts]
    return dataclasses.replace(score, parts=parts)
