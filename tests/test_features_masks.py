"""Paint and loop masks: positions, equal-length pairs, and range errors that name the argument."""
import numpy as np
import pytest

from ditto2.audio import mel as M
from ditto2.errors import InputError
from ditto2.features import inpainting_mask, looping_masks, outpainting_masks, self_looping_masks

T = M.CLIP_FRAMES
f = M.seconds_to_frames


def _where(mask):
    idx = np.flatnonzero(mask)
    return (int(idx[0]), int(idx[-1]) + 1, idx.size) if idx.size else None


def test_inpainting_context_on_both_sides():
    mask = inpainting_mask(2.0, 4.0, context_s=1.0)
    assert mask.shape == (T,) and mask.dtype == bool
    assert _where(mask[: f(2.0)]) == (f(1.0), f(2.0), f(1.0))
    assert not mask[f(2.0):f(4.0)].any()
    assert mask[f(4.0):].sum() == f(1.0) and mask[f(4.0)] and not mask[f(5.0)]
    full = inpainting_mask(2.0, 4.0)
    assert full.sum() == T - (f(4.0) - f(2.0))
    assert inpainting_mask(0.0, 3.0)[: f(3.0)].sum() == 0  # gap at the start: context on one side only


@pytest.mark.parametrize("args, match", [
    ((-1.0, 2.0), "gap_start_s"), ((2.0, 1.0), "gap_end_s"), ((2.0, 2.0), "gap_end_s"), ((1.0, 9.0), "gap_end_s"),
    ((0.0, T / M.FRAME_RATE), "whole clip"), ((1.0, 2.0, 0.0), "context_s"), ((1.0, 2.0, float("nan")), "context_s"),
    (("1", 2.0), "gap_start_s"),
])
def test_bad_inpainting_ranges(args, match):
    with pytest.raises(InputError, match=match):
        inpainting_mask(*args)


def test_outpainting_and_looping_are_mirror_images():
    gen, ref = outpainting_masks(2.0, ref_frames=1000)
    assert gen.shape == (T,) and ref.shape == (1000,) and gen.sum() == ref.sum() == f(2.0)
    assert _where(gen) == (0, f(2.0), f(2.0)) and _where(ref) == (1000 - f(2.0), 1000, f(2.0))
    gen, ref = looping_masks(1.0)
    assert _where(gen) == (T - f(1.0), T, f(1.0)) and _where(ref) == (0, f(1.0), f(1.0))


@pytest.mark.parametrize("make", [outpainting_masks, looping_masks])
@pytest.mark.parametrize("overlap, match", [(0.0, "overlap_s"), (6.0, "overlap_s"), (None, "overlap_s")])
def test_bad_overlaps(make, overlap, match):
    with pytest.raises(InputError, match=match):
        make(overlap)
    with pytest.raises(InputError, match="ref_frames"):
        make(1.0, ref_frames=0)


def test_self_looping_end_matches_start():
    end, start = self_looping_masks(0.5)
    assert _where(start) == (0, f(0.5), f(0.5)) and _where(end) == (T - f(0.5), T, f(0.5))
    end, start = self_looping_masks(0.5, loop_s=4.0)
    assert _where(end) == (f(4.0), f(4.0) + f(0.5), f(0.5)) and end.sum() == start.sum()


@pytest.mark.parametrize("args, match", [((0.0,), "overlap_s"), ((0.5, 5.9), "loop_s"), ((1.0, 0.5), "loop_s"),
                                         ((0.5, -2.0), "loop_s"), ((4.0,), "loop_s, overlap_s")])
def test_bad_self_loops(args, match):
    with pytest.raises(InputError, match=match):
        self_looping_masks(*args)
