"""The launcher's check that Qt's platform plugin can load (app/platform_check.py), fed real ldd
listings, and the real program's answer when it cannot open a window."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from app import platform_check as pc

ROOT = Path(__file__).resolve().parents[1]
# ldd's listing of PySide6 6.12's libqxcb.so on a Debian 12 server image (abridged).
LDD_MISSING = """\
\tlinux-vdso.so.1 (0x00007fd243197000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x7f1)
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007fd242fe6000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007fd242fdf000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-image.so.0 => /lib/x86_64-linux-gnu/libxcb-image.so.0 (0x00007fd242fd1000)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007fd242f4c000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007fd243199000)
"""
LDD_FINE = "\n".join(
    line for line in LDD_MISSING.splitlines() if "not found" not in line
)


@pytest.fixture
def pyside(tmp_path: Path) -> Path:
    """A PySide6 folder holding both platform plugins (their bytes are never read: ldd is fed)."""
    platforms = tmp_path / "PySide6" / "Qt" / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    for name in pc.PLUGINS.values():
        (platforms / name).write_bytes(b"\x7fELF")
    return tmp_path / "PySide6"


def feed(listings: dict[str, str]):
    """An ldd that answers with the listing given for each plugin file name."""

    def ldd(path: Path) -> str:
        return listings[path.name]

    return ldd


def no_ldd(path: Path) -> str:
    raise AssertionError(f"ldd was run on {path} although nothing needed checking")


def never_known(package: str) -> bool:
    return False


def up(name: str, env) -> bool:
    """Every display named is running (the display checks have tests of their own)."""
    return True


def test_a_missing_library_names_its_package_and_the_exact_apt_line(pyside):
    env = {"DISPLAY": ":0"}
    ldd = feed({"libqxcb.so": LDD_MISSING})
    verdict = pc.check(env, "Linux", ldd, pyside, never_known, reachable=up)
    assert not verdict.ok and verdict.platform == "xcb"
    assert verdict.packages == ["libxcb-icccm4", "libxcb-keysyms1"]  # once each, in order
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1" in verdict.message
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in verdict.message
    assert "\n" not in verdict.message


def test_the_launcher_prints_one_line_and_says_no_when_it_may_not_install(pyside, monkeypatch,
                                                                          capsys):
    monkeypatch.setenv(pc.NO_INSTALL_ENV, "1")
    env = {"DISPLAY": ":0", pc.NO_INSTALL_ENV: "1"}
    ok = pc.ensure_editor_can_start(env, ldd=feed({"libqxcb.so": LDD_MISSING}), pyside=pyside,
                                    reachable=up)
    err = capsys.readouterr().err
    assert not ok
    assert err.count("\n") == 1 and err.startswith("error: Qt's X11 plugin (libqxcb.so)")
    assert err.rstrip().endswith("sudo apt-get install libxcb-icccm4 libxcb-keysyms1")


def test_a_library_without_a_known_package_is_named():
    listing = "\tlibxcb-keysyms.so.1 => not found\n\tlibfancy-gl.so.3 => not found\n"
    assert pc.missing_libraries(listing) == ["libxcb-keysyms.so.1", "libfancy-gl.so.3"]
    packages, unknown = pc.packages_for(pc.missing_libraries(listing), never_known)
    assert packages == ["libxcb-keysyms1"] and unknown == ["libfancy-gl.so.3"]


def test_renamed_ubuntu_packages_are_picked_when_apt_knows_only_the_new_name():
    packages, _ = pc.packages_for(["libglib-2.0.so.0"], lambda name: name.endswith("t64"))
    assert packages == ["libglib2.0-0t64"]
    packages, _ = pc.packages_for(["libglib-2.0.so.0"], lambda name: True)
    assert packages == ["libglib2.0-0"]  # Debian 12's name first


def test_all_there_is_fine(pyside):
    ldd = feed({"libqxcb.so": LDD_FINE})
    verdict = pc.check({"DISPLAY": ":0"}, "Linux", ldd, pyside, reachable=up)
    assert verdict.ok


@pytest.mark.parametrize("platform", ["offscreen", "minimal", "vnc:size=800x600", "eglfs"])
def test_a_platform_the_user_chose_is_respected(platform, pyside):
    verdict = pc.check({"QT_QPA_PLATFORM": platform}, "Linux", no_ldd, pyside, reachable=up)
    assert verdict.ok


def test_a_forced_xcb_is_checked_and_needs_a_display(pyside):
    ldd = feed({"libqxcb.so": LDD_MISSING})
    verdict = pc.check({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":1"}, "Linux", ldd, pyside,
                       never_known, reachable=up)
    assert not verdict.ok and "libxcb-icccm4" in verdict.message
    verdict = pc.check({"QT_QPA_PLATFORM": "xcb"}, "Linux", no_ldd, pyside, reachable=up)
    assert not verdict.ok
    assert verdict.message == "QT_QPA_PLATFORM=xcb needs DISPLAY, which is not set"


def test_no_display_is_one_sentence(pyside):
    verdict = pc.check({}, "Linux", no_ldd, pyside, reachable=up)
    assert not verdict.ok
    assert verdict.message.startswith("there is no display to open the editor on")
    assert "strata decompose" in verdict.message and "\n" not in verdict.message


@pytest.mark.parametrize("system", ["Darwin", "Windows"])
def test_other_systems_are_not_checked(system, pyside):
    assert pc.check({}, system, no_ldd, pyside, reachable=up).ok


def test_a_wayland_session_needs_only_the_wayland_plugin(pyside):
    env = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}
    ldd = feed({"libqwayland.so": "\tlibwayland-client.so.0 => /lib/libwayland-client.so.0\n",
                "libqxcb.so": LDD_MISSING})
    assert pc.platforms_to_try(env) == ["wayland", "xcb"]
    assert pc.check(env, "Linux", ldd, pyside, reachable=up).ok  # Wayland: xcb is not needed


def test_wayland_only_without_its_libraries_says_what_wayland_needs(pyside):
    env = {"WAYLAND_DISPLAY": "wayland-0"}
    ldd = feed({"libqwayland.so": "\tlibwayland-cursor.so.0 => not found\n"})
    verdict = pc.check(env, "Linux", ldd, pyside, never_known, reachable=up)
    assert not verdict.ok and verdict.platform == "wayland"
    assert "Qt's Wayland plugin (libqwayland.so)" in verdict.message
    assert "sudo apt-get install libwayland-cursor0" in verdict.message
    assert "XWayland" in verdict.message


def test_xwayland_advice_is_the_x11_packages_when_both_fail(pyside):
    env = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}
    ldd = feed({"libqwayland.so": "\tlibwayland-cursor.so.0 => not found\n",
                "libqxcb.so": LDD_MISSING})
    verdict = pc.check(env, "Linux", ldd, pyside, never_known, reachable=up)
    assert not verdict.ok and verdict.packages == ["libxcb-icccm4", "libxcb-keysyms1"]


def test_a_frozen_build_finds_pyside6_in_its_bundle(pyside, monkeypatch):
    """PyInstaller's one-folder build unpacks PySide6 into sys._MEIPASS (_internal/)."""
    monkeypatch.setattr(sys, "_MEIPASS", str(pyside.parent), raising=False)
    assert pc.pyside_dir() == pyside
    assert pc.plugin_path("xcb") == pyside / "Qt" / "plugins" / "platforms" / "libqxcb.so"


def test_the_real_plugin_is_found_without_importing_pyside6():
    """In a fresh interpreter: the check finds PySide6's libqxcb.so, runs the real ldd on it,
    and PySide6 is still not imported (the launcher checks before Qt starts)."""
    code = (
        "import sys\n"
        "from app import platform_check as pc\n"
        "path = pc.plugin_path('xcb')\n"
        "assert path is not None and path.name == 'libqxcb.so', path\n"
        "listing = pc.run_ldd(path)\n"
        "assert 'libxcb.so.1' in listing, listing\n"
        "pc.check({'DISPLAY': ':0'}, 'Linux')\n"
        "assert not any(m.split('.')[0] in ('PySide6', 'shiboken6') for m in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_a_display_nobody_serves_is_one_sentence(tmp_path, pyside):
    # Wayland: the compositor's socket in XDG_RUNTIME_DIR; a real listening socket is served.
    env = {"WAYLAND_DISPLAY": "wayland-7", "XDG_RUNTIME_DIR": str(tmp_path)}
    verdict = pc.check(env, "Linux", no_ldd, pyside)
    assert not verdict.ok and verdict.message == (
        f"WAYLAND_DISPLAY=wayland-7 names a Wayland compositor that is not running here (no "
        f"{tmp_path}/wayland-7): start the editor from your desktop session")
    bare = {"WAYLAND_DISPLAY": "wayland-0"}  # as after sudo: no XDG_RUNTIME_DIR
    assert not pc.display_reachable("wayland", bare)
    assert "XDG_RUNTIME_DIR is not" in pc.check(bare, "Linux", no_ldd, pyside).message
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "wayland-7"))
        server.listen()
        assert pc.display_reachable("wayland", env)
    # X11: a local display number no server has; a remote display is not second-guessed.
    assert not pc.display_reachable("xcb", {"DISPLAY": ":98765"})
    assert not pc.display_reachable("xcb", {"DISPLAY": "unix:98765.0"})
    assert pc.display_reachable("xcb", {"DISPLAY": "otherhost:0"})
    verdict = pc.check({"DISPLAY": ":98765"}, "Linux", no_ldd, pyside)
    assert verdict.message.startswith("DISPLAY=:98765 names an X server that is not running")


def test_the_program_without_a_display_exits_with_one_line(tmp_path):
    """The real entry point: no DISPLAY, no WAYLAND_DISPLAY, no QT_QPA_PLATFORM -> one line and
    exit status 1, where Qt would have aborted with signal 6."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, str(ROOT / "main.py")], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: there is no display to open the editor on")


def test_the_script_runs_with_a_bare_python_before_any_environment_exists(tmp_path):
    """install.sh --dry-run calls it as a file with the system's python3: standard library only;
    without PySide6 it falls back to the known package list and dpkg."""
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    result = subprocess.run([python, "-S", str(ROOT / "app" / "platform_check.py"),
                             "--system-packages", "--names"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) <= set(pc.XCB_PACKAGES)


def test_the_readme_lists_the_packages_it_installs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert all(package in readme for package in pc.XCB_PACKAGES)
