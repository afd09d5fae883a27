"""Running a long, uninterruptible call (ONNX inference, a matting solve) so that a cancel
request is still answered within a fraction of a second."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
POLL_S = 0.05


def cancellable(check: Callable[[], None], fn: Callable[..., T], *args, **kwargs) -> T:
    """fn(*args, **kwargs) in a worker thread, calling check() while it runs.

    When check() raises (the run was cancelled) the exception propagates at once; the
    worker finishes on its own and its result is dropped.
    """
    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="classic-worker", daemon=True)
    worker.start()
    while worker.is_alive():
        check()
        worker.join(POLL_S)
    check()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
