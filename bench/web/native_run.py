"""session.run of a model in native onnxruntime (the server's runtime), timed: the native side of the
page's WASM measurement (bench/web/web_ort.mjs), same model file, thread count and input size. Under
bench/avx2only/run.sh the same process sees a CPU without AVX-512, VNNI and AMX, so the two runs show what
the int8 kernels' instruction set is worth on this machine.

    .venv/bin/python bench/web/native_run.py ~/.cache/alphacut/models/isnet-general-use-int8-static.onnx --threads 2
    bench/avx2only/run.sh .venv/bin/python bench/web/native_run.py ~/.cache/alphacut/models/isnet-general-use-int8-static.onnx
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import onnxruntime as ort


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    t0 = time.perf_counter()
    session = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    create_ms = (time.perf_counter() - t0) * 1000
    x = np.random.default_rng(12345).uniform(-2, 2, (1, 3, args.size, args.size)).astype(np.float32)
    feeds = {session.get_inputs()[0].name: x}
    times = []
    for _ in range(args.runs + 1):  # the first is a warm-up
        t = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - t) * 1000)
    print(json.dumps({"model": args.model, "threads": args.threads, "size": args.size, "create_ms": round(create_ms),
                      "warmup_ms": round(times[0]), "run_ms": [round(t) for t in times[1:]],
                      "median_run_ms": round(statistics.median(times[1:]))}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
