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
