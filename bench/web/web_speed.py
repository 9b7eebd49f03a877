"""Milliseconds per image in Chromium: the page's private mode (onnxruntime-web in a worker) and its
server mode (the same alphacut server on this machine), side by side, per model file.

For each model: an alphacut server with that model on 127.0.0.1, the page in headless Chromium
(tests/browser/driver.mjs), one warm-up image (private mode: downloads and compiles the model), then
the batch; ms/image = the batch's wall time (drop to last card done, in the page) / its size. Server
mode runs up to 2 uploads at once, as the page does; private mode one image at a time in its worker.
The runs alternate private/server per model so that load on a shared machine hits both alike.
Private mode also reports where its time goes per image (the worker's stages: decode, preprocess,
session.run, postprocess, refine, decontaminate, previews; medians over the batch). --query adds the page's
bench knobs to its URL, e.g. `threads=1` or `graphopt=basic` (onnxruntime-web's settings) or `overlap=1`
(two private cards at once: one refined while the next one's inference runs), as extra variants.
--best runs each mode also with the page's "Best quality" control on (server mode sends quality=best;
private mode runs the model on the image and on its mirror image), right after the standard run.

    PYTHONPATH=src .venv/bin/python bench/web/web_speed.py
    PYTHONPATH=src .venv/bin/python bench/web/web_speed.py --models isnet-general-use-int8-static,isnet-general-use-fp16 \\
        --images samples/coffee.jpg,samples/chelsea.jpg --rounds 2
    PYTHONPATH=src .venv/bin/python bench/web/web_speed.py --models isnet-general-use-int8-static \\
        --modes private,server --query ",threads=1,graphopt=basic"
    PYTHONPATH=src .venv/bin/python bench/web/web_speed.py --models isnet-general-use-int8-static \
        --images samples/coffee.jpg,samples/chelsea.jpg --best --rounds 2

Needs `make web browser-deps` and the models cached (`alphacut models fetch <id>`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DEFAULT_IMAGES = "samples/coffee.jpg,samples/chelsea.jpg,samples/astronaut.jpg"


class LiveServer:
    """create_app(remover) under uvicorn in a thread on a free 127.0.0.1 port (as tests/browser/conftest.py)."""

    def __init__(self, remover: object) -> None:
        import socket
        import threading
        import time

        import uvicorn

        from alphacut.server.app import create_app
        from alphacut.server.schemas import ServerSettings

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        app = create_app(remover, ServerSettings(port=port))  # type: ignore[arg-type]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        for _ in range(400):
            if self.server.started:
                break
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port}/"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


STAGES = ("decode", "preprocess", "run", "postprocess", "refine", "decontaminate", "previews")


CHECK_BEST = "(() => { const c = document.querySelector('#best'); if (!c.checked) c.click(); return c.checked; })()"


def run_mode(remover: object, mode: str, warmup: str, images: list[str], query: str = "",
             best: bool = False) -> dict[str, object]:
    from tests.browser.conftest import drive

    server = LiveServer(remover)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            report = drive({"url": server.url + (f"?{query}" if query else ""), "mode": mode, "images": [warmup],
                            "downloadDir": tmp, "timeoutMs": 900000, "steps": [
                                *([{"do": "eval", "expr": CHECK_BEST, "as": "best"}] if best else []),
                                {"do": "drop", "images": images},
                                {"do": "eval", "expr": "window.alphacutDebug.stages || []", "as": "stages"}]},
                           timeout_s=1800)
    finally:
        server.stop()
    statuses = report["statuses"]
    if not all(s.startswith("done") for s in statuses):
        raise SystemExit(f"{mode}: not all done: {statuses}")
    batch_ms = report["values"]["dropMs"][0]
    batch = report["values"]["stages"][1:]  # the first is the warm-up image
    stages = {k: statistics.median(s[k] for s in batch) for k in STAGES if batch and k in batch[0]}
    if best and report["values"].get("best") is not True:
        raise SystemExit(f"{mode}: the Best quality control could not be checked")
    return {"mode": mode, "query": query, "best": best, "ms_per_image": batch_ms / len(images), "stages_ms": stages,
            "note": report.get("note"), "isolated": report.get("isolated"), "statuses": statuses}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="isnet-general-use-int8-static,isnet-general-use-int8,isnet-general-use-fp16")
    parser.add_argument("--images", default=DEFAULT_IMAGES)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--modes", default="private,server")
    parser.add_argument("--query", default="", help="comma-separated page URL queries for private mode "
                        "(each one more variant; an empty item = the page's defaults)")
    parser.add_argument("--best", action="store_true", help="also run each variant with Best quality on")
    args = parser.parse_args()
    from tests.browser.conftest import missing_tools

    from alphacut.config import load_settings
    from alphacut.server.app import build_remover

    reason = missing_tools()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    images = [str(ROOT / p) for p in args.images.split(",")]
    warmup = images[0]
    cpu = subprocess.run(["sh", "-c", "lscpu | grep 'Model name'"], capture_output=True, text=True,
                         check=False).stdout.strip()
    rows = []
    for model in args.models.split(","):
        os.environ["ALPHACUT_MODEL"] = model
        remover = build_remover(load_settings())
        for _ in range(args.rounds):
            for mode in args.modes.split(","):
                for query in args.query.split(",") if mode == "private" else [""]:
                    for best in (False, True) if args.best else (False,):
                        r = run_mode(remover, mode, warmup, images, query, best)
                        r["model"] = model
                        rows.append(r)
                        print(json.dumps(r), file=sys.stderr)
        del remover
    print(f"{cpu}; {len(images)} images: {', '.join(Path(i).name for i in images)}")
    print("| model | mode | ms/image | " + " | ".join(STAGES) + " |")
    print("|---|---|---|" + "---|" * len(STAGES))
    for r in rows:
        st = r["stages_ms"]
        mode = r["mode"] + (f" ({r['query']})" if r["query"] else "") + (", best quality" if r["best"] else "")
        print(f"| {r['model']} | {mode} | {r['ms_per_image']:.0f} | "
              + " | ".join(f"{st[k]:.0f}" if k in st else "" for k in STAGES) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
