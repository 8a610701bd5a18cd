"""The musicnn bridge: the subprocess plumbing with a stand-in worker, the real model only where .venv-tf exists."""
import importlib.util
import sys

import numpy as np
import pytest

from ditto2.errors import InputError, MissingResourceError
from ditto2.eval import musicnn

FAKE_WORKER = """
import json, os, sys
import numpy as np
folder = sys.argv[1]
request = json.load(open(os.path.join(folder, "request.json")))
if request.get("layer") == "max_pool":
    sys.exit("boom: stand-in failure")
for i in range(request["count"]):
    wave = np.load(os.path.join(folder, f"in_{i}.npy"))
    np.save(os.path.join(folder, f"out_{i}.npy"), wave[: (wave.size // 16000) * 16000].reshape(-1, 16000)[:, :4])
"""


@pytest.fixture
def fake_venv(tmp_path, monkeypatch):
    """A 'venv' whose python is this interpreter, running a stand-in worker (no TensorFlow)."""
    (tmp_path / "bin").mkdir()
    python = tmp_path / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    worker = tmp_path / "worker.py"
    worker.write_text(FAKE_WORKER)
    monkeypatch.setattr(musicnn, "WORKER", worker)
    return tmp_path


def test_missing_venv_says_how_to_make_it(tmp_path):
    embedder = musicnn.MusicnnEmbedder(venv=tmp_path / "nowhere")
    with pytest.raises(MissingResourceError, match="make eval-env"):
        embedder.embed(np.zeros(16000 * 4, dtype=np.float32))


def test_bridge_exchanges_arrays_through_npy_files(fake_venv):
    embedder = musicnn.MusicnnEmbedder(venv=fake_venv)
    waves = [np.arange(16000 * n, dtype=np.float32) for n in (3, 5)]
    out = embedder.embed_many(waves)
    assert [o.shape for o in out] == [(3, 4), (5, 4)]
    np.testing.assert_array_equal(out[1][2], np.arange(32000, 32004))
    assert embedder.rate == 16000 and embedder.name == "musicnn-MTT_musicnn-penultimate"


def test_worker_failure_is_reported_with_its_message(fake_venv):
    with pytest.raises(RuntimeError, match="boom: stand-in failure"):
        musicnn.MusicnnEmbedder(layer="max_pool", venv=fake_venv).embed(np.zeros(16000 * 3, dtype=np.float32))


def test_bad_settings_and_short_audio_raise_input_errors(fake_venv):
    with pytest.raises(InputError, match="model"):
        musicnn.MusicnnEmbedder(model="MTT_vgg")
    with pytest.raises(InputError, match="layer"):
        musicnn.MusicnnEmbedder(layer="cnn1")
    with pytest.raises(InputError, match="hop_s"):
        musicnn.MusicnnEmbedder(hop_s=4.0)
    with pytest.raises(InputError, match="shorter than one 3 s patch"):
        musicnn.MusicnnEmbedder(venv=fake_venv).embed(np.zeros(16000, dtype=np.float32))


def test_worker_patches_cover_the_whole_clip():
    spec = importlib.util.spec_from_file_location("musicnn_worker", musicnn.WORKER)
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)  # imports numpy only at module level
    assert worker.patch_starts(372, 187, 62) == [0, 62, 124, 185]
    assert worker.patch_starts(187, 187, 62) == [0]
    source = musicnn.WORKER.read_text()
    assert "import ditto2" not in source and "from ditto2" not in source  # it runs where ditto2 is not installed


@pytest.mark.skipif(musicnn.find_tf_python() is None, reason="no .venv-tf (run `make eval-env`)")
def test_real_musicnn_embeds_music_in_200_dims():
    t = np.arange(int(16000 * 5.94)) / 16000
    wave = (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2).astype(np.float32)
    out = musicnn.MusicnnEmbedder().embed_many([wave, wave[::-1].copy()])
    assert [o.shape for o in out] == [(4, 200), (4, 200)]
    assert all(np.all(np.isfinite(o)) for o in out)
