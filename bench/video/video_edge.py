"""What is the per-frame edge error of video mattes made of? (issue 13 point 2, docs/VIDEO.md "Edge study")

    PYTHONPATH=src .venv/bin/python bench/video/video_edge.py --clips out/clips0 --cache out/study0 \
        --rembg out/rembg_clips0 [--fit-on out/clips0 --fit-cache out/study0] --json out/edge0.json

Reads what bench/video/video_study.py cached (the network's output per frame, before the min-max stretch)
and the clips' exact truth; no network run. Per clip and method (alphacut frame by frame, the
shipped MatteWindow, the same two with the matte resized by Lanczos instead of the library's
area-weighted bilinear, rembg's masks):

- profile: mean truth, mean prediction and mean error as a function of the signed distance to the
  truth's 0.5 contour (1 px bins, centres ±0.5, ±1.5, ...; negative inside the subject), and each
  bin's share of Σ e² and of Σ dtSSD² (the frame pair's temporal error, binned by frame t's distance);
- contour offset: (Σ pred − Σ truth) within 8 px of the contour / the contour's length in px: how
  far outwards (+) the matte's edge sits on average; and the 10-90% ramp width of the mean profile;
- explained: dtSSD of truth + E[error | distance bin] (the clip's mean profile error put on the
  exact truth): how much of dtSSD a systematic edge profile/offset alone would cause;
- oracle curve: the MSE-best value curve g(pred) (mean truth per 1/64 bin of pred, interpolated),
  fitted on the clips themselves (per clip and over all clips: a bound for the whole value-curve
  family, not a method) and, with --fit-on, fitted on OTHER clips (seed 0) and applied here;
- with --evaldata, the bound of the two together: the own-clip oracle curve, then a 5-frame mean
  aligned with the subject's TRUE motion (video_study.oracle_window), on alphacut frame by frame.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))
import video_study as vs
from video_fixes import resize_lanczos, stretch

from alphacut.video._deps import require_cv2
from alphacut.video.metrics import score_clip

F32 = NDArray[np.float32]
BINS = np.arange(-8, 8)  # signed distance in px: bin k holds [k, k + 1), so -1 is the first pixel inside
CURVE_BINS = 64
log = logging.getLogger("video_edge")


def signed_distance(gt: F32) -> F32:
    """Per pixel, the distance in px to the truth's 0.5 contour: negative inside, positive outside."""
    cv2 = require_cv2()
    inside = (gt >= 0.5).astype(np.uint8)
    d_in = cv2.distanceTransform(inside, cv2.DIST_L2, 5)  # inside pixels: distance to the nearest outside
    d_out = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5)
    return np.where(inside > 0, -(d_in - 0.5), d_out - 0.5).astype(np.float32)


def profile(pred: Sequence[F32], gt: Sequence[F32], sds: Sequence[F32]) -> dict[str, list[float]]:
    """Mean truth / prediction / error and shares of Σe², Σ dtSSD² per signed-distance bin."""
    n = len(BINS)
    cnt, sg, sp, se2, sd2 = (np.zeros(n) for _ in range(5))
    for t, (p, g, sd) in enumerate(zip(pred, gt, sds)):
        b = np.clip(np.floor(sd).astype(np.int64), BINS[0] - 1, BINS[-1] + 1) - BINS[0]
        ok = (b >= 0) & (b < n)
        bi = b[ok]
        cnt += np.bincount(bi, minlength=n)
        sg += np.bincount(bi, g[ok], minlength=n)
        sp += np.bincount(bi, p[ok], minlength=n)
        e = p - g
        se2 += np.bincount(bi, (e * e)[ok], minlength=n)
        if t:
            d = (p - pred[t - 1]) - (g - gt[t - 1])
            sd2 += np.bincount(bi, (d * d)[ok], minlength=n)
    tot_e2 = sum(float(np.square(p - g).sum()) for p, g in zip(pred, gt)) or 1.0
    tot_d2 = sum(float(np.square((pred[t] - pred[t - 1]) - (gt[t] - gt[t - 1])).sum())
                 for t in range(1, len(pred))) or 1.0
    c = np.maximum(cnt, 1)
    return {"distance": (BINS + 0.5).tolist(), "truth": (sg / c).tolist(), "pred": (sp / c).tolist(),
            "error": ((sp - sg) / c).tolist(), "e2_share": (se2 / tot_e2).tolist(),
            "dtssd2_share": (sd2 / tot_d2).tolist(), "pixels": cnt.tolist()}


def contour_offset(pred: Sequence[F32], gt: Sequence[F32], sds: Sequence[F32], band_px: float = 8.0) -> float:
    """Mean outward shift (px) of the matte's edge: excess matte area near the contour / contour length."""
    excess = length = 0.0
    for p, g, sd in zip(pred, gt, sds):
        band = np.abs(sd) <= band_px
        excess += float((p[band] - g[band]).sum())
        length += float(np.count_nonzero(sd == -0.5))  # inside pixels next to an outside one
    return excess / max(length, 1.0)


def local_ramp(mattes: Sequence[F32]) -> float:
    """Median over the pixels with 0.25 < m < 0.75 of 1/|∇m| (px): the width of the matte's 0→1
    ramp where it is crossed, whatever the edge's placement (the mean profile mixes both)."""
    widths = []
    for m in mattes:
        gy, gx = np.gradient(m)
        sel = (m > 0.25) & (m < 0.75)
        widths.append(1.0 / np.maximum(np.hypot(gx, gy)[sel], 1e-3))
    return float(np.median(np.concatenate(widths))) if widths else float("nan")


def ramp_width(prof: dict[str, list[float]], key: str) -> float:
    """Distance in px between where the mean profile crosses 0.9 and 0.1 (linear interpolation)."""
    d = np.asarray(prof["distance"], float)
    v = np.asarray(prof[key], float)

    def cross(level: float) -> float:
        for i in range(len(v) - 1):
            if (v[i] - level) * (v[i + 1] - level) <= 0 and v[i] != v[i + 1]:
                return float(d[i] + (level - v[i]) / (v[i + 1] - v[i]) * (d[i + 1] - d[i]))
        return float("nan")

    return cross(0.1) - cross(0.9)


def explained(gt: Sequence[F32], sds: Sequence[F32], prof: dict[str, list[float]]) -> list[F32]:
    """The truth with the clip's mean profile error added at each pixel's distance bin."""
    err = np.asarray(prof["error"], np.float32)
    out = []
    for g, sd in zip(gt, sds):
        b = np.floor(sd).astype(np.int64) - BINS[0]
        ok = (b >= 0) & (b < len(BINS))
        e = np.zeros_like(g)
        e[ok] = err[b[ok]]
        out.append(np.clip(g + e, 0, 1).astype(np.float32))
    return out


def fit_curve(preds: Sequence[F32], gts: Sequence[F32]) -> NDArray[np.float64]:
    """The MSE-best value curve on a 1/64 grid of the prediction: mean truth per bin (bins with no
    pixel keep the identity)."""
    s = np.zeros(CURVE_BINS)
    c = np.zeros(CURVE_BINS)
    for p, g in zip(preds, gts):
        b = np.minimum((p * CURVE_BINS).astype(np.int64), CURVE_BINS - 1).ravel()
        s += np.bincount(b, g.ravel(), minlength=CURVE_BINS)
        c += np.bincount(b, minlength=CURVE_BINS)
    centres = (np.arange(CURVE_BINS) + 0.5) / CURVE_BINS
    return np.where(c > 0, s / np.maximum(c, 1), centres)


def apply_curve(curve: NDArray[np.float64], mattes: Sequence[F32]) -> list[F32]:
    centres = (np.arange(CURVE_BINS) + 0.5) / CURVE_BINS
    xs = np.concatenate([[0.0], centres, [1.0]])
    ys = np.concatenate([[curve[0]], curve, [curve[-1]]])
    return [np.interp(m, xs, ys).astype(np.float32) for m in mattes]


def _row(pred: Sequence[F32], gt: Sequence[F32]) -> dict[str, float]:
    s = score_clip(pred, gt)
    return {"mae": s.mae, "dtssd": s.dtssd, "flicker": s.flicker}


def load_all(clips_dir: Path, cache: Path, rembg: Path | None) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for clip in sorted(p for p in clips_dir.iterdir() if (p / "images").is_dir()):
        frames, gt, low = vs.load_clip(clip, cache / clip.name)
        base = vs.per_frame(frames, low)
        lanczos = [resize_lanczos(stretch(m), (f.shape[1], f.shape[0])) for m, f in zip(low, frames)]
        methods: dict[str, list[F32]] = {"alphacut frame by frame": base,
                                         "alphacut window": vs.shipped(frames, base),
                                         "alphacut Lanczos": lanczos, "alphacut Lanczos + window": vs.shipped(frames, lanczos)}
        if rembg is not None and (rembg / clip.name).is_dir():
            methods["rembg"] = [vs._read_grey(p) for p in sorted((rembg / clip.name).glob("*.png"))]
        out[clip.name] = {"gt": gt, "methods": methods}
        log.info("loaded %s", clip.name)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--rembg", type=Path, default=None)
    parser.add_argument("--fit-on", type=Path, default=None, help="other clips to fit the value curve on")
    parser.add_argument("--fit-cache", type=Path, default=None)
    parser.add_argument("--evaldata", type=Path, default=None,
                        help="the clips' evaldata: adds the bound oracle curve + oracle window (true motion)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data = load_all(args.clips, args.cache, args.rembg)
    fitted_elsewhere = None
    if args.fit_on is not None:
        other = load_all(args.fit_on, args.fit_cache or args.cache, None)
        fitted_elsewhere = {m: fit_curve([p for c in other.values() for p in c["methods"][m]],  # type: ignore[index]
                                         [g for c in other.values() for g in c["gt"]])  # type: ignore[attr-defined]
                            for m in ("alphacut frame by frame", "alphacut window")}
    pooled = {m: fit_curve([p for c in data.values() for p in c["methods"][m]],  # type: ignore[index]
                           [g for c in data.values() for g in c["gt"]])  # type: ignore[attr-defined]
              for m in ("alphacut frame by frame", "alphacut window")}
    results: dict[str, dict[str, dict[str, object]]] = {}
    for name, c in data.items():
        gt: list[F32] = c["gt"]  # type: ignore[assignment]
        sds = [signed_distance(g) for g in gt]
        truth_prof = profile(gt, gt, sds)
        for method, pred in c["methods"].items():  # type: ignore[attr-defined]
            prof = profile(pred, gt, sds)
            row: dict[str, object] = {**_row(pred, gt), "profile": prof,
                                      "offset_px": contour_offset(pred, gt, sds),
                                      "ramp_px": ramp_width(prof, "pred"), "truth_ramp_px": ramp_width(truth_prof, "pred"),
                                      "local_ramp_px": local_ramp(pred), "truth_local_ramp_px": local_ramp(gt),
                                      "explained": _row(explained(gt, sds, prof), gt)}
            if method in pooled:
                row["curve_own_clip"] = _row(apply_curve(fit_curve(pred, gt), pred), gt)
                row["curve_pooled"] = _row(apply_curve(pooled[method], pred), gt)
                if fitted_elsewhere is not None:
                    row["curve_other_clips"] = _row(apply_curve(fitted_elsewhere[method], pred), gt)
            if method == "alphacut frame by frame" and args.evaldata is not None:
                affines = vs.subject_motion(args.clips, name, args.evaldata)
                cut = vs.clip_cut(args.clips, name)
                row["oracle_window"] = _row(vs.oracle_window(pred, affines, cut), gt)
                row["curve_own_clip+oracle_window"] = _row(
                    vs.oracle_window(apply_curve(fit_curve(pred, gt), pred), affines, cut), gt)
            results.setdefault(method, {})[name] = row
            near = [i for i, d in enumerate(BINS + 0.5) if abs(d) <= 3]
            print(f"{name:18s} {method:24s} MAE {row['mae']:.4f} dtSSD {row['dtssd']:.3f} "
                  f"offset {row['offset_px']:+.3f} px ramp {row['ramp_px']:.2f} (truth {row['truth_ramp_px']:.2f}) "
                  f"local ramp {row['local_ramp_px']:.2f} (truth {row['truth_local_ramp_px']:.2f}) "
                  f"explained dtSSD {row['explained']['dtssd']:.3f} "  # type: ignore[index]
                  f"|d|<=3 px: {sum(prof['dtssd2_share'][i] for i in near):.2f} of dtSSD², "
                  f"{sum(prof['e2_share'][i] for i in near):.2f} of e²", flush=True)
    print("\nmeans over clips")
    for method, per in results.items():
        def mean(key: str, sub: str | None = None, per: dict[str, dict[str, object]] = per) -> float:
            vals = [(v[key][sub] if sub else v[key]) for v in per.values() if key in v]  # type: ignore[index]
            return float(np.mean(vals)) if vals else float("nan")
        line = (f"{method:24s} MAE {mean('mae'):.4f} dtSSD {mean('dtssd'):.3f} offset {mean('offset_px'):+.3f} px "
                f"ramp {mean('ramp_px'):.2f} local ramp {mean('local_ramp_px'):.2f} (truth {mean('truth_local_ramp_px'):.2f}) "
                f"explained {mean('explained', 'dtssd'):.3f}")
        if "curve_pooled" in next(iter(per.values())):
            line += (f" | oracle curve own clip {mean('curve_own_clip', 'mae'):.4f}/{mean('curve_own_clip', 'dtssd'):.3f}"
                     f" pooled {mean('curve_pooled', 'mae'):.4f}/{mean('curve_pooled', 'dtssd'):.3f}")
            if fitted_elsewhere is not None:
                line += f" other clips {mean('curve_other_clips', 'mae'):.4f}/{mean('curve_other_clips', 'dtssd'):.3f}"
        if "oracle_window" in next(iter(per.values())):
            line += (f" | oracle window {mean('oracle_window', 'mae'):.4f}/{mean('oracle_window', 'dtssd'):.3f}"
                     f" own-clip curve + oracle window {mean('curve_own_clip+oracle_window', 'mae'):.4f}/"
                     f"{mean('curve_own_clip+oracle_window', 'dtssd'):.3f}")
        print(line)
        prof = {k: np.mean([v["profile"][k] for v in per.values()], axis=0)  # type: ignore[index]
                for k in ("truth", "pred", "error", "dtssd2_share", "e2_share")}
        print("   d(px) " + " ".join(f"{d:6.1f}" for d in BINS + 0.5))
        for k in ("truth", "pred", "error", "e2_share", "dtssd2_share"):
            print(f"   {k[:6]:6s} " + " ".join(f"{x:6.3f}" for x in prof[k]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
