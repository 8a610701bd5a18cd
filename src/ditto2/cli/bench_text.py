"""``ditto2 bench-text``: the unconditional model, CFG, DITTO-2 with the CLAP control, and both (issue 7)."""
from __future__ import annotations

from pathlib import Path


def add_commands(sub) -> None:
    from ditto2.bench import DEFAULT_CONDITIONS, DEFAULT_PROMPTS

    p = sub.add_parser("bench-text", help="text adherence: unconditional vs CFG vs DITTO-2 with CLAP vs both",
                       description="For a fixed prompt set (training words and held-out paraphrases) and a few seeds "
                                   "per prompt, generate one clip per condition from the same initial noise, time "
                                   "it, and score it: the evaluation CLAP model's cosine, zero-shot attribute "
                                   "accuracy (instrument family, tempo band, mode stated by the prompt) and FAD "
                                   "against held-out real clips. Writes results.json and results.md. Resumable: "
                                   "finished clips are kept.")
    p.add_argument("--data", default="data/full", help="dataset whose test split gives the FAD reference "
                                                       "(default data/full)")
    p.add_argument("--reference", default=None, help="a folder of real clips for FAD instead of --data")
    p.add_argument("--out", default="runs/bench-text", help="output folder (default runs/bench-text)")
    p.add_argument("--prompt", action="append", default=None, metavar="TEXT",
                   help="a prompt (repeat for several); default: the built-in set of "
                        f"{len(DEFAULT_PROMPTS)} ({'; '.join(DEFAULT_PROMPTS)})")
    p.add_argument("--seeds", type=int, default=2, help="clips per prompt and condition (default 2)")
    p.add_argument("--conditions", default=DEFAULT_CONDITIONS,
                   help="comma list: none-teacher, none-MODEL-kK, cfg-W, ditto2-MODEL-kK, both-MODEL-kK "
                        "(MODEL cd or ctd; default: %(default)s)")
    p.add_argument("--opt-steps", type=int, default=None, help="DITTO-2 optimisation steps (default: the pipeline's, 40)")
    p.add_argument("--lr", type=float, default=None, help="DITTO-2 learning rate (default: the pipeline's for the "
                                                          "text control, 2e-2)")
    p.add_argument("--teacher-steps", type=int, default=20, help="Euler steps of the teacher (default 20)")
    p.add_argument("--n-reference", type=int, default=64, help="real test clips for FAD (default 64)")
    p.add_argument("--embedder", choices=("logmel", "musicnn", "clap"), default="logmel", help="FAD embedding")
    p.add_argument("--models", default=None, help="folder with the model weights, CLAP models included "
                                                  "(default: shipped)")
    p.add_argument("--seed", type=int, default=1000, help="seed of the first clip (default 1000)")
    p.set_defaults(func=cmd_bench_text)


def cmd_bench_text(args) -> None:
    from ditto2.eval.reference import make_embedder
    from ditto2.pipeline import Pipeline
    from ditto2.bench import DEFAULT_PROMPTS, TEXT, make_prompts, parse_conditions, run_text_bench

    prompts = args.prompt or list(DEFAULT_PROMPTS)
    make_prompts(prompts)                 # bad input fails before any model is loaded
    conditions = parse_conditions(args.conditions, TEXT)
    result = run_text_bench(Pipeline.from_pretrained(args.models), args.out, prompts=prompts, conditions=conditions,
                            seeds=args.seeds, seed=args.seed, data_root=args.data, reference=args.reference,
                            n_reference=args.n_reference, embedder=make_embedder(args.embedder, 0, args.models),
                            teacher_steps=args.teacher_steps, opt_steps=args.opt_steps, lr=args.lr)
    print((Path(args.out) / "results.md").read_text())
    print(f"{len(result['rows'])} conditions, {len(result['clips'])} clips; results in {args.out}/results.json")
