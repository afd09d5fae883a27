"""Limits say what they are (issue 12, item 5): the pixel limit names the image's size and the
limit and `--max-pixels` raises it for every reader; `models download` without the qwen extra
names the extra; argparse errors are one line with a --help hint; classic ignores --device."""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import sysconfig
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_formats_support import make_doc

from app.cli import Parser, build_parser, main
from app.core.formats import save_document
from app.core.formats.images import open_checked
from app.core.formats.limits import DEFAULT_MAX_PIXELS, max_pixels, set_max_pixels

ROOT = Path(__file__).resolve().parents[1]
W, H = 40, 30  # 1,200 pixels


def cli(capsys: pytest.CaptureFixture, *args: object) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """The same 40x30 document in every format a reader exists for."""
    folder = tmp_path_factory.mktemp("limits")
    doc = make_doc(seed=3, layers=3, size=(W, H))
    paths = {}
    for kind, name in [("png", "d.png"), ("jpg", "d.jpg"), ("psd", "d.psd"), ("ora", "d.ora"),
                       ("session", "d.strata"), ("folder", "layers")]:
        paths[kind] = folder / name
        save_document(doc, paths[kind])
    return paths


@pytest.fixture(autouse=True)
def no_program_limit():
    previous = set_max_pixels(None)
    yield
    set_max_pixels(previous)


REFUSED = f"{W}x{H} = 1,200 pixels, larger than the pixel limit of 1,000"


@pytest.mark.parametrize("kind", ["png", "jpg", "psd", "ora", "session", "folder"])
def test_every_reader_names_the_size_and_the_limit_and_max_pixels_raises_it(
    kind: str, files: dict[str, Path], capsys
) -> None:
    path = files[kind]
    for args in (["--max-pixels", "1000", "info", path], ["info", path, "--max-pixels=1,000"]):
        rc, _, err = cli(capsys, *args)
        line = one_line(err)
        assert rc == 1 and REFUSED in line, line
        assert line.endswith("raise it with --max-pixels N")
    for args in (["--max-pixels", "1200", "info", path], ["info", "--max-pixels", "1200", path]):
        rc, out, err = cli(capsys, *args)
        assert rc == 0, err
        assert f"{W}x{H}" in out
    assert max_pixels() == DEFAULT_MAX_PIXELS  # the CLI puts the program's limit back


def test_the_environment_limit_and_the_option_over_it(files, capsys, monkeypatch) -> None:
    monkeypatch.setenv("STRATA_MAX_PIXELS", "1000")
    rc, _, err = cli(capsys, "export", files["psd"], "-o", files["psd"].parent / "e.ora")
    assert rc == 1 and REFUSED in one_line(err)
    rc, _, err = cli(capsys, "--max-pixels", "2000", "export", files["psd"], "-o",
                     files["psd"].parent / "e.ora")
    assert rc == 0, err


def test_decompose_takes_the_limit(files, tmp_path, capsys) -> None:
    rc, _, err = cli(capsys, "decompose", files["png"], "-o", tmp_path / "o.psd",
                     "--max-pixels", "1000")
    assert rc == 1 and REFUSED in one_line(err)
    assert not (tmp_path / "o.psd").exists()


def test_dataset_and_eval_readers_take_the_limit(tmp_path, capsys) -> None:
    psds = tmp_path / "psds"
    psds.mkdir()
    save_document(make_doc(seed=4, layers=3, size=(64, 48)), psds / "d.psd")
    rc, out, err = cli(capsys, "--max-pixels", "3000", "dataset", psds, "-o", tmp_path / "ds",
                       "-q")
    assert rc == 1, err
    report = json.loads((tmp_path / "ds" / "report.json").read_text())
    assert "64x48 = 3,072 pixels, larger than the pixel limit of 3,000" in json.dumps(report)
    rc, out, err = cli(capsys, "dataset", psds, "-o", tmp_path / "ds", "-q", "--short-side", "48")
    assert rc == 0, err
    rc, out, err = cli(capsys, "eval", tmp_path / "ds", "--baseline", "gt", "--json", "-q",
                       "--max-pixels", "100")
    assert rc == 1
    assert "pixels, larger than the pixel limit of 100" in out
    rc, out, err = cli(capsys, "eval", tmp_path / "ds", "--baseline", "gt", "--json", "-q")
    assert rc == 0 and json.loads(out)["scored"] == 1


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that declares width x height (greyscale) and holds no pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))


def test_a_picture_beyond_pillows_own_limit_is_measured_by_ours(tmp_path, capsys) -> None:
    """Pillow alone refuses 179 M pixels with no size in its message, whatever the user set."""
    huge = tmp_path / "huge.png"
    _png_header_only(huge, 20000, 10000)
    rc, _, err = cli(capsys, "info", huge)
    line = one_line(err)
    assert rc == 1
    assert f"20000x10000 = 200,000,000 pixels, larger than the pixel limit of " \
           f"{DEFAULT_MAX_PIXELS:,}" in line
    set_max_pixels(250_000_000)
    image = open_checked(huge, huge, max_pixels())  # the header check only: nothing decoded
    assert image.size == (20000, 10000)
    image.close()


def _parsers(parser: argparse.ArgumentParser, prog: str = "strata"):
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, f"{prog} {name}")


def test_every_parser_answers_bad_arguments_in_one_line(capsys) -> None:
    found = list(_parsers(build_parser()))
    assert {prog for prog, _ in found} >= {
        "strata", "strata decompose", "strata export", "strata info", "strata dataset",
        "strata eval", "strata models", "strata models download",
    }
    for prog, parser in found:
        assert isinstance(parser, Parser), prog
        assert parser.prog == prog
        with pytest.raises(SystemExit) as stop:
            parser.parse_args(["--no-such-option"])
        assert stop.value.code == 2
        line = one_line(capsys.readouterr().err)
        assert line.startswith("error: ") and line.endswith(f"(see `{prog} --help`)"), line


@pytest.mark.parametrize(
    "args, words",
    [
        (["decompose", "in.png"], "the following arguments are required: -o/--output "
                                  "(see `strata decompose --help`)"),
        (["decompose", "a", "-o", "b", "--layers", "0"], "the layer count must be 1..20"),
        (["decompose", "a", "-o", "b", "--device", "tpu"], "invalid choice: 'tpu'"),
        (["models", "download", "--bogus"], "(see `strata models download --help`)"),
        (["info", "f", "--max-pixels", "-5"], "the pixel limit must be positive"),
        (["frobnicate"], "'frobnicate' is neither a command"),
    ],
)
def test_argparse_errors_as_a_user_sees_them(args, words) -> None:
    run = subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 2
    line = one_line(run.stderr)
    assert line.startswith("error: ") and words in line and "--help`)" in line
    assert "usage:" not in run.stderr


def test_models_download_without_the_qwen_extra_names_the_extra(tmp_path) -> None:
    """A copy of this environment's packages without the qwen extra's, on a python that reads
    no site-packages: the import really fails, as in an install without `.[qwen]`."""
    site = Path(sysconfig.get_paths()["purelib"])
    shadow = tmp_path / "site"
    shadow.mkdir()
    extra = ("huggingface_hub", "torch", "torchvision", "diffusers", "transformers",
             "accelerate", "safetensors")
    for entry in site.iterdir():
        if entry.name.split("-")[0].lower() not in extra:
            os.symlink(entry, shadow / entry.name)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{shadow}{os.pathsep}{ROOT}",
           "HOME": str(tmp_path)}
    probe = subprocess.run([sys.executable, "-S", "-c", "import huggingface_hub"],
                           capture_output=True, text=True, env=env, cwd=ROOT)
    assert probe.returncode != 0 and "No module named 'huggingface_hub'" in probe.stderr
    run = subprocess.run([sys.executable, "-S", str(ROOT / "main.py"), "models", "download",
                          "--to", str(tmp_path / "w")],
                         capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert run.returncode == 1
    line = one_line(run.stderr)
    assert "No module named" not in line
    assert "needs the qwen extra" in line
    assert "pip install -e '.[qwen]'" in line and "installer/install.sh --with-qwen" in line
    assert not (tmp_path / "w").exists()


def test_classic_on_a_gpu_device_warns_that_it_runs_on_the_cpu(tmp_path, capsys) -> None:
    rgb = np.full((40, 60, 3), 180, np.uint8)
    rgb[10:30, 15:45] = (30, 60, 200)
    Image.fromarray(rgb).save(tmp_path / "p.png")
    for device in ("cuda", "mps"):
        rc, _, err = cli(capsys, "decompose", tmp_path / "p.png", "-o", tmp_path / "p.psd",
                         "--backend", "classic", "--device", device)
        assert rc == 0, err
        assert f"warning: the classic backend runs on the CPU; --device {device} is not used" \
            in err.splitlines()
    rc, _, err = cli(capsys, "decompose", tmp_path / "p.png", "-o", tmp_path / "q.psd",
                     "--backend", "classic", "--device", "cpu")
    assert rc == 0 and "runs on the CPU" not in err
