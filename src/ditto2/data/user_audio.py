"""``ditto2 data build --audio-dir DIR``: the same clip format from a folder of the user's own audio.

Captions come from a CSV (``file,caption``; file relative to DIR or a bare file name); files without
one get a caption from their name. No MIDI exists, so melody targets are all -1 (unknown).
"""
from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from ditto2.audio.io import AUDIO_EXTENSIONS, normalise_loudness, read_audio
from ditto2.data import build, captions, clips
from ditto2.data.catalog import split_of
from ditto2.errors import InputError, MissingResourceError


@dataclasses.dataclass(frozen=True)
class AudioItem:
    id: str      # path relative to the audio folder
    path: str
    caption: str
    split: str


def read_captions(path: str | Path) -> dict[str, str]:
    path = Path(path)
    if not path.is_file():
        raise MissingResourceError(f"captions file not found: {path}")
    table = {}
    with path.open(newline="") as handle:
        for line, row in enumerate(csv.reader(handle), start=1):
            if not row or row[0].strip().lower() in {"file", "filename", "path"}:
                continue
            if len(row) < 2 or not row[1].strip():
                raise InputError(f"{path}, line {line}: expected `file,caption`, got {row!r}")
            table[row[0].strip()] = row[1].strip()
    return table


def find_audio_items(audio_dir: str | Path, captions_csv: str | Path | None = None) -> list[AudioItem]:
    folder = Path(audio_dir)
    if not folder.is_dir():
        raise MissingResourceError(f"audio folder not found: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())
    if not files:
        raise InputError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) in {folder}")
    table = read_captions(captions_csv) if captions_csv else {}
    items = []
    for file in files:
        rel = str(file.relative_to(folder))
        caption = table.get(rel) or table.get(file.name) or file.stem.replace("_", " ").replace("-", " ")
        items.append(AudioItem(rel, str(file), caption, split_of(rel)))
    return items


class AudioRecorder:
    def __call__(self, item: AudioItem):
        audio = normalise_loudness(read_audio(item.path), build.LOUDNESS_DB)
        item_clips = clips.cut_clips(audio)
        meta = {"piece": item.id, "source": item.id, "genre": "user", "split": item.split}
        return item_clips, meta, [item.caption] * captions.N_CAPTIONS


def build_from_audio(audio_dir, out, captions_csv=None, files_per_shard: int = 16, workers: int = 2,
                     progress: bool = True) -> dict:
    out = Path(out)
    items = find_audio_items(audio_dir, captions_csv)
    config = {"audio_dir": str(Path(audio_dir).resolve()), "captions": str(captions_csv) if captions_csv else None,
              "files_per_shard": files_per_shard}
    build.check_resume(out, config)
    tasks = build.plan_shards(items, files_per_shard)
    seconds = build.run_tasks(out, tasks, AudioRecorder(), workers, progress)
    return build.write_manifest(out, tasks, config, build_seconds=seconds)
