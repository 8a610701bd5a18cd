"""Control adherence measured on final audio (22.05 kHz mono), on the mel frame grid (L // 256 frames).

* **Intensity**: the audio loudness curve (``features.intensity_db_audio``, smoothed dB) against the
  target curve: MSE in dB² and Pearson's r.
* **Structure**: MSE between the audio's SSM (``features.ssm_audio``) and the target SSM.
* **Paint / loop context**: mean absolute dB difference of the log-mel of the audio and of the
  reference inside the context frames (the frames the control asked to keep).
* **Seams**: the jump in loudness (dB) and the spectral flux (mean |Δ| of the dB log-mel over bands)
  across a boundary, compared with the same two measures at random positions inside real music, so
  "seam / real" says whether the join is more abrupt than music normally is.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ditto2.audio import mel as M
from ditto2.errors import InputError
from ditto2.features._checks import as_wave, positive_int

# An STFT frame spans 4 hops (n_fft 1024, hop 256, centred), so a discontinuity at sample 256 b leaks
# into frames b-1 .. b+1; frames b-2 and b+2 are the nearest ones wholly before and wholly after it.
SEAM_HALF_GAP = M.N_FFT // M.HOP // 2


def _frames_match(name: str, got: int, expected: int) -> None:
    if got != expected:
        raise InputError(f"{name}: expected {expected} frames (one per 256 samples of audio), got {got}")


def _pearson(a: np.ndarray, b: np.ndarray) -> float | None:
    """Pearson's r, or None when either curve is constant (r is undefined there, not 0 and not NaN)."""
    a, b = a - a.mean(), b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 1e-12 else None


# --- intensity ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class IntensityScore:
    mse_db2: float
    pearson: float | None  # None when the target or the achieved curve is flat
    frames: int
    achieved_db: np.ndarray = dataclasses.field(repr=False)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "achieved_db": self.achieved_db.tolist()}


def intensity_error(wave, target_db, *, smooth: bool = True) -> IntensityScore:
    """Loudness curve of the audio vs a per-frame target in dB (e.g. ``features.intensity_curve``)."""
    from ditto2.features.intensity import intensity_db_audio

    achieved = intensity_db_audio(as_wave(wave), smooth=smooth)
    target = np.asarray(target_db, dtype=np.float64)
    if target.ndim != 1:
        raise InputError(f"intensity target: expected a (frames,) curve in dB, got shape {target.shape}")
    _frames_match("intensity target", target.size, achieved.size)
    if not np.all(np.isfinite(target)):
        raise InputError("intensity target: contains NaN or infinite values")
    return IntensityScore(mse_db2=float(np.mean((achieved - target) ** 2)), pearson=_pearson(achieved, target),
                          frames=int(achieved.size), achieved_db=achieved)


# --- structure ------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class StructureScore:
    mse: float
    size: int  # N of the N x N SSM
    r: float | None  # Pearson correlation of achieved and target cells: is the form there, whatever its contrast
                     # (None for a target without contrast, e.g. "AAAA")
    achieved: np.ndarray = dataclasses.field(repr=False)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "achieved": self.achieved.tolist()}


def structure_error(wave, target_ssm, *, pool: int | None = None, mask=None) -> StructureScore:
    """SSM of the audio vs a target SSM (e.g. ``features.structure_from_string``) of the same size; with a
    ``mask`` (``features.structure_repeats_from_string``), the weighted mean over the cells it keeps."""
    from ditto2.features.structure import POOL, ssm_audio

    achieved = ssm_audio(as_wave(wave), pool=POOL if pool is None else positive_int(pool, "pool"))
    target = np.asarray(target_ssm, dtype=np.float64)
    if target.shape != achieved.shape:
        raise InputError(f"structure target: expected an SSM of shape {achieved.shape} for this audio, "
                         f"got {target.shape}")
    if not np.all(np.isfinite(target)):
        raise InputError("structure target: contains NaN or infinite values")
    weights = np.ones_like(target) if mask is None else np.asarray(mask, dtype=np.float64)
    if weights.shape != target.shape or not (np.all(weights >= 0) and weights.sum() > 0):
        raise InputError(f"structure mask: expected non-negative weights of shape {target.shape}, not all 0")
    mse = float(np.sum(weights * (achieved - target) ** 2) / weights.sum())
    keep = weights > 0
    return StructureScore(mse=mse, size=int(target.shape[0]), r=_pearson(achieved[keep], target[keep]),
                          achieved=achieved)


# --- inpainting / outpainting / looping ---------------------------------------------------------

def log_mel_db(wave) -> np.ndarray:
    """(80, L // 256) log-mel in dB, floored at the mel's -100 dB (so silence stays finite)."""
    with torch.no_grad():
        ln = M.denormalise(M.wave_to_mel(torch.from_numpy(as_wave(wave)))).numpy()
    return ln.astype(np.float64) * (20.0 / np.log(10.0))


def _mask(mask, n_frames: int, name: str) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.ndim != 1:
        raise InputError(f"{name}: expected a (frames,) boolean mask, got {mask.dtype} of shape {mask.shape}")
    _frames_match(name, mask.size, n_frames)
    if not mask.any():
        raise InputError(f"{name}: the mask selects no frames")
    return mask


def context_error_db(wave, reference, mask, reference_mask=None) -> float:
    """Mean |dB log-mel(audio) - dB log-mel(reference)| over the context frames.

    ``mask`` marks the frames of ``wave``; ``reference_mask`` those of ``reference`` (default: the
    same mask, for inpainting). Outpainting and looping pass the pairs from ``features.masks``.
    """
    gen, ref = log_mel_db(wave), log_mel_db(reference)
    gen_mask = _mask(mask, gen.shape[1], "context mask")
    ref_mask = _mask(gen_mask if reference_mask is None else reference_mask, ref.shape[1], "reference mask")
    if gen_mask.sum() != ref_mask.sum():
        raise InputError(f"context masks: the audio mask selects {gen_mask.sum()} frames, the reference mask "
                         f"{ref_mask.sum()}; they must select the same number")
    return float(np.mean(np.abs(gen[:, gen_mask] - ref[:, ref_mask])))


@dataclasses.dataclass(frozen=True)
class SeamJump:
    loudness_db: float  # |level after - level before|, unsmoothed frame RMS in dB
    flux_db: float      # mean over mel bands of |dB after - dB before|


def _jumps(mel_db: np.ndarray, level_db: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    before, after = frames - SEAM_HALF_GAP, frames + SEAM_HALF_GAP
    loudness = np.abs(level_db[after] - level_db[before])
    flux = np.abs(mel_db[:, after] - mel_db[:, before]).mean(0)
    return loudness, flux


def _seam_curves(wave) -> tuple[np.ndarray, np.ndarray]:
    from ditto2.features.intensity import intensity_db_audio

    wave = as_wave(wave)
    return log_mel_db(wave), intensity_db_audio(wave, smooth=False)


def seam_jump(wave, frame: int) -> SeamJump:
    """Loudness and spectral jump across the boundary at the start of ``frame`` (sample 256 * frame)."""
    return _jump_at(*_seam_curves(wave), frame)


def _jump_at(mel_db: np.ndarray, level: np.ndarray, frame: int) -> SeamJump:
    n = mel_db.shape[1]
    if not isinstance(frame, (int, np.integer)) or not SEAM_HALF_GAP <= frame < n - SEAM_HALF_GAP:
        raise InputError(f"seam frame: expected a whole frame in [{SEAM_HALF_GAP}, {n - SEAM_HALF_GAP}) for "
                         f"audio of {n} frames, got {frame!r}")
    loudness, flux = _jumps(mel_db, level, np.array([frame]))
    return SeamJump(float(loudness[0]), float(flux[0]))


def flux_profile(wave, frames) -> np.ndarray:
    """The spectral flux of ``seam_jump`` at each of ``frames`` (whole frames at least 2 from either end)."""
    mel_db, level = _seam_curves(wave)
    return np.array([_jump_at(mel_db, level, int(f)).flux_db for f in frames])


def loop_wave(wave) -> tuple[np.ndarray, int]:
    """A loop played twice, and the frame where its end meets its start (trimmed to whole frames)."""
    wave = as_wave(wave)
    n = wave.size // M.HOP
    if n <= SEAM_HALF_GAP:
        raise InputError(f"loop: {wave.size} samples is too short to measure its seam")
    body = wave[: n * M.HOP]
    return np.concatenate([body, body]), n


def real_jumps(waves, *, per_clip: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Loudness and flux jumps at random frames inside real music: the reference distribution."""
    rng = np.random.default_rng(seed)
    loud, flux = [], []
    for i, wave in enumerate(waves):
        mel_db, level = _seam_curves(wave)
        n = mel_db.shape[1]
        if n <= 2 * SEAM_HALF_GAP:
            raise InputError(f"real music {i}: too short ({n} frames) to measure jumps inside it")
        frames = rng.integers(SEAM_HALF_GAP, n - SEAM_HALF_GAP, size=positive_int(per_clip, "per_clip"))
        a, b = _jumps(mel_db, level, frames)
        loud.append(a)
        flux.append(b)
    if not loud:
        raise InputError("real music: the set is empty (give at least one real clip)")
    return np.concatenate(loud), np.concatenate(flux)


@dataclasses.dataclass(frozen=True)
class SeamScore:
    loudness_db: float
    flux_db: float
    real_loudness_db: float     # mean jump at random frames inside real music
    real_flux_db: float
    loudness_percentile: float  # share of real jumps smaller than this seam's, in %
    flux_percentile: float
    real_samples: int
    # The median flux between frames inside the same audio: a join judged against the music around it, which a
    # wash cannot pass by having no jumps anywhere (issue 15).
    own_flux_db: float

    @property
    def loudness_ratio(self) -> float:
        return self.loudness_db / max(self.real_loudness_db, 1e-9)

    @property
    def flux_ratio(self) -> float:
        return self.flux_db / max(self.real_flux_db, 1e-9)

    @property
    def own_flux_ratio(self) -> float:
        return self.flux_db / max(self.own_flux_db, 1e-9)

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "loudness_ratio": self.loudness_ratio, "flux_ratio": self.flux_ratio,
                "own_flux_ratio": self.own_flux_ratio}


def seam_score(wave, frame: int, real, *, per_clip: int = 64, seed: int = 0) -> SeamScore:
    """``seam_jump`` at ``frame`` next to the same measures in ``real`` (waveforms, or ``real_jumps`` output) and
    inside the audio itself."""
    return seam_scores(wave, [frame], real, per_clip=per_clip, seed=seed)[0]


def seam_scores(wave, frames, real, *, per_clip: int = 64, seed: int = 0) -> list[SeamScore]:
    """``seam_score`` at each of ``frames`` of one audio (its curves and its own flux computed once)."""
    mel_db, level = _seam_curves(wave)
    own_flux = float(np.median(_jumps(mel_db, level, np.arange(SEAM_HALF_GAP, mel_db.shape[1] - SEAM_HALF_GAP))[1]))
    real_loud, real_flux = real if isinstance(real, tuple) else real_jumps(real, per_clip=per_clip, seed=seed)
    scores = []
    for frame in frames:
        jump = _jump_at(mel_db, level, frame)
        scores.append(SeamScore(loudness_db=jump.loudness_db, flux_db=jump.flux_db,
                                real_loudness_db=float(real_loud.mean()), real_flux_db=float(real_flux.mean()),
                                loudness_percentile=float(100.0 * np.mean(real_loud < jump.loudness_db)),
                                flux_percentile=float(100.0 * np.mean(real_flux < jump.flux_db)),
                                real_samples=int(real_loud.size), own_flux_db=own_flux))
    return scores
