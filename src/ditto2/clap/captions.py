"""Varied captions for the CLAP-style text model, drawn from each clip's metadata.

The dataset's own three captions (``data/captions.py``) follow three fixed templates; a contrastive model
trained on them learns the templates. Here every caption is assembled from attribute phrases, each with
several synonyms, in one of several sentence forms, with attributes left out at random, so the model learns
what each *word* means ("a slow chorale for organ", "harpsichord, minor key", "lively dance tune on fiddle
with drums" ...).

Attributes: instrument / ensemble (and accompaniment), instrument family, genre, tempo band (and, rarely,
the beats per minute), mode (and key), drums, room.

``HELD_OUT`` lists paraphrase words that **no** training phrase or template uses (Italian tempo terms,
mood words for the mode, a few family paraphrases): prompts written with them test whether the text
control generalises beyond the training vocabulary (``test_clap.py`` checks they never occur).
"""
from __future__ import annotations

import re

import numpy as np

from ditto2.data.captions import PITCH_NAMES, tempo_band

# Ensemble / solo instrument (data/arrange.py) -> instrument family, the classes of the zero-shot test.
FAMILY_OF = {
    "piano": "keyboard", "electric piano": "keyboard", "harpsichord": "keyboard",
    "church organ": "organ",
    "string quartet": "strings", "string orchestra": "strings", "violin": "strings", "fiddle": "strings",
    "woodwind quintet": "woodwinds", "flute": "woodwinds", "oboe": "woodwinds", "clarinet": "woodwinds",
    "recorder": "woodwinds", "tin whistle": "woodwinds", "pan flute": "woodwinds",
    "saxophone quartet": "saxophones", "alto saxophone": "saxophones",
    "brass ensemble": "brass", "trumpet": "brass",
    "guitar duo": "guitar", "nylon guitar": "guitar",
    "marimba and vibraphone": "mallets", "vibraphone": "mallets",
    "choir": "voices",
    "accordion": "free reeds", "harmonica": "free reeds",
    "synthesizer": "synthesizer",
}
FAMILIES = tuple(sorted(set(FAMILY_OF.values())))
TEMPO_BANDS = ("slow", "moderate", "fast")
MODES = ("major", "minor")

# Training vocabulary: synonyms per attribute value.
INSTRUMENT_WORDS = {
    "piano": ("piano", "acoustic piano", "grand piano"),
    "electric piano": ("electric piano", "e-piano", "rhodes piano"),
    "harpsichord": ("harpsichord", "baroque harpsichord"),
    "church organ": ("church organ", "organ", "pipe organ"),
    "string quartet": ("string quartet", "two violins, viola and cello", "quartet of strings"),
    "string orchestra": ("string orchestra", "string section", "orchestral strings"),
    "violin": ("violin", "solo violin"),
    "fiddle": ("fiddle", "folk fiddle"),
    "woodwind quintet": ("woodwind quintet", "wind quintet", "flute, oboe, clarinet and bassoon"),
    "flute": ("flute", "concert flute"),
    "oboe": ("oboe",),
    "clarinet": ("clarinet",),
    "recorder": ("recorder", "wooden recorder"),
    "tin whistle": ("tin whistle", "penny whistle"),
    "pan flute": ("pan flute", "pan pipes"),
    "saxophone quartet": ("saxophone quartet", "four saxophones", "sax quartet"),
    "alto saxophone": ("alto saxophone", "alto sax", "saxophone"),
    "brass ensemble": ("brass ensemble", "brass section", "trumpets and trombones"),
    "trumpet": ("trumpet", "solo trumpet"),
    "guitar duo": ("guitar duo", "two guitars", "a pair of guitars"),
    "nylon guitar": ("nylon guitar", "classical guitar", "nylon-string guitar"),
    "marimba and vibraphone": ("marimba and vibraphone", "marimba and vibes"),
    "vibraphone": ("vibraphone", "vibes"),
    "choir": ("choir", "choral voices", "chorus"),
    "accordion": ("accordion",),
    "harmonica": ("harmonica",),
    "synthesizer": ("synthesizer", "synth", "analog synth"),
}
ACCOMPANIMENT_WORDS = {
    "piano": ("piano",), "guitar": ("guitar", "strummed guitar"), "strings": ("strings", "string"),
    "harp": ("harp",), "accordion": ("accordion",), "electric piano": ("electric piano",),
    "organ": ("organ",),
}
FAMILY_WORDS = {
    "keyboard": ("keyboard", "keyboard instrument"), "organ": ("organ",),
    "strings": ("strings", "string instruments"), "woodwinds": ("woodwinds", "woodwind instruments"),
    "saxophones": ("saxophone", "sax"), "brass": ("brass", "brass instruments"), "guitar": ("guitar",),
    "mallets": ("mallet percussion", "tuned percussion"), "voices": ("voices", "singing voices"),
    "free reeds": ("free reed instrument", "squeezebox"), "synthesizer": ("synthesizer", "electronic synth"),
}
GENRE_WORDS = {
    "chorale": ("chorale", "hymn", "church chorale", "four-part chorale"),
    "renaissance": ("renaissance motet", "renaissance madrigal", "polyphonic piece", "early music"),
    "medieval": ("medieval song", "medieval dance", "trecento ballata"),
    "folk": ("folk song", "folk melody", "traditional tune"),
    "fiddle": ("dance tune", "reel", "jig", "hornpipe"),
    "classical": ("classical piece", "classical movement", "chamber music"),
}
NOUNS = ("piece", "tune", "music", "track", "recording")
TEMPO_WORDS = {"slow": ("slow", "calm", "unhurried", "gentle"),
               "moderate": ("moderate", "steady", "walking-pace", "mid-tempo"),
               "fast": ("fast", "lively", "brisk", "quick")}
MODE_PHRASES = ("in {key}", "in a {mode} key", "in {mode}", "{mode}-key")
DRUM_PHRASES = ("with drums", "with a drum kit", "with percussion", "and drums")
NO_DRUM_PHRASES = ("without drums", "no drums")
ROOM_WORDS = {"dry": ("dry", "close-miked"), "wet": ("reverberant", "echoing", "in a large hall")}
ROOM_ADJECTIVES = ("dry", "close-miked", "reverberant", "echoing")
INSTRUMENT_FORMS = ("for {i}", "played by {i}", "performed on {i}", "on {i}", "featuring {i}")
ACCOMP_FORMS = ("with {a} accompaniment", "accompanied by {a}", "over {a} chords")

# Paraphrases no training phrase uses (checked by the tests): prompts for the held-out comparison.
HELD_OUT = {
    "tempo": {"slow": ("adagio", "leisurely", "sluggish"), "moderate": ("andante", "medium-paced"),
              "fast": ("allegro", "rapid", "speedy", "energetic")},
    "mode": {"major": ("cheerful", "joyful", "happy"), "minor": ("melancholy", "mournful", "sad")},
    "family": {"keyboard": ("keys",), "strings": ("bowed",), "brass": ("horns",), "voices": ("vocals",),
               "guitar": ("plucked",)},
}

# Zero-shot class prompts (training vocabulary); "{}" is the class word.
ZERO_SHOT = {
    "family": {"templates": ("music played on {}", "a piece for {}", "{}"), "words": FAMILY_WORDS},
    "tempo": {"templates": ("{} music", "a {} piece", "a {} tune"), "words": TEMPO_WORDS},
    "mode": {"templates": ("music in a {} key", "a piece in {}", "{}-key music"),
             "words": {m: (m,) for m in MODES}},
}
ZERO_SHOT_HELD_OUT = {
    "tempo": {"templates": ("{} music", "a {} piece"), "words": HELD_OUT["tempo"]},
    "mode": {"templates": ("{} music", "a {} piece"), "words": HELD_OUT["mode"]},
}


def has_attributes(meta: dict) -> bool:
    """Clips of the corpus build carry the attributes; clips of a user-audio build carry only a caption."""
    return all(k in meta for k in ("ensemble", "genre", "bpm", "mode", "tonic_pc")) and meta["genre"] in GENRE_WORDS


def labels(meta: dict) -> dict[str, str | None]:
    """The zero-shot classes of one clip (None where the metadata does not say)."""
    if not has_attributes(meta):
        return {"family": None, "tempo": None, "mode": None}
    return {"family": FAMILY_OF.get(meta["ensemble"], "other"),
            "tempo": meta.get("tempo_band") or tempo_band(meta["bpm"]), "mode": meta["mode"]}


def _pick(rng: np.random.Generator, words):
    return words[int(rng.integers(len(words)))]


def draw_caption(meta: dict, rng: np.random.Generator) -> str:
    """One random caption of a clip: a random subset of its attributes, synonyms and sentence form."""
    ens = meta["ensemble"]
    # the instrument: usually named, sometimes only its family
    if rng.random() < 0.8 or ens not in FAMILY_OF:
        inst = _pick(rng, INSTRUMENT_WORDS.get(ens, (ens,)))
        if meta.get("monophonic") and not meta.get("accompaniment") and rng.random() < 0.25:
            inst = _pick(rng, ("solo ", "unaccompanied ", "lone ")) + inst
    else:
        inst = _pick(rng, FAMILY_WORDS[FAMILY_OF[ens]])
    accomp = None
    if meta.get("accompaniment") and rng.random() < 0.6:
        accomp = _pick(rng, ACCOMP_FORMS).format(a=_pick(rng, ACCOMPANIMENT_WORDS.get(meta["accompaniment"],
                                                                                       (meta["accompaniment"],))))
    band = meta.get("tempo_band") or tempo_band(meta["bpm"])
    tempo = _pick(rng, TEMPO_WORDS[band]) if rng.random() < 0.6 else None
    bpm = f"{int(round(meta['bpm'] / 5) * 5)} bpm" if rng.random() < 0.08 else None
    noun = _pick(rng, GENRE_WORDS[meta["genre"]]) if rng.random() < 0.5 else _pick(rng, NOUNS)
    mode = None
    if rng.random() < 0.55:
        key = f"{PITCH_NAMES[meta['tonic_pc'] % 12]} {meta['mode']}"
        mode = _pick(rng, MODE_PHRASES if rng.random() < 0.5 else MODE_PHRASES[1:]).format(key=key, mode=meta["mode"])
    drums = None
    if meta.get("drums") and rng.random() < 0.7:
        drums = _pick(rng, DRUM_PHRASES)
    elif not meta.get("drums") and rng.random() < 0.05:
        drums = _pick(rng, NO_DRUM_PHRASES)
    room = None
    rt60 = meta.get("reverb_seconds", 1.0)
    if rng.random() < 0.1 and not 0.6 <= rt60 <= 1.5:
        room = _pick(rng, ROOM_WORDS["dry" if rt60 < 0.6 else "wet"])

    key_before = mode is not None and mode.endswith("-key")
    head = " ".join(w for w in (tempo, mode if key_before else None, noun) if w)
    tail_mode = None if key_before else mode
    form = int(rng.integers(4))
    if form == 0:    # "a slow chorale for organ in A minor with drums"
        parts = [_article(head), _pick(rng, INSTRUMENT_FORMS).format(i=inst), accomp, tail_mode, bpm, drums]
        text = " ".join(p for p in parts if p)
    elif form == 1:  # "organ playing a slow chorale in A minor"
        verb = _pick(rng, ("playing", "performing"))
        text = " ".join(p for p in (inst, accomp, verb, _article(head), tail_mode, bpm, drums) if p)
    elif form == 2:  # "slow chorale, organ, A minor, drums" (fragments in random order after the first)
        frags = [p for p in (inst if not accomp else f"{inst} {accomp}", tail_mode, bpm, drums) if p]
        frags = [frags[i] for i in rng.permutation(len(frags))]
        text = ", ".join([head] + frags)
    else:            # "organ music, slow, in A minor"
        frags = [p for p in (tempo, tail_mode, accomp, bpm, drums) if p]
        text = ", ".join([f"{inst} {'music' if noun in NOUNS else noun}"] + frags)
    if room:
        text = f"{room} {text}" if room in ROOM_ADJECTIVES and rng.random() < 0.5 else f"{text}, {room}"
    text = re.sub(r"\s+", " ", text).strip()
    return text[0].upper() + text[1:] if rng.random() < 0.3 else text


def _article(phrase: str) -> str:
    if phrase.endswith("music"):   # a mass noun: "slow music", "calm chamber music"
        return phrase
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def caption_pool(meta: dict, size: int, seed: int = 0) -> list[str]:
    """``size`` captions of one piece, a pure function of (piece, seed): the pool training draws from.
    Without the attributes (a user-audio build), the clip's own captions (``meta["captions"]``), cycled."""
    if not has_attributes(meta):
        own = [c for c in meta.get("captions", []) if c.strip()] or [meta.get("piece", "music")]
        return [own[i % len(own)] for i in range(size)]
    piece = meta.get("piece", "")
    rng = np.random.default_rng([seed, *piece.encode()[:64]])
    return [draw_caption(meta, rng) for _ in range(size)]


def class_prompts(spec: dict) -> dict[str, dict[str, list[str]]]:
    """{attribute: {class: [prompts]}} for a zero-shot spec (``ZERO_SHOT`` or ``ZERO_SHOT_HELD_OUT``)."""
    out = {}
    for attr, s in spec.items():
        out[attr] = {c: [t.format(w) for t in s["templates"] for w in words] for c, words in s["words"].items()}
    return out


def training_vocabulary() -> set[str]:
    """Every word a training caption can contain (besides key names and numbers)."""
    texts = [w for table in (INSTRUMENT_WORDS, ACCOMPANIMENT_WORDS, FAMILY_WORDS, GENRE_WORDS, TEMPO_WORDS,
                             ROOM_WORDS) for words in table.values() for w in words]
    texts += [*NOUNS, *MODE_PHRASES, *DRUM_PHRASES, *NO_DRUM_PHRASES, *INSTRUMENT_FORMS, *ACCOMP_FORMS, *MODES,
              "solo unaccompanied lone playing performing a an music", *PITCH_NAMES]
    return {w for t in texts for w in re.findall(r"[a-z]+", t.lower())}
