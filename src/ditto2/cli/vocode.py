"""``ditto2 vocode IN -o OUT``: analysis -> resynthesis (waveform -> log-mel -> vocoder), to hear or score a vocoder."""
from __future__ import annotations

from ditto2.cli.sample import add_vocoder_arg


def add_commands(sub) -> None:
    p = sub.add_parser("vocode", help="resynthesise an audio file through the mel and a vocoder",
                       description="Read an audio file (resampled to 22.05 kHz mono), take its log-mel, and render "
                                   "that mel back to audio with the chosen vocoder: what a vocoder alone does to "
                                   "music. docs/vocoder.md")
    p.add_argument("input", help="audio file (wav, flac, ogg, mp3)")
    p.add_argument("-o", "--out", required=True, help="output .wav, .flac or .ogg")
    p.add_argument("--models", default=None, help="folder with vocoder.safetensors (default: shipped)")
    add_vocoder_arg(p, uncontrolled=True)
    p.set_defaults(func=cmd_vocode)


def cmd_vocode(args) -> None:
    import time

    import torch

    from ditto2.audio import mel as M
    from ditto2.audio.io import read_audio, write_audio
    from ditto2.cli.sample import output_paths
    from ditto2.errors import InputError
    from ditto2.models import load_vocoder

    (path,) = output_paths(args.out, 1)
    wave = read_audio(args.input)
    if len(wave) < M.N_FFT:
        raise InputError(f"{args.input}: too short to vocode ({len(wave)} samples at 22.05 kHz; at least {M.N_FFT})")
    vocoder = load_vocoder(args.vocoder, args.models, uncontrolled=True)
    start = time.perf_counter()
    mel = M.wave_to_mel(torch.from_numpy(wave).float())
    audio = vocoder(mel).numpy()
    seconds = time.perf_counter() - start
    write_audio(path, audio)
    print(f"wrote {path} ({len(audio) / M.SAMPLE_RATE:.2f} s of audio in {seconds:.2f} s)")
