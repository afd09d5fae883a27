"""`python main.py batch` on this machine: real classic backend, real files, no Ray."""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath

import pytest

from app.core.batch.hashing import options_digest
from app.core.batch.inputs import InputError, find_pictures
from app.core.batch.manifest import FAILED, OK, Entry, ManifestWriter, read_manifest
from app.core.batch.plan import make_jobs, split_done
from model.base import DecomposeOptions
from tests.batch_fixtures import (
    layers_of,
    make_pictures,
    manifest_lines,
    run_cli,
    same_layers,
)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("batch-in")
    make_pictures(folder, 4)
    return folder


def test_inputs_files_folders_and_globs_keep_relative_paths(tmp_path: Path) -> None:
    make_pictures(tmp_path / "in", 6)
    (tmp_path / "in" / "notes.txt").write_text("not a picture")
    flat = find_pictures([str(tmp_path / "in")])
    assert [str(p.rel) for p in flat] == ["pic01.png", "pic02.png", "pic04.png", "pic05.png"]
    deep = find_pictures([str(tmp_path / "in")], recursive=True)
    assert {str(p.rel) for p in deep} == {"pic01.png", "pic02.png", "pic04.png", "pic05.png",
                                          "set0/pic00.png", "set1/pic03.png"}
    globbed = find_pictures([str(tmp_path / "in" / "**" / "*.png")])
    assert {p.rel for p in globbed} == {p.rel for p in deep}
    one = find_pictures([str(tmp_path / "in" / "set1" / "pic03.png")])
    assert one[0].rel == PurePosixPath("pic03.png")
    # a file named twice (alone and in its folder) is decomposed once
    twice = find_pictures([str(tmp_path / "in"), str(tmp_path / "in" / "pic01.png")])
    assert len(twice) == 4


@pytest.mark.parametrize("given, words", [
    ("missing", "does not exist"), ("empty", "holds no picture"), ("*.nothing", "matches no"),
])
def test_inputs_that_name_nothing_say_so(tmp_path: Path, given: str, words: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=words):
        find_pictures([str(tmp_path / given)])


def test_outputs_of_same_named_inputs_do_not_collide(tmp_path: Path) -> None:
    make_pictures(tmp_path, 3)
    os.replace(tmp_path / "pic01.png", tmp_path / "pic02.jpg")  # pic02.png and pic02.jpg
    jobs = make_jobs(find_pictures([str(tmp_path)]), tmp_path / "out", "psd")
    assert sorted(j.output_rel for j in jobs) == ["pic02.jpg.psd", "pic02.png.psd"]
    folders = make_jobs(find_pictures([str(tmp_path)]), tmp_path / "out", "folder")
    assert len({j.output_rel for j in folders}) == 2


def test_manifest_keeps_the_latest_and_survives_a_torn_line(tmp_path: Path) -> None:
    writer = ManifestWriter(tmp_path, {})
    writer.record(Entry(input="a.png", status=FAILED, error="Cannot open a.png: damaged"))
    writer.record(Entry(input="b.png", status=OK, layers=3))
    writer.record(Entry(input="a.png", status=OK, layers=2))
    with open(tmp_path / "batch.jsonl", "a") as fh:
        fh.write('{"input": "c.png", "sta')  # a crash while writing
    entries = read_manifest(tmp_path)
    assert set(entries) == {"a.png", "b.png"} and entries["a.png"].layers == 2
    writer.close(["b.png", "a.png"])
    assert [e["input"] for e in manifest_lines(tmp_path)] == ["b.png", "a.png"]


def test_resume_rules(tmp_path: Path) -> None:
    make_pictures(tmp_path / "in", 3)
    jobs = make_jobs(find_pictures([str(tmp_path / "in")]), tmp_path / "out", "psd")
    key = options_digest("classic", "psd", DecomposeOptions())
    assert key == options_digest("classic", "psd", DecomposeOptions())
    assert key != options_digest("classic", "psd", DecomposeOptions(layers=3))
    assert key != options_digest("classic", "ora", DecomposeOptions())
    from app.core.batch.hashing import file_digest

    manifest = {}
    for job in jobs:
        Path(job.output).parent.mkdir(parents=True, exist_ok=True)
        Path(job.output).write_bytes(b"x")
        st = os.stat(job.source)
        manifest[job.key] = Entry(input=job.key, status=OK, output=job.output_rel,
                                  options_hash=key, input_sha256=file_digest(job.source),
                                  input_size=st.st_size, input_mtime_ns=st.st_mtime_ns)
    todo, done = split_done(jobs, manifest, key, force=False)
    assert (len(todo), len(done)) == (0, 2)
    # touched but the same bytes: still done; other bytes: redone; output gone: redone
    os.utime(jobs[0].source, ns=(1, 1))
    Path(jobs[1].output).unlink()
    todo, done = split_done(jobs, manifest, key, force=False)
    assert [j.key for j in todo] == [jobs[1].key]
    with open(jobs[0].source, "ab") as fh:
        fh.write(b"\0")
    todo, _ = split_done(jobs, manifest, key, force=False)
    assert [j.key for j in todo] == [jobs[0].key, jobs[1].key]
    assert len(split_done(jobs, manifest, "other", force=False)[0]) == 2
    assert len(split_done(jobs, manifest, key, force=True)[0]) == 2


@pytest.mark.slow
def test_batch_runs_records_resumes_and_fails_one_picture(pictures: Path, tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    for p in pictures.rglob("*.png"):
        target = source / p.relative_to(pictures)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(p.read_bytes())
    (source / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    out = tmp_path / "out"
    first = run_cli("batch", str(source), "-r", "-o", str(out), "--backend", "classic",
                    "--workers", "2")
    assert first.returncode == 1, first.stderr
    assert first.stderr.strip().splitlines()[-1] == (
        f"error: 1 of 5 pictures failed (see {out / 'batch.jsonl'})")
    assert "Traceback" not in first.stderr
    lines = manifest_lines(out)
    assert sorted(e["input"] for e in lines) == sorted(
        ["broken.png", "pic01.png", "pic02.png", "set0/pic00.png", "set1/pic03.png"])
    by = {e["input"]: e for e in lines}
    assert by["broken.png"]["status"] == "failed"
    assert by["broken.png"]["error"].startswith(f"Cannot open {source / 'broken.png'}:")
    for key in ("pic01.png", "set1/pic03.png"):
        entry = by[key]
        assert entry["status"] == "ok" and entry["backend"] == "classic"
        assert entry["layers"] >= 2 and entry["seconds"] > 0 and len(entry["input_sha256"]) == 64
        assert (out / entry["output"]).is_file()
    assert (out / "set1" / "pic03.psd").is_file()

    # the same command again: the four done are skipped, the broken one fails again
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.psd")}
    again = run_cli("batch", str(source), "-r", "-o", str(out), "--backend", "classic", "-q")
    assert again.returncode == 1
    assert again.stderr.strip() == f"error: 1 of 5 pictures failed (see {out / 'batch.jsonl'})"
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.psd")} == stamps
    assert len(manifest_lines(out)) == 5

    # fixed input: only it is done; one picture changed: only it is redone
    (source / "broken.png").write_bytes((source / "pic01.png").read_bytes())
    (source / "pic02.png").write_bytes((source / "set0" / "pic00.png").read_bytes())
    third = run_cli("batch", str(source), "-r", "-o", str(out), "--backend", "classic")
    assert third.returncode == 0, third.stderr
    assert "3 pictures already done, skipped" in third.stderr
    assert "2 pictures decomposed, 3 skipped, 0 failed" in third.stderr
    assert same_layers(out / "broken.psd", out / "pic01.psd")
    assert same_layers(out / "pic02.psd", out / "set0" / "pic00.psd")
    assert [e["status"] for e in manifest_lines(out)] == ["ok"] * 5


@pytest.mark.slow
def test_pool_and_single_process_write_the_same_layers(pictures: Path, tmp_path: Path) -> None:
    one = run_cli("batch", str(pictures), "-r", "-o", str(tmp_path / "one"), "--backend",
                  "classic", "--workers", "1", "--format", "ora", "-q")
    two = run_cli("batch", str(pictures), "-r", "-o", str(tmp_path / "two"), "--backend",
                  "classic", "--workers", "2", "--format", "ora", "-q")
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    assert one.stderr == "" and two.stderr == ""
    names = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.ora"))
    assert len(names) == 4
    for name in names:
        assert same_layers(tmp_path / "one" / name, tmp_path / "two" / name), name


@pytest.mark.slow
def test_folder_format_is_swapped_in_whole(pictures: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ("batch", str(pictures / "pic01.png"), "-o", str(out), "--backend", "classic",
            "--format", "folder", "--layers", "2", "-q")
    assert run_cli(*args).returncode == 0
    folder = out / "pic01"
    assert sorted(p.name for p in folder.iterdir()) == [
        "00.png", "01.png", "composite.png", "layers.json"]
    assert oct(folder.stat().st_mode & 0o777) == oct(0o777 & ~_umask())
    info = json.loads((folder / "layers.json").read_text())
    assert info["backend"] == "classic"
    redo = run_cli(*args, "--force", "--layers", "3")
    assert redo.returncode == 0
    assert len([p for p in folder.iterdir() if p.name[0].isdigit()]) == 3
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no leftovers


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("args, words", [
    (["--format", "png"], "invalid choice"),
    (["--workers", "0"], "at least 1"),
])
def test_bad_arguments_are_one_line(pictures: Path, tmp_path: Path, args, words) -> None:
    result = run_cli("batch", str(pictures), "-o", str(tmp_path / "o"), *args)
    assert result.returncode == 2 and words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_input_and_absent_ray_are_one_sentence(tmp_path: Path) -> None:
    result = run_cli("batch", str(tmp_path / "nope"), "-o", str(tmp_path / "o"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: '{tmp_path / 'nope'}' does not exist"


@pytest.mark.slow
def test_qwen_runs_in_one_process_with_the_pipeline_loaded_once(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from model.qwen.tiny import save_tiny_pipeline

    model = save_tiny_pipeline(tmp_path_factory.mktemp("tiny-qwen") / "model", seed=0,
                               max_shard_size="200KB")
    make_pictures(tmp_path / "in", 3, size=(64, 48), seed=2)  # two at the top
    out = tmp_path / "out"
    # one thread: the tiny model only loses from threads on a shared 2-core machine
    result = run_cli("batch", str(tmp_path / "in"), "-o", str(out), "--backend", "qwen",
                     "--device", "cpu", "--model", str(model), "--steps", "2", "--layers", "2",
                     "--prompt", "a disc and a bar", "--seed", "3", "--no-names",
                     env={"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    assert "backend: qwen (as asked); this process" in result.stderr
    entries = manifest_lines(out)
    assert [e["input"] for e in entries] == ["pic01.png", "pic02.png"]
    assert all(e["status"] == "ok" and e["backend"] == "qwen" for e in entries)
    assert entries[0]["timings"]["load"] > 0 and entries[1]["timings"]["load"] == 0
    assert len(layers_of(out / "pic01.psd")) >= 1


def _pool_workers(parent: int) -> list[int]:
    """The driver's process-pool workers (spawned children running `spawn_main`)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry.name}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_a_killed_pool_worker_loses_no_picture(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from tests.batch_fixtures import ROOT

    make_pictures(tmp_path / "in", 7, seed=9)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "batch", str(tmp_path / "in"), "-r", "-o",
         str(out), "--backend", "classic", "--workers", "2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    killed = None
    try:
        deadline = time.monotonic() + 300
        while proc.poll() is None and killed is None and time.monotonic() < deadline:
            manifest = out / "batch.jsonl"
            workers = _pool_workers(proc.pid)
            if workers and manifest.exists() and manifest.read_text().count("\n") >= 1:
                os.kill(workers[0], signal.SIGKILL)  # busy with one of the next pictures
                killed = workers[0]
            time.sleep(0.05)
        _, err = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert killed is not None, "no pool worker was seen"
    assert proc.returncode == 0, err
    recorded = [line.split("] ", 1)[1].split(":", 1)[0]
                for line in err.splitlines() if line.startswith("[")]
    names = sorted(str(p.relative_to(tmp_path / "in")) for p in (tmp_path / "in").rglob("*.png"))
    assert sorted(recorded) == names
    assert sorted(e["input"] for e in manifest_lines(out)) == names
    assert all(e["status"] == "ok" for e in manifest_lines(out))
