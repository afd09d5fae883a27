"""`batch --ray` on a real local Ray cluster: a head and a second node, started here on the
loopback with Ray's own test utility (`ray.cluster_utils.Cluster`), driven by the real CLI.

Skips where the `cluster` extra (ray) is not installed; ./run-tests installs it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.batch_fixtures import ROOT, make_pictures, manifest_lines, run_cli, same_layers

pytest.importorskip("ray", reason="Ray is not installed (the optional extra: "
                    "pip install -e '.[cluster]'); ./run-tests installs it")

pytestmark = pytest.mark.slow
# Ray swaps 127.0.0.1 for the machine's outward address unless told the cluster is local;
# this keeps the head, the second node and the driver on the loopback.
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
TASK_TITLE = b"ray::_classic_task"


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    patch = pytest.MonkeyPatch()
    for key, value in LOOPBACK.items():
        patch.setenv(key, value)
    head = {"num_cpus": 1, "include_dashboard": False, "node_ip_address": "127.0.0.1"}
    nodes = Cluster(initialize_head=True, connect=False, head_node_args=head)
    try:
        nodes.add_node(num_cpus=1, node_ip_address="127.0.0.1")
        nodes.wait_for_nodes()
        yield nodes
    finally:
        nodes.shutdown()
        patch.undo()


@pytest.fixture(scope="module")
def twelve(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ray-in")
    make_pictures(folder, 12, seed=5)
    return folder


def _busy_task_pids() -> list[int]:
    """Ray worker processes executing a classic picture right now (Ray titles a worker
    `ray::<task>` while it runs one, `ray::IDLE` otherwise)."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                    if fh.read().startswith(TASK_TITLE):
                        pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def test_ray_batch_matches_the_local_run_and_records_a_corrupt_input(
    cluster, twelve: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    for p in twelve.rglob("*.png"):
        target = source / p.relative_to(twelve)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(p.read_bytes())
    (source / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x07" * 64)
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    here = run_cli("batch", str(source), "-r", "-o", str(local), "--backend", "classic",
                   "--workers", "2", "-q")
    there = run_cli("batch", str(source), "-r", "-o", str(on_ray), "--backend", "classic",
                    "--ray", cluster.address, env=LOOPBACK)
    assert here.returncode == 1 and there.returncode == 1, here.stderr + there.stderr
    assert there.stderr.strip().splitlines()[-1] == (
        f"error: 1 of 13 pictures failed (see {on_ray / 'batch.jsonl'})")
    assert "Ray tasks on 2 nodes, 2 CPUs" in there.stderr
    assert "Traceback" not in there.stderr
    entries = {e["input"]: e for e in manifest_lines(on_ray)}
    assert len(entries) == 13 and len(manifest_lines(on_ray)) == 13
    bad = entries.pop("corrupt.png")
    assert bad["status"] == "failed"
    assert bad["error"] == {e["input"]: e for e in manifest_lines(local)}["corrupt.png"]["error"]
    assert bad["error"].startswith(f"Cannot open {source / 'corrupt.png'}: ")
    assert all(e["status"] == "ok" and e["layers"] >= 2 for e in entries.values())
    for entry in entries.values():
        assert same_layers(local / entry["output"], on_ray / entry["output"]), entry["input"]

    # again: the twelve are skipped (untouched), the corrupt one is tried again
    stamps = {p: p.stat().st_mtime_ns for p in on_ray.rglob("*.psd")}
    again = run_cli("batch", str(source), "-r", "-o", str(on_ray), "--backend", "classic",
                    "--ray", cluster.address, env=LOOPBACK)
    assert again.returncode == 1
    assert "12 pictures already done, skipped" in again.stderr
    assert "0 pictures decomposed, 12 skipped, 1 failed" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in on_ray.rglob("*.psd")} == stamps
    (source / "corrupt.png").unlink()
    clean = run_cli("batch", str(source), "-r", "-o", str(on_ray), "--backend", "classic",
                    "--ray", cluster.address, "-q", env=LOOPBACK)
    assert clean.returncode == 0 and clean.stderr == ""
    assert {p: p.stat().st_mtime_ns for p in on_ray.rglob("*.psd")} == stamps


def test_a_killed_worker_loses_no_picture(cluster, twelve: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "batch", str(twelve), "-r", "-o", str(out),
         "--backend", "classic", "--ray", cluster.address],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin", **LOOPBACK},
    )
    killed = None
    try:
        deadline = time.monotonic() + 240
        while proc.poll() is None and killed is None and time.monotonic() < deadline:
            busy = _busy_task_pids()
            if busy:
                time.sleep(0.3)  # into the picture
                try:
                    os.kill(busy[0], signal.SIGKILL)
                    killed = busy[0]
                except ProcessLookupError:
                    pass  # it finished that picture first; take the next one
            time.sleep(0.05)
        _, err = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert killed is not None, "no Ray worker was seen decomposing a picture"
    assert proc.returncode == 0, err
    recorded = [line.split("] ", 1)[1].split(":", 1)[0]
                for line in err.splitlines() if line.startswith("[")]
    names = sorted(str(p.relative_to(twelve)) for p in twelve.rglob("*.png"))
    assert sorted(recorded) == names  # every picture recorded exactly once by the driver
    entries = manifest_lines(out)
    assert sorted(e["input"] for e in entries) == names
    assert all(e["status"] == "ok" for e in entries)
    assert all((out / e["output"]).is_file() for e in entries)
    assert list(out.rglob(".*.tmp")) == []


def test_qwen_runs_on_cpu_actors_with_the_pipeline_loaded_once(
    cluster, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from model.qwen.tiny import save_tiny_pipeline

    model = save_tiny_pipeline(tmp_path_factory.mktemp("tiny-qwen") / "model", seed=0,
                               max_shard_size="200KB")
    source = tmp_path / "in"
    source.mkdir()
    make_pictures(source, 3, size=(64, 48), seed=2)  # two at the top, one in set0/
    args = ["--backend", "qwen", "--device", "cpu", "--model", str(model), "--steps", "2",
            "--layers", "2", "--prompt", "a disc and a bar", "--seed", "3", "--format", "ora",
            "--no-names"]
    there = run_cli("batch", str(source), "-o", str(tmp_path / "ray"), "--ray",
                    cluster.address, "--workers", "1", *args, env=LOOPBACK)
    assert there.returncode == 0, there.stderr
    assert "1 Ray actor on 2 nodes" in there.stderr
    entries = manifest_lines(tmp_path / "ray")
    assert [e["input"] for e in entries] == ["pic01.png", "pic02.png"]
    assert all(e["status"] == "ok" and e["backend"] == "qwen" for e in entries)
    assert entries[0]["timings"]["load"] > 0 and entries[1]["timings"]["load"] == 0
    assert all((tmp_path / "ray" / e["output"]).is_file() for e in entries)
