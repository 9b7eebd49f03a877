"""Run one command as a child and write its wall time and rusage as JSON: `alphacut bench`'s timer.

    python -m alphacut.eval.launcher REPORT.json CMD [ARGS...]

Needed because Linux hands a spawned child the peak RSS of the process it was spawned from (exec
records the old address space's high-water mark in the child's ru_maxrss): measured straight from
a large parent (a test run that loaded the model, the bench after scoring 24 MP mattes) a child's
"peak" would be the parent's. This process imports nothing of alphacut (a few MB), so the figure is
the command's own. The command's stdout and stderr are this process's.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m alphacut.eval.launcher REPORT.json CMD [ARGS...]", file=sys.stderr)
        return 2
    report, cmd = argv[0], argv[1:]
    t = time.perf_counter()
    try:
        pid = os.posix_spawnp(cmd[0], cmd, os.environ)
    except OSError as exc:
        print(f"launcher: cannot run {cmd[0]}: {exc}", file=sys.stderr)
        return 127
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t
    with open(report, "w", encoding="utf-8") as fh:
        json.dump({"wall_s": wall, "maxrss_kb": ru.ru_maxrss, "cpu_s": ru.ru_utime + ru.ru_stime,
                   "status": status}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
