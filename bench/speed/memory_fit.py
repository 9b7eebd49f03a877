"""Peak RSS of one cutout for a grid of image sizes, model resolutions and options: the data behind
alphacut.cost's coefficients (docs/LIMITS.md). Each case is a fresh `alphacut remove` process; its
peak RSS comes from os.wait4 (alphacut.eval.measure.spawn_measured).

    PYTHONPATH=src python bench/speed/memory_fit.py --out /tmp/memfit.json [--backend-note onnxruntime]

Then compare each case's peak with alphacut.cost.estimate_peak_bytes (printed in the last column):
the estimate must stay above every measured peak minus the process's base (the smallest case).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from PIL import Image

CASES = [  # (megapixels, resolution, extra flags)
    (0.004, 320, ()), (0.004, 1024, ()), (1, 1024, ()), (6, 1024, ()), (24, 1024, ()), (48, 1024, ()),
    (1, 512, ()), (1, 2048, ()), (1, 3072, ()), (0.004, 4096, ()), (24, 2048, ()),
    (6, 1024, ("--quality", "best")), (6, 1024, ("--refine", "matting")), (6, 1024, ("-f", "jpg")),
    (24, 1024, ("--quality", "best")), (24, 1024, ("png",)), (100, 1024, ()), (100, 1024, ("png",)),
]


def photo(path: Path, megapixels: float, seed: int = 0) -> tuple[int, int]:
    """A photo-like image (alphacut.eval.benchset.synthetic_photo) as JPEG or PNG (by suffix)."""
    from alphacut.eval.benchset import synthetic_photo

    w = max(64, int((megapixels * 1e6 * 1.5) ** 0.5))
    h = max(64, int(w / 1.5))
    Image.fromarray(synthetic_photo(w, h, seed), "RGB").save(path, quality=90, compress_level=1)
    return w, h


def main() -> None:
    from alphacut.eval.measure import alphacut_command, spawn_measured

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", default=None)
    ap.add_argument("--only", type=int, nargs="*", help="case indices")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (mp, res, extra) in enumerate(CASES):
            if args.only and i not in args.only:
                continue
            png = "png" in extra
            extra = tuple(e for e in extra if e != "png")
            src = Path(tmp) / f"in{mp}.{'png' if png else 'jpg'}"
            if not src.exists():
                wh = photo(src, mp)
            with Image.open(src) as im:
                wh = im.size
            dst = Path(tmp) / "out.png"
            dst.unlink(missing_ok=True)
            cmd = ["--offline", "remove", str(src), "-o", str(dst), "-q", "--overwrite", "--resolution", str(res),
                   *extra]
            if args.model:
                cmd += ["-m", args.model]
            m = spawn_measured(alphacut_command(*cmd))
            row = {"w": wh[0], "h": wh[1], "input": src.suffix, "bytes": src.stat().st_size, "resolution": res,
                   "extra": list(extra), "peak_rss_mb": m.peak_rss_mb,
                   "wall_s": m.wall_s, "rc": m.returncode}
            if m.returncode:
                row["stderr"] = m.stderr[-400:]
            rows.append(row)
            print(json.dumps(row), flush=True)
            args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    sys.exit(main())
