"""The layering rule: app/core and model never import Qt; model never imports app.ui."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "qasync", "shiboken6")
DYNAMIC_IMPORTERS = {"import_module", "__import__", "find_spec"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the file, at any depth, including
    relative imports and importlib.import_module/__import__ calls with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in DYNAMIC_IMPORTERS and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((node.lineno, arg.value))
    return found


def _is_within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def violations(packages: list[str], forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for package in packages:
        for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py")):
            for line, module in imported_modules(path):
                if any(_is_within(module, f) for f in forbidden):
                    out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


def test_core_and_model_never_import_qt():
    assert violations(["app.core", "model"], QT) == []


def test_model_never_imports_the_ui():
    assert violations(["model"], ("app.ui",)) == []


def test_the_scanner_sees_every_kind_of_import(tmp_path, monkeypatch):
    """The checks above would catch an offender: top-level, lazy, relative and dynamic."""
    pkg = tmp_path / "model" / "sub"
    pkg.mkdir(parents=True)
    (tmp_path / "model" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "bad.py").write_text(
        "import os\n"
        "def lazy():\n"
        "    from PySide6.QtGui import QImage\n"
        "    import shiboken6\n"
        "    from ...app.ui import canvas\n"
        "    importlib.import_module('qasync')\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = violations(["model"], QT + ("app.ui",))
    assert any("PySide6.QtGui" in v for v in found)
    assert any("shiboken6" in v for v in found)
    assert any("qasync" in v for v in found)
    assert any("app.ui.canvas" in v for v in found)
    assert not any(" os" in v for v in found)


def test_import_linter_contracts():
    """import-linter also follows imports made through other modules."""
    exe = Path(sys.executable).parent / "lint-imports"
    command = str(exe) if exe.exists() else shutil.which("lint-imports")
    if command is None:
        pytest.skip("import-linter is not installed")
    result = subprocess.run(
        [command, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout
