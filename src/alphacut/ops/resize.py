"""Bilinear resizing of images and mattes with Pillow's pixel-centre convention.

Convention: pixel ``i`` covers ``[i, i + 1)`` and its centre sits at ``i + 0.5`` (half-pixel
centres, as in Pillow ``BILINEAR`` and OpenCV ``INTER_LINEAR``). Output pixel ``j`` of a resize
from ``n`` to ``m`` samples the input at ``(j + 0.5) * n / m - 0.5``. When shrinking with
``antialias=True`` the triangle filter is widened by the scale factor (area-weighted averaging,
as Pillow does), so no input pixel is skipped. Taps that fall outside the image are dropped and
the remaining weights renormalised, which equals edge clamping when enlarging.

The resize is separable: along each axis every output row is a weighted sum of a few input
rows (a banded product: numpy for small images, one scipy.sparse product for large ones), so the
cost is O(pixels x taps) and a 24 MP photo shrinks to 1024x1024 in a few hundred milliseconds.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp
from numpy.typing import NDArray

from .pixels import u8_to_float

__all__ = ["resize_image", "resize_matte", "resize_u8", "resize_weights", "sample_enlarged"]


@lru_cache(maxsize=32)
def _taps(
    in_size: int,
    out_size: int,
    antialias: bool = True,
    span: tuple[float, float] | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
    """For each output pixel, the input pixels it reads and their weights: two out_size x k arrays.

    Taps past an output pixel's support repeat its last input pixel with weight 0.
    """
    if in_size < 1 or out_size < 1:
        raise ValueError(f"sizes must be positive, got {in_size} -> {out_size}")
    start, end = (0.0, float(in_size)) if span is None else (float(span[0]), float(span[1]))
    if not end > start:
        raise ValueError(f"span must have end > start, got {span}")
    scale = (end - start) / out_size
    filter_scale = max(scale, 1.0) if antialias else 1.0
    support = filter_scale  # triangle filter has support 1, widened by filter_scale
    centre = start + (np.arange(out_size, dtype=np.float64) + 0.5) * scale
    x_min = np.maximum(np.floor(centre - support + 0.5).astype(np.int64), 0)
    x_max = np.minimum(np.floor(centre + support + 0.5).astype(np.int64), in_size)
    x_max = np.maximum(x_max, x_min + 1)
    x_min = np.minimum(x_min, in_size - 1)
    x_max = np.clip(x_max, x_min + 1, in_size)
    n_taps = int((x_max - x_min).max())
    taps = x_min[:, None] + np.arange(n_taps)[None, :]
    valid = taps < x_max[:, None]
    dist = (taps + 0.5 - centre[:, None]) / filter_scale
    w = np.clip(1.0 - np.abs(dist), 0.0, None) * valid
    total = w.sum(axis=1, keepdims=True)
    w = w / np.where(total > 0, total, 1.0)
    idx = np.minimum(taps, x_max[:, None] - 1).astype(np.intp)
    return idx, w.astype(np.float32)


def resize_weights(
    in_size: int,
    out_size: int,
    antialias: bool = True,
    span: tuple[float, float] | None = None,
) -> sp.csr_matrix:
    """Return the out_size x in_size sparse bilinear weight matrix along one axis.

    Args:
        in_size: input length in pixels (>= 1).
        out_size: output length in pixels (>= 1).
        antialias: widen the triangle filter by the scale factor when shrinking.
        span: (start, end) of the input interval mapped onto the output, in input pixel
            edges (Pillow's ``box``); None means (0, in_size).

    Example:
        >>> np.round(resize_weights(4, 2).toarray().astype(float), 3).tolist()
        [[0.429, 0.429, 0.143, 0.0], [0.0, 0.143, 0.429, 0.429]]
    """
    import scipy.sparse as sp  # here: scipy slows every start (docs/studies/performance-rounds.md, "Cold start")

    idx, w = _taps(in_size, out_size, antialias, span)
    rows = np.broadcast_to(np.arange(out_size)[:, None], idx.shape)
    keep = w > 0
    return sp.csr_matrix((w[keep], (rows[keep], idx[keep])), shape=(out_size, in_size))


#: Above this many multiply-adds one axis takes scipy.sparse's product (faster on large photos);
#: below, numpy alone (the same sums in the same order, so the same result), which spares a small
#: image's run the scipy import (docs/studies/performance-rounds.md, "Where the non-inference time goes").
_NUMPY_MAX_PRODUCTS = 8_000_000
#: Elements per block of output rows in _resize_axis0: gather, scale and add stay in the CPU cache.
_BLOCK_ELEMENTS = 1 << 18


def _resize_axis0(
    arr: NDArray[np.float32],
    out_size: int,
    antialias: bool,
    span: tuple[float, float] | None = None,
) -> NDArray[np.float32]:
    """Resize along the first axis: each output row is a weighted sum of a few input rows."""
    n = arr.shape[0]
    if n == out_size and span in (None, (0.0, float(n))):
        return arr
    flat = arr.reshape(n, -1)
    idx, w = _taps(n, out_size, antialias, span)
    if out_size * flat.shape[1] * idx.shape[1] > _NUMPY_MAX_PRODUCTS:
        product = resize_weights(n, out_size, antialias, span) @ flat
        return np.asarray(product, dtype=np.float32).reshape((out_size,) + arr.shape[1:])
    out = np.empty((out_size, flat.shape[1]), np.float32)
    block = max(1, _BLOCK_ELEMENTS // max(1, flat.shape[1]))
    tmp = np.empty((min(block, out_size), flat.shape[1]), np.float32)
    for r0 in range(0, out_size, block):
        r1 = min(out_size, r0 + block)
        acc, t = out[r0:r1], tmp[:r1 - r0]
        np.take(flat, idx[r0:r1, 0], axis=0, out=acc)
        acc *= w[r0:r1, 0, None]
        for k in range(1, idx.shape[1]):
            np.take(flat, idx[r0:r1, k], axis=0, out=t)
            t *= w[r0:r1, k, None]
            acc += t
    return out.reshape((out_size,) + arr.shape[1:])


def _resize_axis0_taps(arr: NDArray[np.float32], idx: NDArray[np.intp], w: NDArray[np.float32]) -> NDArray[np.float32]:
    """Output rows of _resize_axis0 given their taps (idx into arr's first axis) and weights: the
    numpy branch's sums, in the same order."""
    flat = arr.reshape(arr.shape[0], -1)
    out = np.take(flat, idx[:, 0], axis=0)
    out *= w[:, 0, None]
    for k in range(1, idx.shape[1]):
        t = np.take(flat, idx[:, k], axis=0)
        t *= w[:, k, None]
        out += t
    return out.reshape((idx.shape[0],) + arr.shape[1:])


def _resize_2d(
    arr: NDArray[np.float32],
    size_wh: tuple[int, int],
    antialias: bool,
    box_xyxy: tuple[float, float, float, float] | None = None,
) -> NDArray[np.float32]:
    """Resize an H x W (x C) float array (or its box) to size_wh, height first, then width."""
    out_w, out_h = int(size_wh[0]), int(size_wh[1])
    if out_w < 1 or out_h < 1:
        raise ValueError(f"size_wh must be positive, got {size_wh}")
    a = np.ascontiguousarray(arr, dtype=np.float32)
    span_x = None if box_xyxy is None else (float(box_xyxy[0]), float(box_xyxy[2]))
    span_y = None if box_xyxy is None else (float(box_xyxy[1]), float(box_xyxy[3]))
    tmp = _resize_axis0(a, out_h, antialias, span_y)
    if tmp.shape[1] == out_w and span_x in (None, (0.0, float(out_w))):
        return np.ascontiguousarray(tmp)
    swapped = np.ascontiguousarray(np.swapaxes(tmp, 0, 1))
    res = _resize_axis0(swapped, out_w, antialias, span_x)
    return np.ascontiguousarray(np.swapaxes(res, 0, 1))


def resize_image(
    img: NDArray[np.float32],
    size_wh: tuple[int, int],
    *,
    antialias: bool = True,
    box_xyxy: tuple[float, float, float, float] | None = None,
) -> NDArray[np.float32]:
    """Resize an image bilinearly to size_wh (area-weighted when shrinking if antialias).

    Args:
        img: H x W x C (or H x W) float image, typically in [0, 1].
        size_wh: target (width, height) in pixels.
        antialias: when shrinking, average every covered input pixel (Pillow BILINEAR);
            False samples only the 2x2 neighbours (OpenCV INTER_LINEAR).
        box_xyxy: source rectangle (x0, y0, x1, y1) in pixel edges to resample (Pillow's
            ``box``), inside the image; None means the whole image.

    Returns:
        out_h x out_w x C float32 array; convex combinations, so the range is preserved.

    Example:
        >>> resize_image(np.zeros((4000, 6000, 3), np.float32), (1024, 1024)).shape
        (1024, 1024, 3)
    """
    if img.ndim not in (2, 3):
        raise ValueError(f"expected H x W or H x W x C, got shape {img.shape}")
    return _resize_2d(img, size_wh, antialias, box_xyxy)


def resize_matte(alpha: NDArray[np.float32], size_wh: tuple[int, int]) -> NDArray[np.float32]:
    """Resize a matte bilinearly to size_wh and clip it to [0, 1].

    Args:
        alpha: H x W matte in [0, 1].
        size_wh: target (width, height) in pixels.

    Example:
        >>> resize_matte(np.ones((1024, 1024), np.float32), (640, 480)).shape
        (480, 640)
    """
    if alpha.ndim != 2:
        raise ValueError(f"expected an H x W matte, got shape {alpha.shape}")
    out = _resize_2d(alpha, size_wh, True)
    return np.clip(out, 0.0, 1.0, out=out)


def resize_u8(
    img: NDArray[np.uint8],
    size_wh: tuple[int, int],
    *,
    antialias: bool = True,
    band_pixels: int = 1 << 18,
    rows: tuple[int, int] | None = None,
    cols: tuple[int, int] | None = None,
) -> NDArray[np.float32]:
    """Resize a uint8 image to size_wh as float32 in [0, 1] (value / 255) with no full-size float copy.

    The same result as ``resize_image(img * (1 / 255), size_wh)``: the height pass reads the
    input a band of rows at a time (about ``band_pixels`` pixels), converting only that band.

    Args:
        img: H x W x C (or H x W) uint8 image.
        size_wh: target (width, height) in pixels.
        rows, cols: only output rows [r0, r1) and columns [c0, c1) of that result (the same values),
            reading only the input pixels they need; None: all.

    Example:
        >>> round(float(resize_u8(np.full((400, 600, 3), 255, np.uint8), (150, 100)).max()), 6)
        1.0
    """
    if img.ndim not in (2, 3):
        raise ValueError(f"expected H x W or H x W x C, got shape {img.shape}")
    out_w, out_h = int(size_wh[0]), int(size_wh[1])
    if out_w < 1 or out_h < 1:
        raise ValueError(f"size_wh must be positive, got {size_wh}")
    y0, y1 = rows if rows is not None else (0, out_h)
    x0, x1 = cols if cols is not None else (0, out_w)
    if not (0 <= y0 < y1 <= out_h and 0 <= x0 < x1 <= out_w):
        raise ValueError(f"rows {rows} and cols {cols} must lie in the output's {out_h} x {out_w}")
    h, w = img.shape[:2]
    x_idx, x_w = _taps(w, out_w, antialias)
    x_idx, x_w = x_idx[x0:x1], x_w[x0:x1]
    same_w = (x0, x1) == (0, out_w) and w == out_w
    in_x0, in_x1 = (0, w) if same_w else (int(x_idx.min()), int(x_idx.max()) + 1)
    x_idx = x_idx - in_x0
    channels = 1 if img.ndim == 2 else img.shape[2]
    flat = img.reshape(h, -1)[:, in_x0 * channels:in_x1 * channels]
    weights = resize_weights(h, out_h, antialias)
    out = np.empty((y1 - y0, x1 - x0) + img.shape[2:], dtype=np.float32)
    # Output rows per band, so that the input rows they read come to about band_pixels; each band is
    # reduced along y (sparse product) and then along x (gathers of its taps, in the order of
    # _resize_axis0's sums), so no full-width float intermediate nor transposed copy is made.
    step = max(1, (band_pixels // max(1, flat.shape[1])) * out_h // h)
    for r0 in range(y0, y1, step):
        r1 = min(y1, r0 + step)
        sub = weights[r0:r1]
        c0, c1 = int(sub.indices.min()), int(sub.indices.max()) + 1
        tall = np.asarray(sub[:, c0:c1] @ u8_to_float(flat[c0:c1]), dtype=np.float32)
        tall = tall.reshape((r1 - r0, in_x1 - in_x0) + img.shape[2:])
        band = out[r0 - y0:r1 - y0]
        if same_w:
            band[...] = tall
            continue
        np.take(tall, x_idx[:, 0], axis=1, out=band)
        band *= _along_axis1(x_w[:, 0], tall.ndim)
        for k in range(1, x_idx.shape[1]):
            t = np.take(tall, x_idx[:, k], axis=1)
            t *= _along_axis1(x_w[:, k], tall.ndim)
            band += t
    return out


def _along_axis1(weights: NDArray[np.float32], ndim: int) -> NDArray[np.float32]:
    """Per-column weights shaped to broadcast over axis 1 of an ndim array."""
    return weights.reshape((1, -1) + (1,) * (ndim - 2))


def sample_enlarged(
    img: NDArray[np.float32],
    size_wh: tuple[int, int],
    ys: NDArray[np.intp],
    xs: NDArray[np.intp],
) -> NDArray[np.float32]:
    """Pixels (ys[i], xs[i]) of ``resize_image(img, size_wh, antialias=False)``, without the rest.

    The same taps and weights as the full resize (rows first, then columns), evaluated only where
    asked: for a few pixels of a large output (an image's soft edge) it costs O(len(ys)) instead
    of O(W x H). Equal to the full resize up to float32 rounding (~1e-7).

    Args:
        img: h x w x C (or h x w) float image.
        size_wh: the (W, H) of the virtual resized image.
        ys, xs: equal-length integer arrays of row and column indices in it.

    Example:
        >>> img = np.arange(12, dtype=np.float32).reshape(3, 4)
        >>> full = resize_image(img, (8, 6), antialias=False)
        >>> bool(np.allclose(sample_enlarged(img, (8, 6), np.array([0, 5]), np.array([7, 2])), full[[0, 5], [7, 2]]))
        True
    """
    out_w, out_h = int(size_wh[0]), int(size_wh[1])
    yi, yw = _taps(img.shape[0], out_h, False)
    xi, xw = _taps(img.shape[1], out_w, False)
    tail = (slice(None),) + (None,) * (img.ndim - 2)
    result: NDArray[np.float32] | None = None
    for tx in range(xi.shape[1]):
        cols = xi[xs, tx]
        column = img[yi[ys, 0], cols] * yw[ys, 0][tail]
        for ty in range(1, yi.shape[1]):
            column += img[yi[ys, ty], cols] * yw[ys, ty][tail]
        column *= xw[xs, tx][tail]
        result = column if result is None else result + column
    assert result is not None
    return result.astype(np.float32, copy=False)
