"""Time the network alone: the default int8 model against the fp16 file, interleaved, in one process.

    .venv/bin/python bench/speed/net_ratio.py [--sizes 1024,768,640] [--repeat 5] [--threads 2] [--image samples/coffee.jpg]
    bench/avx2only/run.sh .venv/bin/python bench/speed/net_ratio.py ...   # the same on an AVX2-only CPU (emulated)

Each round runs every (model, size) once, in a rotating order, on the same prepared input
(Remover.prepare → Remover.infer: exactly the pipeline's inference call). Per (model, size): the
(the fp16 file runs at 1024 only) minimum and median wall seconds and the median CPU seconds (all of onnxruntime's threads) over the
rounds, after one warm-up run each; then the fp16/int8 ratio per size. Ratios are the point: on a
shared machine only ratios measured in the same run, interleaved, mean anything.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from alphacut import Remover
from alphacut.options import Options
from alphacut.runtime.kernels import amx_granted, onnx_kernels, read_cpu_info

MODELS = ("isnet-general-use-int8-static", "isnet-general-use-fp16")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1024,768")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--image", type=Path, default=Path("samples/coffee.jpg"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    cpu = read_cpu_info()
    print(f"cpu: {cpu.model}; features seen: {', '.join(cpu.features)}"
          + (f"; hidden: {', '.join(cpu.hidden_features)}" if cpu.hidden else ""))
    print(f"int8 kernel: {onnx_kernels(cpu, amx=amx_granted())[1].kernel}")
    removers = {m: Remover(m, threads=args.threads) for m in MODELS}
    jobs = []
    for m, r in removers.items():
        r.wait_ready()
        for s in sizes:
            if m == MODELS[1] and s != 1024:
                continue  # the fp16 file is fixed at 1024x1024
            prepared = r._prepare(args.image, Options.from_kwargs(format="mask", resolution=s))
            r._infer(prepared)  # warm-up
            jobs.append((m, s, r, prepared))
    walls: dict[tuple[str, int], list[float]] = {(m, s): [] for m, s, _, _ in jobs}
    cpus: dict[tuple[str, int], list[float]] = {(m, s): [] for m, s, _, _ in jobs}
    for i in range(args.repeat):
        for m, s, r, prepared in jobs[i % len(jobs):] + jobs[:i % len(jobs)]:
            w0, c0 = time.perf_counter(), time.process_time()
            r._infer(prepared)
            walls[(m, s)].append(time.perf_counter() - w0)
            cpus[(m, s)].append(time.process_time() - c0)
    rows = {f"{m}@{s}": {"wall_min": min(walls[(m, s)]), "wall_median": statistics.median(walls[(m, s)]),
                         "cpu_median": statistics.median(cpus[(m, s)])} for m, s, _, _ in jobs}
    for k, v in rows.items():
        print(f"{k:<40} wall min {v['wall_min']:.3f} s, median {v['wall_median']:.3f} s; CPU median {v['cpu_median']:.3f} s")
    for s in [s for s in sizes if f"{MODELS[1]}@{s}" in rows]:
        a, b = rows[f"{MODELS[1]}@{s}"], rows[f"{MODELS[0]}@{s}"]
        print(f"fp16/int8 at {s} px: wall min {a['wall_min'] / b['wall_min']:.2f}x, "
              f"wall median {a['wall_median'] / b['wall_median']:.2f}x, CPU {a['cpu_median'] / b['cpu_median']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu.model, "features": cpu.features, "hidden": cpu.hidden_features,
                                         "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
