"""Time masks over mel frames for the paint and loop controls (DITTO §4, App. E).

Every mask is a (frames,) bool numpy array, True where the loss looks. Paired masks always hold
the same number of True frames, in time order, so ``x[..., a]`` and ``y[..., b]`` line up.
Seconds become frames with ``ditto2.audio.mel.seconds_to_frames`` (rounded, ~86 frames per second).
"""
from __future__ import annotations

import numpy as np

from ditto2.audio import mel as M
from ditto2.errors import InputError
from ditto2.features._checks import positive_int, real


MAX_SECONDS = 86400.0  # a day: beyond it a frame count overflows long before any clip could be that long


def _frames(seconds, name: str) -> int:
    seconds = real(seconds, name, minimum=0.0, strict=True)
    if seconds > MAX_SECONDS:
        raise InputError(f"{name}: {seconds:g} s is longer than any clip could be")
    frames = M.seconds_to_frames(seconds)
    if frames < 1:
        raise InputError(f"{name}: {seconds:g} s is shorter than one frame ({M.frames_to_seconds(1) * 1000:.1f} ms)")
    return frames


def _span(n_frames: int, start: int, stop: int) -> np.ndarray:
    mask = np.zeros(n_frames, dtype=bool)
    mask[start:stop] = True
    return mask


def _overlap(overlap_s, n_frames: int, ref_frames: int) -> int:
    overlap = _frames(overlap_s, "overlap_s")
    if overlap >= min(n_frames, ref_frames):
        limit = M.frames_to_seconds(min(n_frames, ref_frames))
        raise InputError(f"overlap_s: {overlap_s:g} s must be shorter than the clip and the reference ({limit:.2f} s)")
    return overlap


def inpainting_mask(gap_start_s, gap_end_s, context_s=None, n_frames: int = M.CLIP_FRAMES) -> np.ndarray:
    """Context frames on both sides of the gap [gap_start_s, gap_end_s); ``context_s`` None = all of them.

    The generation must match the reference there (same mask for both); the gap itself is free.
    """
    n_frames = positive_int(n_frames, "n_frames")
    duration = M.frames_to_seconds(n_frames)
    start = M.seconds_to_frames(real(gap_start_s, "gap_start_s", minimum=0.0))
    end = M.seconds_to_frames(real(gap_end_s, "gap_end_s", minimum=0.0))
    if gap_end_s > duration + 1e-9:
        raise InputError(f"gap_end_s: {gap_end_s:g} s lies beyond the end of the clip ({duration:.2f} s)")
    if end <= start:
        raise InputError(f"gap_end_s: the gap [{gap_start_s:g}, {gap_end_s:g}) s must end at least one frame "
                         "after gap_start_s")
    context = n_frames if context_s is None else _frames(context_s, "context_s")
    mask = _span(n_frames, max(0, start - context), start) | _span(n_frames, end, min(n_frames, end + context))
    if not mask.any():
        raise InputError("gap_start_s, gap_end_s: the gap covers the whole clip, leaving no context")
    return mask


def outpainting_masks(overlap_s, n_frames: int = M.CLIP_FRAMES, ref_frames: int | None = None):
    """(gen, ref): the first ``overlap_s`` of the new clip must match the last ``overlap_s`` of the reference."""
    n_frames = positive_int(n_frames, "n_frames")
    ref_frames = n_frames if ref_frames is None else positive_int(ref_frames, "ref_frames")
    overlap = _overlap(overlap_s, n_frames, ref_frames)
    return _span(n_frames, 0, overlap), _span(ref_frames, ref_frames - overlap, ref_frames)


def looping_masks(overlap_s, n_frames: int = M.CLIP_FRAMES, ref_frames: int | None = None):
    """(gen, ref) for reference-based looping: the masks sit on the sides opposite to outpainting, so the
    last ``overlap_s`` of the new clip must match the first ``overlap_s`` of the reference and the
    generation flows back into the reference's start. Combine with ``outpainting_masks`` to join both ends.
    """
    n_frames = positive_int(n_frames, "n_frames")
    ref_frames = n_frames if ref_frames is None else positive_int(ref_frames, "ref_frames")
    overlap = _overlap(overlap_s, n_frames, ref_frames)
    return _span(n_frames, n_frames - overlap, n_frames), _span(ref_frames, 0, overlap)


def self_looping_masks(overlap_s, loop_s=None, n_frames: int = M.CLIP_FRAMES):
    """(end, start) for reference-free looping: frames [L, L + o) must match [0, o) of the same clip.

    Playing frames [0, L) on repeat is then seamless; L = ``loop_s`` (default: the clip minus the
    overlap, so the end region is the clip's tail). A smaller ``loop_s`` moves the end region inward
    for loops shorter than the clip (DITTO App. E).
    """
    n_frames = positive_int(n_frames, "n_frames")
    overlap = _frames(overlap_s, "overlap_s")
    loop = n_frames - overlap if loop_s is None else _frames(loop_s, "loop_s")
    if loop < overlap or loop + overlap > n_frames:
        raise InputError(f"loop_s, overlap_s: need overlap_s <= loop_s and loop_s + overlap_s <= the clip "
                         f"({M.frames_to_seconds(n_frames):.2f} s), got loop {M.frames_to_seconds(loop):.2f} s, "
                         f"overlap {overlap_s:g} s")
    return _span(n_frames, loop, loop + overlap), _span(n_frames, 0, overlap)


def free_weights(windows: np.ndarray, ramp_frames: int) -> np.ndarray:
    """(frames,) float32 weights of the frames a control leaves free: 0 inside ``windows`` (a bool mask, the frames
    its loss acts on), rising linearly to 1 at ``ramp_frames`` frames away from the nearest window frame.

    The optimiser keeps the free frames where the seed's noise put them (``engine.anchor``); the ramp leaves the
    music room to turn towards a window instead of jumping into it at the window's edge.
    """
    windows = np.asarray(windows, dtype=bool)
    if windows.ndim != 1 or not windows.any():
        raise InputError("free_weights: expected a (frames,) bool mask with at least one window frame")
    ramp = positive_int(ramp_frames, "ramp_frames")
    frames = np.arange(windows.size)
    distance = np.abs(frames[:, None] - np.flatnonzero(windows)[None, :]).min(axis=1)
    return np.minimum(distance / ramp, 1.0).astype(np.float32)
