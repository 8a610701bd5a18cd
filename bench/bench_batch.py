"""Throughput of ``ditto2 batch`` with 1 and 2 Ray workers on this machine.

    python bench/bench_batch.py --jobs 8 [--workers 1,2] [--models DIR]

The same N intensity jobs (curve ``-30,-15,-25``, seeds 0 .. N-1, 40 optimisation steps each so every job is the
same work) into a fresh folder per worker count; a worker gets cores // workers torch threads. Reports wall time,
seconds per job and audio seconds per wall second. Pause background training first.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=8)
    p.add_argument("--workers", default="1,2")
    p.add_argument("--models", default=None)
    args = p.parse_args()
    import ray

    from ditto2.batch.jobs import read_jobs
    from ditto2.batch.runner import run_batch

    root = Path(tempfile.mkdtemp(prefix="ditto2-batch-bench-"))
    jobs_file = root / "jobs.jsonl"
    jobs_file.write_text("".join(json.dumps({"intensity": "-30,-15,-25", "seed": k, "opt_steps": 40}) + "\n"
                                 for k in range(args.jobs)))
    print("| workers | jobs | wall (s) | s per job (median, in the worker) | jobs per minute | audio s per wall s |")
    print("|---|---|---|---|---|---|")
    for workers in map(int, args.workers.split(",")):
        out = root / f"workers-{workers}"
        jobs, invalid = read_jobs(jobs_file, out, args.models)
        s = run_batch(jobs, out, invalid, workers=workers, models_dir=args.models, progress=False)
        ray.shutdown()
        print(f"| {workers} | {s['done']} | {s['wall_s']:.1f} | {s['seconds_per_clip']:.2f} | "
              f"{60 * s['done'] / s['wall_s']:.1f} | {s['audio_s_per_wall_s']:.2f} |")


if __name__ == "__main__":
    main()
