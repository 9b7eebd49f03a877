"""CPU seconds per stage of alphacut's pipeline on a folder, one image at a time, in this process.

    .venv/bin/python bench/speed/stage_cpu.py FOLDER [--fast] [-f mask|png] [--repeat N] [--json OUT]

CPU time, not wall time, so that the shares hold on a shared, busy machine: the stages that run in
the calling thread (decode, preprocess, matte = upsampling + clean-up, compose = decontamination +
composition, encode) are timed with time.thread_time(); inference with time.process_time() (all of
onnxruntime's threads). Per stage, the minimum over the repeats of each image's CPU time, summed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from alphacut import Remover
from alphacut.options import FAST_MODEL, FAST_RESOLUTION, Options
from alphacut.pipeline import encode_cutout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("-f", "--format", default="mask")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    folder = args.folder / "images" if (args.folder / "images").is_dir() else args.folder
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    opts = Options.from_kwargs(format=args.format, resolution=FAST_RESOLUTION if args.fast else None)
    remover = Remover(FAST_MODEL if args.fast else None, threads=args.threads)
    remover.wait_ready()
    remover.cutout(paths[0], opts)  # warm-up: imports, first inference
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):
        for p in paths:
            t = {}
            c0 = time.thread_time()
            prepared = remover._prepare(p, opts)
            c1 = time.thread_time()
            t["decode+preprocess"] = c1 - c0
            p0 = time.process_time()
            raw = remover._infer(prepared)
            t["inference"] = time.process_time() - p0
            c2 = time.thread_time()
            cutout = remover._finish(prepared, raw, opts)
            c3 = time.thread_time()
            data = encode_cutout(cutout, opts)
            c4 = time.thread_time()
            wall = cutout.info.timings_ms
            finish_wall = sum(wall.get(k, 0.0) for k in ("matte", "compose", "decontaminate"))
            # split finish's CPU time by its stages' wall shares (single-threaded, so they match)
            for k in ("matte", "compose", "decontaminate"):
                if k in wall and finish_wall > 0:
                    t[k] = (c3 - c2) * wall[k] / finish_wall
            t["encode"] = c4 - c3
            del data
            prev = best.setdefault(p.stem, {})
            for k, v in t.items():
                prev[k] = min(prev.get(k, v), v)
    stages: dict[str, float] = {}
    for per in best.values():
        for k, v in per.items():
            stages[k] = stages.get(k, 0.0) + v
    total = sum(stages.values())
    for k, v in stages.items():
        print(f"{k:18s} {v:7.2f} s CPU  {100 * v / total:5.1f}%")
    print(f"{'total':18s} {total:7.2f} s CPU over {len(paths)} images", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"stages_cpu_s": stages, "per_image": best}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
