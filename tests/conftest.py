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


def tone(freqs, seconds=2.0, rate=22050, amp=0.3):
    """A sum of harmonic-rich tones, one after another (each `seconds` long)."""
    t = np.arange(int(seconds * rate)) / rate
    parts = [amp * sum(np.sin(2 * np.pi * f * h * t) / h for h in (1, 2, 3)) for f in freqs]
    return np.concatenate(parts).astype(np.float32)


def randomise_zero_layers(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Zero-initialised output layers made random, so a fresh tiny network is not the zero function."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.ndim > 1 and not p.any():
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
    return module


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory):
    """A weights folder like the shipped one (autoencoder, teacher, CD and CTD students), tiny and random."""
    from ditto2.diffusion import AutoencoderConfig, Denoiser, EDMConfig, MelAutoencoder, UNet2DConfig, build_network
    from ditto2.distill import Student
    from ditto2.train import checkpoint as ckpt
    from ditto2.train.distill import save_student
    from ditto2.train.teacher import file_digest

    root = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    ae_cfg = AutoencoderConfig(latent_channels=2, channels=(8, 8))
    ae_path = ckpt.save_release(root / "autoencoder.safetensors", MelAutoencoder(ae_cfg),
                                {"autoencoder": ae_cfg.to_dict()}, half=False)
    net_cfg = UNet2DConfig(in_channels=2, channels=(8, 16), res_blocks=1, attention=False, emb_dim=16, n_freqs=4,
                           norm_groups=4, cond_dim=384)
    teacher = Denoiser(randomise_zero_layers(build_network(net_cfg), 1)).eval()
    config = {"teacher": {"network": net_cfg.to_dict(), "edm": EDMConfig().to_dict(),
                          "autoencoder_sha": file_digest(ae_path)}}
    teacher_path = ckpt.save_release(root / "teacher.safetensors", teacher, config)
    for method in ("cd", "ctd"):
        student = Student.from_teacher(teacher, method, file_digest(teacher_path))
        save_student(root / f"student_{method}.safetensors", student)
    from ditto2.clap import ClapConfig, ClapModel

    for kind, config in (("control", ClapConfig(arch="conv1d", dim=16, widths=(16, 16), text_hidden=16)),
                         ("eval", ClapConfig(arch="conv2d", dim=16, widths=(4, 8), text_hidden=16))):
        ckpt.save_release(root / f"clap_{kind}.safetensors", ClapModel(config), {"clap": {"model": config.to_dict()}},
                          {"steps": 0}, half=True)
    return root
