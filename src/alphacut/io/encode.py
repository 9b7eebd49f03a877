"""Encode results to PNG / WebP / JPEG / mask bytes. Output carries no metadata (no EXIF, no GPS)."""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ..errors import OptionsError
from ..options import OutputFormat

__all__ = ["CONTENT_TYPES", "encode_image", "float_to_u8", "to_pil", "u8_to_float"]

CONTENT_TYPES = {
    OutputFormat.PNG: "image/png",
    OutputFormat.WEBP: "image/webp",
    OutputFormat.JPEG: "image/jpeg",
    OutputFormat.MASK: "image/png",
}


def float_to_u8(x: NDArray[np.float32]) -> NDArray[np.uint8]:
    """[0, 1] floats to 0..255, rounded."""
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def u8_to_float(x: NDArray[np.uint8]) -> NDArray[np.float32]:
    """0..255 to float32 [0, 1]."""
    return x.astype(np.float32) * np.float32(1.0 / 255.0)


def to_pil(rgb_u8: NDArray[np.uint8], alpha_u8: NDArray[np.uint8] | None) -> Image.Image:
    """An RGB (alpha None) or RGBA Pillow image from uint8 planes.

    Fully transparent pixels get black colour: what the removed background looked like is not
    kept in the file (nothing of it can be recovered by dropping the alpha), and the PNG of a
    24 MP cutout encodes in 0.9 s instead of 5.7 s at an eighth of the size.
    """
    image = Image.fromarray(np.ascontiguousarray(rgb_u8), "RGB")
    if alpha_u8 is None:
        return image
    if not alpha_u8.all():
        rgb = np.array(rgb_u8, copy=True)
        rgb[alpha_u8 == 0] = 0
        image = Image.fromarray(rgb, "RGB")
    image.putalpha(Image.fromarray(np.ascontiguousarray(alpha_u8), "L"))
    return image


def encode_image(image: Image.Image, fmt: OutputFormat, *, quality: int = 95) -> bytes:
    """Encode an RGB/RGBA/L image in `fmt`. JPEG refuses an image with transparency.

    Example:
        >>> data = encode_image(cutout.image, OutputFormat.WEBP)
    """
    buf = io.BytesIO()
    if fmt is OutputFormat.MASK:
        if image.mode != "L":
            image = image.getchannel("A") if image.mode == "RGBA" else image.convert("L")
        image.save(buf, "PNG", optimize=False, compress_level=6)
    elif fmt is OutputFormat.PNG:
        image.save(buf, "PNG", optimize=False, compress_level=6)
    elif fmt is OutputFormat.WEBP:
        image.save(buf, "WEBP", quality=quality, alpha_quality=100, method=4, exact=False)
    elif fmt is OutputFormat.JPEG:
        if image.mode not in ("RGB", "L"):
            raise OptionsError("options.conflict", "JPEG has no transparency.",
                               hint="Give a background colour (--bg white) or use png/webp.")
        image.save(buf, "JPEG", quality=quality, subsampling=0 if quality >= 90 else 2, optimize=True)
    else:  # pragma: no cover - exhaustive enum
        raise OptionsError("options.invalid", f"Unknown format {fmt}.")
    return buf.getvalue()
