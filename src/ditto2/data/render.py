"""MIDI -> mono 22.05 kHz audio with FluidSynth and a General MIDI SoundFont."""
from __future__ import annotations

import ctypes.util
import os
from pathlib import Path

import numpy as np

from ditto2.audio.mel import SAMPLE_RATE
from ditto2.errors import MissingResourceError

SOUNDFONT_DIRS = ("/usr/share/sounds/sf2", "/usr/share/soundfonts", "/usr/share/sounds/sf3")
SOUNDFONTS = {"fluidr3": "FluidR3_GM.sf2", "timgm6mb": "TimGM6mb.sf2"}
TAIL_SECONDS = 2.0  # release and reverb after the last note


def find_soundfont(name_or_path: str) -> Path:
    """A SoundFont by short name (fluidr3, timgm6mb) or path; a clear error if it is not installed."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".sf2", ".sf3"):
        if candidate.is_file():
            return candidate
        raise MissingResourceError(f"SoundFont file not found: {candidate}")
    filename = SOUNDFONTS.get(name_or_path.lower())
    if filename is None:
        raise MissingResourceError(f"unknown SoundFont {name_or_path!r}: give a .sf2 path or one of {sorted(SOUNDFONTS)}")
    for folder in SOUNDFONT_DIRS:
        if (Path(folder) / filename).is_file():
            return Path(folder) / filename
    package = {"fluidr3": "fluid-soundfont-gm", "timgm6mb": "timgm6mb-soundfont"}[name_or_path.lower()]
    raise MissingResourceError(f"SoundFont {filename} is not installed: run `make setup` (apt package {package})")


def check_fluidsynth() -> None:
    if ctypes.util.find_library("fluidsynth") is None:
        raise MissingResourceError("the FluidSynth library is not installed: run `make setup` (apt package fluidsynth)")


def _new_synth(soundfont: str):
    """A fresh synthesiser per piece: a reused one carries part-rendered audio blocks between pieces,
    so renders would depend on what the process rendered before (loading FluidR3 costs ~0.2 s)."""
    check_fluidsynth()
    os.environ.setdefault("PYFLUIDSYNTH_QUIET", "1")
    import fluidsynth

    # FluidSynth's reverb and chorus keep state between notes and pieces, which would make a render
    # depend on what the process rendered before; ditto2 adds its own seeded reverb instead.
    synth = fluidsynth.Synth(samplerate=float(SAMPLE_RATE), **{"synth.reverb.active": 0, "synth.chorus.active": 0})
    sfid = synth.sfload(soundfont)
    if sfid < 0:
        raise MissingResourceError(f"FluidSynth could not load the SoundFont {soundfont}")
    return synth, sfid


def add_reverb(audio: np.ndarray, seconds: float, mix: float, seed: int) -> np.ndarray:
    """A seeded room: convolution with exponentially decaying noise (RT60 = ``seconds``)."""
    from scipy.signal import fftconvolve

    if seconds <= 0 or mix <= 0:
        return audio
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / seconds)  # -60 dB at t = seconds
    ir /= np.sqrt(np.sum(ir**2))
    wet = fftconvolve(audio, ir)[: len(audio)]
    return ((1 - mix) * audio + mix * wet).astype(np.float32)


def _channels(instruments) -> list[int]:
    """MIDI channel per instrument: drums on 9, the others on the remaining 15."""
    melodic = iter(c for c in range(16) if c != 9)
    return [9 if inst.is_drum else next(melodic) for inst in instruments]


def _events(instruments, channels) -> list[tuple]:
    """(sample, order, channel, pitch, velocity) with note-offs (order 0) before note-ons at a time."""
    events = []
    for inst, channel in zip(instruments, channels):
        for note in inst.notes:
            events.append((int(note.start * SAMPLE_RATE), 1, channel, note.pitch, note.velocity))
            events.append((int(note.end * SAMPLE_RATE), 0, channel, note.pitch, 0))
    return sorted(events)


def render_midi(midi, soundfont: str | Path) -> np.ndarray:
    """Render a PrettyMIDI object (at most 15 melodic instruments) to float32 mono audio,
    cut to the last note end + TAIL_SECONDS. Float scale is FluidSynth's int16 range; callers normalise."""
    instruments = [inst for inst in midi.instruments if inst.notes]
    length = int((midi.get_end_time() + TAIL_SECONDS) * SAMPLE_RATE)
    synth, sfid = _new_synth(str(soundfont))
    try:
        channels = _channels(instruments)
        for inst, channel in zip(instruments, channels):
            if synth.program_select(channel, sfid, 128 if inst.is_drum else 0, inst.program) == -1 and inst.is_drum:
                synth.program_select(channel, sfid, 128, 0)
        chunks, position = [], 0
        for sample, is_on, channel, pitch, velocity in _events(instruments, channels):
            if sample > position:
                chunks.append(synth.get_samples(sample - position))
                position = sample
            if is_on:
                synth.noteon(channel, pitch, velocity)
            else:
                synth.noteoff(channel, pitch)
        if length > position:
            chunks.append(synth.get_samples(length - position))
    finally:
        synth.delete()
    stereo = np.concatenate(chunks).astype(np.float32).reshape(-1, 2) if chunks else np.zeros((0, 2), np.float32)
    return stereo.mean(axis=1)[:length]
