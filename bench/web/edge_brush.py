"""The editor's edge-aware brush against the flat one, on evaldata: error against the ground truth.

For each image, alphacut's default cutout is made; its largest wrong region (|matte - truth| > 0.3,
connected, at least 150 px) gets one scripted rough stroke: the region grown by the brush radius
(radius = max(6, 0.25·sqrt(area)) px, coverage falling off over the outer 30% as the page's dabs do),
so the stroke also covers correct pixels around the region, as a hurried hand would. Erase when the
matte is too high there, restore when it is too low. The stroke is applied by web/src/brush.js (Node)
flat and edge-aware; the table gives the mean absolute alpha error inside the stroke's footprint
(grabcut's unknown band left out) for the model, the flat brush and the edge-aware brush.

    PYTHONPATH=src .venv/bin/python bench/web/edge_brush.py               # 4 images per set; EVALDATA=... elsewhere
    PYTHONPATH=src .venv/bin/python bench/web/edge_brush.py --per-set 8 --sets adobe_crops,davis_people
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[2]
EVAL = Path(os.environ.get("EVALDATA", str(ROOT.parent / "shared" / "evaldata")))
SETS = "adobe_crops,davis_people,davis_animals,davis_objects,ebay_products,sod_bsds_dev,grabcut"


def stroke_for(wrong: np.ndarray) -> tuple[np.ndarray, float]:
    """Coverage (0..255) of a rough stroke over the region `wrong`, and the brush radius."""
    area = float(wrong.sum())
    radius = max(6.0, 0.25 * area ** 0.5)
    dist = ndimage.distance_transform_edt(~wrong)
    hard = 0.7 * radius
    c = np.clip(1 - (dist - hard) / (radius - hard), 0, 1)
    c = c * c * (3 - 2 * c)
    return np.rint(c * 255).astype(np.uint8), radius


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-set", type=int, default=4)
    parser.add_argument("--skip", type=int, default=0, help="skip this many images per set (those tuned on)")
    parser.add_argument("--sets", default=SETS)
    parser.add_argument("--evaldata", type=Path, default=EVAL)
    parser.add_argument("--lambda", dest="lam", type=float, default=0.02, help="weight of the stroke's target")
    parser.add_argument("--eps", type=float, default=1e-2, help="guided filter regularisation")
    parser.add_argument("--cache", type=Path, default=None, help="keep the model's mattes here (.npy)")
    args = parser.parse_args()
    if not args.evaldata.is_dir():
        print(f"{args.evaldata} is missing: nothing to measure", file=sys.stderr)
        return 2
    from alphacut.api import Remover

    remover = Remover()
    print(f"edge-aware: lambda {args.lam}, eps {args.eps}", file=sys.stderr)
    rows = []
    for name in args.sets.split(","):
        images = sorted((args.evaldata / name / "images").iterdir())[args.skip: args.skip + args.per_set]
        for image in images:
            gt_u8 = np.asarray(Image.open(args.evaldata / name / "gt" / (image.stem + ".png")).convert("L"))
            known = gt_u8 != 128 if name == "grabcut" else np.ones(gt_u8.shape, bool)
            gt = gt_u8.astype(np.float32) / 255
            cached = args.cache / f"{name}-{image.stem}.npy" if args.cache else None
            if cached and cached.is_file():
                alpha = np.load(cached)
            else:
                alpha = remover.cutout(str(image)).alpha
                if cached:
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    np.save(cached, alpha)
            diff = alpha - gt
            labels, count = ndimage.label((np.abs(diff) > 0.3) & known)
            if not count:
                continue
            sizes = ndimage.sum(np.ones_like(labels), labels, range(1, count + 1))
            k = int(np.argmax(sizes)) + 1
            if sizes[k - 1] < 150:
                continue
            wrong = labels == k
            erase = bool(diff[wrong].mean() > 0)
            mask, radius = stroke_for(wrong)
            ys, xs = np.nonzero(mask)
            box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
            h, w = alpha.shape
            rgba = np.full((h, w, 4), 255, np.uint8)
            rgba[:, :, :3] = np.asarray(Image.open(image).convert("RGB"))
            a_u8 = np.clip(np.rint(alpha * 255), 0, 255).astype(np.uint8)
            with tempfile.TemporaryDirectory() as tmp:
                d = Path(tmp)
                (d / "photo.u8").write_bytes(rgba.tobytes())
                (d / "alpha.u8").write_bytes(a_u8.tobytes())
                (d / "mask.u8").write_bytes(mask.tobytes())
                job = {"dir": tmp, "w": w, "h": h, "erase": erase, "radius": radius, "box": box, "lambda": args.lam,
                       "eps": args.eps}
                proc = subprocess.run(["node", str(ROOT / "bench" / "web" / "edge_brush.mjs")], input=json.dumps(job),
                                      capture_output=True, text=True, check=True)
                ms = json.loads(proc.stdout)["ms"]
                flat = np.frombuffer((d / "flat.u8").read_bytes(), np.uint8).reshape(h, w) / 255
                edge = np.frombuffer((d / "edge.u8").read_bytes(), np.uint8).reshape(h, w) / 255
            foot = (mask > 0) & known
            errors = [float(np.abs(a - gt)[foot].mean()) for a in (a_u8 / 255, flat, edge)]
            rows.append((name, image.stem, "erase" if erase else "restore", int(wrong.sum()), int(foot.sum()),
                         radius, *errors, ms))
            print(f"{name}/{image.stem}: {rows[-1][2]} {rows[-1][3]} px wrong, footprint {rows[-1][4]} px, "
                  f"r {radius:.0f}: model {rows[-1][6]:.4f} flat {rows[-1][7]:.4f} edge-aware {rows[-1][8]:.4f} "
                  f"({ms:.0f} ms)", file=sys.stderr)
    print("| image | stroke | wrong px | footprint px | model MAE | flat brush | edge-aware |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]}/{r[1]} | {r[2]} r={r[5]:.0f} | {r[3]} | {r[4]} | {r[6]:.4f} | {r[7]:.4f} | {r[8]:.4f} |")
    if rows:
        m = np.array([r[6:9] for r in rows])
        better = int((m[:, 2] < m[:, 1]).sum())
        print(f"| **mean of {len(rows)}** | | | | {m[:, 0].mean():.4f} | {m[:, 1].mean():.4f} | {m[:, 2].mean():.4f} |")
        print(f"\nEdge-aware better than flat on {better} of {len(rows)} strokes; edge-aware target time "
              f"median {np.median([r[9] for r in rows]):.0f} ms.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
