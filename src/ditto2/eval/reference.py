"""``ditto2 eval reference``: the floors and ceilings that give every evaluation number its meaning.

Sets (``n`` clips each, drawn with a fixed seed from the dataset's shards; only validation and test
store audio, the train split stores mels only):

* **R** — real validation audio: the reference of every FAD row (different pieces from the test split).
* real test audio; Griffin-Lim of the test mels (the vocoder's own cost); Griffin-Lim of training mels;
  white noise at each test clip's RMS level; Griffin-Lim of test mels with frames shuffled in time.
  "held-out vs training" is measured in the vocoded domain too: GL(test mels) against GL(train mels).

Control figures on the test clips, each against the clip's **own** target:

* melody: basic-pitch top-note pitch class of real audio / GL(mel) vs the stored ``melody_pc``
  (the transcriber's ceiling, with and without the vocoder); chance: white noise, GL of the
  time-shuffled mel, and the audio of *another* test clip against this clip's melody.
* intensity and structure: the target is the mel-route feature of the clip's own mel
  (``features.intensity_db(mel)``, ``features.ssm(mel)``): the curve a perfect optimiser would reach.
  The achieved curve is the audio-route twin (``intensity_error``, ``structure_error``) of the real
  audio, of GL(mel) (what generation would deliver), and of another clip's audio (chance).
* context: ``context_error_db`` of GL(mel) against the real audio over frames 2 .. T-3 (the vocoder's
  cost inside a paint context); chance: another clip's audio.
* seams: ``real_jumps`` over the test audio (the baseline every seam is divided by); a naive splice
  (first half of clip k, second half of clip k+1) and a real clip looped end-to-start as ceilings.
"""
from __future__ import annotations

import datetime
import platform
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ditto2.audio import mel as M
from ditto2.data import shards
from ditto2.errors import InputError
from ditto2.fileio import write_json

EDGE = 2  # frames at each clip edge that see the STFT's reflect padding (docs/evaluation.md, context error)


def sample_clips(root, split: str, n: int, seed: int, fields: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``n`` clips of a split drawn without replacement (fixed seed), loading only the shards they live in."""
    manifest = shards.load_manifest(root)
    if split not in manifest["splits"]:
        raise InputError(f"dataset {root} has no split {split!r} (it has {sorted(manifest['splits'])})")
    entries = manifest["splits"][split]["shards"]
    counts = np.array([e["clips"] for e in entries])
    if counts.sum() < n:
        raise InputError(f"dataset {root}: the {split} split has {counts.sum()} clips, fewer than -n {n}")
    picks = np.sort(np.random.default_rng(seed).choice(counts.sum(), size=n, replace=False))
    starts = np.concatenate([[0], np.cumsum(counts)])
    out = {f: [] for f in fields}
    for s, entry in enumerate(entries):
        local = picks[(picks >= starts[s]) & (picks < starts[s + 1])] - starts[s]
        if local.size == 0:
            continue
        data = shards.read_shard(Path(root) / entry["file"], fields=list(fields))
        missing = set(fields) - set(data)
        if missing:
            raise InputError(f"shard {entry['file']} of {root} has no field(s) {sorted(missing)}")
        for f in fields:
            out[f].append(data[f][local])
    return {f: np.concatenate(v) for f, v in out.items()}


def vocode(mels: np.ndarray, desc: str, progress: bool, batch: int = 8, vocoder=None) -> list[np.ndarray]:
    """Waveforms of ``mels`` through ``vocoder`` (default Griffin-Lim)."""
    from ditto2.audio.vocoder import GriffinLim

    vocoder, waves = vocoder or GriffinLim(), []
    with torch.no_grad():
        for k in tqdm(range(0, len(mels), batch), desc=desc, unit="batch", disable=not progress, leave=False):
            waves += list(vocoder(torch.from_numpy(mels[k: k + batch].astype(np.float32))).numpy())
    return waves


def _stats(values) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"mean": None, "std": None, "n": 0}
    return {"mean": float(np.mean(values)), "std": float(np.std(values)), "n": len(values)}


def make_embedder(name: str, seed: int = 0, models_dir=None):
    if name == "musicnn":
        from ditto2.eval.musicnn import MusicnnEmbedder

        return MusicnnEmbedder()
    if name == "logmel":
        from ditto2.eval.embedders import LogMelProjection

        return LogMelProjection(seed=seed)
    if name == "clap":
        from ditto2.eval.embedders import ClapEmbedder

        return ClapEmbedder(models_dir)
    raise InputError(f"embedder: expected logmel, musicnn or clap, got {name!r}")


FAD_ROWS = (  # (row, evaluated set, reference set)
    ("floor: real test audio vs R", "real test audio", "R"),
    ("vocoder: GL(test mels) vs R", "GL(test mels)", "R"),
    ("GL(train mels) vs R", "GL(train mels)", "R"),
    ("held-out vs training, vocoded: GL(test mels) vs GL(train mels)", "GL(test mels)", "GL(train mels)"),
    ("ceiling: white noise at the clips' RMS vs R", "white noise", "R"),
    ("ceiling: GL(time-shuffled test mels) vs R", "GL(shuffled test mels)", "R"),
    # with ``neural=``: the shipped vocoder's cost, beside Griffin-Lim's (issue 17)
    ("vocoder: neural(test mels) vs R", "neural(test mels)", "R"),
)


def fad_figures(sets: dict[str, list[np.ndarray]], embedder, progress: bool) -> list[dict]:
    from ditto2.eval.fad import _pooled, embed_set, fad_from_embeddings

    pooled, summaries = {}, {}
    rows = [r for r in FAD_ROWS if r[1] in sets and r[2] in sets]
    needed = sorted({s for _, a, b in rows for s in (a, b)})
    for name in tqdm(needed, desc=f"embedding ({embedder.name})", unit="set", disable=not progress, leave=False):
        emb, summary = embed_set(sets[name], embedder, label=name)
        pooled[name], summaries[name] = _pooled(emb, summary, name), summary
    return [{"row": row, "evaluated": a, "reference": b, "fad": fad_from_embeddings(pooled[b], pooled[a]),
             "evaluated_set": vars(summaries[a]), "reference_set": vars(summaries[b])} for row, a, b in rows]


def control_figures(test: dict, real: list[np.ndarray], gl: list[np.ndarray], noise: list[np.ndarray],
                    shuffled_gl: list[np.ndarray], progress: bool) -> dict:
    from ditto2.eval.controls import context_error_db, intensity_error, loop_wave, real_jumps, seam_score, structure_error
    from ditto2.eval.melody import Transcriber, frame_accuracy
    from ditto2.features import intensity_db, ssm

    n = len(real)
    other = [(k + 1) % n for k in range(n)]  # "another clip": the next one in the sample
    mels = torch.from_numpy(test["mel"].astype(np.float32))
    with torch.no_grad():
        target_db = intensity_db(mels).numpy().astype(np.float64)
        target_ssm = ssm(mels).numpy().astype(np.float64)
    pcs = test["melody_pc"].astype(np.int64)
    voiced = [k for k in range(n) if (pcs[k] >= 0).any()]

    transcriber = Transcriber()
    estimates = {}
    for name, waves in (("real", real), ("gl", gl), ("noise", noise), ("shuffled", shuffled_gl)):
        estimates[name] = [transcriber.top_pitch(w) for w in
                           tqdm(waves, desc=f"transcribing ({name})", unit="clip", disable=not progress, leave=False)]
    melody = {
        "real audio vs its own melody (transcriber ceiling)": [frame_accuracy(estimates["real"][k], pcs[k]) for k in voiced],
        "GL(mel) vs its own melody (ceiling after the vocoder)": [frame_accuracy(estimates["gl"][k], pcs[k]) for k in voiced],
        "another clip's real audio vs this melody (chance, music)":
            [frame_accuracy(estimates["real"][other[k]], pcs[k]) for k in voiced],
        "GL(time-shuffled mel) vs its own melody (chance)": [frame_accuracy(estimates["shuffled"][k], pcs[k]) for k in voiced],
        "white noise vs the melody (chance, noise)": [frame_accuracy(estimates["noise"][k], pcs[k]) for k in voiced],
    }
    intensity, structure, context = {}, {}, {}
    for label, waves in (("real audio", real), ("GL(mel)", gl), ("another clip's real audio (chance)",
                                                                  [real[o] for o in other])):
        scores = [intensity_error(w, target_db[k]) for k, w in enumerate(waves)]
        intensity[label] = {"mse_db2": _stats([s.mse_db2 for s in scores]), "pearson": _stats([s.pearson for s in scores])}
        structure[label] = {"mse": _stats([structure_error(w, target_ssm[k]).mse for k, w in enumerate(waves)])}
    mask = np.zeros(M.CLIP_FRAMES, dtype=bool)
    mask[EDGE: M.CLIP_FRAMES - EDGE] = True
    context["GL(mel) vs its real audio"] = _stats([context_error_db(gl[k], real[k], mask) for k in range(n)])
    context["another clip's real audio (chance)"] = _stats([context_error_db(real[other[k]], real[k], mask)
                                                            for k in range(n)])
    loud, flux = real_jumps(real, seed=0)
    jumps = (loud, flux)
    half = M.CLIP_SAMPLES // 2
    splice = [seam_score(np.concatenate([real[k][:half], real[other[k]][half:]]), half // M.HOP, jumps)
              for k in range(n)]
    loops = [seam_score(*loop_wave(real[k]), jumps) for k in range(n)]
    seams = {
        "real_jumps over test audio": {"loudness_db": _stats(loud), "flux_db": _stats(flux)},
        "naive splice of two clips (ceiling)": {f: _stats([s.to_dict()[f] for s in splice])
                                                for f in ("loudness_db", "flux_db", "loudness_ratio", "flux_ratio")},
        "real clip looped end to start (ceiling)": {f: _stats([s.to_dict()[f] for s in loops])
                                                    for f in ("loudness_db", "flux_db", "loudness_ratio", "flux_ratio")},
    }
    return {"melody_accuracy": {k: _stats(v) for k, v in melody.items()}, "voiced_clips": len(voiced),
            "intensity": intensity, "structure": structure, "context_error_db": context, "seams": seams,
            "example": {"target_db": target_db[0], "achieved_db": intensity_error(gl[0], target_db[0]).achieved_db,
                        "target_pc": pcs[0], "estimate_pc": np.where(estimates["gl"][0] >= 0, estimates["gl"][0] % 12, -1),
                        "target_ssm": target_ssm[0], "achieved_ssm": structure_error(gl[0], target_ssm[0]).achieved}}


def reference_figures(data, out_dir, *, n: int = 64, embedders=("logmel",), seed: int = 0, controls: bool = True,
                      export_audio=None, neural=None, progress: bool = True) -> dict:
    """Compute the reference figures; write ``reference.json``, ``reference.md`` (and an example plot). With
    ``neural`` (a vocoder), FAD gains the row of the test mels resynthesised through it."""
    import time

    if n < 3:
        raise InputError(f"-n must be at least 3 (a Fréchet distance needs a covariance), got {n}")
    embedders = [make_embedder(e, seed) for e in embedders]
    started = time.time()
    out_dir = Path(out_dir)
    test = sample_clips(data, "test", n, seed, ("mel", "audio", "melody_pc"))
    val = sample_clips(data, "validation", n, seed + 1, ("audio",))
    train = sample_clips(data, "train", n, seed + 2, ("mel",))
    real = [a.astype(np.float32) / 32767 for a in test["audio"]]
    reference = [a.astype(np.float32) / 32767 for a in val["audio"]]
    rng = np.random.default_rng(seed)
    shuffled = np.stack([m[:, rng.permutation(m.shape[-1])] for m in test["mel"]])
    noise = [(np.sqrt(np.mean(np.square(w))) * rng.standard_normal(w.size)).astype(np.float32) for w in real]
    gl = vocode(test["mel"], "Griffin-Lim (test)", progress)
    sets = {"R": reference, "real test audio": real, "GL(test mels)": gl,
            "GL(train mels)": vocode(train["mel"], "Griffin-Lim (train)", progress), "white noise": noise,
            "GL(shuffled test mels)": vocode(shuffled, "Griffin-Lim (shuffled)", progress)}
    if neural is not None:
        sets["neural(test mels)"] = vocode(test["mel"], "neural vocoder (test)", progress, vocoder=neural)
    if export_audio is not None:
        from ditto2.audio.io import write_audio

        for k, wave in enumerate(reference):
            write_audio(Path(export_audio) / f"validation-{k:04d}.wav", wave)
    result = {"data": str(data), "clips_per_set": n, "seed": seed,
              "sets": "R = real validation audio; test, train: see ditto2.eval.reference",
              "date": datetime.date.today().isoformat(),
              "machine": f"{platform.machine()}, {platform.processor() or platform.system()}, "
                         f"torch threads {torch.get_num_threads()}",
              "fad": {e.name: fad_figures(sets, e, progress) for e in embedders}}
    if controls:
        figures = control_figures(test, real, gl, noise, sets["GL(shuffled test mels)"], progress)
        example = figures.pop("example")
        result["controls"] = figures
        from ditto2.plots import plot_control_targets

        plot_control_targets(out_dir / "example-gl.png", "test clip 0: mel-route targets vs GL(mel) audio",
                             intensity={"target": example["target_db"], "achieved": example["achieved_db"]},
                             melody={"target": example["target_pc"], "achieved": example["estimate_pc"]},
                             structure={"target": example["target_ssm"], "achieved": example["achieved_ssm"]})
    result["seconds"] = round(time.time() - started, 1)
    write_json(out_dir / "reference.json", result)
    (out_dir / "reference.md").write_text(markdown(result))
    return result


def _ms(stat: dict, digits: int = 3) -> str:
    if stat["mean"] is None:
        return "–"
    return f"{stat['mean']:.{digits}g} ± {stat['std']:.2g}"


def markdown(result: dict) -> str:
    n = result["clips_per_set"]
    lines = [(f"Reference figures: `{result['data']}`, {n} clips per set, seed {result['seed']}, "
              f"{result['date']}, {result['seconds']:.0f} s."), ""]
    for name, rows in result["fad"].items():
        lines += [f"**FAD ({name})** — R = {n} real validation clips", "",
                  "| figure | FAD | evaluated (files / frames / s) | reference (files / frames / s) |",
                  "|---|---|---|---|"]
        for r in rows:
            e, f = r["evaluated_set"], r["reference_set"]
            lines.append(f"| {r['row']} | {r['fad']:.4g} | {e['files']} / {e['frames']} / {e['seconds']:.0f} | "
                         f"{f['files']} / {f['frames']} / {f['seconds']:.0f} |")
        lines.append("")
    if "controls" in result:
        c = result["controls"]
        lines += [(f"**Melody accuracy** (basic-pitch top note vs the stored `melody_pc`, {c['voiced_clips']} clips, "
                   "mean ± std over clips)"), "", "| set | frame accuracy |", "|---|---|"]
        lines += [f"| {k} | {_ms(v)} |" for k, v in c["melody_accuracy"].items()]
        lines += ["", "**Intensity and structure** (target: the mel-route feature of the clip's own mel)", "",
                  "| achieved from | intensity MSE (dB²) | intensity r | SSM MSE |", "|---|---|---|---|"]
        for k in c["intensity"]:
            i = c["intensity"][k]
            lines.append(f"| {k} | {_ms(i['mse_db2'])} | {_ms(i['pearson'])} | {_ms(c['structure'][k]['mse'])} |")
        lines += ["", "**Context error** (mean |Δ dB log-mel| over frames 2 .. T-3)", "", "| set | dB |", "|---|---|"]
        lines += [f"| {k} | {_ms(v)} |" for k, v in c["context_error_db"].items()]
        lines += ["", "**Seams** (jump across frames b-2 → b+2)", "",
                  "| set | loudness jump (dB) | flux (dB) | loudness / real | flux / real |", "|---|---|---|---|---|"]
        for k, v in c["seams"].items():
            lines.append(f"| {k} | {_ms(v['loudness_db'])} | {_ms(v['flux_db'])} | "
                         f"{_ms(v['loudness_ratio']) if 'loudness_ratio' in v else '1'} | "
                         f"{_ms(v['flux_ratio']) if 'flux_ratio' in v else '1'} |")
        lines.append("")
    return "\n".join(lines)
