"""Build the benchmark image set: mixed sizes, every image with its ground truth, deterministic.

    PYTHONPATH=src python bench/data/make_bench_set.py --evaldata ../shared/evaldata --out out/benchset

Writes ``<out>/images/<name>.jpg|png``, ``<out>/gt/<name>.png`` (8-bit matte, same size as the image)
and ``<out>/manifest.json`` (source pair, size, whether 128 in the GT means "unknown, don't score").
The whole logic lives in alphacut.eval.benchset.make_bench_set so `alphacut bench` and the tests share it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alphacut.eval.benchset import DEFAULT_BENCH_MIX, make_bench_set


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaldata", type=Path, required=True,
                        help="folder of <set>/images + <set>/gt, e.g. ../shared/evaldata")
    parser.add_argument("--out", type=Path, required=True, help="folder to create (must be empty or absent)")
    args = parser.parse_args(argv)
    manifest = make_bench_set(args.evaldata, args.out, mix=DEFAULT_BENCH_MIX)
    mp = sum(e["width"] * e["height"] for e in manifest["images"]) / 1e6
    print(f"{len(manifest['images'])} images ({mp:.1f} MP in all) in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
