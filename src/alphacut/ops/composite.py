"""Compositing a cut-out over a colour, an image or a blurred copy of its own background."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .foreground import estimate_foreground_u8, paste_soft_band, row_bands
from .guided import box_filter
from .morphology import dilate
from .pixels import float_to_u8, u8_to_float
from .resize import resize_image

__all__ = [
    "add_outline",
    "blur_background",
    "circle_alpha",
    "compose_u8",
    "composite_over_color",
    "composite_over_image",
    "composite_over_rgba",
    "cover_resize",
    "premultiply",
    "unpremultiply",
]

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
RGBA = tuple[int, int, int, int]


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


def composite_over_rgba(fg: F32, alpha: F32, rgba: RGBA | None) -> tuple[F32, F32 | None]:
    """(rgb, alpha) of fg over a colour that may be translucent; alpha is None when opaque.

    Args:
        rgba: the background colour, 0..255 per channel; None keeps the cutout transparent.

    Example:
        >>> rgb, a = composite_over_rgba(np.ones((1, 1, 3), np.float32), np.zeros((1, 1), np.float32), (0, 0, 0, 255))
        >>> rgb.tolist(), a
        ([[[0.0, 0.0, 0.0]]], None)
    """
    if rgba is None:
        return fg, alpha
    colour = (rgba[0] / 255.0, rgba[1] / 255.0, rgba[2] / 255.0)
    if rgba[3] == 255:
        return composite_over_color(fg, alpha, colour), None
    bga = rgba[3] / 255.0
    out_a = alpha + bga * (1.0 - alpha)
    a3, o3 = alpha[:, :, None], np.maximum(out_a, 1e-6)[:, :, None]
    rgb = (fg * a3 + np.asarray(colour, np.float32) * bga * (1.0 - a3)) / o3
    return np.clip(rgb, 0.0, 1.0).astype(np.float32), out_a.astype(np.float32)


def compose_u8(image: U8, alpha: F32, *, background: RGBA | None, decontaminate: bool) -> U8:
    """The finished pixels at the photo's own size: H×W×4 uint8 RGBA, or H×W×3 RGB when opaque.

    Decontaminated (foreground.decontaminate) and put over `background` as asked: the same pixels
    as those steps on float32 images up to rounding (±1/255), but the colour stays uint8 and
    becomes float a band of rows at a time (a 24 MP photo is 72 MB as uint8, 288 MB as float32).

    Args:
        image: H×W×3 uint8 photo.
        alpha: H×W matte in [0, 1].
        background: colour behind the subject, 0..255 per channel; None for transparent.
    """
    # The estimate first: its temporaries are gone before the output is allocated.
    estimate = estimate_foreground_u8(image, alpha) if decontaminate else None
    h, w = alpha.shape
    out = np.empty((h, w, 3 if background is not None and background[3] == 255 else 4), dtype=np.uint8)
    rgb = out[:, :, :3]
    np.copyto(rgb, image)
    if estimate is not None:
        paste_soft_band(rgb, alpha, estimate)
        del estimate
    for y0, y1 in row_bands(h, w):
        a = alpha[y0:y1]
        if background is None:
            out[y0:y1, :, 3] = float_to_u8(a)
            continue
        band_rgb, band_a = composite_over_rgba(u8_to_float(rgb[y0:y1]), a, background)
        rgb[y0:y1] = float_to_u8(band_rgb)
        if band_a is not None:
            out[y0:y1, :, 3] = float_to_u8(band_a)
    return out


def add_outline(fg: F32, alpha: F32, px: int, rgb: tuple[float, float, float]) -> tuple[F32, F32]:
    """A sticker outline: the matte grown by px in a flat colour behind the subject (canvas padded).

    Args:
        rgb: the outline colour, each channel in [0, 1].
    """
    pad = px + 2
    fg = np.pad(fg, ((pad, pad), (pad, pad), (0, 0)))
    alpha = np.pad(alpha, pad)
    ring = dilate(alpha, px)
    a3 = alpha[:, :, None]
    out = fg * a3 + np.asarray(rgb, np.float32) * (1.0 - a3)
    return out.astype(np.float32), np.maximum(alpha, ring).astype(np.float32)


def circle_alpha(hw: tuple[int, int]) -> F32:
    """The inscribed circle of an h×w canvas as a matte with a one-pixel antialiased rim."""
    h, w = hw
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r = min(h, w) / 2.0
    d = np.sqrt((yy + 0.5 - h / 2.0) ** 2 + (xx + 0.5 - w / 2.0) ** 2)
    out: F32 = np.clip(r - d + 0.5, 0.0, 1.0).astype(np.float32)
    return out
