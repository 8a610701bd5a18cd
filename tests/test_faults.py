"""Fault injection (issue 21): every training task and a data build, killed with SIGKILL at a random moment,
resume and finish; truncated weights and shards give a clear error."""
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ditto2.errors import InputError

WORKER = Path(__file__).parent / "fault_worker.py"
RNG = random.Random(21)  # the kill moments are random, and reproducible


def _kill_at_random(cmd: list[str], earliest: float, latest: float) -> float:
    """Start ``cmd``, SIGKILL it after a random delay (unless it ended first); returns the delay."""
    delay = RNG.uniform(earliest, latest)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return delay


@pytest.fixture(scope="module")
def own_dataset(tiny_dataset, tmp_path_factory):
    """A copy of the session's tiny dataset: the runs here write latent caches beside it, which other tests count."""
    import shutil

    return shutil.copytree(tiny_dataset, tmp_path_factory.mktemp("own") / "tiny")


@pytest.mark.parametrize("task", ["autoencoder", "teacher", "distill", "clap", "vocoder"])
def test_a_killed_training_run_resumes_and_finishes(task, own_dataset, tiny_audio_dataset, tiny_models_dir, tmp_path):
    data = tiny_audio_dataset if task == "vocoder" else own_dataset
    cmd = [sys.executable, str(WORKER), task, str(tmp_path / "run"), str(data), str(tiny_models_dir)]
    for _ in range(2):  # killed twice, at random moments of start-up or training
        _kill_at_random(cmd, 2.0, 9.0)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "finished at step 8" in done.stdout
    assert (tmp_path / "run" / "release.safetensors").is_file()


def test_a_killed_data_build_resumes_to_the_same_dataset(tmp_path):
    import json

    cmd = [sys.executable, "-m", "ditto2.cli", "data", "build", "--tiny", "--quiet", "--workers", "1", "--no-text"]
    _kill_at_random(cmd + [str(tmp_path / "killed")], 3.0, 8.0)
    for out in ("killed", "clean"):
        subprocess.run(cmd + [str(tmp_path / out)], check=True, capture_output=True, timeout=600)
    manifests = [json.loads((tmp_path / out / "manifest.json").read_text()) for out in ("killed", "clean")]
    for m in manifests:
        m.pop("build_seconds", None)
    assert manifests[0]["splits"] == manifests[1]["splits"]
    assert not [p.name for p in (tmp_path / "killed").iterdir() if p.name.startswith(".") or ".tmp" in p.name]


def test_truncated_weights_and_shards_give_a_clear_error(tiny_models_dir, tiny_dataset, tmp_path):
    import shutil

    from ditto2.data import shards
    from ditto2.diffusion import Denoiser

    weights = tmp_path / "teacher.safetensors"
    data = (tiny_models_dir / "teacher.safetensors").read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="teacher.safetensors"):
        Denoiser.from_pretrained(weights)
    shard = tmp_path / "train-0000.npz"
    shutil.copy(shards.shard_paths(tiny_dataset, "train")[0], shard)
    shard.write_bytes(shard.read_bytes()[:1000])
    with pytest.raises(InputError, match="corrupt or unreadable shard"):
        shards.read_shard(shard)
