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
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=cmd_quality)

    f = ev.add_parser("fad", help="Fréchet audio distance between two folders of audio")
    f.add_argument("reference", help="folder of reference audio (wav/flac/ogg/mp3)")
    f.add_argument("evaluated", help="folder of audio to score")
    f.add_argument("--embedder", choices=("musicnn", "logmel"), default="musicnn",
                   help="musicnn (MTT penultimate layer; needs `make eval-env`) or logmel (a fixed random "
                        "projection, for smoke tests only)")
    f.add_argument("--inf", action="store_true", help="also FAD-inf (extrapolated to infinite frames)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--json", default=None, help="write the result (with set sizes) to this JSON file")
    f.set_defaults(func=cmd_fad)


def cmd_quality(args) -> None:
    from ditto2.errors import InputError
    from ditto2.eval.teacher_report import teacher_quality

    if args.n < 3:
        raise InputError(f"-n must be at least 3 (a Fréchet distance needs a covariance), got {args.n}")
    teacher_quality(args.models, args.data, args.out, n=args.n, steps=args.steps, seed=args.seed)


def cmd_fad(args) -> None:
    import json

    from ditto2.eval.fad import fad
    from ditto2.fileio import write_json

    if args.embedder == "musicnn":
        from ditto2.eval.musicnn import MusicnnEmbedder

        embedder = MusicnnEmbedder()
    else:
        from ditto2.eval.embedders import LogMelProjection

        embedder = LogMelProjection(seed=args.seed)
    result = fad(args.reference, args.evaluated, embedder, with_inf=args.inf, seed=args.seed).to_dict()
    if args.json:
        write_json(args.json, result)
    print(json.dumps(result, indent=2))
