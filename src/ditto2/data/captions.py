"""Captions written from a piece's metadata, in several templates so text models learn words, not a template."""
from __future__ import annotations

import numpy as np

PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
GENRE_WORDS = {
    "chorale": ("chorale", "hymn", "church chorale"),
    "renaissance": ("renaissance motet", "polyphonic vocal piece", "renaissance madrigal"),
    "medieval": ("medieval song", "trecento piece", "medieval dance"),
    "folk": ("folk song", "folk melody", "traditional tune"),
    "fiddle": ("fiddle tune", "dance tune", "jig"),
    "classical": ("classical piece", "classical movement", "chamber piece"),
}
TEMPO_WORDS = {"slow": ("slow", "calm", "unhurried"), "moderate": ("moderate", "steady", "walking-pace"),
               "fast": ("fast", "lively", "brisk")}
N_CAPTIONS = 3


def tempo_band(bpm: float) -> str:
    """Three tempo bands, the classes of the text model's zero-shot tempo test."""
    return "slow" if bpm < 76 else "moderate" if bpm <= 108 else "fast"


def key_name(tonic_pc: int, mode: str) -> str:
    return f"{PITCH_NAMES[tonic_pc % 12]} {mode}"


def ensemble_phrase(meta: dict) -> str:
    if meta["accompaniment"]:
        return f"{meta['ensemble']} with {meta['accompaniment']} accompaniment"
    return f"solo {meta['ensemble']}" if meta["monophonic"] else meta["ensemble"]


def captions_for(meta: dict, rng: np.random.Generator) -> list[str]:
    """N_CAPTIONS captions for one piece; ``meta`` holds genre, bpm, tonic_pc, mode, ensemble, drums..."""
    genre = GENRE_WORDS[meta["genre"]]
    tempo = TEMPO_WORDS[tempo_band(meta["bpm"])]
    key, bpm, ens = key_name(meta["tonic_pc"], meta["mode"]), int(meta["bpm"]), ensemble_phrase(meta)
    pick = lambda words: words[int(rng.integers(len(words)))]  # noqa: E731
    drums = meta["drums"]
    return [
        f"a {tempo[0]} {genre[0]} for {ens} in {key}, {bpm} bpm" + (", with drums" if drums else ""),
        f"{ens} playing a {pick(genre)} in {key} at {bpm} beats per minute" + (" with a drum kit" if drums else ""),
        f"{pick(tempo)} {pick(genre)}, {ens}, {key}" + (", drums" if drums else ""),
    ]
