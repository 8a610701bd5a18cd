"""``ditto2 eval ...``: measured quality figures."""
from __future__ import annotations


def add_commands(sub) -> None:
    ev = sub.add_parser("eval", help="evaluate models").add_subparsers(dest="eval_command", required=True)
    q = ev.add_parser("quality", help="the teacher against real clips, the vocoder's cost and noise "
                                      "(FD-54, onset peakiness, basic-pitch notes)")
    q.add_argument("--data", default="data/full", help="dataset with validation and test audio")
    q.add_argument("--models", default=None, help="folder with autoencoder/teacher weights (default: shipped)")
    q.add_argument("--out", default="docs/img", help="folder for the table, JSON and mel grid")
    q.add_argument("-n", type=int, default=64, help="clips per set (default 64)")
    q.add_argument("--steps", type=int, default=20, help="sampler steps (default 20)")
    q.add_argument("--cfg", type=float, default=3.0, help="guidance scale of the captioned set (default 3)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--student", choices=("ctd", "cd"), default=None,
                   help="also gate this student's unconditional decodes (from the teacher set's x_T)")
    q.add_argument("--student-steps", default="1,2,4", help="decode step counts of --student (default 1,2,4)")
    q.add_argument("--vocoder", choices=("griffinlim", "neural"), default="griffinlim",
                   help="render every mel with this vocoder (default griffinlim, the figure's history; neural: the "
                   "models folder's)")
    q.set_defaults(func=cmd_quality)

    f = ev.add_parser("fad", help="Fréchet audio distance between two folders of audio")
    f.add_argument("reference", help="folder of reference audio (wav/flac/ogg/mp3)")
    f.add_argument("evaluated", help="folder of audio to score")
    f.add_argument("--embedder", choices=("musicnn", "logmel", "clap"), default="musicnn",
                   help="musicnn (MTT penultimate layer; needs `make eval-env`) or logmel (a fixed random "
                        "projection, for smoke tests only)")
    f.add_argument("--inf", action="store_true", help="also FAD-inf (extrapolated to infinite frames)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--json", default=None, help="write the result (with set sizes) to this JSON file")
    f.set_defaults(func=cmd_fad)

    r = ev.add_parser("run", help="score a folder of generated audio against the targets in each file's "
                                  "sidecar JSON, its musicality, and (with --reference) its FAD")
    r.add_argument("generated", help="folder of generated audio; X.wav may have a sidecar X.json")
    r.add_argument("--reference", default=None, help="folder of real audio: FAD of the generated set against it "
                                                     "(and the real jumps for seams, unless --real-seams)")
    r.add_argument("--embedder", choices=("musicnn", "logmel", "clap"), default="musicnn",
                   help="FAD embedding (musicnn needs `make eval-env`; logmel is for smoke tests)")
    r.add_argument("--real-seams", default=None, metavar="REF_DIR",
                   help="folder of real music whose internal jumps every seam is compared with")
    r.add_argument("--baseline", default=None, metavar="DIR",
                   help="folder of uncontrolled clips of the same model and seeds: the musicality (and with "
                        "--reference the FAD) of this set beside theirs, as 'quality kept' ratios")
    r.add_argument("--out", default=None, help="folder for eval.json, eval.md and plots/ (default: GENERATED/eval)")
    r.add_argument("--no-plots", action="store_true", help="skip the per-file plots")
    r.add_argument("--models", default=None, help="folder with the evaluation CLAP model for text targets "
                                                  "(default: shipped)")
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(func=cmd_run)

    v = ev.add_parser("vocoder", help="vocoders against the original audio of held-out clips (LSD, attacks, speed)",
                      description="Resynthesise the mels of held-out clips with each vocoder and compare with the "
                                  "original audio: multi-resolution log-spectral distance (STFT sizes other than "
                                  "the mel's), attacks kept, seconds per clip. docs/vocoder.md")
    v.add_argument("--data", default="data/full", help="dataset whose split keeps its audio (default data/full)")
    v.add_argument("--split", default="test", help="held-out split (default test)")
    v.add_argument("-n", type=int, default=64, help="clips (default 64)")
    v.add_argument("--weights", default=None, help="neural vocoder release (default: the shipped one, if any)")
    v.add_argument("--out", default="docs/img/vocoder", help="folder for vocoders.json and vocoders.png")
    v.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    v.set_defaults(func=cmd_vocoder)

    g = ev.add_parser("reference", help="reference figures: FAD floor/vocoder/ceilings, melody, intensity, "
                                        "structure, context and seam baselines of real clips")
    g.add_argument("--data", default="data/full", help="dataset with test and validation audio")
    g.add_argument("-n", type=int, default=64, help="clips per set (default 64)")
    g.add_argument("--embedder", nargs="+", choices=("musicnn", "logmel", "clap"), default=["logmel"],
                   help="one or more FAD embeddings (default logmel)")
    g.add_argument("--fad-only", action="store_true", help="skip the melody/intensity/structure/seam figures")
    g.add_argument("--export-audio", default=None, metavar="DIR",
                   help="also write the real validation clips (set R) here, a reference folder for `eval run`")
    g.add_argument("--out", default="docs/img/reference", help="folder for reference.json and reference.md")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--neural-vocoder", nargs="?", const="shipped", default=None, metavar="WEIGHTS",
                   help="add the FAD row of the test mels through the neural vocoder (the shipped one, or WEIGHTS)")
    g.set_defaults(func=cmd_reference)


def cmd_vocoder(args) -> None:
    import torch

    from ditto2.audio.vocoder import GriffinLim
    from ditto2.errors import InputError
    from ditto2.eval.vocoders import evaluate_vocoders

    if args.n < 1:
        raise InputError(f"-n must be at least 1, got {args.n}")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    neural = _neural_vocoder(args.weights)
    figures = evaluate_vocoders({"griffinlim": GriffinLim(), "neural": neural}, args.data, args.split, args.n, args.out)
    for name in ("griffinlim", "neural"):
        f = figures[name]
        print(f"{name}: LSD {f['lsd']:.2f} dB (" + ", ".join(f"{k[4:]}: {v:.2f}" for k, v in f.items()
                                                       if k.startswith("lsd_")) +
              f"), attacks kept {f['attacks_kept_median']:.2f}x, {f['seconds_median'] * 1000:.0f} ms per clip")
    print(f"neural / Griffin-Lim LSD: {figures['neural']['lsd'] / figures['griffinlim']['lsd']:.2f}; "
          f"wrote {args.out}/vocoders.json, vocoders.png")


def _neural_vocoder(weights):
    """The neural vocoder of a release file, or the shipped one (``weights`` None)."""
    from ditto2.audio.neural_vocoder import NeuralVocoder
    from ditto2.models import load_vocoder

    return NeuralVocoder.from_pretrained(weights) if weights else load_vocoder("neural")


def cmd_quality(args) -> None:
    from ditto2.errors import InputError
    from ditto2.eval.teacher_report import teacher_quality

    if args.n < 3:
        raise InputError(f"-n must be at least 3 (a Fréchet distance needs a covariance), got {args.n}")
    from ditto2.distill.samplers import check_steps

    try:
        student_steps = tuple(check_steps(int(k)) for k in args.student_steps.split(","))
    except ValueError:
        raise InputError(f"--student-steps must be comma-separated integers, got {args.student_steps!r}") from None
    teacher_quality(args.models, args.data, args.out, n=args.n, steps=args.steps, seed=args.seed, cfg=args.cfg,
                    student=args.student, student_steps=student_steps, vocoder=args.vocoder)


def cmd_run(args) -> None:
    from pathlib import Path

    from ditto2.eval.reference import make_embedder
    from ditto2.eval.run import evaluate

    out = args.out if args.out is not None else str(Path(args.generated) / "eval")
    embedder = make_embedder(args.embedder, args.seed, args.models) if args.reference is not None else None
    result = evaluate(args.generated, out, reference=args.reference, embedder=embedder, real_seams=args.real_seams,
                      plots=not args.no_plots, seed=args.seed, models_dir=args.models, baseline=args.baseline)
    print((Path(out) / "eval.md").read_text())
    print(f"wrote {Path(out) / 'eval.json'} ({result['files']} files)")


def cmd_reference(args) -> None:
    from ditto2.eval.reference import markdown, reference_figures

    neural = None if args.neural_vocoder is None else _neural_vocoder(
        None if args.neural_vocoder == "shipped" else args.neural_vocoder)
    result = reference_figures(args.data, args.out, n=args.n, embedders=tuple(dict.fromkeys(args.embedder)),
                               seed=args.seed, controls=not args.fad_only, export_audio=args.export_audio,
                               neural=neural)
    print(markdown(result))


def cmd_fad(args) -> None:
    import json

    from ditto2.eval.fad import fad
    from ditto2.eval.reference import make_embedder
    from ditto2.fileio import write_json

    embedder = make_embedder(args.embedder, args.seed)
    result = fad(args.reference, args.evaluated, embedder, with_inf=args.inf, seed=args.seed).to_dict()
    if args.json:
        write_json(args.json, result)
    print(json.dumps(result, indent=2))
