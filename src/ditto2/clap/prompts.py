"""Checks on a text prompt for the CLAP text control: one clear error naming the prompt.

The text tower (all-MiniLM-L6-v2 behind a head trained on English captions) only knows English words,
so a prompt must be non-empty, at most ``MAX_PROMPT_CHARS`` characters (captions are one short sentence;
longer text would be truncated by the encoder), and written in the Latin alphabet: at least
``MIN_LATIN_SHARE`` of its letters Latin (accents are fine, "café"; a prompt in Cyrillic, Greek, Arabic
or CJK script is refused rather than silently turned into unknown tokens).
"""
from __future__ import annotations

import unicodedata

from ditto2.errors import InputError

MAX_PROMPT_CHARS = 300
MIN_LATIN_SHARE = 0.8


def _show(prompt: str, limit: int = 60) -> str:
    return repr(prompt if len(prompt) <= limit else prompt[:limit] + "...")


def check_text_prompt(prompt) -> str:
    """The stripped prompt, or InputError naming it."""
    if not isinstance(prompt, str):
        raise InputError(f"the text prompt must be a string, got {type(prompt).__name__} {prompt!r}")
    text = " ".join(prompt.split())
    if not text:
        raise InputError(f"the text prompt {prompt!r} is empty: describe the music, e.g. \"a slow chorale for organ\"")
    if len(text) > MAX_PROMPT_CHARS:
        raise InputError(f"the text prompt {_show(text)} has {len(text)} characters; at most {MAX_PROMPT_CHARS} "
                         "are supported (the text model was trained on one-sentence captions)")
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        raise InputError(f"the text prompt {_show(text)} has no words: describe the music in English, "
                         "e.g. \"a slow chorale for organ\"")
    latin = sum(unicodedata.name(ch, "").startswith("LATIN") for ch in letters)
    if latin < MIN_LATIN_SHARE * len(letters):
        raise InputError(f"the text prompt {_show(text)} is not in the Latin alphabet ({len(letters) - latin} of "
                         f"{len(letters)} letters are not Latin): the text model knows English only")
    return text
