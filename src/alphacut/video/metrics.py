"""Video matting scores over a clip: per-frame accuracy and frame-to-frame steadiness.

All take sequences of H×W float32 mattes in [0, 1] (prediction and truth, same length and size).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["ClipScores", "score_clip"]

F32 = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class ClipScores:
    """MAE (mean over frames), dtSSD ×100 and flicker ×100 (both means over frame pairs)."""

    frames: int
    mae: float
    dtssd: float
    flicker: float


def score_clip(pred: Sequence[F32], gt: Sequence[F32], *, still_tol: float = 0.5 / 255) -> ClipScores:
    """Score a predicted clip against its truth.

    dtSSD (Erofeev et al. 2015, as in the video-matting benchmark): per frame pair, the RMS over
    pixels of (pred_t − pred_{t−1}) − (gt_t − gt_{t−1}), ×100, averaged over pairs.
    flicker: per frame pair, the mean |pred_t − pred_{t−1}| over the pixels whose truth did not
    change (|gt_t − gt_{t−1}| <= still_tol), ×100, averaged over pairs.

    Example:
        >>> a = [np.zeros((4, 4), np.float32)] * 3
        >>> score_clip(a, a)
        ClipScores(frames=3, mae=0.0, dtssd=0.0, flicker=0.0)
    """
    if len(pred) != len(gt) or not pred:
        raise ValueError(f"{len(pred)} predicted frames for {len(gt)} true ones")
    mae = float(np.mean([np.abs(p - g).mean() for p, g in zip(pred, gt)]))
    dts: list[float] = []
    flick: list[float] = []
    for t in range(1, len(pred)):
        dp = pred[t] - pred[t - 1]
        dg = gt[t] - gt[t - 1]
        dts.append(float(np.sqrt(np.mean((dp - dg) ** 2))) * 100)
        still = np.abs(dg) <= still_tol
        if still.any():
            flick.append(float(np.abs(dp[still]).mean()) * 100)
    return ClipScores(frames=len(pred), mae=mae, dtssd=float(np.mean(dts)) if dts else 0.0,
                      flicker=float(np.mean(flick)) if flick else 0.0)
