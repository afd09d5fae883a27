"""Command line: `python main.py SUBCOMMAND ...` per the CLI contract in DESIGN.md.

Each subcommand lives in its own module with `register(subparsers)`; failures exit
non-zero with one line on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app.cli import decompose, evaluate, files, models, refine

SUBCOMMANDS = {"decompose", "export", "info", "dataset", "eval", "models", "refine"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="strata",
        description="Strata: decompose a picture into editable layers. "
        "Without a subcommand, opens the editor.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (decompose, files, evaluate, models, refine):
        module.register(sub)
    return parser


def run_editor(path: str | None) -> int:
    from app.ui.editor import run_editor as run

    return run(path)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and not argv[0].startswith("-")):
        if len(argv) > 1:
            print("error: the editor takes at most one file", file=sys.stderr)
            return 2
        return run_editor(argv[0] if argv else None)
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI contract: one line, no traceback
        message = str(exc) or exc.__class__.__name__
        print(f"error: {message.splitlines()[0]}", file=sys.stderr)
        return 1
