"""Running a batch's pictures on this machine.

`run_in_process`: one after the other in this process; the backend (a qwen pipeline on the
GPU) is loaded by the first picture and reused for the rest.
`run_in_pool`: N spawned processes (the classic backend), each limited to its share of the
cores (model.threads) so that N numba/onnxruntime/OpenCV thread pools do not fight. A process
that dies (killed, out of memory) breaks the pool: its pictures are tried again in a fresh
pool, up to `retries` times, then recorded as failed.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from app.core.batch.manifest import FAILED, Entry
from app.core.batch.plan import Job
from app.core.batch.work import Spec, decompose_job

OnDone = Callable[[Entry], None]

WORKER_DIED = "the worker process decomposing it died {n} times (killed, or out of memory)"


def run_in_process(jobs: list[Job], spec: Spec, on_done: OnDone) -> None:
    for job in jobs:
        on_done(decompose_job(job, spec))


def _init_worker(threads: int) -> None:
    from model.threads import limit_threads

    limit_threads(threads)


def run_in_pool(
    jobs: list[Job], spec: Spec, on_done: OnDone, workers: int, threads: int, retries: int = 2
) -> None:
    pending = list(reversed(jobs))  # popped from the end: input order
    deaths: dict[str, int] = {}
    context = multiprocessing.get_context("spawn")  # fresh processes: no forked thread pools
    while pending:
        broken: list[Job] = []
        with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                 initializer=_init_worker, initargs=(threads,)) as pool:
            running: dict[Future, Job] = {}
            try:
                while pending or running:
                    # a few pictures queued per process: busy workers, a bounded backlog
                    while pending and len(running) < 2 * workers and not broken:
                        job = pending.pop()
                        try:
                            running[pool.submit(decompose_job, job, spec)] = job
                        except BrokenProcessPool:  # broke before its futures said so
                            pending.append(job)
                            break
                    if not running:
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        job = running.pop(future)
                        try:
                            on_done(future.result())
                        except BrokenProcessPool:
                            broken.append(job)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        for job in broken:
            deaths[job.key] = deaths.get(job.key, 0) + 1
            if deaths[job.key] > retries:
                on_done(Entry(input=job.key, status=FAILED, output=job.output_rel,
                              backend=spec.backend, options_hash=spec.options_hash,
                              source=job.source,
                              error=WORKER_DIED.format(n=deaths[job.key])))
            else:
                pending.append(job)
