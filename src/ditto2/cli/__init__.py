"""The ``ditto2`` command: thin sub-commands over the library. Errors in the input print one line."""
from __future__ import annotations

import argparse
import sys

from ditto2.errors import Ditto2Error


def build_parser() -> argparse.ArgumentParser:
    from ditto2.cli import batch, bench, bench_text, data, distill, eval, generate, sample, studio, train, vocode

    parser = argparse.ArgumentParser(prog="ditto2", description="Fast, controllable music generation (DITTO-2).")
    sub = parser.add_subparsers(dest="command", required=True)
    data.add_commands(sub)
    train.add_commands(sub)
    distill.add_commands(sub)
    sample.add_commands(sub)
    generate.add_commands(sub)
    vocode.add_commands(sub)
    studio.add_commands(sub)
    batch.add_commands(sub)
    bench.add_commands(sub)
    bench_text.add_commands(sub)
    eval.add_commands(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except Ditto2Error as exc:
        print(f"ditto2: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ditto2: interrupted (finished work is kept; run the same command again to resume)", file=sys.stderr)
        return 130
    return 0
