"""A realism term from the teacher: how far the rendered clip sits from what the teacher would denoise it to.

Off by default (``Pipeline.generate(realism=W)``): measured on 8 tuning curves of intensity (docs/generation.md,
"Every task measured"), weight 1 at sigma 0.5 or 2 washed the clips out (onset peakiness 0.45-0.63x the
uncontrolled clips', against 0.83x without it) and missed the target (1.8-2.1 dB² against 0.32): the score's pull
towards the teacher's denoised estimate is a pull towards its average, smoother clip. Kept for further study.

Why it was tried (issue 15): the controls that may change every frame (intensity, melody, structure) reach their targets with
fewer notes than the seed's uncontrolled clip (0.6-0.8× on the fresh targets), and the output anchor, which keeps
the paint controls musical, cannot be used there: it fights the change the control asks for. The teacher knows
what music looks like at every level of noise: noised to a moderate sigma and denoised, a musical latent comes
back close to itself, a clip pushed off the data manifold comes back changed. Score distillation (DreamFusion,
arXiv 2209.14988) uses the same signal as a gradient: d/dz 0.5 |z - sg(D(z + sigma n, sigma))|^2 = z - D(...),
a step towards the teacher's denoised estimate; no gradient runs through the teacher, so it costs one teacher
forward per optimisation step (plus the autoencoder's encoder, to read the rendered mel as a latent).

    realism(mel) = |z - sg(D(z + sigma n, sigma))|^2 / (that of the starting render),   z = E(mel)

normalised by the starting render's own figure, so weight 1 means "as much as the seed's clip has". Like the
anchor it shapes the optimiser's path only (``optimise_noise``'s ``prior``); the best iterate is chosen on the
controls. The noise n is drawn from one seeded generator per run, fresh each step (a fixed n lets the optimiser
fit that one draw).
"""
from __future__ import annotations

import torch


class TeacherRealism:
    """``realism(mel) -> (B,)`` for ``optimise_noise(prior=...)``: ``weight`` times the normalised term above."""

    def __init__(self, teacher, weight: float, sigma: float, seed: int = 0):
        self.autoencoder, self.denoiser = teacher.autoencoder, teacher.denoiser
        self.weight, self.sigma = float(weight), float(sigma)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.start: torch.Tensor | None = None

    def __call__(self, mel: torch.Tensor) -> torch.Tensor:
        z = self.autoencoder.to_latent(mel.float())
        noise = torch.randn(z.shape, generator=self.generator).to(z)
        with torch.no_grad():
            denoised = self.denoiser(z.detach() + self.sigma * noise, self.sigma).float()
        error = (z - denoised).square().flatten(1).mean(-1)
        if self.start is None:
            self.start = error.detach().clamp(min=1e-8)
        return self.weight * error / self.start
