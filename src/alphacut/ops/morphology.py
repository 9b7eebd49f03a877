"""Morphology on soft mattes: threshold, disk-shaped grey-scale erosion/dilation, speck removal.

Erosion and dilation cost O(H*W) whatever the radius: up to EXACT_DISK_MAX_PX the exact disk is
used; above it, a regular octagon built as the Minkowski sum of four line segments (horizontal,
vertical and both diagonals), each a 1-D running min/max (van Herk/Gil-Werman-like in scipy), so a
radius of 150 costs what a radius of 5 does. The octagon reaches exactly `px` along the axes and
diagonals and about 8% further in between (its vertices, at 22.5 degrees; up to 12% at 4-7 px,
from rounding the segments to whole pixels): its area is within 15% of the exact disk's.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["EXACT_DISK_MAX_PX", "dilate", "disk", "erode", "octagon_segments", "remove_small", "threshold"]

F32 = NDArray[np.float32]
_EIGHT = np.ones((3, 3), dtype=bool)
#: radii up to this use the exact disk footprint (at most 37 pixels); larger ones the octagon
EXACT_DISK_MAX_PX = 3


def disk(radius_px: int) -> NDArray[np.bool_]:
    """Return a (2r+1) x (2r+1) boolean disk footprint (pixel centres within r + 0.5).

    Example:
        >>> disk(1).astype(int).tolist()
        [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    """
    if radius_px < 0:
        raise ValueError(f"radius_px must be >= 0, got {radius_px}")
    y, x = np.mgrid[-radius_px : radius_px + 1, -radius_px : radius_px + 1]
    out: NDArray[np.bool_] = (x * x + y * y) <= radius_px * radius_px + radius_px * 0.5 + 1e-9
    return out


def threshold(alpha: F32, t: float = 0.5) -> F32:
    """Binarise a matte: 1 where alpha >= t, else 0.

    Args:
        alpha: H x W matte in [0, 1].
        t: level in [0, 1].

    Example:
        >>> threshold(np.array([[0.2, 0.5, 0.9]], np.float32), 0.5).tolist()
        [[0.0, 1.0, 1.0]]
    """
    return (np.asarray(alpha) >= t).astype(np.float32)


def octagon_segments(radius_px: int) -> tuple[int, int]:
    """Half-lengths (axis, diagonal) of the segments whose Minkowski sum is the octagon of radius_px.

    The axis extent is exactly radius_px (axis + 2 * diagonal); along the diagonals it is
    sqrt(2) * (axis + diagonal), within one pixel of radius_px.

    Example:
        >>> octagon_segments(10)
        (4, 3)
    """
    diagonal = round(radius_px * (1.0 - 0.5 ** 0.5))
    return radius_px - 2 * diagonal, diagonal


def _running(a: F32, half: int, *, axis: int, grow: bool) -> F32:
    """A running min (max if grow) over 2*half+1 pixels along axis; pixels outside are ignored."""
    import scipy.ndimage as ndi

    if half <= 0:
        return a
    f = ndi.maximum_filter1d if grow else ndi.minimum_filter1d
    out: F32 = f(a, 2 * half + 1, axis=axis, mode="constant", cval=-np.inf if grow else np.inf)
    return out


#: rows per strip of the diagonal passes: the sheared copy is (strip + 2 * half) x (W + strip + 2 * half)
_STRIP_ROWS = 512


def _running_diagonal(a: F32, half: int, *, anti: bool, grow: bool) -> F32:
    """A running min/max along the (1, 1) diagonal (anti: the (1, -1) one), via sheared copies.

    Done in strips of rows (each with `half` rows of context above and below), so the extra
    memory is a few strips, not a copy of the whole matte twice as wide.
    """
    if half <= 0:
        return a
    h = a.shape[0]
    out = np.empty_like(a)
    for r0 in range(0, h, _STRIP_ROWS):
        r1 = min(h, r0 + _STRIP_ROWS)
        lo, hi = max(0, r0 - half), min(h, r1 + half)
        out[r0:r1] = _sheared_running(a[lo:hi], half, anti=anti, grow=grow)[r0 - lo:r1 - lo]
    return out


def _sheared_running(a: F32, half: int, *, anti: bool, grow: bool) -> F32:
    h, w = a.shape
    neutral = -np.inf if grow else np.inf
    sheared = np.full((h, w + h - 1), neutral, dtype=np.float32)
    # (1, 1): pixel (y, x) goes to column x - y + h - 1, so a diagonal becomes a column; (1, -1): x + y
    starts = np.arange(h) if anti else (h - 1) - np.arange(h)
    for y in range(h):
        sheared[y, starts[y]:starts[y] + w] = a[y]
    filtered = _running(sheared, half, axis=0, grow=grow)
    del sheared
    out = np.empty_like(a)
    for y in range(h):
        out[y] = filtered[y, starts[y]:starts[y] + w]
    return out


def _octagon(a: F32, px: int, *, grow: bool) -> F32:
    axis_half, diag_half = octagon_segments(px)
    x = _running(a, axis_half, axis=1, grow=grow)
    x = _running(x, axis_half, axis=0, grow=grow)
    x = _running_diagonal(x, diag_half, anti=False, grow=grow)
    x = _running_diagonal(x, diag_half, anti=True, grow=grow)
    out: F32 = np.ascontiguousarray(x, dtype=np.float32)
    return out


def _grey(alpha: F32, px: int, *, grow: bool) -> F32:
    """erode (grow=False) or dilate (grow=True): an exact disk up to EXACT_DISK_MAX_PX, an octagon above."""
    import scipy.ndimage as ndi  # here: scipy slows every start (docs/studies/performance-rounds.md, "Cold start")
    a = np.asarray(alpha, dtype=np.float32)
    if px <= 0:
        return a.copy()  # type: ignore[no-any-return]
    if px > EXACT_DISK_MAX_PX:
        return _octagon(a, px, grow=grow)
    extreme = ndi.grey_dilation if grow else ndi.grey_erosion
    result: F32 = extreme(a, footprint=disk(px), mode="nearest").astype(np.float32)
    return result


def erode(alpha: F32, px: int) -> F32:
    """Shrink a soft matte by px pixels: grey-scale minimum over a disk (an octagon above 3 px) of radius px.

    Args:
        alpha: H x W matte in [0, 1].
        px: radius in pixels (0 returns a copy). The cost does not grow with px.

    Example:
        >>> a = np.zeros((9, 9), np.float32); a[2:7, 2:7] = 1
        >>> int(erode(a, 1).sum())
        9
    """
    return _grey(alpha, px, grow=False)


def dilate(alpha: F32, px: int) -> F32:
    """Grow a soft matte by px pixels: grey-scale maximum over a disk (an octagon above 3 px) of radius px.

    Args:
        alpha: H x W matte in [0, 1].
        px: radius in pixels (0 returns a copy). The cost does not grow with px.

    Example:
        >>> a = np.zeros((9, 9), np.float32); a[4, 4] = 1
        >>> int(dilate(a, 1).sum())
        5
    """
    return _grey(alpha, px, grow=True)


def remove_small(alpha: F32, min_area_px: int, *, level: float = 0.5) -> F32:
    """Erase parts whose core (alpha >= level, 8-connected) covers fewer than min_area_px.

    Soft pixels (0 < alpha < level) survive only if their connected support (alpha > 0)
    still holds a kept core, or, for coreless haze, if that support is itself large enough.

    Args:
        alpha: H x W matte in [0, 1].
        min_area_px: smallest core area kept, in pixels.
        level: binarisation level for cores.

    Example:
        >>> a = np.zeros((20, 20), np.float32); a[2:12, 2:12] = 1; a[16, 16] = 1
        >>> r = remove_small(a, 5); float(r[16, 16]), float(r[5, 5])
        (0.0, 1.0)
    """
    import scipy.ndimage as ndi  # here: scipy slows every start (docs/studies/performance-rounds.md, "Cold start")
    a = np.asarray(alpha, dtype=np.float32)
    if min_area_px <= 1:
        result: F32 = a.copy()
        return result
    core = a >= level
    labels, n = ndi.label(core, structure=_EIGHT)
    areas = np.bincount(labels.ravel(), minlength=n + 1)
    keep_core = areas >= min_area_px
    keep_core[0] = False
    support_labels, n_sup = ndi.label(a > 0, structure=_EIGHT)
    kept_core_mask = keep_core[labels]
    sup_has_core = np.zeros(n_sup + 1, dtype=bool)
    sup_has_core[np.unique(support_labels[kept_core_mask])] = True
    sup_any_core = np.zeros(n_sup + 1, dtype=bool)
    sup_any_core[np.unique(support_labels[core])] = True
    sup_area = np.bincount(support_labels.ravel(), minlength=n_sup + 1)
    keep_support = sup_has_core | (~sup_any_core & (sup_area >= min_area_px))
    keep_support[0] = False
    keep = keep_support[support_labels] & (kept_core_mask | ~core)
    return np.where(keep, a, np.float32(0.0)).astype(np.float32)
