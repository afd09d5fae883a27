"""Strata entry point: no arguments (or a file) opens the editor; a subcommand runs the CLI."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
