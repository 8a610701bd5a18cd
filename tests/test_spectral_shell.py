"""The spectral shell (issue 15): the optimised noise keeps the starting noise's power in every octave band of its
(frequency, time) plane, so Adam's smooth changes cannot pile power into the slow bands; the paint controls turn it
on, a mix with a control that was not measured with it does not, and DITTO never does."""
import numpy as np
import pytest
import torch

from ditto2 import controls as C
from ditto2 import features as F
from ditto2 import pipeline as P
from ditto2.audio import mel as M
from ditto2.audio.io import write_audio
from ditto2.engine import OptimConfig, optimise_noise
from ditto2.engine.optimise import SpectralShell

pytestmark = pytest.mark.usefixtures("one_thread")


def noise(seed=0, shape=(2, 8, 20, 128)):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def slow_change(eps, size):
    """A change of the noise that is smooth along time: a random line per (channel, row), linearly interpolated."""
    knots = torch.randn(*eps.shape[:-1], 5, generator=torch.Generator().manual_seed(9))
    line = torch.nn.functional.interpolate(knots.flatten(0, 1), size=eps.shape[-1], mode="linear",
                                           align_corners=True).view_as(eps)
    return size * line / line.square().mean().sqrt()


def test_the_starting_noise_is_a_fixed_point_and_white_changes_barely_move():
    eps = noise()
    shell = SpectralShell(eps)
    torch.testing.assert_close(shell.project(eps), eps, atol=1e-5, rtol=0)
    nudged = eps + 0.1 * noise(1)
    moved = (shell.project(nudged) - nudged).square().mean().sqrt()
    assert float(moved) < 0.02  # a white change leaves every band's power nearly where it was


def test_a_slow_change_is_pulled_back_to_the_starting_band_powers():
    eps = noise()
    shell = SpectralShell(eps)
    changed = eps + slow_change(eps, 0.3)
    projected = shell.project(changed)
    torch.testing.assert_close(shell._band_power(projected), shell.target, rtol=1e-4, atol=1e-3)
    # band 0 is DC along both axes, the band a smooth change inflates most
    assert float(shell._band_power(changed)[:, 0].min()) > 2 * float(shell.target[:, 0].max())
    assert projected.shape == eps.shape and projected.dtype == eps.dtype
    assert float((projected - eps).square().mean()) < 0.5 * float((changed - eps).square().mean())


def test_optimising_with_the_shell_keeps_the_band_powers_and_still_lowers_the_loss():
    eps0 = noise(shape=(2, 2, 8, 32))

    def render(x):  # channels mixed, as a network would
        return x.mean(1)

    target = render(noise(5, shape=(2, 2, 8, 32)))[..., :8]  # what other noise renders: a typical target

    def objective(mel):
        return (mel[..., :8] - target).square().mean((-2, -1)), {}

    config = OptimConfig(steps=60, lr=0.05, clip=None)
    plain = optimise_noise(eps0, render, objective, config)
    shelled = optimise_noise(eps0, render, objective, OptimConfig(steps=60, lr=0.05, clip=None, spectral_shell=True))
    shell = SpectralShell(eps0)
    torch.testing.assert_close(shell._band_power(shelled.x_T), shell.target, rtol=1e-3, atol=1e-3)
    assert not torch.allclose(shell._band_power(plain.x_T), shell.target, rtol=1e-2)  # without it the bands move
    assert float(shelled.best_loss.max()) < 0.5 * float(objective(render(eps0))[0].min())


def test_defaults_turn_the_shell_on_for_the_paint_controls_alone(tmp_path):
    reference = write_audio(tmp_path / "ref.wav", np.zeros(M.CLIP_SAMPLES, dtype=np.float32) + 0.01)
    inpaint = C.InpaintControl(reference, (2.0, 4.0))
    loop = C.OutpaintControl(reference, 1.0, loop=True)  # since session T, with windows weighed by the crossfade
    for control in (inpaint, C.OutpaintControl(reference, 1.0), C.SelfLoopControl(0.5), loop):
        assert P.Pipeline.optim_config("ditto2", [control], None, None).spectral_shell
        assert not P.Pipeline.optim_config("ditto", [control], None, None).spectral_shell  # DITTO as published
        assert not P.Pipeline.optim_config("ditto2", [control], None, None, spectral_shell=False).spectral_shell
    intensity = C.IntensityControl(F.intensity_curve([-30, -20]))
    assert not P.Pipeline.optim_config("ditto2", [intensity], None, None).spectral_shell
    assert not P.Pipeline.optim_config("ditto2", [inpaint, intensity], None, None).spectral_shell


def test_generate_records_the_shell_and_keeps_the_band_powers_on_tiny_models(tiny_models_dir):
    pipe = P.Pipeline.from_pretrained(tiny_models_dir)
    loop = C.SelfLoopControl(0.5)
    kwargs = dict(seed=3, opt_steps=6, lr=0.08, decode_steps=1, progress=False)
    result = pipe.generate([loop], **kwargs)
    assert result.settings["spectral_shell"] is True
    start = pipe.teacher.initial_noise([3]) / pipe.student("ctd").sigma_max
    shell = SpectralShell(start)
    torch.testing.assert_close(shell._band_power(result.x_T / pipe.student("ctd").sigma_max), shell.target,
                               rtol=1e-3, atol=1e-2)
    assert pipe.generate([loop], spectral_shell=False, **kwargs).settings["spectral_shell"] is False
