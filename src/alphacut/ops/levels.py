"""Value curves for mattes: monotone maps of [0, 1] onto itself, applied pixel by pixel."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["apply_levels", "levels_knots"]

#: Pixels per block of apply_levels' work: its float32 temporaries stay in the CPU cache.
_BLOCK = 1 << 18


def levels_knots(lo: float, hi: float, tail: float = 0.0) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The (x, y) knots of apply_levels' piecewise-linear curve.

    Example:
        >>> levels_knots(0.3, 0.7, 0.1)
        ((0.0, 0.3, 0.7, 1.0), (0.0, 0.1, 0.9, 1.0))
    """
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"levels need 0 <= lo < hi <= 1, got lo={lo}, hi={hi}")
    if not 0.0 <= tail < 0.5:
        raise ValueError(f"levels need 0 <= tail < 0.5, got tail={tail}")
    y_lo = tail if lo > 0.0 else 0.0
    y_hi = 1.0 - tail if hi < 1.0 else 1.0
    return (0.0, lo, hi, 1.0), (0.0, y_lo, y_hi, 1.0)


def apply_levels(alpha: NDArray[np.float32], lo: float, hi: float, *, tail: float = 0.0) -> NDArray[np.float32]:
    """Stretch a matte's [lo, hi] towards [0, 1]: the piecewise-linear curve through
    (0, 0), (lo, tail), (hi, 1 - tail), (1, 1), as a float32 copy.

    With tail = 0 it is clip((alpha - lo) / (hi - lo), 0, 1): values at or below lo become 0 (faint
    greys in the background), values at or above hi become 1 (a subject the network left slightly
    transparent). A tail > 0 keeps the order of the values below lo and above hi, squeezed into
    [0, tail] and [1 - tail, 1], so a threshold chosen later still separates them. (lo = 0 or
    hi = 1 leaves that end without a tail; lo = 0, hi = 1 changes nothing.)

    Args:
        alpha: H×W matte in [0, 1].
        lo, hi: 0 <= lo < hi <= 1.
        tail: 0 <= tail < 0.5.

    Example:
        >>> apply_levels(np.array([0.02, 0.5, 0.97], np.float32), 0.05, 0.95).round(3).tolist()
        [0.0, 0.5, 1.0]
        >>> [round(float(v), 3) for v in apply_levels(np.array([0.15, 0.5, 0.85], np.float32), 0.3, 0.7, tail=0.1)]
        [0.05, 0.5, 0.95]
    """
    (_, x1, x2, _), (_, y1, y2, _) = levels_knots(lo, hi, tail)
    src = np.asarray(alpha, dtype=np.float32)
    out: NDArray[np.float32] = np.empty(src.shape, np.float32)
    flat_in, flat_out = src.reshape(-1), out.reshape(-1)
    k_mid = np.float32((y2 - y1) / (x2 - x1))
    k_lo = np.float32(y1 / x1) if x1 > 0.0 else np.float32(0.0)
    k_hi = np.float32((1.0 - y2) / (1.0 - x2)) if x2 < 1.0 else np.float32(0.0)
    s_shaped = k_lo <= k_mid and k_hi <= k_mid  # then the curve is min(max(low, mid), high)
    for i in range(0, flat_in.size, _BLOCK):
        a = flat_in[i:i + _BLOCK]
        o = flat_out[i:i + _BLOCK]
        np.subtract(a, np.float32(x1), out=o)
        o *= k_mid
        o += np.float32(y1)
        if s_shaped:
            if x1 > 0.0:
                np.maximum(o, a * k_lo, out=o)
            if x2 < 1.0:
                np.minimum(o, np.float32(1.0) - (np.float32(1.0) - a) * k_hi, out=o)
        else:
            if x1 > 0.0:
                below = a < np.float32(x1)
                o[below] = a[below] * k_lo
            if x2 < 1.0:
                above = a > np.float32(x2)
                o[above] = np.float32(1.0) - (np.float32(1.0) - a[above]) * k_hi
        np.clip(o, 0.0, 1.0, out=o)
    return out
