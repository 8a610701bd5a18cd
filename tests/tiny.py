"""Tiny random models shared by the tests: configs, and releases written the way training writes them."""
from __future__ import annotations

from pathlib import Path

import torch

from ditto2.clap import ClapConfig
from ditto2.diffusion import AutoencoderConfig, Denoiser, MelAutoencoder, UNet2DConfig, build_network

TINY_AE = AutoencoderConfig(latent_channels=2, channels=(8, 8))
TINY_NET = UNet2DConfig(in_channels=2, channels=(8, 16), res_blocks=1, attention=False, emb_dim=16, n_freqs=4,
                        norm_groups=4, cond_dim=384)
TINY_CLAP = {"conv1d": ClapConfig(arch="conv1d", dim=16, widths=(16, 16), text_hidden=16),
             "conv2d": ClapConfig(arch="conv2d", dim=16, widths=(4, 8), text_hidden=16)}


def randomise_zero_layers(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Zero-initialised output layers made random, so a fresh tiny network is not the zero function."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            if p.ndim > 1 and not p.any():
                p.copy_(0.1 * torch.randn(p.shape, generator=generator))
    return module


def random_teacher(seed: int = 0, config: UNet2DConfig = TINY_NET) -> Denoiser:
    """A tiny denoiser whose zero-initialised layers (output convs) are random too, so F != 0."""
    torch.manual_seed(seed)
    return Denoiser(randomise_zero_layers(build_network(config), seed)).eval().requires_grad_(False)


def save_teacher_pair(root: Path, seed: int = 0, config: UNet2DConfig = TINY_NET) -> tuple[Path, Path, Denoiser]:
    """A random tiny autoencoder and a teacher released on it: (autoencoder path, teacher path, teacher)."""
    from ditto2.release import file_digest

    torch.manual_seed(0)
    ae_path = MelAutoencoder(TINY_AE).save_pretrained(root / "autoencoder.safetensors")
    teacher = random_teacher(seed, config)
    teacher_path = teacher.save_pretrained(root / "teacher.safetensors", extra={"autoencoder_sha": file_digest(ae_path)})
    return ae_path, teacher_path, teacher
