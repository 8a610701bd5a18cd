"""Reading a music21 corpus piece into plain note lists (quarter-note time, MIDI pitches)."""
from __future__ import annotations

import dataclasses

from ditto2.data.catalog import Piece


@dataclasses.dataclass
class ScoreNote:
    onset: float     # quarter notes from the start
    duration: float  # quarter notes
    pitch: int       # MIDI


@dataclasses.dataclass
class ScoreNotes:
    parts: list[list[ScoreNote]]  # top staff first
    beat_quarters: float          # quarter notes per counted beat (2 in 2/2, 1.5 in 6/8)
    bar_quarters: float
    beats_per_bar: int
    tonic_pc: int                 # 0 = C
    mode: str                     # "major" | "minor"

    @property
    def length_quarters(self) -> float:
        return max((n.onset + n.duration for part in self.parts for n in part), default=0.0)

    @property
    def monophonic(self) -> bool:
        return len(self.parts) == 1


def parse_piece(piece: Piece):
    from music21 import corpus, stream

    parsed = corpus.parse(piece.source_path, number=int(piece.number)) if piece.number else corpus.parse(piece.source_path)
    if isinstance(parsed, stream.Opus):
        parsed = parsed.scores[0]
    return parsed


def _part_notes(part) -> list[ScoreNote]:
    notes = []
    for el in part.stripTies().flatten().notes:
        duration = float(el.duration.quarterLength)
        if duration <= 0 or el.duration.isGrace or not hasattr(el, "pitches"):
            continue
        notes.extend(ScoreNote(float(el.offset), duration, int(p.midi)) for p in el.pitches)
    return notes


def read_score(piece: Piece) -> ScoreNotes:
    """Notes per part plus the metre and key music21 finds; raises ValueError for an empty piece."""
    from music21 import meter

    score = parse_piece(piece)
    parts = [notes for notes in (_part_notes(p) for p in (score.parts or [score])) if notes]
    if not parts:
        raise ValueError(f"{piece.id}: no notes")
    signature = score.recurse().getElementsByClass(meter.TimeSignature).first() or meter.TimeSignature("4/4")
    key = score.analyze("key")
    return ScoreNotes(
        parts=parts,
        beat_quarters=float(signature.beatDuration.quarterLength) or 1.0,
        bar_quarters=float(signature.barDuration.quarterLength) or 4.0,
        beats_per_bar=int(signature.beatCount) or 4,
        tonic_pc=int(key.tonic.pitchClass),
        mode="minor" if key.mode == "minor" else "major",
    )
