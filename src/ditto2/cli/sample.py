"""``ditto2 sample``: music from the teacher or a distilled student, unconditional or with a caption."""
from __future__ import annotations

from pathlib import Path

from ditto2.errors import InputError


def add_commands(sub) -> None:
    p = sub.add_parser("sample", help="generate clips with the teacher or a student (no controls)",
                       description="Sample 5.94 s clips: the diffusion teacher by deterministic ODE sampling, or "
                                   "a distilled student with a k-step deterministic decode.")
    p.add_argument("--model", choices=("teacher", "cd", "ctd"), default="teacher", help="default: teacher")
    p.add_argument("--decode-steps", type=int, default=4, help="student decode steps, 1-8 (default 4)")
    p.add_argument("-o", "--out", default="out/sample.wav", help="output .wav (several: OUT_0.wav, OUT_1.wav ...)")
    p.add_argument("--text", default=None, help="caption to condition on (classifier-free guidance)")
    p.add_argument("--cfg", type=float, default=3.0, help="guidance scale with --text (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first clip (the n-th uses seed + n)")
    p.add_argument("-n", type=int, default=1, help="number of clips (default 1)")
    p.add_argument("--steps", type=int, default=20, help="sampler steps (default 20)")
    p.add_argument("--sampler", default="heun", help="heun (default) or euler (= deterministic DDIM)")
    p.add_argument("--models", default=None, help="folder with autoencoder/teacher weights (default: shipped)")
    p.add_argument("--plot", default=None, help="also save the mels as an image")
    add_vocoder_arg(p, uncontrolled=True)
    p.set_defaults(func=cmd_sample)


def add_vocoder_arg(parser, uncontrolled: bool = False) -> None:
    from ditto2.audio import DEFAULT_VOCODER, UNCONTROLLED_VOCODER, VOCODERS

    default = (f"{UNCONTROLLED_VOCODER} where the models folder has its weights, else {DEFAULT_VOCODER}"
               if uncontrolled else DEFAULT_VOCODER)
    parser.add_argument("--vocoder", choices=VOCODERS, default=None,
                        help=f"mel -> waveform: the trained neural vocoder or Griffin-Lim (default {default}; "
                        "docs/vocoder.md)")


def output_paths(out: str, n: int) -> list[Path]:
    path = Path(out)
    if path.suffix.lower() not in (".wav", ".flac", ".ogg"):
        raise InputError(f"-o {out}: the output must be a .wav, .flac or .ogg file")
    return [path] if n == 1 else [path.with_name(f"{path.stem}_{k}{path.suffix}") for k in range(n)]


def cmd_sample(args) -> None:
    import torch
    from tqdm import tqdm

    from ditto2.audio.io import write_audio
    from ditto2.models import Teacher, load_vocoder

    if args.n < 1:
        raise InputError(f"-n must be at least 1, got {args.n}")
    paths = output_paths(args.out, args.n)
    teacher = Teacher.load(args.models)
    vocoder = load_vocoder(args.vocoder, args.models, uncontrolled=True)
    text = None
    if args.text is not None:
        from ditto2.text.encoder import encode_texts

        text = torch.from_numpy(encode_texts([args.text]))
    seeds = [args.seed + k for k in range(args.n)]
    x_T = teacher.initial_noise(seeds)
    steps = args.steps if args.model == "teacher" else args.decode_steps
    with torch.no_grad(), tqdm(total=steps, desc="sampling", unit="step") as bar:
        if args.model == "teacher":
            mel = teacher.sample(x_T, args.steps, args.sampler, text, args.cfg, callback=lambda *a: bar.update())
        else:
            mel = _student_mel(teacher, args, x_T, seeds, text, bar)
        audio = vocoder(mel)
    for path, clip in zip(paths, audio):
        write_audio(path, clip)
    if args.plot:
        from ditto2.plots import plot_mel_grid

        plot_mel_grid(list(mel), args.plot, titles=[p.name for p in paths])
    print("wrote " + ", ".join(map(str, paths)))


def _student_mel(teacher, args, x_T, seeds, text, bar):
    from ditto2.distill.samplers import sample_student
    from ditto2.models import load_student_for

    student = load_student_for(args.models, args.model)
    z = sample_student(student, x_T, args.decode_steps, text, seeds=seeds, callback=lambda *a: bar.update())
    return teacher.autoencoder.from_latent(z).clamp(-1, 1)
