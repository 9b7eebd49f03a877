"""The bench set (mixed sizes, every image with its ground truth, built from evaldata) and its MAE."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError
from ..io.files import IMAGE_SUFFIXES

__all__ = ["BENCH_SUFFIXES", "DEFAULT_BENCH_MIX", "BenchItem", "mae_per_image", "make_bench_set"]

#: The image files a bench folder may hold: those every peer script reads (peer_scripts/), so all
#: tools see the same files.
BENCH_SUFFIXES = IMAGE_SUFFIXES  # the one list (io.files)


@dataclass(frozen=True, slots=True)
class BenchItem:
    """One bench image: evaldata pair `set/stem` (by sorted position `pick` = fraction in [0, 1)),
    at its own size (size_wh None) or centre-cropped to size_wh's aspect and upscaled to size_wh."""

    set: str
    pick: float
    size_wh: tuple[int, int] | None = None


# 12 images at their own size (2 per set with binary or exact GT) and 4 photos of 12 and 24 MP.
# adobe_crops (320 px soft-alpha crops) is left out: every tool scores ~0.36 MAE there and it would
# dominate the mean. The order interleaves large and small images, as a real folder would.
DEFAULT_BENCH_MIX: tuple[BenchItem, ...] = (
    BenchItem("davis_people", 0.0),
    BenchItem("grabcut", 0.0),
    BenchItem("davis_people", 0.25, (4240, 2832)),  # 12.0 MP
    BenchItem("ebay_products", 0.0),
    BenchItem("davis_animals", 0.0),
    BenchItem("davis_objects", 0.25, (6000, 4000)),  # 24.0 MP
    BenchItem("ecommerce_synthetic", 0.0),
    BenchItem("davis_objects", 0.0),
    BenchItem("davis_animals", 0.25, (4240, 2832)),  # 12.0 MP
    BenchItem("grabcut", 0.5),
    BenchItem("davis_people", 0.5),
    BenchItem("ebay_products", 0.25, (4900, 4900)),  # 24.0 MP
    BenchItem("davis_animals", 0.5),
    BenchItem("davis_objects", 0.5),
    BenchItem("ebay_products", 0.5),
    BenchItem("ecommerce_synthetic", 0.5),
)


def synthetic_photo(w: int, h: int, seed: int = 0) -> NDArray[np.uint8]:
    """A deterministic photo-like H×W×3 uint8 image for memory and speed runs: a smooth background,
    a textured elliptical subject and sensor noise (so that JPEG and PNG sizes are like a photo's).

    Example:
        >>> synthetic_photo(96, 64).shape
        (64, 96, 3)
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / w, yy / h, 0.5 * (xx + yy) / (w + h)], axis=-1) * 180 + 40
    inside = ((xx - w / 2) / (0.3 * w)) ** 2 + ((yy - h / 2) / (0.4 * h)) ** 2 < 1
    base[inside] = np.array([200, 60, 40], np.float32) + 30 * np.sin(xx[inside, None] / 7.0)
    del xx, yy, inside
    base += rng.normal(0, 6, size=base.shape).astype(np.float32)
    return np.clip(base, 0, 255).astype(np.uint8)


def _pairs(evaldata: Path, set_name: str) -> list[tuple[Path, Path]]:
    images = evaldata / set_name / "images"
    gts = evaldata / set_name / "gt"
    if not images.is_dir() or not gts.is_dir():
        raise InputError("input.not-found", f"{evaldata / set_name} has no images/ and gt/ folders.",
                         hint="Point --evaldata at ../shared/evaldata.")
    out = []
    for img in sorted(p for p in images.iterdir() if p.suffix.lower() in BENCH_SUFFIXES):
        gt = gts / f"{img.stem}.png"
        if gt.is_file():
            out.append((img, gt))
    if not out:
        raise InputError("input.not-found", f"No image in {images} has a GT in {gts}.")
    return out


def _centre_crop_box(w: int, h: int, aspect: float) -> tuple[int, int, int, int]:
    """The largest centred box of the given width/height aspect inside w×h."""
    if w / h > aspect:
        cw = round(h * aspect)
        x = (w - cw) // 2
        return (x, 0, x + cw, h)
    ch = round(w / aspect)
    y = (h - ch) // 2
    return (0, y, w, y + ch)


def make_bench_set(evaldata: Path, out: Path, *, mix: Sequence[BenchItem] = DEFAULT_BENCH_MIX,
                   jpeg_quality: int = 90) -> dict[str, Any]:
    """Write out/images, out/gt and out/manifest.json from evaldata pairs; deterministic.

    Native images are copied byte for byte with their GT. Upscaled ones are centre-cropped to the
    target aspect (image and GT alike), resized with Lanczos (image, saved as JPEG) and bilinear (GT,
    so a binary GT gets a soft edge a few pixels wide instead of staircases).
    """
    from PIL import Image

    if out.exists() and any(out.iterdir()):
        raise InputError("input.exists", f"{out} exists and is not empty.", hint="Remove it or choose another --out.")
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "gt").mkdir(parents=True, exist_ok=True)
    entries = []
    for i, item in enumerate(mix):
        pairs = _pairs(evaldata, item.set)
        img_path, gt_path = pairs[min(len(pairs) - 1, math.floor(item.pick * len(pairs)))]
        name = f"{i:02d}_{item.set}_{img_path.stem}"
        unknown = item.set == "grabcut"  # 128 = unknown band (evaldata README): not scored
        if item.size_wh is None:
            dst = out / "images" / f"{name}{img_path.suffix.lower()}"
            shutil.copyfile(img_path, dst)
            shutil.copyfile(gt_path, out / "gt" / f"{name}.png")
            with Image.open(dst) as im:
                w, h = im.size
        else:
            if unknown:
                raise InputError("input.invalid", "grabcut GT has an unknown band; don't upscale it.")
            w, h = item.size_wh
            with Image.open(img_path) as im, Image.open(gt_path) as g:
                box = _centre_crop_box(im.width, im.height, w / h)
                big = im.convert("RGB").crop(box).resize((w, h), Image.Resampling.LANCZOS)
                big.save(out / "images" / f"{name}.jpg", quality=jpeg_quality)
                g.convert("L").crop(box).resize((w, h), Image.Resampling.BILINEAR).save(out / "gt" / f"{name}.png")
            dst = out / "images" / f"{name}.jpg"
        entries.append({"name": name, "file": dst.name, "source": f"{item.set}/{img_path.name}",
                        "width": w, "height": h, "upscaled": item.size_wh is not None, "gt_unknown_128": unknown})
    manifest = {"made_by": "alphacut.eval.benchset.make_bench_set", "evaldata": str(evaldata), "images": entries}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def ensure_bench_set(evaldata: Path, out: Path, *, mix: Sequence[BenchItem] = DEFAULT_BENCH_MIX) -> dict[str, Any]:
    """make_bench_set, unless out already holds the set it would make (same evaldata, same images):
    then its manifest. Reruns of one bench command reuse the set; anything else in out is refused."""
    manifest_path = out / "manifest.json"
    if manifest_path.is_file():
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        names = [e.get("name") for e in manifest.get("images", [])]
        files_there = all((out / "images" / str(e.get("file"))).is_file() and (out / "gt" / f"{e.get('name')}.png").is_file()
                          for e in manifest.get("images", []))
        if manifest.get("evaldata") == str(evaldata) and len(names) == len(mix) and files_there:
            return manifest
    return make_bench_set(evaldata, out, mix=mix)


# ------------------------------------------------------------------------------------------ quality
def _read_alpha(path: Path) -> NDArray[np.float32]:
    from ..io.decode import read_matte

    return read_matte(path)


def _unknown_flags(gt_dir: Path) -> dict[str, bool]:
    manifest = gt_dir.parent / "manifest.json"
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return {e["name"]: bool(e.get("gt_unknown_128")) for e in data.get("images", [])}
    return {}


def mae_per_image(pred_dir: Path, gt_dir: Path, stems: Sequence[str]) -> dict[str, float]:
    """MAE of pred_dir/<stem>.png (its alpha, or the grey level of a mask) against gt_dir/<stem>.png.

    GT pixels equal to 128 are not scored where the bench manifest marks the GT as having an unknown
    band (grabcut). A missing or wrongly sized prediction raises InputError: a tool that did not
    produce every matte must not get a score.
    """
    unknown = _unknown_flags(gt_dir)
    out: dict[str, float] = {}
    for stem in stems:
        pred_path, gt_path = pred_dir / f"{stem}.png", gt_dir / f"{stem}.png"
        if not pred_path.is_file():
            raise InputError("eval.not-found", f"{pred_path} is missing: the tool wrote no matte for {stem}.")
        if not gt_path.is_file():
            raise InputError("eval.not-found", f"{gt_path} is missing: no ground truth for {stem}.")
        pred, gt = _read_alpha(pred_path), _read_alpha(gt_path)
        if pred.shape != gt.shape:
            raise InputError("eval.size-mismatch", f"{pred_path} is {pred.shape[1]}x{pred.shape[0]}, its GT "
                             f"{gt.shape[1]}x{gt.shape[0]}.")
        diff = np.abs(pred - gt)
        if unknown.get(stem):
            diff = diff[np.rint(gt * 255) != 128]
        out[stem] = float(diff.mean())
    return out

