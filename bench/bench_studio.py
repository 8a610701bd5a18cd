"""The studio under load: a warm studio request against the in-process ``Pipeline.generate``, and N concurrent
requests (latency each, none lost or mixed up).

    python bench/bench_studio.py --reps 5 --concurrent 8 [--models DIR] [--threads 2]

The studio runs as its own processes (``ditto2 studio`` on a free loopback port, as a user starts it: the web server
and its generation process); this process is a plain HTTP client and, while the studio idles, times
``Pipeline.generate`` on the same request. Intensity target
``-30,-15,-25`` with the CLI defaults; seeds 0 .. reps-1 one at a time (interleaved with the in-process calls),
100 .. for the concurrent requests, each checked against this process's own studio service for its seed.
Pause background training first.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

CURVE = "-30,-15,-25"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def page_values(seed: int) -> list:
    from ditto2.audio import DEFAULT_VOCODER
    from ditto2.studio.page import INPUT_FIELDS

    values = dict(intensity=CURVE, intensity_mode="l2", melody="", melody_file=None, structure="", structure_file=None,
                  inpaint_file=None, gap_start=2.0, gap_end=4.0, outpaint_file=None, overlap=1.0, loop=False, seconds=0,
                  text="", weights="", method="ditto2", seed=seed, candidates=1, opt_steps=0, decode_steps=0,
                  vocoder=DEFAULT_VOCODER, report=False)
    return [values[k] for k in INPUT_FIELDS]


def call_studio(url: str, values: list) -> tuple[list, float]:
    """One request through Gradio's REST API with plain blocking HTTP, as light a client as a browser (a polling
    client would take a core from the studio on two cores): (final outputs, seconds until the first output)."""
    start = time.perf_counter()
    request = urllib.request.Request(f"{url}gradio_api/call/generate", data=json.dumps({"data": values}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        event_id = json.load(response)["event_id"]
    first, event, outputs = None, None, None
    with urllib.request.urlopen(f"{url}gradio_api/call/generate/{event_id}") as stream:
        for raw in stream:
            line = raw.decode().strip()
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("generating", "complete"):
                outputs = json.loads(line[5:])
                if first is None and outputs and outputs[1]:
                    first = time.perf_counter() - start
                if event == "complete":
                    break
            elif event == "error":
                raise RuntimeError(f"the studio failed a request: {line}")
    return outputs, first


def audio_path(output) -> str:
    """The server-side path of an audio output (the REST API returns a file description)."""
    return output["path"] if isinstance(output, dict) else output


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--concurrent", type=int, default=8)
    p.add_argument("--models", default=None)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    workdir = Path(tempfile.mkdtemp(prefix="ditto2-studio-bench-"))
    os.environ["GRADIO_TEMP_DIR"] = str(workdir / "uploads")
    from ditto2 import features as F
    from ditto2.controls import IntensityControl
    from ditto2.studio.service import StudioRequest, StudioService

    port = free_port()
    server = start_studio(port, workdir / "server", args.models, args.threads)
    service = StudioService.load(workdir / "local", args.models, in_process=True)
    url = f"http://127.0.0.1:{port}/"

    def in_process(seed):
        return service.generator.pipeline.generate([IntensityControl(F.intensity_curve([-30, -15, -25]))], seed=seed,
                                         progress=False)

    def over_http(seed):
        """The final outputs, and the seconds until the first (the audio; the plot follows it)."""
        return call_studio(url, page_values(seed))

    in_process(0), over_http(0)  # warm-up
    direct, audio_out, complete = [], [], []
    for seed in range(args.reps):  # interleaved, so drift on a shared machine hits both alike
        direct.append(timed(in_process, seed)[0])
        seconds, (_, first) = timed(over_http, seed)
        audio_out.append(first)
        complete.append(seconds)
    base = statistics.median(direct)
    ratio = statistics.median(a / d for a, d in zip(audio_out, direct))
    print(f"one at a time, median of {args.reps} seeds: Pipeline.generate {base:.2f} s; studio request until the "
          f"audio is out {statistics.median(audio_out):.2f} s, with the plot {statistics.median(complete):.2f} s; "
          f"studio / in process per seed, median {ratio:.2f}x")
    print("per seed (Pipeline.generate / studio audio out): "
          + ", ".join(f"{d:.2f} / {a:.2f}" for d, a in zip(direct, audio_out)))

    seeds = list(range(100, 100 + args.concurrent))
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(len(seeds)) as pool:
        jobs = {seed: pool.submit(timed, over_http, seed) for seed in seeds}
        results = {seed: job.result() for seed, job in jobs.items()}
    wall = time.perf_counter() - start
    mixed = 0
    for seed, (_, ((status, audio, _, _), _)) in results.items():
        reference = service.generate(StudioRequest(intensity=CURVE, seed=seed))
        same = np.array_equal(sf.read(audio_path(audio))[0], sf.read(reference.audio[0])[0])
        mixed += not (status.startswith("done") and same)
    latencies = sorted(t for t, _ in results.values())
    print(f"{len(seeds)} concurrent requests: all done in {wall:.1f} s; latency min {latencies[0]:.1f} / median "
          f"{statistics.median(latencies):.1f} / max {latencies[-1]:.1f} s; lost or mixed up: {mixed}")
    server.terminate()


def start_studio(port: int, workdir: Path, models, threads: int) -> subprocess.Popen:
    """``ditto2 studio`` in a process of its own; returns once its page answers."""
    cmd = [sys.executable, "-m", "ditto2.cli", "studio", "--port", str(port), "--workdir", str(workdir)]
    if models:
        cmd += ["--models", str(models)]
    server = subprocess.Popen(cmd, env=os.environ | {"OMP_NUM_THREADS": str(threads)})
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the studio did not start within two minutes")


if __name__ == "__main__":
    main()
