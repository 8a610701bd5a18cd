"""Running a batch on Ray: one actor per worker loads the models once and runs ``ditto2 generate`` requests.

Nothing is lost: a job whose sidecar exists is skipped (outputs are written atomically, the sidecar last); a job
that fails is recorded with its message and the rest go on; a killed worker is restarted by Ray and its job
retried (``max_restarts`` / ``max_task_retries``), and the temporary file it was writing is removed once the pool has
drained; the summary is written atomically at the end.
"""
from __future__ import annotations

import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ditto2.batch.jobs import Job
from ditto2.fileio import remove_stale_temporaries, write_json

SUMMARY = "batch-summary.json"
WORKER_PIDS = ".workers"  # each worker writes its process id here (to watch or stop one)


class GenerationWorker:
    """A Ray actor: the models of ``models_dir`` loaded once; ``run(argv)`` is one ``ditto2 generate``."""

    def __init__(self, models_dir, threads: int, pid_dir: str):
        _own_numba_cache()
        import torch

        from ditto2.pipeline import Pipeline

        torch.set_num_threads(threads)
        self.pipeline = Pipeline.from_pretrained(models_dir)
        Path(pid_dir).mkdir(parents=True, exist_ok=True)
        Path(pid_dir, f"{os.getpid()}").touch()

    def run(self, line: int, argv: list[str]) -> dict:
        from ditto2.cli.generate import generate_parser, run_generate
        from ditto2.errors import Ditto2Error

        start = time.perf_counter()
        try:
            args = generate_parser().parse_args(argv)
            generated = run_generate(args, self.pipeline)
        except Ditto2Error as exc:
            return {"line": line, "status": "failed", "error": str(exc)}
        except Exception as exc:  # a job's own bug must not end the batch: recorded, the rest go on
            return {"line": line, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
        return {"line": line, "status": "done", "files": [str(f) for f in generated.files],
                "seconds": time.perf_counter() - start, "audio_s": sum(map(len, generated.result.audio)) / 22050}


def _own_numba_cache() -> None:
    """Point this worker's numba at a cache of its own, before anything imports librosa: workers compiling
    librosa's functions into the one shared cache at once leave it corrupt, and every later process that loads
    it crashes (a segfault in ``librosa.estimate_tuning`` after a first batch on a fresh install)."""
    cache = tempfile.mkdtemp(prefix="ditto2-numba-")
    atexit.register(shutil.rmtree, cache, ignore_errors=True)
    os.environ["NUMBA_CACHE_DIR"] = cache
    if "numba" in sys.modules:
        from numba.core import config

        config.reload_config()


def run_batch(jobs: list[Job], out_dir: str | Path, invalid: list[dict], workers: int = 2, address: str | None = None,
              models_dir: str | None = None, progress: bool = True) -> dict:
    """Run the unfinished ``jobs`` on ``workers`` Ray actors; returns (and writes) the summary."""
    import ray
    from tqdm import tqdm

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pending = [j for j in jobs if not j.finished]
    skipped = len(jobs) - len(pending)
    start = time.perf_counter()
    results = []
    if pending:
        _init_ray(address, workers)
        threads = max(1, (os.cpu_count() or 1) // workers) if address is None else 1
        actor = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1)(GenerationWorker)
        pool = ray.util.ActorPool([actor.remote(models_dir, threads, str(out_dir / WORKER_PIDS))
                                   for _ in range(min(workers, len(pending)))])
        bar = tqdm(total=len(pending), desc="batch", unit="job", disable=not progress)
        for result in pool.map_unordered(lambda a, job: a.run.remote(job.line, list(job.argv)), pending):
            results.append(result)
            bar.update()
            bar.set_postfix(failed=sum(r["status"] == "failed" for r in results))
        bar.close()
        for job in pending:  # a worker killed mid-write leaves its temporary file; no writer runs any more
            remove_stale_temporaries(job.out)
    summary = _summary(results, skipped, invalid, time.perf_counter() - start, workers)
    write_json(out_dir / SUMMARY, summary)
    return summary


def _init_ray(address: str | None, workers: int) -> None:
    import ray

    if ray.is_initialized():
        return
    if address is None:  # a local Ray on this machine, one CPU slot per worker
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)


def _summary(results: list[dict], skipped: int, invalid: list[dict], wall: float, workers: int) -> dict:
    done = sorted((r for r in results if r["status"] == "done"), key=lambda r: r["line"])
    failed = sorted((r for r in results if r["status"] == "failed"), key=lambda r: r["line"])
    audio = sum(r["audio_s"] for r in done)
    return {"done": len(done), "failed": len(failed), "skipped": skipped, "invalid": len(invalid), "workers": workers,
            "wall_s": wall, "seconds_per_clip": statistics.median(r["seconds"] for r in done) if done else None,
            "audio_s_per_wall_s": audio / wall if done and wall > 0 else None,
            "failures": [{"line": r["line"], "error": r["error"]} for r in failed], "invalid_lines": invalid,
            "files": [f for r in done for f in r["files"]]}
