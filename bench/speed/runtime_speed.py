"""The network alone on each runtime / model / precision / hint, interleaved: seconds per image.

    python bench/speed/runtime_speed.py                                   # the precision table's configurations
    python bench/speed/runtime_speed.py --side 768 --rounds 5
    python bench/speed/runtime_speed.py --configs ort@int8,ov@int8,ov:f32@int8 --concurrency 2
    bench/avx2only/run.sh .venv/bin/python bench/speed/runtime_speed.py  # as on an AVX2-only CPU

A configuration is RUNTIME[:PRECISION][/HINT][#THREADS]@MODEL (#THREADS: this backend's threads,
overriding --threads and the split below): RUNTIME ort or ov, PRECISION (OpenVINO's
INFERENCE_PRECISION_HINT: f32, bf16, f16; empty = its default for the CPU), HINT latency or
throughput (OpenVINO's PERFORMANCE_HINT), MODEL int8 (isnet-general-use-int8-static, the default)
or fp16 (isnet-general-use-fp16). Every configuration is loaded once (compile / session time
printed), warmed up, then the rounds go through all configurations in turn (one round = --images
runs each, the input random values of --side x --side (the speed of these models does not depend on the values)). The median round gives seconds per image.

--concurrency N runs N images at once from N threads (as the server's workers or a batch that
overlaps images do) with `--threads` split between them: each thread's backend gets threads/N for
onnxruntime and latency-hinted OpenVINO; a throughput-hinted OpenVINO backend is shared by the N
threads with all the threads (its streams run the requests in parallel). The figure is then wall
seconds per image over the N threads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))

from alphacut.config import load_settings
from alphacut.models.store import ModelStore
from alphacut.runtime.choice import load_backend

MODELS = {"int8": "isnet-general-use-int8-static", "fp16": "isnet-general-use-fp16"}
DEFAULT = "ort@int8,ov@int8,ov:bf16@int8,ort@fp16,ov@fp16,ov:f32@fp16"


def parse(cfg: str) -> tuple[str, str | None, str, str]:
    head, _, model = cfg.partition("@")
    head = head.partition("#")[0]
    head, _, hint = head.partition("/")
    rt, _, prec = head.partition(":")
    runtime = {"ort": "onnxruntime", "ov": "openvino"}[rt]
    return runtime, prec or None, (hint or "latency").upper(), MODELS[model or "int8"]


def build(cfg: str, store: ModelStore, threads: int) -> Any:
    runtime, prec, hint, model = parse(cfg)
    if "#" in cfg:
        threads = int(cfg.split("@")[0].partition("#")[2])
    spec = store.catalog.get(model)
    return load_backend(store.ensure(model), runtime=runtime, output_index=spec.output_index, threads=threads,
                        name=spec.id, optimized_dir=store.optimized_dir, model_hash=spec.checksum,
                        input_hw=None, precision=prec, hint=hint)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default=DEFAULT)
    ap.add_argument("--side", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--images", type=int, default=2, help="runs per configuration per round")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--shared", action="store_true",
                    help="the N threads share one backend (as the server's workers share one Remover)")
    args = ap.parse_args()
    settings = load_settings()
    store = ModelStore(settings.home_path, offline=True)
    rng = np.random.default_rng(0)
    x = (rng.random((1, 3, args.side, args.side), dtype=np.float32) - 0.5).astype(np.float32)
    n = args.concurrency
    backends: dict[str, list[Any]] = {}
    for cfg in args.configs.split(","):
        t = time.perf_counter()
        shared = parse(cfg)[2] == "THROUGHPUT" or args.shared
        if shared:
            b = build(cfg, store, args.threads)
            backends[cfg] = [b] * n
        else:
            backends[cfg] = [build(cfg, store, max(1, args.threads // n)) for _ in range(n)]
        load_s = time.perf_counter() - t
        for b in backends[cfg]:
            b.run(x)  # compile for the size, warm up
        info = backends[cfg][0].info
        print(f"{cfg:<22} {info.runtime:<18} {info.precision:<32} load {load_s:5.2f} s", file=sys.stderr)
    times: dict[str, list[float]] = {c: [] for c in backends}
    pool = ThreadPoolExecutor(n)
    for _ in range(args.rounds):
        for cfg, bs in backends.items():
            t = time.perf_counter()
            jobs = [pool.submit(lambda b=b: [b.run(x) for _ in range(args.images)]) for b in bs]
            for j in jobs:
                j.result()
            times[cfg].append((time.perf_counter() - t) / (args.images * n))
    load = os.getloadavg()
    print(f"side {args.side}, {args.threads} threads, concurrency {n}, {args.rounds} rounds x {args.images} images; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    print("| configuration | runtime | precision | s / image (median round) | vs first |")
    print("|---|---|---|---|---|")
    first = None
    for cfg, ts in times.items():
        med = statistics.median(ts)
        first = first or med
        info = backends[cfg][0].info
        print(f"| `{cfg}` | {info.runtime} | {info.precision}, {info.threads} threads | {med:.3f} | {first / med:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
