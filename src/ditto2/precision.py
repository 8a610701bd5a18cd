"""Mixed precision on the machine at hand: bf16 autocast where it pays, fp32 elsewhere.

Used by the training loop (the training step) and by the pipeline (the noise optimisation's surrogate). Weights
stay fp32; autocast runs convolutions and matmuls in bf16 and keeps reductions and losses in fp32.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from ditto2.errors import InputError

PRECISIONS = ("auto", "bf16", "fp32")


def cpu_has_fast_bf16(cpuinfo: str | None = None) -> bool:
    """Measured, per CPU (docs/benchmarks.md): AMX tiles (Intel Xeon: the training step 1.9x faster) and AMD's
    AVX-512 BF16 (EPYC: a DITTO-2 step 1.8x faster, the CTD training step about 2x) make bf16 pay; an Intel Xeon
    with AVX-512 BF16 but no AMX ran a DITTO-2 generation 1.2x *slower* in bf16 than in fp32."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    return "amx_bf16" in cpuinfo or ("avx512_bf16" in cpuinfo and "AuthenticAMD" in cpuinfo)


def resolve(precision: str, device: torch.device | str = "cpu") -> str:
    """"auto" -> "bf16" on CUDA and on CPUs with fast bf16, else "fp32"; the others as they are."""
    if precision not in PRECISIONS:
        raise InputError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    return "bf16" if torch.device(device).type == "cuda" or cpu_has_fast_bf16() else "fp32"


def autocast_for(device: torch.device | str, precision: str = "auto"):
    """The autocast context for ``precision`` on ``device`` (a null context for fp32)."""
    if resolve(precision, device) == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
