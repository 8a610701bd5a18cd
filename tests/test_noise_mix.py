"""The noise mix (issue 15): DITTO-2 may optimise eps as a mix of a few white noises per latent frame instead of eps
itself; any such mix is white unit noise, so the optimiser cannot pile power into the slow bands that wash the music.
The whole-clip controls measured to keep more music with it turn it on; DITTO does not by default."""
import numpy as np
import pytest
import torch

from ditto2 import controls as C
from ditto2 import features as F
from ditto2 import pipeline as P
from ditto2.engine import OptimConfig, optimise_noise
from ditto2.engine.optimise import NoiseMix
from ditto2.errors import InputError

pytestmark = pytest.mark.usefixtures("one_thread")


def noise(seed=0, shape=(2, 8, 20, 128)):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def lag1_along_time(x):
    x = x - x.mean(-1, keepdim=True)
    return float((x[..., 1:] * x[..., :-1]).mean() / x.square().mean())


def test_the_starting_weights_give_the_starting_noise():
    eps = noise()
    mix = NoiseMix(eps, 4)
    assert mix.basis.shape == (2, 4, 8, 20, 128)
    torch.testing.assert_close(mix(mix.start()), eps)
    assert not torch.allclose(mix.basis[:, 1], eps)  # the others are other noises


def test_a_mix_with_weights_smooth_in_time_is_still_white_unit_noise():
    eps = noise()
    mix = NoiseMix(eps, 4)
    t = torch.linspace(0, 1, 128)
    weights = torch.stack([torch.cos(3 * t), torch.sin(3 * t), t, 1 - t])[None].expand(2, -1, -1)  # slow weights
    mixed = mix(weights)
    per_frame = mixed.square().mean((1, 2))  # (B, frames): unit power, spread over frames as white noise's
    assert abs(float(per_frame.mean()) - 1) < 0.05
    assert float(per_frame.std()) < 1.3 * float(eps.square().mean((1, 2)).std())
    assert abs(lag1_along_time(mixed)) < 0.03  # no slow power: a smooth change of eps itself has plenty
    smooth_change = eps + torch.nn.functional.interpolate(noise(3, (2, 8, 20, 4)).flatten(0, 1), size=128,
                                                          mode="linear", align_corners=True).view_as(eps)
    assert lag1_along_time(smooth_change) > 0.2


def test_optimising_the_mix_lowers_the_loss_and_stays_white():
    eps0 = noise(shape=(2, 2, 8, 32))

    def render(x):
        return x.mean(1)

    target = render(noise(5, shape=(2, 2, 8, 32))).mean(-2)  # a typical per-frame level

    def objective(mel):
        return (mel.mean(-2) - target).square().mean(-1), {}

    result = optimise_noise(eps0, render, objective, OptimConfig(steps=60, lr=0.1, clip=None, noise_mix=4))
    assert float(result.best_loss.max()) < 0.5 * float(objective(render(eps0))[0].min())
    assert abs(lag1_along_time(result.x_T)) < 0.1 and not result.x_T.requires_grad
    plain = optimise_noise(eps0, render, objective, OptimConfig(steps=60, lr=0.1, clip=None))
    assert not plain.x_T.requires_grad and not torch.allclose(plain.x_T, result.x_T)
    assert abs(float(result.x_T.square().mean()) - 1) < 0.1


@pytest.mark.parametrize("bad", [1, -2, 2.5, True])
def test_bad_mix_sizes_and_the_mix_with_the_shell_are_refused(bad):
    with pytest.raises(InputError, match="noise mix"):
        OptimConfig(noise_mix=bad)
    with pytest.raises(InputError, match="choose one"):
        OptimConfig(noise_mix=4, spectral_shell=True)


def test_defaults_turn_the_mix_on_where_it_was_measured(tmp_path):
    intensity = C.IntensityControl(F.intensity_curve([-30, -20]))
    melody = C.MelodyControl(F.Melody(np.full(512, 60)))
    assert P.Pipeline.optim_config("ditto2", [intensity], None, None).noise_mix == C.IntensityControl.settings.noise_mix > 1
    assert P.Pipeline.optim_config("ditto", [intensity], None, None).noise_mix == 0  # DITTO as published
    assert P.Pipeline.optim_config("ditto2", [intensity], None, None, noise_mix=0).noise_mix == 0
    assert P.Pipeline.optim_config("ditto2", [intensity, melody], None, None).noise_mix == 0  # melody: not measured
    assert P.Pipeline.optim_config("ditto2", [melody], None, None, noise_mix=3).noise_mix == 3
    assert P.Pipeline.optim_config("ditto2", [C.SelfLoopControl(0.5)], None, None).noise_mix == 0  # the shell's


def test_generate_records_the_mix_on_tiny_models(tiny_models_dir):
    pipe = P.Pipeline.from_pretrained(tiny_models_dir)
    intensity = C.IntensityControl(F.intensity_curve([-30, -20]))
    kwargs = dict(seed=3, opt_steps=4, lr=0.08, decode_steps=1, progress=False)
    mixed = pipe.generate([intensity], noise_mix=3, **kwargs)
    plain = pipe.generate([intensity], noise_mix=0, **kwargs)
    assert mixed.settings["noise_mix"] == 3 and plain.settings["noise_mix"] == 0
    assert not torch.allclose(mixed.x_T, plain.x_T)
    assert pipe.generate([], method="none", seed=3, progress=False).settings["noise_mix"] == 0


def test_an_explicit_mix_replaces_the_default_shell_and_both_explicit_are_refused(tmp_path):
    loop = C.SelfLoopControl(0.5)
    config = P.Pipeline.optim_config("ditto2", [loop], None, None, noise_mix=3)
    assert config.noise_mix == 3 and not config.spectral_shell
    with pytest.raises(InputError, match="choose one"):
        P.Pipeline.optim_config("ditto2", [loop], None, None, spectral_shell=True, noise_mix=3)
