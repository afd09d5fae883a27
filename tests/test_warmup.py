"""The classic backend's first-run cost: numba's cache of pymatting, how Strata tells whether it
is warm (checked against files real numba writes), the set-up warm-up, and the
"preparing (first run only)" report when it is cold."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from app.cli.decompose import ProgressPrinter
from model.base import DecomposeOptions, Progress
from model.classic import warmup
from model.classic.decomposer import ClassicDecomposer
from tests.classic_fixtures import photo

ROOT = Path(__file__).resolve().parents[1]
MODULE = textwrap.dedent("""\
    from numba import njit


    def plain(x):
        return x


    @njit("f8(f8)", cache=True)
    def twice(x):
        return 2 * x


    @njit("f8(f8)")
    def not_cached(x):
        return x


    @njit(
        "f8(f8)",
        cache=True,
    )
    def thrice(x):
        return 3 * x
""")


def compile_module(folder: Path, env: dict[str, str]) -> None:
    """Import the module in a fresh interpreter: numba compiles it and writes its cache."""
    subprocess.run([sys.executable, "-c", "import fresh_numba_module"], cwd=folder, env=env,
                   check=True, timeout=300)


def test_index_names_are_the_files_numba_writes_beside_the_source(tmp_path):
    source = tmp_path / "fresh_numba_module.py"
    source.write_text(MODULE)
    names = warmup.cached_functions(source)
    assert [n.split(".")[1] for n in names] == ["twice-8", "thrice-18"]
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    compile_module(tmp_path, env)
    written = sorted(p.name for p in (tmp_path / "__pycache__").glob("*.nbi"))
    assert written == sorted(names)


def test_numba_cache_dir_is_followed(tmp_path, monkeypatch):
    source_dir = tmp_path / "src"
    source_dir.mkdir()
    (source_dir / "fresh_numba_module.py").write_text(MODULE)
    cache = tmp_path / "cache"
    compile_module(source_dir, {**os.environ, "NUMBA_CACHE_DIR": str(cache)})
    assert not (source_dir / "__pycache__").exists() or not list(
        (source_dir / "__pycache__").glob("*.nbi"))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    dirs = warmup._numba_cache_dirs(source_dir)
    names = warmup.cached_functions(source_dir / "fresh_numba_module.py")
    version = __import__("numba").__version__
    assert all(warmup._index_current(dirs[0] / name, version) for name in names)
    assert not warmup._index_current(dirs[0] / names[0], "0.0.0")  # another numba's cache


def test_a_cold_cache_is_told_from_a_warm_one(tmp_path, monkeypatch):
    # This environment was warmed at set-up; an empty NUMBA_CACHE_DIR is a machine's first run.
    assert "pymatting" in sys.modules or warmup.cache_ready(), (
        "the set-up did not warm pymatting's cache (python -m model.classic.warmup)")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "empty"))
    assert not warmup.cache_ready()


def test_the_warm_up_script_reports_a_warm_cache():
    done = subprocess.run([sys.executable, "-m", "model.classic.warmup"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["cache_ready"] is True
    assert report["cache_was_ready"] is True  # warmed at set-up, so loading took no compiling
    assert report["import_s"] < 15


def test_a_cold_first_run_says_preparing_before_the_matting(monkeypatch):
    """The report the editor's status and the CLI show; the cold cache itself is simulated here
    (a real cold compile takes about a minute: benchmarks/bench_first_run.py measures it)."""
    loaded = []
    monkeypatch.setattr(warmup, "first_run", lambda: True)
    monkeypatch.setattr(warmup, "load", lambda: loaded.append(True))
    seen: list[Progress] = []
    picture = photo("coffee", (240, 160))
    result = ClassicDecomposer().decompose(picture, DecomposeOptions(), seen.append)
    assert len(result.layers) >= 1 and loaded == [True]
    preparing = [p for p in seen if p.phase == "preparing"]
    assert [p.message for p in preparing] == ["preparing (first run only)"]
    phases = [p.phase for p in seen]
    assert phases.index("preparing") > phases.index("segmenting")


def test_a_warm_run_does_not_say_preparing():
    seen: list[Progress] = []
    ClassicDecomposer().decompose(photo("coffee", (240, 160)), DecomposeOptions(), seen.append)
    assert all(p.phase != "preparing" for p in seen)


@pytest.mark.parametrize("tty", [True, False])
def test_the_cli_shows_the_first_run_message_on_a_terminal(tty, monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    printer = ProgressPrinter(quiet=False)
    printer.tty = tty
    printer(Progress("segmenting", 2, 5, "segmenting a photo"))
    printer(Progress("preparing", 2, 5, warmup.FIRST_RUN_MESSAGE))
    printer(Progress("preparing", 2, 5, warmup.FIRST_RUN_MESSAGE))  # said once
    printer.close()
    expected = "preparing (first run only)...\n" if tty else ""
    assert err.getvalue().replace("\r", "").count("preparing (first run only)") == int(tty)
    assert expected in err.getvalue()


def test_warm_runs_matting_on_a_small_picture():
    report = warmup.warm()
    assert report["cache_ready"] is True and report["total_s"] >= report["import_s"] >= 0
    assert np.isfinite(report["total_s"])
