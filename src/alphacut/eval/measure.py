"""Child processes for `alphacut bench`: each timed spawn → exit, with its own peak RSS and CPU time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Measured", "alphacut_command", "child_env", "spawn_measured"]


@dataclass(frozen=True, slots=True)
class Measured:
    wall_s: float
    peak_rss_mb: float
    cpu_s: float  # user + system CPU time of the child: steadier than wall time on a shared machine
    returncode: int
    stdout: str
    stderr: str


def spawn_measured(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Measured:
    """Run cmd to completion: wall time spawn → exit and the command's own peak RSS and CPU (os.wait4,
    taken by a small launcher process: alphacut.eval.launcher)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory(prefix="alphacut-spawn-") as tmp:
        report = Path(tmp) / "rusage.json"
        launcher = subprocess.run([sys.executable, "-m", "alphacut.eval.launcher", str(report), *cmd], stdout=out,
                                  stderr=err, env=env if env is not None else child_env(), cwd=cwd, check=False)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        if launcher.returncode != 0 or not report.is_file():
            return Measured(wall_s=0.0, peak_rss_mb=0.0, cpu_s=0.0, returncode=launcher.returncode or 1,
                            stdout=stdout, stderr=stderr + f"\n(launcher failed with exit code {launcher.returncode})")
        data = json.loads(report.read_text(encoding="utf-8"))
        return Measured(wall_s=float(data["wall_s"]), peak_rss_mb=data["maxrss_kb"] / 1024, cpu_s=float(data["cpu_s"]),
                        returncode=os.waitstatus_to_exitcode(int(data["status"])), stdout=stdout, stderr=stderr)


def child_env() -> dict[str, str]:
    """This environment, with the folder this alphacut is imported from first on PYTHONPATH, so that
    `python -m alphacut...` in a child runs this very copy (a checkout's src/ or site-packages)."""
    import alphacut

    root = str(Path(alphacut.__file__).resolve().parents[1])
    pp = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + pp if pp else ""), "PYTHONUNBUFFERED": "1"}


def alphacut_command(*args: str) -> list[str]:
    """The `alphacut` command as this Python runs it (the console script's entry point), with args."""
    return [sys.executable, "-m", "alphacut", *args]
