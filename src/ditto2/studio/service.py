"""The studio's engine room, without any web framework: a request from the page -> the ``ditto2 generate`` command
line -> the one warm ``Pipeline`` -> the files written.

The page never builds controls itself: it fills a ``StudioRequest``, ``to_argv`` turns it into the arguments a
user would type, and ``cli.generate``'s own parser and ``run_generate`` check and run them, so the page and the
command line share every check and every message.

No path from a user reaches the file system: text fields are checked against the grammar of their values (a
melody is notes, never a file name; an intensity curve is numbers, never a JSON path), and the only files read
are uploads, accepted only from inside the studio's upload folder, with size and duration limits. Outputs go to
a fresh folder per request.
"""
from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
import uuid
from pathlib import Path

from ditto2.errors import InputError

MAX_UPLOAD_SECONDS = 60.0
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_CANDIDATES = 4
MAX_SECONDS = 30.0

_NUMBER = r"-?\d+(?:\.\d+)?"
FIELD_GRAMMAR = {  # what each free-text field may hold: values, never file names
    "intensity": (re.compile(rf"^\s*{_NUMBER}(?:\s*,\s*{_NUMBER})*\s*$"), "comma-separated dB values such as -30,-15"),
    "melody": (re.compile(r"^[A-Ga-gRr0-9#b:.\s]+$"), 'notes such as "C5 D5 E5:2 R G5"'),
    "structure": (re.compile(r"^[A-Z]+$"), "capital letters such as AABA"),
    "weights": (re.compile(r"^\s*[a-z_]+=\d+(?:\.\d+)?(?:\s*,\s*[a-z_]+=\d+(?:\.\d+)?)*\s*$"),
                "NAME=NUMBER items such as intensity=1,melody=0.5"),
}


@dataclasses.dataclass
class StudioRequest:
    """Everything the page can ask for; empty strings and None mean "not given"."""

    intensity: str = ""
    intensity_mode: str = "l2"
    melody: str = ""
    melody_file: str | None = None       # an uploaded MIDI or monophonic audio file
    structure: str = ""
    structure_file: str | None = None    # an uploaded reference whose structure is copied
    inpaint_file: str | None = None
    gap_start: float | None = None
    gap_end: float | None = None
    outpaint_file: str | None = None
    overlap: float = 1.0
    loop: bool = False
    text: str = ""
    text_condition: bool = False         # --condition: the prompt is also the model's own condition
    weights: str = ""
    seconds: float | None = None         # long form (chained outpainting)
    method: str = "ditto2"
    seed: int = 0
    candidates: int = 1
    opt_steps: int | None = None
    decode_steps: int | None = None
    vocoder: str | None = None
    report: bool = False


@dataclasses.dataclass
class StudioResult:
    audio: list[Path]       # one file per candidate
    sidecars: list[Path]
    report: Path | None
    seconds: float          # wall time of the generation (queue wait excluded)
    steps: int              # optimisation steps run
    targets: list[str]      # the controls the audio follows (from its sidecar)


def check_field(name: str, value: str) -> str:
    pattern, expected = FIELD_GRAMMAR[name]
    if not pattern.match(value):
        raise InputError(f"{name}: expected {expected}, got {value[:60]!r}")
    return value.strip()


class Uploads:
    """The folder uploads live in; a file is accepted only from inside it, within the size and duration limits."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)

    def check(self, path: str | Path, label: str) -> str:
        import soundfile as sf

        resolved = Path(path).resolve()
        if not resolved.is_relative_to(self.folder) or not resolved.is_file():
            raise InputError(f"{label}: not an uploaded file")
        if resolved.stat().st_size > MAX_UPLOAD_BYTES:
            raise InputError(f"{label}: the file is larger than {MAX_UPLOAD_BYTES // 2 ** 20} MB")
        if resolved.suffix.lower() not in (".mid", ".midi"):
            try:
                seconds = sf.info(str(resolved)).duration
            except Exception:  # soundfile raises several types for files it cannot read
                raise InputError(f"{label}: not a readable audio file (wav, flac, ogg or mp3)") from None
            if seconds > MAX_UPLOAD_SECONDS:
                raise InputError(f"{label}: {seconds:.0f} s of audio; the studio takes at most "
                                 f"{MAX_UPLOAD_SECONDS:.0f} s")
        return str(resolved)


def to_argv(request: StudioRequest, out: Path, uploads: Uploads) -> list[str]:
    """The ``ditto2 generate`` arguments for ``request``, writing to ``out`` (a .wav in the request's folder)."""
    r = request
    if not 1 <= r.candidates <= MAX_CANDIDATES:
        raise InputError(f"candidates: from 1 to {MAX_CANDIDATES}, got {r.candidates}")
    if r.seconds is not None and r.seconds > MAX_SECONDS:
        raise InputError(f"seconds: the studio makes at most {MAX_SECONDS:.0f} s, got {r.seconds}")
    argv = ["-o", str(out), "--method", r.method, "--seed", str(int(r.seed)), "--batch", str(int(r.candidates)),
            "--quiet"]
    if r.report:
        argv += ["--report", str(out.with_name("report.json"))]
    for flag, value in (("--opt-steps", r.opt_steps), ("--decode-steps", r.decode_steps), ("--seconds", r.seconds),
                        ("--vocoder", r.vocoder)):
        if value is not None:
            argv += [flag, str(value)]
    argv += _target_argv(r, uploads)
    return argv


def _target_argv(r: StudioRequest, uploads: Uploads) -> list[str]:
    argv = []
    if r.intensity.strip():
        argv += ["--intensity", check_field("intensity", r.intensity), "--intensity-mode", r.intensity_mode]
    if r.melody.strip() and r.melody_file:
        raise InputError("melody: give notes or a file, not both")
    if r.melody.strip():
        argv += ["--melody", check_field("melody", r.melody)]
    elif r.melody_file:
        argv += ["--melody", uploads.check(r.melody_file, "melody file")]
    if r.structure.strip():
        argv += ["--structure", check_field("structure", r.structure)]
    if r.structure_file:
        argv += ["--structure-from", uploads.check(r.structure_file, "structure reference")]
    if r.inpaint_file:
        if r.gap_start is None or r.gap_end is None:
            raise InputError("inpaint: choose the gap's start and end (seconds)")
        argv += ["--inpaint", uploads.check(r.inpaint_file, "inpaint reference"), "--gap",
                 f"{float(r.gap_start)}:{float(r.gap_end)}"]
    if r.outpaint_file:
        argv += ["--outpaint", uploads.check(r.outpaint_file, "outpaint reference")]
    if r.outpaint_file or r.loop or r.seconds is not None:
        argv += ["--overlap", str(float(r.overlap))]
    if r.loop:
        argv += ["--loop"]
    if r.text.strip():
        argv += ["--text", r.text.strip()]
    if r.text_condition:
        argv += ["--condition"]
    if r.weights.strip():
        argv += ["--weights", check_field("weights", r.weights)]
    return argv


class InlineGenerator:
    """Generations in this process, on the calling thread (tests, and callers that own their threads)."""

    def __init__(self, pipeline, models_dir=None):
        self.pipeline, self.models_dir = pipeline, models_dir
        self._vocoders, self._last = {}, None

    def run(self, argv: list[str], on_step) -> tuple[list[Path], float]:
        """``ditto2 generate ARGV`` on the warm pipeline; (audio files, seconds)."""
        from ditto2.cli.generate import generate_parser, run_generate
        from ditto2.models import load_vocoder

        args = generate_parser().parse_args(argv)
        if args.vocoder not in self._vocoders:
            self._vocoders[args.vocoder] = load_vocoder(args.vocoder, self.models_dir)
        self.pipeline.vocoder = self._vocoders[args.vocoder]
        start = time.perf_counter()
        self._last = run_generate(args, self.pipeline, callback=on_step)
        return self._last.files, time.perf_counter() - start

    def plot(self) -> Path | None:
        """The plot of the last generation: each candidate's mel, each target against what was achieved."""
        from ditto2.report import plot_generation

        g = self._last
        return plot_generation(g.result, g.result.controls, g.files[0].with_suffix(".png"), [f.name for f in g.files])

    def close(self) -> None:
        pass


def _worker_main(conn, models_dir, threads: int) -> None:
    """The generation process: load the models once, then run what the studio sends, reporting each step."""
    import traceback

    import torch

    from ditto2.errors import Ditto2Error
    from ditto2.pipeline import Pipeline

    torch.set_num_threads(threads)  # the parent's: the same sums in the same order, so the same audio per seed
    inline = InlineGenerator(Pipeline.from_pretrained(models_dir), models_dir)
    conn.send(("ready",))
    while (argv := _next_request(conn)) is not None:
        try:
            files, seconds = inline.run(argv, lambda step, record: conn.send(("step", step, record["loss"])))
        except Ditto2Error as exc:
            conn.send(("error", str(exc)))
            continue
        except Exception:  # reported to the page; the worker serves the next request
            conn.send(("crash", traceback.format_exc()))
            continue
        conn.send(("audio", [str(f) for f in files], seconds))
        try:
            conn.send(("plot", str(inline.plot())))
        except Exception:
            conn.send(("plot", None))


def _next_request(conn):
    """The next argument list, or None when the studio closes (or dies: its end of the pipe is gone)."""
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


class WorkerGenerator:
    """Generations in a process of their own, which loads the models once and keeps them warm.

    Why not the web server's process: there the generation shares the GIL with the server's threads, and with
    torch's OpenMP (libgomp) parallel regions started from any thread but the initial one ran slower (a student
    step 145 against 83 ms); a studio request took 1.6-1.7x the in-process ``Pipeline.generate`` (docs/studio.md).
    In its own process the generation runs on a main thread that nothing else wants."""

    def __init__(self, models_dir=None):
        import multiprocessing

        import torch

        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_worker_main, args=(child, models_dir, torch.get_num_threads()),
                                        daemon=True)
        self._process.start()
        self._plot_pending = False
        self._expect("ready")

    def _receive(self):
        if not self._conn.poll(None) or not self._process.is_alive() and not self._conn.poll():
            raise RuntimeError("the studio's generation process stopped")
        return self._conn.recv()

    def _expect(self, kind: str):
        message = self._receive()
        if message[0] != kind:
            raise RuntimeError(f"the studio's generation process said {message!r}, expected {kind!r}")
        return message

    def run(self, argv: list[str], on_step) -> tuple[list[Path], float]:
        if self._plot_pending:  # the previous request's plot, which its caller did not ask for
            self.plot()
        self._conn.send(argv)
        while True:
            message = self._receive()
            if message[0] == "step":
                on_step(message[1], {"loss": message[2]})
            elif message[0] == "audio":
                self._plot_pending = True
                return [Path(f) for f in message[1]], message[2]
            elif message[0] == "error":
                raise InputError(message[1])
            else:
                raise RuntimeError(f"the generation failed:\n{message[-1]}")

    def plot(self) -> Path | None:
        self._plot_pending = False
        path = self._expect("plot")[1]
        return Path(path) if path else None

    def close(self) -> None:
        if self._process.is_alive():
            self._conn.send(None)
            self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()


class StudioService:
    """One warm generator behind a lock: requests run one at a time in the order they are admitted (the page's
    queue limits how many wait), each in a fresh output folder."""

    def __init__(self, generator, workdir: str | Path, models_dir: str | Path | None = None):
        self.generator, self.models_dir = generator, models_dir
        self.workdir = Path(workdir).resolve()
        self.uploads = Uploads(self.workdir / "uploads")
        self._lock = threading.Lock()

    @classmethod
    def load(cls, workdir: str | Path, models_dir: str | Path | None = None, in_process: bool = False):
        """The service over the models of ``models_dir`` (default: shipped), generating in a worker process
        (``in_process``: in the caller's threads)."""
        if in_process:
            from ditto2.pipeline import Pipeline

            return cls(InlineGenerator(Pipeline.from_pretrained(models_dir), models_dir), workdir, models_dir)
        return cls(WorkerGenerator(models_dir), workdir, models_dir)

    def generate(self, request: StudioRequest, progress=None) -> StudioResult:
        """Run ``request``; ``progress(step, loss)`` is called after each optimisation step."""
        from ditto2.cli.generate import generate_parser

        folder = self.workdir / "outputs" / uuid.uuid4().hex
        folder.mkdir(parents=True)
        out = folder / "ditto2.wav"
        argv = to_argv(request, out, self.uploads)
        if self.models_dir is not None:
            argv += ["--models", str(self.models_dir)]
        generate_parser().parse_args(argv)  # bad input fails here, before it queues
        steps = []

        def on_step(step, record):
            steps.append(step)
            if progress is not None:
                loss = record["loss"]
                progress(step, min(loss) if isinstance(loss, list) else loss)

        with self._lock:
            audio, seconds = self.generator.run(argv, on_step)
        report = out.with_name("report.json")
        sidecars = [a.with_suffix(".json") for a in audio]
        targets = list(json.loads(sidecars[0].read_text())["settings"].get("controls", {}))
        return StudioResult(audio=audio, sidecars=sidecars, report=report if report.is_file() else None,
                            seconds=seconds, steps=len(steps), targets=targets)

    def plot(self) -> Path | None:
        """The plot of the last generation (drawn after its audio is out: a third of a second the listener need
        not wait for). Call it right after ``generate``, from the same request."""
        with self._lock:
            return self.generator.plot()

    def close(self) -> None:
        self.generator.close()
