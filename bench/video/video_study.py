"""Where does alphacut video's dtSSD come from, and what lowers it? (issue 13, docs/VIDEO.md "Study")

    PYTHONPATH=src .venv/bin/python bench/video/video_study.py --clips out/clips0 --cache out/study0 \
        [--rembg out/rembg_clips0] [--evaldata ../shared/evaldata] [--extra "MatteWindow (shipped)"]

1. cache: the network's output for every frame of every clip (bench/data/make_video_clips.py's images/),
   after its activation and before the min-max stretch, as float16 npy under --cache (resumable:
   one file per frame). The only step that runs the network; the rest is numpy/OpenCV on the cache.
2. variants: full-resolution mattes of several post-processing / steadying methods (per-frame,
   clip-level or no stretch; the recursive MatteStabilizer; window filters; the shipped
   MatteWindow), scored with alphacut.video.metrics.score_clip (as bench/video/video_eval.py), with
   rembg's masks (bench/peer_rembg.py's output, one folder per clip) as the reference when given.
3. decomposition, per clip and method: the shares of Σ dtSSD² in the edge band (within 3 px of
   where either frame's truth is soft or changes), the interior and the background; the largest
   and median frame pair; and with --evaldata the dtSSD left after moving the previous frame's
   error along the subject's true motion (motion_split), plus a 5-frame mean aligned with that
   true motion (oracle_window: a bound for flow-based temporal filters, not a method).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from alphacut.video._deps import require_cv2
from alphacut.video.metrics import score_clip

F32 = NDArray[np.float32]
log = logging.getLogger("video_study")


def _read_grey(path: Path) -> F32:
    cv2 = require_cv2()
    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255


def _read_rgb(path: Path) -> NDArray[np.uint8]:
    cv2 = require_cv2()
    return np.ascontiguousarray(cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1])


def cache_clip(clip: Path, cache: Path, threads: int, *, flip: bool = False) -> None:
    """The network's output (after its activation, before the stretch) per frame, float16; with
    flip, the output for the left-right mirrored frame, mirrored back."""
    from alphacut import Remover

    cache.mkdir(parents=True, exist_ok=True)
    todo = [p for p in sorted((clip / "images").glob("*.png")) if not (cache / f"{p.stem}.npy").is_file()]
    if not todo:
        return
    remover = Remover(threads=threads)
    for p in todo:
        rgb = _read_rgb(p)
        prepared = remover._prepare(np.ascontiguousarray(rgb[:, ::-1]) if flip else rgb, remover.options)
        raw = remover._infer(prepared)
        cw, ch = prepared.content_wh
        m = raw[0, 0, :ch, :cw].astype(np.float32)
        if remover.spec.activation == "sigmoid":
            m = 1.0 / (1.0 + np.exp(-m))
        if flip:
            m = m[:, ::-1]
        np.save(cache / f"{p.stem}.npy", np.clip(m, 0, 1).astype(np.float16))
        log.info("%s %s", clip.name, p.stem)


def load_clip(clip: Path, cache: Path) -> tuple[list[NDArray[np.uint8]], list[F32], list[F32]]:
    frames = [_read_rgb(p) for p in sorted((clip / "images").glob("*.png"))]
    gt = [_read_grey(p) for p in sorted((clip / "gt").glob("*.png"))]
    low = [np.load(p).astype(np.float32) for p in sorted(cache.glob("*.npy"))]
    if not (len(frames) == len(gt) == len(low)):
        raise SystemExit(f"{clip}: {len(frames)} frames, {len(gt)} truths, {len(low)} cached outputs")
    return frames, gt, low


# ------------------------------------------------------------------------------ decomposition

def regions(g0: F32, g1: F32, band_px: int = 3) -> dict[str, NDArray[np.bool_]]:
    cv2 = require_cv2()
    soft = ((g0 > 0.01) & (g0 < 0.99)) | ((g1 > 0.01) & (g1 < 0.99)) | (np.abs(g1 - g0) > 0.01)
    k = 2 * band_px + 1
    band = cv2.dilate(soft.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    return {"band": band, "interior": ~band & (g0 >= 0.5) & (g1 >= 0.5), "background": ~band & (g0 < 0.5) & (g1 < 0.5)}


def decompose(pred: Sequence[F32], gt: Sequence[F32]) -> dict[str, float]:
    """Shares of Σ dtSSD² by region; the band's pixel share; frames' worst pair."""
    sums = {"band": 0.0, "interior": 0.0, "background": 0.0}
    area = 0.0
    per_pair = []
    for t in range(1, len(pred)):
        d = (pred[t] - pred[t - 1]) - (gt[t] - gt[t - 1])
        r = regions(gt[t - 1], gt[t])
        for k, m in r.items():
            sums[k] += float(np.square(d[m]).sum())
        area += float(r["band"].mean())
        per_pair.append(float(np.sqrt(np.mean(d * d))) * 100)
    total = sum(sums.values()) or 1.0
    out = {f"{k}_share": v / total for k, v in sums.items()}
    out["band_area"] = area / max(1, len(pred) - 1)
    out["pair_max"] = max(per_pair) if per_pair else 0.0
    out["pair_median"] = float(np.median(per_pair)) if per_pair else 0.0
    return out


def subject_motion(clips: Path, clip: str, evaldata: Path) -> list[NDArray[np.float64]]:
    """Per frame, the 2×3 affine the synthetic clip moved its subject with (subject image → frame)."""
    import dataclasses

    from alphacut.eval import video_clips as synth

    entry = next(c for c in json.loads((clips / "manifest.json").read_text())["clips"] if c["name"] == clip)
    fields = {f.name for f in dataclasses.fields(synth.ClipSpec)}
    spec = synth.ClipSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in entry.items() if k in fields})
    stills = [synth.load_still(evaldata, *name.split("/", 1)) for name in entry["subjects"]]
    return [synth._subject_affine(spec, stills[_shot(spec.cut_at, t)], t) for t in range(spec.frames)]


def _shot(cut_at: int | None, t: int) -> int:
    return 1 if cut_at is not None and t >= cut_at else 0


def clip_cut(clips: Path, clip: str) -> int | None:
    entry = next(c for c in json.loads((clips / "manifest.json").read_text())["clips"] if c["name"] == clip)
    return entry.get("cut_at")


def _between(a_from: NDArray[np.float64], a_to: NDArray[np.float64]) -> NDArray[np.float64]:
    """The affine taking frame pixels of one frame to the next's, given both frames' subject affines."""
    full = lambda a: np.vstack([a, [0, 0, 1]])
    return (full(a_to) @ np.linalg.inv(full(a_from)))[:2]


def motion_split(pred: Sequence[F32], gt: Sequence[F32], affines: Sequence[NDArray[np.float64]],
                 cut_at: int | None) -> float:
    """dtSSD ×100 with the previous frame's error first moved along the subject's own motion: what
    is left is error that changes on the subject itself (temporal noise); what it removes is error
    that is steady on the subject and only moves with it (a temporal filter cannot remove that).
    Frames across a cut (the subject changes) are left out; background errors are moved with the
    subject too (the band dominates where it matters: see the region shares)."""
    cv2 = require_cv2()
    h, w = gt[0].shape
    out = []
    for t in range(1, len(pred)):
        if _shot(cut_at, t) != _shot(cut_at, t - 1):
            continue
        m = _between(affines[t - 1], affines[t])
        e_prev = cv2.warpAffine(pred[t - 1] - gt[t - 1], m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out.append(float(np.sqrt(np.mean(np.square((pred[t] - gt[t]) - e_prev)))) * 100)
    return float(np.mean(out))


def oracle_window(mattes: Sequence[F32], affines: Sequence[NDArray[np.float64]], cut_at: int | None,
                  k: int = 2) -> list[F32]:
    """The mean of t-k..t+k's mattes moved by the subject's true motion: the best an aligned
    temporal mean could do (an upper bound for flow-based filters, not a method)."""
    cv2 = require_cv2()
    h, w = mattes[0].shape
    out = []
    for t in range(len(mattes)):
        acc = [mattes[j] if j == t else cv2.warpAffine(mattes[j], _between(affines[j], affines[t]), (w, h),
                                                        flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
               for j in range(max(0, t - k), min(len(mattes), t + k + 1)) if _shot(cut_at, j) == _shot(cut_at, t)]
        out.append(np.mean(acc, axis=0).astype(np.float32))
    return out


# ------------------------------------------------------------------------------ variants

def _stretch(m: F32, lo: float, hi: float) -> F32:
    if hi - lo > 1e-6:
        m = (m - lo) / (hi - lo)
    return np.clip(m, 0, 1).astype(np.float32)


def to_frame(low: F32, rgb: NDArray[np.uint8]) -> F32:
    """A low-res matte at the frame's size, as pipeline.matte_from_raw does with the default refine."""
    from alphacut.options import Options
    from alphacut.pipeline import refine_matte

    return refine_matte(low, rgb, Options().refine)


def per_frame(frames: Sequence[NDArray[np.uint8]], low: Sequence[F32], *, stretch: str = "frame") -> list[F32]:
    if stretch == "frame":
        lows = [_stretch(m, float(m.min()), float(m.max())) for m in low]
    elif stretch == "clip":  # one lo/hi for the clip: the median of the frames'
        lo = float(np.median([m.min() for m in low]))
        hi = float(np.median([m.max() for m in low]))
        lows = [_stretch(m, lo, hi) for m in low]
    else:
        lows = list(low)
    return [to_frame(m, f) for m, f in zip(lows, frames)]


def current_steady(frames: Sequence[NDArray[np.uint8]], mattes: Sequence[F32]) -> list[F32]:
    from alphacut.video.steady import MatteStabilizer

    stab = MatteStabilizer()
    return [stab.step(f, m)[0] for f, m in zip(frames, mattes)]


def run_variants(frames: list[NDArray[np.uint8]], gt: list[F32], low: list[F32],
                 extra: dict[str, Callable[[list[NDArray[np.uint8]], list[F32]], list[F32]]]) -> dict[str, list[F32]]:
    base = per_frame(frames, low)
    out = {"frame by frame": base, "no stretch": per_frame(frames, low, stretch="none"),
           "clip stretch": per_frame(frames, low, stretch="clip"), "steady (current)": current_steady(frames, base)}
    for name, fn in extra.items():
        out[name] = fn(frames, base)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--rembg", type=Path, default=None, help="folder with <clip>/<frame>.png rembg masks")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--evaldata", type=Path, default=None,
                        help="the clips' evaldata: adds the motion-compensated split and the oracle window")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--cache-only", action="store_true", help="only fill the cache, score nothing")
    parser.add_argument("--flip", action="store_true", help="cache the network's output for mirrored frames")
    parser.add_argument("--extra", nargs="*", default=None, help="which of the window variants to run (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    clips = sorted(p for p in args.clips.iterdir() if (p / "images").is_dir())
    for clip in clips:
        cache_clip(clip, args.cache / clip.name, args.threads, flip=args.flip)
    if args.cache_only:
        return 0
    results: dict[str, dict[str, dict[str, float]]] = {}
    for clip in clips:
        frames, gt, low = load_clip(clip, args.cache / clip.name)
        variants = run_variants(frames, gt, low, {k: v for k, v in EXTRA.items() if args.extra is None or k in args.extra})
        affines = None if args.evaldata is None else subject_motion(args.clips, clip.name, args.evaldata)
        if affines is not None:
            variants["oracle window k2 (true motion)"] = oracle_window(variants["frame by frame"], affines,
                                                                       clip_cut(args.clips, clip.name))
        if args.rembg is not None and (args.rembg / clip.name).is_dir():
            variants["rembg"] = [_read_grey(p) for p in sorted((args.rembg / clip.name).glob("*.png"))]
        for name, pred in variants.items():
            s = score_clip(pred, gt)
            row = {"mae": s.mae, "dtssd": s.dtssd, "flicker": s.flicker, **decompose(pred, gt)}
            if affines is not None:
                row["dtssd_motion_compensated"] = motion_split(pred, gt, affines, clip_cut(args.clips, clip.name))
            results.setdefault(name, {})[clip.name] = row
            print(f"{clip.name:18s} {name:22s} MAE {s.mae:.4f} dtSSD {s.dtssd:6.3f} flick {s.flicker:.3f} "
                  f"band {row['band_share']:.2f} int {row['interior_share']:.2f} bg {row['background_share']:.2f} "
                  f"bandarea {row['band_area']:.3f} pairmax {row['pair_max']:.2f} "
                  f"compensated {row.get('dtssd_motion_compensated', float('nan')):.3f}",
                  flush=True)
    print("\n| method | MAE | dtSSD ×100 | flicker ×100 | dtSSD vs rembg |")
    print("|---|---|---|---|---|")
    ref = results.get("rembg")
    for name, per in results.items():
        mae = np.mean([v["mae"] for v in per.values()])
        dts = np.mean([v["dtssd"] for v in per.values()])
        fl = np.mean([v["flicker"] for v in per.values()])
        rel = f"{dts / np.mean([v['dtssd'] for v in ref.values()]):.2f}x" if ref else "-"
        print(f"| {name} | {mae:.4f} | {dts:.3f} | {fl:.3f} | {rel} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


def _grey_small(rgb: NDArray[np.uint8], side: int = 480) -> NDArray[np.uint8]:
    cv2 = require_cv2()
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    s = min(1.0, side / max(g.shape))
    if s < 1:
        g = cv2.resize(g, (round(g.shape[1] * s), round(g.shape[0] * s)), interpolation=cv2.INTER_AREA)
    return np.asarray(g)


def window(frames: list[NDArray[np.uint8]], mattes: list[F32], *, k: int = 2, agree: float | None = 0.2,
           photo_tol: float = 0.08, fb_tol: float = 1.0, median: bool = False, side: int = 480,
           preset: str = "FAST", motion_px: float | None = None) -> list[F32]:
    """Bidirectional: each frame's matte averaged with its neighbours' (t-k..t+k) warped to it by DIS
    flow, each weighted by its flow's reliability and its agreement with this frame's matte."""
    cv2 = require_cv2()
    dis = cv2.DISOpticalFlow_create(getattr(cv2, f"DISOPTICAL_FLOW_PRESET_{preset}"))
    small = [_grey_small(f, side) for f in frames]
    n = len(frames)
    out = []
    for t in range(n):
        h, w = mattes[t].shape
        acc = mattes[t].copy()
        wsum = np.ones_like(acc)
        stack, wstack = [mattes[t]], [np.ones_like(acc)]
        for j in range(max(0, t - k), min(n, t + k + 1)):
            if j == t:
                continue
            a, b = small[t], small[j]
            sh, sw = a.shape
            back = dis.calc(a, b, None)
            fwd = dis.calc(b, a, None)
            gx, gy = np.meshgrid(np.arange(sw, dtype=np.float32), np.arange(sh, dtype=np.float32))
            mx, my = gx + back[..., 0], gy + back[..., 1]
            fwd_at = cv2.remap(fwd, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            fb = np.hypot(back[..., 0] + fwd_at[..., 0], back[..., 1] + fwd_at[..., 1])
            motion = np.hypot(back[..., 0], back[..., 1])
            bw = cv2.remap(b, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            photo = cv2.blur(np.abs(bw.astype(np.float32) - a.astype(np.float32)) / 255, (3, 3))
            inside = (mx >= 0) & (mx <= sw - 1) & (my >= 0) & (my <= sh - 1)
            rel = ((fb < fb_tol + 0.05 * motion) & (photo < photo_tol) & inside).astype(np.float32)
            big = cv2.resize(back, (w, h), interpolation=cv2.INTER_LINEAR)
            bx, by = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
            warped = cv2.remap(mattes[j], bx + big[..., 0] * (w / sw), by + big[..., 1] * (h / sh),
                               cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            wt = cv2.resize(rel, (w, h), interpolation=cv2.INTER_LINEAR)
            if agree is not None:
                wt = wt * np.exp(-np.square((warped - mattes[t]) / agree))
            if motion_px is not None:  # fast motion: the warp's edges are less exact
                speed = cv2.resize(np.hypot(back[..., 0], back[..., 1]) * (w / sw), (w, h))
                wt = wt * np.exp(-np.square(speed / motion_px))
            acc += wt * warped
            wsum += wt
            stack.append(warped)
            wstack.append(wt)
        if median:
            st = np.stack(stack)
            ws = np.stack(wstack) > 0.5
            st = np.where(ws, st, np.nan)
            out.append(np.nan_to_num(np.nanmedian(st, axis=0), nan=0.0).astype(np.float32))
        else:
            out.append((acc / wsum).astype(np.float32))
    return out


def shipped(frames: list[NDArray[np.uint8]], mattes: list[F32]) -> list[F32]:
    """alphacut.video.steady.MatteWindow with its defaults: what `alphacut video` runs."""
    from alphacut.video.steady import MatteWindow

    win: MatteWindow[int] = MatteWindow()
    out: list[F32] = []
    for i, (f, m) in enumerate(zip(frames, mattes)):
        out += [a for _, a in win.push(f, m, i)]
    return out + [a for _, a in win.flush()]


EXTRA: dict[str, Callable[[list[NDArray[np.uint8]], list[F32]], list[F32]]] = {
    "MatteWindow (shipped)": shipped,
    "window k2 agree 0.5": lambda f, m: window(f, m, k=2, agree=0.5),
    "window k2 agree 0.5 motion 2px": lambda f, m: window(f, m, k=2, agree=0.5, motion_px=2.0),
    "window k2 agree 0.5 motion 4px": lambda f, m: window(f, m, k=2, agree=0.5, motion_px=4.0),
    "window k2 agree 0.5 motion 8px": lambda f, m: window(f, m, k=2, agree=0.5, motion_px=8.0),
    "window k2 agree 0.5 DIS medium 640": lambda f, m: window(f, m, k=2, agree=0.5, side=640, preset="MEDIUM"),
    "window k1": lambda f, m: window(f, m, k=1),
    "window k2": lambda f, m: window(f, m, k=2),
    "window k2 no agree": lambda f, m: window(f, m, k=2, agree=None),
    "window k2 median": lambda f, m: window(f, m, k=2, median=True),
    "window k3": lambda f, m: window(f, m, k=3),
}

if __name__ == "__main__":
    sys.exit(main())
