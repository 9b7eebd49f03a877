"""Time of a capped cutout (remove.bg's size=preview: max_output_pixels=250000) from a big JPEG: the
reduced decode that min_decode_size allows vs the full decode, interleaved round by round.

    nice -n 5 .venv/bin/python bench/speed/capped_output.py [--mp 24] [--rounds 3] [--threads 2]

Needs the default model in the cache (alphacut models fetch). Compare the ratio, not the seconds:
the machine may be shared.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

from PIL import Image

from alphacut.api import Remover
from alphacut.io.decode import decode_image
from alphacut.options import Options


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mp", type=float, default=24.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cap", type=int, default=250_000)
    args = ap.parse_args()
    photo = Image.open("samples/astronaut.jpg").convert("RGB")
    w = int((args.mp * 1e6 * 3 / 2) ** 0.5)
    buf = io.BytesIO()
    photo.resize((w, w * 2 // 3), Image.Resampling.BICUBIC).save(buf, "JPEG", quality=92)
    data = buf.getvalue()
    remover = Remover(threads=args.threads).wait_ready()
    options = Options(max_output_pixels=args.cap)
    remover.cutout(data, options)  # warm-up
    times: dict[str, list[float]] = {"reduced decode": [], "full decode": []}
    scale = 1
    for _ in range(args.rounds):
        t = time.perf_counter()
        out = remover.cutout(data, options)
        times["reduced decode"].append(time.perf_counter() - t)
        scale = out.info.decode_scale
        t = time.perf_counter()
        remover.cutout(decode_image(data), options)  # a Decoded is used as it is: the full photo
        times["full decode"].append(time.perf_counter() - t)
    r, f = statistics.median(times["reduced decode"]), statistics.median(times["full decode"])
    print(f"{w}x{w * 2 // 3} JPEG, max_output_pixels={args.cap}, model {remover.model_id}, "
          f"{args.threads} threads, {args.rounds} interleaved rounds (median): reduced decode (1/{scale}) "
          f"{r:.2f} s, full decode {f:.2f} s, full/reduced {f / r:.2f}x")


if __name__ == "__main__":
    main()
