import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ditto2.errors import InputError, MissingResourceError
from ditto2.train import checkpoint as ckpt
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
        ckpt.save_release(path, ema, self.config(), info)


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
        ckpt.read_meta(tmp_path / "none.safetensors")
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(InputError, match="bad.safetensors"):
        ckpt.read_meta(tmp_path / "bad.safetensors")
    ckpt.save_release(tmp_path / "lin.safetensors", torch.nn.Linear(4, 2), {"a": 1})
    with pytest.raises(InputError, match="do not match"):
        ckpt.load_release(tmp_path / "lin.safetensors", torch.nn.Linear(5, 2))


def test_bad_loop_settings_are_rejected(tmp_path):
    import dataclasses

    with pytest.raises(InputError, match="steps"):
        loop.run(ToyTask(), tmp_path, dataclasses.replace(CFG, steps=0), progress=False)


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
                          method="ctd", crop=32, val_seeds=(0,), val_frames=32, val_steps=(1,))
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
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                             "--master_port", "29533", str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    log = loop.read_log(tmp_path / "run")
    assert log[-1]["step"] == 6 and log[-1]["clips_per_s"] > 0
