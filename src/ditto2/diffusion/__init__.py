"""The teacher's model layer: mel autoencoder, denoiser networks, EDM preconditioning and samplers.

No data loading and no training loop here; ``train/`` joins these with ``data/``.
"""
from ditto2.diffusion.autoencoder import AutoencoderConfig, MelAutoencoder, latent_stats
from ditto2.diffusion.edm import (CFGDenoiser, Denoiser, EDMConfig, drop_cond, edm_loss, edm_weight, karras_sigmas,
                                  training_sigmas)
from ditto2.diffusion.networks import UNet1D, UNet1DConfig, UNet2D, UNet2DConfig, build_network, network_config
from ditto2.diffusion.samplers import (ancestral_step, denoise, invert_ddim, sample_ddim, sample_euler,
                                       sample_euler_ancestral, sample_heun)

__all__ = [
    "AutoencoderConfig", "MelAutoencoder", "latent_stats",
    "CFGDenoiser", "Denoiser", "EDMConfig", "drop_cond", "edm_loss", "edm_weight", "karras_sigmas", "training_sigmas",
    "UNet1D", "UNet1DConfig", "UNet2D", "UNet2DConfig", "build_network", "network_config",
    "ancestral_step", "denoise", "invert_ddim", "sample_ddim", "sample_euler", "sample_euler_ancestral",
    "sample_heun",
]
