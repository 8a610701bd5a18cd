"""Melody accuracy: the scoring rules on hand-made arrays, then basic-pitch on synthetic note sequences."""
import numpy as np
import pytest

from ditto2.audio import mel as M
from ditto2.errors import InputError
from ditto2.eval import melody
from ditto2.features import melody_from_notes

RATE = M.SAMPLE_RATE
SCALE = (60, 62, 64, 65, 67, 69, 71, 72, 74, 72)  # C major up and a step back
NOTE_S = 0.4


def hz(pitch):
    return 440.0 * 2.0 ** ((np.asarray(pitch) - 69) / 12.0)


def sine_notes(pitches, note_s=NOTE_S, amp=0.3):
    t = np.arange(int(note_s * RATE)) / RATE
    return np.concatenate([amp * np.sin(2 * np.pi * hz(p) * t) for p in pitches]).astype(np.float32)


def frame_pitch(pitches, n_samples, note_s=NOTE_S):
    """The MIDI pitch sounding at each mel frame (frame f at sample 256 f)."""
    index = np.arange(n_samples // M.HOP) * M.HOP // int(note_s * RATE)
    return np.asarray(pitches)[index]


@pytest.fixture(scope="module")
def transcriber():
    return melody.Transcriber()


# --- scoring rules (no transcription) -----------------------------------------------------------

def test_top_pitch_uses_the_mel_frame_grid_and_keeps_the_highest_note():
    one = M.frames_to_seconds(1)
    pitch = melody.top_pitch([(0.0, 10 * one, 60), (5 * one, 8 * one, 67), (12.5 * one, 14 * one, 50)], 16)
    assert pitch.tolist() == [60] * 5 + [67] * 3 + [60] * 2 + [-1] * 3 + [50, -1, -1]


def test_frame_accuracy_skips_unvoiced_target_frames_and_counts_misses():
    estimate = np.array([60, 62, -1, 64, 76, -1])
    target = np.array([0, 2, 4, 4, -1, -1])  # frame 2 missed, frame 3 right, frame 4 octave-equivalent but unvoiced
    assert melody.frame_accuracy(estimate, target) == pytest.approx(3 / 4)
    notes = melody_from_notes("C4 D4", n_frames=6)
    assert melody.frame_accuracy(np.array([72, 72, 72, 51, 51, 51]), notes) == pytest.approx(0.5)  # octave ok


def test_raw_chroma_ignores_octaves_but_not_semitones():
    estimate = np.array([60, 64, 67, -1, 72])
    assert melody.raw_chroma_accuracy(estimate, hz([48, 76, 67, 60, 0]) * [1, 1, 1, 1, 0]) == pytest.approx(3 / 4)
    assert melody.raw_chroma_accuracy(estimate, hz([61, 65, 68, 61, 73])) == 0.0


def test_bad_targets_raise_input_errors():
    estimate = np.array([60, 62, 64])
    for target, match in [([0, 1], "expected 3 frames"), ([0, 12, 1], "pitch classes 0-11"),
                          ([-1, -1, -1], "no voiced"), (np.array([0.5, 1, 2]), "whole pitch classes")]:
        with pytest.raises(InputError, match=match):
            melody.frame_accuracy(estimate, target)
    for target, match in [([440.0], "expected 3 frames"), ([440, np.nan, 0], "NaN"), ([0, 0, -1], "no voiced")]:
        with pytest.raises(InputError, match=match):
            melody.raw_chroma_accuracy(estimate, target)
    with pytest.raises(InputError, match="give a pitch-class target"):
        melody.score_melody(np.zeros(2048, dtype=np.float32))


def test_bad_target_fails_before_transcribing():
    class Exploding:
        def top_pitch(self, wave):
            raise AssertionError("transcribed although the target was bad")

    with pytest.raises(InputError, match="expected 8 frames"):
        melody.score_melody(np.zeros(2048, dtype=np.float32), [0, 1], transcriber=Exploding())
    with pytest.raises(InputError, match="f0 target"):
        melody.score_melody(np.zeros(2048, dtype=np.float32), target_hz=[440.0], transcriber=Exploding())


# --- basic-pitch on synthetic audio ----------------------------------------------------------------

def test_note_sequence_scores_near_one_and_its_transposition_near_zero(transcriber):
    wave = sine_notes(SCALE)
    truth = frame_pitch(SCALE, wave.size)
    score = melody.score_melody(wave, truth % 12, target_hz=hz(truth) / 2, transcriber=transcriber)  # f0 an octave down
    assert score.accuracy > 0.85 and score.raw_chroma > 0.85
    assert score.frames == wave.size // 256 == score.voiced_frames and score.transcribed_frames > 0.85 * score.frames
    shifted = melody.frame_accuracy(score.estimate, (truth + 1) % 12)
    assert shifted < 0.1
    assert melody.raw_chroma_accuracy(score.estimate, hz(truth + 1)) < 0.1


def test_random_noise_scores_near_chance_or_below(transcriber):
    wave = (0.1 * np.random.default_rng(0).standard_normal(int(len(SCALE) * NOTE_S * RATE))).astype(np.float32)
    truth = frame_pitch(SCALE, wave.size)
    assert melody.score_melody(wave, truth % 12, transcriber=transcriber).accuracy < 0.2


def test_the_transcriber_remembers_recent_clips_and_tells_them_apart(transcriber, monkeypatch):
    import basic_pitch.inference as inference

    calls = []
    real = inference.predict
    monkeypatch.setattr(inference, "predict", lambda *a, **k: calls.append(1) or real(*a, **k))
    wave = sine_notes([60, 64, 67], note_s=0.5)
    first = transcriber.notes(wave)
    assert transcriber.notes(wave.copy()) == first and len(calls) == 1  # the same clip: transcribed once
    transcriber.notes(sine_notes([62, 65, 69], note_s=0.5))
    assert len(calls) == 2

