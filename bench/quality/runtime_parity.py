"""Two inference runtimes (or precisions) on every evaldata image: matte parity, quality and speed.

    python bench/quality/runtime_parity.py --out out/parity/int8.json                       # ORT vs OpenVINO, int8-static
    python bench/quality/runtime_parity.py --b openvino:f32 --out out/parity/int8-f32.json  # OpenVINO with f32 forced
    python bench/quality/runtime_parity.py --model isnet-general-use-fp16 --out out/parity/fp16.json

Each side is RUNTIME[:PRECISION] (runtime/choice.py; PRECISION is OpenVINO's INFERENCE_PRECISION_HINT:
f32 / bf16 / f16, empty = OpenVINO's default for the CPU). For every image of every evaldata set it
runs alphacut's default pipeline (Remover.matte: the full-resolution matte a user gets) on side A
and side B in the same process, alternating which goes first, and records per image: the mean and
max |alpha difference| between the two mattes, each side's MAE against the ground truth (grabcut's
unknown band left out, as alphacut.eval does) and each side's network time (backend.run, median of
the image's runs). The summary (stdout, Markdown) gives per set: images, mean and worst per-image
mean |diff| (target: every image <= 1/255), mean MAE of A and B and their difference, and the
network-time ratio. The JSON keeps every image. Resumable: images already in --out are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))

from alphacut.api import Remover
from alphacut.eval.sets import discover_sets, load_gt
from alphacut.options import Options


class TimedBackend:
    """Wraps a backend to time its runs (the network alone)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.times: list[float] = []

    @property
    def info(self) -> Any:
        return self.inner.info

    def run(self, batch: np.ndarray) -> np.ndarray:
        t = time.perf_counter()
        out = self.inner.run(batch)
        self.times.append(time.perf_counter() - t)
        return out  # type: ignore[no-any-return]


def side(text: str, model: str | None, threads: int) -> tuple[Remover, TimedBackend]:
    runtime, _, precision = text.partition(":")
    r = Remover(model, threads=threads, runtime=runtime)
    if precision:  # rebuild the backend with a forced precision (OpenVINO only)
        from alphacut.runtime.choice import load_backend

        spec, store = r.spec, r._store
        assert store is not None
        backend = load_backend(store.path(spec.id), runtime=runtime, output_index=spec.output_index,
                               threads=threads, name=spec.id, optimized_dir=store.optimized_dir,
                               model_hash=spec.checksum, input_hw=(spec.input_size, spec.input_size),
                               precision=precision)
        r = Remover(spec, backend=backend, face_landmarks=False)
    r.wait_ready()
    timed = TimedBackend(r.backend)
    return Remover(r.spec, r.options, backend=timed, face_landmarks=False), timed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--evaldata", type=Path, default=REPO.parent / "shared" / "evaldata")
    ap.add_argument("--a", default="onnxruntime", help="side A: RUNTIME[:PRECISION] (default onnxruntime)")
    ap.add_argument("--b", default="openvino", help="side B: RUNTIME[:PRECISION] (default openvino)")
    ap.add_argument("--model", default=None, help="model id (default: the catalog default)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--every", type=int, default=1, help="every Nth image of each set (default all)")
    ap.add_argument("--out", type=Path, required=True, help="JSON with every image (resumed if present)")
    args = ap.parse_args()
    if not args.evaldata.is_dir():
        print(f"--evaldata {args.evaldata} is not a folder", file=sys.stderr)
        return 2
    done: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    rows: dict[str, Any] = done.setdefault("images", {})
    done.update({"a": args.a, "b": args.b, "model": args.model, "threads": args.threads})
    rem_a, timed_a = side(args.a, args.model, args.threads)
    rem_b, timed_b = side(args.b, args.model, args.threads)
    done["runtime_a"], done["runtime_b"] = rem_a.backend.info.runtime, rem_b.backend.info.runtime
    done["precision_a"], done["precision_b"] = rem_a.backend.info.precision, rem_b.backend.info.precision
    opts = Options()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    for s in discover_sets(args.evaldata):
        for i, pair in enumerate(s.pairs[:: args.every]):
            key = f"{s.name}/{pair.stem}"
            if key in rows:
                continue
            order = [(rem_a, timed_a), (rem_b, timed_b)]
            if i % 2:
                order.reverse()  # alternate which side runs first (caches, clocks)
            mattes = {}
            net = {}
            for rem, timed in order:
                timed.times.clear()
                mattes[id(rem)] = rem.matte(pair.image, opts)
                net[id(rem)] = statistics.median(timed.times)
            a, b = mattes[id(rem_a)], mattes[id(rem_b)]
            gt, valid = load_gt(pair.gt, has_unknown=s.has_unknown)
            diff = np.abs(a - b)
            w = valid if valid is not None else np.ones(gt.shape, bool)
            rows[key] = {"set": s.name, "mean_abs_diff": float(diff.mean()), "max_abs_diff": float(diff.max()),
                         "mae_a": float(np.abs(a - gt)[w].mean()), "mae_b": float(np.abs(b - gt)[w].mean()),
                         "net_a_s": net[id(rem_a)], "net_b_s": net[id(rem_b)], "wh": [a.shape[1], a.shape[0]]}
            n += 1
            if n % 10 == 0:
                tmp = args.out.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(done))
                tmp.replace(args.out)
                print(f"{n} images, last {key}: diff {rows[key]['mean_abs_diff']:.5f}", file=sys.stderr)
    done["load"] = os.getloadavg()
    tmp = args.out.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(done))
    tmp.replace(args.out)
    print(summary(done))
    return 0


def summary(done: dict[str, Any]) -> str:
    rows = list(done["images"].values())
    head = ("| set | images | mean \\|diff\\| (mean / worst image) | images > 1/255 | MAE A | MAE B | B - A | "
            "network A / B (median s) |")
    lines = [(f"A = {done['a']} ({done.get('runtime_a')}, {done.get('precision_a')}), "
              f"B = {done['b']} ({done.get('runtime_b')}, {done.get('precision_b')}), model {done['model'] or 'default'}"),
             "", head, "|---|---|---|---|---|---|---|---|"]
    sets = sorted({r["set"] for r in rows})
    fold_a, fold_b = [], []
    for name in [*sets, "all"]:
        rs = rows if name == "all" else [r for r in rows if r["set"] == name]
        d = [r["mean_abs_diff"] for r in rs]
        ma = statistics.fmean(r["mae_a"] for r in rs)
        mb = statistics.fmean(r["mae_b"] for r in rs)
        if name != "all":
            fold_a.append(ma)
            fold_b.append(mb)
        na = statistics.median(r["net_a_s"] for r in rs)
        nb = statistics.median(r["net_b_s"] for r in rs)
        over = sum(x > 1 / 255 for x in d)
        lines.append(f"| {name} | {len(rs)} | {statistics.fmean(d):.5f} / {max(d):.5f} | {over} | {ma:.4f} | {mb:.4f} "
                     f"| {mb - ma:+.5f} | {na:.3f} / {nb:.3f} ({na / nb:.2f}x) |")
    if fold_a:
        ma, mb = statistics.fmean(fold_a), statistics.fmean(fold_b)
        lines += ["", f"Mean over sets (each set weighs the same): MAE A {ma:.5f}, B {mb:.5f}, B - A {mb - ma:+.5f}."]
    lines.append(f"Load average at the end: {done.get('load')}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
