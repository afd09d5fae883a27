"""A batch from start to end: find the pictures, skip what is done, run the rest, record.

The driver alone writes OUTPUT_DIR/batch.jsonl, whether the work runs in this process, in a
local process pool or on a Ray cluster; every runner hands it one Entry per picture.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.core.batch import local
from app.core.batch.hashing import options_digest
from app.core.batch.inputs import find_pictures
from app.core.batch.manifest import FAILED, OK, Entry, ManifestWriter, read_manifest
from app.core.batch.plan import FORMATS, make_jobs, split_done
from app.core.batch.work import Spec
from app.core.formats import check_writable_folder
from model.base import DecomposeOptions

Progress = Callable[[Entry], None]


@dataclass
class BatchRequest:
    inputs: list[str]
    out_dir: str
    fmt: str = "psd"
    backend: str = "auto"  # auto | classic | qwen
    options: DecomposeOptions = field(default_factory=DecomposeOptions)
    recursive: bool = False
    force: bool = False
    workers: int | None = None  # None: the cores (classic), the GPUs (qwen on Ray)
    ray: str | None = None  # None: this machine; "auto" or an address: a Ray cluster
    max_pixels: int | None = None


@dataclass
class BatchSummary:
    total: int
    skipped: int
    ok: int = 0
    failed: int = 0
    backend: str = ""
    reason: str = ""  # why this backend, and where the work ran
    seconds: float = 0.0
    failures: list[Entry] = field(default_factory=list)


def _resolve_local(request: BatchRequest) -> tuple[str, str]:
    """The backend's name and why; a named one is checked later, only when there is work
    (so that resuming a finished batch loads no decomposer)."""
    if request.backend != "auto":
        return request.backend, f"{request.backend} (as asked)"
    from model.registry import choose_backend

    backend, reason = choose_backend(request.backend, request.options)
    return backend.name, reason


def _check_available(backend: str, options: DecomposeOptions) -> None:
    from model.registry import choose_backend

    choose_backend(backend, options)  # DecomposeError with the reason when it cannot run


def _resolve_on_cluster(request: BatchRequest) -> tuple[str, str]:
    from app.core.batch.cluster import cluster_resources

    if request.backend != "auto":
        return request.backend, f"{request.backend} (as asked)"
    if cluster_resources().get("GPU", 0) > 0:
        return "qwen", "qwen: the cluster has GPUs"
    return "classic", "classic, because the cluster has no GPU"


def default_workers(jobs: int) -> int:
    return max(1, min(os.cpu_count() or 1, jobs))


def _dispatch(request: BatchRequest, spec: Spec, jobs, record: Progress) -> str:
    """Run `jobs`, calling `record` once per picture; returns where they ran."""
    if request.ray is not None:
        from app.core.batch import cluster

        where = cluster.describe_cluster()
        if spec.backend == "classic":
            window = max(1, int(cluster.cluster_resources().get("CPU", 1)) * 2)
            cluster.run_tasks(jobs, spec, record, window)
            return f"Ray tasks on {where}"
        have = int(cluster.cluster_resources().get("GPU", 0))
        gpus = 0.0 if spec.options.device == "cpu" else 1.0
        if gpus and not have:
            raise cluster.ClusterError(
                f"the Ray cluster ({where}) has no GPU for {spec.backend}; add GPU nodes, or "
                "pass --device cpu to run it on CPU actors (very slow)")
        count = request.workers or max(1, have)
        cluster.run_actors(jobs, spec, record, actors=count, gpus=gpus, cpus=1.0)
        return f"{count} Ray actor{'s' if count != 1 else ''} on {where}"
    if spec.backend == "classic":
        workers = request.workers or default_workers(len(jobs))
        if workers > 1 and len(jobs) > 1:
            from model.threads import per_worker

            local.run_in_pool(jobs, spec, record, workers, per_worker(workers))
            return f"{workers} processes"
    local.run_in_process(jobs, spec, record)
    return "this process"


def run_batch(request: BatchRequest, progress: Progress | None = None,
              on_plan: Callable[[int, int], None] | None = None) -> BatchSummary:
    """Decompose every picture `request` names that is not done yet; `on_plan(total, to do)`
    is called once before the work, `progress(entry)` once per finished picture."""
    if request.fmt not in FORMATS:
        raise ValueError(f"unknown format '{request.fmt}'; choose {', '.join(FORMATS)}")
    out_dir = Path(request.out_dir).absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} is a file, not a folder")
    check_writable_folder(out_dir)
    pictures = find_pictures(request.inputs, request.recursive, skip=out_dir)
    if request.ray is not None:
        from app.core.batch.cluster import connect

        connect(request.ray)
        backend, reason = _resolve_on_cluster(request)
    else:
        backend, reason = _resolve_local(request)
    spec = Spec(backend=backend, options=request.options, fmt=request.fmt,
                options_hash=options_digest(backend, request.fmt, request.options),
                max_pixels=request.max_pixels)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = make_jobs(pictures, out_dir, request.fmt)
    previous = read_manifest(out_dir)
    todo, done = split_done(jobs, previous, spec.options_hash, request.force)
    summary = BatchSummary(total=len(jobs), skipped=len(done), backend=backend, reason=reason)
    if on_plan is not None:
        on_plan(len(jobs), len(todo))
    if not todo:
        return summary
    if request.ray is None:
        _check_available(backend, request.options)
    writer = ManifestWriter(out_dir, previous)
    start = time.perf_counter()

    def record(entry: Entry) -> None:
        writer.record(entry)
        if entry.status == OK:
            summary.ok += 1
        elif entry.status == FAILED:
            summary.failed += 1
            summary.failures.append(entry)
        if progress is not None:
            progress(entry)

    try:
        where = _dispatch(request, spec, todo, record)
    finally:
        writer.close(job.key for job in jobs)
        summary.seconds = time.perf_counter() - start
    summary.reason = f"{reason}; {where}"
    return summary
