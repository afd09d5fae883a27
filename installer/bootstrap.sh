#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv.
#   installer/bootstrap.sh            the app (classic decomposer, editor, CLI)
#   installer/bootstrap.sh dev        plus the test tools, the qwen extra (CPU tests of the real
#                                     pipeline), the cluster extra (Ray tests of `batch --ray`) and
#                                     the train extra (onnx: the prior's export test)
# After pip it warms numba's cache (python -m model.classic.warmup) and, for the app as root with
# apt-get, installs the system libraries Qt's X11 plugin needs (python -m app.platform_check).
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
    dev) PYTHONWARNINGS=ignore .venv/bin/python -m pip install --quiet -c installer/constraints-ci.txt -e ".[dev,qwen,cluster,train]" ;;
    *)   PYTHONWARNINGS=ignore .venv/bin/python -m pip install --quiet -e . ;;
  esac
  # numba compiles pymatting's functions here, once, instead of in the first decomposition.
  echo "compiling the classic decomposer's matting code (once, about a minute)..." >&2
  .venv/bin/python -m model.classic.warmup >/dev/null \
    || echo "note: the warm-up failed; the first decomposition will compile instead" >&2
  # The libraries Qt's X11 plugin needs (root with apt-get installs them; without root the
  # editor's launcher names the exact apt-get line when it starts).
  if [ "$profile" = app ] && [ "$(id -u)" = 0 ] && [ "${STRATA_NO_SYSTEM_INSTALL:-}" != 1 ] \
     && command -v apt-get >/dev/null; then
    .venv/bin/python -m app.platform_check --system-packages --install >&2 || true
  fi
  echo "$want" > "$stamp"
fi
