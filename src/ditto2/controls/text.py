"""The text control: steer the generated mel towards a prompt through the CLAP-style control model.

loss(mel) = 1 - cos(audio_tower(mel), text_embedding(prompt)), one value per clip in [0, 2]. The prompt is
embedded once (frozen MiniLM + the model's text head); each call runs only the small audio tower (about
5 ms forward + backward for one 512-frame clip on one CPU core, docs/text-control.md). The shipped
*control* model is used by default; the separately trained *eval* model must never be used here.
"""
from __future__ import annotations

import torch

from ditto2.clap.prompts import check_text_prompt
from ditto2.controls.base import Control
from ditto2.models import load_clap


class TextControl(Control):
    name = "text"
    sidecar_keys = ("text",)

    def __init__(self, prompt: str, weight: float = 1.0, model=None, text_encoder=None):
        """``model``: a ``ClapModel`` (default: the shipped control model, ``models.load_clap("control")``);
        ``text_encoder``: list[str] -> (n, 384) sentence embeddings (default: the frozen MiniLM)."""
        super().__init__(weight)
        self.prompt = check_text_prompt(prompt)
        if model is None:
            model = load_clap("control")
        if text_encoder is None:
            from ditto2.text.encoder import encode_texts as text_encoder
        self.model = model.eval().requires_grad_(False)
        with torch.no_grad():
            # (1, 384): also the prompt as a text-conditioned model's own condition (``generate(text=...)``)
            self.condition = torch.as_tensor(text_encoder([self.prompt]), dtype=torch.float32)
            self.target = self.model.embed_text(self.condition)[0]          # (dim,) unit vector

    def loss(self, mel: torch.Tensor) -> torch.Tensor:
        if next(self.model.parameters()).device != mel.device:
            self.model.to(mel.device)
        audio = self.model.embed_audio(mel.float())
        return 1.0 - audio @ self.target.to(mel.device)

    def similarity(self, mel: torch.Tensor) -> torch.Tensor:
        """(B,) cosine similarity to the prompt, without gradients."""
        with torch.no_grad():
            return 1.0 - self.loss(mel)

    def record(self) -> dict:
        return {"text": {"prompt": self.prompt}}
