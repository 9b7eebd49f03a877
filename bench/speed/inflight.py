"""Images in flight in one process: one at a time on all threads, or two at once on one thread each.

    PYTHONPATH=src .venv/bin/python bench/speed/inflight.py FOLDER [--rounds 3] [--repeat 2]

The library's whole pipeline per image (decode, network, matte, mask PNG encode: Remover.remove_bytes)
over FOLDER's images (--repeat times over), in one process, 4 ways interleaved per round: OpenVINO
with one stream using every thread, images one after another (what `alphacut remove` does now);
OpenVINO with 2 streams of 1 thread (Remover(concurrency=2)), 2 images at once from 2 threads;
onnxruntime with 2 threads, one after another; onnxruntime with 1 thread, 2 at once. Prints seconds
per image (median round). A batch that kept 2 images in flight would gain what the second row gains
over the first (issue 21 §1, throughput).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))

from alphacut.api import Remover
from alphacut.options import Options


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    imgs = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    imgs = imgs * args.repeat
    opts = Options.from_kwargs(format="mask")
    cores = os.cpu_count() or 2
    ways = {
        "openvino, 1 stream x all threads, 1 in flight": (Remover(threads=cores, runtime="openvino"), 1),
        "openvino, 2 streams x 1 thread, 2 in flight": (Remover(threads=max(1, cores // 2), concurrency=2,
                                                                runtime="openvino"), 2),
        "onnxruntime, all threads, 1 in flight": (Remover(threads=cores, runtime="onnxruntime"), 1),
        "onnxruntime, 1 thread each, 2 in flight": (Remover(threads=max(1, cores // 2), runtime="onnxruntime"), 2),
    }
    for r, _ in ways.values():
        r.wait_ready().remove_bytes(imgs[0], opts)  # warm: compiled, first run done
    times: dict[str, list[float]] = {k: [] for k in ways}
    for _ in range(args.rounds):
        for name, (r, n) in ways.items():
            t = time.perf_counter()
            with ThreadPoolExecutor(n) as pool:
                list(pool.map(lambda p, r=r: r.remove_bytes(p, opts), imgs))
            times[name].append((time.perf_counter() - t) / len(imgs))
    load = os.getloadavg()
    print(f"{len(imgs)} images per round, {args.rounds} rounds; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n")
    print("| way | s / image (median round) | rounds |")
    print("|---|---|---|")
    for name, ts in times.items():
        print(f"| {name} | {statistics.median(ts):.3f} | {', '.join(f'{t:.3f}' for t in ts)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
