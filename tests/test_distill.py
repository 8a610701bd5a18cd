"""Students, CD/CTD losses, student samplers and the distillation task, on tiny random models."""
import dataclasses
import json

import numpy as np
import pytest
import torch
from torch import nn

import tiny
from ditto2.diffusion import Denoiser, EDMConfig, UNet2DConfig
from ditto2.diffusion.edm import _sigma_batch
from ditto2.train.steering import SteeringCheck
from ditto2.distill import (CDConfig, CTDConfig, Student, StudentConfig, cd_loss, ctd_loss, pinned_noise,
                            sample_cd_multistep, sample_ctd, sample_one_step, sample_student)
from ditto2.errors import InputError, MissingResourceError

TINY = dataclasses.replace(tiny.TINY_NET, cond_dim=6)
SHAPE = (2, 4, 8)


pytestmark = pytest.mark.usefixtures("one_thread")


def random_teacher(seed: int = 0, config: UNet2DConfig = TINY) -> Denoiser:
    return tiny.random_teacher(seed, config)


def perturb_target_embedding(student: Student) -> Student:
    """Make the target-level embedding non-zero, as after training, so tests do not rely on its zero init."""
    if hasattr(student.net, "target_emb"):
        with torch.no_grad():
            for p in student.net.target_emb.parameters():
                p.add_(0.3 * torch.randn_like(p))
    return student


@pytest.fixture(params=["cd", "ctd"])
def student(request):
    return perturb_target_embedding(Student.from_teacher(random_teacher(), request.param, "t" * 16))


def test_boundary_condition_holds_by_construction(student):
    x = torch.randn(3, *SHAPE) * 5
    cond = torch.randn(3, 6)
    with torch.no_grad():
        for s in (student.sigma_min, 0.3, 7.0, student.sigma_max):
            assert torch.equal(student(x, s, s, cond), x)
        per_sample = torch.tensor([0.5, 2.0, 80.0])
        assert torch.equal(student(x, per_sample, per_sample, cond), x)
        assert torch.equal(student(x, 0.0, 0.0, cond), x)
        # The consistency-model boundary: at sigma_min every jump is the identity (c_skip = 1, c_out = 0).
        assert torch.allclose(student(x, student.sigma_min, 0.0, cond), x, atol=1e-6)
        assert not torch.allclose(student(x, 1.0, 0.0, cond), x, atol=1e-2)


@pytest.mark.parametrize("method", ["cd", "ctd"])
def test_fresh_student_is_the_teacher_x0_prediction(method):
    teacher = random_teacher()
    student = Student.from_teacher(teacher, method)
    x_T = torch.randn(2, *SHAPE) * teacher.sigma_max
    cond = torch.randn(2, 6)
    with torch.no_grad():
        x0 = teacher(x_T, teacher.sigma_max, cond)
        # Equal up to the sigma_min shift of c_skip/c_out (relative 2.5e-5 at sigma_max).
        torch.testing.assert_close(sample_one_step(student, x_T, cond), x0, rtol=1e-3, atol=1e-3)
        # A jump to s > 0 is the DDIM jump along the teacher's prediction.
        x = torch.randn(2, *SHAPE) * 3.0
        d = teacher(x, 3.0, cond)
        torch.testing.assert_close(student(x, 3.0, 1.0, cond), d + (1.0 / 3.0) * (x - d), rtol=2e-3, atol=2e-3)


class GaussianTeacher(nn.Module):
    """The exact denoiser of x0 ~ N(MU, S0^2 I): E[x0 | x] = MU + S0^2 / (S0^2 + sigma^2) (x - MU)."""

    MU, S0 = 0.5, 0.5
    sigma_min, sigma_max, sigma_data = 0.002, 80.0, 1.0

    def forward(self, x, sigma, cond=None):
        s2 = _sigma_batch(sigma, x).view(-1, 1, 1, 1).square()
        return self.MU + self.S0 ** 2 / (self.S0 ** 2 + s2) * (x - self.MU)


def _toy_data(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return GaussianTeacher.MU + GaussianTeacher.S0 * torch.randn(8, *SHAPE, generator=g)


# L2, and a small DSM weight: the DSM term has an irreducible floor (the posterior variance) that would hide
# the fall of the consistency term; pseudo-Huber falls too but is noisier to measure in 50 steps.
TOY = [("cd", CDConfig(levels=10, distance="l2")),
       ("ctd", CTDConfig(levels=10, max_teacher_steps=3, distance="l2", dsm_weight=0.05))]


@pytest.mark.parametrize("method, config", TOY)
def test_distillation_loss_decreases_on_a_gaussian_toy(method, config):
    loss_fn = {"cd": cd_loss, "ctd": ctd_loss}[method]
    teacher = GaussianTeacher()
    student = Student.from_teacher(random_teacher(1, dataclasses.replace(TINY, cond_dim=0)), method)
    student.requires_grad_(True)

    def held_out_loss():
        with torch.no_grad():
            return np.mean([float(loss_fn(student, teacher, _toy_data(1000 + k), config=config,
                                          generator=torch.Generator().manual_seed(k))) for k in range(8)])

    before = held_out_loss()
    opt = torch.optim.Adam(student.parameters(), lr=3e-3)
    for step in range(50):
        loss = loss_fn(student, teacher, _toy_data(step), config=config, generator=torch.Generator().manual_seed(step))
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = held_out_loss()
    assert after < 0.7 * before, (before, after)


def test_losses_are_a_function_of_the_generator():
    teacher, x0 = GaussianTeacher(), _toy_data(0)
    student = Student.from_teacher(random_teacher(1, dataclasses.replace(TINY, cond_dim=0)), "ctd")
    with torch.no_grad():
        a = ctd_loss(student, teacher, x0, generator=torch.Generator().manual_seed(3))
        b = ctd_loss(student, teacher, x0, generator=torch.Generator().manual_seed(3))
        c = ctd_loss(student, teacher, x0, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def _x_T(seeds, sigma_max=80.0):
    return torch.stack([torch.randn(SHAPE, generator=torch.Generator().manual_seed(s)) for s in seeds]) * sigma_max


def test_multistep_decodes_are_deterministic_per_seed(student):
    cond = torch.randn(1, 6).expand(2, -1)
    with torch.no_grad():
        for k in (1, 2, 4, 8):
            a = sample_student(student, _x_T([5, 6]), k, cond, seeds=[5, 6])
            b = sample_student(student, _x_T([5, 6]), k, cond, seeds=[5, 6])
            c = sample_student(student, _x_T([7, 6]), k, cond, seeds=[7, 6])
            assert torch.equal(a, b), k
            assert not torch.allclose(a[0], c[0]) and torch.allclose(a[1], c[1], atol=1e-5), k


def test_cd_multistep_uses_its_pinned_noise():
    student = perturb_target_embedding(Student.from_teacher(random_teacher(), "cd"))
    noise = pinned_noise([5, 6], SHAPE, 4)
    assert len(noise) == 3 and noise[0].shape == (2, *SHAPE)
    # A seed's noise does not depend on its batch, and differs from its x_T and across steps.
    torch.testing.assert_close(noise[1][1], pinned_noise(6, SHAPE, 4)[1], rtol=0, atol=0)
    assert not torch.allclose(noise[0][0], _x_T([5])[0] / 80.0) and not torch.allclose(noise[0], noise[1])
    with torch.no_grad():
        a = sample_cd_multistep(student, _x_T([5, 6]), 4, noise)
        b = sample_cd_multistep(student, _x_T([5, 6]), 4, pinned_noise([8, 9], SHAPE, 4))
        assert torch.equal(a, sample_student(student, _x_T([5, 6]), 4, seeds=[5, 6]))
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("checkpoint", [False, True])
def test_gradients_reach_x_T_through_the_one_step_sampler(student, checkpoint):
    x_T = _x_T([1, 2]).requires_grad_(True)
    sample_one_step(student, x_T, torch.randn(2, 6), checkpoint=checkpoint).square().mean().backward()
    assert torch.isfinite(x_T.grad).all() and x_T.grad.abs().sum() > 0
    x_T2 = _x_T([1, 2]).requires_grad_(True)
    sample_ctd(student, x_T2, 3, checkpoint=checkpoint).square().mean().backward()
    assert x_T2.grad.abs().sum() > 0


def test_bad_step_counts_are_named():
    student = Student.from_teacher(random_teacher(), "ctd")
    x_T = _x_T([0])
    for k in (0, 9, 2.5, -1):
        with pytest.raises(InputError, match="decode steps"):
            sample_ctd(student, x_T, k)
    with pytest.raises(InputError, match="decode steps"):
        pinned_noise(0, SHAPE, 12)
    cd = Student.from_teacher(random_teacher(), "cd")
    with pytest.raises(InputError, match="seed"):
        sample_student(cd, x_T, 3)
    with pytest.raises(InputError, match="re-noising"):
        sample_cd_multistep(cd, x_T, 3, pinned_noise(0, SHAPE, 2))


def test_config_errors():
    with pytest.raises(InputError, match="method"):
        StudentConfig("gan", TINY.to_dict(), EDMConfig().to_dict())
    with pytest.raises(InputError, match="skip"):
        CDConfig(levels=10, skip=10)
    with pytest.raises(InputError, match="solver"):
        CTDConfig(solver="rk4")
    with pytest.raises(InputError, match="unknown config keys"):
        StudentConfig.from_dict({"kind": "cd", "network": {}, "edm": {}, "lr": 1})


def test_student_release_round_trip_and_teacher_check(tmp_path):
    from ditto2.models import load_student
    from ditto2.release import file_digest

    teacher_a, teacher_b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    teacher_a.write_bytes(b"teacher a")
    teacher_b.write_bytes(b"teacher b")
    student = perturb_target_embedding(Student.from_teacher(random_teacher(), "ctd", file_digest(teacher_a)))
    path = student.save_pretrained(tmp_path / "ctd.safetensors", {"steps": 3})
    loaded = load_student(path, teacher=teacher_a)
    assert loaded.release_meta["config"]["student"]["kind"] == "ctd" and loaded.info["steps"] == 3
    assert json.loads((tmp_path / "ctd.json").read_text())["config"]["student"]["teacher_sha"] == file_digest(teacher_a)
    x, cond = torch.randn(2, *SHAPE) * 4, torch.randn(2, 6)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, 4.0, 0.5, cond), student(x, 4.0, 0.5, cond), rtol=1e-2, atol=1e-2)
    with pytest.raises(InputError, match="distilled from teacher"):
        load_student(path, teacher=teacher_b)
    with pytest.raises(MissingResourceError):
        load_student(tmp_path / "none.safetensors")
    with pytest.raises(MissingResourceError):
        load_student(path, teacher=tmp_path / "none.safetensors")


# --- the training task, on a synthetic dataset (random mels, random caption embeddings) ---

def _write_split(root, split: str, clips: int, seed: int) -> dict:
    from ditto2.data import shards
    from ditto2.data.text_cache import embedding_path

    rng = np.random.default_rng(seed)
    path = root / f"{split}-000.npz"
    shards.write_shard(path, {"mel": rng.uniform(-1, 1, (clips, 80, 64)).astype(np.float16)})
    embedding_path(path).parent.mkdir(exist_ok=True)
    np.save(embedding_path(path), rng.normal(size=(clips, 3, 384)).astype(np.float16))
    return {"shards": [{"file": path.name}], "clips": clips}


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """A synthetic dataset and random tiny autoencoder + teacher releases (the CLI-level file formats)."""
    root = tmp_path_factory.mktemp("distill")
    data = root / "data"
    data.mkdir()
    splits = {"train": _write_split(data, "train", 6, 0), "validation": _write_split(data, "validation", 2, 1)}
    (data / "manifest.json").write_text(json.dumps({"splits": splits}))
    ae_path, teacher_path, _ = tiny.save_teacher_pair(root, seed=2)
    return data, ae_path, teacher_path


QUICK_STEER = SteeringCheck(curves=1, steps=2)  # the check runs; its figure is tested on its own below


LOOP = {"steps": 3, "batch_size": 2, "lr": 1e-3, "warmup": 1, "log_every": 1, "ckpt_every": 1, "val_every": 3,
        "sample_every": 3}


@pytest.mark.parametrize("method, guidance", [("cd", 1.0), ("ctd", 2.0)])
def test_distill_task_trains_validates_releases_and_resumes(tiny_models, tmp_path, method, guidance):
    from safetensors.torch import load_file

    from ditto2.models import load_student
    from ditto2.train import loop
    from ditto2.train.distill import DistillTask

    data, ae, teacher = tiny_models
    objective = CDConfig(levels=6) if method == "cd" else CTDConfig(levels=6, max_teacher_steps=2)

    def task():
        return DistillTask(str(data), str(teacher), str(ae), method=method, objective=objective, guidance=guidance,
                           crop=32, val_seeds=(0, 1, 2), val_frames=32, val_steps=(1, 2), steering=QUICK_STEER)

    cfg = loop.LoopConfig(**LOOP)
    record = loop.run(task(), tmp_path / "straight", cfg, progress=False)
    assert record["step"] == 3 and {"val_mse_1step", "val_mse_2step", "val_loss", "val_steer_db"} <= set(record)
    assert all(np.isfinite(record[k]) for k in ("loss", "val_mse_1step", "val_mse_2step", "val_steer_db"))
    assert list((tmp_path / "straight" / "samples").glob("*.png"))
    student = load_student(tmp_path / "straight" / "release.safetensors", teacher=teacher)
    assert student.method == method and student.release_meta["config"]["distill"]["objective"]["kind"] == method
    assert student.config.guidance == guidance

    loop.run(task(), tmp_path / "resumed", dataclasses.replace(cfg, steps=2), progress=False)
    loop.run(task(), tmp_path / "resumed", cfg, progress=False)
    a, b = (load_file(str(tmp_path / run / loop.LAST)) for run in ("straight", "resumed"))
    assert all(torch.equal(a[k], b[k]) for k in a if k.startswith(("model.", "ema."))), "resume is not exact"


def test_redistillation_warm_starts_from_a_student_of_the_previous_teacher(tiny_models, tmp_path):
    """A new teacher release: the student continues from the old one (--init) and is tied to the new teacher."""
    from ditto2.models import load_student
    from ditto2.release import read_meta, save_release
    from ditto2.train import loop
    from ditto2.train.distill import DistillTask

    data, ae, teacher = tiny_models

    def task(teacher_path):
        return DistillTask(str(data), str(teacher_path), str(ae), method="ctd",
                           objective=CTDConfig(levels=6, max_teacher_steps=2), crop=32, val_seeds=(0,),
                           val_frames=32, val_steps=(1,), steering=None)

    cfg = loop.LoopConfig(**{**LOOP, "steps": 2, "val_every": 2})
    loop.run(task(teacher), tmp_path / "old", cfg, progress=False)
    newer = random_teacher(3, dataclasses.replace(TINY, cond_dim=384))  # same architecture, other weights
    new_teacher = save_release(tmp_path / "teacher2.safetensors", newer, read_meta(teacher)["config"])
    record = loop.run(task(new_teacher), tmp_path / "new", dataclasses.replace(cfg, steps=4), progress=False,
                      init=tmp_path / "old" / "release.safetensors")
    assert record["step"] == 4  # continued from the old student's 2 steps
    load_student(tmp_path / "new" / "release.safetensors", teacher=new_teacher)
    with pytest.raises(InputError, match="distil it again"):
        load_student(tmp_path / "new" / "release.safetensors", teacher=teacher)


def test_distill_task_refuses_a_teacher_of_another_autoencoder(tiny_models, tmp_path):
    from ditto2.diffusion import MelAutoencoder
    from ditto2.train.distill import DistillTask

    data, _, teacher = tiny_models
    torch.manual_seed(1)
    other = MelAutoencoder(tiny.TINY_AE).save_pretrained(tmp_path / "ae2.safetensors")
    with pytest.raises(InputError, match="another autoencoder"):
        DistillTask(str(data), str(teacher), str(other), method="cd")
    with pytest.raises(InputError, match="--method"):
        DistillTask(str(data), str(teacher), str(other), method="dmd")


# --- CTD's trajectory term: teacher ODE states at the decode levels, and the jumps the decodes chain ---

def _gaussian_ode(x_T, sigma, sigma_max=80.0):
    """The exact probability-flow ODE solution of GaussianTeacher's data from x_T at sigma_max."""
    mu, s0 = GaussianTeacher.MU, GaussianTeacher.S0
    return mu + ((s0 ** 2 + sigma ** 2) / (s0 ** 2 + sigma_max ** 2)) ** 0.5 * (x_T - mu)


def test_trajectory_states_are_the_teacher_ode_at_the_decode_levels():
    from ditto2.distill.samplers import decode_sigmas
    from ditto2.distill.trajectories import TrajectoryConfig, solve, stored_levels

    teacher, config = GaussianTeacher(), TrajectoryConfig(decode_steps=(1, 2, 4), substeps=16)
    student = Student.from_teacher(random_teacher(), "ctd")
    levels = stored_levels(teacher, config.finest)
    assert levels == pytest.approx(decode_sigmas(student, 4)) and levels[0] == 80.0 and levels[-1] == 0.0
    x_T = _x_T([5, 6])
    states = solve(teacher, x_T, None, config)
    assert states.shape == (2, 5, *SHAPE) and torch.equal(states[:, 0], x_T)
    for j, sigma in enumerate(levels):
        torch.testing.assert_close(states[:, j], _gaussian_ode(x_T, sigma), rtol=0, atol=1e-2)  # Heun's error
    assert config.jumps() == [[(0, 4)], [(0, 2), (2, 4)], [(0, 1), (1, 2), (2, 3), (3, 4)]]


def test_trajectory_config_errors():
    from ditto2.distill.trajectories import TrajectoryConfig

    with pytest.raises(InputError, match="divide the largest"):
        TrajectoryConfig(decode_steps=(2, 3))
    with pytest.raises(InputError, match="positive integers"):
        TrajectoryConfig(decode_steps=(0, 2))
    with pytest.raises(InputError, match="substeps"):
        TrajectoryConfig(substeps=0)


def test_trajectory_term_teaches_the_decodes_the_teacher_ode():
    """On the Gaussian toy, the 1- and 2-step decodes of fresh x_T come much closer to the exact ODE solution,
    and closer than with the CTM loss alone."""
    from ditto2.distill.trajectories import TrajectoryBank, TrajectoryConfig, solve, stored_levels

    teacher, config = GaussianTeacher(), TrajectoryConfig(decode_steps=(1, 2), batch=8, substeps=8)
    x_T = _x_T(range(100, 164))
    bank = TrajectoryBank(solve(teacher, x_T, None, config).numpy().astype(np.float16), None,
                          stored_levels(teacher, config.finest), config)
    ctd = CTDConfig(levels=10, max_teacher_steps=2, distance="l2", dsm_weight=0.0)
    held_out = _x_T(range(500, 508))

    def train(use_bank: bool):
        student = Student.from_teacher(random_teacher(1, dataclasses.replace(TINY, cond_dim=0)), "ctd")
        student.requires_grad_(True)
        opt = torch.optim.Adam(student.parameters(), lr=3e-3)
        for step in range(60):
            g = torch.Generator().manual_seed(step)
            loss = ctd_loss(student, teacher, _toy_data(step), generator=g, config=ctd,
                            trajectory=bank.draw(g, "cpu") if use_bank else None, trajectory_weight=4.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
        return student

    def decode_error(student):
        with torch.no_grad():
            return [float((sample_student(student, held_out, k) - _gaussian_ode(held_out, 0.0)).square().mean())
                    for k in (1, 2)]

    before = decode_error(Student.from_teacher(random_teacher(1, dataclasses.replace(TINY, cond_dim=0)), "ctd"))
    with_bank, without = decode_error(train(True)), decode_error(train(False))
    assert all(a < 0.3 * b for a, b in zip(with_bank, before)), (before, with_bank)
    assert all(a < b for a, b in zip(with_bank, without)), (with_bank, without)


def test_trajectory_bank_resumes_shard_by_shard(tmp_path):
    from ditto2.distill.trajectories import SHARD, TrajectoryBank, TrajectoryConfig

    teacher = random_teacher(4)
    captions = np.random.default_rng(0).normal(size=(5, 3, 6)).astype(np.float32)
    config = TrajectoryConfig(size=SHARD + 3, decode_steps=(1, 2), substeps=1)
    whole = TrajectoryBank.build(tmp_path / "bank", teacher, config, SHAPE, captions, progress=False)
    assert whole.states.shape == (SHARD + 3, 3, *SHAPE) and whole.cond.shape == (SHARD + 3, 6)
    assert (whole.cond == 0).all(1).any() and not (whole.cond == 0).all()  # some null captions, not all
    (tmp_path / "bank" / "shard-00001.npz").unlink()  # as if killed before the second shard was renamed
    (tmp_path / "bank" / ".shard-00001.abc.tmp.npz").write_bytes(b"partial")
    resumed = TrajectoryBank.build(tmp_path / "bank", teacher, config, SHAPE, captions, progress=False)
    assert np.array_equal(whole.states, resumed.states) and np.array_equal(whole.cond, resumed.cond)
    x_a, sigma_a, sigma_b, x_b, cond = resumed.draw(torch.Generator().manual_seed(0), "cpu")
    assert x_a.shape == (config.batch, *SHAPE) and cond.shape == (config.batch, 6)
    assert bool((sigma_a > sigma_b).all()) and set(sigma_b.tolist()) <= set(resumed.levels)


def test_distill_task_with_a_trajectory_bank(tiny_models, tmp_path):
    from ditto2.distill.trajectories import TrajectoryConfig
    from ditto2.train import loop
    from ditto2.train.distill import DistillTask

    data, ae, teacher = tiny_models
    traj = TrajectoryConfig(size=4, decode_steps=(1, 2), substeps=1, frames=32, batch=2)
    task = DistillTask(str(data), str(teacher), str(ae), method="ctd", objective=CTDConfig(levels=6),
                       crop=32, val_seeds=(0,), val_frames=32, val_steps=(1, 2), trajectories=traj, steering=None)
    assert len(task.bank) == 4 and list((data / "cache").glob("trajectories-*/shard-00000.npz"))
    record = loop.run(task, tmp_path / "run", loop.LoopConfig(**LOOP), progress=False)
    assert record["step"] == 3 and np.isfinite(record["loss"])
    with pytest.raises(InputError, match="--method ctd"):
        DistillTask(str(data), str(teacher), str(ae), method="cd", crop=32, val_seeds=(0,), val_frames=32,
                    trajectories=traj)


def test_a_damaged_trajectory_shard_is_named(tmp_path):
    from ditto2.distill.trajectories import TrajectoryBank, TrajectoryConfig

    config = TrajectoryConfig(size=4, decode_steps=(1, 2), substeps=1)
    TrajectoryBank.build(tmp_path / "bank", random_teacher(4), config, SHAPE, None, progress=False)
    (tmp_path / "bank" / "shard-00000.npz").write_bytes(b"truncated")
    with pytest.raises(InputError, match="shard-00000.npz is damaged"):
        TrajectoryBank.load(tmp_path / "bank", config, 1)


def test_trajectories_with_cd_are_refused_before_anything_loads(tmp_path, capsys):
    from ditto2.cli import main

    code = main(["distill", "--method", "cd", "--trajectories", "4", "--run", str(tmp_path / "run"),
                 "--data", str(tmp_path / "absent"), "--teacher", str(tmp_path / "absent.safetensors")])
    assert code == 2 and "--method ctd" in capsys.readouterr().err



def test_steering_check_runs_the_intensity_control_through_the_student(tiny_models):
    from ditto2.diffusion import MelAutoencoder
    from ditto2.models import Teacher
    from ditto2.train.steering import steering_error_db

    _, ae, teacher_path = tiny_models
    denoiser = Denoiser.from_pretrained(teacher_path)
    teacher = Teacher(MelAutoencoder.from_pretrained(ae), denoiser, {})
    student = Student.from_teacher(denoiser, "ctd", "digest", 1.0, denoiser.edm)
    before = steering_error_db(teacher, student, SteeringCheck(curves=2, steps=0))
    after = steering_error_db(teacher, student, SteeringCheck(curves=2, steps=8))
    assert np.isfinite(before) and after < before
    assert all(p.requires_grad for p in student.parameters())  # the check leaves the student as it was
