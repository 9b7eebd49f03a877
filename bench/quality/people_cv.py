"""ISNet (the default) and MODNet (portrait matting) alone and fused, chosen by leave-one-set-out CV.

    python bench/quality/people_cv.py cache [--sets a,b] [--threads 2]   # each network's full-size matte, once per image
    python bench/quality/people_cv.py faces                               # the face detectors' boxes, once per image
    python bench/quality/people_cv.py cv > out/people/cv.md               # score every candidate, run the CV

`cache` runs the library itself (``alphacut.Remover(model).matte(image)``: preprocessing, mirroring,
levels, guided refinement, exactly what ships) for the default model and for ``modnet``, and stores
each full-size matte as uint16 in OUT/cache/<model>/<set>/<stem>.npz (resumable: an image already
cached is skipped). `faces` stores the face boxes of runtime/faces.py's detector(s) per image.

`cv` turns the cached mattes into candidates (pure numpy, no network):
  isnet                 the default's matte (what alphacut ships today)
  modnet                MODNet's matte alone
  band:R                ISNet outside its edge band, MODNet inside it (the band: pixels within R% of
                        the image's diagonal of ISNet's 0.5 contour), everywhere
  band:R@iou:T          the same, only on images where ISNet's and MODNet's masks agree (IoU of
                        their >0.5 masks >= T: MODNet only fires on people, so a high IoU says
                        "the subject is a person"); else ISNet
  band:R@face           the same, only on images where a face is detected; else ISNet
  mean:R@...            inside the band the mean of the two mattes instead of MODNet's
  modnet@iou:T, modnet@face   MODNet's whole matte, only where a person is present; else ISNet
and for each held-out set chooses the candidate that does best on the other sets (--criterion
gmean, the default: the geometric mean of each set's MAE relative to the default's, so every set
counts alike; mean: the mean MAE, which adobe_crops' MAE of ~0.35 dominates; ties: the simpler
candidate), then scores it on the held-out set. MAE and SAD follow
alphacut.eval.metrics (grabcut's 128 band excluded).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))

from alphacut.eval.sets import discover_sets

MODELS = {"isnet": "isnet-general-use-int8-static", "modnet": "modnet"}
PEOPLE_SETS = ("davis_people", "adobe_crops")
BAND_PCT = (0.5, 1.0, 2.0, 4.0)
IOU_T = (0.0, 0.6, 0.75, 0.85, 0.9)


def items(evaldata: Path, only: set[str] | None = None) -> list[tuple[str, str, Path, Path, bool]]:
    out = []
    for s in discover_sets(evaldata):
        if only and s.name not in only:
            continue
        out += [(s.name, p.stem, p.image, p.gt, s.has_unknown) for p in s.pairs]
    return out


def cache_path(out: Path, model: str, set_name: str, stem: str) -> Path:
    return out / "cache" / model / set_name / f"{stem}.npz"


def run_cache(evaldata: Path, out: Path, models: list[str], only: set[str] | None, threads: int,
              reverse: bool = False) -> None:
    import os

    from alphacut import Remover
    todo = items(evaldata, only)[::-1 if reverse else 1]  # reversed: a second process from the other end
    for model in models:
        remover = Remover(MODELS[model], threads=threads).wait_ready()
        t0, done = time.perf_counter(), 0
        for set_name, stem, image, _, _ in todo:
            path = cache_path(out, model, set_name, stem)
            if path.is_file():
                continue
            with Image.open(image) as im:
                rgb = np.asarray(im.convert("RGB"))
            m = remover.matte(rgb)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez_compressed(tmp, m=np.round(np.clip(m, 0, 1) * 65535).astype(np.uint16))
            tmp.replace(path)
            done += 1
            if done % 25 == 0:
                print(f"cache {model}: {done} images, {(time.perf_counter() - t0) / done:.2f} s/image",
                      file=sys.stderr, flush=True)
        print(f"cache {model}: done ({done} new)", file=sys.stderr, flush=True)


def run_faces(evaldata: Path, out: Path, detectors: list[str]) -> None:
    """Each image's face boxes: haar (runtime/faces.detect_faces) or blazeface (FaceDetector, full range)."""
    from alphacut.config import load_settings
    from alphacut.models.store import ModelStore
    from alphacut.runtime import faces

    path = out / "faces.json"
    known = json.loads(path.read_text()) if path.is_file() else {}
    for det in detectors:
        found = known.setdefault(det, {})
        if det == "blazeface":
            detector = faces.FaceDetector(ModelStore(load_settings().home_path).ensure("mediapipe-face-detection-full"),
                                          config=faces.FULL_RANGE)
            find = detector.detect
        else:
            find = faces.detect_faces
        for set_name, stem, image, _, _ in items(evaldata):
            key = f"{set_name}/{stem}"
            if key in found:
                continue
            with Image.open(image) as im:
                rgb = np.asarray(im.convert("RGB"))
            found[key] = [list(map(float, f.box_xywh)) for f in find(rgb)]
        path.write_text(json.dumps(known))
        print(f"faces {det}: {sum(1 for v in found.values() if v)} images with a face of {len(found)}",
              file=sys.stderr)


# ------------------------------------------------------------------------------------------- fusion
def edge_band(alpha: np.ndarray, radius_px: int) -> np.ndarray:
    """Pixels within radius_px (chessboard-ish, by box dilation) of the matte's 0.5 contour."""
    from scipy import ndimage
    fg = alpha > 0.5
    size = 2 * radius_px + 1
    grown = ndimage.maximum_filter(fg, size=size)
    shrunk = ndimage.minimum_filter(fg, size=size)
    return grown & ~shrunk


def iou(a: np.ndarray, b: np.ndarray) -> float:
    fa, fb = a > 0.5, b > 0.5
    union = np.count_nonzero(fa | fb)
    return 1.0 if union == 0 else np.count_nonzero(fa & fb) / union


def fused(isnet: np.ndarray, modnet: np.ndarray, how: str, band_pct: float) -> np.ndarray:
    h, w = isnet.shape
    radius = max(1, round(band_pct / 100 * float(np.hypot(h, w))))
    band = edge_band(isnet, radius)
    inner = modnet if how == "band" else (isnet + modnet) * 0.5
    return np.where(band, inner, isnet).astype(np.float32)


def scores(pred: np.ndarray, gt: np.ndarray, unknown: bool) -> tuple[float, float]:
    """(MAE, SAD) over the known pixels."""
    g = gt.astype(np.float32) / 255
    diff = np.abs(pred - g)
    if unknown:
        diff = diff[gt != 128]
    return float(diff.mean()), float(diff.sum() / 1000)


def run_cv(evaldata: Path, out: Path, face_detector: str, criterion: str = "gmean") -> None:
    face_boxes = {}
    if (out / "faces.json").is_file():
        face_boxes = json.loads((out / "faces.json").read_text()).get(face_detector, {})
    rows: dict[str, dict[str, list[tuple[float, float]]]] = {}  # candidate -> set -> [(mae, sad)]
    routed: dict[str, dict[str, int]] = {}  # candidate -> set -> images fused
    sets: list[str] = []
    for set_name, stem, _, gt_path, unknown in items(evaldata):
        paths = [cache_path(out, m, set_name, stem) for m in MODELS]
        if not all(p.is_file() for p in paths):
            continue
        if set_name not in sets:
            sets.append(set_name)
        isn, mod = (np.load(p)["m"].astype(np.float32) / 65535 for p in paths)
        gt = np.asarray(Image.open(gt_path).convert("L"))
        agree = iou(isn, mod)
        has_face = bool(face_boxes.get(f"{set_name}/{stem}"))
        cands: dict[str, np.ndarray] = {"isnet": isn, "modnet": mod}
        fusions = {f"{how}:{r}": fused(isn, mod, how, r) for how in ("band", "mean") for r in BAND_PCT}
        fusions["modnet"] = mod  # routed: MODNet's whole matte where a person is present
        for name, m in fusions.items():
            for t in IOU_T:
                if name == "modnet" and t == 0:
                    continue
                key = name if t == 0 else f"{name}@iou:{t}"
                use = agree >= t
                cands[key] = m if use else isn
                routed.setdefault(key, {}).setdefault(set_name, 0)
                routed[key][set_name] += int(use)
            if face_boxes:
                cands[f"{name}@face"] = m if has_face else isn
                routed.setdefault(f"{name}@face", {}).setdefault(set_name, 0)
                routed[f"{name}@face"][set_name] += int(has_face)
        for key, m in cands.items():
            rows.setdefault(key, {}).setdefault(set_name, []).append(scores(m, gt, unknown))

    def set_mae(c: str, s: str) -> float:
        return float(np.mean([r[0] for r in rows[c][s]]))

    def set_sad(c: str, s: str) -> float:
        return float(np.mean([r[1] for r in rows[c][s]]))

    complexity = {c: (0 if c == "isnet" else 1 if c == "modnet" else 2 + c.count("@")) for c in rows}

    def train_score(c: str, train: list[str]) -> float:
        """The training sets' mean MAE (criterion mean), or the geometric mean of each set's MAE
        relative to the default's (gmean: every set counts alike, whatever its MAE's scale)."""
        if criterion == "mean":
            return float(np.mean([set_mae(c, s) for s in train]))
        return float(np.exp(np.mean([np.log(set_mae(c, s) / set_mae("isnet", s)) for s in train])))
    print(f"# ISNet vs MODNet vs fusions, leave-one-set-out over {len(sets)} sets "
          f"({sum(len(v) for v in rows['isnet'].values())} images)\n")
    print("## Each candidate on each set (mean MAE; not out of fold)\n")
    print("| candidate | " + " | ".join(sets) + " | mean |")
    print("|---|" + "---:|" * (len(sets) + 1))
    for c in sorted(rows, key=lambda c: np.mean([set_mae(c, s) for s in sets])):
        vals = [set_mae(c, s) for s in sets]
        print(f"| {c} | " + " | ".join(f"{v:.4f}" for v in vals) + f" | {np.mean(vals):.4f} |")
    print(f"\n## Out of fold (criterion {criterion}): for each held-out set, the candidate that does best on "
          "the others\n")
    print("| held-out set | chosen | images fused | MAE chosen | MAE isnet (default) | change | "
          "SAD chosen | SAD isnet | MAE modnet |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    oof_mae, def_mae = [], []
    for held in sets:
        train = [s for s in sets if s != held]
        tie = 1e-5 if criterion == "mean" else 1e-4
        best = min(rows, key=lambda c: (round(train_score(c, train) / tie), complexity[c]))
        n_fused = len(rows[best][held]) if best == "modnet" else routed.get(best, {}).get(held, 0)
        m_c, m_d = set_mae(best, held), set_mae("isnet", held)
        oof_mae.append(m_c)
        def_mae.append(m_d)
        print(f"| {held} | {best} | {n_fused}/{len(rows[best][held])} | {m_c:.4f} | {m_d:.4f} | "
              f"{(m_c / m_d - 1) * 100:+.1f}% | {set_sad(best, held):.2f} | {set_sad('isnet', held):.2f} | "
              f"{set_mae('modnet', held):.4f} |")
    print(f"| **mean** | | | {np.mean(oof_mae):.4f} | {np.mean(def_mae):.4f} | "
          f"{(np.mean(oof_mae) / np.mean(def_mae) - 1) * 100:+.1f}% | | | |")
    (out / "scores.json").write_text(json.dumps({c: {s: rows[c][s] for s in rows[c]} for c in rows}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["cache", "faces", "cv"])
    ap.add_argument("--evaldata", type=Path, default=REPO.parent / "shared" / "evaldata")
    ap.add_argument("--out", type=Path, default=REPO / "out" / "people")
    ap.add_argument("--models", default="modnet,isnet")
    ap.add_argument("--sets", default="")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reverse", action="store_true", help="cache: from the last image to the first")
    ap.add_argument("--detectors", default="haar")
    ap.add_argument("--face-detector", default="blazeface")
    ap.add_argument("--criterion", choices=["mean", "gmean"], default="gmean")
    a = ap.parse_args()
    if not a.evaldata.is_dir():
        raise SystemExit(f"no evaldata at {a.evaldata}")
    only = set(a.sets.split(",")) if a.sets else None
    if a.step == "cache":
        run_cache(a.evaldata, a.out, a.models.split(","), only, a.threads, a.reverse)
    elif a.step == "faces":
        run_faces(a.evaldata, a.out, a.detectors.split(","))
    else:
        run_cv(a.evaldata, a.out, a.face_detector, a.criterion)


if __name__ == "__main__":
    main()
