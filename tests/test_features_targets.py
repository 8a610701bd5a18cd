"""Target builders: intensity curves, phrase diagrams, reference SSMs and melodies; bad input names itself."""
import json
import sys

import numpy as np
import pytest
import soundfile as sf

from ditto2.audio import mel as M
from ditto2.errors import InputError
from ditto2.features import (intensity_curve, melody_from_audio, melody_from_midi, melody_from_notes,
                             structure_from_audio, structure_from_string, structure_repeats_from_string)
from ditto2.features.melody_targets import parse_note

SR = M.SAMPLE_RATE


# --- intensity curves --------------------------------------------------------------------------

def test_curve_spreads_values_evenly():
    curve = intensity_curve([-40, -10, -40], n_frames=101)
    assert curve.shape == (101,) and curve.dtype == np.float32
    assert curve[0] == -40 and curve[50] == -10 and curve[100] == -40 and curve[25] == pytest.approx(-25)
    np.testing.assert_array_equal(intensity_curve([-20.5], n_frames=7), np.full(7, -20.5, np.float32))


def test_curve_from_json(tmp_path):
    (tmp_path / "list.json").write_text(json.dumps([-30, -10]))
    (tmp_path / "dict.json").write_text(json.dumps({"db": [-30, -10]}))
    a, b = intensity_curve(tmp_path / "list.json", 11), intensity_curve(str(tmp_path / "dict.json"), 11)
    np.testing.assert_allclose(a, np.linspace(-30, -10, 11), atol=1e-5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, intensity_curve({"db": [-30, -10]}, 11))


@pytest.mark.parametrize("values, match", [
    ([], "empty"), ([-10, float("nan")], "value 1"), ([float("inf")], "value 0"), ([-10, "loud"], "value 1"),
    ([-10, True], "value 1"), ([-90], "between"), ([3], "between"), (-10, "list"), ({"level": [-10]}, "db"),
    ({"db": []}, "empty"),
])
def test_bad_curves_are_named(values, match):
    with pytest.raises(InputError, match=f"intensity curve.*{match}"):
        intensity_curve(values)


def test_bad_curve_files_are_named(tmp_path):
    with pytest.raises(InputError, match="intensity curve file.*not found"):
        intensity_curve(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("[-10, ")
    with pytest.raises(InputError, match="bad.json.*JSON"):
        intensity_curve(tmp_path / "bad.json")
    (tmp_path / "nodb.json").write_text('{"level": [-10]}')
    with pytest.raises(InputError, match="nodb.json.*db"):
        intensity_curve(tmp_path / "nodb.json")
    (tmp_path / "nan.json").write_text('{"db": [-10, NaN]}')
    with pytest.raises(InputError, match="nan.json.*value 1"):
        intensity_curve(tmp_path / "nan.json")


# --- structure ---------------------------------------------------------------------------------

def test_abba_target_blocks():
    sharp = structure_from_string("ABBA", smooth_s=0)
    assert sharp.shape == (64, 64)
    np.testing.assert_array_equal(sharp, sharp.T)
    blocks = sharp.reshape(4, 16, 4, 16).mean(axis=(1, 3))
    np.testing.assert_array_equal(blocks, [[1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1]])
    smooth = structure_from_string("ABBA")
    np.testing.assert_allclose(smooth, smooth.T, atol=1e-6)
    assert smooth.min() >= 0 and smooth.max() <= 1
    inner = np.ix_(range(4, 12), range(52, 60))  # A-vs-A block, away from section edges
    assert np.allclose(smooth[inner], 1, atol=1e-3) and np.allclose(smooth[4:12, 20:28], 0, atol=1e-3)
    assert 0.05 < smooth[15, 16] < 0.95  # the edge is softened
    assert structure_from_string("AB", n_frames=100, pool=1).shape == (100, 100)


def test_repeats_ask_a_repeat_to_follow_its_original_in_step_and_leave_sections_free_to_move():
    target, mask = structure_repeats_from_string("AABA", n_frames=64, pool=4)  # 16 cells, 4 per section
    assert target.shape == mask.shape == (16, 16) and np.array_equal(target, target.T)
    assert np.all(np.diag(target) == 1) and target[0, 4] == target[1, 13] == target[7, 15] == 1  # repeats in step
    assert target[1, 14] == 0 and mask[1, 14] == 0  # same letter, out of step: free
    assert mask[0, 1] == 0 and mask[0, 8] == 1 and target[0, 8] == 0  # inside a section free; A against B: differ
    features = np.random.default_rng(0).normal(size=(16, 5))  # music that moves every cell ...
    features[4:8] = features[12:16] = features[0:4]  # ... and repeats A note for note
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    ssm = unit @ unit.T
    blocks = structure_from_string("AABA", n_frames=64, pool=4, smooth_s=0)
    repeat_error = np.sum(mask * (ssm - target) ** 2) / mask.sum()
    assert repeat_error < 0.5 * np.mean((ssm - blocks) ** 2)  # the block target asks it to stand still instead


@pytest.mark.parametrize("diagram", ["", "   ", "AB1", "abba", "A B", "ABBA!", None, 42, "A" * 65])
def test_bad_structure_strings_are_named(diagram):
    with pytest.raises(InputError, match="structure"):
        structure_from_string(diagram)


def test_structure_from_audio_file(tmp_path):
    rng = np.random.default_rng(0)
    tone, hiss = np.sin(2 * np.pi * 220 * np.arange(SR) / SR), rng.standard_normal(SR)
    wave = 0.1 * np.concatenate([tone, hiss, tone, hiss, tone, hiss])  # ABABAB over 6 s, stretched to the clip
    sf.write(tmp_path / "ref.wav", wave, SR)
    got = structure_from_audio(tmp_path / "ref.wav")
    assert got.shape == (64, 64)
    assert np.corrcoef(got.ravel(), structure_from_string("ABABAB", smooth_s=0).ravel())[0, 1] > 0.9
    with pytest.raises(InputError, match="structure reference audio.*not found"):
        structure_from_audio(tmp_path / "missing.wav")
    with pytest.raises(InputError, match="structure reference audio.*short"):
        structure_from_audio(np.zeros(100))


# --- melody: notes -----------------------------------------------------------------------------

def test_notes_give_pitch_classes_in_proportion():
    melody = melody_from_notes("C4 D4 E4:2 R G4", n_frames=600)
    runs = [(int(p), int(n)) for p, n in _runs(melody.pitch)]
    assert runs == [(60, 100), (62, 100), (64, 200), (-1, 100), (67, 100)]
    assert list(np.unique(melody.pitch_class[melody.voiced])) == [0, 2, 4, 7]
    assert (melody.pitch_class[~melody.voiced] == -1).all() and len(melody) == 600


@pytest.mark.parametrize("token, pitch", [("C4", 60), ("Eb4", 63), ("F#3", 54), ("Bb2:0.5", 46), ("c#5", 73),
                                          ("Cb4", 59), ("B#3", 60), ("C-1", 0), ("G9", 127), ("Ebb4", 62)])
def test_note_names(token, pitch):
    assert parse_note(token)[0] == pitch


@pytest.mark.parametrize("notes, match", [
    ("", "expected notes"), ("R R:2", "empty"), ("C4 H4", "'H4'"), ("C4 C", "'C'"), ("C4:0", "more than 0"),
    ("C4:x", "'C4:x'"), ("G#9", "MIDI range"), ("C4 E#", "'E#'"), (None, "expected notes"),
])
def test_bad_notes_are_named(notes, match):
    with pytest.raises(InputError, match=f"melody.*{match}"):
        melody_from_notes(notes)


def _runs(values):
    edges = np.flatnonzero(np.diff(values)) + 1
    return [(chunk[0], chunk.size) for chunk in np.split(values, edges)]


# --- melody: MIDI ------------------------------------------------------------------------------

def _midi(path, voices, drums=False):
    import pretty_midi

    midi = pretty_midi.PrettyMIDI()
    for notes in voices:
        inst = pretty_midi.Instrument(program=0, is_drum=drums)
        inst.notes = [pretty_midi.Note(velocity=90, pitch=p, start=s, end=e) for p, s, e in notes]
        midi.instruments.append(inst)
    midi.write(str(path))
    return path


def test_midi_top_voice(tmp_path):
    tune = [(72, 0.0, 1.0), (74, 1.0, 2.0)]
    bass = [(48, 0.0, 3.0)]
    path = _midi(tmp_path / "song.mid", [bass, tune])
    melody = melody_from_midi(path, n_frames=300)
    second = M.seconds_to_frames(1.0)
    assert (melody.pitch[:second] == 72).all() and (melody.pitch[second + 1:2 * second] == 74).all()
    assert (melody.pitch[2 * second + 1:M.seconds_to_frames(3.0)] == 48).all()
    assert (melody.pitch[M.seconds_to_frames(3.0) + 1:] == -1).all()


def test_bad_midi_is_named(tmp_path):
    with pytest.raises(InputError, match="melody MIDI file.*not found"):
        melody_from_midi(tmp_path / "missing.mid")
    (tmp_path / "junk.mid").write_bytes(b"not midi at all")
    with pytest.raises(InputError, match="junk.mid.*MIDI"):
        melody_from_midi(tmp_path / "junk.mid")
    with pytest.raises(InputError, match="drums.mid.*empty"):
        melody_from_midi(_midi(tmp_path / "drums.mid", [[(36, 0.0, 1.0)]], drums=True))
    with pytest.raises(InputError, match="late.mid.*empty"):
        melody_from_midi(_midi(tmp_path / "late.mid", [[(60, 10.0, 11.0)]]))


# --- melody: audio -----------------------------------------------------------------------------

def test_melody_from_audio(tmp_path):
    notes, seg = [60, 64, 67, 72], int(0.35 * SR)
    t = np.arange(seg) / SR
    wave = np.concatenate([sum(np.sin(2 * np.pi * k * 440 * 2 ** ((p - 69) / 12) * t) / k for k in (1, 2, 3))
                           for p in notes] + [np.zeros(seg)])
    sf.write(tmp_path / "hum.wav", 0.2 * wave, SR)
    melody = melody_from_audio(tmp_path / "hum.wav", n_frames=200)
    truth = np.concatenate([np.repeat(notes, seg), np.full(200 * M.HOP - 4 * seg, -1)])[::M.HOP]
    voiced = melody.voiced
    assert len(melody) == 200 and voiced[:int(4 * seg / M.HOP) - 5].mean() > 0.9
    assert (melody.pitch[voiced] == truth[voiced]).mean() > 0.9
    assert not voiced[int(5 * seg / M.HOP) + 5:].any()  # the silent tail and the padding past the file
    assert "torchaudio" not in sys.modules  # the import stand-in was removed
    with pytest.raises(InputError, match="melody audio file.*not found"):
        melody_from_audio(tmp_path / "missing.wav")
    with pytest.raises(InputError, match="melody audio.*empty"):
        melody_from_audio(np.zeros(SR), n_frames=50)
