"""Private mode's provisional preview in headless Chromium (WASM): milliseconds from the drop to the preview
on the card and to the full-quality result, for a small photo and a 12 MP one, on a first visit (the model
downloaded, verified and kept in Cache Storage) and on a later one (the page reloaded, HTTP cache emptied:
the model read from the page's own store and verified); and the longest gap of a 10 ms timer on the page's
main thread while each photo was worked on (its responsiveness).

For each preview side (the page's ?preview=N knob: the model's input side for the preview; 0 = no preview),
a fresh browser profile, an alphacut server with the default model on 127.0.0.1, and three visits one
after the other (VISITS): the first (no kept model) drops the small photo, then the 12 MP one, at once; a
later one (reloaded) drops the 12 MP photo, then the small one, at once (the model read from the store and
compiled meanwhile); a later one waits until the model is ready (the page loads it as soon as private mode
is chosen) and drops both. Other engineers share this machine's CPU: the load average is printed with each
run; run it more than once.

    PYTHONPATH=src .venv/bin/python bench/web/web_preview.py
    PYTHONPATH=src .venv/bin/python bench/web/web_preview.py --sides 256,320,384 --rounds 2

Needs `make web browser-deps` and the default model cached (`alphacut models fetch`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.web.web_speed import LiveServer

# a 10 ms timer's longest lateness on the page's main thread, reset by each read
GAPS = """(() => { if (!window.__gap) { const g = window.__gap = { max: 0, last: performance.now() };
  const tick = () => { const now = performance.now(); g.max = Math.max(g.max, now - g.last); g.last = now; setTimeout(tick, 10); };
  tick(); } const m = window.__gap.max; window.__gap.max = 0; return m; })()"""
ALL_DONE = "[...document.querySelectorAll('[data-testid=card]')].every((c) => ['done', 'failed'].includes(c.dataset.state))"


def phone_photo(path: Path) -> Path:
    """A 12-megapixel JPEG (3024×4032, a phone camera's size), as tests/browser/test_private_worker.py makes."""
    from PIL import Image

    Image.open(ROOT / "samples" / "astronaut.jpg").convert("RGB").resize((3024, 4032), Image.Resampling.BICUBIC).save(
        path, quality=90)
    return path


def load() -> float:
    return os.getloadavg()[0]


#: the visits, one after the other in one browser profile: (label, wait for the model before dropping,
#: photo order). The first one finds no kept model; the others reload the page (HTTP cache emptied).
VISITS = [("1st visit, drop at once", False, ("small", "big")),
          ("later visit, drop at once", False, ("big", "small")),
          ("later visit, model ready", True, ("small", "big"))]


def run(base: str, side: int, images: dict[str, tuple[str, str]], tmp: Path) -> list[dict[str, object]]:
    from tests.browser.conftest import drive

    steps: list[dict[str, object]] = [{"do": "eval", "expr": GAPS, "as": "_"}]
    n = 0
    for v, (_, wait, order) in enumerate(VISITS):
        if v:
            steps.append({"do": "reload"})
        if wait:  # private mode loads its runtime and model as soon as it is chosen
            steps.append({"do": "waitFor", "expr": "Boolean(window.alphacutDebug.store)", "timeoutMs": 300000})
        for key in order:
            steps += [{"do": "eval", "expr": GAPS, "as": "_"},
                      {"do": "drop", "images": [images[key][1]]},
                      {"do": "eval", "expr": GAPS, "as": f"gap{n}"},
                      {"do": "eval", "expr": "[...(window.alphacutDebug.previews || [])].pop() || null", "as": f"p{n}"},
                      {"do": "eval", "expr": "window.alphacutDebug.store", "as": f"store{n}"}]
            n += 1
    report = drive({"url": base + f"?preview={side}", "mode": "private", "images": [], "downloadDir": str(tmp),
                    "userDataDir": str(tmp / "profile"), "timeoutMs": 900000, "steps": steps}, timeout_s=1800)
    rows = []
    n = 0
    for label, _, order in VISITS:
        for key in order:
            v = report["values"]
            preview = v[f"p{n}"] if v[f"p{n}"] and side else None
            store = v[f"store{n}"] or {}
            rows.append({"side": side, "visit": label, "photo": images[key][0],
                         "preview_ms": preview and preview["fromDropMs"], "preview_stages": preview,
                         "done_ms": v["dropMs"][n], "max_gap_ms": v[f"gap{n}"], "store": store.get("source"),
                         "load_ms": store.get("loadMs"), "store_ms": store.get("ms")})
            n += 1
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sides", default="320", help="comma-separated preview sides (?preview=N); 0: no preview")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--small", default="samples/coffee.jpg")
    args = parser.parse_args()
    from tests.browser.conftest import missing_tools

    from alphacut.config import load_settings
    from alphacut.server.app import build_remover

    reason = missing_tools()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    cpu = subprocess.run(["sh", "-c", "lscpu | grep 'Model name'"], capture_output=True, text=True,
                         check=False).stdout.strip()
    remover = build_remover(load_settings())
    server = LiveServer(remover)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmpdir:
            tmp = Path(tmpdir)
            big = phone_photo(tmp / "phone-12mp.jpg")
            images = {"small": (Path(args.small).name, str(ROOT / args.small)), "big": ("12 MP 3024x4032", str(big))}
            for rnd in range(args.rounds):
                for side in (int(s) for s in args.sides.split(",")):
                    before = load()
                    run_dir = tmp / f"r{rnd}-{side}"
                    run_dir.mkdir()
                    for r in run(server.url, side, images, run_dir):
                        r.update(round=rnd + 1, load_before=before, load_after=load())
                        rows.append(r)
                        print(json.dumps(r), file=sys.stderr)
    finally:
        server.stop()
    print(f"{cpu}; model {remover.model_id}; headless Chromium, WASM")
    print("| round | preview side | visit (model: from, load ms) | photo | drop → preview ms | drop → full result ms | "
          "longest main-thread gap ms | load (1-min avg before → after) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        pv = f"{r['preview_ms']:.0f}" if r["preview_ms"] else "none"
        lm = f", {r['load_ms']:.0f}" if r["load_ms"] else ""
        print(f"| {r['round']} | {r['side'] or 'off'} | {r['visit']} ({r['store']}{lm}) | {r['photo']} | {pv} | "
              f"{r['done_ms']:.0f} | {r['max_gap_ms']:.0f} | {r['load_before']:.1f} → {r['load_after']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
