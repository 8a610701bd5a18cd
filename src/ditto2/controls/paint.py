"""Reference-based controls (DITTO §4, App. E): inpainting, outpainting (continuation) and looping.

Each one asks the generated clip to match a reference, or itself, inside time masks (``features.masks``), with a
masked L2 on the normalised mel, and each one assembles the final audio from the generated clip: the reference
with the gap filled, the reference followed by its continuation, or a loop. Joins are equal-power crossfades in
the audio domain over frames the loss asked to agree, so the reference keeps its original audio (not a vocoded
copy) and the seam sits where both sides already sound alike.

Each one also says which frames it leaves free (``free_weights``): outside its windows, fading in over
``FREE_RAMP_S``. With the output anchor (``engine.anchor``, on by default for DITTO-2) those frames stay the music the
seed's noise made, instead of the stationary wash that satisfies every "these frames must agree" loss
(issue 15; figures in docs/generation.md, "Keeping the music").
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ditto2.audio import mel as M
from ditto2.controls.base import Control, ControlSettings
from ditto2.errors import InputError
from ditto2.features import free_weights as weights_outside
from ditto2.features import inpainting_mask, looping_masks, outpainting_masks, self_looping_masks

PAINT_SCALE = 0.01  # loss 1 = an RMS mel error of 0.1 (about 6 dB) inside the masks
INPAINT_FADE_S = 0.2  # crossfade on each side of an inpainted gap
# The free frames' weight rises from 0 at a window's edge to 1 this far away: room for the music to turn towards
# the window. Measured: 1 s joins a reference-based loop as smoothly as the clip's own frames join (0.5 s left a
# jump at the window's edge); an inpainted gap (2 s in the measurements) takes 0.5 s from each side, so that its
# middle stays anchored.
FREE_RAMP_S = 1.0
INPAINT_RAMP_S = 0.5
# The reference-based loop with the spectral shell and the crossfade-weighted windows holds its free frames lightly:
# on 32 tuning references a better context (4.77 against 5.42 dB at weight 3) and a wrap that jumps no more, against
# the clip's own music, than the anchor-only loop's did (docs/generation.md, "The reference-based loop").
LOOP_ANCHOR = 1.0


def reference_wave(reference, name: str) -> np.ndarray:
    """A path (any rate, mono or not) or a 22.05 kHz waveform -> float32 mono waveform."""
    from ditto2.audio.io import read_audio
    from ditto2.features._checks import as_wave, existing_file

    wave = (read_audio(existing_file(reference, name)) if isinstance(reference, (str, Path))
            else as_wave(reference, name)).astype(np.float32)
    if wave.size < M.N_FFT:
        raise InputError(f"{name}: {wave.size} samples is too short (at least {M.N_FFT}, {M.N_FFT / M.SAMPLE_RATE * 1000:.0f} ms)")
    return wave


def wave_mel(wave: np.ndarray) -> torch.Tensor:
    return M.wave_to_mel(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)))


def masked_l2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(B, 80, F) vs (B or 1, 80, F) -> (B,) mean squared error, scaled."""
    return (a - b).square().mean((-2, -1)) / PAINT_SCALE


def weighted_l2(a: torch.Tensor, b: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``masked_l2`` with a weight per frame (F,)."""
    return ((a - b).square().mean(-2) * weights).sum(-1) / weights.sum() / PAINT_SCALE


def fade_in_share(frames: int) -> torch.Tensor:
    """(frames,) the incoming side's share of the power in ``crossfade`` over that many frames: 0 -> 1."""
    t = (torch.arange(frames, dtype=torch.float32) + 0.5) / frames
    return torch.sin(t * torch.pi / 2).square()


def crossfade(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Equal-power fade from ``a`` to ``b`` (same length): right for uncorrelated signals such as two renders."""
    t = np.linspace(0.0, 1.0, a.size, dtype=np.float32)
    return a * np.cos(t * np.pi / 2) + b * np.sin(t * np.pi / 2)


def samples(frames: int) -> int:
    return frames * M.HOP


def free_of(windows: np.ndarray, ramp_s: float = FREE_RAMP_S) -> np.ndarray:
    """The frames outside a control's windows, weighted up over ``ramp_s`` from each window's edge."""
    return weights_outside(windows, M.seconds_to_frames(ramp_s))


class InpaintControl(Control):
    """Fill the gap [start, end) seconds of a reference clip: match the context on both sides."""

    name = "inpaint"
    # The output anchor keeps the frames outside the gap near the seed's music; it slows the context match,
    # which passes the unanchored 40-step figure by 80 steps (docs/generation.md, "Keeping the music").
    settings = ControlSettings(lr=8e-2, steps=80, anchor=3.0, spectral_shell=True)
    sidecar_keys = ("context", "seams")

    def __init__(self, reference, gap_s: tuple[float, float], context_s=None, n_frames: int = M.CLIP_FRAMES,
                 weight: float = 1.0):
        super().__init__(weight)
        wave = reference_wave(reference, "inpaint reference")
        if wave.size < samples(n_frames):
            raise InputError(f"inpaint reference: {wave.size / M.SAMPLE_RATE:.2f} s is shorter than the clip "
                             f"({M.frames_to_seconds(n_frames):.2f} s)")
        self.reference = wave[: samples(n_frames)]  # longer files: their first clip
        self.mask = inpainting_mask(gap_s[0], gap_s[1], context_s, n_frames)
        self.gap = (M.seconds_to_frames(gap_s[0]), M.seconds_to_frames(gap_s[1]))
        self.ref_mel = wave_mel(self.reference)[:, :n_frames]

    def loss(self, mel: torch.Tensor) -> torch.Tensor:
        return masked_l2(mel[..., self.mask], self.ref_mel[..., self.mask].to(mel).unsqueeze(0))

    def assemble(self, wave: np.ndarray) -> np.ndarray:
        fade = samples(M.seconds_to_frames(INPAINT_FADE_S))
        start, end = samples(self.gap[0]), samples(self.gap[1])
        weight = np.zeros(self.reference.size, dtype=np.float32)  # 0 = reference, 1 = generation
        weight[start:end] = 1.0
        lead, tail = min(fade, start), min(fade, self.reference.size - end)
        if lead:
            weight[start - lead:start] = np.linspace(0, 1, lead, endpoint=False)
        if tail:
            weight[end:end + tail] = np.linspace(1, 0, tail, endpoint=False)
        wave = np.pad(wave, (0, max(0, self.reference.size - wave.size)))[: self.reference.size]
        return self.reference * np.cos(weight * np.pi / 2) + wave * np.sin(weight * np.pi / 2)

    def seams(self) -> list[int]:
        """Mid-points of the crossfades into and out of the gap (a gap at the clip's edge has no join there)."""
        fade, n = M.seconds_to_frames(INPAINT_FADE_S), self.mask.size
        start, end = self.gap
        return ([start - min(fade, start) // 2] if start > 0 else []) + \
               ([end + min(fade, n - end) // 2] if end < n else [])

    def record(self) -> dict:
        return {"context": {"mask": self.mask.astype(int).tolist(), "reference_mask": self.mask.astype(int).tolist()}}

    def free_weights(self) -> np.ndarray:
        """The gap (and any frames beyond a limited context) is free: its middle keeps the seed's music."""
        return free_of(self.mask, INPAINT_RAMP_S)


class OutpaintControl(Control):
    """Continue a reference: the first ``overlap_s`` of the clip must match the reference's last ``overlap_s``.

    With ``loop=True`` the clip's last ``overlap_s`` must also match the reference's start, so reference plus
    continuation repeat seamlessly (reference-based looping).
    """

    name = "outpaint"
    settings = ControlSettings(lr=8e-2, steps=80, anchor=3.0, spectral_shell=True)  # as inpainting's
    sidecar_keys = ("context", "seams", "loop")

    def __init__(self, reference, overlap_s: float, n_frames: int = M.CLIP_FRAMES, loop: bool = False,
                 weight: float = 1.0):
        super().__init__(weight)
        self.reference = reference_wave(reference, "outpaint reference")
        self.ref_mel = wave_mel(self.reference)
        ref_frames = self.ref_mel.shape[-1]
        self.head, self.ref_tail = outpainting_masks(overlap_s, n_frames, ref_frames)
        self.overlap, self.loops = int(self.head.sum()), loop
        self.head_weights = torch.ones(self.overlap)
        if loop:
            # A loop's windows are matched where the reference is heard in the assembly's crossfade (it fades out
            # over the clip's head and back in over its tail), so the clip may turn towards it at a window's inner
            # edge instead of jumping there, as it did with the shell and flat windows. Plain continuation keeps
            # flat windows: weighed, its context is 0.7 dB worse for a join no smoother (docs/generation.md, "The
            # reference-based loop").
            self.settings = dataclasses.replace(self.settings, anchor=LOOP_ANCHOR)
            self.head_weights = 1.0 - fade_in_share(self.overlap)
            self.tail_weights = fade_in_share(self.overlap)
            self.tail, self.ref_head = looping_masks(overlap_s, n_frames, ref_frames)
            if min(ref_frames, n_frames) < 2 * self.overlap:
                raise InputError(f"overlap: a loop needs the reference and the clip to last at least twice the "
                                 f"overlap ({2 * overlap_s:g} s)")
        self.reference = self.reference[: samples(ref_frames)]

    def loss(self, mel: torch.Tensor) -> torch.Tensor:
        ref = self.ref_mel.to(mel).unsqueeze(0)
        loss = weighted_l2(mel[..., self.head], ref[..., self.ref_tail], self.head_weights.to(mel))
        if self.loops:
            loss = 0.5 * (loss + weighted_l2(mel[..., self.tail], ref[..., self.ref_head], self.tail_weights.to(mel)))
        return loss

    def assemble(self, wave: np.ndarray) -> np.ndarray:
        o, ref = samples(self.overlap), self.reference
        body = wave[o:wave.size - o] if self.loops else wave[o:]
        joined = [ref[:ref.size - o], crossfade(ref[ref.size - o:], wave[:o]), body]
        if not self.loops:
            return np.concatenate(joined)
        head = crossfade(wave[wave.size - o:], ref[:o])  # the clip's end flows into the reference's start
        return np.concatenate([head, ref[o:ref.size - o]] + joined[1:])

    def seams(self) -> list[int]:
        """The crossfade mid-points: reference into clip, and for a loop also the clip's end into the reference."""
        ref_frames = self.reference.size // M.HOP
        return ([self.overlap // 2] if self.loops else []) + [ref_frames - self.overlap // 2]

    def record(self) -> dict:
        # Only the continuation pair: masks pair frames in time order, so the loop's wrap-around pair cannot share
        # them; the wrap is measured by the "loop" and "seams" targets instead.
        return {"context": {"mask": self.head.astype(int).tolist(),
                            "reference_mask": self.ref_tail.astype(int).tolist()}}

    def free_weights(self) -> np.ndarray:
        """Everything after the overlap (before the loop's closing overlap) is free."""
        return free_of(self.head | self.tail if self.loops else self.head)


class SelfLoopControl(Control):
    """Reference-free looping: frames [L, L + o) must match [0, o), so frames [0, L) repeat seamlessly."""

    name = "loop"
    loops = True
    settings = ControlSettings(lr=8e-2, anchor=10.0, spectral_shell=True)
    sidecar_keys = ("seams", "loop")

    def __init__(self, overlap_s: float = 0.5, loop_s=None, n_frames: int = M.CLIP_FRAMES, weight: float = 1.0):
        super().__init__(weight)
        self.end, self.start = self_looping_masks(overlap_s, loop_s, n_frames)
        self.loop_frames = int(np.argmax(self.end))

    def loss(self, mel: torch.Tensor) -> torch.Tensor:
        return masked_l2(mel[..., self.end], mel[..., self.start])

    def assemble(self, wave: np.ndarray) -> np.ndarray:
        o, n = samples(int(self.start.sum())), samples(self.loop_frames)
        return np.concatenate([crossfade(wave[n:n + o], wave[:o]), wave[o:n]])

    def seams(self) -> list[int]:
        return [int(self.start.sum()) // 2]  # the crossfade's mid-point; the wrap itself is continuous

    def free_weights(self) -> np.ndarray:
        """Only the two windows are asked to agree; the music between them is free."""
        return free_of(self.start | self.end)
