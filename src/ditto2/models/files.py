"""The index of shipped weight files: their names, and where they are found.

Default weights live in ``ditto2/weights/`` inside the package (safetensors, the config in the header and in a
JSON file beside each), so they work from any install without a download. Every command that takes
``--models DIR`` reads the same names from DIR instead.
"""
from __future__ import annotations

from pathlib import Path

from ditto2.distill.student import METHODS as STUDENT_METHODS
from ditto2.errors import InputError, MissingResourceError

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
AUTOENCODER_FILE = "autoencoder.safetensors"
TEACHER_FILE = "teacher.safetensors"
VOCODER_FILE = "vocoder.safetensors"  # the neural vocoder (docs/vocoder.md); Griffin-Lim needs no weights
CLAP_KINDS = ("control", "eval")  # control steers generation; eval only scores it (docs/text-control.md)


def student_file(method: str) -> str:
    if method not in STUDENT_METHODS:
        raise InputError(f"unknown student {method!r} (expected {' or '.join(STUDENT_METHODS)})")
    return f"student_{method}.safetensors"


def clap_file(kind: str) -> str:
    if kind not in CLAP_KINDS:
        raise InputError(f"unknown CLAP model {kind!r}; the shipped ones are {', '.join(CLAP_KINDS)}")
    return f"clap_{kind}.safetensors"


def shipped_files() -> list[str]:
    """Every file a complete models folder holds."""
    return [AUTOENCODER_FILE, TEACHER_FILE, *map(student_file, STUDENT_METHODS), *map(clap_file, CLAP_KINDS),
            VOCODER_FILE]


def weights_path(name: str, directory: str | Path | None = None) -> Path:
    path = Path(directory or WEIGHTS_DIR) / name
    if not path.is_file():
        raise MissingResourceError(f"model weights not found: {path} (train them with `ditto2 train ...` or "
                                   "pass the folder that holds them)")
    return path
