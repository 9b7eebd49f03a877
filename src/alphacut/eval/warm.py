"""alphacut's warm per-image times for `alphacut bench`: file in → matte file out, one image at a time.

    python -m alphacut.eval.warm '{"home": ..., "model": ..., "threads": ..., "resolution": ...,
                                   "guide_min_pixels": ..., "runtime": ..., "images": [...], "out": DIR}'

One Remover; a warm-up image first; then each image is read, cut out as a mask and written. Prints
one JSON line: {"per_image_file_s": {stem: seconds}}.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    from ..api import Remover
    from ..config import load_settings
    from ..options import Options

    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    args = json.loads(argv[0])
    settings = load_settings({"home": args["home"]} if args.get("home") else {})
    remover = Remover(args.get("model"), settings=settings, threads=args.get("threads"), runtime=args.get("runtime"))
    opts = Options.from_kwargs(format="mask", resolution=args.get("resolution"),
                               guide_min_pixels=args.get("guide_min_pixels"))
    paths = [Path(p) for p in args["images"]]
    out = Path(args["out"])
    remover.remove_bytes(paths[0], opts)
    times = {}
    for p in paths:
        t = time.perf_counter()
        (out / (p.stem + ".png")).write_bytes(remover.remove_bytes(p, opts))
        times[p.stem] = time.perf_counter() - t
    print(json.dumps({"per_image_file_s": times}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
