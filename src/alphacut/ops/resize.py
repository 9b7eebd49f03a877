"""Bilinear resizing of mattes with half-pixel centres (Pillow / OpenCV INTER_LINEAR convention)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["resize_matte"]


def _axis(n_in: int, n_out: int) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float32]]:
    x = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    x = np.clip(x, 0.0, n_in - 1)
    i0 = np.floor(x).astype(np.intp)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (x - i0).astype(np.float32)


def resize_matte(alpha: NDArray[np.float32], size_wh: tuple[int, int]) -> NDArray[np.float32]:
    """Bilinear resize of an h×w matte to size_wh, clipped to [0, 1].

    Example:
        >>> resize_matte(np.zeros((1024, 1024), np.float32), (640, 480)).shape
        (480, 640)
    """
    w, h = size_wh
    if alpha.shape == (h, w):
        return alpha.astype(np.float32, copy=False)
    r0, r1, rw = _axis(alpha.shape[0], h)
    c0, c1, cw = _axis(alpha.shape[1], w)
    rows = alpha[r0] * (1.0 - rw)[:, None] + alpha[r1] * rw[:, None]
    out = rows[:, c0] * (1.0 - cw)[None, :] + rows[:, c1] * cw[None, :]
    return np.clip(out, 0.0, 1.0).astype(np.float32, copy=False)
