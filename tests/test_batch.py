"""ditto2 batch on a local Ray of 2 workers, tiny models: bad lines reported, a killed worker's job retried, every
valid job's output present exactly once, a re-run skipping what is finished."""
import json
import os
import signal
import threading
import time

import pytest

from ditto2.batch.jobs import read_jobs
from ditto2.cli import main
from ditto2.errors import InputError

QUICK = {"opt_steps": 2}


def _write_jobs(path, lines):
    path.write_text("\n".join(json.dumps(x) if isinstance(x, dict) else x for x in lines) + "\n")


def test_lines_are_checked_up_front_and_named(tmp_path, tiny_models_dir):
    jobs = tmp_path / "jobs.jsonl"
    _write_jobs(jobs, [{"intensity": "-30,-20", **QUICK}, "{not json", {"intensity": "abc"}, "",
                       {"melody": "C5 D5", "out": "../escape.wav"}, {"intensity": "-20", "models": "x"},
                       {"intensity": "-20", "bogus_flag": 1}, {"method": "none", "out": "job-00001.wav"},
                       {"h": 1}, {"lo": True}])  # abbreviations argparse would take for --help (exiting) and --loop
    valid, invalid = read_jobs(jobs, tmp_path / "out", str(tiny_models_dir))
    assert [j.line for j in valid] == [1]
    errors = {bad["line"]: bad["error"] for bad in invalid}
    assert set(errors) == {2, 3, 5, 6, 7, 8, 9, 10}
    assert "'h': not a ditto2 generate flag" in errors[9] and "'lo'" in errors[10]
    assert "not a JSON object" in errors[2] and errors[3].startswith("--intensity")
    assert "inside the batch's --out folder" in errors[5] and "set for the whole batch" in errors[6]
    assert "bogus" in errors[7] and "also line 1's output" in errors[8]
    with pytest.raises(InputError, match="jobs file not found"):
        read_jobs(tmp_path / "missing.jsonl", tmp_path / "out")


def test_a_killed_worker_loses_nothing_and_a_rerun_skips_finished_jobs(tmp_path, tiny_models_dir, capsys):
    import ray

    jobs = tmp_path / "jobs.jsonl"
    lines = [{"intensity": "-30,-20", "seed": k, "opt_steps": 150} for k in range(6)]
    lines.insert(2, {"intensity": "loud"})
    _write_jobs(jobs, lines)
    out = tmp_path / "out"
    killed = []

    def kill_one_worker():
        """Once the first job is finished, kill a worker while the others are still to run or running."""
        deadline = time.time() + 300
        while time.time() < deadline and not list(out.glob("job-*.json")):
            time.sleep(0.05)
        finished = len(list(out.glob("job-*.json")))
        pid = int(sorted((out / ".workers").iterdir())[0].name)
        os.kill(pid, signal.SIGKILL)
        killed.append((pid, finished))

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    try:
        assert main(["batch", str(jobs), "--out", str(out), "--workers", "2", "--models", str(tiny_models_dir),
                     "--quiet"]) == 0
    finally:
        killer.join()
        ray.shutdown()
    assert killed and killed[0][1] < 6, "no worker was killed while jobs were left"
    assert len(list((out / ".workers").iterdir())) >= 3, "Ray did not restart the killed worker"
    summary = json.loads((out / "batch-summary.json").read_text())
    assert (summary["done"], summary["failed"], summary["invalid"]) == (6, 0, 1)
    assert summary["invalid_lines"][0]["line"] == 3 and "line 3" in capsys.readouterr().err
    wavs = sorted(p.name for p in out.glob("*.wav"))
    assert wavs == [f"job-{n:05d}.wav" for n in (1, 2, 4, 5, 6, 7)]  # each valid job's output, once
    assert len(list(out.glob("*.json"))) == 6 + 1  # sidecars + the summary; no temporary files left
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.is_file()]

    # A re-run finds everything done and runs nothing (no Ray needed).
    assert main(["batch", str(jobs), "--out", str(out), "--models", str(tiny_models_dir), "--quiet"]) == 0
    again = json.loads((out / "batch-summary.json").read_text())
    assert (again["done"], again["skipped"]) == (0, 6)
