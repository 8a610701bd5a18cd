"""``ditto2 eval quality``: the teacher's quality figure against real clips, the vocoder's own cost, and noise."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ditto2.data.dataset import ClipDataset
from ditto2.distill import sample_student
from ditto2.eval import quality
from ditto2.fileio import write_json
from ditto2.models import Teacher, load_student_for, load_vocoder
from ditto2.plots import plot_mel_grid


def _held_out(data: str, split: str, n: int, seed: int) -> dict:
    ds = ClipDataset(data, split, fields=("mel", "audio", "text"))
    picks = np.random.default_rng(seed).choice(len(ds), size=min(n, len(ds)), replace=False)
    items = [ds[int(i)] for i in picks]
    return {"mel": torch.stack([it["mel"] for it in items]),
            "audio": [it["audio"].numpy().astype(np.float32) / 32767 for it in items],
            "text": torch.stack([it["text"][0] for it in items]).float()}


def _vocode(mels: torch.Tensor, vocoder) -> list[np.ndarray]:
    return [vocoder(m).numpy() for m in mels]


def _noise_sets(real_mels: torch.Tensor, n: int, seed: int, vocoder) -> dict[str, list[np.ndarray]]:
    gen = torch.Generator().manual_seed(seed)
    white = [0.1 * torch.randn(real_mels.shape[-1] * 256, generator=gen).numpy() for _ in range(n)]
    # The spectral envelope of real music with no notes: each clip's time-averaged mel plus smooth noise.
    envelope = real_mels.mean(-1, keepdim=True).expand_as(real_mels)
    wobble = torch.nn.functional.avg_pool1d(torch.randn(real_mels.shape, generator=gen), 9, 1, 4)
    return {"white noise": white, "noise with a real spectral envelope": _vocode(envelope + 0.3 * wobble, vocoder)}


@torch.no_grad()
def generated_mels(teacher: Teacher, n: int, seed: int, steps: int, text=None, cfg: float = 3.0) -> torch.Tensor:
    mels = []
    for k in tqdm(range(n), desc="sampling", unit="clip", leave=False):
        x_T = teacher.initial_noise([seed + k])
        cond = None if text is None else text[k: k + 1]
        mels.append(teacher.sample(x_T, steps, "heun", cond, cfg)[0])
    return torch.stack(mels)


@torch.no_grad()
def student_mels(teacher: Teacher, student, n: int, seed: int, steps: int) -> torch.Tensor:
    """Unconditional k-step decodes of the student from the same x_T as the teacher's unconditional set."""
    mels = []
    for k in tqdm(range(n), desc=f"{student.method} {steps}-step", unit="clip", leave=False):
        z = sample_student(student, teacher.initial_noise([seed + k]), steps, seeds=[seed + k])
        mels.append(teacher.autoencoder.from_latent(z)[0].clamp(-1, 1))
    return torch.stack(mels)


ENVELOPE_NOISE = "noise with a real spectral envelope"
VOCODER_LABELS = {"griffinlim": "Griffin-Lim", "neural": "neural vocoder"}


def teacher_quality(models: str | None, data: str, out_dir: str | Path, n: int = 64, steps: int = 20,
                    seed: int = 0, cfg: float = 3.0, student: str | None = None,
                    student_steps: tuple[int, ...] = (), vocoder: str = "griffinlim") -> list[quality.SetScore]:
    """The quality table and gate; with ``student`` ("ctd"/"cd") also its unconditional decodes at each of
    ``student_steps``, gated like the teacher's sets. Every mel is rendered by ``vocoder`` (griffinlim or the
    models folder's neural one), and the sets are named after it."""
    out_dir = Path(out_dir)
    label = VOCODER_LABELS[vocoder]
    real_vocoded = f"real validation mels → {label}"
    teacher, counter, renderer = Teacher.load(models), quality.NoteCounter(), load_vocoder(vocoder, models)
    reference = _held_out(data, "test", n, seed)
    real = _held_out(data, "validation", n, seed + 1)
    ref_features = np.stack([quality.clip_features(c) for c in reference["audio"]])
    uncond = generated_mels(teacher, n, seed, steps)
    cond = generated_mels(teacher, n, seed, steps, text=real["text"], cfg=cfg)
    generated = {f"teacher, unconditional, {steps} Heun steps → {label}": uncond,
                 f"teacher, validation captions, CFG {cfg:g}, {steps} Heun steps → {label}": cond}
    if student is not None:
        model = load_student_for(models, student)
        for k in student_steps:
            generated[f"{student.upper()} student, unconditional, {k}-step decode → {label}"] = \
                student_mels(teacher, model, n, seed, k)
    sets = {
        "real validation clips (rendered audio)": real["audio"],
        real_vocoded: _vocode(real["mel"], renderer),
        f"real → autoencoder → {label}": _vocode(teacher.autoencoder(real["mel"]).clamp(-1, 1), renderer),
        **{name: _vocode(mels, renderer) for name, mels in generated.items()},
        **_noise_sets(real["mel"], n, seed, renderer),
    }
    scores = {name: quality.score_set(name, clips, ref_features, counter)
              for name, clips in tqdm(sets.items(), desc="scoring")}
    gate = {name: quality.gate_misses(scores[name], scores[real_vocoded], scores[ENVELOPE_NOISE])
            for name in generated}
    _write(out_dir, list(scores.values()), gate, uncond, cond, real["mel"], teacher, n, steps, cfg)
    return list(scores.values())


def gate_lines(gate: dict[str, list[str]]) -> list[str]:
    """The gate's verdict per generated set, as Markdown list items."""
    return [f"- {name}: " + ("**passes**" if not misses else "misses: " + "; ".join(misses))
            for name, misses in gate.items()]


def _write(out_dir: Path, scores, gate, uncond, cond, real, teacher: Teacher, n: int, steps: int, cfg: float) -> None:
    table = quality.TABLE_HEADER + "\n" + "\n".join(s.row() for s in scores)
    verdict = "Quality gate (quality.gate_misses):\n" + "\n".join(gate_lines(gate))
    info = {"teacher": teacher.info, "clips_per_set": n, "steps": steps, "cfg": cfg,
            "reference": f"{n} test-split clips (rendered audio)", "scores": [s.__dict__ for s in scores],
            "gate_misses": gate}
    write_json(out_dir / "teacher-quality.json", info)
    (out_dir / "teacher-quality.md").write_text(table + "\n\n" + verdict + "\n")
    mels = [m for trio in zip(uncond[:4], cond[:4], real[:4]) for m in trio]
    plot_mel_grid(mels, out_dir / "teacher-grid.png", columns=3,
                  titles=["generated, unconditional", f"generated, caption + CFG {cfg:g}", "real (validation)"] * 4)
    print(table)
    print(verdict)
    print(json.dumps(teacher.info))
