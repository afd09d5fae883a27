"""OUTPUT_DIR/batch.jsonl: one JSON line per picture, the batch's one record.

Only the driver writes it. While a batch runs, each finished picture is appended (flushed
and fsynced, so a crash loses at most the line being written; a torn last line is ignored
when read). When the batch ends the file is rewritten atomically with one line per picture,
the latest outcome of each, in input order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import IO, Any

from app.core.formats.atomic import write_bytes_atomic

MANIFEST = "batch.jsonl"
OK = "ok"
FAILED = "failed"


@dataclass
class Entry:
    input: str  # the picture's relative path (the key)
    status: str  # OK | FAILED
    output: str | None = None  # relative to OUTPUT_DIR
    backend: str | None = None
    layers: int | None = None
    seconds: float | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None  # the one sentence, when FAILED
    input_sha256: str | None = None
    input_size: int | None = None
    input_mtime_ns: int | None = None
    options_hash: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    source: str | None = None  # the absolute input path the driver read

    def to_json(self) -> str:
        data = {k: v for k, v in asdict(self).items() if v not in (None, [], {})}
        data["input"], data["status"] = self.input, self.status
        return json.dumps(data, ensure_ascii=False, sort_keys=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def manifest_path(out_dir: str | os.PathLike[str]) -> Path:
    return Path(out_dir) / MANIFEST


def read_manifest(out_dir: str | os.PathLike[str]) -> dict[str, Entry]:
    """The latest entry of each input; lines that do not parse (a torn last line) are
    skipped: their picture is simply done again."""
    path = manifest_path(out_dir)
    entries: dict[str, Entry] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return entries
    for line in text.splitlines():
        try:
            data = json.loads(line)
            entry = Entry.from_json(data)
        except (ValueError, TypeError):
            continue
        if isinstance(entry.input, str) and entry.status in (OK, FAILED):
            entries[entry.input] = entry
    return entries


class ManifestWriter:
    """Appends entries as pictures finish; `close` rewrites the file compacted."""

    def __init__(self, out_dir: str | os.PathLike[str], previous: dict[str, Entry]) -> None:
        self.path = manifest_path(out_dir)
        self.entries = dict(previous)
        self._fh: IO[str] | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def record(self, entry: Entry) -> None:
        self.entries[entry.input] = entry
        assert self._fh is not None
        self._fh.write(entry.to_json() + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self, order: Iterable[str]) -> None:
        """Rewrite with one line per picture: those of `order` first, in that order, then
        any older entries of pictures not in this batch."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        keys = [k for k in order if k in self.entries]
        keys += [k for k in self.entries if k not in set(keys)]
        text = "".join(self.entries[k].to_json() + "\n" for k in keys)
        write_bytes_atomic(self.path, text.encode("utf-8"))
