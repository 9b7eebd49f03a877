"""Compositing a cut-out over a colour, an image or a blurred copy of its own background."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .guided import box_filter
from .resize import resize_image

__all__ = [
    "blur_background",
    "composite_over_color",
    "composite_over_image",
    "cover_resize",
    "premultiply",
    "unpremultiply",
]

F32 = NDArray[np.float32]


def _check(fg: F32, alpha: F32) -> None:
    """Raise ValueError unless fg is H x W x 3 and alpha H x W of the same size."""
    if fg.ndim != 3 or fg.shape[2] != 3 or alpha.shape != fg.shape[:2]:
        raise ValueError(f"need fg H x W x 3 and alpha H x W, got {fg.shape} and {alpha.shape}")


def premultiply(fg: F32, alpha: F32) -> F32:
    """Return alpha * fg (H x W x 3), the form in which colours may be resampled or blurred.

    Example:
        >>> premultiply(np.ones((1, 1, 3), np.float32), np.full((1, 1), 0.5, np.float32)).tolist()
        [[[0.5, 0.5, 0.5]]]
    """
    _check(fg, alpha)
    return (fg * alpha[:, :, None]).astype(np.float32)


def unpremultiply(premul: F32, alpha: F32, *, min_alpha: float = 1e-4) -> F32:
    """Return premul / alpha clipped to [0, 1]; 0 where alpha < min_alpha.

    Example:
        >>> unpremultiply(np.full((1, 1, 3), 0.25, np.float32), np.full((1, 1), 0.5, np.float32)).tolist()
        [[[0.5, 0.5, 0.5]]]
    """
    _check(premul, alpha)
    a = alpha[:, :, None]
    out = np.where(a >= min_alpha, premul / np.maximum(a, min_alpha), np.float32(0.0))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def composite_over_color(fg: F32, alpha: F32, rgb: tuple[float, float, float]) -> F32:
    """Blend fg over a flat colour: alpha * fg + (1 - alpha) * rgb.

    Args:
        fg: H x W x 3 foreground colours in [0, 1] (ideally from estimate_foreground).
        alpha: H x W matte in [0, 1].
        rgb: background colour, each channel in [0, 1].

    Example:
        >>> fg = np.zeros((1, 1, 3), np.float32); a = np.full((1, 1), 0.25, np.float32)
        >>> composite_over_color(fg, a, (1.0, 1.0, 1.0)).tolist()
        [[[0.75, 0.75, 0.75]]]
    """
    _check(fg, alpha)
    bg = np.asarray(rgb, dtype=np.float32).reshape(1, 1, 3)
    a = alpha[:, :, None]
    return np.clip(a * fg + (1.0 - a) * bg, 0.0, 1.0).astype(np.float32)


def composite_over_image(fg: F32, alpha: F32, bg: F32) -> F32:
    """Blend fg over a background image of the same size (see cover_resize to size it).

    Args:
        fg: H x W x 3 foreground colours in [0, 1].
        alpha: H x W matte in [0, 1].
        bg: H x W x 3 background in [0, 1].

    Example:
        >>> fg = np.ones((2, 2, 3), np.float32); bg = np.zeros((2, 2, 3), np.float32)
        >>> float(composite_over_image(fg, np.full((2, 2), 0.5, np.float32), bg)[0, 0, 0])
        0.5
    """
    _check(fg, alpha)
    if bg.shape != fg.shape:
        raise ValueError(f"bg {bg.shape} must match fg {fg.shape}; resize it with cover_resize")
    a = alpha[:, :, None]
    return np.clip(a * fg + (1.0 - a) * bg, 0.0, 1.0).astype(np.float32)


def cover_resize(bg: F32, size_wh: tuple[int, int]) -> F32:
    """Scale an image to cover size_wh (keeping its aspect), then centre-crop to exactly size_wh.

    Args:
        bg: h x w x C image.
        size_wh: target (width, height) in pixels.

    Example:
        >>> cover_resize(np.zeros((100, 300, 3), np.float32), (200, 200)).shape
        (200, 200, 3)
    """
    out_w, out_h = int(size_wh[0]), int(size_wh[1])
    h, w = bg.shape[:2]
    scale = max(out_w / w, out_h / h)
    src_w, src_h = out_w / scale, out_h / scale
    x0, y0 = (w - src_w) / 2.0, (h - src_h) / 2.0
    return resize_image(bg, (out_w, out_h), box_xyxy=(x0, y0, x0 + src_w, y0 + src_h))


def blur_background(image: F32, radius: float, *, alpha: F32 | None = None) -> F32:
    """Gaussian-like blur (three box passes, O(N) for any radius) of an image.

    With ``alpha`` the subject is left out of the blur (normalised convolution with weight
    1 - alpha), so the blurred background shows no smeared copy of the subject.

    Args:
        image: H x W x 3 image in [0, 1].
        radius: Gaussian sigma in pixels (three boxes of matching variance are used).
        alpha: optional H x W matte in [0, 1] of the subject to exclude.

    Example:
        >>> img = np.zeros((64, 64, 3), np.float32); img[32, 32] = 1.0
        >>> out = blur_background(img, 4.0); bool(0 < out[32, 32, 0] < 0.05)
        True
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be H x W x 3, got shape {image.shape}")
    if radius <= 0:
        result: F32 = np.asarray(image, dtype=np.float32).copy()
        return result
    # Three boxes of width w have variance 3 (w^2 - 1) / 12 = sigma^2.
    box_r = max(1, round((np.sqrt(4.0 * radius * radius + 1.0) - 1.0) / 2.0))
    weight = None if alpha is None else (1.0 - np.clip(alpha, 0.0, 1.0)).astype(np.float32)

    def blur(x: F32) -> F32:
        for _ in range(3):
            x = box_filter(x, box_r)
        return x

    out = np.empty(image.shape, dtype=np.float32)
    w_blur = None if weight is None else blur(weight)
    for k in range(3):
        ch = np.ascontiguousarray(image[:, :, k], dtype=np.float32)
        if weight is None or w_blur is None:
            out[:, :, k] = blur(ch)
        else:
            out[:, :, k] = blur(ch * weight) / np.maximum(w_blur, np.float32(1e-4))
    return np.clip(out, 0.0, 1.0, out=out)
