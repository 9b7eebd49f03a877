"""Per-frame matte fixes for video, scored frame by frame and through the shipped window (issue 13 point 2).

    PYTHONPATH=src .venv/bin/python bench/video/video_fixes.py --clips out/clips0 --cache out/study0 \
        --rembg out/rembg_clips0 [--window "levels 0.05-0.95" ...] --json out/fixes0.json

Reads bench/video/video_study.py's cache (the network's output per frame, before the min-max stretch); no
network run. Each variant turns the low-resolution output into the frame's matte differently, after
pipeline.postprocess's min-max stretch and the default model's value curve (catalog `levels`;
--no-curve leaves the curve out, as the pipeline was before the quality owner chose one):

- resize of the matte to the frame: the library's area-weighted bilinear (shipped), Pillow's
  Lanczos of the float matte, OpenCV bilinear without antialiasing;
- a levels curve m' = clip((m - lo) / (hi - lo), 0, 1) on the low-resolution matte (a grid, on
  top of the model's curve if any), and with --curve an ops/levels.apply_levels curve (with a
  tail) INSTEAD of the model's;
- a sub-pixel edge step: a Gaussian blur of σ px on the frame's matte, then a contrast c around 0.5
  (smooths the contour's placement along the edge, then restores the ramp across it);
- with --flip-cache (video_study.py --flip): the mean of the frame's and its mirror's outputs (a
  test-time ensemble, twice the network), and mirroring every other frame (the same network cost:
  the error fixed on the subject then differs between neighbours, for the window to average);
- with --keyframes N: `alphacut video --keyframes N` replayed on the cache (network every Nth frame);
- with --agree T...: the shipped matte through MatteWindow with other agreement tolerances.

Every variant is scored frame by frame (MAE, dtSSD ×100, flicker ×100, alphacut.video.metrics);
those named by --window also through alphacut.video.steady.MatteWindow (what `alphacut video`
runs), the shipped one always. rembg's masks of the same frames are the reference when given.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import video_study as vs

from alphacut.ops.resize import resize_matte
from alphacut.video._deps import require_cv2
from alphacut.video.metrics import score_clip

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
log = logging.getLogger("video_fixes")


def _default_curve() -> tuple[float, float, float] | None:
    from alphacut.models.catalog import load_catalog

    cat = load_catalog()
    return cat.get(cat.default).levels


#: The default model's value curve (catalog `levels`, applied by pipeline.postprocess after the
#: stretch); --no-curve sets it to None (the pipeline before the quality owner chose one).
CURVE: tuple[float, float, float] | None = None


def stretch(m: F32) -> F32:
    """pipeline.postprocess: the min-max stretch, then the model's value curve (CURVE) if any."""
    lo, hi = float(m.min()), float(m.max())
    out = np.clip((m - lo) / (hi - lo), 0, 1).astype(np.float32) if hi - lo > 1e-6 else m
    if CURVE is not None:
        from alphacut.ops.levels import apply_levels

        out = apply_levels(out, CURVE[0], CURVE[1], tail=CURVE[2])
    return out


def _stretch_only(m: F32) -> F32:
    lo, hi = float(m.min()), float(m.max())
    return np.clip((m - lo) / (hi - lo), 0, 1).astype(np.float32) if hi - lo > 1e-6 else m


def levels(m: F32, lo: float, hi: float) -> F32:
    return np.clip((m - lo) / (hi - lo), 0, 1).astype(np.float32)


def resize_lanczos(m: F32, size_wh: tuple[int, int]) -> F32:
    from PIL import Image

    out = np.asarray(Image.fromarray(m.astype(np.float32), mode="F").resize(size_wh, Image.Resampling.LANCZOS))
    return np.clip(out, 0, 1).astype(np.float32)


def resize_linear(m: F32, size_wh: tuple[int, int]) -> F32:
    cv2 = require_cv2()
    return np.clip(cv2.resize(m, size_wh, interpolation=cv2.INTER_LINEAR), 0, 1).astype(np.float32)


def edge_step(m: F32, sigma: float, contrast: float) -> F32:
    cv2 = require_cv2()
    b = cv2.GaussianBlur(m, (0, 0), sigma) if sigma > 0 else m
    return np.clip(0.5 + (b - 0.5) * contrast, 0, 1).astype(np.float32)


Variant = Callable[[F32, U8], F32]  # (raw low-res output, frame) -> frame matte


def _wh(rgb: U8) -> tuple[int, int]:
    return rgb.shape[1], rgb.shape[0]


def _shipped(low: F32, rgb: U8) -> F32:
    return resize_matte(stretch(low), _wh(rgb))


def _levels(lo: float, hi: float) -> Variant:
    return lambda low, rgb: resize_matte(levels(stretch(low), lo, hi), _wh(rgb))


def _curve(lo: float, hi: float, tail: float) -> Variant:
    from alphacut.ops.levels import apply_levels

    return lambda low, rgb: resize_matte(apply_levels(_stretch_only(low), lo, hi, tail=tail), _wh(rgb))


def _edge(sigma: float, contrast: float) -> Variant:
    return lambda low, rgb: edge_step(resize_matte(stretch(low), _wh(rgb)), sigma, contrast)


VARIANTS: dict[str, Variant] = {
    "shipped (area)": _shipped,
    "Lanczos": lambda low, rgb: resize_lanczos(stretch(low), _wh(rgb)),
    "bilinear, no antialias": lambda low, rgb: resize_linear(stretch(low), _wh(rgb)),
}
VARIANTS.update({f"levels {lo:g}-{hi:g}": _levels(lo, hi) for lo in (0.0, 0.02, 0.05, 0.1, 0.15, 0.2)
                 for hi in (0.8, 0.85, 0.9, 0.95, 0.98, 1.0) if (lo, hi) != (0.0, 1.0)})
VARIANTS.update({f"blur {s:g} contrast {c:g}": _edge(s, c) for s in (0.7, 1.0, 1.5) for c in (1.0, 1.5, 2.0)})


def window_with(frames: Sequence[U8], mattes: Sequence[F32], agree_tol: float | None) -> list[F32]:
    """MatteWindow with another agreement tolerance (SteadyOptions.window_agree_tol; None: no test)."""
    from alphacut.video.steady import MatteWindow, SteadyOptions

    win: MatteWindow[int] = MatteWindow(SteadyOptions(window_agree_tol=agree_tol))
    out: list[F32] = []
    for t, (f, m) in enumerate(zip(frames, mattes)):
        out += [a for _, a in win.push(f, m, t)]
    return out + [a for _, a in win.flush()]


def keyframes(frames: Sequence[U8], mattes: Sequence[F32], interval: int) -> list[F32]:
    """What `alphacut video --keyframes N` does (video/job.py): the network's matte on every Nth
    frame (and on a detected cut), the recursive MatteStabilizer carrying it between, then MatteWindow."""
    from alphacut.video.steady import MatteStabilizer, MatteWindow, SteadyOptions

    opts = SteadyOptions(keyframe_interval=interval)
    stab = MatteStabilizer(opts)
    win: MatteWindow[int] = MatteWindow(opts)
    out: list[F32] = []
    for t, (f, m) in enumerate(zip(frames, mattes)):
        carried = stab.step(f, m if t % interval == 0 else (lambda m=m: m))[0]
        out += [a for _, a in win.push(f, carried, t)]
    return out + [a for _, a in win.flush()]


def _score(pred: Sequence[F32], gt: Sequence[F32]) -> dict[str, float]:
    s = score_clip(pred, gt)
    return {"mae": s.mae, "dtssd": s.dtssd, "flicker": s.flicker}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--rembg", type=Path, default=None)
    parser.add_argument("--only", nargs="*", default=None, help="variants to run (default: all)")
    parser.add_argument("--window", nargs="*", default=[], help="variants also scored through MatteWindow")
    parser.add_argument("--flip-cache", type=Path, default=None,
                        help="video_study.py --flip's cache: adds 'flip mean' and 'alternate flip'")
    parser.add_argument("--keyframes", type=int, default=1,
                        help="N > 1 adds `alphacut video --keyframes N` at the cache's resolution, replayed offline")
    parser.add_argument("--curve", nargs="*", default=[], metavar="LO,HI,TAIL",
                        help="value curves of ops/levels.apply_levels (the quality owner's family) to add, "
                             "applied after the min-max stretch as pipeline.postprocess does; named 'curve LO,HI,TAIL'")
    parser.add_argument("--agree", nargs="*", type=float, default=[],
                        help="also the shipped matte through MatteWindow with these agreement tolerances (0: none)")
    parser.add_argument("--no-curve", action="store_true",
                        help="leave out the default model's value curve (catalog levels) everywhere")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    global CURVE
    CURVE = None if args.no_curve else _default_curve()
    log.info("the default model's value curve: %s", CURVE)
    for spec in args.curve:
        lo, hi, tail = (float(x) for x in spec.split(","))
        VARIANTS[f"curve {spec}"] = _curve(lo, hi, tail)
    names = [n for n in VARIANTS if args.only is None or n in args.only or n in args.window
             or n in {f"curve {c}" for c in args.curve}]
    for n in (args.only or []) + args.window:
        if n not in VARIANTS:
            raise SystemExit(f"unknown variant {n!r}")
    results: dict[str, dict[str, dict[str, float]]] = {}
    for clip in sorted(p for p in args.clips.iterdir() if (p / "images").is_dir()):
        frames, gt, low = vs.load_clip(clip, args.cache / clip.name)
        for name in names:
            mattes = [VARIANTS[name](m, f) for m, f in zip(low, frames)]
            results.setdefault(name, {})[clip.name] = _score(mattes, gt)
            if name == "shipped (area)" or name in args.window:
                results.setdefault(f"{name} + window", {})[clip.name] = _score(vs.shipped(frames, mattes), gt)
            if name == "shipped (area)":
                for tol in args.agree:
                    results.setdefault(f"{name} + window, agreement {tol:g}", {})[clip.name] = _score(
                        window_with(frames, mattes, None if tol <= 0 else tol), gt)
        if args.flip_cache is not None:
            flipped = vs.load_clip(clip, args.flip_cache / clip.name)[2]
            both = {"flip mean (2x network)": [VARIANTS["shipped (area)"]((a + b) / 2, f)
                                               for a, b, f in zip(low, flipped, frames)],
                    "alternate flip (odd frames mirrored)": [VARIANTS["shipped (area)"](b if t % 2 else a, f)
                                                             for t, (a, b, f) in enumerate(zip(low, flipped, frames))]}
            for name, mattes in both.items():
                results.setdefault(name, {})[clip.name] = _score(mattes, gt)
                results.setdefault(f"{name} + window", {})[clip.name] = _score(vs.shipped(frames, mattes), gt)
        if args.keyframes > 1:
            base = [_shipped(m, f) for m, f in zip(low, frames)]
            results.setdefault(f"keyframes {args.keyframes} (recursive + window, offline)", {})[clip.name] = _score(
                keyframes(frames, base, args.keyframes), gt)
        if args.rembg is not None and (args.rembg / clip.name).is_dir():
            results.setdefault("rembg", {})[clip.name] = _score(
                [vs._read_grey(p) for p in sorted((args.rembg / clip.name).glob("*.png"))], gt)
        log.info("%s done", clip.name)
    ref = results.get("rembg")
    ref_dts = float(np.mean([v["dtssd"] for v in ref.values()])) if ref else None
    print("| variant | MAE | dtSSD ×100 | flicker ×100 | dtSSD vs rembg |")
    print("|---|---|---|---|---|")
    for name, per in results.items():
        mae, dts, fl = (float(np.mean([v[k] for v in per.values()])) for k in ("mae", "dtssd", "flicker"))
        rel = f"{dts / ref_dts:.3f}x" if ref_dts else "-"
        print(f"| {name} | {mae:.4f} | {dts:.3f} | {fl:.3f} | {rel} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
