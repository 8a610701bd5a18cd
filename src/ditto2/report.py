"""Writing a generation: audio files, the sidecar JSON beside each (targets for ``ditto2 eval run``), the
optional report and the plot of each target against what was achieved."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ditto2.audio import mel as M
from ditto2.audio.io import write_audio
from ditto2.controls.base import Control
from ditto2.fileio import write_json

SIDECAR_VERSION = 1


def sidecar_targets(controls, clip_name: str | None, reference_name: str | None) -> dict:
    """The ``targets`` entry of a sidecar (format: ``ditto2.controls.base``)."""
    targets: dict = {}
    for control in controls:
        targets.update(control.record())
    if "context" in targets:
        targets["context"].update(audio=clip_name, reference=reference_name)
    seams = [s for c in controls for s in c.seams()]
    if seams:
        targets["seams"] = seams
    if any(c.loops for c in controls):
        targets["loop"] = True
    return targets


def _context_reference(controls):
    """The reference audio of a paint or reference-loop control (the ones that carry one), if any."""
    return next((c.reference for c in controls if hasattr(c, "reference")), None)


def _assembled(controls) -> bool:
    return any(type(c).assemble is not Control.assemble for c in controls)


def write_generation(result, paths: list[Path], report=None, plot=None, models_dir=None) -> list[Path]:
    """Write each candidate to its path with a sidecar (the controls as the pipeline ran them, ``result.controls``);
    returns the audio paths written."""
    controls = result.controls
    reference = _context_reference(controls)
    assembled = _assembled(controls) or any(a.size != c.size for a, c in zip(result.audio, result.clip_audio))
    for k, path in enumerate(paths):
        path = Path(path)
        clip_name = ref_name = None
        if assembled:
            clip_name = f"{path.stem}.clip.wav"
            write_audio(path.with_name(clip_name), result.clip_audio[k])
        if reference is not None:
            ref_name = f"{path.stem}.reference.wav"
            write_audio(path.with_name(ref_name), reference)
        write_audio(path, result.audio[k])
        targets = sidecar_targets(controls, clip_name, ref_name)
        if result.settings.get("seams"):  # long-form: every join of the chain
            targets["seams"] = result.settings["seams"]
        sidecar = {"ditto2": SIDECAR_VERSION, "audio": path.name, "sample_rate": M.SAMPLE_RATE,
                   "seed": result.seeds[k], "settings": result.settings,
                   "final_losses": {name: v[k] for name, v in result.final_losses.items()},
                   "targets": targets}
        if clip_name:
            sidecar["clip"] = clip_name
        write_json(path.with_suffix(".json"), sidecar)
    if report:
        write_json(report, report_dict(result, paths) | {"metrics_on_final_audio": measure(paths, models_dir)})
    if plot:
        plot_generation(result, controls, plot, [Path(p).name for p in paths])
    return [Path(p) for p in paths]


def report_dict(result, paths) -> dict:
    last = result.history[-1] if result.history else {}
    return {"files": [str(p) for p in paths], "settings": result.settings, "timing": result.timing,
            "final_losses": result.final_losses,
            "surrogate_loss_final_iterate": {k: v for k, v in last.items() if k != "step"},
            "surrogate_loss_best_iterate": result.best_surrogate_loss,
            "loss_history": [h["loss"] for h in result.history]}


def measure(paths, models_dir=None) -> list[dict]:
    """The evaluation's metrics of each written file against its sidecar (``ditto2 eval run``'s scorers); seams
    and loops need real music to compare with, so they are left to ``ditto2 eval run --real-seams``."""
    from ditto2.eval.run import SCORERS, Item, RunContext, clip_file, read_sidecar, score_item

    ctx, out = RunContext(models_dir=models_dir), []
    for path in map(Path, paths):
        targets, unscored = read_sidecar(path.with_suffix(".json"))
        later = [k for k in targets if SCORERS[k].needs_real_music]
        item = Item(path, path.with_suffix(".json"), {k: v for k, v in targets.items() if k not in later},
                    unscored + later, clip_file(path.with_suffix(".json")))
        out.append({"file": path.name, **score_item(item, ctx, None)["metrics"]})
    return out


def plot_generation(result, controls, path, titles) -> Path:
    """One row per candidate: the mel, then each control's target against the decoded mel's feature."""
    from ditto2.plots import pyplot, save_figure

    plt = pyplot()
    panels = [c for c in controls if c.has_panel()]
    rows, cols = len(result.audio), 1 + len(panels) + bool(result.history)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.6 * rows), squeeze=False)
    mel = result.mel.float()
    seconds = M.frames_to_seconds(np.arange(mel.shape[-1]))
    for k in range(rows):
        ax = axes[k][0]
        ax.imshow(mel[k].numpy(), origin="lower", aspect="auto", vmin=-1, vmax=1, cmap="magma",
                  extent=(0, seconds[-1], 0, M.N_MELS))
        ax.set_title(titles[k], fontsize=8)
        for ax, control in zip(axes[k][1:], panels):
            with torch.no_grad():
                control.plot_panel(ax, mel[k:k + 1], seconds)
            ax.set_title(f"{control.name}: target vs achieved", fontsize=8)
        if result.history:
            ax = axes[k][-1]
            ax.plot([h["loss"][k] for h in result.history])
            ax.set_title("surrogate loss", fontsize=8)
            ax.set_xlabel("step", fontsize=7)
    return save_figure(fig, path)

