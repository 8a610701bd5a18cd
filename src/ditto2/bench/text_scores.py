"""``ditto2 bench-text``'s scores of one clip and their means over clips.

* **CLAP score**: cosine between the *evaluation* CLAP model's audio embedding and its text embedding of the
  prompt (the same figure as ``eval.run.TextScorer``); the control model's cosine is reported beside it as a
  reward-hacking diagnostic (only the control model is ever optimised against);
* **attribute accuracy**: the evaluation model's zero-shot classifier (class prompts ``captions.ZERO_SHOT``, as in
  ``clap.evaluate``) for instrument family, tempo band and mode, compared with what the prompt states
  (``prompts.stated_attributes``; attributes a prompt does not state are not scored).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ditto2.audio import mel as M
from ditto2.bench.prompts import ATTRIBUTES, Prompt
from ditto2.clap import captions as C
from ditto2.clap.evaluate import embed_texts


class Scorer:
    """The evaluation model's CLAP score and zero-shot attribute classes, plus the control model's score."""

    def __init__(self, eval_model, control_model, text_fn=None):
        if text_fn is None:
            from ditto2.text.encoder import encode_texts as text_fn
        self.eval_model, self.control_model, self.text_fn = eval_model, control_model, text_fn
        self._text: dict[tuple[int, str], torch.Tensor] = {}
        self.classes = {}
        for attr, classes in C.class_prompts(C.ZERO_SHOT).items():  # the same classifier as clap.evaluate
            names = sorted(classes)
            protos = torch.stack([F.normalize(embed_texts(eval_model, classes[c], text_fn).mean(0), dim=0)
                                  for c in names])
            self.classes[attr] = (names, protos)

    def text(self, model, prompt: str) -> torch.Tensor:
        key = (id(model), prompt)
        if key not in self._text:
            self._text[key] = embed_texts(model, [prompt], self.text_fn)[0]
        return self._text[key]

    @torch.no_grad()
    def score(self, wave: np.ndarray, prompt: Prompt) -> dict:
        mel = M.wave_to_mel(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)))[None]
        audio = self.eval_model.embed_audio(mel)[0]
        control = self.control_model.embed_audio(mel)[0]
        out = {"clap_score": float(audio @ self.text(self.eval_model, prompt.text)),
               "control_clap_score": float(control @ self.text(self.control_model, prompt.text)),
               "predicted": {}, "correct": {}}
        for attr, (names, protos) in self.classes.items():
            out["predicted"][attr] = names[int((protos @ audio).argmax())]
            if attr in prompt.attributes:
                out["correct"][attr] = out["predicted"][attr] == prompt.attributes[attr]
        return out


def _mean(values) -> float | None:
    values = [float(v) for v in values]
    return float(np.mean(values)) if values else None


def summarise(clips: list[dict]) -> dict:
    """Means over clips: CLAP scores, attribute accuracy (overall = every stated attribute of every clip)."""
    out = {"clips": len(clips),
           "clap_score": _mean(c["clap_score"] for c in clips),
           "control_clap_score": _mean(c["control_clap_score"] for c in clips),
           "attribute_accuracy": _mean(v for c in clips for v in c["correct"].values()),
           "attribute_checks": sum(len(c["correct"]) for c in clips)}
    for attr in ATTRIBUTES:
        out[f"{attr}_accuracy"] = _mean(c["correct"][attr] for c in clips if attr in c["correct"])
    return out
