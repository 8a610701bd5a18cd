"""Musicality measures: plucked harmonic notes against a smoothed-noise wash; per-set medians and "kept" ratios."""
import numpy as np
import pytest

from ditto2.audio import mel as M
from ditto2.errors import InputError
from ditto2.eval import musicality
from ditto2.eval.melody import Transcriber

RATE = M.SAMPLE_RATE
TUNE = (60, 64, 67, 72, 71, 67, 64, 62, 65, 69, 72, 74, 72, 67)


def plucked(pitches, seconds=0.4):
    """Harmonic notes (partials 1-4 at 1/h) with a 5 ms attack and an exponential decay, one after another, over
    a faint noise floor (without one, the median onset strength is 0 and peakiness has no finite value)."""
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = np.minimum(t / 0.005, 1.0) * np.exp(-3.0 * t)
    notes = np.concatenate([envelope * sum(np.sin(2 * np.pi * 440 * 2 ** ((p - 69) / 12) * h * t) / h
                                           for h in (1, 2, 3, 4)) for p in pitches])
    return (0.2 * notes + 1e-3 * np.random.default_rng(1).standard_normal(notes.size)).astype(np.float32)


def wash(samples, seed=0):
    """White noise with a broad, smooth spectrum (a log-normal bump around 800 Hz) under one slow swell."""
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(samples))
    spectrum *= np.exp(-0.5 * np.log((np.fft.rfftfreq(samples, 1 / RATE) + 1) / 800) ** 2)
    noise = np.fft.irfft(spectrum, samples) * np.sin(np.pi * np.arange(samples) / samples)
    return (0.3 * noise / np.abs(noise).max()).astype(np.float32)


def test_every_measure_is_lower_for_a_wash_than_for_notes():
    notes = plucked(TUNE)
    transcriber = Transcriber()
    music, noise = musicality.clip_musicality(notes, transcriber), musicality.clip_musicality(wash(notes.size),
                                                                                             transcriber)
    assert set(music) == set(musicality.MEASURES)
    assert music["onset_peakiness"] > 2 * noise["onset_peakiness"]
    assert music["notes_per_clip"] >= 10 > noise["notes_per_clip"]
    assert music["peak_persistence"] > 0.8 > 0.5 > noise["peak_persistence"]


def test_peak_persistence_edge_cases():
    assert musicality.peak_persistence(np.zeros(RATE, dtype=np.float32)) == 0.0  # no strong peak at all
    with pytest.raises(InputError, match="shorter than two STFT frames"):
        musicality.peak_persistence(np.ones(1000, dtype=np.float32))


def test_notes_are_counted_per_clip_length():
    assert musicality.notes_per_clip(20, 2 * musicality.CLIP_SECONDS) == pytest.approx(10)
    assert musicality.notes_per_clip(20, 3.0) == 20  # a shorter clip keeps its count


def test_set_medians_and_kept_ratios():
    clips = [{"onset_peakiness": p, "notes_per_clip": n, "peak_persistence": s}
             for p, n, s in ((2.0, 10, 0.6), (4.0, 20, 0.8), (6.0, 30, 0.9))]
    summary = musicality.set_musicality(clips)
    assert summary["files"] == 3 and summary["median"]["notes_per_clip"] == 20
    assert summary["quartiles"]["onset_peakiness"] == [3.0, 5.0]
    kept = musicality.kept({**summary["median"], "fad": 3.0}, {"onset_peakiness": 8.0, "notes_per_clip": 0.0,
                                                              "peak_persistence": 0.8, "fad": 1.5})
    assert kept == {"onset_peakiness": 0.5, "notes_per_clip": None, "peak_persistence": 1.0, "fad": 2.0}
    assert musicality.kept({"fad": None}, {"fad": 1.0}) == {"fad": None}
