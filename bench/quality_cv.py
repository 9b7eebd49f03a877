"""Input/output variants of the model step, cached per image, and chosen by leave-one-set-out CV.

Three steps, each resumable:

    python bench/quality_cv.py border                 # build the border fold (subjects cut by a frame edge)
    python bench/quality_cv.py cache                  # run the network once per image per input variant
    python bench/quality_cv.py cv > out/quality/cv.md # score every candidate from the cache, run the CV

`border` crops images of evaldata's binary sets (davis_*, sod_bsds_dev, ebay_products) so that
the subject is cut by the bottom or right edge of a 16:9 or 9:16 frame, like a webcam shot or a
video frame, and writes them with their ground truth to OUT/border/<source set>/{images,gt}.
The crop is chosen from the ground truth (where the subject is); nothing is resized.

`cache` runs the default model (or --model) on every image of every fold for each input variant
and stores the model's output over the image's part of the input (uint16, compressed) in
OUT/cache/<variant>/<fold>/<stem>.npz. A variant that gives the very same input as another for an
image (every geometry on a square image) is stored once and linked.

`cv` turns each cached output into a matte at the image's size with each output variant, scores
it (MAE, max F-beta: alphacut.eval.metrics' conventions), and for each fold chooses the candidate
with the lowest mean-over-sets MAE on the other folds (ties within --tie MAE: higher max F-beta,
then the simpler candidate) and scores it on the held-out fold. Peers' mattes
(OUT_COMPARE/<tool>/<set>/<stem>.png, from bench/compare_quality.sh) are scored alongside.

Folds: the 8 evaldata sets plus `border` (all border images). When a fold is held out, border
images cut from that set are left out of the training side too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from alphacut import pipeline  # noqa: E402
from alphacut.eval.sets import EvalSet, discover_sets, load_gt  # noqa: E402
from alphacut.options import Refine  # noqa: E402

BORDER_SOURCES = ("davis_people", "davis_animals", "davis_objects", "sod_bsds_dev", "ebay_products")
BORDER_PER_SOURCE = 12
MODEL_WH = (1024, 1024)


# ------------------------------------------------------------------------------------------ border
def border_crop(gt: np.ndarray, kind: str) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of a crop whose edge cuts the subject at 65% of its extent, or None."""
    h, w = gt.shape
    ys, xs = np.nonzero(gt > 0.5)
    if len(ys) < 500:
        return None
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    aspect = {"bottom-16x9": 16 / 9, "right-16x9": 16 / 9, "bottom-9x16": 9 / 16}[kind]
    if kind.startswith("bottom"):
        cut = int(top + 0.65 * (bottom - top))
        ch = min(cut, int(w / aspect))  # as tall as the image allows above the cut
        cw = int(round(ch * aspect))
        cx = (left + right) // 2
        x0 = int(np.clip(cx - cw // 2, 0, w - cw))
        box = (x0, cut - ch, x0 + cw, cut)
    else:
        cut = int(left + 0.65 * (right - left))
        cw = min(cut, int(h * aspect))
        ch = int(round(cw / aspect))
        cy = (top + bottom) // 2
        y0 = int(np.clip(cy - ch // 2, 0, h - ch))
        box = (cut - cw, y0, cut, y0 + ch)
    x0, y0, x1, y1 = box
    if min(x1 - x0, y1 - y0) < 160:
        return None
    crop = gt[y0:y1, x0:x1] > 0.5
    edge = crop[-1, :] if kind.startswith("bottom") else crop[:, -1]
    if edge.mean() < 0.05 or not 0.02 < crop.mean() < 0.95:
        return None
    return box


def build_border(evaldata: Path, out: Path) -> None:
    kinds = ("bottom-16x9", "bottom-16x9", "right-16x9", "bottom-9x16")
    for name in BORDER_SOURCES:
        s = EvalSet.from_dirs(evaldata / name / "images", evaldata / name / "gt", name=name)
        (out / name / "images").mkdir(parents=True, exist_ok=True)
        (out / name / "gt").mkdir(parents=True, exist_ok=True)
        made = 0
        step = max(1, len(s.pairs) // (2 * BORDER_PER_SOURCE))
        for i, pair in enumerate(s.pairs[::step]):
            if made >= BORDER_PER_SOURCE:
                break
            g = np.asarray(Image.open(pair.gt).convert("L"))
            kind = kinds[made % len(kinds)]
            box = border_crop(g.astype(np.float32) / 255, kind)
            if box is None:
                continue
            stem = f"{pair.stem}__{kind}"
            with Image.open(pair.image) as im:
                im.convert("RGB").crop(box).save(out / name / "images" / f"{stem}.png")
            Image.fromarray(g).crop(box).save(out / name / "gt" / f"{stem}.png")
            made += 1
        print(f"border: {name}: {made} crops", file=sys.stderr)


# ------------------------------------------------------------------------------------------ folds
@dataclass(frozen=True)
class Item:
    fold: str
    source: str  # the evaldata set the image comes from
    stem: str
    image: Path
    gt: Path
    has_unknown: bool
    soft: bool
    origin: str = ""  # the evaldata set its subject comes from (left out of training when that set is held out)


def load_items(evaldata: Path, border: Path, extra: list[Path], every: int = 1) -> list[Item]:
    """Every fold's images; of evaldata's sets only every `every`-th image (sorted by stem)."""
    items = []
    for s in discover_sets(evaldata):
        items += [Item(s.name, s.name, p.stem, p.image, p.gt, s.has_unknown, s.soft, s.name) for p in s.pairs[::every]]
    if border.is_dir():
        for s in discover_sets(border):
            items += [Item("border", s.name, p.stem, p.image, p.gt, False, False, s.name) for p in s.pairs]
    for root in extra:  # one more fold per root, e.g. synthetic clips: <root>/<clip>/{images,gt}, every 3rd frame
        origin = {}
        if (root / "manifest.json").is_file():  # alphacut.video.synth's clips name their subjects' sets
            origin = {c["name"]: c["subjects"][0].split("/")[0] for c in json.loads((root / "manifest.json").read_text())["clips"]}
        for s in discover_sets(root):
            items += [Item(root.name, s.name, p.stem, p.image, p.gt, s.has_unknown, s.soft, origin.get(s.name, ""))
                      for p in s.pairs[::3]]
    return items


# --------------------------------------------------------------------------------- input variants
def _resize(rgb: np.ndarray, wh: tuple[int, int], filt: str) -> np.ndarray:
    if filt == "auto":  # the library's rule: bicubic when enlarging, antialiased bilinear when reducing
        from alphacut.io.decode import resize_for_model
        return resize_for_model(rgb, wh)
    f = {"lanczos": Image.Resampling.LANCZOS, "bilinear": Image.Resampling.BILINEAR,
         "bicubic": Image.Resampling.BICUBIC}[filt]
    return np.asarray(Image.fromarray(rgb).resize(wh, f))


def make_input(rgb: np.ndarray, variant: str) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The model input (H×W×3 float32, normalized) and the image's box (x0, y0, w, h) in it."""
    h, w = rgb.shape[:2]
    geom, filt, norm = (variant.split(":") + ["auto", "authors"])[:3]
    mw, mh = MODEL_WH
    if geom == "stretch":
        cw, ch = mw, mh
    else:
        a = np.sqrt((w / h) * (mw / mh))
        cw, ch = (mw, mw / a) if a >= 1 else (mh * a, mh)
        cw, ch = min(mw, max(1, int(cw + 0.5))), min(mh, max(1, int(ch + 0.5)))
    small = _resize(rgb, (cw, ch), filt).astype(np.float32)
    if norm == "divmax":  # rembg: divide by the image's own maximum
        x = small / max(float(rgb.max()), 1.0) - 0.5
    else:
        x = small / 255.0 - 0.5
    x0 = y0 = 0
    if geom == "half-centre-reflect":
        x0, y0 = (mw - cw) // 2, (mh - ch) // 2
    pad = ((y0, mh - ch - y0), (x0, mw - cw - x0), (0, 0))
    mode = {"stretch": "edge", "half-edge": "edge", "half-reflect": "symmetric",
            "half-centre-reflect": "symmetric"}[geom]
    if any(p for pp in pad for p in pp):
        x = np.pad(x, pad, mode=mode)  # type: ignore[call-overload]
    return x, (x0, y0, cw, ch)


def input_key(rgb: np.ndarray, variant: str) -> str:
    """Variants that give the same input for this image share one cache entry."""
    h, w = rgb.shape[:2]
    geom, filt, norm = (variant.split(":") + ["auto", "authors"])[:3]
    if w == h:
        geom = "stretch"
    if norm == "divmax" and rgb.max() == 255:
        norm = "authors"
    return ":".join((geom, filt, norm))


def cache_path(out: Path, key: str, item: Item) -> Path:
    return out / "cache" / key.replace(":", "_") / item.fold / item.source / f"{item.stem}.npz"


def run_cache(items: list[Item], variants: list[str], out: Path, model: str, threads: int) -> None:
    from alphacut.api import Remover
    remover = Remover(model, threads=threads).wait_ready()
    backend = remover.backend
    todo = [(v, it) for v in variants for it in items]
    t_start, done = time.perf_counter(), 0
    for v, it in todo:
        with Image.open(it.image) as im:
            rgb = np.asarray(im.convert("RGB"))
        key = input_key(rgb, v)
        path = cache_path(out, key, it)
        if path.is_file():
            continue
        x, (x0, y0, cw, ch) = make_input(rgb, key)
        batch = np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
        raw = backend.run(batch)[0, 0, y0:y0 + ch, x0:x0 + cw]
        path.parent.mkdir(parents=True, exist_ok=True)
        q = np.round(np.clip(raw, 0, 1) * 65535).astype(np.uint16)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, low=q)
        tmp.replace(path)
        done += 1
        if done % 20 == 0:
            el = time.perf_counter() - t_start
            print(f"cache: {done} runs, {el / done:.2f} s/run, last {key} {it.fold}/{it.stem}", file=sys.stderr)


def load_low(out: Path, rgb: np.ndarray, variant: str, item: Item) -> np.ndarray | None:
    path = cache_path(out, input_key(rgb, variant), item)
    if not path.is_file():
        return None
    return np.load(path)["low"].astype(np.float32) / 65535


# -------------------------------------------------------------------------------- output variants
def to_matte(low: np.ndarray, rgb: np.ndarray, output: str) -> np.ndarray:
    h, w = rgb.shape[:2]
    if output.startswith("minmax+"):
        lo, hi = float(low.min()), float(low.max())
        low = (low - lo) / max(hi - lo, 1e-6)
        output = output[len("minmax+"):]
    if output == "lin":  # the library's default path (guided when the photo is >= 2x the matte)
        return pipeline.refine_matte(low.astype(np.float32), rgb, Refine.GUIDED)
    f = {"lanczos": Image.Resampling.LANCZOS, "bicubic": Image.Resampling.BICUBIC}[output]
    m = np.asarray(Image.fromarray(low.astype(np.float32), "F").resize((w, h), f))
    return np.clip(m, 0, 1)


# ----------------------------------------------------------------------------------------- scores
class Scorer:
    """MAE and the F-beta curve of alphacut.eval.metrics.SetAccumulator, per (candidate, fold)."""

    def __init__(self) -> None:
        import warnings

        import py_sod_metrics as sod
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._fm = sod.Fmeasure()
        self.mae: dict[str, float] = {}
        self.fcurve: dict[str, np.ndarray] = {}

    def add(self, stem: str, pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None) -> None:
        pred = np.clip(pred, 0, 1)
        d = np.abs(pred - gt)
        self.mae[stem] = float((d[valid] if valid is not None else d).mean())
        p8 = np.rint(pred * 255).astype(np.uint8)
        g8 = np.rint(gt * 255).astype(np.uint8)
        if valid is not None:
            p8 = np.where(valid, p8, 0).astype(np.uint8)
            g8 = np.where(valid, g8, 0).astype(np.uint8)
        self._fm.step(pred=p8.astype(np.float64) / 255, gt=g8 > 128, normalize=False)
        self.fcurve[stem] = np.asarray(self._fm.changeable_fms[-1], np.float64)

    def curve(self, keys: list[str] | None = None) -> np.ndarray:
        """pysodmetrics' F-beta curve: the mean of the per-image curves (of `keys` only, if given)."""
        return np.mean([self.fcurve[k] for k in (keys if keys is not None else self.fcurve)], axis=0)


#: (input variant, output variant, complexity rank); rules are scored from the same cache.
GEOMETRIES = ["half-edge", "stretch", "half-reflect", "half-centre-reflect"]
FILTERS = ["auto", "lanczos"]
OUTPUTS = ["lin", "lanczos", "minmax+lin"]
SIMPLER = {"stretch": 0, "half-reflect": 1, "half-edge": 1, "half-centre-reflect": 2}


def border_touch(low: np.ndarray) -> bool:
    """A subject at the bottom or right edge of the matte (>= 5% of that edge over 0.5)."""
    return bool((low[-1, :] > 0.5).mean() >= 0.05 or (low[:, -1] > 0.5).mean() >= 0.05)


def run_cv(items: list[Item], out: Path, compare: Path, tie: float, rules: bool) -> str:
    cands: dict[str, tuple[str, str, int]] = {}
    variants = [f"{g}:{f}" if f != "auto" else g for f in FILTERS for g in GEOMETRIES] + ["stretch:auto:divmax"]
    evalsets = {it.source for it in items if it.fold == it.source}
    folds = sorted({it.fold for it in items}, key=lambda f: (f not in evalsets, f))
    # Which input variants are complete (every image of every fold cached)?
    rgbs: dict[Path, np.ndarray] = {}

    def rgb_of(it: Item) -> np.ndarray:
        if it.image not in rgbs:
            with Image.open(it.image) as im:
                rgbs[it.image] = np.asarray(im.convert("RGB"))
        return rgbs[it.image]

    done_in = {v: {f for f in folds if all(cache_path(out, input_key(rgb_of(it), v), it).is_file()
                                          for it in items if it.fold == f)} for v in variants}
    complete = [v for v in variants if done_in[v] == set(folds)]
    # Variants cached on some folds only: shown on those folds, never chosen.
    partial = {v: done_in[v] for v in variants if done_in[v] and v not in complete}
    print(f"cv: complete input variants: {complete}; partial: {partial}", file=sys.stderr)
    for v in complete:
        for o in OUTPUTS:
            geom = v.split(":")[0]
            cands[f"{v} · {o}"] = (v, o, SIMPLER[geom] + (v != geom) + (o != "lin"))
    # Rules over two runs: the first variant, and stretch where its matte touches the bottom/right edge.
    rule_bases = [v for v in ("half-reflect", "half-edge") if v in complete] if rules and "stretch" in complete else []
    for base in rule_bases:
        cands[f"{base}, stretch if subject at bottom/right · lin"] = (f"rule:{base}", "lin", 3)

    scorers: dict[tuple[str, str], Scorer] = {}
    peers = [t for t in ("rembg", "imgly") if (compare / t).is_dir()]
    t0 = time.perf_counter()
    for n, it in enumerate(items):
        rgb = rgb_of(it)
        gt, valid = load_gt(it.gt, has_unknown=it.has_unknown)
        key = f"{it.origin}/{it.source}/{it.stem}"
        lows = {v: load_low(out, rgb, v, it) for v in complete}
        for v, fs in partial.items():
            if it.fold in fs:
                low = load_low(out, rgb, v, it)
                assert low is not None
                scorers.setdefault((f"{v} · lin (not on every fold)", it.fold), Scorer()).add(
                    f"{it.origin}/{it.source}/{it.stem}", to_matte(low, rgb, "lin"), gt, valid)
        for name, (v, o, _) in cands.items():
            if v.startswith("rule:"):
                base = v[5:]
                low = lows["stretch"] if border_touch(lows[base]) else lows[base]  # type: ignore[arg-type]
            else:
                low = lows[v]
            assert low is not None
            scorers.setdefault((name, it.fold), Scorer()).add(key, to_matte(low, rgb, o), gt, valid)
        for t in peers:
            p = compare / t / (it.source if it.fold != "border" else "border") / f"{it.stem}.png"
            if p.is_file():
                pred = np.asarray(Image.open(p).convert("L")).astype(np.float32) / 255
                scorers.setdefault((f"peer:{t}", it.fold), Scorer()).add(key, pred, gt, valid)
        rgbs.pop(it.image, None)
        if n % 50 == 49:
            print(f"cv: scored {n + 1}/{len(items)} images ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)

    # A peer is scored on a fold only if it has a matte for every image of that fold.
    fold_n = {f: sum(it.fold == f for it in items) for f in folds}
    for key in [k for k in scorers if k[0].startswith("peer:") and len(scorers[k].mae) < fold_n[k[1]]]:
        print(f"cv: {key[0]} has {len(scorers[key].mae)} of {fold_n[key[1]]} mattes on {key[1]}; not scored there",
              file=sys.stderr)
        del scorers[key]

    def score(name: str, fold: str, exclude_source: str | None = None) -> tuple[float, float]:
        """(MAE, max F-beta) of a candidate on a fold (its images cut from exclude_source left out)."""
        sc = scorers[(name, fold)]
        if exclude_source is None or fold == exclude_source:
            mae = float(np.mean(list(sc.mae.values())))
            return mae, float(sc.curve().max())
        keep = [k for k in sc.mae if not k.startswith(exclude_source + "/")]
        return float(np.mean([sc.mae[k] for k in keep])), float(sc.curve(keep).max())

    def choose(train: list[str], exclude_source: str | None) -> str:
        rows = []
        for name, (_, _, rank) in cands.items():
            s = [score(name, f, exclude_source) for f in train]
            rows.append((float(np.mean([m for m, _ in s])), float(np.mean([f for _, f in s])), rank, name))
        best = min(r[0] for r in rows)
        tied = [r for r in rows if r[0] <= best + tie]
        top_f = max(r[1] for r in tied)
        tied = [r for r in tied if r[1] >= top_f - 0.001]
        return min(tied, key=lambda r: (r[2], r[0]))[3]

    lines = []
    in_sample = choose(folds, None)
    oof = {f: choose([g for g in folds if g != f] or folds, f) for f in folds}
    lines.append(f"Folds: {', '.join(f'{f} ({len(scorers[(in_sample, f)].mae)})' for f in folds)}; "
                 f"{len(cands)} candidates; tie = MAE within {tie}, then max Fβ within 0.001, then the simpler.\n")
    lines.append("### Candidates, per fold (MAE / max Fβ), all images\n")
    lines.append("| candidate | " + " | ".join(folds) + " | mean MAE | mean max Fβ |")
    lines.append("|---|" + "---|" * (len(folds) + 2))
    for name in list(cands) + [f"{v} · lin (not on every fold)" for v in partial] + [f"peer:{t}" for t in peers]:
        if not all((name, f) in scorers for f in folds):
            s = [score(name, f) if (name, f) in scorers else None for f in folds]
            lines.append(f"| {name} | " + " | ".join(f"{a:.4f} / {b:.4f}" if x else "—" for x in s
                                                     for a, b in [x or (0, 0)]) + " | — | — |")
            continue
        s = [score(name, f) for f in folds]
        lines.append(f"| {name} | " + " | ".join(f"{a:.4f} / {b:.4f}" for a, b in s)
                     + f" | {np.mean([a for a, _ in s]):.4f} | {np.mean([b for _, b in s]):.4f} |")
    lines.append("\n### Leave-one-set-out: chosen on the other folds, scored on the held-out one\n")
    ref = [f"peer:{t}" for t in peers]
    lines.append("| held-out fold | chosen on the others | out-of-fold MAE / max Fβ | in-sample choice MAE / max Fβ | "
                 + " | ".join(f"{r[5:]} MAE / max Fβ" for r in ref) + " | vs rembg MAE |")
    lines.append("|---|---|---|---|" + "---|" * len(ref) + "---|")
    res: dict[str, list[tuple[float, float]]] = {"oof": [], "ins": [], **{r: [] for r in ref}}
    for f in folds:
        o, i = score(oof[f], f), score(in_sample, f)
        res["oof"].append(o)
        res["ins"].append(i)
        cells = []
        for r in ref:
            if (r, f) in scorers:
                p = score(r, f)
                res[r].append(p)
                cells.append(f"{p[0]:.4f} / {p[1]:.4f}")
            else:
                cells.append("—")
        vs = ""
        if ("peer:rembg", f) in scorers:
            vs = f"{100 * (o[0] / score('peer:rembg', f)[0] - 1):+.1f}%"
        lines.append(f"| {f} | {oof[f]} | {o[0]:.4f} / {o[1]:.4f} | {i[0]:.4f} / {i[1]:.4f} | "
                     + " | ".join(cells) + f" | {vs} |")

    def mean(rows: list[tuple[float, float]]) -> str:
        if len(rows) != len(folds):
            return "—"
        return f"{np.mean([a for a, _ in rows]):.4f} / {np.mean([b for _, b in rows]):.4f}"
    lines.append(f"| **mean** | | {mean(res['oof'])} | {mean(res['ins'])} | "
                 + " | ".join(mean(res[r]) for r in ref) + " | |")
    lines.append(f"\nIn-sample choice (all folds): **{in_sample}**.")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=["border", "stage", "cache", "cv"])
    ap.add_argument("--evaldata", type=Path, default=REPO.parent.parent / "shared" / "evaldata")
    ap.add_argument("--out", type=Path, default=REPO / "out" / "quality")
    ap.add_argument("--compare", type=Path, default=REPO / "out" / "compare",
                    help="bench/compare_quality.sh's output (the peers' mattes)")
    ap.add_argument("--extra", type=Path, action="append", default=[], help="more folds: <root>/<fold>/{images,gt}")
    ap.add_argument("--variants", default="stretch,half-reflect,half-edge",
                    help="input variants to cache: <geometry>[:<filter>[:divmax]], comma-separated")
    ap.add_argument("--every", type=int, default=1,
                    help="only every N-th image of each evaldata set (sorted by stem); border and --extra folds whole")
    ap.add_argument("--folds", default="", help="cache only these folds (comma-separated)")
    ap.add_argument("--model", default="isnet-general-use-int8-static")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tie", type=float, default=0.0002)
    ap.add_argument("--no-rules", action="store_true")
    args = ap.parse_args()
    if not (args.evaldata / "MANIFEST.csv").is_file() and not args.evaldata.is_dir():
        ap.error(f"--evaldata {args.evaldata} is not a folder")
    border = args.out / "border"
    if args.step == "border":
        build_border(args.evaldata, border)
        return 0
    items = load_items(args.evaldata, border, args.extra, args.every)
    if args.folds:
        keep = set(args.folds.split(","))
        items = [it for it in items if it.fold in keep]
    if args.step == "stage":  # symlink folders of the chosen images, for the peers' scripts
        for it in items:
            d = args.out / "stage" / (it.source if it.fold != "border" else "border")
            d.mkdir(parents=True, exist_ok=True)
            link = d / it.image.name
            if not link.exists():
                link.symlink_to(it.image.resolve())
        return 0
    if args.step == "cache":
        run_cache(items, args.variants.split(","), args.out, args.model, args.threads)
        return 0
    print(run_cv(items, args.out, args.compare, args.tie, not args.no_rules))
    json.dump({"items": len(items)}, open(args.out / "cv.json", "w"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
