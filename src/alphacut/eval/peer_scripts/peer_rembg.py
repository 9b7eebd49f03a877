"""Run rembg (the peer) on a folder of images and write its masks, for same-weights comparisons.

Run it with the Python of the venv that bench/setup_peers.sh made (rembg is not an alphacut
dependency):

    bench/.envs/rembg/bin/python bench/peer_rembg.py --model ~/.cache/alphacut/models/isnet-general-use-fp16.onnx \
        --images ../shared/evaldata/grabcut/images --out out/rembg --json out/rembg.json

For each image it writes ``<out>/<stem>.png``: rembg's 8-bit mask (``remove(..., only_mask=True)``) at
the input's size. The JSON gets per-image seconds (``per_image_s``: one ``remove`` call on the decoded
image, after one warm-up call; ``per_image_file_s``: file in → mask file written, what alphacut bench
compares), the batch time (``batch_s``: the loop over all files, after session creation and warm-up),
the total wall time, the session creation time and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="an ISNet .onnx file")
    parser.add_argument("--images", type=Path, required=True, help="folder of input images")
    parser.add_argument("--out", type=Path, required=True, help="folder for the <stem>.png masks")
    parser.add_argument("--json", type=Path, help="write timings here")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads (default 2)")
    parser.add_argument("--limit", type=int, help="only the first N images (sorted by name)")
    parser.add_argument("--skip-existing", action="store_true",
                        help="leave out images whose <stem>.png is already in --out (a resumed run; timings cover the rest)")
    parser.add_argument("--no-warmup", action="store_true",
                        help="skip the warm-up call (for cold-start runs: process start to first matte written)")
    args = parser.parse_args(argv)

    model = args.model.expanduser().resolve()
    if not model.is_file():
        parser.error(f"--model {model} is not a file")
    if not args.images.is_dir():
        parser.error(f"--images {args.images} is not a folder")
    images = sorted(p for p in args.images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[: args.limit]
    if not images:
        parser.error(f"no images in {args.images}")
    if args.skip_existing:
        images = [p for p in images if not (args.out / f"{p.stem}.png").is_file()]
        if not images:
            print(f"rembg: every mask is already in {args.out}", file=sys.stderr)
            return 0
    args.out.mkdir(parents=True, exist_ok=True)

    # rembg refuses a model_path outside its home folder: point its home at the model's folder.
    os.environ["REMBG_HOME"] = str(model.parent)
    wall_start = time.perf_counter()
    import onnxruntime as ort
    from PIL import Image
    from rembg import new_session, remove

    rembg_version = metadata.version("rembg")

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    start = time.perf_counter()
    session = new_session("dis_custom", model_path=str(model), sess_opts=opts)
    session_s = time.perf_counter() - start

    def load(path: Path) -> Image.Image:
        with Image.open(path) as im:
            rgb: Image.Image = im.convert("RGB")
            return rgb

    warmup_s = None
    if not args.no_warmup:
        start = time.perf_counter()
        remove(load(images[0]), session=session, only_mask=True)
        warmup_s = time.perf_counter() - start

    per_image: dict[str, float] = {}
    per_image_file: dict[str, float] = {}
    batch_start = time.perf_counter()
    for path in images:
        file_start = time.perf_counter()
        image = load(path)
        start = time.perf_counter()
        mask = remove(image, session=session, only_mask=True)
        per_image[path.stem] = time.perf_counter() - start
        if mask.mode != "L":
            mask = mask.convert("L")
        assert mask.size == image.size, (mask.size, image.size)
        tmp = args.out / f".{path.stem}.{os.getpid()}.png"
        mask.save(tmp)  # then renamed: a stopped run leaves no half-written mask for --skip-existing to trust
        tmp.replace(args.out / f"{path.stem}.png")
        per_image_file[path.stem] = time.perf_counter() - file_start
    batch_s = time.perf_counter() - batch_start
    wall_s = time.perf_counter() - wall_start

    report = {
        "peer": "rembg",
        "version": rembg_version,
        "onnxruntime": ort.__version__,
        "python": platform.python_version(),
        "model": str(model),
        "threads": args.threads,
        "images": len(images),
        "session_s": session_s,
        "warmup_s": warmup_s,
        "per_image_s": per_image,
        "per_image_file_s": per_image_file,
        "batch_s": batch_s,
        "median_s": statistics.median(per_image.values()),
        "mean_s": statistics.fmean(per_image.values()),
        "wall_s": wall_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"rembg {rembg_version}: {len(images)} images, median {report['median_s']:.3f} s/image, "
          f"session {session_s:.2f} s, wall {wall_s:.1f} s, peak RSS {report['peak_rss_mb']:.0f} MB",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
