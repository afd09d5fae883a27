"""Options more than one subcommand takes."""

from __future__ import annotations

import argparse

from app.core.formats import EXPORT_EXTENSIONS
from app.core.formats.limits import DEFAULT_MAX_PIXELS

OUTPUT_FORMATS = (
    f"{', '.join(EXPORT_EXTENSIONS)} (the flat ones hold the composite), or a path without an "
    "extension (or an existing folder) for a folder of layer PNGs"
)

MAX_PIXELS_HELP = (
    f"the largest picture any reader accepts, in pixels (default {DEFAULT_MAX_PIXELS}, or "
    "STRATA_MAX_PIXELS)"
)


def max_pixels_value(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of pixels, got '{text}'") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"the pixel limit must be positive, got {value}")
    return value


def add_max_pixels(parser: argparse.ArgumentParser, default: object = argparse.SUPPRESS) -> None:
    """`--max-pixels N`, on the main parser (default None) and on every command that reads
    pictures (default SUPPRESS, so that `strata --max-pixels N COMMAND` is not undone)."""
    parser.add_argument("--max-pixels", type=max_pixels_value, default=default, metavar="N",
                        help=MAX_PIXELS_HELP)
