"""The CLAP-style text/audio model: the frozen MiniLM sentence encoder plus a small trained mel tower.

Two copies ship, trained separately (different seeds and audio towers): ``clap_control`` steers generation
(``controls/text.py``); ``clap_eval`` only scores it, so the score does not measure reward hacking.
See docs/text-control.md.
"""
from __future__ import annotations

from pathlib import Path

from ditto2.clap.model import ARCHS, ClapConfig, ClapModel, contrastive_loss, default_config
from ditto2.errors import InputError

KINDS = ("control", "eval")


def weights_file(kind: str) -> str:
    if kind not in KINDS:
        raise InputError(f"unknown CLAP model {kind!r}; the shipped ones are {', '.join(KINDS)}")
    return f"clap_{kind}.safetensors"


def load_clap(path: str | Path) -> ClapModel:
    """A released CLAP model (fp32 in memory, eval mode, frozen)."""
    from ditto2.train import checkpoint as ckpt

    meta = ckpt.read_meta(path)
    if "clap" not in meta.get("config", {}):
        raise InputError(f"{path} is not a CLAP model (no 'clap' config in its header)")
    model = ClapModel(ClapConfig.from_dict(meta["config"]["clap"]["model"]))
    ckpt.load_release(path, model)
    model.info = meta.get("info", {})
    return model.eval().requires_grad_(False)


def load_shipped(kind: str = "control", directory: str | Path | None = None) -> ClapModel:
    """The shipped ``control`` or ``eval`` model from ``ditto2/weights`` (MissingResourceError if absent)."""
    from ditto2.errors import MissingResourceError
    from ditto2.models import weights_path

    try:
        path = weights_path(weights_file(kind), directory)
    except MissingResourceError as exc:
        raise MissingResourceError(f"{exc}; the CLAP {kind} model comes from `ditto2 train clap` "
                                   "(docs/text-control.md)") from None
    return load_clap(path)


__all__ = ["ARCHS", "KINDS", "ClapConfig", "ClapModel", "contrastive_loss", "default_config", "load_clap",
           "load_shipped", "weights_file"]
