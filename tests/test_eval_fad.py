"""FAD: the distance itself on Gaussians with known answers, the set plumbing on synthetic audio."""
import numpy as np
import pytest
import soundfile as sf

from ditto2.errors import InputError
from ditto2.eval import fad as F
from ditto2.eval.embedders import LogMelProjection

RATE = 22050


def sines(freqs, seconds=0.5, amp=0.3, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    return [(amp * np.sin(2 * np.pi * f * t) + noise * rng.standard_normal(t.size)).astype(np.float32) for f in freqs]


class Constant(F.Embedder):
    """Returns whatever array it was built with, for every file."""
    name = "constant"

    def __init__(self, out):
        self.out = out

    def embed(self, wave):
        return self.out


# --- the distance ------------------------------------------------------------------------------------

def test_frechet_matches_closed_form_for_mean_shift_and_scaled_covariance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 4))
    assert F.frechet_distance(a, a) == 0.0  # rounding noise around 0 is reported as 0, never negative
    # Same covariance, mean shifted by 1 in each of 4 dims -> 4.
    assert F.frechet_distance(a, a + 1.0) == pytest.approx(4.0, rel=1e-9)
    # N(0, I) vs N(0, 4I) in 4 dims: tr(I + 4I - 2*2I) = 4.
    assert F.frechet_from_stats(np.zeros(4), np.eye(4), np.zeros(4), 4 * np.eye(4)) == pytest.approx(4.0)


def test_frechet_agrees_with_scipy_sqrtm_when_well_conditioned():
    from scipy import linalg

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(300, 6)), rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 0.5
    mu_a, cov_a = F.gaussian(a)
    mu_b, cov_b = F.gaussian(b)
    root = linalg.sqrtm(cov_a @ cov_b).real
    expected = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * root)
    assert F.frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)


def test_frechet_stays_real_and_non_negative_when_rank_deficient():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(5, 40)), rng.normal(size=(5, 40))  # 5 frames in 40 dims: singular covariances
    value = F.frechet_distance(a, b)
    assert np.isfinite(value) and value > 0
    assert F.frechet_distance(a, a) == 0.0
    with pytest.raises(InputError, match="n >= 2"):
        F.frechet_distance(a[:1], b)


def test_fad_inf_recovers_the_large_sample_distance():
    rng = np.random.default_rng(3)
    ref = rng.normal(size=(4000, 8))
    ev = rng.normal(size=(2000, 8)) + 0.5  # true FAD = 8 * 0.25 = 2
    result = F.fad_inf(ref, ev, steps=10, seed=0)
    assert result.value == pytest.approx(2.0, abs=0.15) and result.slope > 0
    assert result.sizes[0] == 400 and result.sizes[-1] == 2000
    with pytest.raises(InputError, match="at least 10"):
        F.fad_inf(ref, ev[:5])


# --- sets of audio --------------------------------------------------------------------------------------

def test_fad_of_a_set_against_itself_is_zero_and_grows_with_a_shift():
    emb = LogMelProjection(dim=8)
    ref = sines([220, 247, 262, 294, 330, 349])
    same = F.fad(ref, ref, emb)
    assert same.fad == 0.0
    assert same.reference.files == 6 and same.reference.frames == 6 * (RATE // 2 // 256)
    assert same.reference.seconds == pytest.approx(3.0) and same.dim == 8 and same.embedder == emb.name
    gains = [1.0, 0.5, 0.1]  # a set of the same tunes, quieter and quieter
    scores = [F.fad(ref, [w * g for w in sines([220, 247, 262, 294, 330, 349], seed=9)], emb).fad for g in gains]
    assert scores[0] < scores[1] < scores[2]


def test_tiny_embedder_is_deterministic():
    wave = sines([440])[0]
    np.testing.assert_array_equal(LogMelProjection(seed=3).embed(wave), LogMelProjection(seed=3).embed(wave))
    assert not np.allclose(LogMelProjection(seed=3).embed(wave), LogMelProjection(seed=4).embed(wave))


def test_fad_reads_folders_and_files_of_different_lengths(tmp_path):
    emb = LogMelProjection(dim=8)
    for name, wave in zip("abc", sines([220, 330, 440], seconds=0.5) + []):
        sf.write(tmp_path / f"{name}.wav", wave, RATE)
    sf.write(tmp_path / "d.wav", sines([550], seconds=1.0)[0], RATE)  # longer: contributes more frames
    result = F.fad(tmp_path, [tmp_path / "a.wav", tmp_path / "d.wav"], emb, with_inf=False)
    assert result.reference.files == 4 and result.reference.seconds == pytest.approx(2.5, abs=1e-3)
    assert result.evaluated.frames == (RATE // 2) // 256 + RATE // 256
    assert result.to_dict()["evaluated"]["files"] == 2


def test_fad_resamples_files_at_another_rate_but_not_a_mix_of_rates(tmp_path):
    emb = LogMelProjection(dim=8)
    wave = sines([440], seconds=0.5)[0]
    sf.write(tmp_path / "a16.wav", wave[::2], 11025)
    sf.write(tmp_path / "b16.wav", wave[1::2], 11025)
    sf.write(tmp_path / "c22.wav", wave, RATE)
    ok = F.fad([tmp_path / "a16.wav"], [tmp_path / "b16.wav"], emb)
    assert ok.reference.seconds == pytest.approx(0.5, abs=1e-3)
    with pytest.raises(InputError, match="different sample rates"):
        F.fad([tmp_path / "a16.wav"], [tmp_path / "c22.wav"], emb)


def test_bad_sets_raise_input_errors(tmp_path):
    emb = LogMelProjection(dim=8)
    good = sines([220, 330])
    with pytest.raises(InputError, match="empty"):
        F.fad([], good, emb)
    with pytest.raises(InputError, match="no audio files"):
        F.fad(tmp_path, good, emb)
    with pytest.raises(InputError, match="not found"):
        F.fad(tmp_path / "missing", good, emb)
    with pytest.raises(InputError, match="not found"):
        F.fad([tmp_path / "missing.wav"], good, emb)
    (tmp_path / "garbage.wav").write_bytes(b"not audio at all")
    with pytest.raises(InputError, match="cannot read audio file"):
        F.fad([tmp_path / "garbage.wav"], good, emb)
    with pytest.raises(InputError, match="single waveform"):
        F.fad(good[0], good, emb)
    with pytest.raises(InputError, match="NaN or infinite samples"):
        F.fad([np.full(4096, np.nan, dtype=np.float32)], good, emb)
    with pytest.raises(InputError, match="too short"):
        F.fad([np.zeros(100, dtype=np.float32)], good, emb)


def test_bad_embeddings_raise_input_errors():
    good = sines([220, 330])
    with pytest.raises(InputError, match="at least 2 embedding frames"):
        F.fad([good[0]], good, Constant(np.ones((1, 4))))
    with pytest.raises(InputError, match="NaN or infinite"):
        F.fad(good, good, Constant(np.array([[0.0, np.nan], [1.0, 2.0]])))
    with pytest.raises(InputError, match=r"expected \(frames, dim\)"):
        F.fad(good, good, Constant(np.ones(4)))
