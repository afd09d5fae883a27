"""One picture of a batch: read, decompose, write atomically; the outcome as a manifest entry.

`decompose_job` never raises for a bad picture: whatever goes wrong becomes a FAILED entry
with one sentence, so one picture never stops a batch. It runs wherever the work runs (the
driver's process, a pool process, a Ray worker); the backend comes from the registry, whose
instances are cached per process, so a loaded model is reused for every later picture.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from app.core.batch.hashing import file_digest
from app.core.batch.manifest import FAILED, OK, Entry
from app.core.batch.plan import Job
from model.base import DecomposeOptions


@dataclass(frozen=True)
class Spec:
    """Everything a worker needs besides the job; sent once per worker (picklable)."""

    backend: str  # a resolved name: classic | qwen
    options: DecomposeOptions = field(default_factory=DecomposeOptions)
    fmt: str = "psd"
    options_hash: str = ""
    max_pixels: int | None = None


def one_sentence(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "not enough memory"
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def decompose_job(job: Job, spec: Spec) -> Entry:
    from app.core.batch.write import write_output
    from app.core.decomposition import result_document
    from app.core.formats import load_image_rgba
    from model.base import as_rgba
    from model.registry import get_backend

    start = time.perf_counter()
    entry = Entry(input=job.key, status=FAILED, output=job.output_rel, backend=spec.backend,
                  options_hash=spec.options_hash, source=job.source)
    try:
        stat = os.stat(job.source)
        entry.input_size, entry.input_mtime_ns = stat.st_size, stat.st_mtime_ns
        entry.input_sha256 = file_digest(job.source)
        rgba = as_rgba(load_image_rgba(job.source, spec.max_pixels))
        backend = get_backend(spec.backend)
        result = backend.decompose(rgba, spec.options)
        seconds = time.perf_counter() - start
        doc = result_document(rgba, result, input=job.source,
                              timings={**result.timings, "total_s": round(seconds, 3)})
        write_output(doc, job.output, spec.fmt)
    except Exception as exc:  # noqa: BLE001 - the batch goes on; the sentence is recorded
        entry.error = one_sentence(exc)
        entry.seconds = round(time.perf_counter() - start, 3)
        return entry
    except MemoryError:
        entry.error = "not enough memory"
        entry.seconds = round(time.perf_counter() - start, 3)
        return entry
    entry.status = OK
    entry.backend = result.backend
    entry.layers = len(doc.layers)
    entry.warnings = list(result.warnings)
    entry.timings = {k: round(float(v), 3) for k, v in result.timings.items()
                     if isinstance(v, int | float)}
    entry.seconds = round(time.perf_counter() - start, 3)
    return entry
