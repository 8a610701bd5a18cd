"""Which pieces of music21's bundled corpus go into a dataset profile, and in which split.

A piece is one work of the corpus: a file, or one numbered tune inside an ABC/Essen opus file.
Splits are decided per piece from a hash of its id, so a piece never straddles two splits and the
split of a piece does not change when the profile grows.
"""
from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict

from ditto2.errors import InputError

# Genre of each corpus folder: decides tempo range, drum probability and caption words.
FOLDER_GENRE = {
    "bach": "chorale",
    "palestrina": "renaissance",
    "monteverdi": "renaissance",
    "trecento": "medieval",
    "josquin": "renaissance",
    "essenFolksong": "folk",
    "oneills1850": "fiddle",
    "ryansMammoth": "fiddle",
    "airdsAirs": "fiddle",
    "miscFolk": "folk",
    "nottingham-dataset": "folk",
    "beethoven": "classical",
    "mozart": "classical",
    "haydn": "classical",
}

# Pieces per folder in each profile (None = all the corpus has). The full profile gives >1,000 pieces
# and >20 h of audio (docs/data.md has the measured figures); tiny is for tests.
PROFILES = {
    "full": {"bach": None, "palestrina": 220, "monteverdi": 60, "trecento": 60, "josquin": None,
             "essenFolksong": 500, "oneills1850": 300, "ryansMammoth": 300, "airdsAirs": 120,
             "miscFolk": 80, "beethoven": None, "mozart": None, "haydn": None},
    "tiny": {"bach": 4, "essenFolksong": 2, "oneills1850": 2},
    # Every genre and ensemble of "full" in about a tenth of its pieces, with the train split's audio kept.
    "vocoder": {"bach": 40, "palestrina": 24, "monteverdi": 8, "trecento": 8, "josquin": 12, "essenFolksong": 50,
                "oneills1850": 30, "ryansMammoth": 30, "airdsAirs": 12, "miscFolk": 8, "beethoven": 6, "mozart": 6,
                "haydn": 6},
}

SPLIT_SHARES = (("test", 0.05), ("validation", 0.05))  # the rest is train


@dataclasses.dataclass(frozen=True)
class Piece:
    id: str            # stable, unique: folder/file[#number]
    source_path: str   # path relative to the music21 corpus
    number: str | None  # tune number inside an opus file
    genre: str
    split: str


def split_of(piece_id: str) -> str:
    """Deterministic split from a hash of the id (about 5 % test, 5 % validation)."""
    u = int(hashlib.sha1(piece_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    edge = 0.0
    for name, share in SPLIT_SHARES:
        edge += share
        if u < edge:
            return name
    return "train"


def _corpus_entries() -> dict[str, list[tuple[str, str | None]]]:
    """All (source_path, number) of the music21 core corpus, grouped by top folder."""
    from music21 import corpus

    bundle = corpus.corpora.CoreCorpus().metadataBundle
    by_folder: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for entry in bundle._metadataEntries.values():  # noqa: SLF001 - music21 has no public iterator of entries
        path = str(entry.sourcePath)
        by_folder[path.split("/")[0]].append((path, entry.number))
    for folder, entries in by_folder.items():
        # An opus file has one entry per numbered tune, and sometimes one for the whole file: drop that one.
        numbered = {path for path, number in entries if number}
        entries[:] = [(path, number) for path, number in entries if number or path not in numbered]
        entries.sort(key=lambda e: (e[0], int(e[1]) if e[1] and str(e[1]).isdigit() else 0))
    return by_folder


def _chorale_paths() -> set[str]:
    from music21 import corpus

    return {str(p) for p in corpus.chorales.Iterator(returnType="filename")}  # e.g. "bach/bwv269"


def _spread(entries: list, count: int | None) -> list:
    """``count`` entries evenly spread over the list (all when count is None or larger)."""
    if count is None or count >= len(entries):
        return entries
    step = len(entries) / count
    return [entries[int(i * step)] for i in range(count)]


def select_pieces(profile: str) -> list[Piece]:
    """The ordered piece list of a profile."""
    if profile not in PROFILES:
        raise InputError(f"unknown dataset profile {profile!r} (expected one of {sorted(PROFILES)})")
    entries = _corpus_entries()
    chorales = _chorale_paths()
    pieces = []
    for folder, count in PROFILES[profile].items():
        candidates = entries.get(folder, [])
        if folder == "bach":  # the chorales only: other bach files are fragments and cantata parts
            candidates = [e for e in candidates if e[0].rsplit(".", 1)[0] in chorales]
        for path, number in _spread(candidates, count):
            piece_id = path + (f"#{number}" if number else "")
            pieces.append(Piece(piece_id, path, number, FOLDER_GENRE[folder], split_of(piece_id)))
    if profile == "tiny":  # too few pieces for the hash to fill every split: the last two are held out
        held_out = {len(pieces) - 2: "validation", len(pieces) - 1: "test"}
        pieces = [dataclasses.replace(p, split=held_out.get(i, "train")) for i, p in enumerate(pieces)]
    return pieces
