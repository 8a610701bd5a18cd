"""Targets for the intensity and structure controls, built from user input.

Targets are plain numpy arrays on the clip's frame grid (independent of device); losses convert them.
"""
from __future__ import annotations

import json
import string
from pathlib import Path

import numpy as np
import torch

from ditto2.audio import mel as M
from ditto2.errors import InputError
from ditto2.features._checks import as_wave, existing_file, positive_int, real
from ditto2.features.intensity import FLOOR_DB
from ditto2.features.smoothing import odd_window, smooth_2d_np
from ditto2.features.structure import POOL, mfcc_audio, pooled_length, resample_time, self_similarity, zscore

STRUCTURE_SMOOTH_S = 1.0  # 2-D Savitzky-Golay window for phrase diagrams, in seconds
STRUCTURE_SMOOTH_ORDER = 2  # keeps section edges sharper than a box blur of the same width


# --- intensity ---------------------------------------------------------------------------------

def intensity_curve(values, n_frames: int = M.CLIP_FRAMES) -> np.ndarray:
    """dB levels spread evenly over the clip (first value at frame 0, last at the last frame),
    linearly interpolated to (n_frames,). ``values``: a list of numbers, {"db": [...]}, or the
    path of a JSON file holding either.
    """
    n_frames = positive_int(n_frames, "n_frames")
    if isinstance(values, (str, Path)):
        values, name = _read_curve_json(values), f"intensity curve file {values}"
    else:
        name = "intensity curve"
    if isinstance(values, dict):
        if "db" not in values:
            raise InputError(f'{name}: expected a list of dB values or {{"db": [...]}}, got keys {sorted(values)}')
        values = values["db"]
    levels = _levels(values, name)
    if levels.size == 1:
        return np.full(n_frames, levels[0], dtype=np.float32)
    anchors = np.linspace(0, n_frames - 1, levels.size)
    return np.interp(np.arange(n_frames), anchors, levels).astype(np.float32)


def _read_curve_json(path) -> object:
    path = existing_file(path, "intensity curve file")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"intensity curve file {path}: not valid JSON ({exc})") from None
    return data


def _levels(values, name: str) -> np.ndarray:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise InputError(f"{name}: expected a list of dB values, got {type(values).__name__}")
    if len(values) == 0:
        raise InputError(f"{name}: the curve is empty (expected at least one dB value)")
    levels = np.array([real(v, f"{name}, value {i}") for i, v in enumerate(values)])
    if levels.min() < FLOOR_DB or levels.max() > 0.0:
        raise InputError(f"{name}: levels must lie between {FLOOR_DB:g} and 0 dB (RMS re full scale), "
                         f"got {levels.min():g} to {levels.max():g}")
    return levels


# --- structure ---------------------------------------------------------------------------------

def structure_from_string(diagram: str, n_frames: int = M.CLIP_FRAMES, pool: int = POOL,
                          smooth_s: float = STRUCTURE_SMOOTH_S, order: int = STRUCTURE_SMOOTH_ORDER) -> np.ndarray:
    """Phrase diagram such as "ABBA" -> (N, N) target SSM, N = ceil(n_frames / pool).

    Equal-length sections; 1 where two cells belong to sections with the same letter, else 0;
    then a 2-D Savitzky-Golay smoothing (``smooth_s`` seconds, 0 = none), clipped back to [0, 1].
    """
    n_cells = pooled_length(positive_int(n_frames, "n_frames"), positive_int(pool, "pool"))
    letters = _diagram_letters(diagram, n_cells)
    section = np.minimum(np.arange(n_cells) * len(letters) // n_cells, len(letters) - 1)
    labels = np.array([ord(letters[s]) for s in section])
    target = (labels[:, None] == labels[None, :]).astype(np.float64)
    window = odd_window(real(smooth_s, "smooth_s", minimum=0.0) * M.FRAME_RATE / pool, order, limit=n_cells)
    if smooth_s > 0 and window > order:
        target = np.clip(smooth_2d_np(target, window, order), 0.0, 1.0)
    return target.astype(np.float32)


def structure_repeats_from_string(diagram: str, n_frames: int = M.CLIP_FRAMES,
                                  pool: int = POOL) -> tuple[np.ndarray, np.ndarray]:
    """Phrase diagram such as "ABBA" -> (target, mask), each (N, N): a repetition target a stationary wash cannot
    meet by being stationary.

    The block target of ``structure_from_string`` asks every cell of a section to resemble every other cell of it
    and of its repeats, i.e. a timbre that does not move: the cheapest way to meet it is a wash (issue 15). Here a
    repeat is asked to resemble its original *in step* (cell k of A1 like cell k of A2: the diagonal stripes of a
    real piece's SSM), sections with different letters to differ (0), and the other cells of same-letter pairs are
    left free (mask 0): the music may move inside a section.
    """
    n_cells = pooled_length(positive_int(n_frames, "n_frames"), positive_int(pool, "pool"))
    letters = _diagram_letters(diagram, n_cells)
    section = np.minimum(np.arange(n_cells) * len(letters) // n_cells, len(letters) - 1)
    offset = np.arange(n_cells) - np.searchsorted(section, section)  # cells since the section's first cell
    labels = np.array([ord(letters[s]) for s in section])
    same = labels[:, None] == labels[None, :]
    in_step = offset[:, None] == offset[None, :]
    target = (same & in_step).astype(np.float32)
    mask = (~same | in_step).astype(np.float32)
    return target, mask


def _diagram_letters(diagram, n_cells: int) -> str:
    if not isinstance(diagram, str) or not diagram.strip():
        raise InputError(f"structure: expected a phrase diagram of letters A-Z such as 'ABBA', got {diagram!r}")
    letters = diagram.strip()
    bad = sorted(set(letters) - set(string.ascii_uppercase))
    if bad:
        raise InputError(f"structure {diagram!r}: only capital letters A-Z are allowed (found {''.join(bad)!r})")
    if len(letters) > n_cells:
        raise InputError(f"structure {diagram!r}: {len(letters)} sections do not fit in {n_cells} cells")
    return letters


def structure_from_audio(audio, n_frames: int = M.CLIP_FRAMES, pool: int = POOL) -> np.ndarray:
    """SSM of a reference recording (a path, or a 22.05 kHz waveform), unsmoothed (DITTO App. F).

    The reference's MFCC sequence is stretched or squeezed onto the clip's grid before the SSM,
    so a whole song's form maps onto the generated clip.
    """
    from ditto2.audio.io import read_audio

    n_cells = pooled_length(positive_int(n_frames, "n_frames"), positive_int(pool, "pool"))
    if isinstance(audio, (str, Path)):
        wave = read_audio(existing_file(audio, "structure reference audio"))
    else:
        wave = as_wave(audio, "structure reference audio")
    if wave.size // M.HOP < 2:
        raise InputError("structure reference audio: too short (needs at least two frames, 512 samples)")
    feats = torch.from_numpy(mfcc_audio(wave).astype(np.float32))
    return self_similarity(zscore(resample_time(feats, n_cells))).numpy()
