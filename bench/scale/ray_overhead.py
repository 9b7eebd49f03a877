"""Ray's fixed and per-image overhead for `alphacut remove --ray`, with a model that costs ~nothing.

    .venv/bin/python bench/scale/ray_overhead.py --count 300 --repeat 2

The tiny test model of tests/unit/conftest.py (one ONNX op deep) in a temporary ALPHACUT_HOME, on
`count` generated 96x64 PNGs: what remains of a run's time is reading, decoding, encoding and
writing (the same locally and on Ray) plus Ray's start-up and per-task costs. Local batch and
--ray (a local Ray started per job) alternate `repeat` times; one JSON line per run, then a
summary: Ray's start-up (to the first result) and its extra seconds per image after that.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench" / "scale"))

from ray_scale import run
from tests.unit.conftest import make_tiny_onnx, square_image


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from alphacut.models.store import ModelStore

    with tempfile.TemporaryDirectory(prefix="acover") as tmp:
        base = Path(tmp)
        os.environ["ALPHACUT_HOME"] = str(base / "home")
        ModelStore(base / "home").add("tiny-test", make_tiny_onnx(base / "tiny.onnx"), input_size=64,
                                      mean=(0.5, 0.5, 0.5), std=(1.0, 1.0, 1.0))
        for i in range(args.count):
            (base / "in" / f"{i % 10}").mkdir(parents=True, exist_ok=True)
            square_image(96, 64, fg=(i % 200, 30, 200)).save(base / "in" / f"{i % 10}" / f"{i:04d}.png")
        rows = []
        for _ in range(args.repeat):
            for ray in (False, True):
                row = run(base / "in", base / ("ray" if ray else "local"), ray, ["-m", "tiny-test"])
                print(json.dumps(row), flush=True)
                rows.append(row)
    local = statistics.median(float(r["seconds"]) for r in rows if r["tool"] == "local")
    ray_rows = [r for r in rows if r["tool"] == "ray"]
    first = statistics.median(float(r["first_result_s"]) for r in ray_rows)
    steady = statistics.median(float(r["seconds"]) - float(r["first_result_s"]) for r in ray_rows)
    n = args.count
    print(f"local: {local:.2f} s for {n} images ({local / n * 1000:.1f} ms/image)")
    print(f"ray: first result after {first:.1f} s, then {steady:.2f} s for the rest "
          f"({steady / (n - 1) * 1000:.1f} ms/image)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
