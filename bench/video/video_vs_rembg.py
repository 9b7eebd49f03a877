"""`alphacut video` against rembg frame by frame, whole processes, interleaved: the issue's video ratio.

    PYTHONPATH=src .venv/bin/python bench/make_video_clips.py --samples --out out/videoclips   # once
    PYTHONPATH=src .venv/bin/python bench/video/video_vs_rembg.py out/videoclips/<clip> --peers-dir /work/peers \
        [--runtime auto,onnxruntime] [--rounds 3] [--fast]

CLIP is a folder with clip.mp4 and images/ (its decoded frames, as bench/make_video_clips.py writes
them). Each round runs, in a rotating order: rembg's runner over images/ (one process: imports,
session, every frame; masks written) and `alphacut video clip.mp4 -o OUT.webm -q` for each --runtime
(one process: imports, model, decode, every frame, steadying, VP9 encode with alpha). Each process is
timed spawn -> exit (wall) with its CPU time. Per runtime: the median over rounds of rembg's wall /
alphacut's wall in the same round. alphacut does more (decoding the video, steadying, encoding a
video with alpha); rembg gets the frames already decoded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))

from alphacut.eval.measure import alphacut_command, child_env, spawn_measured
from alphacut.eval.peers import peer_command


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", type=Path, help="a folder with clip.mp4 and images/")
    ap.add_argument("--peers-dir", type=Path, required=True)
    ap.add_argument("--runtime", default="auto", help="alphacut's --runtime values, comma-separated")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--fast", action="store_true", help="alphacut video --fast (the network on every 2nd frame)")
    ap.add_argument("--model-file", type=Path,
                    default=Path.home() / ".cache/alphacut/models/isnet-general-use-fp16.onnx")
    args = ap.parse_args()
    video, frames = args.clip / "clip.mp4", args.clip / "images"
    if not video.is_file() or not frames.is_dir():
        ap.error(f"{args.clip} needs clip.mp4 and images/ (bench/make_video_clips.py)")
    n_frames = len(list(frames.iterdir()))
    runtimes = [r for r in args.runtime.split(",") if r]
    env = child_env()
    walls: dict[str, list[float]] = {"rembg": [], **{r: [] for r in runtimes}}
    cpus: dict[str, list[float]] = {k: [] for k in walls}
    ratios: dict[str, list[float]] = {r: [] for r in runtimes}
    with tempfile.TemporaryDirectory(prefix="video-vs-rembg-") as tmp:
        for rnd in range(args.rounds):
            order = list(walls)
            order = order[rnd % len(order):] + order[: rnd % len(order)]
            got: dict[str, float] = {}
            for tool in order:
                if tool == "rembg":
                    out = Path(tmp) / f"rembg{rnd}"
                    cmd = peer_command("rembg", args.peers_dir, args.model_file, frames, out,
                                       Path(tmp) / f"rembg{rnd}.json", warmup=False)
                else:
                    cmd = alphacut_command("video", str(video), "-o", str(Path(tmp) / f"{tool}{rnd}.webm"), "-q",
                                           "--runtime", tool, *(["--fast"] if args.fast else []))
                m = spawn_measured(cmd, env=env)
                if m.returncode != 0:
                    print(f"{tool} failed: {m.stderr[-2000:]}", file=sys.stderr)
                    return 1
                walls[tool].append(m.wall_s)
                cpus[tool].append(m.cpu_s)
                got[tool] = m.wall_s
                print(f"round {rnd}: {tool} {m.wall_s:.1f} s wall, {m.cpu_s:.1f} s CPU", file=sys.stderr)
            for r in runtimes:
                ratios[r].append(got["rembg"] / got[r])
    load = os.getloadavg()
    print(f"{args.clip.name}: {n_frames} frames, {args.rounds} rounds, load average {load[0]:.1f} {load[1]:.1f} "
          f"{load[2]:.1f}{', alphacut --fast' if args.fast else ''}\n")
    print("| tool | wall s (median) | CPU s (median) | frames/s | x rembg (wall, median of rounds) |")
    print("|---|---|---|---|---|")
    for tool, tool_walls in walls.items():
        w, c = statistics.median(tool_walls), statistics.median(cpus[tool])
        ratio = f"{statistics.median(ratios[tool]):.2f}x" if tool in ratios else "1.00x"
        label = "rembg (frames)" if tool == "rembg" else f"alphacut video --runtime {tool}"
        print(f"| {label} | {w:.1f} | {c:.1f} | {n_frames / w:.2f} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
