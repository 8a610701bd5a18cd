import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ditto2.errors import InputError, MissingResourceError
from ditto2.precision import autocast_for
from ditto2.release import load_release, read_meta, save_release
from ditto2.train import loop


class ToyTask:
    """Linear regression with batch k a pure function of (seed, k): exercises the loop, not a model."""

    name = "toy"

    def __init__(self, nan_at: int | None = None):
        self.nan_at, self.calls = nan_at, 0
        self.true_w = torch.linspace(-1, 1, 8)

    def build_model(self):
        return torch.nn.Linear(8, 1)

    def config(self):
        return {"toy": True}

    def batches(self, batch_size, seed, rank, world_size, start):
        k = start
        while True:
            g = torch.Generator().manual_seed(seed * 10_000 + rank * 1000 + k)
            x = torch.randn(batch_size, 8, generator=g)
            yield {"x": x, "y": x @ self.true_w}
            k += 1

    def loss(self, model, batch, generator):
        self.calls += 1
        noise = 0.01 * torch.randn(batch["y"].shape, generator=generator)
        err = (model(batch["x"]).squeeze(-1) - batch["y"] - noise).square().mean()
        return err * float("nan") if self.calls == self.nan_at else err

    def validate(self, ema):
        return {"w_error": float((ema.weight[0] - self.true_w).abs().mean())}

    def samples(self, ema, step, out_dir):
        pass

    def release(self, ema, path, info):
        save_release(path, ema, self.config(), info)


CFG = loop.LoopConfig(steps=40, batch_size=16, lr=0.05, warmup=5, log_every=5, ckpt_every=10, val_every=20)


def _weights(run_dir):
    from safetensors.torch import load_file

    return load_file(str(run_dir / loop.LAST))


def test_loop_learns_and_logs(tmp_path):
    record = loop.run(ToyTask(), tmp_path, CFG, progress=False)
    log = loop.read_log(tmp_path)
    assert record["step"] == 40 and log[-1]["step"] == 40
    assert log[-1]["loss"] < 0.1 * log[0]["loss"]
    assert "val_w_error" in log[-1] and (tmp_path / "release.safetensors").is_file()


def test_resume_after_interrupt_equals_uninterrupted(tmp_path):
    loop.run(ToyTask(), tmp_path / "straight", CFG, progress=False)
    import dataclasses

    loop.run(ToyTask(), tmp_path / "resumed", dataclasses.replace(CFG, steps=20), progress=False)
    loop.run(ToyTask(), tmp_path / "resumed", CFG, progress=False)  # a new process would do the same
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    for key in ("model.weight", "ema.weight", "opt.0.exp_avg"):
        assert torch.equal(a[key], b[key]), key


def test_the_best_validated_release_is_kept_across_a_resume(tmp_path):
    import dataclasses
    import json

    cfg = dataclasses.replace(CFG, val_every=5)
    loop.run(ToyTask(), tmp_path, dataclasses.replace(cfg, steps=20), progress=False)
    loop.run(ToyTask(), tmp_path, cfg, progress=False)
    vals = [(r["val_w_error"], r["step"]) for r in loop.read_log(tmp_path) if "val_w_error" in r]
    info = json.loads((tmp_path / "best.json").read_text())["info"]
    assert (info["val_value"], info["steps"]) == min(vals) and info["val_key"] == "val_w_error"
    best = load_release(tmp_path / loop.BEST, torch.nn.Linear(8, 1))
    assert best["info"]["steps"] == min(vals)[1]


def test_failed_training_keeps_last_good_checkpoint(tmp_path):
    import dataclasses

    loop.run(ToyTask(), tmp_path, dataclasses.replace(CFG, steps=10), progress=False)
    before = (tmp_path / loop.LAST).read_bytes()
    with pytest.raises(RuntimeError, match="loss became nan"):
        loop.run(ToyTask(nan_at=3), tmp_path, CFG, progress=False)
    assert (tmp_path / loop.LAST).read_bytes() == before


def test_warm_start_from_release(tmp_path):
    import dataclasses

    loop.run(ToyTask(), tmp_path / "a", dataclasses.replace(CFG, steps=10), progress=False)
    record = loop.run(ToyTask(), tmp_path / "b", dataclasses.replace(CFG, steps=15, log_every=1),
                      init=tmp_path / "a" / "release.safetensors", progress=False)
    log = loop.read_log(tmp_path / "b")
    assert record["step"] == 15 and log[0]["step"] == 11
    # Fresh Adam moments: the learning rate warms up again from the warm-start step.
    assert log[0]["lr"] == pytest.approx(CFG.lr / CFG.warmup) and log[-1]["lr"] == pytest.approx(CFG.lr)


def test_checkpoint_errors(tmp_path):
    with pytest.raises(MissingResourceError):
        read_meta(tmp_path / "none.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(InputError, match="bad.safetensors"):
        read_meta(tmp_path / "bad.safetensors")
    save_release(tmp_path / "lin.safetensors", torch.nn.Linear(4, 2), {"a": 1})
    with pytest.raises(InputError, match="do not match"):
        load_release(tmp_path / "lin.safetensors", torch.nn.Linear(5, 2))


def test_bad_loop_settings_are_rejected(tmp_path):
    import dataclasses

    with pytest.raises(InputError, match="steps"):
        loop.run(ToyTask(), tmp_path, dataclasses.replace(CFG, steps=0), progress=False)
    with pytest.raises(InputError, match="precision"):
        loop.run(ToyTask(), tmp_path, dataclasses.replace(CFG, precision="fp8"), progress=False)


def test_bf16_training_step_is_mixed_precision_and_learns_like_fp32(tmp_path):
    import dataclasses

    with autocast_for(torch.device("cpu"), "bf16"):
        assert torch.nn.Linear(4, 2)(torch.randn(3, 4)).dtype == torch.bfloat16
    with autocast_for(torch.device("cpu"), "fp32"):
        assert torch.nn.Linear(4, 2)(torch.randn(3, 4)).dtype == torch.float32
    runs = {p: loop.run(ToyTask(), tmp_path / p, dataclasses.replace(CFG, precision=p), progress=False)
            for p in ("fp32", "bf16")}
    a, b = _weights(tmp_path / "fp32"), _weights(tmp_path / "bf16")
    assert a["model.weight"].dtype == b["model.weight"].dtype == torch.float32  # fp32 master weights
    assert not torch.equal(a["model.weight"], b["model.weight"])  # bf16 was really used ...
    assert (a["model.weight"] - b["model.weight"]).abs().max() < 0.05  # ... and learnt the same
    assert runs["bf16"]["loss"] < 0.1 and abs(runs["bf16"]["loss"] - runs["fp32"]["loss"]) < 0.02


def _check_latent_batches(teacher, root):
    """Batches are windows of whole-clip latents, encoded once, cached beside the dataset, reused."""
    import numpy as np

    from ditto2.train.data import split_latents

    (cache,) = (root / "cache").glob("latents-train-*.npy")
    latents, mtime = teacher.train_latents, cache.stat().st_mtime_ns
    with torch.no_grad():
        whole = teacher.ae.to_latent(torch.from_numpy(teacher.train.mel[:2].astype(np.float32)))
    assert torch.allclose(torch.from_numpy(np.asarray(latents[:2], np.float32)), whole, atol=0.02)
    batch = next(teacher.batches(3, seed=4, rank=0, world_size=1, start=7))
    rng = np.random.default_rng([4, 0, 7])  # crop_batches' draws for batch 7: clips, then offsets
    idx = rng.integers(len(latents), size=3)
    offsets = rng.integers(0, latents.shape[-1] - 8 + 1, size=3)  # crop 32 mel frames = 8 latent frames
    expected = np.stack([latents[i, ..., o: o + 8] for i, o in zip(idx, offsets)]).astype(np.float32)
    assert torch.equal(batch["latent"], torch.from_numpy(expected)) and batch["text"].shape == (3, 384)
    again = split_latents(teacher.ae, teacher.ae_digest, root, "train", teacher.train)
    assert np.array_equal(again, latents) and cache.stat().st_mtime_ns == mtime


def test_autoencoder_and_teacher_train_on_tiny_data(tiny_dataset, tmp_path):
    """Two steps of each real task (tiny networks) through the CLI-level classes."""
    import dataclasses

    from ditto2.diffusion import AutoencoderConfig, UNet2DConfig
    from ditto2.train.autoencoder import AutoencoderTask
    from ditto2.train.teacher import TeacherTask

    small = dataclasses.replace(CFG, steps=2, batch_size=2, log_every=1, ckpt_every=2, val_every=2, sample_every=2)
    ae = AutoencoderTask(str(tiny_dataset), model=AutoencoderConfig(channels=(8, 8)), crop=32, val_clips=2,
                         stats_clips=4)
    loop.run(ae, tmp_path / "ae", small, progress=False)
    net = UNet2DConfig(in_channels=8, channels=(8, 16), res_blocks=1, attention=False, cond_dim=384,
                       emb_dim=16, n_freqs=4, norm_groups=4).to_dict()
    teacher = TeacherTask(str(tiny_dataset), str(tmp_path / "ae" / "release.safetensors"), network=net, crop=32,
                          val_clips=2)
    record = loop.run(teacher, tmp_path / "teacher", small, progress=False)
    assert record["step"] == 2 and "val_loss" in record
    assert list((tmp_path / "teacher" / "samples").glob("*.png"))
    _check_latent_batches(teacher, tiny_dataset)

    # The released pair loads as a Teacher and samples through the CLI.
    import shutil

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(tmp_path / "ae" / "release.safetensors", models / "autoencoder.safetensors")
    shutil.copy(tmp_path / "teacher" / "release.safetensors", models / "teacher.safetensors")
    from ditto2.cli import main

    assert main(["sample", "--models", str(models), "-o", str(tmp_path / "s.wav"), "-n", "2", "--steps", "2",
                 "--text", "a slow chorale for organ"]) == 0
    assert (tmp_path / "s_0.wav").is_file() and (tmp_path / "s_1.wav").is_file()
    from ditto2.models import Teacher

    pair = Teacher.load(models)
    a = pair.initial_noise([5, 6])
    b = pair.initial_noise([6])
    assert torch.equal(a[1], b[0]), "a sample's noise must not depend on its batch"
    with torch.no_grad():
        assert torch.equal(pair.sample(a, steps=2), pair.sample(a, steps=2))

    # A CTD student distilled from that teacher samples through the CLI with a k-step decode.
    from ditto2.train.distill import DistillTask

    distill = DistillTask(str(tiny_dataset), str(models / "teacher.safetensors"), str(models / "autoencoder.safetensors"),
                          method="ctd", crop=32, val_seeds=(0,), val_frames=32, val_steps=(1,), steering=None)
    loop.run(distill, tmp_path / "ctd", dataclasses.replace(small, sample_every=0), progress=False)
    shutil.copy(tmp_path / "ctd" / "release.safetensors", models / "student_ctd.safetensors")
    assert main(["sample", "--models", str(models), "--model", "ctd", "--decode-steps", "2",
                 "-o", str(tmp_path / "c.wav")]) == 0
    assert (tmp_path / "c.wav").is_file()

    # A teacher next to an autoencoder it was not trained on is refused.
    loop.run(AutoencoderTask(str(tiny_dataset), model=AutoencoderConfig(channels=(8, 8)), crop=32, val_clips=2,
                             stats_clips=4), tmp_path / "ae2", dataclasses.replace(small, seed=1), progress=False)
    shutil.copy(tmp_path / "ae2" / "release.safetensors", models / "autoencoder.safetensors")
    with pytest.raises(InputError, match="another autoencoder"):
        Teacher.load(models)


@pytest.mark.skipif(sys.platform != "linux", reason="torchrun with gloo on Linux")
def test_two_process_training_with_torchrun(tmp_path):
    script = tmp_path / "toy_ddp.py"
    script.write_text(
        "import sys; sys.path.insert(0, %r)\n"
        "from test_train import ToyTask, CFG\n"
        "import dataclasses\n"
        "from ditto2.train import loop\n"
        "loop.run(ToyTask(), %r, dataclasses.replace(CFG, steps=6), progress=False)\n"
        % (str(Path(__file__).parent), str(tmp_path / "run")))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with socket.socket() as probe:  # a free port: a fixed one failed now and then (still in use by an earlier run)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                             "--master_port", str(port), str(script)], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    log = loop.read_log(tmp_path / "run")
    assert log[-1]["step"] == 6 and log[-1]["clips_per_s"] > 0


def test_teacher_cli_takes_the_training_noise_levels(tiny_dataset, tmp_path):
    import json

    from ditto2.cli import main

    run = tmp_path / "teacher"
    common = ["train", "teacher", "--data", str(tiny_dataset), "--run", str(run), "--crop", "32", "--quiet"]
    assert main([*common, "--p-std", "0"]) == 2 and not run.exists()
    assert main([*common, "--high-share", "1.5"]) == 2 and not run.exists()
    assert main([*common, "--p-mean", "-0.5", "--p-std", "1.4", "--high-share", "0.25", "--steps", "1", "--batch-size", "2",
                 "--val-every", "0", "--sample-every", "0", "--threads", "1"]) == 0
    edm = json.loads((run / "config.json").read_text())["task"]["edm"]
    assert (edm["p_mean"], edm["p_std"], edm["high_share"]) == (-0.5, 1.4, 0.25)


def test_auto_precision_follows_the_measured_cpus():
    from ditto2.precision import cpu_has_fast_bf16

    amd = "vendor_id\t: AuthenticAMD\nflags\t\t: fpu avx512f avx512_bf16\n"
    intel_avx512 = "vendor_id\t: GenuineIntel\nflags\t\t: fpu avx512f avx512_bf16\n"
    intel_amx = "vendor_id\t: GenuineIntel\nflags\t\t: fpu avx512_bf16 amx_bf16 amx_tile\n"
    assert cpu_has_fast_bf16(amd) and cpu_has_fast_bf16(intel_amx)
    assert not cpu_has_fast_bf16(intel_avx512)  # measured slower in bf16 than in fp32
    assert not cpu_has_fast_bf16("vendor_id\t: GenuineIntel\nflags\t\t: fpu avx2\n")
