"""Audio file reading and writing: mono down-mix, resampling to 22.05 kHz, atomic writes."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile as sf

from ditto2.audio.mel import SAMPLE_RATE
from ditto2.errors import InputError, MissingResourceError
from ditto2.fileio import atomic_path

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
MIN_RATE, MAX_RATE = 4000, 384000


def resample(audio: np.ndarray, rate_in: int, rate_out: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling along the last axis (exact rational ratio)."""
    if rate_in == rate_out:
        return audio.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = math.gcd(int(rate_in), int(rate_out))
    return resample_poly(audio, rate_out // g, rate_in // g, axis=-1).astype(np.float32)


def to_mono(audio: np.ndarray) -> np.ndarray:
    """(frames,) or (frames, channels) -> (frames,) by averaging channels."""
    return audio if audio.ndim == 1 else audio.mean(axis=1)


def read_audio(path: str | Path, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read any soundfile-supported file as float32 mono at ``rate``."""
    path = Path(path)
    if not path.is_file():
        raise MissingResourceError(f"audio file not found: {path}")
    try:
        audio, file_rate = sf.read(str(path), dtype="float32", always_2d=False)
    except Exception as exc:  # soundfile raises several types for corrupt or unknown files
        raise InputError(f"cannot read audio file {path}: {exc} (expected wav, flac, ogg or mp3)") from None
    if not MIN_RATE <= file_rate <= MAX_RATE:
        raise InputError(f"{path}: unsupported sample rate {file_rate} Hz (expected {MIN_RATE}-{MAX_RATE} Hz)")
    audio = to_mono(np.asarray(audio, dtype=np.float32))
    if audio.size == 0:
        raise InputError(f"{path}: the file holds no audio samples")
    if not np.all(np.isfinite(audio)):
        raise InputError(f"{path}: the audio contains NaN or infinite samples")
    return resample(audio, file_rate, rate)


def write_audio(path: str | Path, audio, rate: int = SAMPLE_RATE) -> Path:
    """Write float audio in [-1, 1] as 16-bit PCM (format from the extension), atomically."""
    path = Path(path)
    audio = np.asarray(audio.detach().cpu() if hasattr(audio, "detach") else audio, dtype=np.float32).reshape(-1)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), np.clip(audio, -1.0, 1.0), rate, subtype="PCM_16", format=_format_of(path))
    return path


def _format_of(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in {"wav", "flac", "ogg"}:
        raise InputError(f"{path}: cannot write .{fmt} files (use .wav, .flac or .ogg)")
    return fmt.upper()


def rms_db(audio: np.ndarray) -> float:
    return 20.0 * math.log10(float(np.sqrt(np.mean(np.square(audio)))) + 1e-9)


def normalise_loudness(audio: np.ndarray, target_db: float = -20.0, peak: float = 0.98) -> np.ndarray:
    """Scale to a target RMS level (dBFS), then limit the peak so nothing clips."""
    gain = 10.0 ** ((target_db - rms_db(audio)) / 20.0)
    out = audio * gain
    top = float(np.max(np.abs(out))) if out.size else 0.0
    if top > peak:
        out = out * (peak / top)
    return out.astype(np.float32)
