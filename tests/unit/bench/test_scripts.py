"""bench/: every script has a row in bench/README.md's index, each live one starts, and ruff is clean.

The index (script | question | doc | live or archived) is the one list: a script added without a row,
or a row whose file moved, fails here. "Starts" means `--help` for a Python script (the venv's Python,
PYTHONPATH=src, as the docs run them), `node --check` for a .mjs file and `bash -n` for a shell script;
nothing is measured.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BENCH = ROOT / "bench"
SCRIPT_SUFFIXES = (".py", ".mjs", ".sh")
#: Third-party modules a live script may need that alphacut's own install does not bring.
OPTIONAL_MODULES = {"av", "cv2", "ray", "rembg", "playwright", "mediapipe"}
#: Scripts that may sit directly in bench/ (the peer harness, cited by `alphacut bench --help` and the
#: docs, and the studies that other branches were still editing when the folders were made).
TOP_LEVEL = {"setup_peers.sh", "peer_rembg.py", "peer_imgly.mjs", "compare_quality.sh", "quality_cv.py",
             "people_cv.py", "runtime_parity.py"}
ROW = re.compile(r"^\| `(bench/[^`]+)` \| (.+?) \| (.+?) \| (live|archived) \|$")


def _index() -> dict[str, str]:
    rows = {}
    for line in (BENCH / "README.md").read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if m:
            rows[m.group(1)] = m.group(4)
    return rows


def _scripts() -> list[str]:
    """Every script file under bench/ (as git would see it: no caches, no peers' installs)."""
    found = []
    for path in BENCH.rglob("*"):
        rel = path.relative_to(ROOT)
        if path.suffix in SCRIPT_SUFFIXES and not any(p.startswith(".") or p in ("build", "node_modules",
                                                                                  "__pycache__")
                                                          for p in rel.parts):
            found.append(rel.as_posix())
    return sorted(found)


LIVE = sorted(name for name, status in _index().items() if status == "live")


def test_every_script_has_one_row_and_every_row_a_script() -> None:
    index, scripts = _index(), _scripts()
    assert len(index) >= 20, "bench/README.md's index table was not found (its rows changed format?)"
    missing = [s for s in scripts if s not in index]
    assert not missing, f"add a row to bench/README.md's index for: {', '.join(missing)}"
    gone = [s for s in index if not (ROOT / s).is_file()]
    assert not gone, f"bench/README.md's index lists files that are not there: {', '.join(gone)}"


def test_scripts_sit_in_topic_folders() -> None:
    stray = [s for s in _scripts() if s.count("/") == 1 and s.split("/")[1] not in TOP_LEVEL]
    assert not stray, (f"{', '.join(stray)} sit directly in bench/: git mv each into its topic folder "
                       "(data/, speed/, quality/, web/, video/, scale/, id_photo/) and fix its paths")


@pytest.mark.parametrize("script", LIVE)
def test_live_script_starts(script: str, tmp_path: Path) -> None:
    path = ROOT / script
    if path.suffix == ".py":
        cmd = [sys.executable, str(path), "--help"]
    elif path.suffix == ".mjs":
        node = shutil.which("node")
        if node is None:
            pytest.skip("node is not installed")
        cmd = [node, "--check", str(path)]
    else:
        cmd = ["bash", "-n", str(path)]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src"), "HOME": str(tmp_path)}
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False, env=env)
    if res.returncode != 0:
        m = re.search(r"No module named '([\w.]+)'", res.stderr)
        if m and m.group(1).split(".")[0] in OPTIONAL_MODULES:
            pytest.skip(f"{script} needs {m.group(1)}, which is not installed")
    assert res.returncode == 0, f"{' '.join(cmd[1:])} exited {res.returncode}:\n{res.stderr[-2000:]}"
    if path.suffix == ".py":
        assert res.stdout.startswith("usage:"), res.stdout[:500]


def test_ruff_is_clean_over_bench() -> None:
    exe = Path(sys.executable).with_name("ruff")
    found = str(exe) if exe.is_file() else shutil.which("ruff")
    assert found, "ruff is missing: it comes with the dev extra (pip install -e '.[dev]')"
    res = subprocess.run([found, "check", "--no-cache", "bench"], cwd=ROOT, capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, res.stdout + res.stderr
