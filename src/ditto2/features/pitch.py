"""Monophonic pitch tracking with torchcrepe (weights ship inside the package; nothing is downloaded).

torchcrepe imports torchaudio at module level but only uses it to load files, which we never ask
it to do. torchaudio is not installed (and must not be faked permanently: transformers and
diffusers probe for it), so a stand-in lives in sys.modules only while torchcrepe is imported.
"""
from __future__ import annotations

import contextlib
import importlib.util
import math
import sys
import types

import numpy as np
import torch

from ditto2.audio import mel as M
from ditto2.errors import InputError, MissingResourceError

CREPE_RATE = 16000
CREPE_HOP = 160  # 10 ms: the nearest CREPE frame is at most 5 ms from a mel frame centre (11.6 ms apart)


@contextlib.contextmanager
def _torchaudio_standin():
    if "torchaudio" in sys.modules or importlib.util.find_spec("torchaudio") is not None:
        yield
        return
    standin = types.ModuleType("torchaudio")

    def load(path):  # the one torchaudio call torchcrepe makes (predict_from_file), via soundfile
        import soundfile as sf

        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
        return torch.from_numpy(audio.T.copy()), rate

    standin.load = load
    sys.modules["torchaudio"] = standin
    try:
        yield
    finally:
        sys.modules.pop("torchaudio", None)


def import_torchcrepe():
    if "torchcrepe" in sys.modules:
        return sys.modules["torchcrepe"]
    try:
        with _torchaudio_standin():
            import torchcrepe
    except ImportError as exc:
        raise MissingResourceError(f"melody from audio needs torchcrepe (pip install torchcrepe): {exc}") from None
    return torchcrepe


def track_pitch(wave: np.ndarray, n_frames: int, model: str = "tiny") -> tuple[np.ndarray, np.ndarray]:
    """22.05 kHz mono wave -> (f0 Hz, periodicity), each (n_frames,) on the mel frame grid."""
    from scipy.signal import resample_poly

    if model not in ("tiny", "full"):
        raise InputError(f"crepe model: expected 'tiny' or 'full', got {model!r}")
    crepe = import_torchcrepe()
    g = math.gcd(M.SAMPLE_RATE, CREPE_RATE)
    audio = resample_poly(wave, CREPE_RATE // g, M.SAMPLE_RATE // g).astype(np.float32)
    with torch.no_grad():
        hz, periodicity = crepe.predict(torch.from_numpy(audio)[None], CREPE_RATE, hop_length=CREPE_HOP,
                                        model=model, return_periodicity=True, batch_size=512, device="cpu", pad=True)
    # CREPE frame i is centred on sample i * hop (pad=True), mel frame t on t * 256 at 22.05 kHz.
    index = np.round(np.arange(n_frames) * M.HOP / M.SAMPLE_RATE * CREPE_RATE / CREPE_HOP).astype(int)
    index = np.minimum(index, hz.shape[-1] - 1)
    return hz[0].numpy()[index], periodicity[0].numpy()[index]
