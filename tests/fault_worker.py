"""One tiny training task run to its end, or until killed: ``python tests/fault_worker.py TASK RUN DATA MODELS``.

The fault-injection tests (``test_faults.py``) kill it with SIGKILL at a random moment and run it again."""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from tiny import TINY_AE, TINY_CLAP, TINY_NET  # noqa: E402

from ditto2.train import loop  # noqa: E402

CONFIG = loop.LoopConfig(steps=8, batch_size=2, log_every=1, ckpt_every=1, val_every=4, sample_every=0,
                         precision="fp32")


def fake_text_encoder(texts):
    """A stand-in for MiniLM: a fixed random projection of byte counts (no model to load)."""
    counts = np.zeros((len(texts), 256), np.float32)
    for i, text in enumerate(texts):
        np.add.at(counts[i], np.frombuffer(text.encode(), np.uint8), 1.0)
    return counts @ np.random.default_rng(0).standard_normal((256, 384)).astype(np.float32)


def build_task(name: str, data: str, models: str):
    from ditto2.audio.neural_vocoder import VocoderConfig
    from ditto2.train.autoencoder import AutoencoderTask
    from ditto2.train.clap import ClapTask
    from ditto2.train.distill import DistillTask
    from ditto2.train.teacher import TeacherTask
    from ditto2.train.vocoder import VocoderTask

    if name == "autoencoder":
        return AutoencoderTask(data, model=TINY_AE, crop=32, val_clips=2, stats_clips=4)
    if name == "teacher":
        return TeacherTask(data, f"{models}/autoencoder.safetensors", network=TINY_NET.to_dict(), crop=32, val_clips=2)
    if name == "distill":
        return DistillTask(data, f"{models}/teacher.safetensors", f"{models}/autoencoder.safetensors", method="ctd",
                           crop=32, val_seeds=(0,), val_frames=32, val_steps=(1,), steering=None)
    if name == "clap":
        return ClapTask(data, TINY_CLAP["conv1d"], crop=64, encoder=fake_text_encoder, val_clips=4)
    if name == "vocoder":
        return VocoderTask(data, model=VocoderConfig(dim=16, hidden=32, blocks=2), crop=16, val_clips=2)
    raise SystemExit(f"unknown task {name}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    task, run, data, models = sys.argv[1:5]
    record = loop.run(build_task(task, data, models), run, CONFIG, progress=False)
    print(f"finished at step {record['step']}")
