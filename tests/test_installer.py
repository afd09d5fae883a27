"""The installer: desktop entry, file type, icon, install.sh, the PyInstaller spec and build."""

from __future__ import annotations

import ast
import configparser
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "installer"
INSTALL_SH = INSTALLER / "install.sh"
DESKTOP = INSTALLER / "strata.desktop"
MIME_XML = INSTALLER / "strata-mime.xml"
SESSION_TYPE = "application/x-strata-session"
OPENED_TYPES = {
    "image/png", "image/jpeg", "image/vnd.adobe.photoshop", "image/openraster", SESSION_TYPE,
}
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"
MARKER = "written by Strata's installer/install.sh"


def desktop_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive in desktop entries
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_validates():
    if shutil.which("desktop-file-validate"):
        result = subprocess.run(["desktop-file-validate", str(DESKTOP)],
                                capture_output=True, text=True)
        assert result.returncode == 0 and not result.stdout.strip(), result.stdout
    entry = desktop_entry(DESKTOP)
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Strata"
    assert entry["Exec"] == "strata %f"
    assert entry["Icon"] == "strata"
    assert entry["Terminal"] == "false"
    assert entry["MimeType"].endswith(";") and entry["Categories"].endswith(";")
    assert set(filter(None, entry["MimeType"].split(";"))) == OPENED_TYPES


def test_session_mime_type_parses_and_claims_the_extension():
    root = ET.parse(MIME_XML).getroot()
    assert root.tag == f"{MIME_NS}mime-info"
    (mime,) = root.findall(f"{MIME_NS}mime-type")
    assert mime.get("type") == SESSION_TYPE
    assert [g.get("pattern") for g in mime.findall(f"{MIME_NS}glob")] == ["*.strata"]
    assert mime.find(f"{MIME_NS}comment").text


RECOGNISE = """
import sys
from PySide6.QtCore import QMimeDatabase
db = QMimeDatabase()
print(" ".join(db.mimeTypeForFile(path).name() for path in sys.argv[1:]))
"""


def test_qt_mime_database_recognises_a_real_session_by_name_and_by_content(tmp_path):
    from app.core.document import Document
    from app.core.formats.session import save_session

    session = tmp_path / "poster.strata"
    save_session(Document.from_image(np.zeros((8, 8, 4), np.uint8)), session)
    renamed = tmp_path / "no-extension"
    shutil.copy(session, renamed)
    data_home = tmp_path / "share"
    (data_home / "mime" / "packages").mkdir(parents=True)
    shutil.copy(MIME_XML, data_home / "mime" / "packages")

    def recognise(env_data_home: Path) -> list[str]:
        env = {**os.environ, "XDG_DATA_HOME": str(env_data_home)}
        result = subprocess.run([sys.executable, "-c", RECOGNISE, str(session), str(renamed)],
                                env=env, capture_output=True, text=True, timeout=60, check=True)
        return result.stdout.split()

    assert recognise(data_home) == [SESSION_TYPE, SESSION_TYPE]
    assert recognise(tmp_path / "empty") == ["application/zip", "application/zip"]


@pytest.mark.gui
def test_icon_png_is_the_svg_rendered():
    sys.path.insert(0, str(INSTALLER))
    try:
        from render_icon import PNG, SVG, render_svg
    finally:
        sys.path.remove(str(INSTALLER))
    committed = Image.open(PNG)
    assert committed.size == (256, 256) and committed.mode == "RGBA"
    from PySide6.QtGui import QImage

    image = render_svg(SVG, 256).convertToFormat(QImage.Format.Format_RGBA8888)
    fresh = np.frombuffer(image.constBits(), np.uint8).reshape(256, image.bytesPerLine() // 4, 4)
    fresh = fresh[:, :256].astype(int)
    pixels = np.asarray(committed, dtype=int)
    assert np.abs(fresh - pixels).mean() < 1.0, (
        "resources/icons/strata.png is out of date: run installer/render_icon.py"
    )
    assert pixels[0, 0, 3] == 0 and pixels[128, 128, 3] == 255  # rounded corner, opaque middle


def test_spec_leaves_out_every_package_of_the_qwen_extra():
    spec = ast.parse((INSTALLER / "strata.spec").read_text())
    excluded = next(
        ast.literal_eval(node.value) for node in spec.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EXCLUDED"
    )
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["optional-dependencies"]["qwen"]:
        name = requirement.split(">")[0].split("=")[0].split("[")[0].strip().replace("-", "_")
        assert name in excluded, f"the qwen extra's {name} would end up in the desktop build"


def test_install_script_parses():
    subprocess.run(["bash", "-n", str(INSTALL_SH)], check=True)


def install(tmp_path: Path, *args: str, path_prefix: Path | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run install.sh with its folders and the user's home inside tmp_path."""
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "home" / "share"),
        "XDG_CONFIG_HOME": str(tmp_path / "home" / "config"),
    }
    if path_prefix is not None:
        env["PATH"] = f"{path_prefix}{os.pathsep}{env['PATH']}"
    # This Python, so that the new environment can borrow this one's packages.
    folders = ["--prefix", str(tmp_path / "strata"), "--bin-dir", str(tmp_path / "bin"),
               "--data-home", str(tmp_path / "share"), "--python", sys.executable]
    result = subprocess.run(["bash", str(INSTALL_SH), *folders, *args], env=env,
                            capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def tree(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under folder: its modification time and a hash of its bytes."""
    def digest(p: Path) -> str:
        return hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else ""

    return {str(p.relative_to(folder)): (p.lstat().st_mtime_ns, digest(p))
            for p in sorted(folder.rglob("*")) if not p.is_dir()}


def test_install_twice_changes_nothing_and_uninstall_removes_it(tmp_path):
    first = install(tmp_path, "--no-pip")
    launcher = tmp_path / "bin" / "strata"
    share = tmp_path / "share"
    assert os.access(launcher, os.X_OK) and MARKER in launcher.read_text()
    assert (tmp_path / "strata" / "src" / "main.py").read_bytes() == (ROOT / "main.py").read_bytes()
    assert (tmp_path / "strata" / "venv" / "bin" / "python").exists()
    for installed, source in [
        (share / "icons/hicolor/scalable/apps/strata.svg", ROOT / "resources/icons/strata.svg"),
        (share / "icons/hicolor/256x256/apps/strata.png", ROOT / "resources/icons/strata.png"),
        (share / "mime/packages/strata-mime.xml", MIME_XML),
    ]:
        assert installed.read_bytes() == source.read_bytes()
    entry = desktop_entry(share / "applications" / "strata.desktop")
    assert entry["Exec"] == f"{launcher} %f" and entry["TryExec"] == str(launcher)
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(share / "applications" / "strata.desktop")],
                       check=True)
    if shutil.which("update-mime-database"):
        assert f"{SESSION_TYPE}:*.strata" in (share / "mime" / "globs2").read_text()
    assert "+ " in first.stdout  # it says what it did

    before = tree(tmp_path)
    second = install(tmp_path, "--no-pip")
    after = tree(tmp_path)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    # (Only a checkout edited between the two runs changes the snapshot, as it should.)
    assert not changed, f"a second run rewrote files: {changed[:5]}\n{second.stdout}"
    assert "up to date" in second.stdout and "+ " not in second.stdout

    install(tmp_path, "--uninstall")
    for gone in [launcher, share / "applications/strata.desktop", tmp_path / "strata",
                 share / "mime/packages/strata-mime.xml",
                 share / "icons/hicolor/scalable/apps/strata.svg"]:
        assert not gone.exists(), gone
    if shutil.which("update-mime-database"):
        assert "strata" not in (share / "mime" / "globs2").read_text()
    again = install(tmp_path, "--uninstall")
    assert "not there" in again.stdout


def test_launcher_starts_the_app_from_its_own_copy(tmp_path):
    install(tmp_path, "--no-pip")
    # Lend the new environment this checkout's packages instead of downloading them.
    venv_python = tmp_path / "strata" / "venv" / "bin" / "python"
    site = subprocess.run([str(venv_python), "-c", "import site; print(site.getsitepackages()[0])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    deps = [p for p in map(Path, sys.path) if p.name == "site-packages" and p.is_dir()]
    Path(site, "borrowed.pth").write_text("\n".join(map(str, deps)) + "\n")
    result = subprocess.run([str(tmp_path / "bin" / "strata"), "--help"], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "decompose" in result.stdout


def test_a_launcher_it_did_not_write_is_left_alone(tmp_path):
    launcher = tmp_path / "bin" / "strata"
    launcher.parent.mkdir()
    launcher.write_text("#!/bin/sh\necho mine\n")
    result = install(tmp_path, "--no-pip", "--no-desktop", check=False)
    assert result.returncode != 0
    assert "not written by this installer" in result.stderr
    assert launcher.read_text() == "#!/bin/sh\necho mine\n"


def fake_nvidia_smi(folder: Path, cuda: str | None) -> Path:
    """An nvidia-smi that reports a driver for CUDA `cuda`, or fails like one without a driver."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "nvidia-smi"
    if cuda is None:
        script.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    else:
        script.write_text(
            "#!/bin/sh\necho '| NVIDIA-SMI 570.86   Driver Version: 570.86   "
            f"CUDA Version: {cuda}     |'\n"
        )
    script.chmod(0o755)
    return folder


@pytest.mark.parametrize(
    ("cuda", "index"),
    [("12.7", "/whl/cu126"), ("13.2", "/whl/cu130"), ("11.8", "/whl/cu118"), (None, "/whl/cpu")],
)
def test_dry_run_picks_the_torch_build_and_changes_nothing(tmp_path, cuda, index):
    fake = fake_nvidia_smi(tmp_path / "fake", cuda)
    result = install(tmp_path, "--dry-run", "--with-qwen", path_prefix=fake)
    torch_line = next(line for line in result.stdout.splitlines() if "torch torchvision" in line)
    assert torch_line.endswith(f"--index-url https://download.pytorch.org{index}")
    assert "would run" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake"], "a dry run created files"


def test_dry_run_shows_the_warm_up_and_the_system_packages(tmp_path):
    result = install(tmp_path, "--dry-run")
    lines = result.stdout.splitlines()
    step = lines.index("==> system packages for the editor's window (Qt's X11 plugin)")
    # Either nothing is missing or the exact apt-get line it would run.
    assert re.fullmatch(r"    (system packages: all there|would run: apt-get install -y "
                        r"--no-install-recommends [a-z0-9.+ -]+)", lines[step + 1]), lines[step + 1]
    assert any(line.endswith("-m model.classic.warmup") for line in lines[:step])
    assert not tmp_path.joinpath("strata").exists(), "a dry run created files"


def test_asking_for_cuda_without_a_driver_is_one_clear_error(tmp_path):
    fake = fake_nvidia_smi(tmp_path / "fake", None)
    result = install(tmp_path, "--dry-run", "--with-qwen", "--torch", "cuda", path_prefix=fake,
                     check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: --torch cuda: nvidia-smi finds no NVIDIA driver with CUDA 11.8 or newer"
    ]


@pytest.mark.slow
@pytest.mark.timeout(2400)
@pytest.mark.skipif(os.environ.get("STRATA_BUILD_CHECK") != "1",
                    reason="the PyInstaller build takes minutes; set STRATA_BUILD_CHECK=1")
def test_built_program_decomposes_to_a_psd():
    result = subprocess.run(["bash", str(INSTALLER / "build_check.sh")], capture_output=True,
                            text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["psd_layers"] >= 2 and report["auto_psd_layers"] >= 2
    assert report["psd_size"] == [512, 512]
    assert report["composite_mean_abs_error"] < 8


def test_editable_install_runs_the_checkout_and_uninstall_keeps_it(tmp_path):
    install(tmp_path, "--no-pip", "--no-desktop", "--editable")
    launcher = (tmp_path / "bin" / "strata").read_text()
    assert str(ROOT / "main.py") in launcher
    assert not (tmp_path / "strata" / "src").exists()
    install(tmp_path, "--uninstall")
    assert (ROOT / "main.py").exists() and (ROOT / "installer" / "install.sh").exists()
    assert not (tmp_path / "strata").exists() and not (tmp_path / "bin" / "strata").exists()
