import json

import numpy as np

from conftest import tone
from ditto2.eval import quality


def test_frechet_distance_is_zero_for_same_set_and_grows_with_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 5))
    assert abs(quality.frechet_distance(a, a)) < 1e-3
    near = quality.frechet_distance(a, rng.normal(size=(200, 5)))
    far = quality.frechet_distance(a, rng.normal(size=(200, 5)) + 2.0)
    assert 0 <= near < far and abs(far - 20) < 3  # mean shift 2 in 5 dims -> 5 * 4


def test_onsets_and_notes_separate_music_from_noise():
    notes = np.concatenate([tone([f], seconds=0.4) for f in (262, 294, 330, 349, 392, 440, 494, 523) * 2])
    noise = 0.1 * np.random.default_rng(0).standard_normal(len(notes)).astype(np.float32)
    assert quality.onset_peakiness(notes) > 2 * quality.onset_peakiness(noise)
    counter = quality.NoteCounter()
    assert counter(notes) >= 10 > counter(noise)
    assert quality.clip_features(notes).shape == (54,)


def _set(name, fd, peak, notes):
    return quality.SetScore(name, 8, fd, peak, notes, 1.0, (peak - 1, peak + 1), (notes - 5, notes + 5))


def test_gate_passes_inside_real_quartiles_and_names_each_miss():
    real, noise = _set("real", 8.0, 6.0, 34), _set("noise", 25.0, 1.3, 9)
    assert quality.gate_misses(_set("good", 12.0, 5.5, 30), real, noise) == []
    misses = quality.gate_misses(_set("wash", 30.0, 2.0, 18), real, noise)
    assert len(misses) == 3
    assert "peakiness" in misses[0] and "notes" in misses[1] and "FD-54" in misses[2]
    assert "| 5.50 (4.5–6.5) | 30 (25–35) |" in _set("good", 12.0, 5.5, 30).row()


def test_feature_spread_reads_how_alike_the_clips_are():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(64, 54))
    assert 0.7 < quality.feature_spread(rng.normal(size=(64, 54)), reference) < 1.4
    alike = rng.normal(size=(64, 54)) * 0.3 + rng.normal(size=54)  # shifted, and a third as varied
    assert quality.feature_spread(alike, reference) < 0.15


def test_quality_figure_gates_the_student_decodes(tiny_models_dir, tiny_dataset, tmp_path):
    import json

    from ditto2.eval.teacher_report import teacher_quality

    scores = teacher_quality(str(tiny_models_dir), str(tiny_dataset), tmp_path, n=3, steps=2, student="ctd",
                             student_steps=(1, 2))
    names = [s.name for s in scores]
    assert "CTD student, unconditional, 1-step decode → Griffin-Lim" in names
    assert "CTD student, unconditional, 2-step decode → Griffin-Lim" in names
    saved = json.loads((tmp_path / "teacher-quality.json").read_text())
    assert {n for n in saved["gate_misses"] if n.startswith("CTD student")} == {
        "CTD student, unconditional, 1-step decode → Griffin-Lim", "CTD student, unconditional, 2-step decode → Griffin-Lim"}
    assert "CTD student, unconditional, 2-step decode" in (tmp_path / "teacher-quality.md").read_text()


def test_quality_figure_through_the_neural_vocoder(tiny_models_dir, tiny_dataset, tmp_path):
    import shutil

    from ditto2.audio.neural_vocoder import VocoderConfig, VocoderNet
    from ditto2.eval.teacher_report import teacher_quality
    from ditto2.models import VOCODER_FILE

    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    VocoderNet(VocoderConfig(dim=16, hidden=32, blocks=1)).save_pretrained(models / VOCODER_FILE)
    scores = {s.name: s for s in teacher_quality(str(models), str(tiny_dataset), tmp_path / "q", n=3, steps=2,
                                                   vocoder="neural")}
    assert "real validation mels → neural vocoder" in scores and not any("Griffin-Lim" in n for n in scores)
    gate = json.loads((tmp_path / "q" / "teacher-quality.json").read_text())["gate_misses"]
    assert set(gate) == {n for n in scores if n.startswith("teacher")}
