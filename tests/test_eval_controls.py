"""Control adherence on final audio: intensity, structure, paint/loop context and seams."""
import numpy as np
import pytest

from ditto2.audio import mel as M
from ditto2.errors import InputError
from ditto2.eval import controls as C
from ditto2.features import intensity_curve, structure_from_string, structure_repeats_from_string

RATE = M.SAMPLE_RATE


def sine(freq, seconds, amp=0.3):
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def crescendo(seconds=3.0, start_db=-40.0, end_db=-10.0):
    """A 440 Hz sine whose RMS level rises linearly in dB, and that level at every mel frame."""
    n = int(seconds * RATE)
    level = np.linspace(start_db, end_db, n)
    wave = (10 ** (level / 20) * np.sqrt(2) * np.sin(2 * np.pi * 440 * np.arange(n) / RATE)).astype(np.float32)
    return wave, level[np.arange(n // M.HOP) * M.HOP]


def timbre(kind, seconds, seed):
    """Two contrasting sections: a mellow low tone, or bright noise."""
    if kind == "A":
        return sine(196, seconds) + sine(392, seconds, 0.1)
    return (0.05 * np.random.default_rng(seed).standard_normal(int(seconds * RATE))).astype(np.float32)


def built(diagram, seconds=1.0):
    return np.concatenate([timbre(k, seconds, i) for i, k in enumerate(diagram)])


# --- intensity ---------------------------------------------------------------------------------------

def test_crescendo_matches_its_own_curve_and_not_a_flat_one():
    wave, level = crescendo()
    own = C.intensity_error(wave, level)
    assert own.mse_db2 < 0.5 and own.pearson > 0.99 and own.frames == level.size
    flat = C.intensity_error(wave, intensity_curve([-25.0], n_frames=level.size))
    assert flat.mse_db2 > 50 and flat.pearson is None  # r is undefined against a flat target
    falling = C.intensity_error(wave, level[::-1])
    assert falling.pearson < -0.99 and falling.mse_db2 > 200
    assert len(own.to_dict()["achieved_db"]) == level.size


def test_intensity_bad_targets():
    wave, level = crescendo(seconds=1.0)
    with pytest.raises(InputError, match=f"expected {level.size} frames"):
        C.intensity_error(wave, level[:-1])
    with pytest.raises(InputError, match="NaN"):
        C.intensity_error(wave, np.where(np.arange(level.size) == 3, np.nan, level))
    with pytest.raises(InputError, match=r"\(frames,\) curve"):
        C.intensity_error(wave, level[None])
    with pytest.raises(InputError, match="NaN or infinite samples"):
        C.intensity_error(np.full_like(wave, np.inf), level)


# --- structure ---------------------------------------------------------------------------------------

def test_abab_clip_matches_an_abab_target_better_than_aabb():
    wave = built("ABAB")
    n_frames = wave.size // M.HOP
    right = C.structure_error(wave, structure_from_string("ABAB", n_frames=n_frames))
    wrong = C.structure_error(wave, structure_from_string("AABB", n_frames=n_frames))
    assert right.mse < 0.1 and wrong.mse > 4 * right.mse  # measured 0.053 vs 0.44
    assert right.size == -(-n_frames // 8)
    assert right.r > 0.8 and wrong.r < 0.2  # the form is there, or not, whatever the contrast
    assert C.structure_error(wave, np.ones_like(right.achieved)).r is None  # "AAAA" has no form to correlate


def test_a_structure_mask_scores_only_the_cells_it_keeps():
    wave = built("ABAB")
    n_frames = wave.size // M.HOP
    target, mask = structure_repeats_from_string("ABAB", n_frames=n_frames)
    scored = C.structure_error(wave, target, mask=mask)
    scrambled = np.where(mask > 0, target, 1.0 - target)  # change only the cells the mask leaves free
    assert C.structure_error(wave, scrambled, mask=mask).mse == pytest.approx(scored.mse)
    assert C.structure_error(wave, scrambled).mse != pytest.approx(C.structure_error(wave, target).mse)
    with pytest.raises(InputError, match="mask"):
        C.structure_error(wave, target, mask=np.zeros_like(mask))


def test_structure_bad_targets():
    wave = built("AB")
    with pytest.raises(InputError, match="SSM of shape"):
        C.structure_error(wave, np.zeros((3, 3)))
    n = -(-(wave.size // M.HOP) // 8)
    with pytest.raises(InputError, match="NaN"):
        C.structure_error(wave, np.full((n, n), np.nan))


# --- paint / loop context --------------------------------------------------------------------------

def test_context_error_looks_only_inside_the_mask():
    ref = built("AB")
    gen = np.concatenate([ref[: ref.size // 2], timbre("A", 1.0, 0)])  # second half replaced
    half = ref.size // M.HOP // 2
    mask = np.arange(ref.size // M.HOP) < half - 2  # context: the untouched first half
    assert C.context_error_db(gen, ref, mask) < 1e-6
    assert C.context_error_db(gen, ref, ~mask) > 10
    # Outpainting-style pair: the first frames of gen against later frames of a longer reference
    # (the shared audio starts on a frame boundary there, at frame 86).
    longer = np.concatenate([timbre("B", 1.0, 5)[: 86 * M.HOP], ref[: ref.size // 2]])
    ref_mask = np.zeros(longer.size // M.HOP, dtype=bool)
    inner = mask & (np.arange(mask.size) >= 2)  # frames 0-1 reach back past gen's start (reflect padding)
    ref_mask[88: 88 + inner.sum()] = True
    assert C.context_error_db(gen, longer, inner, ref_mask) < 1e-6
    assert C.context_error_db(gen, longer, inner, np.roll(ref_mask, -60)) > 5


def test_context_bad_masks():
    ref = built("AB")
    n = ref.size // M.HOP
    with pytest.raises(InputError, match="boolean mask"):
        C.context_error_db(ref, ref, np.ones(n))
    with pytest.raises(InputError, match=f"expected {n} frames"):
        C.context_error_db(ref, ref, np.ones(n - 1, dtype=bool))
    with pytest.raises(InputError, match="selects no frames"):
        C.context_error_db(ref, ref, np.zeros(n, dtype=bool))
    with pytest.raises(InputError, match="same number"):
        C.context_error_db(ref, ref, np.arange(n) < 10, np.arange(n) < 20)


# --- seams ----------------------------------------------------------------------------------------------

def test_an_abrupt_join_stands_out_against_real_music_and_a_smooth_one_does_not():
    real = [built("ABAB", seconds=0.5), built("BABA", seconds=0.5)]
    stats = C.real_jumps(real, per_clip=64, seed=0)
    quiet, loud = sine(330, 1.0, amp=0.01), sine(330, 1.0, amp=0.3)  # +29.5 dB at the join
    boundary = quiet.size // M.HOP
    jump = C.seam_score(np.concatenate([quiet, loud]), boundary, stats)
    assert jump.loudness_db == pytest.approx(29.5, abs=1.0) and jump.loudness_percentile > 90
    assert jump.loudness_ratio > 3 and jump.flux_db > 10
    smooth = C.seam_score(sine(330, 2.0), boundary, real)
    assert smooth.loudness_db < 0.1 and smooth.flux_db < 0.5 and smooth.flux_percentile < 10
    assert smooth.real_samples == 128 and set(smooth.to_dict()) >= {"loudness_ratio", "flux_ratio"}


def test_a_join_is_also_judged_against_the_music_around_it_so_a_wash_cannot_pass_for_smooth():
    real = [built("ABAB", seconds=0.5), built("BABA", seconds=0.5)]
    stats = C.real_jumps(real, per_clip=64, seed=0)
    wash = np.concatenate([sine(330, 1.0, amp=0.1), sine(350, 1.0, amp=0.1)])  # a steady tone that slides once
    boundary = RATE // M.HOP
    joined = C.seam_score(wash, boundary, stats)
    assert joined.flux_ratio < 1  # smaller than real music's jumps: "smooth" by the real-music yardstick ...
    assert joined.own_flux_ratio > 3  # ... yet the one jump in a clip that has none elsewhere
    inside = C.seam_score(np.concatenate(real), real[0].size // M.HOP + 7, stats)  # a frame inside real music
    assert inside.own_flux_ratio < 2 and inside.to_dict()["own_flux_ratio"] == inside.own_flux_ratio


def test_loop_seam_of_a_whole_number_of_periods_is_invisible():
    period = 25600  # 100 frames and exactly 512 cycles of 441 Hz
    tone = sine(441, period / RATE)
    doubled, frame = C.loop_wave(tone)
    assert frame == period // M.HOP and doubled.size == 2 * period
    assert C.seam_jump(doubled, frame).flux_db < 0.5
    cut, frame = C.loop_wave(np.concatenate([tone[: period // 2], 0.01 * tone[period // 2:]]))
    assert C.seam_jump(cut, frame).loudness_db > 20  # the quiet end meets the loud start


def test_seam_bad_input():
    wave = sine(330, 0.5)
    n = wave.size // M.HOP
    for frame in (0, 1, n - 2, 3.5):
        with pytest.raises(InputError, match="seam frame"):
            C.seam_jump(wave, frame)
    with pytest.raises(InputError, match="empty"):
        C.real_jumps([])
    with pytest.raises(InputError, match="too short"):
        C.real_jumps([wave[:1024]])
