"""How many threads one decomposition may use, for running several side by side.

A batch runs N decompositions at once, each in its own process; every library that sizes its
thread pool from the core count (OpenMP/BLAS in numpy and OpenCV, numba, onnxruntime, torch)
would then start N x cores threads that fight for the same cores. `limit_threads(n)` is
called first thing in such a process: it sets the usual variables (read when those libraries
load) and the pools already loaded. STRATA_THREADS carries the figure to our own code.
"""

from __future__ import annotations

import os
import sys

_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS", "STRATA_THREADS")


def thread_budget(default: int) -> int:
    """STRATA_THREADS when set (a positive number), else `default`."""
    try:
        value = int(os.environ.get("STRATA_THREADS", ""))
    except ValueError:
        return default
    return value if value > 0 else default


def limit_threads(n: int) -> None:
    n = max(1, int(n))
    for name in _VARIABLES:
        os.environ[name] = str(n)
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(n)
    if "numba" in sys.modules:
        numba = sys.modules["numba"]
        try:
            numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
        except (AttributeError, ValueError):
            pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def per_worker(workers: int, cores: int | None = None) -> int:
    """The cores divided among `workers` processes (at least 1 each)."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, workers))
