"""``ditto2 bench``: uncontrolled sampling, DITTO and DITTO-2 side by side on a fixed target set."""
from __future__ import annotations

from pathlib import Path

# Each controlled condition's model has an uncontrolled one, the baseline of its "kept" musicality ratios.
DEFAULT_CONDITIONS = ("none-ctd-k4,none-teacher,none-cd-k1,ditto,ditto2-cd-k1,ditto2-cd-k4,ditto2-ctd-k1,ditto2-ctd-k2,"
                      "ditto2-ctd-k4,ditto2-ctd-k8")


def add_commands(sub) -> None:
    p = sub.add_parser("bench", help="the paper's tables on this machine: speed, control, FAD and musicality per method",
                       description="Generate a fixed, seeded target set per task with each condition, time every "
                                   "clip, score the final audio (ditto2 eval run; musicality beside the "
                                   "uncontrolled condition of the same model) and write results.md, "
                                   "results.json and tradeoff.png. Resumable: finished clips are kept.")
    p.add_argument("--data", default="data/full", help="dataset whose test split gives references and melodies")
    p.add_argument("--out", default="runs/bench", help="output folder (default runs/bench)")
    p.add_argument("--tasks", default="intensity", help="comma list of intensity, melody, structure, inpaint, "
                                                        "outpaint, loop (default intensity)")
    p.add_argument("--conditions", default=DEFAULT_CONDITIONS,
                   help="comma list: ditto, none-teacher, none-MODEL-kK, ditto2-MODEL-kK, ditto2-MODEL-kK-rR (R steps "
                        "refined through the decode) (default: %(default)s)")
    p.add_argument("-n", type=int, default=6, help="clips per task and condition (default 6)")
    p.add_argument("--n-reference", type=int, default=64, help="real test clips for FAD (default 64)")
    p.add_argument("--opt-steps", type=int, default=None, help="override every method's optimisation steps")
    p.add_argument("--lr", type=float, default=None, help="override every method's learning rate")
    p.add_argument("--embedder", choices=("logmel", "musicnn", "clap"), default="logmel", help="FAD embedding")
    p.add_argument("--models", default=None, help="folder with the model weights (default: shipped)")
    p.add_argument("--seed", type=int, default=1000)
    p.add_argument("--precision", choices=("fp32", "bf16", "auto"), default="auto",
                   help="of every method's optimisation (default auto: bf16 on CUDA and on CPUs with AMX or AVX512-BF16; the "
                        "controls and the decodes stay fp32)")
    p.add_argument("--targets", choices=("tuning", "fresh"), default="tuning",
                   help="tuning (default): the fixed targets the defaults were chosen on; fresh: seeded random "
                        "loudness curves and later test-split melodies, for acceptance runs")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args) -> None:
    from ditto2.bench import PAPER, TASKS, parse_conditions, run_bench
    from ditto2.errors import InputError
    from ditto2.eval.reference import make_embedder
    from ditto2.pipeline import Pipeline

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    bad = sorted(set(tasks) - set(TASKS))
    if bad or not tasks:
        raise InputError(f"--tasks: unknown {bad or 'empty list'} (expected some of {', '.join(TASKS)})")
    conditions = parse_conditions(args.conditions, PAPER)
    if args.n < 2:
        raise InputError(f"-n must be at least 2 (FAD needs a covariance), got {args.n}")
    embedder = make_embedder(args.embedder, 0, args.models)
    result = run_bench(Pipeline.from_pretrained(args.models), args.data, args.out, tasks=tasks,
                       conditions=conditions, n=args.n, n_reference=args.n_reference, seed=args.seed,
                       opt_steps=args.opt_steps, lr=args.lr, embedder=embedder, targets=args.targets,
                       precision=args.precision)
    print((Path(args.out) / "results.md").read_text())
    print(f"{len(result['rows'])} rows; results in {args.out}/results.json")
