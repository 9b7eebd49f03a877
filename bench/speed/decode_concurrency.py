"""What a global lock around decoding costs: N threads decoding JPEGs at once, lock-free vs serialized.

"serialized" is the previous io/decode.py (catch_warnings under one process-wide lock around each
decode); "lock-free" is decode_image as it is now (warnings captured per thread). Both variants run
interleaved, round after round, so machine load hits them alike; compare the ratio, not the rates.

    .venv/bin/python bench/speed/decode_concurrency.py [--mp 12] [--per-thread 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from alphacut.io import decode as decode_mod
from alphacut.io.decode import decode_image

_OLD_LOCK = threading.Lock()


def serialized(data: bytes) -> object:
    """The previous decode_image's warning capture: every decode holds one global lock."""
    with _OLD_LOCK, warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        return decode_mod._decode(data, "bench.jpg", 100_000_000, None)


def lock_free(data: bytes) -> object:
    return decode_image(data)


def photo_jpeg(mp: float) -> bytes:
    w = int((mp * 1e6 * 4 / 3) ** 0.5)
    h = int(w * 3 / 4)
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([x / w, y / h, (x + y) / (w + h)], axis=2) * 200
    pixels = np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


def images_per_s(fn: object, data: bytes, threads: int, per_thread: int) -> tuple[float, float]:
    """(images per second, CPU seconds per wall second: how many cores the decodes kept busy)."""
    def work() -> None:
        for _ in range(per_thread):
            fn(data)  # type: ignore[operator]

    t, c = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(threads) as ex:
        for f in [ex.submit(work) for _ in range(threads)]:
            f.result()
    wall = time.perf_counter() - t
    return threads * per_thread / wall, (time.process_time() - c) / wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mp", type=float, default=12.0)
    ap.add_argument("--per-thread", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2,4")
    args = ap.parse_args()
    data = photo_jpeg(args.mp)
    lock_free(data)  # warm-up (imports, first allocation)
    print(f"{args.mp:g} MP JPEG ({len(data) / 1e6:.1f} MB), {args.per_thread} decodes per thread, "
          f"{args.rounds} interleaved rounds; median images/s")
    for threads in (int(t) for t in args.threads.split(",")):
        rates: dict[str, list[float]] = {"serialized": [], "lock-free": []}
        cores: dict[str, list[float]] = {"serialized": [], "lock-free": []}
        for _ in range(args.rounds):
            for name, fn in (("serialized", serialized), ("lock-free", lock_free)):
                rate, busy = images_per_s(fn, data, threads, args.per_thread)
                rates[name].append(rate)
                cores[name].append(busy)
        s, f = statistics.median(rates["serialized"]), statistics.median(rates["lock-free"])
        print(f"threads={threads}: serialized {s:.2f}/s ({statistics.median(cores['serialized']):.2f} cores busy), "
              f"lock-free {f:.2f}/s ({statistics.median(cores['lock-free']):.2f} cores busy), "
              f"lock-free/serialized {f / s:.2f}x")


if __name__ == "__main__":
    main()
