"""The import contracts in pyproject.toml ([tool.importlinter]) hold: imports go one way."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> str:
    exe = Path(sys.executable).with_name("lint-imports")
    found = str(exe) if exe.is_file() else shutil.which("lint-imports")
    assert found, "lint-imports is missing: it comes with the dev extra (pip install -e '.[dev]')"
    return found


def test_the_import_contracts_are_kept() -> None:
    res = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout and "5 kept" in res.stdout


def test_an_upward_import_breaks_them(tmp_path: Path) -> None:
    """The contract can fail: a copy of the package where ops imports the pipeline is refused."""
    pkg = tmp_path / "src" / "alphacut"
    shutil.copytree(ROOT / "src" / "alphacut", pkg, ignore=shutil.ignore_patterns("web", "__pycache__"))
    (pkg / "ops" / "upward.py").write_text("from .. import pipeline  # noqa: F401\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    res = subprocess.run([_lint_imports(), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                         check=False, env={"PYTHONPATH": str(tmp_path / "src"), "PATH": "/usr/bin:/bin"})
    assert res.returncode != 0 and "alphacut.ops.upward -> alphacut.pipeline" in res.stdout, res.stdout + res.stderr


def test_options_and_presets_cant_import_each_other_again(tmp_path: Path) -> None:
    """The option vocabulary is layered too: presets (data) importing options is refused."""
    pkg = tmp_path / "src" / "alphacut"
    shutil.copytree(ROOT / "src" / "alphacut", pkg, ignore=shutil.ignore_patterns("web", "__pycache__"))
    with (pkg / "presets.py").open("a", encoding="utf-8") as f:
        f.write("\nfrom . import options  # noqa: E402, F401\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    res = subprocess.run([_lint_imports(), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                         check=False, env={"PYTHONPATH": str(tmp_path / "src"), "PATH": "/usr/bin:/bin"})
    assert res.returncode != 0 and "alphacut.presets -> alphacut.options" in res.stdout, res.stdout + res.stderr
