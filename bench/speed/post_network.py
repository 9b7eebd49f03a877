"""CPU time per step of everything alphacut does to an image besides the network, one image at a time.

    PYTHONPATH=src .venv/bin/python bench/speed/post_network.py FOLDER [--fast] [-f png|webp|jpeg|mask]
        [--repeat N] [--json OUT] [--raw-cache DIR]

The model runs once per image (its output is kept, and with --raw-cache stored as .npy, so other
runs and other source trees reuse it without running the network again); then each image's
decode + preprocess, finish (matte, decontamination, composition) and encode are repeated and timed
with time.thread_time() (CPU of this thread: all these steps run in it, single-threaded), the
minimum over the repeats per image and step. Named steps inside them are timed by wrapping the
functions the pipeline calls (decode_image, preprocess, postprocess, guided_upsample, resize_matte,
clean_matte, the decontamination's estimate and paste, pixels_to_pil, encode_image); "rest" is what
the wrapped steps leave of their stage. Run two source trees alternately (PYTHONPATH) to compare.
The network's own time is given once (process_time around infer, all its threads).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from alphacut import Remover
from alphacut.options import FAST_GUIDE_MIN_PIXELS, FAST_MODEL, FAST_RESOLUTION, Options
from alphacut.pipeline import encode_cutout

_acc: dict[str, float] = {}
_depth: list[str] = []


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    if getattr(fn, "_post_network_timed", False):
        return fn

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if name in _depth:  # recursion / the same step called inside itself: time the outer call only
            return fn(*args, **kwargs)
        _depth.append(name)
        t = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            _acc[name] = _acc.get(name, 0.0) + time.thread_time() - t
            _depth.pop()

    wrapper._post_network_timed = True  # type: ignore[attr-defined]
    return wrapper


def _wrap(module: Any, attr: str, name: str) -> None:
    if hasattr(module, attr):
        setattr(module, attr, _timed(name, getattr(module, attr)))


def instrument() -> None:
    """Wrap the steps where the pipeline looks them up (module attributes)."""
    from alphacut import composition, pipeline
    from alphacut.io import encode
    from alphacut.ops import composite, foreground, guided

    _wrap(pipeline, "decode_image", "decode")
    _wrap(pipeline, "preprocess", "preprocess")
    _wrap(pipeline, "postprocess", "postprocess")
    _wrap(guided, "guided_upsample", "guided")
    _wrap(pipeline, "resize_matte", "resize_matte")
    _wrap(pipeline, "enlarge_matte", "enlarge_matte")
    _wrap(pipeline, "clean_matte", "clean")
    for mod in (composite, foreground):
        _wrap(mod, "estimate_foreground_u8", "fg_estimate")
        _wrap(mod, "paste_soft_band", "fg_paste")
    _wrap(composition, "pixels_to_pil", "to_pil")
    _wrap(composition, "to_pil", "to_pil")
    _wrap(composition, "matte_to_pil", "to_pil")
    _wrap(composition, "encode_image", "encode_image")
    _wrap(encode, "encode_image", "encode_image")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("-f", "--format", default="png")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--only", default=None, help="comma-separated stems (or prefixes) to run")
    parser.add_argument("--raw-cache", type=Path, default=None, help="folder for the network's outputs (.npy)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--label", default="")
    parser.add_argument("--save", type=Path, default=None, help="write each image's output here (to compare trees)")
    args = parser.parse_args(argv)
    folder = args.folder / "images" if (args.folder / "images").is_dir() else args.folder
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    if args.only:
        keys = args.only.split(",")
        paths = [p for p in paths if any(p.stem.startswith(k) for k in keys)]
    kwargs: dict[str, Any] = {"format": args.format}
    opts = Options.from_kwargs(**kwargs, **_fast_kwargs(args.fast))
    remover = Remover(FAST_MODEL if args.fast else None, threads=args.threads)
    instrument()
    remover.wait_ready()
    raws: dict[str, np.ndarray] = {}
    net: dict[str, float] = {}
    # the network's input depends on the decode, which --fast reduces for masks of large JPEGs only
    tag = f"{remover.model_id}-{'fast' if args.fast else 'default'}{'-mask' if args.fast and args.format == 'mask' else ''}"
    for p in paths:
        cached = args.raw_cache / f"{tag}-{p.stem}.npy" if args.raw_cache else None
        prepared = remover.prepare(p, opts)
        if cached is not None and cached.exists():
            raws[p.stem] = np.load(cached)
            continue
        c = time.process_time()
        raws[p.stem] = remover.infer(prepared)
        net[p.stem] = time.process_time() - c
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.save(cached, raws[p.stem])
    best: dict[str, dict[str, float]] = {}
    sizes: dict[str, int] = {}
    for _ in range(args.repeat):
        for p in paths:
            _acc.clear()
            t: dict[str, float] = {}
            c0 = time.thread_time()
            prepared = remover.prepare(p, opts)
            c1 = time.thread_time()
            cutout = remover.finish(prepared, raws[p.stem], opts)
            c2 = time.thread_time()
            data = encode_cutout(cutout, opts)
            c3 = time.thread_time()
            sizes[p.stem] = len(data)
            if args.save is not None:
                args.save.mkdir(parents=True, exist_ok=True)
                (args.save / f"{p.stem}.{'png' if args.format == 'mask' else args.format}").write_bytes(data)
            t["prepare"], t["finish"], t["encode"] = c1 - c0, c2 - c1, c3 - c2
            t["total"] = c3 - c0
            t.update({f"  {k}": v for k, v in _acc.items()})
            prev = best.setdefault(p.stem, {})
            for k, v in t.items():
                prev[k] = min(prev.get(k, v), v)
    report(best, sizes, net, paths, args, remover.model_id)
    return 0


def _fast_kwargs(fast: bool) -> dict[str, Any]:
    """What `alphacut remove --fast` sets besides the model (cli/remove.py): resolution and the reduced guide."""
    if not fast:
        return {}
    return {"resolution": FAST_RESOLUTION, "guide_min_pixels": FAST_GUIDE_MIN_PIXELS}


def report(best: dict[str, dict[str, float]], sizes: dict[str, int], net: dict[str, float], paths: list[Path],
           args: argparse.Namespace, model_id: str) -> None:
    keys: list[str] = []
    for per in best.values():
        keys += [k for k in per if k not in keys]
    load = os.getloadavg()
    print(f"# {args.label} model {model_id} format {args.format} fast={args.fast} repeat={args.repeat} "
          f"load {load[0]:.1f} {load[1]:.1f}")
    print("image".ljust(44) + "MP".rjust(6) + "".join(k.strip()[:12].rjust(13) for k in keys) + "bytes".rjust(11))
    from PIL import Image

    for p in paths:
        with Image.open(p) as im:
            mp = im.width * im.height / 1e6
        per = best[p.stem]
        print(p.stem[:43].ljust(44) + f"{mp:6.1f}" + "".join(f"{1e3 * per.get(k, 0.0):13.1f}" for k in keys)
              + f"{sizes[p.stem]:11d}")
    tot = {k: sum(per.get(k, 0.0) for per in best.values()) for k in keys}
    print("sum (ms CPU)".ljust(50) + "".join(f"{1e3 * tot[k]:13.1f}" for k in keys) + f"{sum(sizes.values()):11d}")
    if net:
        print(f"network (process CPU, once): {sum(net.values()):.2f} s over {len(net)} images")
    if args.json:
        args.json.write_text(json.dumps({"label": args.label, "format": args.format, "fast": args.fast,
                                         "load": load, "per_image_s": best, "bytes": sizes, "network_s": net},
                                        indent=1))


if __name__ == "__main__":
    sys.exit(main())
