"""Reading zip containers (ORA, sessions) without trusting what they declare."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from app.core.errors import ImportFailed


def safe_member_name(name: str) -> bool:
    """Whether `name` is a plain relative path inside the archive (no '..', no root)."""
    if not name or "\\" in name or "\x00" in name:
        return False
    p = PurePosixPath(name)
    return not p.is_absolute() and ".." not in p.parts and ":" not in p.parts[0]


class SafeZip:
    """Read members by name with a cap on each member's and the total inflated size."""

    def __init__(self, zf: zipfile.ZipFile, path: Path, max_total: int) -> None:
        self.zf = zf
        self.path = path
        self.remaining = max_total

    def read(self, name: str, limit: int, what: str) -> bytes:
        if not safe_member_name(name):
            raise ImportFailed(self.path, f"{what} points outside the archive ({name!r})")
        try:
            info = self.zf.getinfo(name)
        except KeyError:
            raise ImportFailed(self.path, f"{what} is missing ({name})") from None
        cap = min(limit, self.remaining)
        if info.file_size > cap:
            raise ImportFailed(self.path, f"{what} is too large ({info.file_size:,} bytes)")
        # Read at most cap + 1 bytes: the declared size may lie (zip bombs).
        with self.zf.open(info) as fh:
            data = fh.read(cap + 1)
        if len(data) > cap:
            raise ImportFailed(self.path, f"{what} is too large")
        self.remaining -= len(data)
        return data


def open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ImportFailed(path, "the archive is damaged") from None
