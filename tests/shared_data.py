"""The shared fixtures beside the clone (`../shared/data`, e.g. psd-tools' real PSD files), which
are never copied into the repository. Where they are missing a test that needs them skips and
says where to put them; in CI (CI=true), which has them beside the clone, it fails instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED_PSD = SHARED_DATA / "psd"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing(path: Path, what: str) -> None:
    """Skip (locally) or fail (CI) a test that needs `path`, naming where it belongs."""
    message = (
        f"{what} not found at {path}: put the shared fixtures in {SHARED_DATA} "
        "(a `shared/data` folder beside the clone)"
    )
    if in_ci():
        pytest.fail(f"{message}; CI must have them", pytrace=False)
    pytest.skip(message)


def shared_psd(name: str | None = None) -> Path:
    """The shared PSD folder, or one file in it; skips or fails when it is not there."""
    path = SHARED_PSD if name is None else SHARED_PSD / name
    if not path.exists():
        missing(path, "the shared PSD fixtures" if name is None else f"the shared PSD {name}")
    return path
