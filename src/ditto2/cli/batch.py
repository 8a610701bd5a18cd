"""``ditto2 batch JOBS.jsonl --out DIR``: many generations on Ray, resumable, losing nothing."""
from __future__ import annotations

EXAMPLE = """jobs file, one ``ditto2 generate`` request per line (keys are its flags):
  {"intensity": "-35,-15,-35", "seed": 1, "out": "swell.wav"}
  {"melody": "C5 D5 E5:2 G5", "batch": 2}
  {"method": "none", "seed": 7}
"""


def add_commands(sub) -> None:
    import argparse

    p = sub.add_parser("batch", help="run a file of generation requests on Ray (local, or a cluster)",
                       description="Run every line of JOBS.jsonl as a `ditto2 generate` request on Ray workers "
                                   "that load the models once. Lines are checked first (bad ones are reported by "
                                   "number and left out); a re-run skips finished jobs; failures are recorded and "
                                   "the rest go on; DIR/batch-summary.json sums it up. docs/scaling.md",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("jobs", help="JSON-lines file of requests")
    p.add_argument("--out", required=True, help="folder for every output, its sidecar and the summary")
    p.add_argument("--workers", type=int, default=2, help="Ray workers, each with the models loaded (default 2)")
    p.add_argument("--address", default=None,
                   help="an existing Ray cluster (ray://HOST:10001, or auto); default: a local Ray on this machine")
    p.add_argument("--models", default=None, help="folder with the model weights (default: shipped)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_batch)


def cmd_batch(args) -> None:
    import sys

    from ditto2.batch.jobs import read_jobs
    from ditto2.batch.runner import SUMMARY, run_batch
    from ditto2.errors import InputError

    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    jobs, invalid = read_jobs(args.jobs, args.out, args.models)
    for bad in invalid:
        print(f"ditto2 batch: {args.jobs}, line {bad['line']}: {bad['error']} (left out)", file=sys.stderr)
    if not jobs:
        raise InputError(f"{args.jobs}: no valid job to run")
    s = run_batch(jobs, args.out, invalid, workers=args.workers, address=args.address, models_dir=args.models,
                  progress=not args.quiet)
    per_clip = f"{s['seconds_per_clip']:.2f} s per job" if s["seconds_per_clip"] else "no job run"
    print(f"{s['done']} done, {s['failed']} failed, {s['skipped']} skipped (finished before), {s['invalid']} invalid; "
          f"{per_clip}; summary in {args.out}/{SUMMARY}")
