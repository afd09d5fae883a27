"""Outputs are checked before the work (issue 12, item 4): an unknown extension names the
supported ones, the input is never the output, a folder that cannot be written is refused
before a decomposition starts. Every command that writes, through the real CLI."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from app.core.errors import ExportFailed
from app.core.formats import EXPORT_EXTENSIONS, load_document, save_document

# A real folder nobody may create files in, root included (sysfs refuses new files).
UNWRITABLE = Path("/sys")


def cli(capsys: pytest.CaptureFixture, *args: object) -> tuple[int, str]:
    rc = main([str(a) for a in args])
    return rc, capsys.readouterr().err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[..., 0] = np.linspace(0, 255, 64, dtype=np.uint8)[None, :]
    rgb[10:30, 20:40] = (250, 220, 20)
    path = tmp_path / "picture.png"
    Image.fromarray(rgb).save(path)
    return path


@pytest.mark.parametrize("command", ["decompose", "export"])
@pytest.mark.parametrize("name", ["x.pds", "x.tif", "x.TIFF", "layers.json"])
def test_unknown_extension_names_the_supported_ones(
    command: str, name: str, picture: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / name
    rc, err = cli(capsys, command, picture, "-o", out)
    line = one_error_line(err)
    assert rc == 1
    assert f"'{Path(name).suffix}' is not a format Strata writes" in line
    for ext in EXPORT_EXTENSIONS:
        assert ext in line
    assert "a path without an extension for a folder" in line
    assert not out.exists()  # once a folder named x.pds was made


def test_save_document_refuses_an_unknown_extension_too(picture: Path, tmp_path: Path) -> None:
    doc = load_document(picture)
    with pytest.raises(ExportFailed, match="not a format Strata writes"):
        save_document(doc, tmp_path / "x.pds")
    assert not (tmp_path / "x.pds").exists()


def test_folder_outputs(picture: Path, tmp_path: Path, capsys) -> None:
    rc, err = cli(capsys, "export", picture, "-o", tmp_path / "plain")
    assert rc == 0, err
    assert (tmp_path / "plain" / "layers.json").is_file()
    dotted = tmp_path / "v1.2"  # an existing folder is a folder output, dot or not
    dotted.mkdir()
    rc, err = cli(capsys, "export", picture, "-o", dotted)
    assert rc == 0, err
    assert (dotted / "00.png").is_file()
    rc, err = cli(capsys, "export", picture, "-o", tmp_path / "new" / "deeper")
    assert rc == 0, err
    assert (tmp_path / "new" / "deeper" / "composite.png").is_file()


def test_the_input_is_never_the_output(picture: Path, tmp_path: Path, capsys,
                                       monkeypatch) -> None:
    before = picture.read_bytes()
    monkeypatch.chdir(tmp_path)
    for spelling in (picture, Path("picture.png"), Path(".") / ".." / tmp_path.name /
                     "picture.png"):
        rc, err = cli(capsys, "decompose", picture, "-o", spelling)
        assert rc == 1 and "that is the input" in one_error_line(err)
        rc, err = cli(capsys, "export", spelling, "-o", picture)
        assert rc == 1 and "that is the input" in one_error_line(err)
    os.symlink(picture, tmp_path / "link.png")
    rc, err = cli(capsys, "export", picture, "-o", tmp_path / "link.png")
    assert rc == 1 and "that is the input" in one_error_line(err)
    assert picture.read_bytes() == before
    # a layer folder, by its name or its layers.json; a numbered PNG inside the output folder
    folder = tmp_path / "layers"
    assert cli(capsys, "export", picture, "-o", folder)[0] == 0
    for source in (folder, folder / "layers.json", folder / "00.png"):
        rc, err = cli(capsys, "export", source, "-o", folder)
        assert rc == 1 and "that is the input" in one_error_line(err)
    assert cli(capsys, "export", folder / "layers.json", "-o", tmp_path / "copy.psd")[0] == 0


def _unwritable_folders(tmp_path: Path) -> list[Path]:
    folders = [UNWRITABLE] if UNWRITABLE.is_dir() else []
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:  # root may write in it anyway; then only the sysfs case is a real test
        fd, probe = tempfile.mkstemp(dir=locked)
        os.close(fd)
        os.unlink(probe)
    except PermissionError:
        folders.append(locked)
    if not folders:
        pytest.skip("no folder here refuses new files")
    return folders


def test_an_unwritable_folder_fails_before_the_work(picture: Path, tmp_path: Path,
                                                    capsys) -> None:
    one_pixel = tmp_path / "dot.png"  # decomposing it would fail: it is too small
    Image.new("RGB", (1, 1)).save(one_pixel)
    for folder in _unwritable_folders(tmp_path):
        for out in (folder / "out.psd", folder / "layers", folder / "new" / "layers"):
            rc, err = cli(capsys, "decompose", one_pixel, "-o", out)
            line = one_error_line(err)
            assert rc == 1 and f"cannot write in {folder}" in line, line
            assert "2x2" not in line  # the output was checked first: nothing was decomposed
            rc, err = cli(capsys, "export", picture, "-o", out)
            assert rc == 1 and f"cannot write in {folder}" in one_error_line(err)


def test_a_missing_folder_for_a_file_output(picture: Path, tmp_path: Path, capsys) -> None:
    rc, err = cli(capsys, "decompose", picture, "-o", tmp_path / "no" / "such" / "x.psd")
    assert rc == 1 and "does not exist" in one_error_line(err)


def test_other_writing_commands_check_their_folder(picture: Path, tmp_path: Path,
                                                   capsys) -> None:
    folders = _unwritable_folders(tmp_path)
    dataset = tmp_path / "dataset"
    assert cli(capsys, "dataset", "--synthetic", "1", "-o", dataset, "-q")[0] == 0
    for folder in folders:
        rc, err = cli(capsys, "dataset", "--synthetic", "1", "-o", folder / "d", "-q")
        assert rc == 1 and f"cannot write in {folder}" in one_error_line(err)
        rc, err = cli(capsys, "eval", dataset, "--baseline", "single", "--save-pred",
                      folder / "pred", "-q")
        assert rc == 1 and f"cannot write in {folder}" in one_error_line(err)
        rc, err = cli(capsys, "models", "download", "--to", folder / "weights", "-q")
        assert rc == 1 and f"cannot write in {folder}" in one_error_line(err)
    rc, err = cli(capsys, "dataset", dataset, "-o", dataset, "-q")
    assert rc == 1 and "that is the input folder" in one_error_line(err)
