"""Before Qt starts: can its platform plugin load here? If not, install what it lacks or say so.

Qt aborts the process (signal 6) when no platform plugin loads, after a message that often blames
the wrong library. On Linux this module runs `ldd` on PySide6's plugin (`libqxcb.so` for X11,
`libqwayland.so` for Wayland), maps each `=> not found` library to the Debian/Ubuntu package that
ships it, and then installs them (root with apt-get) or prints one line with the exact
`sudo apt-get install ...`. Elsewhere it does nothing.

Standard library only, and PySide6 is located, never imported: the launcher (`main.py` ->
`app.cli`), `installer/bootstrap.sh` and `installer/install.sh` (`python3 app/platform_check.py`,
before the environment exists) all run it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

# Library soname -> Debian 12 package (first) and its name on newer Ubuntu (the t64 renames).
PACKAGES: dict[str, tuple[str, ...]] = {
    "libxcb.so.1": ("libxcb1",),
    "libX11-xcb.so.1": ("libx11-xcb1",),
    "libX11.so.6": ("libx11-6",),
    "libXau.so.6": ("libxau6",),
    "libXdmcp.so.6": ("libxdmcp6",),
    "libxcb-icccm.so.4": ("libxcb-icccm4",),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1",),
    "libxcb-image.so.0": ("libxcb-image0",),
    "libxcb-render-util.so.0": ("libxcb-render-util0",),
    "libxcb-xkb.so.1": ("libxcb-xkb1",),
    "libxcb-cursor.so.0": ("libxcb-cursor0",),
    "libxcb-shape.so.0": ("libxcb-shape0",),
    "libxcb-randr.so.0": ("libxcb-randr0",),
    "libxcb-render.so.0": ("libxcb-render0",),
    "libxcb-shm.so.0": ("libxcb-shm0",),
    "libxcb-sync.so.1": ("libxcb-sync1",),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0",),
    "libxcb-util.so.1": ("libxcb-util1",),
    "libxcb-xinput.so.0": ("libxcb-xinput0",),
    "libxcb-glx.so.0": ("libxcb-glx0",),
    "libxkbcommon.so.0": ("libxkbcommon0",),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0",),
    "libSM.so.6": ("libsm6",),
    "libICE.so.6": ("libice6",),
    "libGL.so.1": ("libgl1",),
    "libGLX.so.0": ("libglx0",),
    "libOpenGL.so.0": ("libopengl0",),
    "libEGL.so.1": ("libegl1",),
    "libfontconfig.so.1": ("libfontconfig1",),
    "libfreetype.so.6": ("libfreetype6",),
    "libglib-2.0.so.0": ("libglib2.0-0", "libglib2.0-0t64"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "libglib2.0-0t64"),
    "libdbus-1.so.3": ("libdbus-1-3",),
    "libpng16.so.16": ("libpng16-16", "libpng16-16t64"),
    "libz.so.1": ("zlib1g",),
    "libwayland-client.so.0": ("libwayland-client0",),
    "libwayland-cursor.so.0": ("libwayland-cursor0",),
    "libwayland-egl.so.1": ("libwayland-egl1",),
}
# What PySide6's xcb plugin needs beyond a base system (DESIGN.md "Facts already checked"):
# installed when PySide6 is not there yet to be asked (install.sh before its environment).
XCB_PACKAGES = (
    "libxcb1", "libx11-xcb1", "libxcb-icccm4", "libxcb-keysyms1", "libxcb-image0",
    "libxcb-render-util0", "libxcb-xkb1", "libxkbcommon-x11-0", "libxcb-cursor0",
    "libxcb-shape0", "libxcb-randr0", "libxcb-render0", "libxcb-shm0", "libxcb-sync1",
    "libxcb-xfixes0", "libxcb-util1", "libgl1", "libegl1", "libfontconfig1", "libdbus-1-3",
)  # fmt: skip
PLUGINS = {"xcb": "libqxcb.so", "wayland": "libqwayland.so"}
KIND = {"xcb": "X11", "wayland": "Wayland"}
APT = ("apt-get", "install", "-y", "--no-install-recommends")
NO_INSTALL_ENV = "STRATA_NO_SYSTEM_INSTALL"  # "1": never install, only print the line
_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found", re.MULTILINE)


@dataclass
class Verdict:
    ok: bool
    message: str = ""  # one line, when not ok
    packages: list[str] = field(default_factory=list)  # what apt-get would install
    platform: str = ""  # the platform plugin the verdict is about


def missing_libraries(ldd_output: str) -> list[str]:
    """The `name => not found` libraries of an ldd listing, once each, in order."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def apt_knows(package: str) -> bool:
    """Whether apt has a candidate for the package (False where apt-cache is missing)."""
    if shutil.which("apt-cache") is None:
        return False
    found = subprocess.run(
        ["apt-cache", "show", "--no-all-versions", package], capture_output=True, text=True
    )
    return found.returncode == 0 and bool(found.stdout.strip())


def packages_for(
    libraries: Sequence[str], known: Callable[[str], bool] = apt_knows
) -> tuple[list[str], list[str]]:
    """(packages that ship the libraries, libraries with no known package)."""
    packages: list[str] = []
    unknown: list[str] = []
    for library in libraries:
        names = PACKAGES.get(library)
        if names is None:
            unknown.append(library)
            continue
        name = names[0] if len(names) == 1 else next((n for n in names if known(n)), names[0])
        if name not in packages:
            packages.append(name)
    return packages, unknown


def apt_line(packages: Sequence[str]) -> str:
    return "sudo apt-get install " + " ".join(packages)


def pyside_dir() -> Path | None:
    """PySide6's folder, found without importing it (a frozen build keeps it in _MEIPASS)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle and (Path(bundle) / "PySide6").is_dir():
        return Path(bundle) / "PySide6"
    try:
        spec = importlib.util.find_spec("PySide6")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def plugin_path(name: str, pyside: Path | None = None) -> Path | None:
    base = pyside or pyside_dir()
    if base is None:
        return None
    path = base / "Qt" / "plugins" / "platforms" / PLUGINS[name]
    return path if path.is_file() else None


def run_ldd(path: Path) -> str:
    """ldd's listing for the file; empty when ldd cannot tell (then nothing is reported)."""
    if shutil.which("ldd") is None:
        return ""
    done = subprocess.run(["ldd", str(path)], capture_output=True, text=True)
    return done.stdout


def platforms_to_try(env: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt will try, in its order: QT_QPA_PLATFORM when set (a list
    separated by ';', arguments after ':'), else Wayland first in a Wayland session, then xcb."""
    forced = env.get("QT_QPA_PLATFORM", "").strip()
    if forced:
        return [part.split(":")[0].strip() for part in forced.split(";") if part.strip()]
    wayland = env.get("XDG_SESSION_TYPE") == "wayland" or (
        bool(env.get("WAYLAND_DISPLAY")) and not env.get("DISPLAY")
    )
    return ["wayland", "xcb"] if wayland else ["xcb"]


def _has_display(name: str, env: Mapping[str, str]) -> bool:
    return bool(env.get("DISPLAY")) if name == "xcb" else bool(env.get("WAYLAND_DISPLAY"))


_LOCAL_X = re.compile(r"^(?:unix)?:(\d+)(?:\.\d+)?$")


def display_socket(name: str, env: Mapping[str, str]) -> Path | None:
    """The socket a local display listens on (None: a remote X display, not checked)."""
    if name == "xcb":
        local = _LOCAL_X.match(env.get("DISPLAY", ""))
        return Path(f"/tmp/.X11-unix/X{local.group(1)}") if local else None
    socket = env.get("WAYLAND_DISPLAY", "")
    if socket.startswith("/"):
        return Path(socket)
    return Path(env.get("XDG_RUNTIME_DIR") or "XDG_RUNTIME_DIR-is-not-set") / socket


def _abstract_sockets() -> str | None:
    try:
        return Path("/proc/net/unix").read_text()
    except OSError:
        return None


def display_reachable(name: str, env: Mapping[str, str]) -> bool:
    """False only when sure that nothing listens: X servers may listen on an abstract socket
    only (listed in /proc/net/unix as @/tmp/.X11-unix/XN), Wayland may hand over WAYLAND_SOCKET."""
    socket = display_socket(name, env)
    if socket is None or socket.exists() or (name == "wayland" and env.get("WAYLAND_SOCKET")):
        return True
    if name == "xcb":
        listed = _abstract_sockets()
        return listed is None or f"@{socket}\n" in listed
    return False


def _unreachable(name: str, env: Mapping[str, str]) -> str:
    if name == "wayland" and not env.get("XDG_RUNTIME_DIR"):
        return (f"WAYLAND_DISPLAY={env.get('WAYLAND_DISPLAY')} is set but XDG_RUNTIME_DIR is "
                "not, so the Wayland compositor cannot be found: start the editor from your "
                "desktop session (sudo and su drop it)")
    variable = "DISPLAY" if name == "xcb" else "WAYLAND_DISPLAY"
    server = "X server" if name == "xcb" else "Wayland compositor"
    article = "an" if name == "xcb" else "a"
    return (f"{variable}={env.get(variable)} names {article} {server} that is not running here "
            f"(no {display_socket(name, env)}): start the editor from your desktop session")


def plugin_verdict(
    name: str,
    ldd: Callable[[Path], str] = run_ldd,
    pyside: Path | None = None,
    known: Callable[[str], bool] = apt_knows,
) -> Verdict:
    """Whether the plugin's libraries all load; if not, the packages and one line saying so."""
    path = plugin_path(name, pyside)
    if path is None:
        return Verdict(True, platform=name)  # no PySide6 to check: Qt will say what it lacks
    missing = missing_libraries(ldd(path))
    if not missing:
        return Verdict(True, platform=name)
    packages, unknown = packages_for(missing, known)
    libs = ", ".join(missing)
    message = f"Qt's {KIND[name]} plugin ({path.name}) cannot load: {libs} not installed"
    if packages:
        message += f"; install with: {apt_line(packages)}"
    if unknown:
        message += f"; install the package(s) providing {', '.join(unknown)}"
    return Verdict(False, message, packages, name)


def check(
    env: Mapping[str, str] | None = None,
    system: str | None = None,
    ldd: Callable[[Path], str] = run_ldd,
    pyside: Path | None = None,
    known: Callable[[str], bool] = apt_knows,
    reachable: Callable[[str, Mapping[str, str]], bool] = display_reachable,
) -> Verdict:
    """Can the editor open a window here? Qt's own choice of plugin, respected."""
    env = os.environ if env is None else env
    if (system or platform.system()) != "Linux":
        return Verdict(True)
    order = platforms_to_try(env)
    if any(n not in PLUGINS for n in order):
        return Verdict(True, platform=order[0])  # offscreen, vnc, eglfs...: the user's choice
    checked = list(order)
    shown = [n for n in checked if _has_display(n, env)]
    if not shown:
        if env.get("QT_QPA_PLATFORM"):
            need = " or ".join("DISPLAY" if n == "xcb" else "WAYLAND_DISPLAY" for n in checked)
            return Verdict(False, f"QT_QPA_PLATFORM={env['QT_QPA_PLATFORM']} needs {need}, "
                           "which is not set", platform=checked[0])
        return Verdict(False, "there is no display to open the editor on (neither DISPLAY nor "
                       "WAYLAND_DISPLAY is set): start it from a desktop session, or use the "
                       "command line (strata decompose INPUT -o OUTPUT)", platform="xcb")
    running = [n for n in shown if reachable(n, env)]
    if not running:
        return Verdict(False, _unreachable(shown[0], env), platform=shown[0])
    verdicts = [plugin_verdict(n, ldd, pyside, known) for n in running]
    if any(v.ok for v in verdicts):
        return next(v for v in verdicts if v.ok)
    # X11 (or XWayland) is the path that works everywhere: its packages are the advice.
    worst = next((v for v in verdicts if v.platform == "xcb"), verdicts[0])
    if worst.platform == "wayland":
        worst.message += (
            "; or, with XWayland running, set DISPLAY and Strata uses Qt's X11 plugin"
        )
    return worst


def install_allowed(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return (
        hasattr(os, "geteuid")
        and os.geteuid() == 0
        and shutil.which("apt-get") is not None
        and env.get(NO_INSTALL_ENV, "") not in ("1", "true", "yes")
    )


def apt_install(packages: Sequence[str], out: TextIO | None = None) -> bool:
    """apt-get install, without questions (`apt-get update` and again when that fails)."""
    out = out or sys.stderr
    command = [*APT, *packages]
    print(f"strata: installing {' '.join(packages)} ({shlex.join(command)})", file=out)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for attempt in ("install", "update"):
        if attempt == "update":
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode == 0:
            return True
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
    print(f"strata: apt-get failed: {tail[0] if tail else done.returncode}", file=out)
    return False


def ensure_editor_can_start(
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    ldd: Callable[[Path], str] = run_ldd,
    pyside: Path | None = None,
    reachable: Callable[[str, Mapping[str, str]], bool] = display_reachable,
) -> bool:
    """The launcher's check: True when Qt can open a window (after installing what was missing,
    where allowed); otherwise prints one line on `out` (stderr) and returns False."""
    out = out or sys.stderr
    verdict = check(env, ldd=ldd, pyside=pyside, reachable=reachable)
    if verdict.ok:
        return True
    if verdict.packages and install_allowed(env) and apt_install(verdict.packages, out):
        verdict = check(env, ldd=ldd, pyside=pyside, reachable=reachable)
        if verdict.ok:
            return True
    print(f"error: {verdict.message}", file=out)
    return False


def dpkg_installed(package: str) -> bool:
    if shutil.which("dpkg-query") is None:
        return False
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
    )
    return done.returncode == 0 and done.stdout.endswith(" installed")


def system_packages(ldd: Callable[[Path], str] = run_ldd) -> list[str]:
    """The packages the X11 plugin still lacks (display or not): from ldd when PySide6 is
    installed, otherwise the known list less what dpkg says is installed."""
    if plugin_path("xcb") is not None:
        return plugin_verdict("xcb", ldd).packages
    return [p for p in XCB_PACKAGES if not dpkg_installed(p)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.platform_check",
        description="Check that Qt's platform plugin can load (Linux); by default as the "
        "editor's launcher does.",
    )
    parser.add_argument("--system-packages", action="store_true",
                        help="only the X11 plugin's system packages, display or not (set-up)")
    parser.add_argument("--install", action="store_true",
                        help=f"install what is missing as root with apt-get (unless "
                        f"{NO_INSTALL_ENV}=1), else print the line")
    parser.add_argument("--dry-run", action="store_true", help="print what would be installed")
    parser.add_argument("--names", action="store_true",
                        help="print only the missing packages' names (none: an empty line)")
    args = parser.parse_args(argv)
    if not args.system_packages:
        return 0 if ensure_editor_can_start() else 1
    if platform.system() != "Linux":
        return 0
    packages = system_packages()
    if args.names:
        print(" ".join(packages))
        return 0
    if not packages:
        print("system packages: all there")
        return 0
    if args.dry_run:
        print(f"would run: {shlex.join([*APT, *packages])}")
        return 0
    if args.install and install_allowed() and apt_install(packages, sys.stdout):
        return 0
    print(f"the editor needs system packages: {apt_line(packages)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
