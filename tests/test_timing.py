import time

import numpy as np
import pytest

from ditto2 import timing
from ditto2.errors import InputError


def test_stage_timer_accumulates_named_stages_even_when_one_fails():
    timer = timing.StageTimer()
    for _ in range(2):
        with timer.stage("decode"):
            time.sleep(0.01)
    with pytest.raises(RuntimeError), timer.stage("vocode"):
        raise RuntimeError
    assert set(timer.seconds) == {"decode", "vocode"} and timer.seconds["decode"] >= 0.02
    report = timer.report(audio_seconds=5.94)
    assert report["real_time_factor"] == pytest.approx(5.94 / timer.total)
    assert report["total_s"] == pytest.approx(timer.total) and report["peak_rss_mb"] > 10


def test_real_time_factor_and_peak_memory():
    assert timing.real_time_factor(5.94, 2.97) == pytest.approx(2.0)  # twice as fast as real time
    before = timing.peak_rss_bytes()
    block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
    assert timing.peak_rss_bytes() >= before and block.sum() > 0
    assert timing.peak_rss_bytes() > 64 * 2**20
    for audio, wall in [(0, 1), (1, 0), (-1, 1), (float("nan"), 1)]:
        with pytest.raises(InputError, match="positive durations"):
            timing.real_time_factor(audio, wall)
