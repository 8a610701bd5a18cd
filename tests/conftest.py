import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch.set_num_threads(2)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models gain nothing from intra-op threads; on shared cores 2 OpenMP threads can be 10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """The --tiny corpus build (TimGM6mb), made once per test session."""
    from ditto2.data.build import BuildConfig, build_dataset
    from ditto2.data.text_cache import cache_caption_embeddings

    root = tmp_path_factory.mktemp("tiny")
    build_dataset(root, BuildConfig(profile="tiny", soundfont="timgm6mb"), workers=1, progress=False)
    cache_caption_embeddings(root, progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_audio_dataset(tmp_path_factory):
    """The tiny corpus built the way the vocoder profile is: every split keeps its audio."""
    from ditto2.data import build

    root = tmp_path_factory.mktemp("tiny-audio")
    keep = build.KEEP_ALL_AUDIO
    build.KEEP_ALL_AUDIO = ("tiny",)
    try:
        build.build_dataset(root, build.BuildConfig(profile="tiny", soundfont="timgm6mb"), workers=1, progress=False)
    finally:
        build.KEEP_ALL_AUDIO = keep
    return root


def tone(freqs, seconds=2.0, rate=22050, amp=0.3):
    """A sum of harmonic-rich tones, one after another (each `seconds` long)."""
    t = np.arange(int(seconds * rate)) / rate
    parts = [amp * sum(np.sin(2 * np.pi * f * h * t) / h for h in (1, 2, 3)) for f in freqs]
    return np.concatenate(parts).astype(np.float32)


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory):
    """A weights folder like the shipped one (autoencoder, teacher, CD and CTD students, CLAP models), tiny and
    random."""
    from tiny import TINY_CLAP, save_teacher_pair

    from ditto2.clap import ClapModel
    from ditto2.distill import Student
    from ditto2.models import clap_file, student_file
    from ditto2.release import file_digest

    root = tmp_path_factory.mktemp("weights")
    _, teacher_path, teacher = save_teacher_pair(root, seed=1)
    for method in ("cd", "ctd"):
        Student.from_teacher(teacher, method, file_digest(teacher_path)).save_pretrained(root / student_file(method))
    for kind, arch in (("control", "conv1d"), ("eval", "conv2d")):
        ClapModel(TINY_CLAP[arch]).save_pretrained(root / clap_file(kind), {"steps": 0})
    return root

