"""``ditto2 train vocoder``: the neural mel -> waveform vocoder, on the rendered audio of a dataset that keeps it.

Batches are aligned crops of a clip's stored mel and its audio (frame t of a clip is centred on sample 256 t,
so a crop of frames [a, a + F) is the samples [256 a, 256 (a + F))); both come from ``crop_batches`` with the
same (seed, rank, k), so a resumed run sees the batches of an uninterrupted one.

Loss: an L1 distance of log-mels (the mel the vocoder is given, recomputed from its output) plus auraloss's
multi-resolution STFT loss (spectral convergence + log-magnitude) at sizes around the mel's, which is what
constrains phase: a waveform whose frames disagree in phase smears at every resolution but its own; optionally
(``lsd_weight``) the evaluation's own floored dB distance at the sizes other than the mel's. With
``adv_weight`` > 0 an adversarial term joins them (``audio.discriminators``: multi-period and multi-resolution
critics, least squares, plus feature matching): the model is then a ``VocoderGAN``, the generator and its critics in
one module, so the loop's one optimiser, EMA and checkpoint carry both and a killed run resumes exactly. One
backward pass gives each side its own gradient: the generator's terms see the critics through detached parameters,
the critics' term sees a detached waveform. Validation: the multi-resolution LSD of resynthesised validation clips
to the originals, beside Griffin-Lim's on the same clips. The release is always the generator alone.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ditto2.audio import mel as M
from ditto2.audio.discriminators import DiscriminatorConfig, Discriminators, critic_loss, generator_losses
from ditto2.audio.neural_vocoder import VocoderConfig, VocoderNet
from ditto2.audio.vocoder import GriffinLim
from ditto2.data.arrays import SplitArrays
from ditto2.eval.spectral import log_spectral_distance, lsd_loss
from ditto2.train.data import crop_batches

# 4096 since step 9,000 (session J): the largest evaluation size was the worst (LSD 9.3 dB against 5.8 at 256)
STFT_SIZES = (256, 512, 1024, 2048, 4096)
INT16 = 32768.0


class VocoderGAN(VocoderNet):
    """The generator (its forward is the vocoder's) with its critics as a submodule, trained as one module."""

    def __init__(self, config: VocoderConfig | None = None, critics: DiscriminatorConfig | None = None):
        super().__init__(config)
        self.discriminator = Discriminators(critics)

    def generator(self) -> VocoderNet:
        """A plain ``VocoderNet`` holding this module's generator weights (what is released)."""
        net = VocoderNet(self.config)
        net.load_state_dict({k: v for k, v in self.state_dict().items() if not k.startswith("discriminator.")})
        return net


@dataclasses.dataclass
class VocoderTask:
    data: str
    model: VocoderConfig = dataclasses.field(default_factory=VocoderConfig)
    crop: int = 64                 # mel frames per training crop (0.74 s)
    mel_weight: float = 1.0
    stft_weight: float = 1.0
    adv_weight: float = 0.0        # adversarial term (0: off, the shipped vocoder's training)
    fm_weight: float = 2.0         # feature matching, with the adversarial term (HiFi-GAN's 2)
    gain_db: float = 0.0           # random gain per crop, uniform in [-gain_db / 2, +gain_db] dB (0: off)
    lsd_weight: float = 0.0        # the evaluation's multi-resolution LSD (dB) as a loss term (0: off)
    critics: DiscriminatorConfig = dataclasses.field(default_factory=DiscriminatorConfig)
    val_clips: int = 8
    name: str = "vocoder"

    def __post_init__(self):
        from auraloss.freq import MultiResolutionSTFTLoss

        self.train = SplitArrays(self.data, "train", audio=True)
        val = SplitArrays(self.data, "validation", audio=True, limit=self.val_clips)
        self.val_mel = torch.from_numpy(val.mel.astype(np.float32))
        self.val_audio = val.audio.astype(np.float32) / INT16
        self.stft_loss = MultiResolutionSTFTLoss(fft_sizes=list(STFT_SIZES), hop_sizes=[s // 4 for s in STFT_SIZES],
                                                 win_lengths=list(STFT_SIZES))
        self._griffin_lim: dict | None = None

    def build_model(self) -> VocoderNet:
        return VocoderGAN(self.model, self.critics) if self.adv_weight else VocoderNet(self.model)

    def config(self) -> dict:
        adversarial = {"adv_weight": self.adv_weight, "fm_weight": self.fm_weight, "critics": self.critics.to_dict()}
        return {"model": self.model.to_dict(), "crop": self.crop, "data": self.data, "mel_weight": self.mel_weight,
                "stft_weight": self.stft_weight, "stft_sizes": list(STFT_SIZES), "gain_db": self.gain_db,
                "lsd_weight": self.lsd_weight,
                **(adversarial if self.adv_weight else {})}

    def batches(self, batch_size, seed, rank, world_size, start):
        mels = crop_batches(self.train, batch_size, self.crop, seed, rank, start)
        waves = crop_batches(self.train, batch_size, self.crop * M.HOP, seed, rank, start, align=M.HOP,
                             frames_of=self.train.audio)
        for k, (mel, wave) in enumerate(zip(mels, waves), start=start):
            batch = {"mel": mel["mel"], "audio": wave["mel"] / INT16}
            yield self._with_gain(batch, seed * 1_000_003 + rank * 7919 + k) if self.gain_db else batch

    def _with_gain(self, batch: dict, seed: int) -> dict:
        """Each crop's audio scaled by a random gain, its mel recomputed from the scaled audio. Why (session L): the
        controls drive generated mels louder than the renders (-20 dBFS) the vocoder learnt from, and it renders
        those frames 0.6-1.1 dB too quietly (docs/vocoder.md)."""
        gen = torch.Generator().manual_seed(seed)
        audio = torch.as_tensor(batch["audio"], dtype=torch.float32)
        db = (torch.rand(audio.shape[0], generator=gen) * 1.5 - 0.5) * self.gain_db
        audio = audio * 10 ** (db / 20).unsqueeze(-1)
        return {"mel": M.wave_to_mel(audio), "audio": audio}

    def loss(self, model, batch, generator):
        wave = model(batch["mel"]).float()
        target = batch["audio"]
        mel_l1 = (M.denormalise(M.wave_to_mel(wave)) - M.denormalise(batch["mel"])).abs().mean()
        stft = self.stft_loss(wave.unsqueeze(1), target.unsqueeze(1))
        loss = self.mel_weight * mel_l1 + self.stft_weight * stft
        if self.lsd_weight:
            loss = loss + self.lsd_weight * lsd_loss(target, wave)
        if not self.adv_weight:
            return loss
        critics = getattr(model, "module", model).discriminator
        real = critics(target)
        frozen = {name: p.detach() for name, p in critics.named_parameters()}
        fake = torch.func.functional_call(critics, frozen, (wave,))  # the generator's view: critics held fixed
        adversarial, matching = generator_losses(real, fake)
        return loss + self.adv_weight * adversarial + self.fm_weight * matching + critic_loss(real, critics(wave.detach()))

    def griffin_lim_lsd(self) -> dict:
        """Griffin-Lim's LSD on the validation clips (computed once: the baseline the vocoder must beat)."""
        if self._griffin_lim is None:
            waves = GriffinLim()(self.val_mel).numpy()
            self._griffin_lim = _mean_lsd(self.val_audio, waves)
        return self._griffin_lim

    @torch.no_grad()
    def validate(self, ema) -> dict:
        waves = torch.cat([ema(chunk).float() for chunk in self.val_mel.split(4)]).numpy()
        neural = _mean_lsd(self.val_audio, waves)
        baseline = self.griffin_lim_lsd()
        return {"loss": neural["lsd"], **neural, "lsd_griffinlim": baseline["lsd"],
                "lsd_ratio": neural["lsd"] / baseline["lsd"]}

    @torch.no_grad()
    def samples(self, ema, step: int, out_dir: Path) -> None:
        from ditto2.plots import plot_mel_grid

        real = self.val_mel[:2]
        neural = M.wave_to_mel(ema(real).float())
        griffin = M.wave_to_mel(GriffinLim()(real))
        mels = [m for triple in zip(real, griffin, neural) for m in triple]
        plot_mel_grid(mels, out_dir / f"vocoder-{step:07d}.png", titles=["real", "Griffin-Lim", "neural"] * 2,
                      columns=3)

    def release(self, ema, path: Path, info: dict) -> None:
        generator = ema.generator() if isinstance(ema, VocoderGAN) else ema
        generator.save_pretrained(path, info, beside={"vocoder_training": self.config()})


def _mean_lsd(references: np.ndarray, estimates: np.ndarray) -> dict:
    per_clip = [log_spectral_distance(r, e) for r, e in zip(references, estimates)]
    return {key: float(np.mean([c[key] for c in per_clip])) for key in per_clip[0]}
