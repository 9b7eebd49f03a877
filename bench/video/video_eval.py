"""Score video cut-outs on the synthetic clips (bench/data/make_video_clips.py): rembg frame by frame,
alphacut frame by frame (`alphacut video --no-steady`), `alphacut video`, `alphacut video --fast`,
`alphacut video --keyframes 2` (the network on every 2nd frame at the default resolution).

    PYTHONPATH=src .venv/bin/python bench/video/video_eval.py --clips out/videoclips --out out/videoeval \
        --rembg-python bench/.envs/rembg/bin/python --rembg-model ~/.cache/alphacut/models/isnet-general-use-fp16.onnx

Every method runs as its own process per clip, the methods interleaved clip by clip (so a busy
machine slows them alike); the time is the whole process (start, model load, every frame, output
written). rembg reads the clip's decoded frames (<clip>/images, what a decoder gives it) and
writes masks; alphacut reads clip.mp4 and writes mask PNGs (-f mask). Scores (alphacut.video.metrics):
MAE, dtSSD ×100, flicker ×100 on pixels whose truth did not change, means over clips.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from alphacut.video._deps import require_cv2
from alphacut.video.metrics import score_clip

HERE = Path(__file__).resolve().parent
ALPHACUT = [str(Path(sys.executable).parent / "alphacut")]  # the venv's console script


def _masks(folder: Path, n: int) -> list[np.ndarray]:
    cv2 = require_cv2()
    files = sorted(folder.glob("*.png"))
    if len(files) != n:
        raise SystemExit(f"{folder}: {len(files)} masks for {n} frames")
    return [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255 for p in files]


def _run(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return dt


def methods(args: argparse.Namespace, clip: Path, out: Path) -> dict[str, list[str]]:
    mp4 = str(clip / "clip.mp4")
    base = [*ALPHACUT, "video", mp4, "-f", "mask", "-q", "--threads", str(args.threads)]
    m = {"alphacut frame by frame": [*base, "-o", f"{out / 'alphacut_frames'}/", "--no-steady"],
         "alphacut video": [*base, "-o", f"{out / 'alphacut_video'}/"]}
    if args.rembg_python:
        m["rembg frame by frame"] = [str(args.rembg_python), str(HERE.parent / "peer_rembg.py"), "--model",
                                     str(args.rembg_model.expanduser()), "--images", str(clip / "images"),
                                     "--out", str(out / "rembg"), "--threads", str(args.threads)]
    m["alphacut video --fast"] = [*base, "-o", f"{out / 'alphacut_video_fast'}/", "--fast"]
    m["alphacut video --keyframes 2"] = [*base, "-o", f"{out / 'alphacut_video_kf2'}/", "--keyframes", "2"]
    return {k: v for k, v in m.items() if not args.only or k in args.only}


_DIRS = {"rembg frame by frame": "rembg", "alphacut frame by frame": "alphacut_frames",
         "alphacut video": "alphacut_video", "alphacut video --fast": "alphacut_video_fast",
         "alphacut video --keyframes 2": "alphacut_video_kf2"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, required=True, help="bench/data/make_video_clips.py's output")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rembg-python", type=Path, default=None, help="bench/.envs/rembg/bin/python")
    parser.add_argument("--rembg-model", type=Path,
                        default=Path("~/.cache/alphacut/models/isnet-general-use-fp16.onnx"))
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", nargs="*", default=None, help="method names to run")
    parser.add_argument("--clip-names", nargs="*", default=None, help="clips to run (default: all)")
    args = parser.parse_args(argv)
    cv2 = require_cv2()
    clips = sorted(p for p in args.clips.iterdir() if (p / "clip.mp4").is_file()
                   and (not args.clip_names or p.name in args.clip_names))
    results: dict[str, dict[str, dict[str, float]]] = {}
    for clip in clips:
        gt = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255
              for p in sorted((clip / "gt").glob("*.png"))]
        out = args.out / clip.name
        for name, cmd in methods(args, clip, out).items():
            seconds = _run(cmd)
            s = score_clip(_masks(out / _DIRS[name], len(gt)), gt)
            results.setdefault(name, {})[clip.name] = {"seconds": seconds, "frames": s.frames, "mae": s.mae,
                                                       "dtssd": s.dtssd, "flicker": s.flicker}
            print(f"{clip.name:20s} {name:26s} {seconds:7.1f} s  MAE {s.mae:.4f}  dtSSD {s.dtssd:.3f}  "
                  f"flicker {s.flicker:.3f}", file=sys.stderr, flush=True)
    summary = {}
    for name, per in results.items():
        frames = sum(v["frames"] for v in per.values())
        seconds = sum(v["seconds"] for v in per.values())
        summary[name] = {"clips": len(per), "frames": frames, "seconds": seconds,
                         "mae": float(np.mean([v["mae"] for v in per.values()])),
                         "dtssd": float(np.mean([v["dtssd"] for v in per.values()])),
                         "flicker": float(np.mean([v["flicker"] for v in per.values()]))}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "video_eval.json").write_text(json.dumps({"summary": summary, "clips": results}, indent=2) + "\n")
    ref = summary.get("rembg frame by frame")
    print("\n| method | MAE | dtSSD ×100 | flicker ×100 | seconds (all clips) | speed vs rembg |")
    print("|---|---|---|---|---|---|")
    for name, s in summary.items():
        speed = f"{ref['seconds'] / s['seconds']:.2f}x" if ref else "-"
        print(f"| {name} | {s['mae']:.4f} | {s['dtssd']:.3f} | {s['flicker']:.3f} | {s['seconds']:.0f} | {speed} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
