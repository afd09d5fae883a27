"""Atomic file writes: a temporary file in the same folder, flush, fsync, rename.

A crash, a kill or a full disk at any moment leaves either the previous file or the new
one at the target path, never a mix. Failures become `ExportFailed` with one sentence.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from app.core.errors import ExportFailed


def describe_os_error(exc: OSError) -> str:
    """One sentence for an OS error a user can cause (permissions, full disk...)."""
    code = exc.errno
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full"
    if code == errno.EFBIG:
        return "the file is larger than the system allows"
    if code == errno.EROFS:
        return "the disk is read-only"
    if isinstance(exc, FileNotFoundError) or code == errno.ENOENT:
        return "the folder does not exist"
    if isinstance(exc, IsADirectoryError):
        return "a folder has that name"
    if isinstance(exc, NotADirectoryError):
        return "a part of the path is not a folder"
    if code == errno.ENAMETOOLONG:
        return "the file name is too long"
    return exc.strerror or str(exc) or exc.__class__.__name__


def _read_umask() -> int:
    # Read once at import: os.umask can only be read by setting it, which races with threads.
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _read_umask()


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not every platform lets a folder be opened; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a binary file; on normal exit it replaces `path` atomically.

    On any exception the temporary file is removed, the target is untouched, and the
    error is raised as `ExportFailed` (an `ExportFailed` passes through unchanged).
    """
    target = Path(path)
    if target.is_dir():
        raise ExportFailed(target, "a folder has that name")
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ExportFailed(target, describe_os_error(exc)) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _keep_mode(target, tmp)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(exc, ExportFailed):
            raise
        if isinstance(exc, OSError):
            raise ExportFailed(target, describe_os_error(exc)) from None
        if isinstance(exc, MemoryError):
            raise ExportFailed(target, "not enough memory") from None
        if isinstance(exc, Exception):
            raise ExportFailed(target, str(exc) or exc.__class__.__name__) from exc
        raise
    _fsync_dir(folder)


def _keep_mode(target: Path, tmp: Path) -> None:
    """mkstemp creates 0600 files; give the new file the usual permissions instead."""
    try:
        mode = target.stat().st_mode & 0o777
    except OSError:
        mode = 0o666 & ~_UMASK
    os.chmod(tmp, mode)


def write_atomic(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> None:
    """Call `write(fh)` and atomically put what it wrote at `path`."""
    with atomic_file(path) as fh:
        write(fh)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_file(path) as fh:
        fh.write(data)
