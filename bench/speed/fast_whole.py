"""Whole-process `alphacut remove --fast` against rembg on a folder: fresh processes, interleaved.

    .venv/bin/python bench/speed/fast_whole.py out/benchset --peers-dir /work/peers [--resolutions 768,640] [--rounds 2]
    .venv/bin/python bench/speed/fast_whole.py out/benchset --peers-dir bench/.envs --resolutions 768 --with-default \
        --runtimes auto,onnxruntime --rounds 3      # the default and --fast, on each runtime (docs/PERFORMANCE.md)
    bench/avx2only/run.sh .venv/bin/python bench/speed/fast_whole.py ...   # on an AVX2-only CPU (emulated)

Each round spawns, in a rotating order: rembg's runner over the folder (no warm-up call: its model
load and imports count, as alphacut's do) and `alphacut remove FOLDER -o OUT -f mask --fast
--resolution R --json` for each R (and `--fast` alone, which picks its own resolution, when
--with-auto is given; and `--fast` alone run from another source tree, --baseline-src, as fast@base:
before/after in the same rounds). Each process is timed spawn → exit (wall) with its user+system CPU
(alphacut.eval.measure.spawn_measured). With --threads 1 both tools run one inference thread: the
CPU time is then the work each does, which a busy machine barely changes (with 2 threads, onnxruntime's
spinning threads burn CPU while they wait for a core). Per tool: the median over rounds; per R: the median over
rounds of rembg's wall / alphacut's wall in the same round (the ratio the issue's "x rembg
whole-process" means), and the same for CPU. alphacut's --json summary splits its wall into the wait
for the model and the batch. Masks are written to a temporary folder and scored against FOLDER/gt
(MAE), so a speed never comes without its quality.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from alphacut.eval.measure import alphacut_command, child_env, spawn_measured
from alphacut.eval.peers import peer_command
from alphacut.runtime.kernels import amx_granted, onnx_kernels, read_cpu_info


def _mae(pred: Path, gt: Path) -> float:
    from PIL import Image

    maes = []
    for g in sorted(gt.glob("*.png")):
        a = np.asarray(Image.open(pred / g.name).convert("L"), np.float32) / 255
        b = np.asarray(Image.open(g).convert("L"), np.float32)
        valid = b != 128 if "grabcut" in g.stem else np.ones_like(b, bool)
        maes.append(float(np.abs(a - b / 255)[valid].mean()))
    return float(np.mean(maes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--peers-dir", type=Path, required=True)
    parser.add_argument("--resolutions", default="768,640")
    parser.add_argument("--with-auto", action="store_true", help="also `--fast` with no --resolution")
    parser.add_argument("--with-default", action="store_true",
                        help="also the default (no --fast: the model at its own 1024 px, mirrored), as the row default")
    parser.add_argument("--runtimes", default="",
                        help="comma-separated alphacut runtimes (auto, openvino, onnxruntime): each alphacut row is "
                             "run once per runtime (ALPHACUT_RUNTIME in its environment), as ROW~RUNTIME")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None,
                        help="inference threads for both tools (default: rembg's runner 2, alphacut all cores); "
                             "1 makes CPU time the work done, free of thread-pool spinning on a busy machine")
    parser.add_argument("--model-file", type=Path, default=Path.home() / ".cache/alphacut/models/isnet-general-use-fp16.onnx")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--baseline-src", type=Path, default=None,
                        help="also run `--fast` from this other alphacut source tree (e.g. `git worktree add` of an "
                             "older commit: its src/ folder), as the row fast@base, in the same rounds")
    args = parser.parse_args(argv)
    images, gt = args.folder / "images", args.folder / "gt"
    cpu = read_cpu_info()
    machine = (f"{cpu.model}; cpuid features: {', '.join(cpu.features)}"
               + (f" (hidden: {', '.join(cpu.hidden_features)})" if cpu.hidden else "")
               + f"; int8 kernel: {onnx_kernels(cpu, amx=amx_granted())[1].kernel}")
    print(machine, flush=True)
    tools = ["rembg"] + [f"fast@{r}" for r in args.resolutions.split(",") if r] + (["fast@auto"] if args.with_auto else [])
    tools += ["fast@base"] if args.baseline_src else []
    tools += ["default"] if args.with_default else []
    runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    if runtimes:
        tools = ["rembg"] + [f"{t}~{r}" for t in tools if t != "rembg" for r in runtimes]
    runs: dict[str, list[dict[str, float]]] = {t: [] for t in tools}
    mae: dict[str, float] = {}
    threads = [] if args.threads is None else ["--threads", str(args.threads)]
    with tempfile.TemporaryDirectory(prefix="fast-whole-") as tmp:
        for i in range(args.rounds):
            order = tools[i % len(tools):] + tools[:i % len(tools)]
            for t in order:
                out = Path(tmp) / f"{t}-{i}"
                if t == "rembg":
                    cmd = peer_command("rembg", args.peers_dir, args.model_file, images, out, Path(tmp) / f"{t}-{i}.json",
                                       warmup=False) + threads
                else:
                    row_name = t.partition("~")[0]
                    res = row_name.split("@")[1] if "@" in row_name else "default"
                    fast = [] if res == "default" else ["--fast"]
                    cmd = alphacut_command("remove", str(images), "-o", str(out), "-f", "mask", *fast, "--json", "-q",
                                           *([] if res in ("auto", "base", "default") else ["--resolution", res]),
                                           *threads)
                env = None
                if t.startswith("fast@base"):
                    env = {**child_env(), "PYTHONPATH": str(args.baseline_src.resolve())}
                if "~" in t:
                    env = {**(env or child_env()), "ALPHACUT_RUNTIME": t.partition("~")[2]}
                m = spawn_measured(cmd, env=env)
                if m.returncode != 0:
                    print(f"{t} failed ({m.returncode}): {m.stderr[-2000:]}", file=sys.stderr)
                    return 1
                row = {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mb": m.peak_rss_mb}
                if t != "rembg":
                    summary = json.loads(m.stdout)
                    row["batch_s"] = float(summary.get("seconds", float("nan")))
                    row["model_wait_s"] = float(summary.get("model_wait_s", float("nan")))
                runs[t].append(row)
                print(f"round {i + 1} {t:<22} wall {m.wall_s:6.2f} s  CPU {m.cpu_s:6.2f} s  RSS {m.peak_rss_mb:5.0f} MB",
                      flush=True)
                if i == 0:
                    mae[t] = _mae(out, gt)
    result: dict[str, object] = {"machine": machine, "images": len(list(images.iterdir())), "runs": runs, "mae": mae}
    print(f"\n{'tool':<22} {'wall s (median)':>16} {'CPU s':>8} {'x rembg wall':>13} {'x rembg CPU':>12} {'MAE':>8}")
    ratios = {}
    for t in tools:
        wall = statistics.median(r["wall_s"] for r in runs[t])
        cpu_s = statistics.median(r["cpu_s"] for r in runs[t])
        xw = statistics.median(a["wall_s"] / b["wall_s"] for a, b in zip(runs["rembg"], runs[t], strict=True))
        xc = statistics.median(a["cpu_s"] / b["cpu_s"] for a, b in zip(runs["rembg"], runs[t], strict=True))
        ratios[t] = {"wall_x_rembg": xw, "cpu_x_rembg": xc}
        print(f"{t:<22} {wall:16.2f} {cpu_s:8.2f} {xw:12.2f}x {xc:11.2f}x {mae[t]:8.4f}")
    result["ratios"] = ratios
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
