"""Mel features: shapes, gradients, and agreement with their audio twins on synthesised music.

The agreement thresholds sit below the figures measured when the features were written (see
docs/features.md), leaving a margin for library and platform differences.
"""
import numpy as np
import pytest
import torch

from ditto2.audio import mel as M
from ditto2.audio.vocoder import GriffinLim
from ditto2.errors import InputError
from ditto2.features import (chroma, chroma_audio, intensity_db, intensity_db_audio, melody_accuracy,
                             melody_log_probs, melody_nll, mfcc, mfcc_audio, pearson, ssm, ssm_audio,
                             structure_from_audio, structure_from_string)
from ditto2.features.smoothing import smooth_time, smooth_time_np

SR = M.SAMPLE_RATE
NOTES = [64, 69, 81, 62, 77, 72, 60, 74, 79, 65, 71, 84, 67, 76, 83, 72]  # C4..C6, every pitch class but 3


def tune(notes=NOTES, seed=0, chord_gain=0.7, noise=0.05, db=(-40.0, -10.0), n=M.CLIP_SAMPLES, partials=8):
    """Harmonic melody with random partial weights, triads an octave or two below, hiss, and a crescendo.

    Returns the waveform and the melody's pitch class per frame.
    """
    rng = np.random.default_rng(seed)
    y, seg = np.zeros(n), n // len(notes)
    for i, pitch in enumerate(notes):
        t = np.arange(seg) / SR
        env = np.minimum(1, t / 0.02) * np.exp(-2 * t) * np.minimum(1, (seg - np.arange(seg)) / 200)
        note, amps = slice(i * seg, (i + 1) * seg), rng.uniform(0.3, 1, partials) / np.arange(1, partials + 1)
        y[note] += env * _harmonic(pitch, t, amps)
        for q in (48 + pitch % 12, 52 + pitch % 12, 55 + pitch % 12):  # triad below the tune
            y[note] += chord_gain / 3 * env * _harmonic(q, t, 1 / np.arange(1, 6) ** 1.5)
    y += noise * rng.standard_normal(n)
    y *= 10 ** (np.linspace(*db, n) / 20) / np.sqrt(np.mean(y**2))
    truth = np.repeat(np.array(notes) % 12, seg)[::M.HOP][: n // M.HOP]
    return y.astype(np.float32), truth


def _harmonic(pitch, t, amps):
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    return sum(a * np.sin(2 * np.pi * (k + 1) * f0 * t) for k, a in enumerate(amps) if (k + 1) * f0 < 10000)


def two_timbres(form="ABBA", n=M.CLIP_SAMPLES, seed=1):
    """Sections of a bright, noisy tone (A) or a dull pure tone (B), same pitch and level."""
    rng, seg = np.random.default_rng(seed), n // len(form)
    t = np.arange(seg) / SR
    parts = {"A": _harmonic(57, t, np.ones(12)) + 0.3 * rng.standard_normal(seg), "B": _harmonic(57, t, [1.0])}
    y = np.concatenate([parts[c] / np.sqrt(np.mean(parts[c] ** 2)) for c in form])
    return (0.1 * np.pad(y, (0, n - y.size))).astype(np.float32)


@pytest.fixture(scope="module")
def music():
    wave, truth = tune()
    return wave, M.wave_to_mel(torch.from_numpy(wave)), truth


@pytest.fixture(scope="module")
def rendered(music):
    """The clip's mel rendered by Griffin-Lim: what evaluation measures after a generation."""
    return GriffinLim(n_iter=16)(music[1]).numpy()


MEL_FEATURES = {"intensity_db": (intensity_db, lambda T: (T,)), "chroma": (chroma, lambda T: (12, T)),
                "melody_log_probs": (melody_log_probs, lambda T: (12, T)), "mfcc": (mfcc, lambda T: (13, T)),
                "ssm": (ssm, lambda T: (-(-T // 8),) * 2)}


@pytest.mark.parametrize("name", MEL_FEATURES)
def test_mel_feature_shapes_batched_and_unbatched(name, music):
    feature, shape = MEL_FEATURES[name]
    x = music[1][:, :100]
    batch = torch.stack([x, x.flip(-1)])
    one, many = feature(x), feature(batch)
    assert one.shape == shape(100) and many.shape == (2, *shape(100))
    torch.testing.assert_close(many[0], one, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", MEL_FEATURES)
def test_gradients_flow_through_mel_features(name, music):
    x = (music[1][:, :96] * 0.9).requires_grad_(True)
    out = MEL_FEATURES[name][0](x.unsqueeze(0))
    (out * torch.randn_like(out)).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def _nnls_fully_differentiated(mel_mag, n_iter=10):
    """The NNLS of ``mel_to_linear`` with every update under autograd (the exact gradient)."""
    basis = M.mel_basis(mel_mag.device, mel_mag.dtype)
    spec = torch.matmul(torch.from_numpy(M.mel_pinv_np()), mel_mag).clamp_min(1e-6)
    target = torch.matmul(basis.T, mel_mag)
    for _ in range(n_iter):
        spec = spec * target / torch.matmul(basis.T, torch.matmul(basis, spec)).clamp_min(1e-10)
    return spec


def test_nnls_shortcut_keeps_the_value_and_the_gradient_direction(music):
    """mel_to_linear differentiates only its last update: the same spectrum, a gradient along the exact one."""
    from ditto2.audio.vocoder import mel_to_linear

    weights = torch.randn(1, 96, generator=torch.Generator().manual_seed(0))
    grads, values = [], []
    for nnls in (mel_to_linear, _nnls_fully_differentiated):
        x = music[1][:, :96].clone().requires_grad_(True)
        spec = nnls(M.mel_to_magnitude(x))
        (spec.square().sum(0) * weights).sum().backward()
        grads.append(x.grad.flatten())
        values.append(spec.detach())
    torch.testing.assert_close(values[0], values[1])
    assert torch.nn.functional.cosine_similarity(grads[0], grads[1], dim=0) > 0.98
    assert 0.8 < grads[0].norm() / grads[1].norm() < 1.25


def test_controls_run_in_fp32_under_bf16_autocast(music):
    """The controls' features must not round the mel to bf16 (their matmuls would, under autocast)."""
    from ditto2.controls import IntensityControl
    from ditto2.controls.base import total_loss
    from ditto2.features import intensity_curve

    control = IntensityControl(intensity_curve([-35, -15]))
    mel = music[1][None, :, : M.CLIP_FRAMES]
    plain = total_loss([control], mel)[0]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        cast = total_loss([control], mel)[0]
    assert cast.dtype == torch.float32
    torch.testing.assert_close(cast, plain)


def test_gradients_flow_through_losses(music):
    x = music[1][:, :96].clone().requires_grad_(True)
    nll = melody_nll(melody_log_probs(x), torch.from_numpy(music[2][:96]))
    rho = pearson(intensity_db(x), np.linspace(-40, -20, 96))
    (nll - rho).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_bad_mel_names_the_input():
    for bad in (torch.zeros(64, 10), torch.zeros(80), torch.zeros(1, 1, 80, 10)):
        with pytest.raises(InputError, match="mel"):
            intensity_db(bad)
    with pytest.raises(InputError, match="temperature"):
        melody_log_probs(torch.zeros(80, 4), temperature=0)


# --- intensity ---------------------------------------------------------------------------------

def test_smoothing_twins_are_identical():
    x = np.random.default_rng(0).normal(size=(3, 200))
    np.testing.assert_allclose(smooth_time(torch.from_numpy(x), 87, 1).numpy(), smooth_time_np(x, 87, 1), atol=1e-9)


def test_intensity_agrees_with_audio(music):
    wave, x, _ = music
    audio, mel = intensity_db_audio(wave), intensity_db(x).numpy()
    loud = audio > -60
    assert mel.shape == audio.shape == (M.CLIP_FRAMES,)
    assert np.abs(mel - audio)[loud].mean() < 1.5  # measured 0.74 dB (the mel route reads low)
    assert pearson(torch.from_numpy(mel), np.linspace(-40, -10, mel.size)) > 0.95  # the crescendo


def test_intensity_predicts_the_rendered_level(music, rendered):
    loud = intensity_db_audio(rendered) > -60
    error = np.abs(intensity_db(music[1]).numpy() - intensity_db_audio(rendered))[loud].mean()
    assert error < 0.5  # measured 0.13 dB: the feature is the level the vocoder renders


def test_intensity_floor_is_smooth():
    silent = torch.full((80, 200), -1.0, requires_grad=True)
    level = intensity_db(silent)
    level.sum().backward()
    assert level.min() >= -80.0 and level.max() < -79.0 and torch.isfinite(silent.grad).all()
    assert intensity_db_audio(np.zeros(4096)).min() == pytest.approx(-80.0)


def test_pearson():
    a = torch.linspace(0, 1, 50)
    assert pearson(a, 2 * a + 3).item() == pytest.approx(1.0, abs=1e-5)
    assert pearson(a, -a).item() == pytest.approx(-1.0, abs=1e-5)
    flat = torch.zeros(50, requires_grad=True)
    pearson(flat, a).backward()
    assert torch.isfinite(flat.grad).all()


# --- chroma / melody ---------------------------------------------------------------------------

def test_chroma_agrees_with_audio(music):
    wave, x, truth = music
    sounding = intensity_db_audio(wave, smooth=False) > -60
    mel_pc, audio_pc = chroma(x).argmax(0).numpy(), chroma_audio(wave).argmax(0)
    assert audio_pc.shape == (M.CLIP_FRAMES,)
    assert np.mean(mel_pc[sounding] == audio_pc[sounding]) > 0.93  # measured 0.992
    assert melody_accuracy(chroma(x), np.where(sounding, truth, -1)) > 0.93  # measured 0.990
    assert melody_accuracy(chroma_audio(wave), np.where(sounding, truth, -1)) > 0.97  # measured 0.998


def test_chroma_on_rendered_audio(music, rendered):
    sounding = intensity_db_audio(music[0], smooth=False) > -60
    agree = np.mean(chroma(music[1]).argmax(0).numpy()[sounding] == chroma_audio(rendered).argmax(0)[sounding])
    assert agree > 0.93  # measured 0.996


def test_melody_nll_prefers_the_true_melody(music):
    x, truth = music[1], torch.from_numpy(music[2])
    log_probs = melody_log_probs(x)
    assert torch.allclose(log_probs.exp().sum(0), torch.ones(x.shape[-1]), atol=1e-5)
    assert melody_nll(log_probs, truth) < melody_nll(log_probs, (truth + 6) % 12)
    sharper = melody_nll(melody_log_probs(x, temperature=0.5), truth)
    assert sharper < melody_nll(log_probs, truth)  # mostly-right frames gain from sharpening


def test_melody_loss_ignores_silence(music):
    log_probs = melody_log_probs(music[1])
    truth = torch.from_numpy(music[2])
    half = torch.where(torch.arange(truth.numel()) < 256, truth, torch.full_like(truth, -1))
    mask = torch.arange(truth.numel()) < 256
    assert melody_nll(log_probs, half) == pytest.approx(melody_nll(log_probs, truth, voiced=mask).item())
    batched = melody_nll(torch.stack([log_probs, log_probs]), half)
    assert batched == pytest.approx(melody_nll(log_probs, half).item(), rel=1e-5)
    with pytest.raises(InputError, match="target_pc"):
        melody_nll(log_probs, torch.full_like(truth, -1))
    with pytest.raises(InputError, match="target_pc"):
        melody_nll(log_probs, truth[:10])
    with pytest.raises(InputError, match="target_pc"):
        melody_accuracy(log_probs, truth + 12)


# --- structure ---------------------------------------------------------------------------------

def test_mfcc_and_ssm_agree_with_audio(music, rendered):
    wave, x, _ = music
    np.testing.assert_allclose(mfcc(x).numpy(), mfcc_audio(wave), atol=1e-3 * np.abs(mfcc_audio(wave)).max())
    same = np.corrcoef(ssm(x).numpy().ravel(), ssm_audio(wave).ravel())[0, 1]
    after = np.corrcoef(ssm(x).numpy().ravel(), ssm_audio(rendered).ravel())[0, 1]
    assert same > 0.999 and after > 0.97  # measured 1.0000 and 0.993


def test_ssm_is_a_similarity_matrix(music):
    s = ssm(music[1])
    torch.testing.assert_close(s, s.T)
    torch.testing.assert_close(torch.diagonal(s), torch.ones(64), atol=1e-4, rtol=0)
    assert s.min() >= 0 and s.max() <= 1 + 1e-5


def test_ssm_sees_an_abba_form():
    wave = two_timbres("ABBA")
    target = structure_from_string("ABBA")
    got = ssm(M.wave_to_mel(torch.from_numpy(wave))).numpy()
    assert np.corrcoef(got.ravel(), target.ravel())[0, 1] > 0.9
    assert np.corrcoef(structure_from_audio(wave).ravel(), target.ravel())[0, 1] > 0.9
    assert np.corrcoef(got.ravel(), structure_from_string("AABB").ravel())[0, 1] < 0.2
