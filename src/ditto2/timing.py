"""Speed and memory: wall time per named stage, real-time factor and peak resident memory.

Real-time factor here is **audio seconds / wall seconds** (> 1 = faster than real time). Some texts use
the inverse (wall / audio, < 1 = faster); reports always name the convention next to the number.
"""
from __future__ import annotations

import contextlib
import resource
import sys
import time

from ditto2.errors import InputError


class StageTimer:
    """Accumulates wall time per named stage; a stage entered twice adds up.

    >>> timer = StageTimer()
    >>> with timer.stage("decode"):
    ...     pass
    """

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield self
        finally:  # a failed stage still reports the time it took
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def report(self, audio_seconds: float | None = None) -> dict:
        out = {"stages_s": dict(self.seconds), "total_s": self.total, "peak_rss_mb": peak_rss_bytes() / 2**20}
        if audio_seconds is not None:
            out["audio_s"] = audio_seconds
            out["real_time_factor"] = real_time_factor(audio_seconds, self.total)
        gpu = peak_gpu_bytes()
        if gpu is not None:
            out["peak_gpu_mb"] = gpu / 2**20
        return out


def real_time_factor(audio_seconds: float, wall_seconds: float) -> float:
    """Audio seconds produced per wall second (> 1 = faster than real time)."""
    if not audio_seconds > 0 or not wall_seconds > 0:
        raise InputError(f"real-time factor: expected positive durations, got audio {audio_seconds!r} s, "
                         f"wall {wall_seconds!r} s")
    return audio_seconds / wall_seconds


def reset_peak_rss() -> bool:
    """Start a new peak-memory window (Linux: the high-water mark falls back to the current RSS).

    Lets one process report the peak of each generation rather than of everything it ran before.
    Returns False where the kernel offers no reset (the peak then covers the whole process)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """Peak resident memory of this process (since ``reset_peak_rss``, where available); children excluded."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB, macOS bytes


def peak_gpu_bytes() -> int | None:
    """Peak CUDA memory allocated by torch in this process, or None without CUDA."""
    try:
        import torch
    except ImportError:
        return None
    return int(torch.cuda.max_memory_allocated()) if torch.cuda.is_available() else None


def median_seconds(fn, reps: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``reps`` calls, after ``warmup`` untimed calls (benchmarks)."""
    import statistics

    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
