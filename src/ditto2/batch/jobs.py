"""The jobs file: one JSON object per line, its keys ``ditto2 generate``'s flags (``"intensity": "-30,-15"``,
``"seed": 3``, ``"loop": true``), plus ``"out"``: the output's name inside the batch's folder (default
``job-LINE.wav``). Every line is checked up front with ``generate``'s own parser and checks; a bad line is
reported by number and left out, the others run.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path, PurePosixPath

from ditto2.errors import Ditto2Error, InputError

RESERVED = ("models", "quiet", "report", "plot")  # set by the batch for every job, not per line


@dataclasses.dataclass(frozen=True)
class Job:
    line: int
    out: Path           # the job's audio file (its sidecar beside it)
    argv: tuple         # ``ditto2 generate`` arguments, --models included

    @property
    def finished(self) -> bool:
        """A job is done when its sidecar exists: it is written, atomically, after the audio."""
        return self.out.with_suffix(".json").is_file()


def job_argv(fields: dict, out: Path) -> list[str]:
    argv = ["-o", str(out), "--quiet"]
    for key, value in fields.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value not in (False, None):
            argv += [flag, str(value)]
    return argv


def _output(fields: dict, line: int, out_dir: Path) -> Path:
    name = fields.pop("out", None) or f"job-{line:05d}.wav"
    path = PurePosixPath(str(name))
    if path.is_absolute() or ".." in path.parts:
        raise InputError(f"out: {name!r} must be a name inside the batch's --out folder")
    return out_dir / path


def parse_line(text: str, line: int, out_dir: Path, models: str | None) -> Job:
    """One line -> a checked Job (InputError naming what is wrong)."""
    from ditto2.cli.generate import build_controls, check_args, generate_parser

    try:
        fields = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not a JSON object: {exc.msg}") from None
    if not isinstance(fields, dict):
        raise InputError("not a JSON object")
    reserved = sorted(set(fields) & set(RESERVED))
    if reserved:
        raise InputError(f"{', '.join(reserved)}: set for the whole batch, not per job")
    out = _output(fields, line, out_dir)
    parser = generate_parser()
    flags = {s for action in parser._actions for s in action.option_strings if s.startswith("--")} - {"--help"}
    unknown = sorted(k for k in fields if "--" + k.replace("_", "-") not in flags)
    if unknown:  # whole flags only: argparse would take "h" for --help (and exit) or "lo" for --loop
        raise InputError(f"{', '.join(map(repr, unknown))}: not a ditto2 generate flag")
    argv = job_argv(fields, out) + (["--models", str(models)] if models else [])
    args = parser.parse_args(argv)
    check_args(args)
    build_controls(args)  # every target parses (notes, curves, reference files) before anything runs
    return Job(line, out, tuple(argv))


def read_jobs(path: str | Path, out_dir: str | Path, models: str | None = None) -> tuple[list[Job], list[dict]]:
    """(valid jobs, invalid lines as {"line", "error"}); blank lines are skipped. Two jobs may not share an output."""
    path, out_dir = Path(path), Path(out_dir)
    if not path.is_file():
        raise InputError(f"jobs file not found: {path}")
    jobs, invalid, outputs = [], [], {}
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if not text.strip():
            continue
        try:
            job = parse_line(text, number, out_dir, models)
            if job.out in outputs:
                raise InputError(f"out: {job.out.name} is also line {outputs[job.out]}'s output")
        except Ditto2Error as exc:
            invalid.append({"line": number, "error": str(exc)})
            continue
        outputs[job.out] = number
        jobs.append(job)
    return jobs, invalid
