"""The resume keys: a digest of the input's bytes, and of everything that shapes the output."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from typing import Any

_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of the file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def options_digest(backend: str, fmt: str, options: Any) -> str:
    """sha256 (first 16 hex digits) of the backend, the output format and the decompose
    options, as canonical JSON: the same command line gives the same digest on any node."""
    values = dataclasses.asdict(options) if dataclasses.is_dataclass(options) else dict(options)
    text = json.dumps({"backend": backend, "format": fmt, "options": values},
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
