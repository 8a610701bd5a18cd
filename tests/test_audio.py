import os

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import tone
from ditto2.audio import mel as M
from ditto2.audio.io import normalise_loudness, read_audio, rms_db, write_audio
from ditto2.audio.vocoder import GriffinLim
from ditto2.errors import InputError, MissingResourceError


def test_mel_shape_range_and_frames():
    wave = torch.from_numpy(tone([220, 330, 440], seconds=2.0))
    x = M.wave_to_mel(wave)
    assert x.shape == (M.N_MELS, len(wave) // M.HOP)
    assert x.min() >= -1 and x.max() <= 1
    batch = M.wave_to_mel(torch.stack([wave, 0.5 * wave]))
    assert batch.shape == (2, M.N_MELS, len(wave) // M.HOP)
    # Halving the amplitude lowers every audible band by ln 2 in the log-mel.
    gap = M.denormalise(batch[0]) - M.denormalise(batch[1])
    loud = batch[0] > -0.5
    assert torch.allclose(gap[loud], torch.full_like(gap[loud], np.log(2)), atol=1e-3)


def test_denormalise_inverts_normalise_inside_range():
    ln = torch.linspace(M.LN_FLOOR, M.LN_CEIL, 50)
    assert torch.allclose(M.denormalise(M.normalise(ln)), ln, atol=1e-5)


def test_griffin_lim_reconstructs_mel_deterministically():
    wave = torch.from_numpy(tone([261.6, 392.0], seconds=1.5))
    x = M.wave_to_mel(wave)
    vocoder = GriffinLim(n_iter=32)
    audio = vocoder(x)
    assert audio.shape == (x.shape[-1] * M.HOP,)
    assert torch.equal(audio, vocoder(x))
    error = (M.wave_to_mel(audio) - x)[x > -0.6].abs().mean()
    assert error < 0.07, f"Griffin-Lim mel error {error:.3f}"


def test_read_audio_downmixes_and_resamples(tmp_path):
    t = np.arange(44100) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.zeros_like(t)], axis=1).astype(np.float32) * 0.5
    path = tmp_path / "a.flac"
    sf.write(path, stereo, 44100)
    audio = read_audio(path)
    assert audio.shape == (22050,)
    assert abs(np.sqrt(np.mean(audio[1000:-1000] ** 2)) - 0.25 / np.sqrt(2)) < 0.01


def test_read_audio_errors_name_the_file(tmp_path):
    with pytest.raises(MissingResourceError, match="nope.wav"):
        read_audio(tmp_path / "nope.wav")
    bad = tmp_path / "corrupt.wav"
    bad.write_bytes(b"RIFF1234WAVEjunkjunk")
    with pytest.raises(InputError, match="corrupt.wav"):
        read_audio(bad)
    low = tmp_path / "low.wav"
    sf.write(low, np.zeros(100, np.float32), 2000)
    with pytest.raises(InputError, match="sample rate"):
        read_audio(low)


def test_write_audio_is_atomic_and_checks_format(tmp_path):
    write_audio(tmp_path / "x.wav", np.zeros(1000))
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"]
    with pytest.raises(InputError, match="mp3"):
        write_audio(tmp_path / "x.mp3", np.zeros(10))
    assert [p.name for p in tmp_path.iterdir()] == ["x.wav"]


def test_temporaries_of_a_killed_writer_are_removed_by_name(tmp_path):
    from ditto2.fileio import atomic_path, remove_stale_temporaries

    for name in ("job-1.wav", "job-1.clip.wav", "job-2.wav"):  # a writer killed inside the block leaves its file
        with atomic_path(tmp_path / name) as tmp:
            tmp.write_bytes(b"half")
            os.link(tmp, tmp.with_name(tmp.name.replace(".tmp", "x.tmp")))  # what a SIGKILL would have left
    (tmp_path / "job-10.wav").write_bytes(b"done")
    assert remove_stale_temporaries(tmp_path / "job-1.wav") == 2  # its own and its clip's, not job-10's or job-2's
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == \
        [p.name for p in sorted(tmp_path.glob(".job-2.*"))]


def test_normalise_loudness_hits_target_without_clipping():
    audio = tone([110, 220]) * 0.01
    out = normalise_loudness(audio, -20.0)
    assert abs(rms_db(out) - (-20.0)) < 0.1 and np.abs(out).max() <= 0.98
