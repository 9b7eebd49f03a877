"""Decode any supported input into an sRGB uint8 image: the one seam for Pillow's decode errors.

Choices (documented in the README):
- EXIF orientation is applied, so the result is upright as viewers show it.
- An embedded ICC profile is converted to sRGB (CMYK included); without one, sRGB is assumed.
- 16-bit inputs are scaled to 8 bits; palette, L, LA, P and RGBA inputs become RGB + input alpha.
- Animated inputs (GIF, APNG, WebP) use their first frame; `Decoded.warnings` says so.
- Any exception a decoder raises is the input's fault: it becomes InputError here, the one seam
  (Pillow raises NotImplementedError, TypeError, struct.error, ... on some crafted files).
- Pillow's warnings (DecompressionBomb, corrupt EXIF, palette transparency, ...) never reach
  stderr: they are logged and kept in `Decoded.warnings` (so in `CutoutInfo.warnings`).
- Float arrays must hold values in [0, 1]; arrays in 0..255 are refused with a hint rather than
  guessed at (a dark 0..1 image and a 0..255 one can't be told apart).
- Images over `max_pixels` are refused before their pixels are read (decompression-bomb guard),
  and images under 8 px on a side are refused as too small to hold a subject: reading the bytes
  and the header within those limits is `io.read`'s (`read_bounded`, `peek_size_wh` and
  `ImageInput` are importable from here too).
- A caller that needs less than the full resolution passes `min_size_wh`: JPEGs are then decoded
  at 1/2, 1/4 or 1/8 of their size in the DCT domain (Pillow's draft mode), never below that
  size; `Decoded.draft_scale` and `Decoded.source_size_wh` say what was done. Other formats and
  in-memory images are always decoded in full.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageCms, ImageOps

from ..errors import InputError
from ..ops.pixels import float_to_u8, u8_to_float
from ..options import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from .read import (
    MIN_SIDE_PX,
    ImageInput,
    bad_type_error,
    bomb_error,
    check_size,
    describe_error,
    name_of,
    open_image,
    peek_size_wh,
    read_bounded,
)

__all__ = ["DRAFT_SCALES", "MIN_SIDE_PX", "Decoded", "ImageInput", "decode_image", "enlarge_matte", "peek_size_wh",
           "read_bounded", "read_matte"]

log = logging.getLogger(__name__)

#: Float arrays may stray this far outside [0, 1] (float rounding) and are clipped; further is refused.
FLOAT_SLACK = 1e-3


class _WarningCapture:
    """Warnings raised in a thread while it decodes go to that thread's list, not to stderr.

    Python's warning state (filters, showwarning) is process-wide, and catch_warnings around each
    decode made concurrent decodes take turns (or steal each other's warnings). Instead, the first
    decode to start installs an "always" filter and a showwarning that routes by thread (a
    thread-local list), the last one to finish restores what was there; decodes in between run in
    parallel. A warning from a thread that is not decoding meanwhile goes to the showwarning that
    was installed before (shown as usual, though under "always" while a decode runs). Nothing
    changes at import.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # held only to count decodes in and out, never during one
        self._active = 0
        self._saved: Any = None  # the catch_warnings that restores the state of before the first decode
        self._previous: Callable[..., object] = warnings.showwarning
        self._local = threading.local()

    @contextmanager
    def capture(self) -> Iterator[list[warnings.WarningMessage]]:
        caught: list[warnings.WarningMessage] = []
        outer = getattr(self._local, "caught", None)
        self._local.caught = caught
        with self._lock:
            if self._active == 0:
                self._saved = warnings.catch_warnings()
                self._saved.__enter__()
                self._previous = warnings.showwarning
                warnings.simplefilter("always")  # every occurrence, not the first per code line
                warnings.showwarning = self._show
            self._active += 1
        try:
            yield caught
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    self._saved.__exit__(None, None, None)
                    self._saved = None
            self._local.caught = outer

    def _show(self, message: Warning | str, category: type[Warning], filename: str, lineno: int,
              file: Any = None, line: str | None = None) -> None:
        caught = getattr(self._local, "caught", None)
        if caught is None:
            self._previous(message, category, filename, lineno, file, line)
        else:
            caught.append(warnings.WarningMessage(message, category, filename, lineno, file, line))


_WARNINGS = _WarningCapture()


@dataclass(frozen=True, slots=True)
class Decoded:
    """An upright sRGB image, H×W×3 uint8, plus the input's own alpha if it had one."""

    rgb: NDArray[np.uint8]
    alpha: NDArray[np.uint8] | None  # H×W, None when the input was opaque
    source_format: str | None  # "JPEG", "PNG", ... or None for arrays / in-memory images
    source_mode: str
    name: str  # file name or "<bytes>" for messages
    warnings: tuple[str, ...] = ()
    draft_scale: int = 1  # 2, 4 or 8: each side was decoded at 1/draft_scale (JPEG draft mode)
    original_wh: tuple[int, int] | None = None  # the upright size in the file, when draft_scale > 1

    @property
    def size_wh(self) -> tuple[int, int]:
        """The decoded (w, h): what `rgb` holds."""
        return (int(self.rgb.shape[1]), int(self.rgb.shape[0]))

    @property
    def source_size_wh(self) -> tuple[int, int]:
        """The image's upright (w, h) in the file, whatever size it was decoded at."""
        return self.original_wh if self.original_wh is not None else self.size_wh


_SRGB: Any = None


def _srgb_profile() -> Any:
    global _SRGB  # a constant built on first use; not state that changes behaviour
    if _SRGB is None:
        _SRGB = ImageCms.createProfile("sRGB")
    return _SRGB


def _to_srgb(img: Image.Image, name: str, notes: list[str]) -> Image.Image:
    icc = img.info.get("icc_profile")
    if not icc:
        return img
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        desc = ImageCms.getProfileDescription(src).strip().lower()
        if "srgb" in desc and img.mode in ("RGB", "RGBA"):
            return img
        out_mode = "RGBA" if img.mode in ("RGBA", "LA", "PA") else "RGB"
        if img.mode not in ("RGB", "RGBA", "CMYK", "L", "LA"):
            img = img.convert("RGBA" if out_mode == "RGBA" else "RGB")
        if img.mode == "LA":
            img = img.convert("RGBA")
            out_mode = "RGBA"
        converted = ImageCms.profileToProfile(img, src, _srgb_profile(), outputMode=out_mode,
                                              renderingIntent=ImageCms.Intent.PERCEPTUAL)
        assert converted is not None
        return converted
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        notes.append(f"its ICC profile could not be applied ({exc}); colours were taken as sRGB")
        log.warning("%s: ICC profile ignored: %s", name, exc)
        return img


def _from_array(arr: NDArray[Any], name: str) -> Image.Image:
    a = np.asarray(arr)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise InputError("input.bad-array", f"An array of shape {a.shape} is not an image.",
                         hint="Pass H×W, H×W×3 (RGB) or H×W×4 (RGBA).")
    if a.dtype == np.uint8:
        u8 = a
    elif a.dtype == np.uint16:
        u8 = (a.astype(np.uint32) // 257).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)):
            raise InputError("input.bad-array", "The array holds NaN or infinite values.")
        lo, hi = float(a.min(initial=0.0)), float(a.max(initial=0.0))
        if lo < -FLOAT_SLACK or hi > 1.0 + FLOAT_SLACK:
            raise InputError("input.bad-array", f"A float array must hold values in 0..1; this one spans "
                             f"{lo:g}..{hi:g}.", hint="Divide a 0..255 array by 255, or pass it as uint8.")
        u8 = np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)
    else:
        raise InputError("input.bad-array", f"Arrays of dtype {a.dtype} are not supported.",
                         hint="Use uint8 (0..255), uint16 or float (0..1).")
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[u8.shape[2]]
    return Image.fromarray(np.ascontiguousarray(u8[:, :, 0] if mode == "L" else u8), mode)


def _sixteen_to_eight(img: Image.Image, name: str = "the image") -> Image.Image:
    a = np.asarray(img, dtype=np.uint32) if img.mode != "F" else np.asarray(img)
    if img.mode == "F":  # a float TIFF: 0..1, like a float array; anything else is refused, not clipped
        lo, hi = (float(np.nanmin(a)), float(np.nanmax(a))) if a.size else (0.0, 0.0)
        if not np.all(np.isfinite(a)) or lo < -FLOAT_SLACK or hi > 1.0 + FLOAT_SLACK:
            raise InputError("input.undecodable", f"{name} holds floating-point pixels spanning {lo:g}..{hi:g}; "
                             "alphacut reads float images as 0..1 (0 black, 1 white).",
                             hint="Export it as 8- or 16-bit integers, or scale it to 0..1 first.")
        return Image.fromarray(np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8), "L")
    peak = 65535 if img.mode.startswith("I;16") or int(a.max(initial=0)) > 255 else 255
    scale = 257 if peak == 65535 else 1
    return Image.fromarray(np.clip(a // scale, 0, 255).astype(np.uint8), "L")


#: EXIF orientations that swap width and height (transpose, rotate 90/270, transverse).
_SWAPS_SIDES = (5, 6, 7, 8)
DRAFT_SCALES = (8, 4, 2)  # the reductions libjpeg does while decoding (it has 1/8 steps; Pillow uses these)


def _draft(img: Image.Image, min_size_wh: Callable[[tuple[int, int]], tuple[int, int]]) -> tuple[int, int] | None:
    """Ask the JPEG decoder for the smallest reduction that keeps the upright image >= min_size_wh.

    Returns the upright size in the file when a reduction was set up, else None. Must run before
    img.load(): draft mode only configures the decoder.
    """
    from PIL.JpegImagePlugin import JpegImageFile

    if not isinstance(img, JpegImageFile) or img.tile is None or len(img.tile) != 1:
        return None
    w, h = img.size  # as stored, before the EXIF rotation
    swap = img.getexif().get(0x0112) in _SWAPS_SIDES
    need_w, need_h = min_size_wh((h, w) if swap else (w, h))
    if swap:
        need_w, need_h = need_h, need_w
    for s in DRAFT_SCALES:
        if -(-w // s) >= need_w and -(-h // s) >= need_h:
            # Pillow picks the largest s with s <= min(w // req_w, h // req_h): ask for floor sizes.
            img.draft(img.mode, (max(1, w // s), max(1, h // s)))
            return (h, w) if swap else (w, h)
    return None


def decode_image(source: ImageInput, *, max_pixels: int = DEFAULT_MAX_PIXELS,
                 min_size_wh: Callable[[tuple[int, int]], tuple[int, int]] | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES) -> Decoded:
    """Decode a path, bytes, file object, PIL image or numpy array into upright sRGB.

    Args:
        min_size_wh: given the image's upright (w, h) in the file, the smallest upright (w, h) the
            caller can use. A JPEG file is then decoded at the smallest 1/2, 1/4 or 1/8 reduction
            that stays at least that large (both sides); None, or any other input, decodes in full.

    Example:
        >>> d = decode_image("photo.jpg")
        >>> d.rgb.shape, d.alpha is None
        ((3000, 4000, 3), True)
        >>> decode_image("photo.jpg", min_size_wh=lambda wh: (1000, 700)).size_wh
        (1000, 750)
    """
    if source is None or isinstance(source, (bool, int, float, complex)):
        raise bad_type_error(source)
    name = name_of(source)
    with _WARNINGS.capture() as caught:
        decoded = _decode(source, name, max_pixels, min_size_wh, max_bytes)
    if not caught:
        return decoded
    notes = list(decoded.warnings)
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        log.warning("%s: %s", name, text)
        if text not in notes:
            notes.append(text)
    return replace(decoded, warnings=tuple(notes))


def _decode(source: ImageInput, name: str, max_pixels: int,
            min_size_wh: Callable[[tuple[int, int]], tuple[int, int]] | None, max_bytes: int = DEFAULT_MAX_BYTES) -> Decoded:
    notes: list[str] = []
    if isinstance(source, np.ndarray):
        img = _from_array(source, name)
        fmt = None
    elif isinstance(source, Image.Image):
        img = source
        fmt = source.format
    else:
        img = open_image(source, name, max_pixels, max_bytes)
        fmt = img.format
    w, h = img.size
    check_size(w, h, name, max_pixels)
    mode_in = img.mode
    original_wh: tuple[int, int] | None = None
    try:
        n_frames: int = getattr(img, "n_frames", 1)
        if n_frames > 1:
            notes.append(f"it has {n_frames} frames; only the first was used")
            log.warning("%s is animated (%d frames): using the first frame", name, n_frames)
            img.seek(0)
        if min_size_wh is not None and img is not source:  # never reconfigure a caller's Image
            original_wh = _draft(img, min_size_wh)
        img.load()
        img = ImageOps.exif_transpose(img) or img
        if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            img = _sixteen_to_eight(img, name)
        img = _to_srgb(img, name, notes)
        if img.mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        elif img.mode == "PA":
            img = img.convert("RGBA")
        if img.mode in ("RGBA", "LA", "RGBa", "La"):
            rgba = np.asarray(img.convert("RGBA"))
            rgb = np.ascontiguousarray(rgba[:, :, :3])
            alpha: NDArray[np.uint8] | None = np.ascontiguousarray(rgba[:, :, 3])
            if alpha is not None and int(alpha.min()) == 255:
                alpha = None
        else:
            # np.asarray copies the pixels out of Pillow: an RGB image needs no convert() copy first
            rgb = np.asarray(img if img.mode == "RGB" else img.convert("RGB"))
            alpha = None
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        raise bomb_error(exc, name, max_pixels) from exc
    except MemoryError:
        raise
    except Exception as exc:  # any decoder failure is the input's fault
        raise InputError("input.undecodable", f"{name} can't be decoded: {describe_error(exc)}.",
                         hint="The file may be truncated or damaged; re-export it.") from exc
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InputError("input.undecodable", f"{name} decoded to an unexpected shape {rgb.shape}.")
    draft_scale = 1
    if original_wh is not None:
        draft_scale = round(original_wh[0] / rgb.shape[1])
        if draft_scale > 1:
            log.debug("%s: decoded at 1/%d (%dx%d of %dx%d)", name, draft_scale, rgb.shape[1], rgb.shape[0],
                      *original_wh)
        else:
            original_wh = None
    return Decoded(rgb=rgb, alpha=alpha, source_format=fmt, source_mode=mode_in, name=name,
                   warnings=tuple(notes), draft_scale=draft_scale, original_wh=original_wh)


def resize_for_model(rgb: NDArray[np.uint8], size_wh: tuple[int, int]) -> NDArray[np.uint8]:
    """Resize an RGB image to the model's input size: bicubic when enlarging, bilinear otherwise.

    Pillow's BILINEAR widens its support by the scale factor when it shrinks, so every source
    pixel contributes (no aliasing on 24 MP inputs) and it runs in C. An image enlarged along both
    axes (smaller than the model's input) goes through BICUBIC instead, whose sharper edges are
    closer to the downscaled photos the network was trained on. Measured on evaldata against
    bilinear (int8 model, images with lower / higher MAE): ecommerce_synthetic 38/1 (MAE 0.0210 →
    0.0201), grabcut 26/12, adobe_crops 17/10, davis_objects 15/1, the other three sets 13/10 to 15/13.
    """
    w, h = size_wh
    if (rgb.shape[1], rgb.shape[0]) == (w, h):
        return rgb
    enlarging = w >= rgb.shape[1] and h >= rgb.shape[0]
    resample = Image.Resampling.BICUBIC if enlarging else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(rgb, "RGB").resize((w, h), resample))


def enlarge_matte(alpha: NDArray[np.float32], size_wh: tuple[int, int]) -> NDArray[np.float32]:
    """A matte enlarged bilinearly to size_wh on its 8-bit values (what a mask file holds), by Pillow.

    The same taps as ops.resize.resize_matte, on values rounded to 1/255 (and rounded again after
    each of Pillow's two passes), so the result is within 1.5/255 of it: Pillow's C loop on uint8 takes
    less CPU than the float path (docs/studies/performance-rounds.md, "`--fast`'s whole process, round s18").

    Example:
        >>> enlarge_matte(np.ones((300, 400), np.float32), (800, 600)).shape
        (600, 800)
    """
    small = Image.fromarray(float_to_u8(alpha), "L")
    return u8_to_float(np.asarray(small.resize(size_wh, Image.Resampling.BILINEAR)))


def read_matte(path: str | os.PathLike[str]) -> NDArray[np.float32]:
    """A saved matte as H×W float32 in [0, 1]: the alpha channel of an image that has one (RGBA,
    LA, a palette with transparency), else its grey levels. The one reader of mattes (ground
    truth, predictions, masks).

    Example:
        >>> read_matte("photo.mask.png").shape
        (3000, 4000)
    """
    name = str(path)
    try:
        with Image.open(path) as im:
            if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                a = np.asarray(im.convert("RGBA"))[:, :, 3]
            else:
                a = np.asarray(im.convert("L"))
    except FileNotFoundError as exc:
        raise InputError("input.not-found", f"{name} does not exist.", hint="Check the path.") from exc
    except MemoryError:
        raise
    except Exception as exc:  # any decoder failure is the file's fault
        raise InputError("input.undecodable", f"{name} can't be read as a matte: {describe_error(exc)}.") from exc
    return u8_to_float(a)
