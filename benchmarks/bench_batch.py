"""Batch throughput: local workers, Ray against the local pool, and resuming a finished batch.

    python benchmarks/bench_batch.py [--parts scaling,ray,resume] [--pictures 24] [--size 1024]

Prints one JSON object per part (one line each). Pictures: synthetic posters
(model/evaluation/synthetic.py, seed 11, the first N samples) resized to SIZE x SIZE, classic
backend, PSD outputs, through the same `run_batch` the CLI calls.

scaling  wall time of the batch with 1 worker (this process, as `--workers 1` runs) and with 2
         (the process pool, one thread each); the speed-up, and seconds per picture per core
ray      the same batch as Ray tasks on a local cluster (a head with 2 CPUs on the loopback,
         started by this script; its start is not timed, its workers' start is, as the
         pool's is) against the 2-process pool, in ABBA order: the overhead per picture
resume   a finished batch of 1,000 pictures (tiny files, outputs present, manifest written):
         the time `run_batch` takes to find there is nothing to do; the whole command
         (`python main.py batch ...`, Python's start and imports included); and `run_batch`
         with every input's modification time changed, when each picture's bytes are hashed
         again
The machine is shared: the load average is printed with each part.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.batch.driver import BatchRequest, run_batch  # noqa: E402
from model.base import DecomposeOptions  # noqa: E402

LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def make_posters(folder: Path, count: int, size: int) -> None:
    from model.evaluation.synthetic import generate_sample

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        composite, _, _ = generate_sample(seed=11, index=i)
        image = Image.fromarray(composite).convert("RGB")
        image.resize((size, size), Image.Resampling.LANCZOS).save(folder / f"poster{i:03d}.png")


def timed_batch(inputs: Path, out: Path, **kw) -> tuple[float, list[float]]:
    shutil.rmtree(out, ignore_errors=True)
    request = BatchRequest(inputs=[str(inputs)], out_dir=str(out), backend="classic",
                           options=DecomposeOptions(), **kw)
    start = time.perf_counter()
    summary = run_batch(request)
    wall = time.perf_counter() - start
    if summary.failed:
        raise SystemExit(f"{summary.failed} pictures failed: {summary.failures[0].error}")
    from app.core.batch.manifest import read_manifest

    return wall, [e.seconds for e in read_manifest(out).values()]


def part_scaling(inputs: Path, work: Path, count: int) -> dict:
    one, one_each = timed_batch(inputs, work / "w1", workers=1)
    two, two_each = timed_batch(inputs, work / "w2", workers=2)
    return {
        "part": "scaling", "pictures": count,
        "workers_1_wall_s": round(one, 1), "workers_2_wall_s": round(two, 1),
        "speedup": round(one / two, 2), "target_speedup": 1.7,
        "per_picture_s_1_worker_median": round(float(np.median(one_each)), 2),
        "per_picture_s_per_core_median": round(float(np.median(two_each)), 2),
        "load_avg": load(),
    }


def part_ray(inputs: Path, work: Path, count: int, rounds: int) -> dict:
    """Pool and Ray in ABBA order (`rounds` of each), so that a change in the shared machine's
    load during the part weighs on both alike."""
    os.environ.update(LOOPBACK)
    from ray.cluster_utils import Cluster

    from app.core.batch.cluster import disconnect

    cluster = Cluster(initialize_head=True, connect=False, head_node_args={
        "num_cpus": 2, "include_dashboard": False, "node_ip_address": "127.0.0.1"})
    pool, ray = [], []
    try:
        for i in range(rounds):
            order = ("pool", "ray") if i % 2 == 0 else ("ray", "pool")
            for kind in order:
                if kind == "pool":
                    pool.append(timed_batch(inputs, work / "pool", workers=2)[0])
                else:
                    ray.append(timed_batch(inputs, work / "ray", ray=cluster.address)[0])
                    disconnect()
    finally:
        cluster.shutdown()
    per_pool, per_ray = float(np.mean(pool)) / count, float(np.mean(ray)) / count
    return {
        "part": "ray", "pictures": count, "pool_2_wall_s": [round(t, 1) for t in pool],
        "ray_2_cpus_wall_s": [round(t, 1) for t in ray],
        "per_picture_pool_s": round(per_pool, 3), "per_picture_ray_s": round(per_ray, 3),
        "ray_overhead_pct": round(100 * (per_ray - per_pool) / per_pool, 1),
        "target_overhead_pct": 10, "load_avg": load(),
    }


def part_resume(work: Path, count: int = 1000) -> dict:
    from app.core.batch.hashing import file_digest, options_digest
    from app.core.batch.inputs import find_pictures
    from app.core.batch.manifest import OK, Entry, ManifestWriter
    from app.core.batch.plan import make_jobs

    inputs, out = work / "many", work / "many-out"
    rng = np.random.default_rng(0)
    for i in range(count):
        sub = inputs / f"shelf{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(
            sub / f"p{i:04d}.png")
    out.mkdir(parents=True)
    options = DecomposeOptions()
    key = options_digest("classic", "psd", options)
    jobs = make_jobs(find_pictures([str(inputs)], recursive=True), out, "psd")
    writer = ManifestWriter(out, {})
    for job in jobs:
        Path(job.output).parent.mkdir(parents=True, exist_ok=True)
        Path(job.output).write_bytes(b"8BPS")
        st = os.stat(job.source)
        writer.record(Entry(input=job.key, status=OK, output=job.output_rel, backend="classic",
                            layers=3, seconds=3.0, options_hash=key, source=job.source,
                            input_sha256=file_digest(job.source), input_size=st.st_size,
                            input_mtime_ns=st.st_mtime_ns))
    writer.close(job.key for job in jobs)
    request = BatchRequest(inputs=[str(inputs)], out_dir=str(out), backend="classic",
                           options=options, recursive=True)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        summary = run_batch(request)
        times.append(time.perf_counter() - start)
        assert summary.skipped == count and summary.ok == summary.failed == 0
    import subprocess

    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, str(root / "main.py"), "batch", str(inputs), "-r", "-o", str(out),
               "--backend", "classic", "-q"]
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=root)
    cli = time.perf_counter() - start
    for job in jobs:
        os.utime(job.source, ns=(1, 1))
    start = time.perf_counter()
    summary = run_batch(request)
    touched = time.perf_counter() - start
    assert summary.skipped == count
    return {"part": "resume", "manifest_entries": count,
            "resume_s_median": round(float(np.median(times)), 3),
            "resume_s_runs": [round(t, 3) for t in times],
            "resume_all_touched_s": round(touched, 3),
            "cli_resume_s_with_python_start": round(cli, 3), "target_s": 1.0, "load_avg": load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="scaling,ray,resume")
    parser.add_argument("--pictures", type=int, default=24)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2, help="ray: pool/Ray pairs, ABBA")
    args = parser.parse_args()
    parts = args.parts.split(",")
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        inputs = work / "in"
        if {"scaling", "ray"} & set(parts):
            make_posters(inputs, args.pictures, args.size)
        base = {"cpus": os.cpu_count(), "machine": platform.machine(), "size": args.size}
        if "scaling" in parts:
            print(json.dumps({**base, **part_scaling(inputs, work, args.pictures)}), flush=True)
        if "ray" in parts:
            row = part_ray(inputs, work, args.pictures, args.rounds)
            print(json.dumps({**base, **row}), flush=True)
        if "resume" in parts:
            print(json.dumps({**base, **part_resume(work)}), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
