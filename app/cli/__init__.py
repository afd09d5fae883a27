"""Command line: `python main.py SUBCOMMAND ...` per the CLI contract in DESIGN.md.

Each subcommand lives in its own module with `register(subparsers)`; failures exit
non-zero with one line on stderr and no traceback (argparse's own errors included).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from app.cli import batch, decompose, evaluate, files, models, refine
from app.cli.options import add_max_pixels, max_pixels_value

SUBCOMMANDS = {"decompose", "export", "info", "dataset", "eval", "models", "refine", "batch"}


class Parser(argparse.ArgumentParser):
    """argparse with the CLI contract's errors: one line on stderr, then exit 2.

    Subparsers are made with the parent's class (argparse's default `parser_class`), so
    every subcommand and `models download` answer the same way."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:  # said by the command they were given to, so the hint names its --help
            self.command_parser(parsed).error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed

    def command_parser(self, parsed: argparse.Namespace) -> argparse.ArgumentParser:
        """The (sub)parser of the deepest command `parsed` names."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(parsed, action.dest, None) or "")
                if isinstance(chosen, Parser):
                    return chosen.command_parser(parsed)
        return self


def build_parser() -> Parser:
    parser = Parser(
        prog="strata",
        description="Strata: decompose a picture into editable layers. "
        "Without a subcommand, opens the editor.",
    )
    add_max_pixels(parser, default=None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (decompose, files, evaluate, models, refine, batch):
        module.register(sub)
    return parser


def run_editor(path: str | None) -> int:
    from app.platform_check import ensure_editor_can_start

    if not ensure_editor_can_start():  # before Qt, which would abort with signal 6
        return 1
    from app.ui.editor import run_editor as run

    return run(path)


def _editor_arguments(argv: list[str]) -> tuple[list[str], int | None] | None:
    """(the editor's arguments, the --max-pixels given before them) when `argv` asks for the
    editor (no subcommand), else None (then argparse reads everything)."""
    rest, limit = list(argv), None
    while rest and rest[0].startswith("--max-pixels"):
        name, eq, value = rest[0].partition("=")
        if name != "--max-pixels" or (not eq and len(rest) < 2):
            return None
        if not eq:
            value = rest[1]
        rest = rest[1:] if eq else rest[2:]
        try:
            limit = max_pixels_value(value)
        except argparse.ArgumentTypeError:
            return None
    if not rest or (rest[0] not in SUBCOMMANDS and not rest[0].startswith("-")):
        return rest, limit
    return None


def _looks_like_a_command(word: str) -> bool:
    """A mistyped command (no such file, no extension, no folder part), not a file to open."""
    path = Path(word)
    return not path.exists() and not path.suffix and len(path.parts) == 1


def _set_limit(limit: int | None) -> int | None:
    from app.core.formats.limits import set_max_pixels

    return set_max_pixels(limit)


def _with_hint(message: str) -> str:
    from app.core.formats.limits import LIMIT_WORDS

    if LIMIT_WORDS in message and "--max-pixels" not in message:
        return f"{message}; raise it with --max-pixels N"
    return message


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    editor = _editor_arguments(argv)
    if editor is not None:
        files, limit = editor
        if len(files) > 1:
            print("error: the editor takes at most one file (see `strata --help`)",
                  file=sys.stderr)
            return 2
        if files and _looks_like_a_command(files[0]):
            print(f"error: '{files[0]}' is neither a command ({', '.join(sorted(SUBCOMMANDS))})"
                  " nor a file (see `strata --help`)", file=sys.stderr)
            return 2
        if limit is not None:
            _set_limit(limit)  # for the whole editor session
        return run_editor(files[0] if files else None)
    args = build_parser().parse_args(argv)
    previous = _set_limit(args.max_pixels) if args.max_pixels is not None else None
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI contract: one line, no traceback
        message = str(exc) or exc.__class__.__name__
        print(f"error: {_with_hint(message.splitlines()[0])}", file=sys.stderr)
        return 1
    finally:
        if args.max_pixels is not None:
            _set_limit(previous)
