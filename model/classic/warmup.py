"""The first-run costs, paid at set-up time: `python -m model.classic.warmup`.

Refinement's kernels (model/refine/kernels.py) and the patch fill's (model/classic/patchfill.py)
compile on their first call and are cached too; `NUMBA_MODULES` lists the modules of ours whose
cache `first_run()` checks.

pymatting declares its ~30 numba functions with explicit signatures and `cache=True`, so
*importing* pymatting compiles every one of them (35 s on one free core here, a minute on a busy
machine) unless numba's cache already holds them. numba keeps that cache in the `__pycache__`
folders beside pymatting's sources when they are writable (else in NUMBA_CACHE_DIR when that is
set first, else ~/.cache/numba); it is valid for this numba version and these source files.
The set-up scripts (installer/bootstrap.sh, installer/install.sh) run this module once after pip,
and `first_run()` lets the decomposer say "preparing (first run only)" when the cache is cold.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import pickle
import sys
import time
from pathlib import Path

FIRST_RUN_MESSAGE = "preparing (first run only)"
NUMBA_MODULES = ("model.classic.patchfill",)  # compiled on a photo's first decomposition


def _numba_cache_dirs(source_dir: Path) -> list[Path]:
    """Where numba looks for the cache of functions defined in `source_dir`, in its order
    (numba.core.caching: user-provided dir, in-tree __pycache__, user-wide dir)."""
    subpath = f"{source_dir.name}_{hashlib.sha1(str(source_dir).encode()).hexdigest()}"
    if os.environ.get("NUMBA_CACHE_DIR"):
        return [Path(os.environ["NUMBA_CACHE_DIR"]) / subpath]
    user = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "numba"
    return [source_dir / "__pycache__", user / subpath]


def cached_functions(path: Path) -> list[str]:
    """Index file names numba writes for the module's top-level `@njit(..., cache=True)`
    functions: `<module>.<name>-<first decorator line>.py<major><minor>.nbi`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}{getattr(sys, 'abiflags', '')}"
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and any(
                k.arg == "cache" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in decorator.keywords
            ):
                line = min(d.lineno for d in node.decorator_list)
                names.append(f"{path.stem}.{node.name}-{line}.{tag}.nbi")
                break
    return names


def _index_current(index: Path, numba_version: str | None) -> bool:
    try:
        with index.open("rb") as f:
            written_by = pickle.load(f)  # numba writes its version first, then the index
    except (OSError, pickle.UnpicklingError, EOFError):
        return False
    return numba_version is None or written_by == numba_version


def cache_ready(package: str = "pymatting") -> bool:
    """Whether numba's cache holds every cached function of the package (so importing it
    loads compiled code instead of compiling). Reads files only; imports nothing."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return True  # not installed: nothing to compile (the import will fail on its own)
    try:
        numba_version: str | None = importlib.metadata.version("numba")
    except importlib.metadata.PackageNotFoundError:
        numba_version = None  # a frozen build may carry no metadata; trust the files
    root = Path(next(iter(spec.submodule_search_locations)))
    for source in root.rglob("*.py"):
        names = cached_functions(source)
        if not names:
            continue
        dirs = _numba_cache_dirs(Path(os.path.abspath(source.parent)))
        for name in names:
            if not any(_index_current(d / name, numba_version) for d in dirs):
                return False
    return True


def module_cache_ready(module: str) -> bool:
    """Whether numba's cache holds every cached function of one module of ours."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return True
    source = Path(spec.origin)
    dirs = _numba_cache_dirs(Path(os.path.abspath(source.parent)))
    return all(any((d / name).exists() for d in dirs) for name in cached_functions(source))


def first_run() -> bool:
    """True when loading pymatting or the patch fill in this process would compile (a cold
    numba cache)."""
    cold = "pymatting" not in sys.modules and not cache_ready()
    return cold or not all(module_cache_ready(m) for m in NUMBA_MODULES)


def load() -> None:
    """Import pymatting and run the patch fill once: compiles their numba functions, or loads
    them from the cache."""
    import pymatting  # noqa: F401

    if not all(module_cache_ready(m) for m in NUMBA_MODULES):
        warm_fill()


def warm_fill() -> None:
    """The patch fill's kernels compile on their first call (~10-30 s): fill a small hole in a
    picture large enough for two pyramid levels, so the carrying kernels compile too."""
    import numpy as np

    from model.classic.fill import fill_hole

    rgb = np.random.default_rng(0).random((96, 96, 3)).astype(np.float32)
    hole = np.zeros((96, 96), bool)
    hole[36:60, 36:60] = True
    fill_hole(rgb, hole, method="patch")


def warm() -> dict[str, float | bool]:
    """Compile (or load) pymatting's functions and run the matting classic uses on a small
    picture, so that the first real decomposition finds everything compiled."""
    import numpy as np

    started = time.perf_counter()
    was_ready = cache_ready()
    import pymatting  # noqa: F401 - compiles its functions, or loads them from the cache

    loaded = time.perf_counter()
    from model.classic.subject import matte

    rng = np.random.default_rng(0)
    rgb = rng.random((48, 48, 3))
    fg = np.zeros((48, 48), bool)
    fg[12:36, 12:36] = True
    matte(rgb, fg)
    matted = time.perf_counter()
    warm_fill()
    filled = time.perf_counter()
    _warm_refine(rng)
    return {
        "cache_was_ready": was_ready,
        "import_s": round(loaded - started, 2),
        "fill_s": round(filled - matted, 2),
        "refine_s": round(time.perf_counter() - filled, 2),
        "total_s": round(time.perf_counter() - started, 2),
        "cache_ready": cache_ready() and all(module_cache_ready(m) for m in NUMBA_MODULES),
    }


def _warm_refine(rng) -> None:
    """Refinement's numba kernels compile on their first call (no signatures), ~10 s: run
    them once on a tiny enlarged stack so a model's first result is not held up by them."""
    import numpy as np

    from model.refine.core import refine_layers

    picture = np.zeros((64, 64, 4), np.uint8)
    picture[..., :3] = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    picture[..., 3] = 255
    top = np.zeros((32, 32, 4), np.uint8)
    top[8:24, 8:24] = (200, 40, 40, 180)
    refine_layers(picture, [picture[::2, ::2].copy(), top])


def main() -> int:
    report = warm()
    print(json.dumps(report))
    return 0 if report["cache_ready"] else 1


if __name__ == "__main__":
    sys.exit(main())
