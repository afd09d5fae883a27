#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv.
#   installer/bootstrap.sh            the app (classic decomposer, editor, CLI)
#   installer/bootstrap.sh dev        plus the test tools and the qwen extra (CPU tests of the real pipeline)
# PYTHONWARNINGS silences setuptools' editable-install banner, which is not an error.
# Re-running is cheap: a stamp of pyproject.toml skips pip when nothing changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
profile="${1:-app}"
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
stamp=".venv/.strata-$profile"
want="$(cat pyproject.toml installer/constraints-ci.txt | sha1sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  case "$profile" in
    dev) PYTHONWARNINGS=ignore .venv/bin/python -m pip install --quiet -c installer/constraints-ci.txt -e ".[dev,qwen]" ;;
    *)   PYTHONWARNINGS=ignore .venv/bin/python -m pip install --quiet -e . ;;
  esac
  echo "$want" > "$stamp"
fi
