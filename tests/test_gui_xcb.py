"""The real editor in a real X server: Xvfb and Qt's xcb plugin (not offscreen), started as a
user starts it and driven with the keyboard through xdotool.

Every other GUI test runs offscreen, which needs none of the libraries Qt's X11 plugin needs;
this one is the test that notices when the window cannot open on a fresh machine. It skips only
where Xvfb, xdotool or ImageMagick's `import` cannot be had; in CI (CI=true) it fails instead.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from app import platform_check
from app.core.formats import load_document
from app.core.render import flatten, unpremultiply_to_uint8

ROOT = Path(__file__).resolve().parents[1]
TOOLS = {"Xvfb": "xvfb", "xdotool": "xdotool", "import": "imagemagick"}
SCREEN = (1600, 1000)

pytestmark = pytest.mark.slow


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must run the real-window test", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def display() -> Iterator[str]:
    """A fresh Xvfb server; its display name."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        packages = " ".join(TOOLS[tool] for tool in missing)
        _unavailable(f"{', '.join(missing)} not installed (apt-get install {packages}; "
                     "./run-tests does it as root)")
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
         "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()  # Xvfb writes the display number when it is ready
    try:
        assert number.isdigit(), "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def xdotool(display: str, *args: str) -> str:
    done = subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display},
                          capture_output=True, text=True, timeout=30)
    return done.stdout.strip() if done.returncode == 0 else ""


def wait_for_window(display: str, title: str, app: subprocess.Popen, timeout: float) -> str:
    """The id of the first visible window whose title matches the regex `title`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = xdotool(display, "search", "--onlyvisible", "--name", title).split()
        if found:
            return found[0]
        assert app.poll() is None, f"the program exited with status {app.returncode}"
        time.sleep(0.2)
    raise AssertionError(f"no window titled /{title}/ within {timeout:.0f} s; windows: "
                         f"{xdotool(display, 'search', '--name', '.', 'getwindowname', '%@')!r}")


def wait_for_title(display: str, window: str, pattern: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    title = ""
    while time.monotonic() < deadline:
        title = xdotool(display, "getwindowname", window)
        if re.search(pattern, title):
            return title
        time.sleep(0.25)
    raise AssertionError(f"the title stayed {title!r}, never /{pattern}/, in {timeout:.0f} s")


def keys(display: str, window: str, *sequence: str) -> None:
    """Give the window the keyboard focus (there is no window manager) and press keys."""
    xdotool(display, "windowfocus", "--sync", window)
    xdotool(display, "key", "--clearmodifiers", *sequence)


def type_text(display: str, window: str, text: str) -> None:
    xdotool(display, "windowfocus", "--sync", window)
    xdotool(display, "type", "--delay", "15", text)


def screenshot(display: str, path: Path) -> np.ndarray:
    subprocess.run(["import", "-display", display, "-window", "root", f"png:{path}"],
                   check=True, timeout=30)
    return np.asarray(Image.open(path).convert("RGB"))


def assert_not_blank(shot: np.ndarray) -> None:
    colours = np.unique(shot.reshape(-1, 3), axis=0)
    assert len(colours) >= 200, f"only {len(colours)} colours on the screen"
    assert float(shot.std()) >= 20, f"the screen is nearly uniform (std {shot.std():.1f})"


RIM = 12  # where the canvas draws the selected layer's outline and handles over the picture


def find(shot: np.ndarray, picture: np.ndarray) -> tuple[float, tuple[int, int]]:
    """How far the best place on the screen is from the picture (0 = drawn exactly), and that
    place (x, y of the picture's inner part, its rim left out)."""
    inner = picture[RIM:-RIM, RIM:-RIM]
    result = cv2.matchTemplate(shot.astype(np.float32), inner.astype(np.float32),
                               cv2.TM_SQDIFF_NORMED)
    low, _, where, _ = cv2.minMaxLoc(result)
    return float(low), where


def drawn_at(shot: np.ndarray, picture: np.ndarray, where: tuple[int, int]) -> float:
    """The share of the picture's inner pixels drawn within 6 levels at that place."""
    inner = picture[RIM:-RIM, RIM:-RIM].astype(int)
    x, y = where
    region = shot[y : y + inner.shape[0], x : x + inner.shape[1]].astype(int)
    return float((np.abs(region - inner).max(axis=2) <= 6).mean())


def test_the_editor_opens_a_real_window_decomposes_and_quits(display, tmp_path):
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "STRATA_RECOVERY_DIR": str(tmp_path / "recovery"),
           platform_check.NO_INSTALL_ENV: "1"}  # a test never installs system packages
    env.pop("WAYLAND_DISPLAY", None)
    verdict = platform_check.check(env)
    if not verdict.ok:
        _unavailable(verdict.message)

    # A small photo, so that the canvas shows it at 100% and classic decomposes it in seconds.
    from skimage import data

    picture = np.asarray(Image.fromarray(data.coffee()).resize((240, 160), Image.LANCZOS))
    Image.fromarray(picture).save(tmp_path / "coffee.png")
    result = tmp_path / "result.strata"

    app = subprocess.Popen([sys.executable, str(ROOT / "main.py"), str(tmp_path / "coffee.png")],
                           env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        window = wait_for_window(display, r"^coffee\.png", app, timeout=90)
        wait_for_title(display, window, r"^coffee\.png — Strata$", timeout=30)
        time.sleep(1.0)  # let the first frame paint
        opened = screenshot(display, tmp_path / "opened.png")
        assert_not_blank(opened)
        distance, where = find(opened, picture)
        assert distance < 0.001, f"the picture is not on the screen ({distance:.4f})"

        # Image > Decompose... (Ctrl+D); the Backend box has the focus: "c" picks classic.
        keys(display, window, "ctrl+d")
        dialog = wait_for_window(display, r"^Decompose", app, timeout=30)
        type_text(display, dialog, "c")
        keys(display, dialog, "Return")
        # The title gains "*" when the decomposition is applied to the document.
        wait_for_title(display, window, r"^coffee\.png\* — Strata$", timeout=240)

        # File > Save (Ctrl+S) asks where: the file name field has the focus.
        keys(display, window, "ctrl+s")
        save = wait_for_window(display, r"^Save Session", app, timeout=30)
        type_text(display, save, str(result))
        keys(display, save, "Return")
        wait_for_title(display, window, r"^result\.strata — Strata$", timeout=60)
        time.sleep(1.0)
        decomposed = screenshot(display, tmp_path / "decomposed.png")
        assert_not_blank(decomposed)
        # The layers' composite is drawn where the picture was (less the new layer's outline),
        # and the window changed (a second row in the layer panel, the status bar).
        assert drawn_at(decomposed, picture, where) >= 0.95, "the layers do not show the picture"
        changed = (np.abs(decomposed.astype(int) - opened).max(axis=2) > 0).sum()
        assert changed > 5000, f"only {changed} pixels changed on the screen"

        keys(display, window, "ctrl+q")
        output, _ = app.communicate(timeout=60)
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
    assert app.returncode == 0, f"exit status {app.returncode}:\n{output}"

    doc = load_document(result)
    assert len(doc.layers) >= 2, [layer.name for layer in doc.layers]
    assert doc.layers[0].params.name == "Background"  # classic's bottom layer
    composite = unpremultiply_to_uint8(flatten(doc.layers, doc.width, doc.height))
    error = np.abs(composite[:, :, :3].astype(int) - picture.astype(int))
    assert error.mean() < 1.0, f"the layers do not reproduce the picture ({error.mean():.2f})"
