"""``ditto2 data build``: music21 corpus -> arranged MIDI -> FluidSynth audio -> clip shards + manifest.

Work is split into shards of a few pieces each; workers build shards in parallel and each shard
is written atomically, so a killed build resumes by skipping the shards that exist. The piece
list, arrangement and split of every piece depend only on the profile and the seed.
"""
from __future__ import annotations

import dataclasses
import json
import multiprocessing
import time
from pathlib import Path

import numpy as np

from ditto2.audio import mel as M
from ditto2.audio.io import normalise_loudness
from ditto2.data import arrange, captions, clips, shards
from ditto2.data.catalog import Piece, select_pieces
from ditto2.data.render import add_reverb, check_fluidsynth, find_soundfont, render_midi
from ditto2.data.score import read_score
from ditto2.errors import InputError
from ditto2.fileio import read_json, write_json

HELD_OUT = ("validation", "test")  # splits whose rendered audio is kept for evaluation
BUILD_CONFIG = "build.json"
LOUDNESS_DB = -20.0


@dataclasses.dataclass(frozen=True)
class BuildConfig:
    profile: str = "full"
    seed: int = 0
    soundfont: str = "fluidr3"
    pieces_per_shard: int = 12
    max_piece_seconds: float = 150.0
    min_piece_seconds: float = 24.0  # short tunes are repeated up to this length

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ShardTask:
    name: str
    split: str
    pieces: tuple[Piece, ...]
    keep_audio: bool = False   # keep the rendered audio of every split, not only the held-out ones


# Profiles whose every split keeps its audio: the vocoder trains on waveforms (docs/vocoder.md).
KEEP_ALL_AUDIO = ("vocoder",)


def plan_shards(pieces: list, per_shard: int) -> list[ShardTask]:
    """Consecutive groups of ``per_shard`` items of each split (items have a ``split`` attribute)."""
    tasks = []
    for split in ("train", "validation", "test"):
        members = [p for p in pieces if p.split == split]
        for k in range(0, len(members), per_shard):
            tasks.append(ShardTask(f"{split}-{k // per_shard:04d}.npz", split, tuple(members[k: k + per_shard])))
    return tasks


def piece_record(piece: Piece, config: BuildConfig, soundfont: str):
    """Render one piece: its clips, per-piece metadata and captions."""
    score = read_score(piece)
    rng = arrange.piece_rng(config.seed, piece.id)
    arr = arrange.choose_arrangement(score, piece.genre, rng)
    score = arrange.repeat_to_length(score, arr, config.min_piece_seconds)
    midi = arrange.build_midi(score, arr, config.max_piece_seconds)
    dry = render_midi(midi, soundfont)
    audio = normalise_loudness(add_reverb(dry, arr.reverb_seconds, arr.reverb_mix, arr.swell_seed), LOUDNESS_DB)
    melody = clips.melody_frames(arrange.melody_notes(midi), len(audio) // M.HOP)
    piece_clips = clips.cut_clips(audio, melody)
    tonic = (score.tonic_pc + arr.transpose) % 12
    meta = {"piece": piece.id, "source": piece.source_path, "genre": piece.genre, "split": piece.split,
            "monophonic": score.monophonic, "tonic_pc": tonic, "mode": score.mode,
            "key": captions.key_name(tonic, score.mode), "tempo_band": captions.tempo_band(arr.bpm),
            **arr.to_dict()}
    return piece_clips, meta, captions.captions_for(meta, rng)


class CorpusRecorder:
    """Turns a corpus piece into (clips, metadata, captions); picklable for the process pool."""

    def __init__(self, config: BuildConfig, soundfont: str):
        self.config, self.soundfont = config, soundfont

    def __call__(self, piece: Piece):
        return piece_record(piece, self.config, self.soundfont)


def build_shard(task: ShardTask, record, out: Path) -> dict:
    """Build and write one shard; returns its summary. Items that fail are listed, not fatal."""
    import torch

    torch.set_num_threads(1)
    columns = {"audio": [], "melody_pitch": [], "captions": [], "meta": []}
    skipped = []
    for item in task.pieces:
        try:
            piece_clips, meta, caps = record(item)
        except Exception as exc:  # one unreadable piece or file must not stop the build
            skipped.append(f"{getattr(item, 'id', item)}: {type(exc).__name__}: {exc}")
            continue
        for k in range(len(piece_clips)):
            columns["audio"].append(piece_clips.audio[k])
            columns["melody_pitch"].append(piece_clips.melody_pitch[k])
            columns["captions"].append(caps)
            columns["meta"].append(json.dumps({**meta, "clip": k, "start": float(piece_clips.starts[k])}))
    arrays = _shard_arrays(columns, keep_audio=task.keep_audio or task.split in HELD_OUT)
    arrays["skipped"] = np.array(skipped, dtype=str)
    shards.write_shard(out / task.name, arrays)
    return {"file": task.name, "clips": len(columns["meta"]), "skipped": skipped}


def _shard_arrays(columns: dict, keep_audio: bool) -> dict[str, np.ndarray]:
    n = len(columns["meta"])
    audio = np.stack(columns["audio"]) if n else np.zeros((0, M.CLIP_SAMPLES), np.float32)
    pitch = np.stack(columns["melody_pitch"]) if n else np.zeros((0, M.CLIP_FRAMES), np.int16)
    arrays = {
        "mel": clips.clip_mels(audio),
        "melody_pitch": pitch,
        "melody_pc": clips.pitch_classes(pitch),
        "captions": np.array(columns["captions"], dtype=str).reshape(n, captions.N_CAPTIONS),
        "meta": np.array(columns["meta"], dtype=str),
    }
    if keep_audio:
        arrays["audio"] = np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)
    return arrays


def _summary_of(path: Path) -> dict:
    data = shards.read_shard(path, fields=("meta", "skipped"))
    pieces = {json.loads(str(m))["piece"] for m in data["meta"]}
    return {"file": path.name, "clips": len(data["meta"]), "pieces": len(pieces),
            "skipped": list(map(str, data["skipped"]))}


def check_resume(out: Path, config: dict) -> None:
    """Refuse to mix two builds with different settings in one folder; record the settings."""
    path = out / BUILD_CONFIG
    if path.is_file() and read_json(path) != config:
        raise InputError(f"{out} holds a build with other settings ({read_json(path)}); "
                         "use another output folder or the same settings to resume")
    write_json(path, config)


def run_tasks(out: Path, tasks: list[ShardTask], record, workers: int, progress: bool) -> float:
    """Build the shards that do not exist yet, in parallel; returns the wall time."""
    from tqdm import tqdm

    pending = [t for t in tasks if not (out / t.name).is_file()]
    started = time.time()
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(pending), desc="shards", unit="shard", disable=not progress)
    with multiprocessing.get_context("spawn").Pool(workers) if workers > 1 else _InlinePool() as pool:
        for _ in pool.imap_unordered(_BuildWorker(record, out), pending):
            bar.update()
    bar.close()
    return time.time() - started


# Disk a finished build takes, measured (docs/data.md): full 32.7 h -> about 2.6 GB with its held-out audio and
# caches; vocoder 888 MB; tiny a few MB. Checked before a build starts, less what a resumed build already holds.
BUILD_BYTES = {"full": 3.0e9, "vocoder": 1.0e9, "tiny": 50e6}


def check_free_disk(out: Path, profile: str) -> None:
    import shutil

    held = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) if out.is_dir() else 0
    need = BUILD_BYTES.get(profile, 0) - held
    existing = next(p for p in (out, *out.parents) if p.exists())
    free = shutil.disk_usage(existing).free
    if need > free:
        raise InputError(f"{out}: the {profile} build needs about {need / 1e9:.1f} GB more disk, "
                         f"{free / 1e9:.1f} GB free there (free some, or build into another folder)")


def build_dataset(out: str | Path, config: BuildConfig, workers: int = 2, progress: bool = True) -> dict:
    """Build (or resume) a corpus dataset in ``out``; returns the manifest."""
    out = Path(out).resolve()
    check_free_disk(out, config.profile)
    check_fluidsynth()
    soundfont = str(find_soundfont(config.soundfont))
    check_resume(out, config.to_dict())
    tasks = plan_shards(select_pieces(config.profile), config.pieces_per_shard)
    if config.profile in KEEP_ALL_AUDIO:
        tasks = [dataclasses.replace(t, keep_audio=True) for t in tasks]
    seconds = run_tasks(out, tasks, CorpusRecorder(config, soundfont), workers, progress)
    return write_manifest(out, tasks, config.to_dict(), build_seconds=seconds)


def write_manifest(out: Path, tasks: list[ShardTask], config: dict, build_seconds: float) -> dict:
    splits = {}
    for split in ("train", "validation", "test"):
        summaries = [_summary_of(out / t.name) for t in tasks if t.split == split]
        clip_count = sum(s["clips"] for s in summaries)
        splits[split] = {"shards": summaries, "clips": clip_count, "pieces": sum(s["pieces"] for s in summaries),
                         "hours": round(clip_count * M.CLIP_SAMPLES / M.SAMPLE_RATE / 3600, 3)}
    manifest = {
        "format": 1, "config": config,
        "representation": {"sample_rate": M.SAMPLE_RATE, "n_fft": M.N_FFT, "hop": M.HOP, "n_mels": M.N_MELS,
                           "clip_frames": M.CLIP_FRAMES, "ln_floor": M.LN_FLOOR, "ln_ceil": M.LN_CEIL},
        "splits": splits,
        "totals": {k: sum(s[k] for s in splits.values()) for k in ("clips", "pieces", "hours")},
        "skipped": [msg for s in splits.values() for sh in s["shards"] for msg in sh["skipped"]],
        "last_run_seconds": round(build_seconds, 1),
    }
    write_json(out / shards.MANIFEST, manifest)
    return manifest


class _BuildWorker:
    """Picklable callable for the process pool."""

    def __init__(self, record, out: Path):
        self.record, self.out = record, out

    def __call__(self, task: ShardTask) -> dict:
        return build_shard(task, self.record, self.out)


class _InlinePool:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def imap_unordered(self, fn, items):
        return map(fn, items)
