"""``ditto2 distill --method cd|ctd``: distil the released teacher into a fast student (CD or CTD).

The student starts as a copy of the teacher's network. Data and batches are the teacher's (``latent_batches``),
so batch k is the same function of (seed, rank, k) and a killed run resumes exactly.

Target network: the stop-gradient *online* weights (EMA rate 0, as iCT and sCM use), not a separate EMA copy.
The loop already keeps an EMA of the online student for validation and release; a second, task-held target
would have to be checkpointed beside it for exact resume and would cost another copy of the weights, and the
losses accept an explicit ``target`` if a run ever needs one.

CFG: ``guidance`` != 1 bakes that scale into every teacher call (``CFGDenoiser``, two teacher passes per call);
the student then follows the guided ODE when given a caption alone. The scale is saved in the student config.
"""
from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
import torch

from ditto2.diffusion import CFGDenoiser, Denoiser, MelAutoencoder, drop_cond, sample_heun
from ditto2.distill import METHODS, CDConfig, CTDConfig, Student, cd_loss, check_steps, ctd_loss, sample_student
from ditto2.distill.trajectories import TrajectoryBank, TrajectoryConfig, bank_dir
from ditto2.errors import InputError
from ditto2.models import Teacher
from ditto2.models.teacher import check_autoencoder
from ditto2.release import file_digest
from ditto2.data.arrays import SplitArrays
from ditto2.train.data import split_latents
from ditto2.train.steering import SteeringCheck, steering_error_db
from ditto2.train.teacher import latent_batches

OBJECTIVES = {"cd": CDConfig, "ctd": CTDConfig}
LOSSES = {"cd": cd_loss, "ctd": ctd_loss}
REFERENCE_STEPS = 20  # the teacher's Heun steps for the validation reference (its default sampling)


@dataclasses.dataclass
class DistillTask:
    data: str
    teacher: str                # the teacher release (.safetensors)
    autoencoder: str            # the autoencoder that teacher was trained on
    method: str = "ctd"
    objective: CDConfig | CTDConfig | None = None  # None: the method's defaults
    guidance: float = 1.0       # CFG scale baked into the teacher calls; 1: the conditional teacher, one call
    crop: int = 512             # mel frames per training crop: whole clips, the length DITTO-2 samples
    cond_dropout: float = 0.2   # null captions, so the student keeps the teacher's unconditional mode
    trajectories: TrajectoryConfig | None = None  # CTD's trajectory term and its bank (None: off)
    val_seeds: tuple = tuple(range(8))  # 4 until 2026-12-02: their figure moved by +-0.03 between evaluations
    val_frames: int = 512       # clip length of the validation samples (mel frames)
    val_steps: tuple = (1, 2, 4)  # decode step counts measured against the teacher's 20-step sample
    steering: SteeringCheck | None = dataclasses.field(default_factory=SteeringCheck)  # None: distances only
    name: str = ""

    def __post_init__(self):
        if self.method not in METHODS:
            raise InputError(f"--method must be one of {list(METHODS)}, got {self.method!r}")
        self.objective = self.objective or OBJECTIVES[self.method]()
        if self.objective.kind != self.method:
            raise InputError(f"a {self.objective.kind} objective was given for --method {self.method}")
        if self.trajectories is not None and self.method != "ctd":
            raise InputError("--trajectories trains the jumps of CTD's decodes: use it with --method ctd")
        for k in self.val_steps:
            check_steps(k)
        self.name = self.name or f"distill-{self.method}"
        self.denoiser = Denoiser.from_pretrained(self.teacher)
        self.teacher_sha = file_digest(self.teacher)
        self.edm = self.denoiser.edm
        check_autoencoder(self.denoiser, self.teacher, self.autoencoder)
        self.ae = MelAutoencoder.from_pretrained(self.autoencoder)
        self.ae_digest = file_digest(self.autoencoder)
        self.guided = CFGDenoiser(self.denoiser, scale=self.guidance) if self.guidance != 1.0 else self.denoiser
        self.train = SplitArrays(self.data, "train", text=True)
        val = SplitArrays(self.data, "validation", text=True, limit=len(self.val_seeds))
        text = torch.from_numpy(val.text[:, 0].astype(np.float32))
        self.val_text = text[torch.arange(len(self.val_seeds)) % len(text)]  # captions cycle if clips are few
        self._reference: torch.Tensor | None = None
        self.bank = self._trajectory_bank() if self.trajectories is not None else None

    @functools.cached_property
    def train_latents(self):
        """The training split's latents (encoded once and cached beside the data): loaded when the first batch is
        asked for, so scoring a student (``validate``) needs no encoding."""
        return split_latents(self.ae, self.ae_digest, self.data, "train", self.train)

    def _trajectory_bank(self) -> TrajectoryBank:
        if self.method != "ctd":
            raise InputError("the trajectory term trains the jumps of CTD's decodes; use it with --method ctd")
        shape = Teacher(self.ae, self.denoiser, {}).latent_shape(self.trajectories.frames)
        folder = bank_dir(self.data, self.teacher_sha, self.guidance, self.trajectories, shape)
        captions = self.train.text if self.denoiser.net.config.cond_dim else None
        return TrajectoryBank.build(folder, self.guided, self.trajectories, shape, captions)

    def build_model(self) -> Student:
        return Student.from_teacher(self.denoiser, self.method, self.teacher_sha, self.guidance, self.edm)

    def config(self) -> dict:
        return {"method": self.method, "objective": self.objective.to_dict(), "guidance": self.guidance,
                "crop": self.crop, "cond_dropout": self.cond_dropout, "teacher": str(self.teacher),
                "teacher_sha": self.teacher_sha, "autoencoder_sha": self.ae_digest, "data": self.data,
                "trajectories": None if self.trajectories is None else self.trajectories.to_dict()}

    def batches(self, batch_size, seed, rank, world_size, start):
        return latent_batches(self.train, self.train_latents, self.ae.config.down_time, batch_size, self.crop, seed,
                              rank, start)

    def loss(self, model, batch, generator):
        x0 = batch["latent"]
        self.denoiser.to(x0.device)  # the teacher follows the batch onto the training device (once)
        cond = drop_cond(batch["text"], self.cond_dropout, generator)
        if self.bank is None:
            return LOSSES[self.method](model, self.guided, x0, cond, generator=generator, config=self.objective)
        return ctd_loss(model, self.guided, x0, cond, generator=generator, config=self.objective,
                        trajectory=self.bank.draw(generator, x0.device), trajectory_weight=self.trajectories.weight)

    def _val_inputs(self, device):
        x_T = Teacher(self.ae, self.denoiser, {}).initial_noise(list(self.val_seeds), self.val_frames)
        return x_T.to(device), self.val_text.to(device)

    @torch.no_grad()
    def reference(self, device) -> torch.Tensor:
        """The teacher's 20-step Heun latents from the validation x_T (same guidance), computed once."""
        if self._reference is None:
            x_T, cond = self._val_inputs(device)
            self.denoiser.to(device)
            self._reference = sample_heun(self.guided, x_T, self.denoiser.karras_sigmas(REFERENCE_STEPS),
                                          cond=cond).cpu()
        return self._reference.to(device)

    @torch.no_grad()
    def decode(self, student: Student, k: int) -> torch.Tensor:
        device = next(student.parameters()).device
        x_T, cond = self._val_inputs(device)
        return sample_student(student, x_T, k, cond, seeds=list(self.val_seeds))

    @torch.no_grad()
    def validate(self, ema) -> dict:
        """Latent MSE of the k-step student decode to the teacher's 20-step sample from the same x_T, and how well
        the student steers as DITTO-2's surrogate (``train.steering``; not the figure ``best`` is kept on)."""
        ref = self.reference(next(ema.parameters()).device)
        out = {f"mse_{k}step": (self.decode(ema, k) - ref).square().mean().item() for k in self.val_steps}
        out["loss"] = out[f"mse_{self.val_steps[0]}step"]
        if self.steering is not None:
            out["steer_db"] = steering_error_db(Teacher(self.ae, self.denoiser, {}), ema, self.steering)
        return out

    @torch.no_grad()
    def samples(self, ema, step: int, out_dir: Path) -> None:
        from ditto2.plots import plot_mel_grid

        n = min(2, len(self.val_seeds))
        ref = self.reference(next(ema.parameters()).device)
        latents = [("teacher 20", ref)] + [(f"{self.method} {k}-step", self.decode(ema, k)) for k in self.val_steps]
        mels, titles = [], []
        for i in range(n):
            for label, z in latents:
                mels.append(self.ae.from_latent(z[i: i + 1].cpu())[0].clamp(-1, 1))
                titles.append(f"{label}, seed {self.val_seeds[i]}, step {step}")
        plot_mel_grid(mels, out_dir / f"samples-{step:07d}.png", titles=titles, columns=len(latents))

    def release(self, ema, path: Path, info: dict) -> None:
        ema.save_pretrained(path, info, beside={"distill": self.config()})
