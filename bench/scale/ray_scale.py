"""Local batch vs `--ray` on the same images, runs interleaved, for docs/SCALE.md.

    .venv/bin/python bench/scale/ray_scale.py --evaldata ../shared/evaldata --count 200 --repeat 1 --out out/scale

Takes `count` images evenly spaced over evaldata's MANIFEST.csv (all sets), links them into
<out>/images/<set>/, then alternates `alphacut remove <out>/images -o <out>/<tool> --overwrite -q`
without and with `--ray` (a local Ray started for each job: the same 2 cores), `repeat` times each.
Prints one JSON line per run with the CLI's own summary figures, and a Markdown table at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def build_set(evaldata: Path, out: Path, count: int) -> Path:
    rows = list(csv.DictReader((evaldata / "MANIFEST.csv").open(encoding="utf-8")))
    picked = [rows[round(i * (len(rows) - 1) / max(1, count - 1))] for i in range(count)]
    images = out / "images"
    for row in picked:
        src = next((evaldata / row["set"] / "images").glob(row["stem"] + ".*"))
        dst = images / row["set"] / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists():
            dst.symlink_to(src.resolve())
    return images


class TreeCpu:
    """CPU seconds (user + system) of a process and all its descendants, sampled from /proc.

    Wall time on a machine shared with other work measures the others too; CPU seconds measure
    only what this run executed. Each process's last sample counts (up to 0.5 s of a process that
    ends between samples is missed).
    """

    def __init__(self, root: int) -> None:
        self.root = root
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.tick = os.sysconf("SC_CLK_TCK")

    def _sample(self) -> None:
        parent: dict[int, int] = {}
        cpu: dict[int, float] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / self.tick
        for pid, seconds in cpu.items():
            p = pid
            while p > 1 and p != self.root:
                p = parent.get(p, 0)
            if p == self.root:
                self.seen[pid] = max(self.seen.get(pid, 0.0), seconds)

    def _loop(self) -> None:
        while not self.stop.wait(0.5):
            self._sample()

    def __enter__(self) -> TreeCpu:  # noqa: PYI034
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())


def run(images: Path, out: Path, ray: bool, extra: list[str]) -> dict[str, float | str]:
    cmd = [str(BIN / "alphacut"), "remove", str(images), "-o", str(out), "--overwrite", "-q", *extra]
    if ray:
        cmd.append("--ray")
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreeCpu(proc.pid) as tree:
        _, stderr = proc.communicate()
    res = subprocess.CompletedProcess(cmd, proc.returncode, "", stderr)
    wall = time.perf_counter() - t0
    m = re.search(r"(\d+) done, (\d+) skipped, (\d+) failed in ([\d.]+) s", res.stderr)
    if res.returncode not in (0, 1) or m is None:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-3000:]}")
    row: dict[str, float | str] = {"tool": "ray" if ray else "local", "done": int(m[1]), "failed": int(m[3]),
                                   "seconds": float(m[4]), "process_wall_s": round(wall, 2),
                                   "cpu_s": round(tree.seconds, 1),
                                   "load_avg_1min": f"{load0:.0f} -> {os.getloadavg()[0]:.0f}"}
    first = re.search(r"first result after ([\d.]+) s", res.stderr)
    if first:
        row["first_result_s"] = float(first[1])
    busy = [float(b) for b in re.findall(r"images, \d+ failed, ([\d.]+) s in its actors", res.stderr)]
    if busy:
        row["actor_busy_s"] = round(sum(busy), 2)
    wait = re.search(r"([\d.]+) s of it waiting for the model", res.stderr)
    if wait:
        row["model_wait_s"] = float(wait[1])
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaldata", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--tools", default="local,ray", help="which runs, in this order: local,ray")
    parser.add_argument("extra", nargs="*", help="more `alphacut remove` flags, after --")
    args = parser.parse_args()
    images = build_set(args.evaldata, args.out, args.count)
    rows = []
    for _ in range(args.repeat):
        for ray in (t.strip() == "ray" for t in args.tools.split(",")):
            row = run(images, args.out / ("ray" if ray else "local"), ray, args.extra)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print("\n| run | images | wall s (CLI summary) | images/s | first result s | actor-busy s | CPU s | CPU s/image |")
    print("|---|---|---|---|---|---|---|---|")
    for tool in ("local", "ray"):
        mine = [r for r in rows if r["tool"] == tool]
        if not mine:
            continue
        secs = statistics.median(float(r["seconds"]) for r in mine)
        n = int(mine[0]["done"]) + int(mine[0]["failed"])
        first = statistics.median(float(r.get("first_result_s", 0)) for r in mine)
        busy = statistics.median(float(r.get("actor_busy_s", 0)) for r in mine)
        cpu = statistics.median(float(r["cpu_s"]) for r in mine)
        print(f"| {tool} | {n} | {secs:.1f} | {n / secs:.3f} | {first:.1f} | {busy:.1f} | {cpu:.0f} | {cpu / n:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
