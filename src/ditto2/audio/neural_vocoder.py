"""A neural mel -> waveform vocoder: a ConvNeXt stack over mel frames with an inverse-STFT head.

Design (after Vocos, arXiv 2306.00814; written here because the ``vocos`` package needs torchaudio, whose newest
wheel pins an older torch than ours): the network never upsamples in time. It maps each mel frame to one complex
STFT frame (log-magnitude and phase) at the mel's own resolution (n_fft 1024, hop 256), and ``torch.istft`` does
the overlap-add. Every layer runs at 86 frames per second, which is what makes it fast on a CPU: one 5.94 s clip
is 512 positions for the whole network.

Phase is predicted as an angle (cos, sin of one output), so there is no magnitude/phase coupling to learn; a
predicted log-magnitude is clamped before ``exp`` so an untrained net cannot overflow.
"""
from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from ditto2.audio import mel as M
from ditto2.audio.vocoder import Vocoder
from ditto2.config import JsonConfig
from ditto2.release import Pretrained

MAX_LOG_MAGNITUDE = 7.0  # e^7 ~ 1100: far above any bin of a -20 dBFS render (whose peaks sit near e^4)


@dataclasses.dataclass(frozen=True)
class VocoderConfig(JsonConfig):
    kind = "convnext_istft"

    dim: int = 192            # channels of the ConvNeXt stack
    hidden: int = 576         # width of each block's point-wise MLP
    blocks: int = 8
    grown: int = 0            # the last `grown` blocks were appended to a trained stack: they start as the identity
    kernel: int = 7           # depth-wise kernel over frames
    n_fft: int = M.N_FFT      # the head's STFT: the mel's own, so one mel frame is one STFT frame
    hop: int = M.HOP


class ConvNeXtBlock(nn.Module):
    """Depth-wise conv over time, LayerNorm, point-wise MLP, scaled residual (starts near the identity)."""

    def __init__(self, dim: int, hidden: int, kernel: int, layer_scale: float):
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.pw1, self.pw2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T)
        h = self.norm(self.dwconv(x).transpose(1, 2))
        h = self.pw2(F.gelu(self.pw1(h))) * self.gamma
        return x + h.transpose(1, 2)


class VocoderNet(Pretrained, nn.Module):
    """(B, 80, T) normalised log-mel -> (B, T * hop) waveform."""

    RELEASE_KEY = "vocoder"

    def __init__(self, config: VocoderConfig | None = None):
        super().__init__()
        self.config = cfg = config or VocoderConfig()
        self.embed = nn.Conv1d(M.N_MELS, cfg.dim, cfg.kernel, padding=cfg.kernel // 2)
        self.norm_in = nn.LayerNorm(cfg.dim)
        first_grown = cfg.blocks - cfg.grown
        # A grown block's layer scale starts at 0, so a warm start from the smaller release computes what it did;
        # its weights may be missing from that release (``release.load_release``).
        self.blocks = nn.ModuleList(ConvNeXtBlock(cfg.dim, cfg.hidden, cfg.kernel, 0.0 if k >= first_grown else
                                                  1.0 / cfg.blocks) for k in range(cfg.blocks))
        self.ZERO_START = tuple(f"blocks.{k}." for k in range(first_grown, cfg.blocks))
        self.norm_out = nn.LayerNorm(cfg.dim)
        self.bins = cfg.n_fft // 2 + 1
        self.head = nn.Linear(cfg.dim, 2 * self.bins)
        self.register_buffer("window", torch.hann_window(cfg.n_fft), persistent=False)

    def release_section(self) -> dict:
        return self.config.to_dict()

    @classmethod
    def from_release_section(cls, section: dict) -> VocoderNet:
        return cls(VocoderConfig.from_dict(section))

    def spectrum(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 80, T) -> (B, n_fft // 2 + 1, T) complex STFT frames."""
        h = self.norm_in(self.embed(mel).transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            h = block(h)
        log_mag, phase = self.head(self.norm_out(h.transpose(1, 2))).float().chunk(2, dim=-1)
        mag = log_mag.clamp(max=MAX_LOG_MAGNITUDE).exp()
        return torch.polar(mag, phase).transpose(1, 2)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        frames = mel.shape[-1]
        # A centred STFT of T * hop samples has T + 1 frames: the last one is silence, as in Griffin-Lim here.
        spec = F.pad(self.spectrum(mel), (0, 1))
        return torch.istft(spec, self.config.n_fft, self.config.hop, window=self.window, center=True,
                           length=frames * self.config.hop)


class NeuralVocoder(Vocoder):
    """The ``Vocoder`` interface over a trained ``VocoderNet`` (inference only, fp32)."""

    def __init__(self, net: VocoderNet):
        self.net = net.eval().requires_grad_(False)

    @classmethod
    def from_pretrained(cls, path) -> NeuralVocoder:
        return cls(VocoderNet.from_pretrained(path))

    def __call__(self, mel: torch.Tensor) -> torch.Tensor:
        squeeze = mel.dim() == 2
        mel = mel.unsqueeze(0) if squeeze else mel
        with torch.no_grad():
            wave = self.net(mel.float().to(self.net.window.device)).clamp(-1, 1)
        return wave[0] if squeeze else wave
