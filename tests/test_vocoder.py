"""The neural vocoder: its network, the log-spectral distance it is judged by, its training task and its commands."""
import dataclasses

import numpy as np
import pytest
import torch
from conftest import tone

from ditto2.audio import mel as M
from ditto2.audio.neural_vocoder import NeuralVocoder, VocoderConfig, VocoderNet
from ditto2.audio.vocoder import GriffinLim
from ditto2.cli import main
from ditto2.errors import InputError, MissingResourceError
from ditto2.eval.spectral import LSD_SIZES, log_spectral_distance

TINY_VOCODER = VocoderConfig(dim=16, hidden=32, blocks=2)


def test_network_maps_frames_to_hop_samples_and_round_trips_its_release(tmp_path):
    torch.manual_seed(0)
    net = VocoderNet(TINY_VOCODER)
    mel = torch.rand(2, M.N_MELS, 40) * 2 - 1
    wave = net(mel)
    assert wave.shape == (2, 40 * M.HOP) and torch.isfinite(wave).all()
    # Frames are independent beyond the receptive field: the first clip's output does not depend on the second.
    assert torch.allclose(net(mel[:1])[0], wave[0], atol=1e-5)
    net.save_pretrained(tmp_path / "v.safetensors", {"steps": 0})
    loaded = NeuralVocoder.from_pretrained(tmp_path / "v.safetensors")
    assert loaded.net.config == TINY_VOCODER
    assert torch.allclose(loaded(mel), net(mel).clamp(-1, 1), atol=5e-3)  # fp16 weights
    assert loaded(mel[0]).shape == (40 * M.HOP,)


def test_log_spectral_distance_orders_resyntheses():
    clean = tone([220, 330, 440], seconds=1.0)
    rng = np.random.default_rng(0)
    assert log_spectral_distance(clean, clean)["lsd"] == 0.0
    slightly = log_spectral_distance(clean, clean + 1e-5 * rng.standard_normal(len(clean)))
    noise = log_spectral_distance(clean, 0.1 * rng.standard_normal(len(clean)))
    griffin = log_spectral_distance(clean, GriffinLim()(M.wave_to_mel(torch.from_numpy(clean))).numpy())
    assert set(slightly) == {"lsd", *(f"lsd_{n}" for n in LSD_SIZES)}
    assert 0 < slightly["lsd"] < griffin["lsd"] < noise["lsd"]


def test_lsd_loss_is_the_metric_and_trains_towards_the_reference():
    from ditto2.eval.spectral import lsd_loss

    clean = torch.from_numpy(tone([220, 330, 440], seconds=0.5)).float()
    noisy = clean + 0.01 * torch.randn(len(clean), generator=torch.Generator().manual_seed(0))
    metric = log_spectral_distance(clean.numpy(), noisy.numpy())["lsd"]
    estimate = noisy.clone().unsqueeze(0).requires_grad_(True)
    loss = lsd_loss(clean.unsqueeze(0), estimate)
    assert loss.item() == pytest.approx(metric, rel=1e-3)
    loss.backward()
    with torch.no_grad():  # a small step against the gradient brings the estimate nearer, by the metric's own measure
        stepped = estimate - 1e-4 * estimate.grad / estimate.grad.abs().max()
    assert log_spectral_distance(clean.numpy(), stepped[0].numpy())["lsd"] < metric


def test_a_split_without_audio_is_refused_by_name(tiny_dataset):
    from ditto2.data.arrays import SplitArrays

    with pytest.raises(InputError, match="keeps no audio"):
        SplitArrays(tiny_dataset, "train", audio=True)
    assert SplitArrays(tiny_dataset, "validation", audio=True).audio.dtype == np.int16


def test_training_batches_align_mel_and_audio_and_the_loss_falls(tiny_audio_dataset, tmp_path, one_thread):
    from ditto2.train import loop
    from ditto2.train.vocoder import VocoderTask

    task = VocoderTask(str(tiny_audio_dataset), model=TINY_VOCODER, crop=16, val_clips=2)
    batch = next(task.batches(3, seed=0, rank=0, world_size=1, start=0))
    assert batch["mel"].shape == (3, M.N_MELS, 16) and batch["audio"].shape == (3, 16 * M.HOP)
    # The crop's audio is the stored mel's: recomputing the mel from it matches away from the crop's edges.
    recomputed = M.wave_to_mel(batch["audio"])
    assert (recomputed - batch["mel"])[..., 3:-3].abs().mean() < 0.02

    model = task.build_model()
    fixed = loop.LoopConfig(steps=1, batch_size=3)
    before = task.loss(model, batch, None).item()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(30):
        opt.zero_grad()
        task.loss(model, batch, None).backward()
        opt.step()
    assert task.loss(model, batch, None).item() < 0.8 * before
    figures = task.validate(model)
    assert {"lsd", "lsd_griffinlim", "lsd_ratio"} <= set(figures) and figures["lsd_griffinlim"] > 0

    record = loop.run(task, tmp_path / "run", dataclasses.replace(fixed, steps=2, log_every=1, ckpt_every=2,
                                                                  val_every=2, sample_every=2), progress=False)
    assert record["step"] == 2 and (tmp_path / "run" / "release.safetensors").is_file()
    assert list((tmp_path / "run" / "samples").glob("vocoder-*.png"))


def test_critics_separate_real_audio_from_noise_when_trained(one_thread):
    from ditto2.audio.discriminators import DiscriminatorConfig, Discriminators, critic_loss, generator_losses

    torch.manual_seed(0)
    critics = Discriminators(DiscriminatorConfig(periods=(2, 3), ffts=(256,), channels=(4, 8)))
    real = torch.from_numpy(np.stack([tone([220, 330], seconds=0.5), tone([262, 392], seconds=0.5)]))
    fake = 0.05 * torch.randn_like(real)
    opt = torch.optim.Adam(critics.parameters(), lr=1e-2)
    first = critic_loss(critics(real), critics(fake)).item()
    for _ in range(20):
        opt.zero_grad()
        critic_loss(critics(real), critics(fake)).backward()
        opt.step()
    assert critic_loss(critics(real), critics(fake)).item() < 0.5 * first
    adversarial, matching = generator_losses(critics(real), critics(fake))
    assert adversarial > 0.5 and matching > 0  # noise is now told apart: scores near 0, features unlike real ones
    assert generator_losses(critics(real), critics(real))[1] == 0


def test_adversarial_training_resumes_and_releases_the_generator_alone(tiny_audio_dataset, tmp_path, one_thread):
    from safetensors.torch import load_file

    from ditto2.audio.discriminators import DiscriminatorConfig
    from ditto2.train import loop
    from ditto2.train.vocoder import VocoderGAN, VocoderTask

    torch.manual_seed(0)
    plain = VocoderNet(TINY_VOCODER)
    plain.save_pretrained(tmp_path / "plain.safetensors", {"steps": 0})
    task = VocoderTask(str(tiny_audio_dataset), model=TINY_VOCODER, crop=16, val_clips=2, adv_weight=1.0,
                       critics=DiscriminatorConfig(periods=(2,), ffts=(256,), channels=(4, 8)))
    model = task.build_model()
    assert isinstance(model, VocoderGAN)
    batch = next(task.batches(2, seed=0, rank=0, world_size=1, start=0))
    loss = task.loss(model, batch, None)
    loss.backward()
    assert all(p.grad is not None for p in model.discriminator.parameters())  # the critics learn ...
    assert all(p.grad is not None for p in model.blocks.parameters())  # ... and so does the generator

    cfg = loop.LoopConfig(steps=2, batch_size=2, log_every=1, ckpt_every=1, val_every=2)
    record = loop.run(task, tmp_path / "gan", cfg, init=tmp_path / "plain.safetensors", progress=False)  # fresh critics
    assert record["step"] == 2 and np.isfinite(record["val_lsd"])
    released = load_file(str(tmp_path / "gan" / "release.safetensors"))
    assert not any(k.startswith("discriminator.") for k in released)
    assert NeuralVocoder.from_pretrained(tmp_path / "gan" / "release.safetensors").net.config == TINY_VOCODER
    assert loop.run(task, tmp_path / "gan", dataclasses.replace(cfg, steps=3), progress=False)["step"] == 3  # resumed
    assert any(k.startswith("model.discriminator.") for k in load_file(str(tmp_path / "gan" / loop.LAST)))


def test_gain_augmentation_scales_each_crop_and_recomputes_its_mel(tiny_audio_dataset):
    from ditto2.train.vocoder import VocoderTask

    plain = VocoderTask(str(tiny_audio_dataset), model=TINY_VOCODER, crop=16, val_clips=2)
    loud = VocoderTask(str(tiny_audio_dataset), model=TINY_VOCODER, crop=16, val_clips=2, gain_db=12.0)
    before = next(plain.batches(4, seed=0, rank=0, world_size=1, start=5))
    after = next(loud.batches(4, seed=0, rank=0, world_size=1, start=5))
    ratio_db = 20 * torch.log10(after["audio"].abs().amax(-1) / torch.as_tensor(before["audio"]).abs().amax(-1))
    assert (ratio_db >= -6.01).all() and (ratio_db <= 12.01).all() and ratio_db.std() > 0.5  # a gain per crop
    assert torch.allclose(after["mel"], M.wave_to_mel(after["audio"]))  # the mel is the scaled audio's
    again = next(loud.batches(4, seed=0, rank=0, world_size=1, start=5))
    assert torch.equal(again["audio"], after["audio"])  # batch k stays a function of (seed, rank, k): exact resume


def test_the_lsd_term_adds_the_evaluations_distance_to_the_loss(tiny_audio_dataset, one_thread):
    from ditto2.eval.spectral import lsd_loss
    from ditto2.train.vocoder import VocoderTask

    plain = VocoderTask(str(tiny_audio_dataset), model=TINY_VOCODER, crop=16, val_clips=2)
    weighted = VocoderTask(str(tiny_audio_dataset), model=TINY_VOCODER, crop=16, val_clips=2, lsd_weight=0.5)
    batch = next(plain.batches(2, seed=0, rank=0, world_size=1, start=0))
    model = plain.build_model().eval()
    with torch.no_grad():
        expected = 0.5 * lsd_loss(torch.as_tensor(batch["audio"]), model(batch["mel"]).float())
        assert weighted.loss(model, batch, None) - plain.loss(model, batch, None) == pytest.approx(expected.item(), rel=1e-4)
    assert weighted.config()["lsd_weight"] == 0.5


def test_a_grown_vocoder_starts_as_its_release_and_trains_the_new_blocks(tiny_audio_dataset, tmp_path, one_thread,
                                                                         capsys):
    from ditto2.train import loop
    from ditto2.train.vocoder import VocoderTask

    torch.manual_seed(0)
    VocoderNet(TINY_VOCODER).save_pretrained(tmp_path / "small.safetensors", {"steps": 5})
    small = VocoderNet.from_pretrained(tmp_path / "small.safetensors")
    grown_config = dataclasses.replace(TINY_VOCODER, blocks=TINY_VOCODER.blocks + 2, grown=2)
    task = VocoderTask(str(tiny_audio_dataset), model=grown_config, crop=16, val_clips=2)
    cfg = loop.LoopConfig(steps=6, batch_size=2, lr=1e-2, warmup=1, log_every=1, ckpt_every=3, val_every=100)
    grown = task.build_model()
    release_of = loop._restore(tmp_path / "new-run", grown, task.build_model(), None, tmp_path / "small.safetensors")
    mel = torch.randn(1, M.N_MELS, 24)
    assert release_of.step == 5 and torch.allclose(grown(mel), small(mel), atol=1e-6)  # the release's function
    loop.run(task, tmp_path / "grown", cfg, init=tmp_path / "small.safetensors", progress=False)
    trained = VocoderNet.from_pretrained(tmp_path / "grown" / "release.safetensors")
    assert trained.config.blocks == TINY_VOCODER.blocks + 2
    assert all(b.gamma.abs().max() > 0 for b in trained.blocks[TINY_VOCODER.blocks:])  # the new blocks took part
    assert main(["train", "vocoder", "--run", str(tmp_path / "x"), "--grow", "2"]) == 2  # nothing to grow from
    assert "--grow 2" in capsys.readouterr().err


def test_vocode_cli_with_either_vocoder(tmp_path):
    import soundfile as sf

    src = tmp_path / "in.wav"
    sf.write(src, tone([262, 392], seconds=0.5), 22050)
    assert main(["vocode", str(src), "-o", str(tmp_path / "gl.wav"), "--vocoder", "griffinlim"]) == 0
    out, rate = sf.read(tmp_path / "gl.wav")
    assert rate == 22050 and len(out) == (len(tone([262, 392], seconds=0.5)) // M.HOP) * M.HOP

    models = tmp_path / "models"
    models.mkdir()
    assert main(["vocode", str(src), "-o", str(tmp_path / "n.wav"), "--vocoder", "neural", "--models",
                 str(models)]) == 2  # no weights there: a one-line error naming the file
    with pytest.raises(MissingResourceError, match="vocoder.safetensors"):
        from ditto2.models import load_vocoder

        load_vocoder("neural", models)
    VocoderNet(TINY_VOCODER).save_pretrained(models / "vocoder.safetensors", {"steps": 0})
    assert main(["vocode", str(src), "-o", str(tmp_path / "n.wav"), "--vocoder", "neural", "--models",
                 str(models)]) == 0
    assert sf.read(tmp_path / "n.wav")[0].shape == out.shape
    assert main(["vocode", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "x.wav")]) == 2


def test_each_use_defaults_to_the_vocoder_that_measures_better_there(tmp_path):
    from ditto2.audio.neural_vocoder import NeuralVocoder
    from ditto2.models import load_vocoder

    models = tmp_path / "models"
    models.mkdir()
    assert isinstance(load_vocoder(None, models, uncontrolled=True), GriffinLim)  # no neural weights: Griffin-Lim
    VocoderNet(TINY_VOCODER).save_pretrained(models / "vocoder.safetensors", {"steps": 0})
    assert isinstance(load_vocoder(None, models, uncontrolled=True), NeuralVocoder)
    assert isinstance(load_vocoder(None, models), GriffinLim)  # controlled generation
    assert isinstance(load_vocoder("griffinlim", models, uncontrolled=True), GriffinLim)


def test_eval_vocoder_scores_both_vocoders_on_held_out_audio(tiny_dataset, tmp_path):
    import json

    VocoderNet(TINY_VOCODER).save_pretrained(tmp_path / "v.safetensors", {"steps": 0})
    assert main(["eval", "vocoder", "--data", str(tiny_dataset), "-n", "2", "--weights", str(tmp_path / "v.safetensors"),
                 "--out", str(tmp_path / "eval")]) == 0
    figures = json.loads((tmp_path / "eval" / "vocoders.json").read_text())
    assert figures["clips"] == 2 and (tmp_path / "eval" / "vocoders.png").is_file()
    # An untrained network is further from the original than Griffin-Lim: the distance tells them apart.
    assert figures["neural"]["lsd"] > figures["griffinlim"]["lsd"] > 0
    assert main(["eval", "vocoder", "--data", str(tiny_dataset), "-n", "0"]) == 2
