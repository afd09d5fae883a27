"""Running a batch's pictures on a Ray cluster, through Ray's public API only.

classic: one Ray task per picture (`num_cpus=1`, one thread inside); a task whose worker
process dies is run again by Ray on another worker (`max_retries`).
qwen: one actor per GPU (`num_gpus=1`), each loading the pipeline once in its process and
decomposing picture after picture; an actor that dies is restarted by Ray and the call
retried (`max_restarts`, `max_task_retries`). With `--device cpu` the actors take a CPU
instead (how the tests run the tiny pipeline).

Workers read the inputs and write the outputs at the same paths the driver sees (a shared
disk); they return the manifest entry, and only the driver writes the manifest.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from app.core.batch.manifest import FAILED, Entry
from app.core.batch.plan import Job
from app.core.batch.work import Spec, decompose_job, one_sentence

OnDone = Callable[[Entry], None]
RETRIES = 3
GPU_ACTOR_THREADS = 4
# The driver's settings that shape a decomposition travel to the workers.
_PASSED_ON = ("HF_HUB_OFFLINE", "HF_HOME", "HF_HUB_CACHE", "STRATA_MAX_PIXELS",
              "NUMBA_CACHE_DIR", "STRATA_QWEN_MODEL")
ROOT = Path(__file__).resolve().parents[3]


class ClusterError(RuntimeError):
    """Ray is missing or the cluster cannot be reached (one sentence)."""


def _ray():
    try:
        import ray
    except ImportError:
        raise ClusterError("--ray needs Ray, which is not installed; install the cluster extra: "
                           "pip install -e '.[cluster]'") from None
    return ray


def connect(address: str) -> None:
    """Join the cluster at `address` ('auto': the one this machine belongs to)."""
    ray = _ray()
    if ray.is_initialized():
        return
    path = os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    env = {"PYTHONPATH": path, **{k: os.environ[k] for k in _PASSED_ON if k in os.environ}}
    try:
        ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=False,
                 logging_level=logging.WARNING, configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = "on this machine" if address == "auto" else f"at {address}"
        raise ClusterError(f"no Ray cluster answers {where} ({one_sentence(exc)[:160]}); start "
                           "one with `ray start --head` (README: Batches on a cluster)") from None


def disconnect() -> None:
    ray = _ray()
    if ray.is_initialized():
        ray.shutdown()


def cluster_resources() -> dict[str, float]:
    return dict(_ray().cluster_resources())


def _classic_task(job: Job, spec: Spec) -> Entry:
    from model.threads import limit_threads

    limit_threads(1)
    return decompose_job(job, spec)


class _PipelineWorker:
    """One loaded backend in one Ray worker process (a qwen pipeline on one GPU)."""

    def __init__(self, spec: Spec, threads: int) -> None:
        from model.threads import limit_threads

        limit_threads(threads)
        self.spec = spec

    def run(self, job: Job) -> Entry:
        return decompose_job(job, self.spec)


def _lost(job: Job, spec: Spec, exc: BaseException) -> Entry:
    return Entry(input=job.key, status=FAILED, output=job.output_rel, backend=spec.backend,
                 options_hash=spec.options_hash, source=job.source,
                 error=f"the Ray worker decomposing it was lost after {RETRIES} retries "
                 f"({exc.__class__.__name__})")


def run_tasks(jobs: list[Job], spec: Spec, on_done: OnDone, window: int) -> None:
    """classic: a task per picture, at most `window` in flight."""
    ray = _ray()
    task = ray.remote(num_cpus=1, max_retries=RETRIES)(_classic_task)
    spec_ref = ray.put(spec)
    pending = list(reversed(jobs))
    running: dict = {}
    while pending or running:
        while pending and len(running) < window:
            job = pending.pop()
            running[task.remote(job, spec_ref)] = job
        ready, _ = ray.wait(list(running), num_returns=1)
        for ref in ready:
            job = running.pop(ref)
            try:
                on_done(ray.get(ref))
            except ray.exceptions.RayError as exc:
                on_done(_lost(job, spec, exc))


def run_actors(
    jobs: list[Job], spec: Spec, on_done: OnDone, actors: int, gpus: float, cpus: float
) -> None:
    """A pipeline per actor; each actor has up to two pictures queued, so it never waits
    for the driver between two pictures."""
    ray = _ray()
    worker_class = ray.remote(num_gpus=gpus, num_cpus=cpus, max_restarts=RETRIES,
                              max_task_retries=RETRIES)(_PipelineWorker)
    # a GPU actor's CPU work (reading, refining, writing) may use a few of its node's cores
    threads = GPU_ACTOR_THREADS if gpus else max(1, int(cpus))
    pool = [worker_class.remote(spec, threads) for _ in range(actors)]
    load = {i: 0 for i in range(actors)}
    pending = list(reversed(jobs))
    running: dict = {}
    try:
        while pending or running:
            for i in sorted(load, key=load.get):
                while pending and load[i] < 2:
                    job = pending.pop()
                    running[pool[i].run.remote(job)] = (job, i)
                    load[i] += 1
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                job, i = running.pop(ref)
                if i in load:
                    load[i] -= 1
                try:
                    on_done(ray.get(ref))
                except ray.exceptions.RayError as exc:
                    if isinstance(exc, ray.exceptions.RayActorError):
                        load.pop(i, None)  # restarts used up: this actor is gone
                    on_done(_lost(job, spec, exc))
            if not load and pending:
                for job in reversed(pending):
                    on_done(_lost(job, spec, RuntimeError("every actor died")))
                pending.clear()
    finally:
        for actor in pool:
            ray.kill(actor)


def describe_cluster() -> str:
    res = cluster_resources()
    nodes = sum(1 for n in _ray().nodes() if n.get("Alive"))
    return (f"{nodes} node{'s' if nodes != 1 else ''}, {res.get('CPU', 0):g} CPUs, "
            f"{res.get('GPU', 0):g} GPUs")


