"""Contact sheet of hard cases: the original, rembg's cutout and alphacut's cutout on white and on black.

    PYTHONPATH=src .venv/bin/python bench/quality/contact_sheet.py            # defaults below
    PYTHONPATH=src .venv/bin/python bench/quality/contact_sheet.py \\
        --item adobe_crops/dbaf7521a5_87f08cf0ad --item davis_people/107_lady-walk --out docs/img/contact_sheet.png

Rows are images (``--item SET/STEM``, picked from an evaldata folder), columns are:
original | rembg on white | rembg on black | alphacut on white | alphacut on black.

- rembg's cutout is what rembg itself outputs: the original's RGB with its matte as alpha. The matte
  is read from ``--rembg DIR/<set>/<stem>.png`` (written by bench/compare_quality.sh); if it is
  missing and bench/.envs/rembg exists, bench/peer_rembg.py is run for that image.
- alphacut's cutout is its own RGBA output from ``alphacut remove`` (run through the CLI from this
  checkout, so whatever the pipeline does to edge colours shows up), cached in ``--work``.
- With ``--crop`` (default on) every tile is cropped to the ground truth's bounding box plus a margin,
  so small subjects (DAVIS frames) are big enough to judge hair and edges; the crop is the same for
  every column of a row.

Tiles are scaled to ``--height`` pixels (default 256). If the PNG comes out larger than
``--max-kb``, it is saved with an adaptive 256-colour palette instead.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_ITEMS = (
    "adobe_crops/dbaf7521a5_87f08cf0ad",  # dog: fur against a dark background
    "davis_people/107_lady-walk",  # long hair, small subject
    "adobe_crops/afbe6aacf4_294e2e5709",  # dandelion-like fluff: thin semi-transparent strands
    "adobe_crops/67ddb654e3_28fc64cda4",  # drinking glass: transparency
    "ebay_products/test_00000013",  # glass bottle with a drink, pasted into a room
    "ebay_products/test_00000010",  # laptop: long straight product edges
)
COLUMNS = ("original", "rembg on white", "rembg on black", "alphacut on white", "alphacut on black")
MODEL = Path.home() / ".cache" / "alphacut" / "models" / "isnet-general-use-fp16.onnx"
LABEL_H = 22


def find_image(evaldata: Path, set_name: str, stem: str) -> Path:
    folder = evaldata / set_name / "images"
    hits = sorted(p for p in folder.glob(f"{stem}.*") if p.is_file())
    if not hits:
        raise SystemExit(f"contact_sheet: no image {folder}/{stem}.* (give --item SET/STEM of an evaldata image)")
    return hits[0]


def rembg_matte(rembg_dir: Path, image: Path, set_name: str, stem: str) -> Image.Image:
    path = rembg_dir / set_name / f"{stem}.png"
    if not path.is_file():
        py = HERE.parent / ".envs" / "rembg" / "bin" / "python"
        if not py.is_file():
            raise SystemExit(f"contact_sheet: no rembg matte {path}; run bench/compare_quality.sh "
                             "(or bench/setup_peers.sh rembg) first.")
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / image.name).symlink_to(image.resolve())
            subprocess.run([str(py), str(HERE.parent / "peer_rembg.py"), "--model", str(MODEL), "--images", tmp,
                            "--out", str(path.parent)], check=True)
    return Image.open(path).convert("L")


def alphacut_cutout(work: Path, image: Path, set_name: str, stem: str, python: str) -> Image.Image:
    path = work / set_name / f"{stem}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run([python, "-m", "alphacut.cli", "remove", str(image), "-o", str(path), "-f", "png", "-q",
                    "--overwrite"], check=True, env=env)
    return Image.open(path).convert("RGBA")


def gt_box(gt: Image.Image, margin: float) -> tuple[int, int, int, int]:
    a = np.asarray(gt.convert("L"))
    ys, xs = np.nonzero(a > 8)
    if len(xs) == 0:
        return (0, 0, gt.width, gt.height)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    mx, my = round((x1 - x0) * margin), round((y1 - y0) * margin)
    return (max(0, x0 - mx), max(0, y0 - my), min(gt.width, x1 + mx), min(gt.height, y1 + my))


def on(cutout: Image.Image, colour: tuple[int, int, int]) -> Image.Image:
    bg = Image.new("RGBA", cutout.size, colour + (255,))
    return Image.alpha_composite(bg, cutout).convert("RGB")


def label(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font: ImageFont.ImageFont) -> None:
    draw.text(xy, text, fill=(0, 0, 0), font=font)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--item", action="append", help="SET/STEM of an evaldata image (repeat; default: 6 hard cases)")
    parser.add_argument("--evaldata", type=Path, default=Path(os.environ.get("EVALDATA", str(REPO.parent / "shared" / "evaldata"))))
    parser.add_argument("--rembg", type=Path, default=Path("out/compare/rembg"), help="rembg mattes <set>/<stem>.png")
    parser.add_argument("--work", type=Path, default=Path("out/contact/alphacut"), help="alphacut's cutouts go here")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "contact_sheet.png")
    parser.add_argument("--height", type=int, default=256, help="tile height in pixels (default 256)")
    parser.add_argument("--no-crop", dest="crop", action="store_false", help="show whole images, not the GT's box")
    parser.add_argument("--margin", type=float, default=0.08, help="crop margin, fraction of the box (default 0.08)")
    parser.add_argument("--max-kb", type=int, default=1500, help="above this, save with a 256-colour palette")
    parser.add_argument("--python", default=sys.executable, help="Python that runs alphacut (default: this one)")
    args = parser.parse_args(argv)
    if "sealed" in str(args.evaldata.resolve()):
        parser.error("refusing to read a sealed set")

    rows: list[list[Image.Image]] = []
    names: list[str] = []
    for item in args.item or DEFAULT_ITEMS:
        set_name, _, stem = item.partition("/")
        if not stem:
            parser.error(f"--item {item!r} must be SET/STEM, e.g. adobe_crops/dbaf7521a5_87f08cf0ad")
        image_path = find_image(args.evaldata, set_name, stem)
        original = Image.open(image_path).convert("RGB")
        matte = rembg_matte(args.rembg, image_path, set_name, stem)
        ours = alphacut_cutout(args.work, image_path, set_name, stem, args.python)
        if matte.size != original.size or ours.size != original.size:
            raise SystemExit(f"contact_sheet: sizes differ for {item}: image {original.size}, "
                             f"rembg {matte.size}, alphacut {ours.size}")
        theirs = original.convert("RGBA")
        theirs.putalpha(matte)
        box = (gt_box(Image.open(args.evaldata / set_name / "gt" / f"{stem}.png"), args.margin)
               if args.crop else (0, 0, original.width, original.height))
        tiles = [original.convert("RGB"), on(theirs, (255, 255, 255)), on(theirs, (0, 0, 0)),
                 on(ours, (255, 255, 255)), on(ours, (0, 0, 0))]
        tiles = [t.crop(box) for t in tiles]
        w = max(1, round(tiles[0].width * args.height / tiles[0].height))
        rows.append([t.resize((w, args.height), Image.LANCZOS) for t in tiles])
        names.append(item)

    gap = 4
    col_w = [max(r[c].width for r in rows) for c in range(len(COLUMNS))]
    width = sum(col_w) + gap * (len(COLUMNS) - 1)
    height = LABEL_H + len(rows) * (args.height + LABEL_H) + gap * (len(rows) - 1)
    sheet = Image.new("RGB", (width, height), (200, 200, 200))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    x = 0
    for c, name in enumerate(COLUMNS):
        draw.rectangle((x, 0, x + col_w[c] - 1, LABEL_H - 1), fill=(255, 255, 255))
        label(draw, (x + 4, 5), name, font)
        x += col_w[c] + gap
    y = LABEL_H
    for name, row in zip(names, rows):
        draw.rectangle((0, y, width, y + LABEL_H - 1), fill=(235, 235, 235))
        label(draw, (4, y + 5), name, font)
        y += LABEL_H
        x = 0
        for c, tile in enumerate(row):
            sheet.paste(tile, (x + (col_w[c] - tile.width) // 2, y))
            x += col_w[c] + gap
        y += args.height + gap

    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    size_kb = args.out.stat().st_size / 1024
    if size_kb > args.max_kb:
        sheet.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
            args.out, optimize=True)
        print(f"contact_sheet: {size_kb:.0f} KB as RGB; saved with a 256-colour palette instead", file=sys.stderr)
    print(f"contact_sheet: {args.out} {sheet.width}x{sheet.height}, {args.out.stat().st_size / 1024:.0f} KB, "
          f"{len(rows)} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
