"""The CLAP-style text/audio model: the frozen MiniLM sentence encoder plus a small trained mel tower.

Two copies ship, trained separately (different seeds and audio towers): ``clap_control`` steers generation
(``controls/text.py``); ``clap_eval`` only scores it, so the score does not measure reward hacking. Load them
with ``ditto2.models.load_clap(kind)``, or a release file with ``ClapModel.from_pretrained(path)``.
See docs/text-control.md.
"""
from __future__ import annotations

from ditto2.clap.model import ARCHS, ClapConfig, ClapModel, contrastive_loss, default_config

__all__ = ["ARCHS", "ClapConfig", "ClapModel", "contrastive_loss", "default_config"]
