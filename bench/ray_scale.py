"""Local batch vs `--ray` on the same images, runs interleaved, for docs/SCALE.md.

    .venv/bin/python bench/ray_scale.py --evaldata ../shared/evaldata --count 200 --repeat 1 --out out/scale

Takes `count` images evenly spaced over evaldata's MANIFEST.csv (all sets), links them into
<out>/images/<set>/, then alternates `alphacut remove <out>/images -o <out>/<tool> --overwrite -q`
without and with `--ray` (a local Ray started for each job: the same 2 cores), `repeat` times each.
Prints one JSON line per run with the CLI's own summary figures, and a Markdown table at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import subprocess
import sys
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


def run(images: Path, out: Path, ray: bool, extra: list[str]) -> dict[str, float | str]:
    cmd = [str(BIN / "alphacut"), "remove", str(images), "-o", str(out), "--overwrite", "-q", *extra]
    if ray:
        cmd.append("--ray")
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    m = re.search(r"(\d+) done, (\d+) skipped, (\d+) failed in ([\d.]+) s", res.stderr)
    if res.returncode not in (0, 1) or m is None:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-3000:]}")
    row: dict[str, float | str] = {"tool": "ray" if ray else "local", "done": int(m[1]), "failed": int(m[3]),
                                   "seconds": float(m[4]), "process_wall_s": round(wall, 2)}
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
    print("\n| run | images | wall s (CLI summary) | images/s | first result s | actor-busy s |")
    print("|---|---|---|---|---|---|")
    for tool in ("local", "ray"):
        mine = [r for r in rows if r["tool"] == tool]
        if not mine:
            continue
        secs = statistics.median(float(r["seconds"]) for r in mine)
        n = int(mine[0]["done"]) + int(mine[0]["failed"])
        first = statistics.median(float(r.get("first_result_s", 0)) for r in mine)
        busy = statistics.median(float(r.get("actor_busy_s", 0)) for r in mine)
        print(f"| {tool} | {n} | {secs:.1f} | {n / secs:.3f} | {first:.1f} | {busy:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
