"""Morphology on soft mattes: threshold, disk-shaped grey-scale erosion/dilation, speck removal."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["dilate", "disk", "erode", "remove_small", "threshold"]

F32 = NDArray[np.float32]
_EIGHT = np.ones((3, 3), dtype=bool)


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


def erode(alpha: F32, px: int) -> F32:
    """Shrink a soft matte by px pixels: grey-scale minimum over a disk of radius px.

    Args:
        alpha: H x W matte in [0, 1].
        px: disk radius in pixels (0 returns a copy).

    Example:
        >>> a = np.zeros((9, 9), np.float32); a[2:7, 2:7] = 1
        >>> int(erode(a, 1).sum())
        9
    """
    import scipy.ndimage as ndi  # here, not at import: scipy costs ~0.35 s of start-up
    a = np.asarray(alpha, dtype=np.float32)
    if px <= 0:
        return a.copy()  # type: ignore[no-any-return]
    result: F32 = ndi.grey_erosion(a, footprint=disk(px), mode="nearest").astype(np.float32)
    return result


def dilate(alpha: F32, px: int) -> F32:
    """Grow a soft matte by px pixels: grey-scale maximum over a disk of radius px.

    Args:
        alpha: H x W matte in [0, 1].
        px: disk radius in pixels (0 returns a copy).

    Example:
        >>> a = np.zeros((9, 9), np.float32); a[4, 4] = 1
        >>> int(dilate(a, 1).sum())
        5
    """
    import scipy.ndimage as ndi  # here, not at import: scipy costs ~0.35 s of start-up
    a = np.asarray(alpha, dtype=np.float32)
    if px <= 0:
        return a.copy()  # type: ignore[no-any-return]
    result: F32 = ndi.grey_dilation(a, footprint=disk(px), mode="nearest").astype(np.float32)
    return result


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
    import scipy.ndimage as ndi  # here, not at import: scipy costs ~0.35 s of start-up
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
