"""Retrieval and zero-shot figures of a CLAP model on a dataset split.

* **text -> audio retrieval**: one query per distinct *full caption* of the split (every attribute, first
  synonyms: "a slow chorale for church organ in A minor with drums"); the gallery is every clip of the split;
  a clip is a positive of the query when its full caption is the query (all clips of a piece are, and the
  rare other piece with identical metadata). Recall@k = share of queries with a positive in the top k.
  ``chance_r@k`` is the expected recall of a random ranking.
* **zero-shot classification** of every clip: instrument family (11 classes), tempo band (3), mode (2);
  each class's text embedding is the mean over a few prompts (``captions.ZERO_SHOT``). Accuracy, balanced
  accuracy (mean recall per class) and the majority-class share as the chance level. The same for tempo and
  mode with held-out paraphrase words only (``captions.ZERO_SHOT_HELD_OUT``: "adagio", "melancholy", ...).
"""
from __future__ import annotations

import json
from math import comb
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ditto2.clap import captions as C
from ditto2.data import shards
from ditto2.data.arrays import SplitArrays

RECALL_AT = (1, 5, 10)


def split_metas(root: str | Path, split: str, limit: int | None = None) -> list[dict]:
    """The clips' metadata in the order of ``data.arrays.SplitArrays`` (shard order, then clip order),
    each with its dataset captions under ``"captions"``."""
    metas = []
    for path in shards.shard_paths(root, split):
        data = shards.read_shard(path, fields=("meta", "captions"))
        for i, m in enumerate(data["meta"]):
            meta = json.loads(str(m))
            meta["captions"] = [str(c) for c in data["captions"][i]] if "captions" in data else []
            metas.append(meta)
    return metas[:limit]


def full_caption(meta: dict) -> str:
    """The deterministic all-attribute caption of a clip (first synonym of every attribute); a clip without
    attributes (user audio) keeps its first own caption."""
    if not C.has_attributes(meta):
        return (meta.get("captions") or [meta.get("piece", "music")])[0]
    inst = C.INSTRUMENT_WORDS.get(meta["ensemble"], (meta["ensemble"],))[0]
    if meta.get("accompaniment"):
        inst += f" with {C.ACCOMPANIMENT_WORDS.get(meta['accompaniment'], (meta['accompaniment'],))[0]} accompaniment"
    band = C.labels(meta)["tempo"]
    key = f"{C.PITCH_NAMES[meta['tonic_pc'] % 12]} {meta['mode']}"
    text = f"a {C.TEMPO_WORDS[band][0]} {C.GENRE_WORDS[meta['genre']][0]} for {inst} in {key}"
    return text + (" with drums" if meta.get("drums") else "")


@torch.no_grad()
def embed_mels(model, mel: np.ndarray, batch: int = 64) -> torch.Tensor:
    out = [model.embed_audio(torch.from_numpy(mel[i: i + batch].astype(np.float32))) for i in range(0, len(mel), batch)]
    return torch.cat(out) if out else torch.zeros(0, model.config.dim)


@torch.no_grad()
def embed_texts(model, texts: list[str], text_fn) -> torch.Tensor:
    return model.embed_text(torch.from_numpy(text_fn(texts)))


def _chance_recall(n: int, positives: int, k: int) -> float:
    return 1.0 - comb(n - positives, k) / comb(n, k) if n - positives >= k else 1.0


@torch.no_grad()
def retrieval(model, audio: torch.Tensor, metas: list[dict], text_fn) -> dict:
    caps = [full_caption(m) for m in metas]
    queries = sorted(set(caps))
    text = embed_texts(model, queries, text_fn)
    sims = text @ audio.T                                       # (queries, clips)
    cap_index = {c: i for i, c in enumerate(queries)}
    clip_q = torch.tensor([cap_index[c] for c in caps])
    positive = clip_q[None, :] == torch.arange(len(queries))[:, None]
    order = sims.argsort(dim=1, descending=True)
    hits = positive.gather(1, order)
    out = {"queries": len(queries), "clips": len(metas)}
    n_pos = positive.sum(1).tolist()
    for k in RECALL_AT:
        out[f"r@{k}"] = float(hits[:, :k].any(1).float().mean())
        out[f"chance_r@{k}"] = float(np.mean([_chance_recall(len(metas), p, k) for p in n_pos]))
    return out


@torch.no_grad()
def zero_shot(model, audio: torch.Tensor, metas: list[dict], text_fn, spec: dict | None = None) -> dict:
    prompts = C.class_prompts(spec or C.ZERO_SHOT)
    truth = [C.labels(m) for m in metas]
    out = {}
    for attr, classes in prompts.items():
        names = sorted(classes)
        protos = torch.stack([F.normalize(embed_texts(model, classes[c], text_fn).mean(0), dim=0) for c in names])
        pred = (audio @ protos.T).argmax(1).numpy()
        true = np.array([names.index(t[attr]) if t[attr] in names else -1 for t in truth], dtype=np.int64)
        keep = true >= 0
        pred, true = pred[keep], true[keep]
        if not len(true):
            continue
        present = np.unique(true)
        out[f"{attr}_acc"] = float((pred == true).mean())
        out[f"{attr}_balanced_acc"] = float(np.mean([(pred[true == c] == c).mean() for c in present]))
        out[f"{attr}_chance"] = float(np.bincount(true).max() / len(true))
    return out


def evaluate(model, mel: np.ndarray, metas: list[dict], text_fn) -> dict:
    """All figures of one split: retrieval, zero-shot (training words) and zero-shot with held-out words."""
    was_training = model.training
    model.eval()
    audio = embed_mels(model, mel)
    out = retrieval(model, audio, metas, text_fn)
    out.update(zero_shot(model, audio, metas, text_fn))
    out.update({f"heldout_{k}": v for k, v in zero_shot(model, audio, metas, text_fn, C.ZERO_SHOT_HELD_OUT).items()})
    model.train(was_training)
    return out


def evaluate_split(model, root: str | Path, split: str = "test", limit: int | None = None, text_fn=None) -> dict:
    from ditto2.clap.text_cache import CaptionEmbeddings

    text_fn = text_fn or CaptionEmbeddings.for_dataset(root)
    mel = SplitArrays(root, split, limit=limit).mel
    return {"split": split, **evaluate(model, mel, split_metas(root, split, limit), text_fn)}
