"""Value curves for mattes: monotone maps of [0, 1] onto itself, applied pixel by pixel."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["apply_levels"]


def apply_levels(alpha: NDArray[np.float32], lo: float, hi: float) -> NDArray[np.float32]:
    """Stretch a matte's [lo, hi] to [0, 1]: clip((alpha - lo) / (hi - lo), 0, 1), as a float32 copy.

    Values at or below lo become 0 (faint greys in the background), values at or above hi become 1
    (a subject the network left slightly transparent); lo = 0, hi = 1 changes nothing.

    Args:
        alpha: H×W matte in [0, 1].
        lo, hi: 0 <= lo < hi <= 1.

    Example:
        >>> apply_levels(np.array([0.02, 0.5, 0.97], np.float32), 0.05, 0.95).round(3).tolist()
        [0.0, 0.5, 1.0]
    """
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"levels need 0 <= lo < hi <= 1, got lo={lo}, hi={hi}")
    out: NDArray[np.float32] = np.asarray(alpha, dtype=np.float32).copy()
    if lo > 0.0:
        out -= np.float32(lo)
    if hi - lo < 1.0:
        out *= np.float32(1.0 / (hi - lo))
    np.clip(out, 0.0, 1.0, out=out)
    return out
