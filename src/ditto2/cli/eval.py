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


def cmd_quality(args) -> None:
    from ditto2.errors import InputError
    from ditto2.eval.teacher_report import teacher_quality

    if args.n < 3:
        raise InputError(f"-n must be at least 3 (a Fréchet distance needs a covariance), got {args.n}")
    teacher_quality(args.models, args.data, args.out, n=args.n, steps=args.steps, seed=args.seed)
