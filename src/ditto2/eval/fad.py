"""Fréchet audio distance (FAD) between two sets of audio, with a pluggable embedding.

Conventions (as in fadtk, Gui et al. 2024):

* every file is embedded frame by frame, and the frames of **all** files in a set are pooled before
  the Gaussian (mean, covariance) is fitted; files may differ in length, each contributing frames in
  proportion to its duration (the result reports files, frames and seconds of both sets);
* ``FAD = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr sqrt(S_a S_b)``.

The matrix square root is taken as ``tr sqrt(S_a S_b) = tr sqrt(R S_b R)`` with ``R = sqrt(S_a)``:
``R S_b R`` is symmetric positive semi-definite, so a symmetric eigen-decomposition gives real,
non-negative eigenvalues where ``scipy.linalg.sqrtm(S_a @ S_b)`` can return complex values for
nearly singular covariances (few frames, many dimensions). Eigenvalues that round to tiny negatives
are clipped to 0, and a final value within rounding of 0 (e.g. a set against itself) is clamped to 0;
a clearly negative value cannot come from PSD covariances and raises ``FloatingPointError``.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ditto2.audio import mel as M
from ditto2.errors import InputError

# |FAD| below this fraction of |mu_a - mu_b|^2 + tr S_a + tr S_b counts as rounding noise around 0.
_ROUNDING = 1e-9


class Embedder:
    """An audio embedding for FAD: ``embed(wave)`` maps a mono waveform at ``rate`` Hz to (frames, dim)."""

    name: str = "embedder"
    rate: int = M.SAMPLE_RATE

    def embed(self, wave: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def embed_many(self, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Override when a batch is cheaper than single calls (e.g. one subprocess for a whole set)."""
        return [self.embed(w) for w in waves]


@dataclasses.dataclass(frozen=True)
class SetSummary:
    files: int
    frames: int
    seconds: float


@dataclasses.dataclass(frozen=True)
class FADResult:
    fad: float
    embedder: str
    dim: int
    reference: SetSummary
    evaluated: SetSummary
    fad_inf: float | None = None  # extrapolated to infinitely many frames, when asked for

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# --- the distance ------------------------------------------------------------------------------

def gaussian(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of (n, dim) frames, n >= 2 (unbiased covariance, as numpy and fadtk)."""
    frames = np.asarray(frames, dtype=np.float64)
    if frames.ndim != 2 or len(frames) < 2 or not np.all(np.isfinite(frames)):
        raise InputError(f"a Gaussian fit needs finite (n, dim) samples with n >= 2, got shape {frames.shape}")
    return frames.mean(0), np.atleast_2d(np.cov(frames, rowvar=False))


def _eigen_floor(vals: np.ndarray) -> np.ndarray:
    """Zero the eigenvalues that are rounding noise (below dim * eps * the largest one).

    Their square roots would otherwise be ~1e-8 of the scale each and add up in rank-deficient
    covariances (fewer frames than dimensions), where many eigenvalues are exactly 0 in theory.
    """
    top = max(float(vals.max(initial=0.0)), 0.0)
    return np.where(vals > len(vals) * np.finfo(np.float64).eps * top, vals, 0.0)


def _psd_sqrt(cov: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    return (vecs * np.sqrt(_eigen_floor(vals))) @ vecs.T


def frechet_from_stats(mu_a, cov_a, mu_b, cov_b) -> float:
    """Fréchet distance between N(mu_a, cov_a) and N(mu_b, cov_b); always real and >= 0."""
    root_a = _psd_sqrt(cov_a)
    inner = root_a @ cov_b @ root_a
    tr_sqrt = float(np.sqrt(_eigen_floor(np.linalg.eigvalsh((inner + inner.T) / 2))).sum())
    diff = np.asarray(mu_a, dtype=np.float64) - np.asarray(mu_b, dtype=np.float64)
    scale = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b))
    value = scale - 2.0 * tr_sqrt
    tolerance = _ROUNDING * scale
    if value < -tolerance:
        raise FloatingPointError(f"Fréchet distance came out negative ({value:g} at scale {scale:g}); "
                                 "the covariances are not positive semi-definite")
    return 0.0 if value <= tolerance else value


def frechet_distance(a: np.ndarray, b: np.ndarray, eps: float = 0.0) -> float:
    """Fréchet distance between Gaussians fitted to the rows of a and b.

    ``eps`` adds a ridge ``eps * I`` to both covariances (not needed for stability here; kept for
    callers that regularise rank-deficient sets on purpose).
    """
    mu_a, cov_a = gaussian(a)
    mu_b, cov_b = gaussian(b)
    ridge = eps * np.eye(len(mu_a))
    return frechet_from_stats(mu_a, cov_a + ridge, mu_b, cov_b + ridge)


# --- reading and embedding sets ----------------------------------------------------------------

def list_audio(folder: str | Path) -> list[Path]:
    """Audio files directly inside ``folder``, sorted by name; an empty folder is an error."""
    from ditto2.audio.io import AUDIO_EXTENSIONS

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"audio folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
    if not files:
        raise InputError(f"{folder}: no audio files (expected {', '.join(AUDIO_EXTENSIONS)})")
    return files


def _expand(items, label: str) -> list:
    """A folder, or a sequence of waveforms and/or file paths -> a flat list."""
    if isinstance(items, (str, Path)):
        return list_audio(items)
    if isinstance(items, np.ndarray) and items.ndim == 1:
        raise InputError(f"{label}: expected a sequence of waveforms or files, got a single waveform")
    items = list(items)
    if not items:
        raise InputError(f"{label}: the set is empty (FAD needs at least one file with two or more frames)")
    return items


def _file_rates(items, label: str) -> dict[Path, int]:
    """Native rate of every file; files of one FAD must share it (a mismatch usually means a mix-up)."""
    import soundfile as sf

    rates = {}
    for item in items:
        if isinstance(item, (str, Path)):
            path = Path(item)
            if not path.is_file():
                raise InputError(f"{label}: audio file not found: {path}")
            try:
                rates[path] = sf.info(str(path)).samplerate
            except (RuntimeError, OSError, ValueError) as exc:  # libsndfile errors are RuntimeErrors
                raise InputError(f"{label}: cannot read audio file {path}: {exc}") from None
    return rates


def check_same_rate(rates: dict[Path, int]) -> None:
    if len(set(rates.values())) > 1:
        by_rate = {}
        for path, rate in rates.items():
            by_rate.setdefault(rate, path)
        listed = ", ".join(f"{rate} Hz ({path})" for rate, path in sorted(by_rate.items()))
        raise InputError(f"audio files have different sample rates: {listed}; "
                         "resample them to one rate before comparing sets")


def _wave(item, rate: int, embed_rate: int, label: str) -> np.ndarray:
    from ditto2.audio.io import read_audio, resample
    from ditto2.features._checks import as_wave

    if isinstance(item, (str, Path)):
        return read_audio(item, rate=embed_rate)
    return resample(as_wave(item, f"{label} waveform"), rate, embed_rate)


def embed_set(items, embedder: Embedder, *, rate: int = M.SAMPLE_RATE, label: str = "set",
              rates: dict | None = None) -> tuple[list[np.ndarray], SetSummary]:
    """Embed a folder or a sequence of waveforms (at ``rate`` Hz) and/or files; check every embedding."""
    items = _expand(items, label)
    if rates is None:
        rates = _file_rates(items, label)
        check_same_rate(rates)
    waves = [_wave(item, rate, embedder.rate, label) for item in items]
    embeddings = embedder.embed_many(waves)
    names = [str(i) if isinstance(i, (str, Path)) else f"waveform {n}" for n, i in enumerate(items)]
    checked = [_checked_embedding(e, embedder.name, f"{label}: {name}") for e, name in zip(embeddings, names)]
    if len({e.shape[1] for e in checked}) > 1:
        raise InputError(f"{label}: embedder {embedder.name} returned different dimensions across files")
    frames = sum(len(e) for e in checked)
    seconds = sum(w.size for w in waves) / embedder.rate
    return checked, SetSummary(files=len(items), frames=frames, seconds=round(seconds, 3))


def _checked_embedding(emb, embedder: str, where: str) -> np.ndarray:
    emb = np.asarray(emb, dtype=np.float64)
    if emb.ndim != 2 or emb.shape[0] == 0 or emb.shape[1] == 0:
        raise InputError(f"{where}: embedder {embedder} returned shape {emb.shape}, expected (frames, dim)")
    if not np.all(np.isfinite(emb)):
        raise InputError(f"{where}: embedder {embedder} returned NaN or infinite values "
                         "(silent or corrupt audio?)")
    return emb


def _pooled(embeddings: list[np.ndarray], summary: SetSummary, label: str) -> np.ndarray:
    pooled = np.concatenate(embeddings, axis=0)
    if len(pooled) < 2:
        raise InputError(f"{label}: FAD needs at least 2 embedding frames per set, got {len(pooled)} from "
                         f"{summary.files} file(s) ({summary.seconds:g} s); add files or use longer audio")
    return pooled


def fad_from_embeddings(reference: np.ndarray, evaluated: np.ndarray) -> float:
    """FAD between two pooled (frames, dim) arrays."""
    if reference.shape[1] != evaluated.shape[1]:
        raise InputError(f"embedding dimensions differ: reference {reference.shape[1]}, evaluated {evaluated.shape[1]}")
    return frechet_from_stats(*gaussian(reference), *gaussian(evaluated))


def fad(reference, evaluated, embedder: Embedder, *, rate: int = M.SAMPLE_RATE, with_inf: bool = False,
        seed: int = 0) -> FADResult:
    """FAD between two sets: folders, or sequences of waveforms (at ``rate`` Hz) and/or audio files.

    All files of both sets must share one sample rate. ``with_inf`` adds FAD∞ (see ``fad_inf``).
    """
    reference, evaluated = _expand(reference, "reference"), _expand(evaluated, "evaluated")
    rates = {**_file_rates(reference, "reference"), **_file_rates(evaluated, "evaluated")}
    check_same_rate(rates)
    ref_emb, ref_sum = embed_set(reference, embedder, rate=rate, label="reference", rates=rates)
    ev_emb, ev_sum = embed_set(evaluated, embedder, rate=rate, label="evaluated", rates=rates)
    ref, ev = _pooled(ref_emb, ref_sum, "reference"), _pooled(ev_emb, ev_sum, "evaluated")
    value = fad_from_embeddings(ref, ev)
    inf = fad_inf(ref, ev, seed=seed).value if with_inf else None
    return FADResult(fad=value, embedder=embedder.name, dim=int(ref.shape[1]), reference=ref_sum, evaluated=ev_sum,
                     fad_inf=inf)


# --- FAD∞ ----------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class FADInf:
    value: float   # intercept of FAD against 1/n: the FAD of an infinitely large evaluated set
    slope: float
    r2: float
    sizes: tuple[int, ...]


def fad_inf(reference: np.ndarray, evaluated: np.ndarray, *, steps: int = 15, min_frames: int | None = None,
            seed: int = 0) -> FADInf:
    """FAD∞ (Chong & Forsyth 2020, as in fadtk): FAD of random subsets of the evaluated frames at
    ``steps`` sizes from ``min_frames`` to all, then a straight-line fit of FAD against 1/n.

    FAD is biased upwards for small n roughly in proportion to 1/n, so the intercept removes the
    dependence on set size. Subsets are drawn without replacement with a fixed seed.
    """
    n = len(evaluated)
    if n < 10:
        raise InputError(f"FAD∞ needs at least 10 evaluated frames, got {n}")
    low = max(2, n // 5) if min_frames is None else int(min_frames)
    if not 2 <= low < n:
        raise InputError(f"min_frames: expected 2 <= min_frames < {n} (the evaluated frames), got {min_frames}")
    rng = np.random.default_rng(seed)
    mu_r, cov_r = gaussian(reference)
    sizes = np.unique(np.linspace(low, n, steps).astype(int))
    scores = [frechet_from_stats(mu_r, cov_r, *gaussian(evaluated[rng.choice(n, size=k, replace=False)]))
              for k in sizes]
    slope, intercept = np.polyfit(1.0 / sizes, scores, 1)
    fitted = intercept + slope / sizes
    spread = float(np.sum((scores - np.mean(scores)) ** 2))
    r2 = 1.0 - float(np.sum((scores - fitted) ** 2)) / spread if spread > 0 else 1.0
    return FADInf(value=float(intercept), slope=float(slope), r2=r2, sizes=tuple(int(s) for s in sizes))
