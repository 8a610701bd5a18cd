import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from conftest import tone
from ditto2.audio import mel as M
from ditto2.data import arrange, build, catalog, clips, shards
from ditto2.data.dataset import ClipDataset, ShardStream
from ditto2.data.render import find_soundfont
from ditto2.data.user_audio import build_from_audio
from ditto2.errors import InputError, MissingResourceError


def test_manifest_counts_and_split_by_piece(tiny_dataset):
    manifest = shards.load_manifest(tiny_dataset)
    assert manifest["totals"]["pieces"] == 8 and not manifest["skipped"]
    pieces_of = {}
    for split in ("train", "validation", "test"):
        ds = ClipDataset(tiny_dataset, split, fields=("meta",))
        assert len(ds) == manifest["splits"][split]["clips"] > 0
        pieces_of[split] = {ds[i]["meta"]["piece"] for i in range(len(ds))}
    assert not (pieces_of["train"] & pieces_of["validation"]) and not (pieces_of["train"] & pieces_of["test"])


def test_shard_arrays_are_consistent(tiny_dataset):
    for path in shards.shard_paths(tiny_dataset, "validation"):
        data = shards.read_shard(path)
        n = len(data["meta"])
        assert data["mel"].shape == (n, M.N_MELS, M.CLIP_FRAMES) and data["mel"].dtype == np.float16
        assert data["mel"].min() >= -1 and data["mel"].max() <= 1
        assert data["audio"].shape == (n, M.CLIP_SAMPLES) and data["audio"].dtype == np.int16
        pitch = data["melody_pitch"]
        assert np.array_equal(data["melody_pc"], np.where(pitch >= 0, pitch % 12, -1))
        assert (pitch >= 0).mean() > 0.5, "a melody should sound in most frames"
        meta = json.loads(str(data["meta"][0]))
        assert {"piece", "genre", "key", "bpm", "ensemble", "programs", "drums", "tempo_band"} <= set(meta)
        assert meta["key"] in data["captions"][0][0] and str(int(meta["bpm"])) in data["captions"][0][0]
    assert "audio" not in shards.read_shard(shards.shard_paths(tiny_dataset, "train")[0])


def test_mel_in_shard_matches_its_audio(tiny_dataset):
    data = shards.read_shard(shards.shard_paths(tiny_dataset, "test")[0])
    import torch

    again = M.wave_to_mel(torch.from_numpy(data["audio"][:2].astype(np.float32) / 32767)).numpy()
    assert np.abs(again - data["mel"][:2].astype(np.float32)).mean() < 0.01


def test_build_is_deterministic_and_resumable(tiny_dataset, tmp_path):
    config = build.BuildConfig(profile="tiny", soundfont="timgm6mb")
    tasks = build.plan_shards(catalog.select_pieces("tiny"), config.pieces_per_shard)
    record = build.CorpusRecorder(config, str(find_soundfont("timgm6mb")))
    build.build_shard(tasks[-1], record, tmp_path)
    fresh = shards.read_shard(tmp_path / tasks[-1].name)
    shipped = shards.read_shard(tiny_dataset / tasks[-1].name)
    assert np.array_equal(fresh["mel"], shipped["mel"]) and np.array_equal(fresh["meta"], shipped["meta"])

    # Resume: a stray temporary file is ignored, existing shards are kept, the missing one is rebuilt.
    (tmp_path / ".validation-0000.junk.tmp.npz").write_bytes(b"half")
    kept = (tmp_path / tasks[-1].name).stat().st_mtime_ns
    build.build_dataset(tmp_path, config, workers=1, progress=False)
    assert (tmp_path / tasks[-1].name).stat().st_mtime_ns == kept
    assert all((tmp_path / t.name).is_file() for t in tasks)
    with pytest.raises(InputError, match="other settings"):
        build.build_dataset(tmp_path, build.BuildConfig(profile="tiny", soundfont="timgm6mb", seed=1), workers=1)


def test_arrangement_is_seeded():
    piece = catalog.select_pieces("tiny")[0]
    from ditto2.data.score import read_score

    score = read_score(piece)
    a = arrange.choose_arrangement(score, piece.genre, arrange.piece_rng(0, piece.id))
    b = arrange.choose_arrangement(score, piece.genre, arrange.piece_rng(0, piece.id))
    c = arrange.choose_arrangement(score, piece.genre, arrange.piece_rng(1, piece.id))
    assert a == b and a != c
    assert len(a.programs) == len(score.parts)


def test_split_of_is_stable_and_roughly_proportioned():
    ids = [f"piece{i}" for i in range(4000)]
    splits = [catalog.split_of(i) for i in ids]
    assert splits == [catalog.split_of(i) for i in ids]
    assert 0.03 < splits.count("test") / len(ids) < 0.07


def test_melody_frames_and_clip_cutting():
    class Note:
        def __init__(self, start, end, pitch):
            self.start, self.end, self.pitch = start, end, pitch

    track = clips.melody_frames([Note(0.0, 1.0, 60), Note(0.5, 1.5, 64)], 200)
    assert track[0] == 60 and track[int(0.75 * M.FRAME_RATE)] == 64 and track[int(1.2 * M.FRAME_RATE)] == 64
    assert track[int(1.6 * M.FRAME_RATE)] == -1
    audio = np.concatenate([np.full(M.CLIP_SAMPLES, 0.1, np.float32), np.zeros(M.CLIP_SAMPLES, np.float32),
                            np.full(M.CLIP_SAMPLES * 6 // 10, 0.1, np.float32)])
    cut = clips.cut_clips(audio)
    assert len(cut) == 2, "the silent clip is dropped, the 60 % remainder kept and padded"
    assert np.allclose(cut.starts, [0, 2 * M.CLIP_SAMPLES / M.SAMPLE_RATE])


def test_shard_stream_crops_and_covers_an_epoch(tiny_dataset):
    stream = ShardStream(tiny_dataset, "train", fields=("mel", "text"), seed=3, crop_frames=128, epochs=1)
    items = list(stream)
    total = shards.load_manifest(tiny_dataset)["splits"]["train"]["clips"]
    assert len(items) == total
    assert items[0]["mel"].shape == (M.N_MELS, 128) and items[0]["text"].shape == (3, 384)
    again = list(ShardStream(tiny_dataset, "train", fields=("mel",), seed=3, crop_frames=128, epochs=1))
    assert all(np.array_equal(a["mel"], b["mel"]) for a, b in zip(items, again))
    ranks = [list(ShardStream(tiny_dataset, "train", seed=3, epochs=1, rank=r, world_size=2)) for r in (0, 1)]
    assert sum(map(len, ranks)) == total


def test_user_audio_build(tmp_path):
    folder = tmp_path / "music"
    folder.mkdir()
    sf.write(folder / "song_one.wav", tone([220, 330, 440, 550], seconds=3.0), 22050)
    sf.write(folder / "two.flac", tone([300, 400], seconds=4.0, rate=44100), 44100)
    (folder / "broken.wav").write_bytes(b"not audio")
    (tmp_path / "caps.csv").write_text("file,caption\ntwo.flac,a calm test tone\n")
    manifest = build_from_audio(folder, tmp_path / "ds", tmp_path / "caps.csv", workers=1, progress=False)
    assert manifest["totals"]["clips"] == 3 and len(manifest["skipped"]) == 1
    assert "broken.wav" in manifest["skipped"][0]
    caps = {c for p in (tmp_path / "ds").glob("*.npz") for c in shards.read_shard(p)["captions"][:, 0]}
    assert caps == {"a calm test tone", "song one"}


def test_missing_soundfont_is_a_clear_error():
    with pytest.raises(MissingResourceError, match="nope.sf2"):
        find_soundfont("nope.sf2")
    with pytest.raises(MissingResourceError, match="unknown SoundFont"):
        find_soundfont("grand-piano")


def _cli(*args):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "ditto2.cli", *args], capture_output=True, text=True, env=env)


def test_cli_errors_are_one_line(tmp_path):
    result = _cli("data", "show", str(tmp_path / "missing"))
    assert result.returncode == 2 and "manifest.json is missing" in result.stderr
    assert "Traceback" not in result.stderr
    result = _cli("data", "build", str(tmp_path / "x"), "--captions", "c.csv")
    assert result.returncode == 2 and "--audio-dir" in result.stderr


def test_cli_help_lists_subcommands():
    result = _cli("data", "build", "--help")
    assert result.returncode == 0 and "--tiny" in result.stdout and "--audio-dir" in result.stdout


def test_a_build_checks_the_free_disk_first(tmp_path, monkeypatch):
    import shutil

    from ditto2.data import build

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=10**8))
    with pytest.raises(InputError, match=r"needs about 3.0 GB more disk, 0.1 GB free"):
        build.build_dataset(tmp_path / "full", build.BuildConfig(profile="full"), workers=1, progress=False)
    build.check_free_disk(tmp_path / "tiny", "tiny")  # 50 MB fit in 100 MB
