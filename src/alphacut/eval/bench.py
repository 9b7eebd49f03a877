"""`alphacut bench`: throughput, per-image latency, cold start and peak memory on a folder of images.

Each measurement runs in a fresh child process so that cold start and peak RSS are honest: the
parent only spawns, times and collects JSON.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["BenchResult", "run_bench", "to_markdown", "machine_description"]


@dataclass(frozen=True, slots=True)
class BenchResult:
    tool: str
    images: int
    megapixels: float
    warm_s_per_image: float  # median over the warm images
    batch_images_per_s: float  # wall time of the whole batch in one process, model load excluded
    cold_start_s: float  # process start to first cutout written
    warm_first_image_s: float  # the same image, warm: cold start is compared with this
    model_load_s: float
    peak_rss_mb: float
    notes: str = ""


_WORKER = r"""
import json, resource, sys, time, statistics
t_start = time.perf_counter()
from pathlib import Path
import alphacut
from alphacut.options import Options
args = json.loads(sys.argv[1])
t0 = time.perf_counter()
remover = alphacut.Remover(args["model"], threads=args["threads"])
t_load = time.perf_counter() - t0
opts = Options.from_kwargs(**args["options"])
paths = [Path(p) for p in args["images"]]
times = []
t_batch = time.perf_counter()
first_done = None
for p in paths:
    t = time.perf_counter()
    remover.remove_bytes(p, opts)
    times.append(time.perf_counter() - t)
    if first_done is None:
        first_done = time.perf_counter() - t_start
t_batch = time.perf_counter() - t_batch
warm_first = None
if args["repeat_first"]:
    t = time.perf_counter(); remover.remove_bytes(paths[0], opts); warm_first = time.perf_counter() - t
print(json.dumps({"load_s": t_load, "times": times, "batch_s": t_batch, "first_done_s": first_done,
                  "warm_first_s": warm_first,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _images(folder: Path, limit: int | None) -> list[Path]:
    from ..io.files import IMAGE_SUFFIXES

    if not folder.is_dir():
        raise InputError("input.not-found", f"{folder} is not a folder of images.")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise InputError("input.not-found", f"No images in {folder}.")
    return paths[:limit] if limit else paths


def _run_worker(args: dict[str, Any]) -> tuple[dict[str, Any], float]:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _WORKER, json.dumps(args)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall


def run_bench(folder: Path, *, model: str | None = None, threads: int | None = None,
              options: dict[str, Any] | None = None, limit: int | None = None) -> BenchResult:
    """Measure alphacut on the images in folder (each phase in a fresh process)."""
    from PIL import Image

    paths = _images(folder, limit)
    mp = 0.0
    for p in paths:
        with Image.open(p) as im:
            mp += im.width * im.height / 1e6
    base = {"model": model, "threads": threads, "options": options or {}}
    # Cold start: a fresh process that cuts out one image, timed from spawn to exit.
    cold, cold_wall = _run_worker({**base, "images": [str(paths[0])], "repeat_first": True})
    batch, _ = _run_worker({**base, "images": [str(p) for p in paths], "repeat_first": False})
    times = batch["times"][1:] or batch["times"]  # the first image pays for warm-up
    times_sorted = sorted(times)
    median = times_sorted[len(times_sorted) // 2]
    return BenchResult(
        tool="alphacut", images=len(paths), megapixels=round(mp, 1),
        warm_s_per_image=median, batch_images_per_s=len(paths) / batch["batch_s"],
        cold_start_s=cold_wall, warm_first_image_s=cold["warm_first_s"], model_load_s=batch["load_s"],
        peak_rss_mb=batch["peak_rss_mb"])


def machine_description() -> str:
    from ..doctor import cpu_features

    model, feats = cpu_features()
    try:
        import onnxruntime

        ort = onnxruntime.__version__
    except ImportError:  # pragma: no cover
        ort = "?"
    return (f"{model}, {os.cpu_count()} cores ({', '.join(feats)}); Python {platform.python_version()}, "
            f"onnxruntime {ort}")


def to_markdown(results: Sequence[BenchResult], *, command: str, folder: Path) -> str:
    lines = [
        f"Machine: {machine_description()}  ",
        f"Images: {results[0].images} from `{folder}` ({results[0].megapixels} MP in all)  ",
        f"Command: `{command}`",
        "",
        "| tool | s/image (warm, median) | images/s (batch) | cold start s | warm same image s | cold/warm "
        "| model load s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = r.cold_start_s / r.warm_first_image_s if r.warm_first_image_s else float("nan")
        lines.append(f"| {r.tool} | {r.warm_s_per_image:.2f} | {r.batch_images_per_s:.3f} | {r.cold_start_s:.2f} "
                     f"| {r.warm_first_image_s:.2f} | {ratio:.2f} | {r.model_load_s:.2f} | {r.peak_rss_mb:.0f} |")
    return "\n".join(lines) + "\n"


def to_json(results: Sequence[BenchResult]) -> list[dict[str, Any]]:
    return [asdict(r) for r in results]
