"""Keeping the music under the paint and loop controls (issue 15): free-frame weights, the output anchor, and
the defaults that switch it on; a smoothed-noise wash satisfies the old loop loss but not the anchored one."""
import dataclasses

import numpy as np
import pytest
import torch

from ditto2 import controls as C
from ditto2 import features as F
from ditto2 import pipeline as P
from ditto2.audio import mel as M
from ditto2.audio.io import write_audio
from ditto2.engine import OptimConfig, optimise_noise
from ditto2.engine.anchor import anchor_penalty
from ditto2.controls.paint import LOOP_ANCHOR
from ditto2.errors import InputError

pytestmark = pytest.mark.usefixtures("one_thread")
RATE = M.SAMPLE_RATE
TUNE = (60, 64, 67, 72, 71, 67, 64, 62, 65, 69, 72, 74, 72, 67, 64, 60)


def plucked_clip(seconds=0.4):
    """Harmonic notes with sharp attacks and decays, one clip (512 frames) long."""
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = np.minimum(t / 0.005, 1.0) * np.exp(-3.0 * t)
    notes = np.concatenate([envelope * sum(np.sin(2 * np.pi * 440 * 2 ** ((p - 69) / 12) * h * t) / h
                                           for h in (1, 2, 3, 4)) for p in TUNE])
    wave = np.resize(0.2 * notes, M.CLIP_SAMPLES) + 1e-3 * np.random.default_rng(1).standard_normal(M.CLIP_SAMPLES)
    return wave.astype(np.float32)


def music_and_wash():
    """(1, 80, 512) mels: the notes, and a wash with the same mean spectrum (slowly drifting noise, no onsets)."""
    music = M.wave_to_mel(torch.from_numpy(plucked_clip()))[None, :, : M.CLIP_FRAMES]
    drift = torch.randn(1, 80, M.CLIP_FRAMES // 32 + 1, generator=torch.Generator().manual_seed(0))
    drift = torch.nn.functional.interpolate(drift, size=M.CLIP_FRAMES, mode="linear", align_corners=True)
    return music, music.mean(-1, keepdim=True) + 0.02 * drift


def test_free_weights_are_zero_in_the_windows_and_ramp_to_one():
    windows = np.zeros(100, dtype=bool)
    windows[:10] = windows[90:] = True
    weights = F.free_weights(windows, 20)
    assert weights.dtype == np.float32 and weights.shape == (100,)
    assert not weights[windows].any() and weights[50] == 1.0
    assert weights[14] == pytest.approx(0.25) and weights[80] == pytest.approx(0.5)  # linear from the edge
    with pytest.raises(InputError, match="free_weights"):
        F.free_weights(np.zeros(100, dtype=bool), 20)


def test_each_paint_control_leaves_its_windows_free_of_the_anchor(tmp_path):
    loop = C.SelfLoopControl(0.5)
    assert not loop.free_weights()[loop.start | loop.end].any() and loop.free_weights()[256] == 1.0
    reference = write_audio(tmp_path / "ref.wav", plucked_clip())
    inpaint = C.InpaintControl(reference, (2.0, 4.0))
    middle = (M.seconds_to_frames(2.0) + M.seconds_to_frames(4.0)) // 2
    assert not inpaint.free_weights()[inpaint.mask].any() and inpaint.free_weights()[middle] == 1.0
    outpaint = C.OutpaintControl(reference, 1.0, loop=True)
    assert not outpaint.free_weights()[outpaint.head | outpaint.tail].any()
    assert C.IntensityControl(F.intensity_curve([-30, -20])).free_weights() is None


def test_a_wash_satisfies_the_old_loop_loss_but_not_the_anchored_objective():
    """The failure of issue 15 in miniature. The old loss ranks the wash far above the music it replaced; with the
    anchor (mel_0 = the music the seed made), the wash costs more than looping the music itself."""
    loop = C.SelfLoopControl(0.5)
    music, washed = music_and_wash()
    looped = music.clone()
    looped[..., loop.end] = music[..., loop.start]  # the music, its end window made a copy of its start
    old = {name: float(loop.loss(mel)) for name, mel in (("music", music), ("wash", washed), ("looped", looped))}
    assert old["wash"] < 0.1 < 0.05 * old["music"] and old["looped"] == 0.0

    weight = loop.settings.anchor
    free = torch.from_numpy(loop.free_weights())

    def anchored(mel):
        return float(loop.loss(mel) + weight * anchor_penalty(mel, music, free))

    assert anchored(looped) == pytest.approx(0.0, abs=1e-6)  # the windows are free of the anchor, edges included
    assert anchored(washed) > 1.0 > 100 * anchored(looped) and anchored(washed) > 10 * old["wash"]


def test_loop_windows_count_where_the_crossfade_lets_the_reference_be_heard(tmp_path):
    """A loop's miss at a window's outer edge (where the assembly plays the reference) costs more than the same miss
    at its inner edge (where the clip has faded in and may turn towards the reference), at the head and the tail."""
    rng = np.random.default_rng(0)
    reference = write_audio(tmp_path / "ref.wav", 0.1 * rng.standard_normal(M.CLIP_SAMPLES).astype(np.float32))
    loop = C.OutpaintControl(reference, 1.0, loop=True)
    matched = torch.zeros(1, M.N_MELS, M.CLIP_FRAMES)
    matched[..., loop.head] = loop.ref_mel[..., loop.ref_tail]
    matched[..., loop.tail] = loop.ref_mel[..., loop.ref_head]
    assert float(loop.loss(matched)) == pytest.approx(0.0, abs=1e-6)
    head, tail = np.flatnonzero(loop.head), np.flatnonzero(loop.tail)

    def missed(frames):
        mel = matched.clone()
        mel[..., frames] += 1.0
        return float(loop.loss(mel))

    assert missed(head[:8]) > 10 * missed(head[-8:]) > 0  # the head: the reference fades out
    assert missed(tail[-8:]) > 10 * missed(tail[:8]) > 0  # the tail: it fades back in
    assert loop.settings.spectral_shell and loop.settings.anchor == LOOP_ANCHOR
    plain = C.OutpaintControl(reference, 1.0)  # continuation keeps its flat window
    mel = matched.clone()
    mel[..., head[:8]] += 1.0
    inner = matched.clone()
    inner[..., head[-8:]] += 1.0
    assert float(plain.loss(mel)) == pytest.approx(float(plain.loss(inner)))


def test_the_anchor_keeps_coupled_free_frames_where_they_started():
    """A render that couples every frame (a shared offset), a loss on the first frames only: without the anchor
    the optimiser moves the shared offset and so every free frame; with it the free frames stay near the start,
    and the best iterate is still chosen on the controls' loss alone."""
    torch.manual_seed(0)
    x0 = torch.randn(2, 1, 64)
    weights = np.ones(64, dtype=np.float32)
    weights[:8] = 0.0

    def render(x):
        return x + x.mean(-1, keepdim=True)

    def objective(mel):
        return (mel[..., :8] - 2.0).square().mean((-2, -1)), {}

    base = OptimConfig(steps=100, lr=0.1, clip=None)
    plain = optimise_noise(x0, render, objective, base)
    kept = optimise_noise(x0, render, objective,
                          dataclasses.replace(base, anchor=10.0, anchor_weights=tuple(weights.tolist())))

    def drift(result):
        return float((render(result.x_T) - render(x0))[..., 8:].abs().mean())

    assert drift(kept) < 0.5 * drift(plain)
    assert float(kept.best_loss.max()) < 0.5 * float(objective(render(x0))[0].min())  # the control still works
    torch.testing.assert_close(objective(render(kept.x_T))[0], kept.best_loss)  # no anchor in the chosen loss


def test_defaults_anchor_ditto2_paint_controls_alone(tmp_path):
    loop = C.SelfLoopControl(0.5)
    config = P.Pipeline.optim_config("ditto2", [loop], None, None)
    assert config.anchor == loop.settings.anchor > 0
    np.testing.assert_allclose(config.anchor_weights, loop.free_weights())
    intensity = C.IntensityControl(F.intensity_curve([-30, -20]))
    assert P.Pipeline.optim_config("ditto2", [loop, intensity], None, None).anchor == 0.0  # may change every frame
    assert P.Pipeline.optim_config("ditto", [loop], None, None).anchor == 0.0  # the paper's DITTO as published
    reference = write_audio(tmp_path / "ref.wav", plucked_clip())
    assert P.Pipeline.optim_config("ditto2", [C.InpaintControl(reference, (2.0, 4.0))], None, None).anchor > 0
    with pytest.raises(InputError, match="anchor"):
        OptimConfig(anchor=-1.0)


@pytest.mark.parametrize("make", [lambda: C.StructureControl(F.structure_from_string("ABAB")),
                                  lambda: C.MelodyControl(F.melody_from_notes("C4 E4 G4"))])
def test_structure_and_melody_are_held_lightly_on_every_frame_alone(make):
    control = make()
    config = P.Pipeline.optim_config("ditto2", [control], None, None)
    assert 0 < config.anchor == control.settings.anchor < 1  # light: the target must still move every frame
    assert len(config.anchor_weights) == M.CLIP_FRAMES and min(config.anchor_weights) == 1.0
    intensity = C.IntensityControl(F.intensity_curve([-30, -20]))
    assert P.Pipeline.optim_config("ditto2", [control, intensity], None, None).anchor == 0.0  # not measured
    assert P.Pipeline.optim_config("ditto", [control], None, None).anchor == 0.0


def test_anchored_loop_on_tiny_models_stays_closer_to_the_uncontrolled_clip(tiny_models_dir):
    pipe = P.Pipeline.from_pretrained(tiny_models_dir)
    loop = C.SelfLoopControl(0.5)
    kwargs = dict(seed=4, opt_steps=10, lr=0.08, decode_steps=1, progress=False)
    uncontrolled = pipe.generate([], method="none", **kwargs).mel
    anchored = pipe.generate([loop], **kwargs)
    plain = pipe.generate([loop], anchor=False, **kwargs)  # the same run without the anchor
    free = torch.from_numpy(loop.free_weights() == 1.0)

    def drift(result):
        return float((result.mel - uncontrolled)[..., free].abs().mean())

    assert drift(anchored) < 0.7 * drift(plain)
    assert anchored.final_losses["loop"][0] < float(loop.loss(uncontrolled)[0])  # and the loop still improves


def test_a_loudness_curve_is_finished_by_a_smooth_gain_within_its_limit():
    from conftest import tone

    from ditto2.features.intensity import gain_to_curve, intensity_db_audio

    wave = np.resize(tone([220, 330, 262, 392, 294, 440], seconds=M.CLIP_SAMPLES / M.SAMPLE_RATE / 6), M.CLIP_SAMPLES)
    target = F.intensity_curve([-40, -20, -35])
    before = np.mean((intensity_db_audio(wave) - target) ** 2)
    finished = gain_to_curve(wave, target, limit_db=30.0)
    assert np.mean((intensity_db_audio(finished) - target) ** 2) < min(0.5, before / 50)
    loud = np.abs(wave) > 1e-3
    for limit in (30.0, 2.0):
        gain_db = 20 * np.log10(np.abs(gain_to_curve(wave, target, limit)[loud]) / np.abs(wave[loud]))
        assert np.abs(gain_db).max() <= limit + 1e-3
        # over a hop the gain moves by a fraction of a dB: the level changes, the attacks stay the tones' own
        assert np.abs(np.diff(gain_db[:: M.HOP])).max() < 0.5
    assert np.abs(gain_db).max() > 1.9  # the limit binds: this curve asks for far more than 2 dB


def test_ditto2_asks_the_noise_for_part_of_the_loudness_swing_and_finishes_the_rest_on_the_audio(monkeypatch):
    shipped = C.IntensityControl(F.intensity_curve([-40, -20]))  # the shipped DITTO-2 finishes on the audio, DITTO not
    assert shipped.for_engine("ditto2").finish_db > 0 == shipped.for_engine("ditto").finish_db
    monkeypatch.setattr(C.IntensityControl, "settings",
                        dataclasses.replace(C.IntensityControl.settings, swing=0.5, finish_db=12.0))
    target = F.intensity_curve([-40, -20])
    control = C.IntensityControl(target)
    ditto2, ditto = control.for_engine("ditto2"), control.for_engine("ditto")
    assert (ditto2.swing, ditto2.finish_db) == (0.5, 12.0) and (control.swing, control.finish_db) == (1.0, 0.0)
    assert (ditto.swing, ditto.finish_db) == (1.0, 0.0)  # DITTO keeps the paper's, unless asked otherwise
    asked = C.IntensityControl(target, swing=0.8, finish_db=3.0)
    assert [(c.swing, c.finish_db) for c in (asked.for_engine("ditto"), asked.for_engine("ditto2"))] == [(0.8, 3.0)] * 2
    assert C.IntensityControl(target, mode="corr").for_engine("ditto2").finish_db == 0.0
    with pytest.raises(InputError, match="swing"):
        C.IntensityControl(target, swing=1.5)
    with pytest.raises(InputError, match="l2"):
        C.IntensityControl(target, mode="corr", finish_db=3.0)
    mel = torch.rand(2, M.N_MELS, M.CLIP_FRAMES) * 2 - 1
    level, target_t = F.intensity_db(mel), torch.as_tensor(target)
    halfway = target_t.mean() + 0.5 * (target_t - target_t.mean())
    assert torch.allclose(ditto2.loss(mel), ((level - halfway) / 10).square().mean(-1), atol=1e-5)
    assert not torch.allclose(ditto2.loss(mel), control.loss(mel), atol=1e-3)
    wave = (np.random.default_rng(0).standard_normal(M.CLIP_SAMPLES) * 0.05).astype(np.float32)
    assert control.finish(wave) is wave and ditto2.engine_record() == {"intensity_swing": 0.5,
                                                                       "intensity_finish_db": 12.0}
    error = [np.mean((F.intensity_db_audio(w) - target) ** 2) for w in (wave, ditto2.finish(wave))]
    assert error[1] < error[0] / 10
