"""The prompts of ``ditto2 bench-text``: checked, grouped by the vocabulary they are written in (the training
captions' words or the held-out paraphrases of ``clap.captions.HELD_OUT``) and with the attributes they state
(instrument family, tempo band, mode), which the zero-shot classifier is scored against."""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from ditto2.clap import captions as C
from ditto2.clap.prompts import check_text_prompt
from ditto2.errors import InputError

# Some in the training captions' words, some with held-out words: the tests check there are both.
DEFAULT_PROMPTS = (
    "a slow chorale for church organ",
    "a fast fiddle tune with drums",
    "a calm piece for flute and harp in a minor key",
    "an adagio melancholy piece for bowed strings",
    "an energetic cheerful tune on keys",
    "a joyful rapid tune for horns",
)
GROUPS = ("training", "held-out", "other")
ATTRIBUTES = ("family", "tempo", "mode")


def _phrase_table() -> dict[str, list[tuple[str, str]]]:
    """{attribute: [(phrase, class)]} from the caption vocabulary, training and held-out words."""
    family = [(w, C.FAMILY_OF[ens]) for ens, words in C.INSTRUMENT_WORDS.items() for w in words]
    family += [(w, fam) for fam, words in C.FAMILY_WORDS.items() for w in words]
    family += [(w, fam) for fam, words in C.HELD_OUT["family"].items() for w in words]
    tempo = [(w, band) for band, words in C.TEMPO_WORDS.items() for w in words]
    tempo += [(w, band) for band, words in C.HELD_OUT["tempo"].items() for w in words]
    mode = [(m, m) for m in C.MODES] + [(w, m) for m, words in C.HELD_OUT["mode"].items() for w in words]
    return {"family": family, "tempo": tempo, "mode": mode}


def _find(phrase: str, text: str) -> int:
    match = re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text)
    return match.start() if match else -1


def stated_attributes(prompt: str) -> dict[str, str]:
    """The zero-shot classes a prompt states, from the caption vocabulary and the held-out paraphrases:
    ``{"family": "organ", "tempo": "slow"}`` for "a slow chorale for church organ". Where a prompt names several
    classes of one attribute (a solo instrument and its accompaniment) the first one named counts."""
    text = prompt.lower()
    out = {}
    for attr, table in _phrase_table().items():
        hits = [(pos, -len(phrase), cls) for phrase, cls in table if (pos := _find(phrase, text)) >= 0]
        if hits:
            out[attr] = min(hits)[2]
    return out


def prompt_group(prompt: str) -> str:
    """``held-out`` when the prompt uses a word of ``captions.HELD_OUT``, ``training`` when every word is in the
    training captions' vocabulary, ``other`` otherwise."""
    text = prompt.lower()
    held = [w for table in C.HELD_OUT.values() for words in table.values() for w in words]
    if any(_find(w, text) >= 0 for w in held):
        return "held-out"
    return "training" if set(re.findall(r"[a-z]+", text)) <= C.training_vocabulary() else "other"


@dataclasses.dataclass(frozen=True)
class Prompt:
    text: str
    group: str
    attributes: dict

    @classmethod
    def make(cls, text: str) -> Prompt:
        text = check_text_prompt(text)
        return cls(text, prompt_group(text), stated_attributes(text))


def make_prompts(texts: Sequence[str]) -> list[Prompt]:
    """Checked prompts (InputError for an empty, over-long or non-Latin one, or a repeated one)."""
    if isinstance(texts, str) or not len(texts):
        raise InputError("bench-text needs a list of one or more prompts")
    prompts = [Prompt.make(t) for t in texts]
    seen = set()
    for p in prompts:
        if p.text in seen:
            raise InputError(f"the prompt {p.text!r} is given twice")
        seen.add(p.text)
    return prompts
