"""Tests that need ../shared never skip silently in CI: locally they skip and say where the
fixtures go; with CI=true they fail, and .ci/run stops before the suite when they are absent."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests import shared_data

ROOT = Path(__file__).resolve().parents[1]


def test_locally_a_missing_fixture_skips_and_says_where_it_goes(tmp_path, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(shared_data, "SHARED_PSD", tmp_path / "absent")
    with pytest.raises(pytest.skip.Exception) as skipped:
        shared_data.shared_psd("2layers.psd")
    assert str(tmp_path / "absent" / "2layers.psd") in str(skipped.value)
    assert str(shared_data.SHARED_DATA) in str(skipped.value)


def test_in_ci_a_missing_fixture_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(shared_data, "SHARED_PSD", tmp_path / "absent")
    with pytest.raises(pytest.fail.Exception, match="CI must have them"):
        shared_data.shared_psd()


def test_present_fixtures_are_returned(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    (tmp_path / "psd").mkdir()
    (tmp_path / "psd" / "a.psd").write_bytes(b"8BPS")
    monkeypatch.setattr(shared_data, "SHARED_PSD", tmp_path / "psd")
    assert shared_data.shared_psd("a.psd") == tmp_path / "psd" / "a.psd"


def test_ci_run_stops_when_the_shared_folder_is_missing(tmp_path):
    clone = tmp_path / "clone"
    (clone / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "run", clone / ".ci" / "run")
    # A run-tests that would say so if .ci/run went on to the suite.
    (clone / "run-tests").write_text("#!/bin/sh\necho suite ran\n")
    (clone / "run-tests").chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "CI": "true"}
    result = subprocess.run(["bash", str(clone / ".ci" / "run")], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1 and "suite ran" not in result.stdout
    assert result.stderr.strip() == (
        f"error: CI=true but the shared fixtures are missing: expected "
        f"{tmp_path}/shared/data/psd beside the clone"
    )
    (tmp_path / "shared" / "data" / "psd").mkdir(parents=True)
    result = subprocess.run(["bash", str(clone / ".ci" / "run")], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == "suite ran\n"
