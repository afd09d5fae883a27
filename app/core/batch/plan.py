"""Which pictures a batch does, which it skips, and where each output goes."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from app.core.batch.hashing import file_digest
from app.core.batch.inputs import Picture
from app.core.batch.manifest import OK, Entry
from app.core.formats.session import SESSION_EXTENSION

FORMATS = {"psd": ".psd", "ora": ".ora", "strata": SESSION_EXTENSION, "folder": ""}


@dataclass(frozen=True)
class Job:
    key: str  # the picture's relative path, the manifest's key
    source: str  # absolute input path
    output: str  # absolute output path
    output_rel: str  # relative to OUTPUT_DIR


def output_rel(rel: PurePosixPath, fmt: str, clash: bool = False) -> PurePosixPath:
    """`shots/a.jpg` -> `shots/a.psd` (format folder: `shots/a`); when two inputs differ only
    by their extension (`a.png`, `a.jpg`), both keep it: `a.png.psd`, `a.jpg.psd`."""
    ext = FORMATS[fmt]
    if clash:
        return rel.with_name(rel.name + ext) if ext else rel.with_name(rel.name + ".layers")
    return rel.with_suffix(ext)


def make_jobs(pictures: list[Picture], out_dir: Path, fmt: str) -> list[Job]:
    plain = Counter(output_rel(p.rel, fmt) for p in pictures)
    jobs = []
    for p in pictures:
        rel = output_rel(p.rel, fmt, clash=plain[output_rel(p.rel, fmt)] > 1)
        jobs.append(Job(key=str(p.rel), source=str(p.path), output=str(out_dir / rel),
                        output_rel=str(rel)))
    return jobs


def is_done(job: Job, entry: Entry | None, options_hash: str) -> bool:
    """Whether `entry` (the manifest's) is this job already done: status ok, the same
    options, the output present and the same input bytes. The bytes are hashed again only
    when the file's size or modification time differ from the manifest's, so a resume of a
    big catalogue reads no picture that did not change."""
    if entry is None or entry.status != OK or entry.options_hash != options_hash:
        return False
    if entry.output != job.output_rel or not os.path.exists(job.output):
        return False
    try:
        stat = os.stat(job.source)
    except OSError:
        return False
    if (stat.st_size, stat.st_mtime_ns) == (entry.input_size, entry.input_mtime_ns):
        return True
    try:
        return file_digest(job.source) == entry.input_sha256
    except OSError:
        return False


def split_done(
    jobs: list[Job], manifest: dict[str, Entry], options_hash: str, force: bool
) -> tuple[list[Job], list[Job]]:
    """(to do, already done); with `force` everything is to do."""
    if force:
        return list(jobs), []
    todo, done = [], []
    for job in jobs:
        (done if is_done(job, manifest.get(job.key), options_hash) else todo).append(job)
    return todo, done
