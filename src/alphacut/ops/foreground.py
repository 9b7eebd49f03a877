"""Foreground colour estimation: give semi-transparent pixels the subject's colour.

A pixel of the photo is I = alpha * F + (1 - alpha) * B. Pasting I under a soft matte keeps the
old background B in the edge pixels (a halo). This module estimates F with the "blur fusion"
estimator of Forte & Pitie, two passes of box blurs, O(N) per pass.

Reference:
    M. Forte, F. Pitie, "Approximate Fast Foreground Colour Estimation", IEEE ICIP 2021.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .guided import box_filter
from .pixels import float_to_u8, u8_to_float
from .resize import resize_matte, resize_u8, sample_enlarged

__all__ = ["BAND_PIXELS", "FOREGROUND_WORK_PIXELS", "decontaminate", "estimate_foreground",
           "estimate_foreground_u8", "paste_soft_band", "row_bands"]

#: Decontamination runs on at most this many pixels; larger photos are estimated at reduced size.
FOREGROUND_WORK_PIXELS = 2_000_000
#: Full-resolution colour becomes float32 this many pixels at a time (1.5 MB of RGB).
BAND_PIXELS = 1 << 17

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
_TINY = np.float32(1e-5)


def _pass(img: list[F32], fg: list[F32], bg: list[F32], alpha: F32, one_minus_alpha: F32,
          radius: int) -> tuple[list[F32], list[F32]]:
    """One blur-fusion pass on colour planes: (F, B) with B the alpha-weighted box means of the
    previous B and F = mean_f + alpha (I - alpha mean_f - (1 - alpha) mean_b), clipped to [0, 1]."""
    blurred_alpha = box_filter(alpha, radius)
    den_f = blurred_alpha + _TINY
    den_b = (np.float32(1.0) - blurred_alpha) + _TINY
    new_fg, new_bg = [], []
    for k in range(3):
        mean_f = box_filter(fg[k] * alpha, radius)
        mean_f /= den_f
        mean_b = box_filter(bg[k] * one_minus_alpha, radius)
        mean_b /= den_b
        t = alpha * mean_f
        np.subtract(img[k], t, out=t)
        t -= one_minus_alpha * mean_b
        t *= alpha
        mean_f += t
        new_fg.append(np.clip(mean_f, 0.0, 1.0, out=mean_f))
        new_bg.append(mean_b)
    return new_fg, new_bg


def estimate_foreground(
    image: F32,
    alpha: F32,
    *,
    radii: tuple[int, ...] = (90, 6),
) -> F32:
    """Estimate the subject's colour F under a soft matte by blur fusion (Forte & Pitie 2021).

    The first pass (large radius) takes F and B from the image itself; later passes refine F
    from the previous F and blurred B with a smaller radius. Where alpha is 1 the result is
    the image; where alpha is 0 it is an extrapolation of nearby foreground colour.

    Args:
        image: H x W x 3 image in [0, 1] (the photo, I = alpha F + (1 - alpha) B).
        alpha: H x W matte in [0, 1].
        radii: box radii in pixels, one per pass; the paper uses (90, 6).

    Returns:
        H x W x 3 float32 foreground colours in [0, 1].

    Example:
        >>> f, b = np.array([1.0, 0, 0], np.float32), np.array([0, 0, 1.0], np.float32)
        >>> a = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (64, 1))
        >>> img = a[:, :, None] * f + (1 - a[:, :, None]) * b
        >>> fg = estimate_foreground(img, a, radii=(30, 3))
        >>> bool(np.abs(fg[:, 20:] - f).max() < np.abs(img[:, 20:] - f).max())
        True
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be H x W x 3, got shape {image.shape}")
    if alpha.shape != image.shape[:2]:
        raise ValueError(f"alpha {alpha.shape} must be H x W of image {image.shape}")
    if not radii:
        raise ValueError("radii must hold at least one radius")
    # Colour planes (H×W each, contiguous): the box filters run on them without strided copies.
    img = [np.ascontiguousarray(image[:, :, k], dtype=np.float32) for k in range(3)]
    a = np.clip(np.asarray(alpha, dtype=np.float32), 0.0, 1.0)
    one_minus_a = np.float32(1.0) - a
    fg, bg = img, img
    for radius in radii:
        fg, bg = _pass(img, fg, bg, a, one_minus_a, radius)
    return np.stack(fg, axis=2)


def decontaminate(image: U8, alpha: F32, *, out: U8 | None = None) -> U8:
    """Edge colours without the old background (blur fusion), at most ~2 MP of work for any photo.

    Only the matte's soft band (0.002 < alpha < 0.998) changes; other pixels keep their colour
    exactly. Larger photos are estimated at reduced size and read back a band of rows at a time,
    so no full-size float colour plane is made.

    Args:
        image: H×W×3 uint8 photo.
        alpha: H×W matte in [0, 1].
        out: H×W×3 uint8 array for the result (image itself is allowed); a new array by default.
    """
    estimate = estimate_foreground_u8(image, alpha)
    if out is None:
        out = image.copy()
    elif out is not image:
        np.copyto(out, image)
    if estimate is not None:
        paste_soft_band(out, alpha, estimate)
    return out


def estimate_foreground_u8(image: U8, alpha: F32, *, crop: bool = True) -> F32 | None:
    """The foreground colours at full size, or at ~FOREGROUND_WORK_PIXELS; None if no pixel is soft.

    Only the estimate at and near the soft pixels is ever used (paste_soft_band), so with crop it is
    computed on the box around them, widened by the passes' radii (plus the enlargement's taps when
    the photo is estimated at reduced size; the photo is then reduced inside the box only): the
    values the paste reads are the full estimate's, up to float32 rounding of the box sums;
    outside that box the result is 0.
    On the bench set's photos the box is 44-100% of the frame (tests/unit/pipeline/test_post_network.py
    compares the two).
    """
    h, w = alpha.shape
    rows, cols = np.zeros(h, bool), np.zeros(w, bool)
    for y0, y1 in row_bands(h, w):
        soft = _soft(alpha[y0:y1])
        rows[y0:y1] = soft.any(axis=1)
        cols |= soft.any(axis=0)
    if not rows.any():
        return None
    if h * w <= FOREGROUND_WORK_PIXELS:
        work_wh, radii = (w, h), (90, 6)
    else:
        k = (FOREGROUND_WORK_PIXELS / (h * w)) ** 0.5
        work_wh, radii = (max(8, round(w * k)), max(8, round(h * k))), (max(8, round(90 * k)), max(2, round(6 * k)))
    ys, xs = np.flatnonzero(rows), np.flatnonzero(cols)
    wy0, wy1 = _span(int(ys[0]), int(ys[-1]) + 1, h, work_wh[1], sum(radii)) if crop else (0, work_wh[1])
    wx0, wx1 = _span(int(xs[0]), int(xs[-1]) + 1, w, work_wh[0], sum(radii)) if crop else (0, work_wh[0])
    whole = (wy0, wy1, wx0, wx1) == (0, work_wh[1], 0, work_wh[0])
    if work_wh == (w, h):
        img, a = u8_to_float(image[wy0:wy1, wx0:wx1]), alpha[wy0:wy1, wx0:wx1]
    else:  # the photo reduced, only inside the box (the same values as the whole reduction's)
        img = resize_u8(image, work_wh, rows=(wy0, wy1), cols=(wx0, wx1))
        a = resize_matte(alpha, work_wh)[wy0:wy1, wx0:wx1]
    estimate = estimate_foreground(img, a, radii=radii)
    if whole:
        return estimate
    full = np.zeros((work_wh[1], work_wh[0], 3), np.float32)  # never read outside the box
    full[wy0:wy1, wx0:wx1] = estimate
    return full


def _span(i0: int, i1: int, n: int, m: int, margin: int) -> tuple[int, int]:
    """Pixels [i0, i1) of an axis of n pixels, on the same axis resized to m, widened by margin + 1
    (the resize's taps), clipped to [0, m)."""
    return max(0, (i0 * m) // n - 1 - margin), min(m, -((-i1 * m) // n) + 1 + margin)


def paste_soft_band(out: U8, alpha: F32, estimate: F32) -> None:
    """Write the estimate (upsampled a band at a time if smaller) into out where alpha is soft."""
    h, w = alpha.shape
    if estimate.shape[:2] == (h, w):
        soft = _soft(alpha)
        out[soft] = float_to_u8(estimate[soft])
        return
    for y0, y1 in row_bands(h, w):
        ys, xs = np.nonzero(_soft(alpha[y0:y1]))
        if ys.size:  # the estimate enlarged at the soft pixels only (a few % of a photo)
            out[y0 + ys, xs] = float_to_u8(sample_enlarged(estimate, (w, h), y0 + ys, xs))


def _soft(alpha: F32) -> NDArray[np.bool_]:
    return (alpha > 0.002) & (alpha < 0.998)


def row_bands(h: int, w: int) -> list[tuple[int, int]]:
    """(y0, y1) row ranges of about BAND_PIXELS pixels each, covering h rows of width w."""
    rows = max(1, BAND_PIXELS // max(1, w))
    return [(y0, min(h, y0 + rows)) for y0 in range(0, h, rows)]
