"""The local server under N clients: images per minute, latency, and whether its RSS stays flat.

    PYTHONPATH=src .venv/bin/python bench/speed/server_load.py out/benchset/images [--clients 12] [--seconds 120] \
        [--workers 2] [--runtime auto,onnxruntime]

For each --runtime, starts `alphacut serve --port P --workers W --queue Q --runtime R` (Q = clients, so
no request is refused for a full waiting room), waits for /readyz, then runs --clients threads that
each POST the folder's images to /v1/remove in turn (a different starting image per client) for
--seconds, counting completed cutouts (200), refusals (503) and errors. The server's RSS is sampled
every second from /proc. Prints per runtime: images/minute, median and 95th-percentile latency,
RSS after the first minute's first 10 s and at the end, and the peak.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run(runtime: str, images: list[Path], args: argparse.Namespace) -> str:
    port = free_port()
    cmd = [sys.executable, "-m", "alphacut", "serve", "--port", str(port), "--workers", str(args.workers),
           "--queue", str(args.clients), "--runtime", runtime, "--timeout", "600"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            if proc.poll() is not None:
                raise SystemExit(f"the server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.25)
        bodies = [(p.read_bytes(), "image/png" if p.suffix.lower() == ".png" else "image/jpeg") for p in images]
        stop = time.monotonic() + args.seconds
        lat: list[float] = []
        counts = {"ok": 0, "busy": 0, "error": 0}
        lock = threading.Lock()

        def client(k: int) -> None:
            i = k
            while time.monotonic() < stop:
                data, ctype = bodies[i % len(bodies)]
                i += 1
                req = urllib.request.Request(f"{base}/v1/remove", data=data, headers={"Content-Type": ctype})
                t = time.perf_counter()
                try:
                    with urllib.request.urlopen(req, timeout=600) as r:
                        r.read()
                        kind = "ok" if r.status == 200 else "error"
                except urllib.error.HTTPError as exc:
                    kind = "busy" if exc.code == 503 else "error"
                except OSError:
                    kind = "error"
                with lock:
                    counts[kind] += 1
                    if kind == "ok" and time.monotonic() <= stop:
                        lat.append(time.perf_counter() - t)

        rss: list[float] = []
        t0 = time.monotonic()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            rss.append(rss_mb(proc.pid))
            time.sleep(1.0)
        elapsed = time.monotonic() - t0
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    per_min = len(lat) / min(elapsed, args.seconds) * 60
    p95 = sorted(lat)[int(0.95 * (len(lat) - 1))] if lat else float("nan")
    early = rss[min(10, len(rss) - 1)] if rss else float("nan")
    return (f"| {runtime} | {per_min:.1f} | {statistics.median(lat) if lat else float('nan'):.2f} | {p95:.2f} | "
            f"{counts['busy']} / {counts['error']} | {early:.0f} / {rss[-1] if rss else float('nan'):.0f} / "
            f"{max(rss) if rss else float('nan'):.0f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", type=Path)
    ap.add_argument("--clients", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runtime", default="auto")
    args = ap.parse_args()
    images = sorted(p for p in args.images.iterdir() if p.suffix.lower() in SUFFIXES)
    if not images:
        ap.error(f"no images in {args.images}")
    rows = [run(r, images, args) for r in args.runtime.split(",") if r]
    load = os.getloadavg()
    print(f"{len(images)} images, {args.clients} clients, {args.seconds:.0f} s, --workers {args.workers}; "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n")
    print("| runtime | images/min | median s | p95 s | 503 / errors | RSS MB at 10 s / end / peak |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
