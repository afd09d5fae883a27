"""Work off the GUI thread: a callable runs in a daemon thread, its outcome comes back as
signals delivered on the GUI thread (queued, because the task object lives there)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.errors import StrataError

_running: set[BackgroundTask] = set()  # keeps tasks alive until they report


def user_message(exc: BaseException, what: str) -> str:
    """One sentence for an exception: our own errors already are one; others get context."""
    if isinstance(exc, StrataError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return f"Not enough memory to {what}."
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
        return f"Could not {what}: {reason}."
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"Could not {what}: {text}"


class BackgroundTask(QObject):
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], Any], what: str) -> None:
        super().__init__()
        self._fn = fn
        self.what = what

    def start(self) -> BackgroundTask:
        _running.add(self)
        self.done.connect(self._release)
        self.failed.connect(self._release)
        threading.Thread(target=self._run, name=f"strata: {self.what}", daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a message
            self.failed.emit(user_message(exc, self.what))
        else:
            self.done.emit(result)

    def _release(self, _value: object) -> None:
        _running.discard(self)


def run_in_background(
    fn: Callable[[], Any],
    what: str,
    on_done: Callable[[Any], None],
    on_failed: Callable[[str], None],
    on_finished: Callable[[], None] | None = None,
) -> BackgroundTask:
    """Run `fn` in a thread; `on_finished` runs after either outcome.

    Every slot is connected before the thread starts: a queued signal reaches only the
    slots connected when it was emitted.
    """
    task = BackgroundTask(fn, what)
    task.done.connect(on_done)
    task.failed.connect(on_failed)
    if on_finished is not None:
        task.done.connect(lambda _r: on_finished())
        task.failed.connect(lambda _m: on_finished())
    return task.start()

