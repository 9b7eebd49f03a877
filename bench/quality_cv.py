"""Input/output variants of the model step, cached per image, and chosen by leave-one-set-out CV.

The steps, each resumable:

    python bench/quality_cv.py border                 # build the border fold (subjects cut by a frame edge)
    python bench/quality_cv.py large                  # build the large check (images enlarged 3x)
    python bench/quality_cv.py cache --variants V,..  # run the network once per image per input variant
    python bench/quality_cv.py cv --variants V,.. > out/quality/cv.md   # score, run the CV
    python bench/quality_cv.py paths --variants V --curves C            # output paths on the large check

--runtime openvino [--precision P] runs / scores the network on OpenVINO instead of onnxruntime (its
outputs cached apart): `cache` then `cv` with the same flags gives that runtime's out-of-fold numbers.

`cv` also tries value curves on the matte (--curves, default CURVE_GRID: ops/levels.apply_levels),
can refuse a curve that costs max F-beta on the training folds (--fb-floor), minimize the mean or
the geometric mean of the training folds' MAE (--criterion), and save / reuse the per-image scores
(--scores, --reuse) to rerun the choice under another protocol without scoring again.

`border` crops images of evaldata's binary sets (davis_*, sod_bsds_dev, ebay_products) so that
the subject is cut by the bottom or right edge of a 16:9 or 9:16 frame, like a webcam shot or a
video frame, and writes them with their ground truth to OUT/border/<source set>/{images,gt}.
The crop is chosen from the ground truth (where the subject is); nothing is resized.

`cache` runs the model on every image of every fold for each input variant (`Variant`: geometry,
resize filter, normalization, model, left-right flip) and stores the model's output over the
image's part of the input (uint16, compressed) in OUT/cache/<variant>/<fold>/<set>/<stem>.npz. A
variant that gives the very same input as another for an image (every geometry but `pad` on a
square image) is stored once, under the simpler name.

`cv` turns each cached output into a matte at the image's size with each output variant
(`to_matte`: `lib` is exactly what the library does), scores it (MAE, max F-beta:
alphacut.eval.metrics' conventions), and for each fold chooses the candidate (one variant; a rule
that runs a second variant when the first matte touches an image edge and fuses the two; an
ensemble) with the lowest mean-over-folds MAE on the other folds (ties within --tie MAE: higher
max F-beta, then the simpler candidate) and scores it on the held-out fold. Only int8 variants are
chosen among; the others (fp16, flips) are shown. Peers' mattes (OUT_COMPARE/<tool>/<set>/<stem>.png,
from bench/peer_rembg.py) are scored alongside.

Folds: the 8 evaldata sets, `border` (all border images) and each --extra root (the synthetic video
clips: every 3rd frame). When a fold is held out, border and video images cut from that set are
left out of the training side too.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from alphacut import pipeline  # noqa: E402
from alphacut.eval.cv import Scorer, choose, leave_one_set_out, oof_means  # noqa: E402
from alphacut.eval.sets import EvalSet, discover_sets, load_gt  # noqa: E402
from alphacut.ops import guided  # noqa: E402
from alphacut.ops.levels import apply_levels  # noqa: E402
from alphacut.ops.pixels import u8_to_float
from alphacut.ops.resize import resize_matte
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


# ------------------------------------------------------------------------------------------- large
LARGE_EVERY = 8
LARGE_FACTOR = 3


def build_large(evaldata: Path, out: Path, every: int = LARGE_EVERY, factor: int = LARGE_FACTOR) -> None:
    """Every `every`-th image of each evaldata set (sorted by stem) and its ground truth, enlarged
    `factor` times with Lanczos: photos larger than the model's matte, whose output path is the
    upsampling of the matte (guided upsampling in the library from 2x the matte's size), which no
    evaldata image reaches. grabcut's unknown band (128) is enlarged by nearest neighbour, kept exact."""
    for s in discover_sets(evaldata):
        (out / s.name / "images").mkdir(parents=True, exist_ok=True)
        (out / s.name / "gt").mkdir(parents=True, exist_ok=True)
        for pair in s.pairs[::every]:
            dst = out / s.name / "images" / f"{pair.stem}.png"
            if dst.is_file():
                continue
            with Image.open(pair.image) as im:
                rgb = im.convert("RGB")
                wh = (rgb.width * factor, rgb.height * factor)
                big = rgb.resize(wh, Image.Resampling.LANCZOS)
            g8 = Image.open(pair.gt).convert("L")
            g = np.asarray(Image.fromarray(np.asarray(g8, np.float32), "F").resize(wh, Image.Resampling.LANCZOS))
            g = np.clip(np.rint(g), 0, 255).astype(np.uint8)
            if s.has_unknown:
                g[g == 128] = 127
                g[np.asarray(g8.resize(wh, Image.Resampling.NEAREST)) == 128] = 128
            Image.fromarray(g).save(out / s.name / "gt" / f"{pair.stem}.png")
            tmp = dst.with_suffix(".tmp.png")
            big.save(tmp)
            tmp.replace(dst)
        print(f"large: {s.name}: {len(s.pairs[::every])} images x{factor}", file=sys.stderr)


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


def load_items(evaldata: Path, border: Path, extra: list[Path], every: int = 1,
               every_set: dict[str, int] | None = None, with_large: bool = True) -> list[Item]:
    """Every fold's images; of evaldata's sets only every `every`-th image (sorted by stem), or
    every every_set[name]-th."""
    items = []
    for s in discover_sets(evaldata):
        step = (every_set or {}).get(s.name, every)
        items += [Item(s.name, s.name, p.stem, p.image, p.gt, s.has_unknown, s.soft, s.name) for p in s.pairs[::step]]
    if border.is_dir():
        for s in discover_sets(border):
            items += [Item("border", s.name, p.stem, p.image, p.gt, False, False, s.name) for p in s.pairs]
    large = border.parent / "large"
    if with_large and large.is_dir():  # the source sets' kinds (the enlarged ground truth reads as soft everywhere)
        kinds = {s.name: (s.has_unknown, s.soft) for s in discover_sets(evaldata)}
        for s in discover_sets(large):
            items += [Item("large", s.name, p.stem, p.image, p.gt, *kinds[s.name], s.name) for p in s.pairs]
    for root in extra:  # one more fold per root, e.g. synthetic clips: <root>/<clip>/{images,gt}, every 3rd frame
        origin = {}
        if (root / "manifest.json").is_file():  # alphacut.video.synth's clips name their subjects' sets
            origin = {c["name"]: c["subjects"][0].split("/")[0] for c in json.loads((root / "manifest.json").read_text())["clips"]}
        for s in discover_sets(root):
            items += [Item(root.name, s.name, p.stem, p.image, p.gt, s.has_unknown, s.soft, origin.get(s.name, ""))
                      for p in s.pairs[::3]]
    return items


def peer_dir(it: Item) -> str:
    """The folder of a peer's mattes (and of the staged images) for an item."""
    return {"border": "border", "large": f"large-{it.source}"}.get(it.fold, it.source)


# --------------------------------------------------------------------------------- input variants
MODELS = {"int8": "isnet-general-use-int8-static", "fp16": "isnet-general-use-fp16"}
PAD_PX = 64  # the `pad` geometry's mirrored margin on every side


@dataclass(frozen=True)
class Variant:
    """One way to make the model's input: `<geometry>[:<filter>[:<norm>]][@<model>]`.

    geometry: stretch (to the square, as rembg/imgly), half-reflect (the content's aspect is the
      geometric mean of the image's and the square's, top left, the rest mirrored: the library
      before this round), half-edge (the same, the rest repeating the last row/column),
      half-centre-reflect (half-stretched, centred, mirrored on every side), pad (stretched to the
      square less PAD_PX on every side, centred, mirrored into that margin: a subject at any edge
      continues), with `+flip` appended: the image mirrored left-right (the output flipped back), or
      `+flipall`: the whole input square mirrored left-right (the image at the top right, the padding
      at its left: a subject at the image's right edge still continues into the padding).
    filter: auto (the library: bicubic when enlarging, antialiased bilinear when reducing),
      lanczos (Pillow LANCZOS, as rembg), bicubic, bilinear.
    norm: authors (x/255 - 0.5, the catalog's mean/std), divmax (x/max(x) - 0.5 with the max over
      the resized input, as rembg's normalize).
    model: int8 (the default isnet-general-use-int8-static) or fp16 (the published file rembg runs).
    """

    geom: str
    filt: str = "auto"
    norm: str = "authors"
    model: str = "int8"
    flip: bool = False
    flip_all: bool = False  # the whole input square mirrored (see geom); flip stays False then

    @classmethod
    def parse(cls, text: str) -> Variant:
        body, _, model = text.partition("@")
        geom, filt, norm = (body.split(":") + ["auto", "authors"])[:3]
        flip_all = geom.endswith("+flipall")
        flip = geom.endswith("+flip")
        return cls(geom.removesuffix("+flipall").removesuffix("+flip"), filt, norm, model or "int8", flip, flip_all)

    def __str__(self) -> str:
        text = self.geom + ("+flip" if self.flip else "") + ("+flipall" if self.flip_all else "")
        if (self.filt, self.norm) != ("auto", "authors"):
            text += f":{self.filt}" + (f":{self.norm}" if self.norm != "authors" else "")
        return text + (f"@{self.model}" if self.model != "int8" else "")


def _resize(rgb: np.ndarray, wh: tuple[int, int], filt: str) -> np.ndarray:
    if filt == "auto":  # the library's rule: bicubic when enlarging, antialiased bilinear when reducing
        from alphacut.io.decode import resize_for_model
        return resize_for_model(rgb, wh)
    f = {"lanczos": Image.Resampling.LANCZOS, "bilinear": Image.Resampling.BILINEAR,
         "bicubic": Image.Resampling.BICUBIC}[filt]
    return np.asarray(Image.fromarray(rgb).resize(wh, f))


def content_box(image_wh: tuple[int, int], geom: str) -> tuple[int, int, int, int]:
    """(x0, y0, w, h) of the image inside the model's square for a geometry."""
    w, h = image_wh
    mw, mh = MODEL_WH
    if geom == "stretch":
        return 0, 0, mw, mh
    if geom == "pad":
        return PAD_PX, PAD_PX, mw - 2 * PAD_PX, mh - 2 * PAD_PX
    cw, ch = pipeline.content_size((w, h), MODEL_WH)
    if geom == "half-centre-reflect":
        return (mw - cw) // 2, (mh - ch) // 2, cw, ch
    return 0, 0, cw, ch


def make_input(rgb: np.ndarray, v: Variant) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The model input (H×W×3 float32, normalized) and the image's box (x0, y0, w, h) in it."""
    h, w = rgb.shape[:2]
    mw, mh = MODEL_WH
    if v.flip:
        rgb = np.ascontiguousarray(rgb[:, ::-1])
    x0, y0, cw, ch = content_box((w, h), v.geom)
    small = _resize(rgb, (cw, ch), v.filt)
    if v.norm == "divmax":  # rembg: divide by the resized image's own maximum
        x = small.astype(np.float32) / max(float(small.max()), 1e-6) - 0.5
    else:  # bit for bit the library's (pipeline.preprocess): the int8 model turns a rounding into a level
        x = u8_to_float(small) - np.float32(0.5)
    pad = ((y0, mh - ch - y0), (x0, mw - cw - x0), (0, 0))
    mode = "edge" if v.geom == "half-edge" else "symmetric"
    if any(p for pp in pad for p in pp):
        x = np.pad(x, pad, mode=mode)  # type: ignore[call-overload]
    if v.flip_all:
        return np.ascontiguousarray(x[:, ::-1]), (mw - x0 - cw, y0, cw, ch)
    return x, (x0, y0, cw, ch)


def input_key(rgb: np.ndarray, v: Variant) -> str:
    """Variants that give the same input for this image share one cache entry."""
    h, w = rgb.shape[:2]
    geom = v.geom
    if w == h and geom != "pad":  # every other geometry is plain stretching on a square image
        geom = "stretch"
    norm = v.norm
    if norm == "divmax":  # the same as x/255 when the resized input reaches 255
        x0, y0, cw, ch = content_box((w, h), geom)
        if int(_resize(rgb, (cw, ch), v.filt).max()) == 255:
            norm = "authors"
    if w == h and geom == "stretch" and v.flip_all:  # the content fills the square: the same as +flip
        return str(Variant(geom, v.filt, norm, v.model, True))
    return str(Variant(geom, v.filt, norm, v.model, v.flip, v.flip_all))


#: The runtime the network runs on (--runtime / --precision): "" is onnxruntime, what every cache
#: before the OpenVINO round was made with (its folders keep their names); another runtime's outputs
#: go to folders named <variant>~<runtime>[-<precision>], so that caches never mix.
RUNTIME = {"runtime": "onnxruntime", "precision": None, "tag": ""}


def cache_path(out: Path, key: str, item: Item) -> Path:
    name = key.replace(":", "_").replace("@", "_").replace("+", "_") + str(RUNTIME["tag"])
    return out / "cache" / name / item.fold / item.source / f"{item.stem}.npz"


def touches(out: Path, rgb: np.ndarray, item: Item) -> bool:
    """Whether the (cached) plain-stretch matte of an image touches an image edge."""
    low = load_low(out, rgb, Variant("stretch"), item)
    if low is None:
        raise SystemExit(f"--touching needs the stretch variant cached first ({item.fold}/{item.stem})")
    return edge_touch(low)


def run_cache(items: list[Item], variants: list[Variant], out: Path, threads: int, touching: bool = False) -> None:
    """Cache every variant's network output for every item (with touching: only for the items whose
    stretch matte touches an image edge, what the two-run rules need)."""
    from alphacut.api import Remover
    from alphacut.runtime.choice import load_backend
    for model in sorted({v.model for v in variants}):
        remover = Remover(MODELS[model], threads=threads, runtime=str(RUNTIME["runtime"]), face_landmarks=False)
        backend = remover.wait_ready().backend
        if RUNTIME["precision"]:
            spec, store = remover.spec, remover._store
            assert store is not None
            backend = load_backend(store.path(spec.id), runtime=str(RUNTIME["runtime"]), output_index=spec.output_index,
                                   threads=threads, name=spec.id, optimized_dir=store.optimized_dir,
                                   model_hash=spec.checksum, precision=str(RUNTIME["precision"]))
        print(f"cache: {MODELS[model]} on {backend.info.runtime} ({backend.info.precision})", file=sys.stderr)
        todo = [(v, it) for v in variants if v.model == model for it in items]
        t_start, done = time.perf_counter(), 0
        for v, it in todo:
            with Image.open(it.image) as im:
                rgb = np.asarray(im.convert("RGB"))
            key = input_key(rgb, v)
            path = cache_path(out, key, it)
            if path.is_file() or (touching and not touches(out, rgb, it)):
                continue
            x, (x0, y0, cw, ch) = make_input(rgb, Variant.parse(key))
            batch = np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
            raw = backend.run(batch)[0, 0, y0:y0 + ch, x0:x0 + cw]
            if v.flip or v.flip_all:
                raw = raw[:, ::-1]
            path.parent.mkdir(parents=True, exist_ok=True)
            q = np.round(np.clip(raw, 0, 1) * 65535).astype(np.uint16)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez_compressed(tmp, low=q)
            tmp.replace(path)
            done += 1
            if done % 20 == 0:
                el = time.perf_counter() - t_start
                print(f"cache: {done} runs, {el / done:.2f} s/run, last {key} {it.fold}/{it.stem}", file=sys.stderr)


def load_low(out: Path, rgb: np.ndarray, v: Variant, item: Item) -> np.ndarray | None:
    path = cache_path(out, input_key(rgb, v), item)
    if not path.is_file():
        return None
    return np.load(path)["low"].astype(np.float32) / 65535


# -------------------------------------------------------------------------------- output variants
def to_matte(low: np.ndarray, rgb: np.ndarray, output: str, pre_curve: str = "") -> np.ndarray:
    """The matte at the image's size from the network's output over the image's part of the input.

    lib: what the library does (pipeline.postprocess's min-max stretch, then pipeline.refine_matte
    with the default Refine.GUIDED: guided upsampling when the photo is >= 2x the matte, else
    antialiased bilinear); lin: the same without the min-max stretch; lanczos: Pillow Lanczos of the
    float matte; minmax+lanczos; rembg: rembg's postprocess (min-max, x255 truncated to uint8,
    Pillow Lanczos of the uint8 mask); guided, bilinear: min-max, then always that upsampling.
    pre_curve: a value curve applied after the min-max stretch, before resizing (as
    pipeline.postprocess applies a catalog entry's levels).
    """
    h, w = rgb.shape[:2]
    if output in ("lib", "minmax+lanczos", "rembg", "guided", "bilinear"):
        lo, hi = float(low.min()), float(low.max())
        low = (low - lo) / max(hi - lo, 1e-6)
    if pre_curve:  # the value curve on the network's matte, before it is brought to the image's size
        low = apply_curve(low.astype(np.float32), pre_curve)
    if output == "guided":  # guided upsampling whatever the sizes (the library: from GUIDED_MIN_SCALE on)
        return guided.guided_upsample(low.astype(np.float32), rgb)
    if output == "bilinear":
        return resize_matte(low.astype(np.float32), (w, h))
    if output in ("lib", "lin"):
        return pipeline.refine_matte(low.astype(np.float32), rgb, Refine.GUIDED)
    if output == "rembg":
        m8 = Image.fromarray((low * 255).astype(np.uint8), "L").resize((w, h), Image.Resampling.LANCZOS)
        return np.asarray(m8).astype(np.float32) / 255
    m = np.asarray(Image.fromarray(low.astype(np.float32), "F").resize((w, h), Image.Resampling.LANCZOS))
    return np.clip(m, 0, 1)


def fuse(a: np.ndarray, b: np.ndarray, how: str) -> np.ndarray:
    """Two mattes of one image (same size) as one: max, mean."""
    return np.maximum(a, b) if how == "max" else (a + b) * 0.5


# ----------------------------------------------------------------------------------------- scores
def fcurve_matches_pysodmetrics(n: int = 5) -> float:
    """Largest difference between Scorer.f_curve and pysodmetrics' Fmeasure on random soft mattes."""
    import warnings

    import py_sod_metrics as sod
    rng = np.random.default_rng(3)
    worst = 0.0
    for _ in range(n):
        g = rng.random((60, 80)) > 0.6
        p8 = np.clip(g * 180 + rng.normal(40, 60, g.shape), 0, 255).astype(np.uint8)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fm = sod.Fmeasure()
            fm.step(pred=p8.astype(np.float64) / 255, gt=g, normalize=False)
        worst = max(worst, float(np.abs(np.asarray(fm.changeable_fms[-1]) - Scorer.f_curve(p8, g)).max()))
    return worst


#: What the CV chooses among (int8 model only: the default's speed target rules fp16 out unless it
#: is measured worth its cost; other cached variants are shown, not chosen).
GEOMETRIES = ["stretch", "half-reflect", "half-centre-reflect", "pad", "half-edge"]
FILTERS = ["auto", "lanczos"]
OUTPUTS = ["lib", "lin", "minmax+lanczos", "rembg"]
SIMPLER = {"stretch": 0, "half-reflect": 1, "half-edge": 1, "pad": 1, "half-centre-reflect": 2}
FUSIONS = ["max", "mean", "replace"]  # replace: the second run's matte alone


def edge_touch(low: np.ndarray, frac: float = 0.05) -> bool:
    """A subject at an edge of the matte: >= frac of one of its four edges over 0.5."""
    return bool(max((low[0] > 0.5).mean(), (low[-1] > 0.5).mean(),
                    (low[:, 0] > 0.5).mean(), (low[:, -1] > 0.5).mean()) >= frac)


def apply_curve(m: np.ndarray, curve: str) -> np.ndarray:
    """A value curve on a finished matte: "" (none) or levels:<lo>:<hi>[:<tail>] (alphacut.ops.levels)."""
    if not curve:
        return m
    kind, *args = curve.split(":")
    assert kind == "levels" and len(args) in (2, 3), curve
    lo, hi, tail = (float(a) for a in (args + ["0"])[:3])
    return apply_levels(m.astype(np.float32), lo, hi, tail=tail)


def curve_label(curve: str) -> str:
    _, lo, hi, *tail = curve.split(":")
    return f"levels {lo}-{hi}" + (f" tail {tail[0]}" if tail and float(tail[0]) else "")


#: The value curves tried by default: levels on a grid (lo 0..0.4, hi 0.6..1, tail 0..0.3: see
#: apply_levels), the identity left out.
CURVE_GRID = [f"levels:{lo}:{hi}:{tail}" for lo in ("0", "0.1", "0.2", "0.3", "0.4")
              for hi in ("0.6", "0.7", "0.8", "0.9", "1") for tail in ("0", "0.1", "0.2", "0.3")
              if (lo, hi) != ("0", "1")]


@dataclass(frozen=True)
class Candidate:
    """A way to get the matte: one input variant; or a rule (the first variant's matte, fused with
    the second's when the first touches an image edge: two runs for those images only); or an
    ensemble (every variant, always, fused)."""

    name: str
    kind: str  # plain | rule | ensemble
    variants: tuple[Variant, ...]
    output: str
    fusion: str = ""
    rank: int = 0
    curve: str = ""  # a value curve applied to the finished matte (apply_curve), "" for none
    source: str = ""  # plain only: the key of a fused network output (see fused_lows) instead of variants[0]
    pre: bool = False  # the curve before the resize to the image's size (pipeline.postprocess), else after

    def matte(self, get: Callable[[str, str], np.ndarray], lows: dict[str, np.ndarray | None],
              rgb: np.ndarray) -> tuple[np.ndarray, int]:
        """(matte, network runs) for one image: _matte, then the candidate's value curve (with pre:
        applied before the resize to the image's size, as pipeline.postprocess does; plain only)."""
        if self.curve and self.pre:
            assert self.kind == "plain"
            low = lows[self.source or str(self.variants[0])]
            assert low is not None
            return to_matte(low, rgb, self.output, self.curve), len(self.variants)
        m, k = self._matte(get, lows, rgb)
        return apply_curve(m, self.curve), k

    def _matte(self, get: Callable[[str, str], np.ndarray], lows: dict[str, np.ndarray | None],
               rgb: np.ndarray) -> tuple[np.ndarray, int]:
        """(matte, network runs) for one image; get(variant, output) gives a variant's matte.

        A rule fuses at the network's resolution, as the library does (pipeline.infer): the second
        run's output over the image, resized (bilinear) to the first's, fused, then the output step.
        """
        first = get(self.source or str(self.variants[0]), self.output)
        if self.kind == "plain":
            return first, len(self.variants)
        if self.kind == "rule":
            low1 = lows[str(self.variants[0])]
            assert low1 is not None
            if not edge_touch(low1):
                return first, 1
            if self.fusion == "replace":
                return get(str(self.variants[1]), self.output), 2
            low2 = lows[str(self.variants[1])]
            assert low2 is not None
            low2 = resize_matte(low2.astype(np.float32), (low1.shape[1], low1.shape[0]))
            return to_matte(fuse(low1, low2, self.fusion), rgb, self.output), 2
        if self.fusion == "max":
            m = first
            for v in self.variants[1:]:
                m = np.maximum(m, get(str(v), self.output))
            return m, len(self.variants)
        return np.mean([get(str(v), self.output) for v in self.variants], axis=0), len(self.variants)


def fused_lows(lows: dict[str, np.ndarray | None]) -> dict[str, np.ndarray]:
    """The flip ensembles' network outputs: an input variant's and its mirror's (flipped back) averaged
    at the network's resolution, before the output step, as the library would fuse them."""
    out = {}
    for geom in ("stretch", "half-reflect"):
        for mirror in ("+flip", "+flipall"):
            a, b = lows.get(geom), lows.get(geom + mirror)
            if a is not None and b is not None:
                out[f"mean({geom}, {geom}{mirror})"] = (a + b) * np.float32(0.5)
    return out


def make_candidates(complete: list[Variant], at_edges: list[Variant], outputs: list[str] = OUTPUTS,
                    curves: list[str] | None = None, curve_outputs: tuple[str, ...] = ("lib",),
                    rules: bool = True, pre: bool = False, mirrors: bool = False,
                    max_runs: int = 0, min_runs: int = 0) -> list[Candidate]:
    """The candidates the CV chooses among; at_edges: variants cached (at least) on every image whose
    stretch matte touches an edge, usable as a rule's second run. Each value curve is tried on every
    one-run candidate whose output is in curve_outputs and on the flip ensembles. mirrors: a mirrored
    variant (+flip) run alone is a candidate too (one rank less simple than the unmirrored one);
    max_runs / min_runs: leave out the candidates that may run the network more / always run it less often
    per image (0: no limit)."""
    names = {str(v) for v in complete}
    second_ok = names | {str(v) for v in at_edges}
    out = []
    for v in complete:
        if v.model != "int8" or ((v.flip or v.flip_all) and not mirrors):
            continue
        for o in outputs:
            rank = SIMPLER[v.geom] + (v.filt != "auto") + (v.norm != "authors") + (o != "lib") + (v.flip or v.flip_all)
            out.append(Candidate(f"{v} · {o}", "plain", (v,), o, rank=rank))
            if o in curve_outputs:
                out += [Candidate(f"{v} · {o} · {curve_label(c)}", "plain", (v,), o, rank=rank + 1, curve=c,
                                  pre=pre) for c in curves or []]
    for geom, mirror in [(g, m) for g in ("stretch", "half-reflect") for m in ("+flip", "+flipall")]:
        if {geom, geom + mirror} <= names:  # the flip ensemble: the image and its mirror, averaged
            pair = (Variant(geom), Variant.parse(geom + mirror))
            src = f"mean({geom}, {geom}{mirror})"
            for o in curve_outputs:
                rank = 5 + (o != "lib")
                out.append(Candidate(f"{src} · {o}", "plain", pair, o, rank=rank, source=src))
                out += [Candidate(f"{src} · {o} · {curve_label(c)}", "plain", pair, o, rank=rank + 1, curve=c,
                                  source=src, pre=pre) for c in curves or []]
    if not rules:
        return _runs_within(out, max_runs, min_runs)
    if "stretch" in names:
        for second in ("half-reflect", "half-centre-reflect", "pad"):
            if second in second_ok:
                for f in FUSIONS:
                    label = f"{second} instead" if f == "replace" else f"{second} {f}-fused"
                    out.append(Candidate(f"stretch, {label} if at an edge · lib", "rule",
                                         (Variant("stretch"), Variant(second)), "lib", f, rank=4))
        if "half-reflect" in names:  # the other order: half-reflect first, stretch at the edges
            for f in FUSIONS:
                label = "stretch instead" if f == "replace" else f"stretch {f}-fused"
                out.append(Candidate(f"half-reflect, {label} if at an edge · lib", "rule",
                                     (Variant("half-reflect"), Variant("stretch")), "lib", f, rank=4))
        for other in ("pad", "half-reflect"):
            if other in names:
                for f in ("mean", "max"):
                    out.append(Candidate(f"{f}(stretch, {other}) · lib", "ensemble",
                                         (Variant("stretch"), Variant.parse(other)), "lib", f, rank=5))
        if {"stretch+flip", "pad", "pad+flip"} <= names:
            out.append(Candidate("mean(stretch, stretch+flip, pad, pad+flip) · lib", "ensemble",
                                 tuple(Variant.parse(t) for t in ("stretch", "stretch+flip", "pad", "pad+flip")),
                                 "lib", "mean", rank=6))
    return _runs_within(out, max_runs, min_runs)


def _runs_within(cands: list[Candidate], max_runs: int, min_runs: int) -> list[Candidate]:
    """The candidates whose network runs per image lie within the bounds (0: none); a rule counts as its
    variants' number, the most it runs."""
    return [c for c in cands if (not max_runs or len(c.variants) <= max_runs)
            and (not min_runs or (len(c.variants) >= min_runs and c.kind != "rule"))]


def run_cv(items: list[Item], out: Path, compare: Path, tie: float, variants: list[Variant],
           outputs: list[str] = OUTPUTS, curves: list[str] | None = None, curve_outputs: tuple[str, ...] = ("lib",),
           rules: bool = True, top: int = 0, fb_floor: float | None = None, pre: bool = False,
           scores: Path | None = None, reuse: bool = False, criterion: str = "mean",
           shipped: str = "half-reflect · lib", mirrors: bool = False, max_runs: int = 0, min_runs: int = 0) -> str:
    """The CV's report (markdown). top: list only the candidates without a value curve, the `top`
    best curved ones by mean MAE and every chosen one (0: every candidate)."""
    evalsets = {it.source for it in items if it.fold == it.source}
    folds = sorted({it.fold for it in items}, key=lambda f: (f not in evalsets, f))
    rgbs: dict[Path, np.ndarray] = {}

    def rgb_of(it: Item) -> np.ndarray:
        if it.image not in rgbs:
            with Image.open(it.image) as im:
                rgbs[it.image] = np.asarray(im.convert("RGB"))
        return rgbs[it.image]

    saved = None
    if scores is not None and reuse and scores.is_file():
        with scores.open("rb") as fh:
            saved = pickle.load(fh)
        print(f"cv: candidates' scores from {scores} (peers scored now)", file=sys.stderr)
        cands, shown = saved["cands"], saved["shown"]
    else:
        # Which input variants are complete (every image of every fold cached)?
        done_in = {str(v): {f for f in folds if all(cache_path(out, input_key(rgb_of(it), v), it).is_file()
                                                   for it in items if it.fold == f)} for v in variants}
        rgbs.clear()
        complete = [v for v in variants if done_in[str(v)] == set(folds)]
        at_edges = []
        if "stretch" in {str(v) for v in complete}:
            touching = [it for it in items if edge_touch(load_low(out, rgb_of(it), Variant("stretch"), it))]  # type: ignore[arg-type]
            at_edges = [v for v in variants if v not in complete and v.model == "int8" and not v.flip
                        and all(cache_path(out, input_key(rgb_of(it), v), it).is_file() for it in touching)]
            print(f"cv: {len(touching)} of {len(items)} images have a stretch matte touching an edge", file=sys.stderr)
            rgbs.clear()
        partial = {str(v): done_in[str(v)] for v in variants if done_in[str(v)] and v not in complete and v not in at_edges}
        print(f"cv: complete input variants: {[str(v) for v in complete]}; at edges: {[str(v) for v in at_edges]}; "
              f"partial: {partial}", file=sys.stderr)
        cands = make_candidates(complete, at_edges, outputs, curves, curve_outputs, rules, pre, mirrors, max_runs,
                                min_runs)
        shown = [f"{v} · {o}" for v in complete if v.model != "int8" or (v.flip and not mirrors) for o in ("lib", "rembg")]
        shown += [f"{v} · {o} (not on every fold)" for v in partial for o in ("lib", "rembg")]
    def score_peers(it: Item, key: str, gt: np.ndarray, valid: np.ndarray | None) -> None:
        for t in peers:
            p = compare / t / peer_dir(it) / f"{it.stem}.png"
            if p.is_file():
                pred = np.asarray(Image.open(p).convert("L")).astype(np.float32) / 255
                scorers.setdefault((f"peer:{t}", it.fold), Scorer()).add(key, pred, gt, valid)

    scorers: dict[tuple[str, str], Scorer] = {} if saved is None else saved["scorers"]
    runs: dict[str, list[int]] = {} if saved is None else saved["runs"]
    peers = [t for t in ("rembg", "imgly") if (compare / t).is_dir()]
    t0 = time.perf_counter()
    for n, it in enumerate(items):
        gt, valid = load_gt(it.gt, has_unknown=it.has_unknown)
        key = f"{it.origin}/{it.source}/{it.stem}"
        if saved is not None:
            score_peers(it, key, gt, valid)
            continue
        rgb = rgb_of(it)
        avail = complete + at_edges + [Variant.parse(v) for v, fs in partial.items() if it.fold in fs]
        lows = {str(v): load_low(out, rgb, v, it) for v in avail}
        lows.update(fused_lows(lows))
        mattes: dict[tuple[str, str], np.ndarray] = {}

        def matte_of(v: str, o: str) -> np.ndarray:
            if (v, o) not in mattes:
                mattes[(v, o)] = to_matte(lows[v], rgb, o)  # type: ignore[arg-type]
            return mattes[(v, o)]

        for c in cands:
            m, k = c.matte(matte_of, lows, rgb)
            runs.setdefault(c.name, []).append(k)
            scorers.setdefault((c.name, it.fold), Scorer()).add(key, m, gt, valid)
        for name in shown:
            v, o = name.removesuffix(" (not on every fold)").split(" · ")
            if v in lows:
                scorers.setdefault((name, it.fold), Scorer()).add(key, matte_of(v, o), gt, valid)
        score_peers(it, key, gt, valid)
        rgbs.pop(it.image, None)
        if n % 50 == 49:
            print(f"cv: scored {n + 1}/{len(items)} images ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    if saved is None and scores is not None:
        scores.parent.mkdir(parents=True, exist_ok=True)
        mine = {k: v for k, v in scorers.items() if not k[0].startswith("peer:")}
        with scores.open("wb") as fh:
            pickle.dump({"cands": cands, "shown": shown, "scorers": mine, "runs": runs}, fh)

    # A peer without a matte for every image of a fold is compared on the images it has only.
    fold_n = {f: sum(it.fold == f for it in items) for f in folds}
    for k in [k for k in scorers if k[0].startswith("peer:") and len(scorers[k].mae) < fold_n[k[1]]]:
        print(f"cv: {k[0]} has {len(scorers[k].mae)} of {fold_n[k[1]]} mattes on {k[1]}; compared on those only",
              file=sys.stderr)

    def score(name: str, fold: str, exclude_source: str | None = None,
              only: list[str] | None = None) -> tuple[float, float]:
        """(MAE, max F-beta) of a candidate on a fold (its images cut from exclude_source left out;
        only the images `only` if given)."""
        sc = scorers[(name, fold)]
        keep = list(sc.mae) if only is None else only
        if exclude_source is not None and fold != exclude_source:
            keep = [k for k in keep if not k.startswith(exclude_source + "/")]
        return sc.score(keep)

    def peer_keys(peer: str, fold: str) -> list[str] | None:
        """The images a peer has on a fold, if not all of them."""
        sc = scorers.get((peer, fold))
        return None if sc is None or len(sc.mae) == fold_n[fold] else list(sc.mae)

    base = {c.name: c.name.rsplit(" · ", 1)[0] for c in cands if c.curve}
    ranks = {c.name: c.rank for c in cands}

    def choose_on(train: list[str], exclude_source: str | None) -> str:
        """alphacut.eval.cv.choose on the training folds (images cut from exclude_source left out)."""
        return choose({c.name: [score(c.name, f, exclude_source) for f in train] for c in cands}, ranks, tie,
                      criterion, fb_floor, base)

    lines = []
    in_sample = choose_on(folds, None) if cands else ""
    oof = leave_one_set_out(folds, choose_on) if cands else {}
    lines.append(f"Folds: {', '.join(f'{f} ({fold_n[f]})' for f in folds)}; {len(cands)} candidates; "
                 +
                 (f"criterion: mean MAE over the training folds; tie = MAE within {tie}" if criterion == "mean" else
                    f"criterion: geometric mean of the training folds' MAE; tie = within {100 * tie / 0.08:.2f} %")
                 + ", then max Fβ within 0.001, then the simpler"
                 + (f"; a value curve is chosen only if it costs at most {fb_floor} of mean max Fβ on the "
                    "training folds against the same candidate without it" if fb_floor is not None else "")
                 + ".\n")
    lines.append("### Candidates, per fold (MAE / max Fβ), all images; runs = network runs per image\n")
    listed = [c.name for c in cands]
    if top:
        def mean_mae(name: str) -> float:
            return float(np.mean([score(name, f)[0] for f in folds]))
        curved = sorted((c.name for c in cands if c.curve), key=mean_mae)
        keep = {c.name for c in cands if not c.curve} | set(curved[:top]) | set(oof.values()) | {in_sample}
        listed = [n for n in listed if n in keep]
        lines.append(f"({len(cands) - len(listed)} candidates with a value curve not listed: only the {top} best "
                     "by mean MAE and the chosen ones are.)\n")
    lines.append("| candidate | runs | " + " | ".join(folds) + " | mean MAE | mean max Fβ |")
    lines.append("|---|---|" + "---|" * (len(folds) + 2))
    for name in listed + shown + [f"peer:{t}" for t in peers]:
        r = f"{np.mean(runs[name]):.2f}" if name in runs else "1"
        s = [score(name, f) if (name, f) in scorers else None for f in folds]
        cells = " | ".join(f"{x[0]:.4f} / {x[1]:.4f}" if x else "—" for x in s)
        if all(s):
            cells += f" | {np.mean([x[0] for x in s if x]):.4f} | {np.mean([x[1] for x in s if x]):.4f}"
        else:
            cells += " | — | —"
        lines.append(f"| {name} | {r} | {cells} |")
    if not cands:
        return "\n".join(lines)
    lines.append("\n### Leave-one-set-out: chosen on the other folds, scored on the held-out one\n")
    ref = [f"peer:{t}" for t in peers]
    lines.append("Peers' columns: the peer's MAE / max Fβ on the images it has (n of the fold's, if not all), and "
                 "the out-of-fold choice's on the same images, with the MAE difference.\n")
    lines.append("| held-out fold | chosen on the others | out-of-fold MAE / max Fβ | in-sample choice MAE / max Fβ | "
                 + " | ".join(f"{r[5:]}: theirs / ours on the same images" for r in ref) + " |")
    lines.append("|---|---|---|---|" + "---|" * len(ref))
    res: dict[str, list[tuple[float, float]]] = {"oof": [], "ins": []}
    pairs: dict[str, list[tuple[tuple[float, float], tuple[float, float]]]] = {r: [] for r in ref}

    def versus(r: str, f: str, name: str) -> tuple[tuple[float, float], tuple[float, float], int] | None:
        if (r, f) not in scorers:
            return None
        keys = list(scorers[(r, f)].mae)
        return score(r, f), score(name, f, only=keys), len(keys)

    def peer_cells(f: str, name: str, pairs: dict[str, list[tuple[tuple[float, float], tuple[float, float]]]]) -> list[str]:
        """Each peer's score on fold f beside `name`'s on the same images; the pair kept for the mean row."""
        cells = []
        for r in ref:
            v = versus(r, f, name)
            if v is None:
                cells.append("—")
                continue
            theirs, ours, n = v
            pairs[r].append((theirs, ours))
            cells.append(f"{theirs[0]:.4f} / {theirs[1]:.4f} vs {ours[0]:.4f} / {ours[1]:.4f}"
                         + (f" ({n} of {fold_n[f]})" if n != fold_n[f] else "")
                         + f", {100 * (ours[0] / theirs[0] - 1):+.1f}%")
        return cells

    def peer_means(pairs: dict[str, list[tuple[tuple[float, float], tuple[float, float]]]]) -> list[str]:
        cells = []
        for r in ref:
            pr = pairs[r]
            if not pr:
                cells.append("—")
                continue
            t, o2 = np.mean([p[0] for p in pr], axis=0), np.mean([p[1] for p in pr], axis=0)
            cells.append(f"{t[0]:.4f} / {t[1]:.4f} vs {o2[0]:.4f} / {o2[1]:.4f} ({len(pr)} folds), "
                         f"{100 * (o2[0] / t[0] - 1):+.1f}%")
        return cells

    for f in folds:
        o, i = score(oof[f], f), score(in_sample, f)
        res["oof"].append(o)
        res["ins"].append(i)
        cells = peer_cells(f, oof[f], pairs)
        lines.append(f"| {f} | {oof[f]} | {o[0]:.4f} / {o[1]:.4f} | {i[0]:.4f} / {i[1]:.4f} | " + " | ".join(cells) + " |")

    def mean(rows: list[tuple[float, float]]) -> str:
        m = oof_means(rows)
        return f"{m[0]:.4f} / {m[1]:.4f}"
    lines.append(f"| **mean** | | {mean(res['oof'])} | {mean(res['ins'])} | " + " | ".join(peer_means(pairs)) + " |")
    lines.append(f"\nIn-sample choice (all folds): **{in_sample}** "
                 f"({np.mean(runs[in_sample]):.2f} network runs per image).")
    if shipped in runs:
        lines.append(f"\n### {shipped} (no choice made) against the peers, on the images each peer has\n")
        lines.append("| fold | all images: MAE / max Fβ | " + " | ".join(f"{r[5:]}: theirs / ours on the same images"
                                                                    for r in ref) + " |")
        lines.append("|---|---|" + "---|" * len(ref))
        shipped_pairs: dict[str, list[tuple[tuple[float, float], tuple[float, float]]]] = {r: [] for r in ref}
        for f in folds:
            cells = peer_cells(f, shipped, shipped_pairs)
            sh = score(shipped, f)
            lines.append(f"| {f} | {sh[0]:.4f} / {sh[1]:.4f} | " + " | ".join(cells) + " |")
        allf = [score(shipped, f) for f in folds]
        lines.append(f"| **mean** | {mean(allf)} | " + " | ".join(peer_means(shipped_pairs)) + " |")
    return "\n".join(lines)


def run_paths(items: list[Item], out: Path, variant: Variant, curves: list[str]) -> str:
    """The output paths compared where they differ, on the large fold (photos 3x evaldata's): the
    library's, guided upsampling, bilinear and Lanczos, each without a value curve and with each
    curve applied before (pre: as pipeline.postprocess) or after (post) the upsampling."""
    large = [it for it in items if it.fold == "large"]
    rows: dict[str, Scorer] = {}
    names = []
    for it in large:
        with Image.open(it.image) as im:
            rgb = np.asarray(im.convert("RGB"))
        gt, valid = load_gt(it.gt, has_unknown=it.has_unknown)
        low = load_low(out, rgb, variant, it)
        if low is None:
            raise SystemExit(f"paths: {variant} is not cached for large/{it.source}/{it.stem}")
        for o in ("lib", "guided", "bilinear", "minmax+lanczos"):
            m = to_matte(low, rgb, o)
            for c in [""] + curves:
                for where in (("post", "pre") if c else ("",)):
                    name = f"{o}" + (f" · {curve_label(c)} {where}" if c else "")
                    pred = m if not c else (apply_curve(m, c) if where == "post" else to_matte(low, rgb, o, c))
                    if name not in rows:
                        names.append(name)
                    rows.setdefault(name, Scorer()).add(f"{it.source}/{it.stem}", pred, gt, valid)
    sources = sorted({it.source for it in large})
    lines = [f"Large fold: {len(large)} images ({', '.join(sources)}), {variant} input.\n",
             "| output path | " + " | ".join(sources) + " | all: MAE / max Fβ |", "|---|" + "---|" * (len(sources) + 1)]
    for name in names:
        sc = rows[name]
        cells = [f"{np.mean([v for k, v in sc.mae.items() if k.startswith(src + '/')]):.4f}" for src in sources]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {np.mean(list(sc.mae.values())):.4f} / "
                     f"{sc.curve().max():.4f} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=["border", "large", "stage", "cache", "cv", "paths"])
    ap.add_argument("--evaldata", type=Path, default=REPO.parent.parent / "shared" / "evaldata")
    ap.add_argument("--out", type=Path, default=REPO / "out" / "quality")
    ap.add_argument("--compare", type=Path, default=REPO / "out" / "compare",
                    help="bench/compare_quality.sh's output (the peers' mattes)")
    ap.add_argument("--extra", type=Path, action="append", default=[], help="more folds: <root>/<fold>/{images,gt}")
    ap.add_argument("--variants", default="stretch,half-reflect,half-centre-reflect,pad",
                    help="input variants to cache (cv: to score): <geometry>[+flip][:<filter>[:divmax]][@fp16], "
                         "comma-separated (see Variant)")
    ap.add_argument("--every", type=int, default=1,
                    help="only every N-th image of each evaldata set (sorted by stem); border and --extra folds whole")
    ap.add_argument("--every-set", default="", help="per-set --every, e.g. adobe_crops=1,ebay_products=1")
    ap.add_argument("--folds", default="", help="cache only these folds (comma-separated)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runtime", choices=["onnxruntime", "openvino"], default="onnxruntime",
                    help="cache, cv, paths: the runtime whose network outputs are cached / scored (default "
                         "onnxruntime, what the existing caches hold; openvino's go to <variant>~openvino folders)")
    ap.add_argument("--precision", choices=["f32", "bf16", "f16"], default=None,
                    help="with --runtime openvino: force INFERENCE_PRECISION_HINT (default: alphacut's policy)")
    ap.add_argument("--tie", type=float, default=0.0002)
    ap.add_argument("--outputs", default=",".join(OUTPUTS), help="cv: output variants (to_matte), comma-separated")
    ap.add_argument("--curves", default="grid",
                    help="cv: value curves on the matte, levels:<lo>:<hi>, comma-separated; grid: CURVE_GRID; none")
    ap.add_argument("--curve-outputs", default="lib", help="cv: the outputs the curves are tried on")
    ap.add_argument("--no-rules", action="store_true", help="cv: leave out the two-run edge rules and ensembles")
    ap.add_argument("--fb-floor", type=float, default=None,
                    help="cv: choose a value curve only if it costs at most this much mean max F-beta (training folds)")
    ap.add_argument("--criterion", choices=["mean", "geomean"], default="mean",
                    help="cv: what is minimized over the training folds: the mean MAE (last round's), or its "
                         "geometric mean (each fold weighs the same relatively; the tie is then relative too)")
    ap.add_argument("--shipped", default="half-reflect · lib", help="cv: the candidate shown against the peers")
    ap.add_argument("--scores", type=Path, help="cv: save the candidates' per-image scores here (pickle)")
    ap.add_argument("--reuse", action="store_true",
                    help="cv: read the candidates' scores from --scores instead of scoring (peers are scored anew), "
                         "to rerun the choice with another --tie/--fb-floor/--top")
    ap.add_argument("--large", action="store_true", help="cv: include the large fold (out/large, see `large`)")
    ap.add_argument("--pre", action="store_true",
                    help="cv: apply the value curves before the resize to the image's size (as the library does)")
    ap.add_argument("--top", type=int, default=12, help="cv: list only this many curved candidates (0: all)")
    ap.add_argument("--mirrors", action="store_true",
                    help="cv: a mirrored variant (+flip) run alone is a candidate too, not only shown")
    ap.add_argument("--max-runs", type=int, default=0,
                    help="cv: only candidates that run the network at most this often per image (0: any)")
    ap.add_argument("--min-runs", type=int, default=0,
                    help="cv: only candidates that always run the network at least this often per image (0: any)")
    ap.add_argument("--touching", action="store_true",
                    help="cache: only images whose stretch matte touches an image edge (for the two-run rules)")
    args = ap.parse_args()
    RUNTIME.update(runtime=args.runtime, precision=args.precision,
                   tag="" if args.runtime == "onnxruntime" else f"~{args.runtime}"
                   + (f"-{args.precision}" if args.precision else ""))
    if not (args.evaldata / "MANIFEST.csv").is_file() and not args.evaldata.is_dir():
        ap.error(f"--evaldata {args.evaldata} is not a folder")
    border = args.out / "border"
    if args.step == "border":
        build_border(args.evaldata, border)
        return 0
    if args.step == "large":
        build_large(args.evaldata, args.out / "large")
        return 0
    every_set = {k: int(v) for k, v in (kv.split("=") for kv in args.every_set.split(",") if kv)}
    items = load_items(args.evaldata, border, args.extra, args.every, every_set,
                       with_large=args.large or args.step in ("large", "stage", "cache", "paths"))
    variants = [Variant.parse(t) for t in args.variants.split(",") if t]
    if args.folds:
        keep = set(args.folds.split(","))
        items = [it for it in items if it.fold in keep]
    if args.step == "stage":  # symlink folders of the chosen images, for the peers' scripts
        for it in items:
            d = args.out / "stage" / peer_dir(it)
            d.mkdir(parents=True, exist_ok=True)
            link = d / it.image.name
            if not link.exists():
                link.symlink_to(it.image.resolve())
        return 0
    if args.step == "cache":
        run_cache(items, variants, args.out, args.threads, args.touching)
        return 0
    curves = CURVE_GRID if args.curves == "grid" else [c for c in args.curves.split(",") if c and c != "none"]
    if args.step == "paths":
        print(run_paths(items, args.out, variants[0], curves))
        return 0
    print(run_cv(items, args.out, args.compare, args.tie, variants, args.outputs.split(","), curves,
                 tuple(args.curve_outputs.split(",")), not args.no_rules, args.top, args.fb_floor, args.pre,
                 args.scores, args.reuse, args.criterion, args.shipped, args.mirrors, args.max_runs,
                 args.min_runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
