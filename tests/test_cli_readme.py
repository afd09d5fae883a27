"""README's command-line section and the parsers' `--help` say the same things."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from app.cli import build_parser
from app.core.formats import EXPORT_EXTENSIONS

README = Path(__file__).resolve().parents[1] / "README.md"


def _cli_block() -> str:
    text = README.read_text()
    start = text.index("python main.py [")
    return text[start : text.index("```", start)]


def _commands(parser: argparse.ArgumentParser | None = None, prefix: str = ""
              ) -> dict[str, argparse.ArgumentParser]:
    """Every (sub)command's parser by its words: "", "decompose", "models download", ..."""
    parser = parser or build_parser()
    found = {prefix: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.update(_commands(child, f"{prefix} {name}".strip()))
    return found


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def test_every_option_the_readme_shows_exists() -> None:
    commands = _commands()
    usage: dict[str, str] = {}
    command = ""
    for line in _cli_block().splitlines():
        match = re.match(r"python main\.py ((\w+)( \w+)?)?", line)
        if match:
            words = match.group(1) or ""
            command = words if words in commands else match.group(2) or ""
            command = command if command in commands else ""
        usage[command] = usage.get(command, "") + line.strip().split("  ")[0] + " "
    assert set(usage) >= {"", "decompose", "export", "info", "dataset", "eval", "models",
                          "models download"}
    for command, text in usage.items():
        shown = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-z])\b", text))
        assert shown <= _options(commands[command]), (command, shown - _options(commands[command]))
    for command in ("", "decompose", "export", "info"):
        assert "--max-pixels" in usage[command]


def test_readme_and_help_name_every_output_format() -> None:
    text = README.read_text()
    paragraph = text[text.index("OUTPUT is chosen by its extension"):]
    paragraph = paragraph[: paragraph.index("\n\n")]
    decompose = _commands()["decompose"].format_help()
    export = _commands()["export"].format_help()
    for ext in EXPORT_EXTENSIONS:
        assert f"`{ext}`" in paragraph, ext
        assert ext in " ".join(decompose.split()) and ext in " ".join(export.split()), ext
    for words in ("without an extension", "existing folder"):
        assert words in paragraph and words in " ".join(decompose.split())
