"""Tests for the diffusion model layer with tiny random models (CPU, seconds)."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from ditto2.diffusion import (AutoencoderConfig, CFGDenoiser, Denoiser, EDMConfig, MelAutoencoder, UNet1D,
                              UNet1DConfig, UNet2D, UNet2DConfig, build_network, drop_cond, edm_loss, training_sigmas,
                              invert_ddim, karras_sigmas, latent_stats, network_config, sample_euler,
                              sample_euler_ancestral, sample_heun)
from ditto2.errors import InputError

pytestmark = pytest.mark.usefixtures("one_thread")


TINY2D = UNet2DConfig(in_channels=2, channels=(8, 16), res_blocks=1, attn_heads=2, emb_dim=16, n_freqs=4,
                      norm_groups=4)
TINY1D = UNet1DConfig(in_channels=2 * 5, channels=(8, 16), res_blocks=(1, 2), attn_heads=2, emb_dim=16,
                      n_freqs=4, norm_groups=4)
TINY_AE = AutoencoderConfig(latent_channels=2, channels=(4, 8), norm_groups=4)


def _randomise(module: torch.nn.Module, seed: int = 0, std: float = 0.2) -> torch.nn.Module:
    """Zero-initialised output layers make a fresh net constant; random weights exercise every path."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * std)
    return module


def _tiny_denoiser(cfg=TINY2D, seed=0, **kw) -> Denoiser:
    torch.manual_seed(seed)
    return Denoiser(_randomise(build_network(cfg), seed), **kw)


def _x(*shape, seed=1):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# -- autoencoder ------------------------------------------------------------------------------------
def test_autoencoder_shapes_and_latent_roundtrip():
    ae = MelAutoencoder(TINY_AE).eval()
    x = _x(3, 80, 36).clamp(-1, 1)                       # 36 frames: divisible by 4, not a power of 2
    mean, logvar = ae.encode(x)
    assert mean.shape == logvar.shape == (3, 2, 20, 9) == (3, *TINY_AE.latent_shape(36))
    assert ae.decode(mean).shape == (3, 80, 36)
    assert ae(x.unsqueeze(1)).shape == (3, 80, 36)       # (B, 1, 80, T) accepted too
    mu, std = latent_stats(mean)
    ae.set_latent_stats(mu, std)
    z = ae.to_latent(x)
    assert torch.allclose(z.mean((0, 2, 3)), torch.zeros(2), atol=1e-5)
    assert torch.allclose(ae.from_latent(z), ae(x), atol=1e-5)
    with pytest.raises(InputError):
        ae.encode(_x(1, 80, 37))


def test_autoencoder_default_size_loss_and_safetensors(tmp_path):
    ae = MelAutoencoder()
    n = sum(p.numel() for p in ae.parameters())
    assert 0.3e6 <= n <= 1e6
    assert ae.encode(_x(1, 80, 16))[0].shape == (1, 8, 20, 4)
    small = MelAutoencoder(TINY_AE)
    total, parts = small.loss(_x(2, 80, 16), generator=torch.Generator().manual_seed(0))
    assert total.ndim == 0 and torch.isfinite(total) and set(parts) == {"l1", "l2", "kl"}
    total.backward()
    small.set_latent_stats(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]))
    save_file(small.state_dict(), tmp_path / "ae.safetensors")
    other = MelAutoencoder(TINY_AE)
    other.load_state_dict(load_file(tmp_path / "ae.safetensors"))
    assert torch.equal(other.latent_std, torch.tensor([3.0, 4.0]))


# -- networks ---------------------------------------------------------------------------------------
def test_unet2d_shapes_odd_sizes_and_conditioning():
    cfg = TINY2D.replace(cond_dim=6)
    net = _randomise(build_network(cfg))
    x = _x(3, 2, 5, 33)                                  # odd frequency and time sizes
    cond = _x(3, 6, seed=2)
    out = net(x, torch.zeros(3), cond)
    assert out.shape == x.shape
    null = torch.zeros(3, 6)
    assert torch.equal(net(x, torch.zeros(3), null), net(x, torch.zeros(3), None))
    assert not torch.allclose(out, net(x, torch.zeros(3), None))
    with pytest.raises(InputError):
        build_network(TINY2D)(x, torch.zeros(3), cond)   # unconditional net refuses a condition


def test_unet1d_folds_frequency_into_channels():
    net = _randomise(UNet1D(TINY1D))
    x = _x(2, 2, 5, 21)
    assert net(x, torch.zeros(2)).shape == x.shape
    assert net(x.flatten(1, 2), torch.zeros(2)).shape == (2, 10, 21)


@pytest.mark.parametrize("cfg", [TINY2D, TINY1D])
def test_global_level_path_loads_old_weights_exactly_then_offsets_each_channel(cfg, tmp_path):
    from ditto2.release import load_release, save_release

    old = _tiny_denoiser(cfg)
    save_release(tmp_path / "old.safetensors", old, {}, half=False)
    new = Denoiser(build_network(cfg.replace(global_level=True)))
    load_release(tmp_path / "old.safetensors", new)   # the file has no level.* weights
    x = _x(2, 2, 5, 16)
    assert torch.equal(new(x, 3.0), old(x, 3.0))
    new(x, 3.0).mean().backward()                          # the zero last layer still learns
    assert new.net.level[-1].weight.grad.abs().sum() > 0
    _randomise(new.net.level, seed=5)
    shift = (new(x, 3.0) - old(x, 3.0)).detach()
    assert shift.abs().max() > 1e-3                        # one offset per clip and channel, flat in (F, T)
    flat = shift.reshape(2, -1, x.shape[-1]) if cfg is TINY1D else shift.flatten(2)
    assert torch.allclose(flat, flat[..., :1].expand_as(flat), atol=1e-6)
    strict = Denoiser(build_network(cfg.replace(channels=(8, 8))))
    with pytest.raises(InputError, match="do not match"):  # other missing weights are still refused
        load_release(tmp_path / "old.safetensors", strict)


def test_config_json_roundtrip_and_factory(tmp_path):
    for cfg in (UNet2DConfig(), TINY2D, UNet1DConfig(), TINY1D, AutoencoderConfig(), EDMConfig()):
        d = json.loads(json.dumps(cfg.to_dict()))
        assert type(cfg).from_dict(d) == cfg
    assert isinstance(build_network(TINY2D.to_dict()), UNet2D)
    assert isinstance(build_network(json.loads(json.dumps(TINY1D.to_dict()))), UNet1D)
    assert network_config(TINY1D.to_dict()) == TINY1D
    net = build_network(TINY2D)
    save_file(net.state_dict(), tmp_path / "net.safetensors")
    build_network(TINY2D.to_dict()).load_state_dict(load_file(tmp_path / "net.safetensors"))
    with pytest.raises(InputError):
        UNet2DConfig.from_dict({**TINY2D.to_dict(), "bogus": 1})
    with pytest.raises(InputError):
        UNet2DConfig.from_dict(TINY1D.to_dict())


# -- EDM --------------------------------------------------------------------------------------------
def test_denoiser_boundary_condition():
    den = _tiny_denoiser(sigma_data=0.5)
    x = _x(2, 2, 4, 8)
    assert torch.equal(den(x, 0.0), x)
    assert torch.allclose(den(x, 1e-4), x, atol=1e-3)
    assert torch.allclose(den(x, den.sigma_min), x, atol=2e-2)
    far = den(x, 1e4)                                    # at huge sigma c_skip -> 0: output ignores x's scale
    assert far.abs().max() < 10


def test_karras_sigmas():
    s = karras_sigmas(10, 0.002, 80.0)
    assert len(s) == 11 and s[-1] == 0 and torch.isclose(s[0], torch.tensor(80.0))
    assert torch.isclose(s[-2], torch.tensor(0.002)) and bool((s[:-1] > s[1:]).all())


def test_cfg_wrapper():
    cfg = TINY2D.replace(cond_dim=6)
    den = _tiny_denoiser(cfg)
    x, cond = _x(2, 2, 4, 8), _x(2, 6, seed=3)
    sigma = torch.tensor([0.7, 2.0])
    c, u = den(x, sigma, cond), den(x, sigma, None)
    assert torch.equal(CFGDenoiser(den, cond, 1.0)(x, sigma), c)
    assert torch.allclose(CFGDenoiser(den, cond, 0.0)(x, sigma), u, atol=1e-5)
    assert torch.allclose(CFGDenoiser(den, cond, 3.0)(x, sigma), u + 3 * (c - u), atol=1e-5)
    assert torch.allclose(CFGDenoiser(den, cond[:1], 3.0)(x, sigma, cond), u + 3 * (c - u), atol=1e-5)
    assert CFGDenoiser(den, cond, 2.0).sigma_max == den.sigma_max


def test_drop_cond():
    cond = _x(64, 6)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(drop_cond(cond, 0.0, g), cond)
    assert not drop_cond(cond, 1.0, g).any()
    dropped = drop_cond(cond, 0.5, g)
    rows_null = (dropped == 0).all(1)
    assert 10 < int(rows_null.sum()) < 54 and torch.equal(dropped[~rows_null], cond[~rows_null])


def test_edm_loss_decreases_with_adam():
    torch.manual_seed(0)
    den = Denoiser(build_network(TINY2D), sigma_data=0.5)
    data = torch.sin(torch.linspace(0, 6.28, 8)).expand(4, 2, 4, 8) * 0.5  # one repeated toy "clip"

    def evaluate():
        with torch.no_grad():
            return float(edm_loss(den, data, generator=torch.Generator().manual_seed(123)))

    before = evaluate()
    opt = torch.optim.Adam(den.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(1)
    for _ in range(50):
        loss = edm_loss(den, data, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert evaluate() < 0.7 * before
    per = edm_loss(den, data, reduction="none", generator=g)
    assert per.shape == (4,)


def test_training_sigmas_put_the_high_share_on_the_high_range():
    g = torch.Generator().manual_seed(0)
    plain = training_sigmas(4000, EDMConfig(p_mean=-0.5), g)
    mixed = training_sigmas(4000, EDMConfig(p_mean=-0.5, high_share=0.25, high_sigma_min=5.0), g)
    assert (plain > 20).float().mean() < 0.01
    high = mixed[mixed >= 5]
    assert 0.25 < (mixed >= 5).float().mean() < 0.32 and high.max() <= 80
    assert 0.4 < (high > 20).float().mean() < 0.6  # log-uniform on [5, 80]: half above 20
    with pytest.raises(InputError):
        EDMConfig(high_share=1.2)


# -- samplers ---------------------------------------------------------------------------------------
def test_samplers_are_deterministic_and_call_back():
    den = _tiny_denoiser()
    x = _x(2, 2, 4, 8) * 80
    sigmas = karras_sigmas(5)
    calls = []
    with torch.no_grad():
        a = sample_euler(den, x, sigmas, callback=lambda *args: calls.append(args[:2]))
        assert torch.equal(a, sample_euler(den, x, sigmas))
        assert torch.equal(sample_heun(den, x, sigmas), sample_heun(den, x, sigmas))
        noise = [_x(2, 2, 4, 8, seed=10 + i) for i in range(4)]
        b = sample_euler_ancestral(den, x, sigmas, noise=noise)
        assert torch.equal(b, sample_euler_ancestral(den, x, sigmas, noise=noise))
        with pytest.raises(ValueError):
            sample_euler_ancestral(den, x, sigmas, noise=noise[:3])
    assert [c[0] for c in calls] == [0, 1, 2, 3, 4] and calls[0][1] == pytest.approx(80.0)


@pytest.mark.parametrize("sampler", [sample_euler, sample_heun])
def test_checkpointed_gradients_match(sampler):
    den = _tiny_denoiser(sigma_data=0.5)
    sigmas = karras_sigmas(4, sigma_max=10.0)
    grads = []
    for ckpt in (False, True):
        x = (_x(2, 2, 4, 8) * 10).requires_grad_()
        out = sampler(den, x, sigmas, checkpoint=ckpt)
        (out.square() * torch.linspace(0, 1, 8)).sum().backward()
        grads.append(x.grad)
    assert grads[0].abs().sum() > 0
    assert torch.allclose(grads[0], grads[1], rtol=1e-4, atol=1e-6)


def test_ddim_inversion_roundtrip_gaussian():
    """For N(mu, s^2) data the ideal denoiser is analytic and the ODE solution is known in closed form."""
    mu, s = 0.3, 0.5

    def gaussian_denoiser(x, sigma, cond=None):
        sig = sigma.view(-1, *([1] * (x.ndim - 1)))
        return mu + s ** 2 / (s ** 2 + sig ** 2) * (x - mu)

    x0 = mu + s * _x(4, 3, 16)
    sigmas = karras_sigmas(500, 0.002, 80.0, rho=7.0).double()   # Euler is first order: error ~ 1/n
    x0 = x0.double()
    xT = invert_ddim(gaussian_denoiser, x0, sigmas.flip(0))
    exact = mu + (x0 - mu) * (s ** 2 + 80.0 ** 2) ** 0.5 / s
    assert torch.allclose(xT - mu, exact - mu, rtol=1e-2)
    back = sample_euler(gaussian_denoiser, xT, sigmas)
    assert torch.allclose(back, x0, atol=2e-2)
    with pytest.raises(ValueError):
        invert_ddim(gaussian_denoiser, x0, sigmas)
