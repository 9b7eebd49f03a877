"""Composition, after the matte: layout (crop, canvas, outline, shape, output pixel cap), background,
and the result (Cutout) with its encoding.

The order of these steps and which options turn them on live here; the pixel work is in ops/
(framing, composite, foreground), pure numpy. pipeline.compose_cutout calls compose(); nothing
here reads settings, and nothing here imports the pipeline (import contract in pyproject.toml).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from . import portrait
from .io.decode import decode_image
from .io.encode import encode_image, matte_to_pil, pixels_to_pil, to_pil
from .ops import composite, foreground, framing
from .ops.components import Subject, split_subjects
from .ops.pixels import float_to_u8, u8_to_float
from .options import BackgroundKind, Fit, Options, OutputFormat, Shape

if TYPE_CHECKING:
    from PIL import Image

    from .runtime.faces import FaceLandmarker

__all__ = ["Cutout", "CutoutInfo", "apply_background", "background_picture", "changes_geometry", "compose", "encode_cutout",
           "layout"]

F32 = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class CutoutInfo:
    """How a cutout was made: for logs, the server's headers and reproducibility."""

    model: str
    size_wh: tuple[int, int]  # the input image's upright size (in the file, however it was decoded)
    model_input_wh: tuple[int, int]
    timings_ms: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    decode_scale: int = 1  # 2, 4 or 8: a JPEG decoded at 1/decode_scale per side for a small output
    runtime: str = ""  # the inference runtime that ran the model, e.g. "openvino 2026.4.1"


@dataclass(frozen=True, slots=True)
class Cutout:
    """The result for one image: the composed image, the full-resolution matte and how it was made."""

    image: Image.Image  # RGBA, or RGB when a background colour was applied
    alpha: NDArray[np.float32]  # H×W in [0, 1]: the result's matte (after crop, canvas and scaling)
    info: CutoutInfo

    def to_bytes(self, options: Options) -> bytes:
        return encode_cutout(self, options)

    def subject_box(self, level: float = 0.05) -> tuple[int, int, int, int] | None:
        """(x0, y0, x1, y1) of the result's pixels with alpha > level (x1, y1 exclusive), None if empty."""
        return framing.subject_bbox(self.alpha, level)

    def subjects(self) -> list[Subject]:
        """The separate subjects of the matte (small nearby parts merged, specks dropped), largest first."""
        return split_subjects(self.alpha)

    def layers(self) -> list[tuple[Subject, Image.Image]]:
        """Each subject as its own RGBA image, cropped to its box."""
        rgba = np.asarray(self.image.convert("RGBA"))
        out = []
        for subject in self.subjects():
            x0, y0, x1, y1 = subject.bbox
            crop = rgba[y0:y1, x0:x1].copy()
            crop[:, :, 3] = np.minimum(crop[:, :, 3], float_to_u8(subject.alpha))
            out.append((subject, pixels_to_pil(crop)))
        return out


def encode_cutout(cutout: Cutout, options: Options) -> bytes:
    """Encode a cutout in options.format (the matte alone for OutputFormat.MASK)."""
    if options.format is OutputFormat.MASK:
        # finish() made the mask-only output's image from this very alpha: no second conversion.
        mask = cutout.image if cutout.image.mode == "L" and cutout.image.size == cutout.alpha.shape[::-1] \
            else matte_to_pil(float_to_u8(cutout.alpha))
        return encode_image(mask, options.format)
    return encode_image(cutout.image, options.format, quality=options.jpeg_quality)


def changes_geometry(options: Options, size_wh: tuple[int, int] | None = None) -> bool:
    """True when the result's pixels are not the photo's own (crop, canvas, outline, shape, or a
    max_output_pixels cap that an image of size_wh exceeds; with size_wh None, any cap counts)."""
    cap = options.max_output_pixels
    over_cap = cap is not None and (size_wh is None or size_wh[0] * size_wh[1] > cap)
    return (options.crop or options.size_wh is not None or options.outline_px > 0
            or options.shape is not Shape.RECT or over_cap
            or options.subject_scale is not None or options.subject_position is not None)


def compose(rgb: NDArray[np.uint8], alpha: F32, options: Options,
            timings_ms: dict[str, float], *, landmarker: FaceLandmarker | None = None,
            background_rgb: F32 | None = None) -> tuple[Image.Image, F32]:
    """The result image and its matte (after layout) for a full-resolution photo and matte.
    landmarker: the face landmark model for head framing (portrait.py).

    The photo stays uint8. The common outputs (transparent, over a colour, the mask) are composed
    straight to uint8; layout and background images work on float32 copies. background_rgb:
    options' background picture already decoded (background_picture; video decodes it once).
    """
    geometry = changes_geometry(options, (rgb.shape[1], rgb.shape[0]))
    if options.format is OutputFormat.MASK and not geometry:
        # Only the matte is written: no colours to decontaminate, nothing to compose.
        return matte_to_pil(float_to_u8(alpha)), alpha
    if not geometry and options.background.kind in (BackgroundKind.TRANSPARENT, BackgroundKind.COLOR):
        t = time.perf_counter()  # decontamination included
        colour = options.background.color
        result = pixels_to_pil(composite.compose_u8(rgb, alpha, background=None if colour is None else (
            colour.r, colour.g, colour.b, colour.a), decontaminate=options.decontaminate))
        timings_ms["compose"] = (time.perf_counter() - t) * 1e3
        return result, alpha
    t = time.perf_counter()
    fg = u8_to_float(foreground.decontaminate(rgb, alpha) if options.decontaminate else rgb)
    timings_ms["decontaminate"] = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    bg_image = None
    background = options.background
    if background.kind is BackgroundKind.IMAGE:
        bg_image = background_rgb if background_rgb is not None else background_picture(options)
    elif background.kind is BackgroundKind.BLUR:
        assert background.blur_px is not None
        bg_image = composite.blur_background(u8_to_float(rgb), background.blur_px, alpha=alpha)
    fg, alpha = layout(fg, alpha, options, landmarker=landmarker)
    out_rgb, out_alpha = apply_background(fg, alpha, options, bg_image)
    del fg, bg_image
    result = to_pil(float_to_u8(out_rgb), None if out_alpha is None else float_to_u8(out_alpha))
    timings_ms["compose"] = (time.perf_counter() - t) * 1e3
    return result, alpha


def background_picture(options: Options, size_wh: tuple[int, int] | None = None) -> F32 | None:
    """options' background picture as H×W×3 float32 (scaled to cover size_wh when given), else None."""
    background = options.background
    if background.kind is not BackgroundKind.IMAGE:
        return None
    assert background.image is not None
    rgb = u8_to_float(decode_image(background.image, max_pixels=options.max_pixels).rgb)
    if size_wh is not None and rgb.shape[:2] != (size_wh[1], size_wh[0]):
        rgb = composite.cover_resize(rgb, size_wh)
    return rgb


def layout(fg: F32, alpha: F32, options: Options, *,
           landmarker: FaceLandmarker | None = None) -> tuple[F32, F32]:
    """Crop (per-side margin), place on a canvas (fit/fill/fill_frac/head) or in the frame (scale,
    position), outline, round, and scale down to max_output_pixels: as options ask, in that order.

    The scale each canvas path applies is what pipeline.min_decode_size bounds (see its table).
    """
    if options.crop:
        box = framing.subject_bbox(alpha)
        if box is not None:
            margin = options.margin.to_px((box[2] - box[0], box[3] - box[1]))
            fg, alpha, _ = framing.crop_to_subject(fg, alpha, margin)
    if options.size_wh is not None:
        size = options.size_wh
        if options.head_frame is not None:
            fg, alpha = portrait.frame_portrait(fg, alpha, options, landmarker)  # ID photos: portrait.py
        elif options.fill_frac is not None:
            anchor: Literal["center", "bottom"] = "bottom" if options.anchor == "bottom" else "center"
            # The box of what the eye sees as the subject (alpha >= 0.5), not of its faint fringe.
            fg, alpha = framing.place_on_canvas(fg, alpha, size, fill_frac=options.fill_frac, anchor=anchor,
                                                level=0.5)
        elif options.fit is Fit.FILL:
            fg, alpha = framing.fill(fg, alpha, size)
        else:
            fg, alpha = framing.fit(fg, alpha, size)
    elif options.subject_scale is not None or options.subject_position is not None:
        fg, alpha = framing.place_in_frame(fg, alpha, scale=options.subject_scale,
                                           position_xy=options.subject_position)
    if options.outline_px:
        c = options.outline_color
        fg, alpha = composite.add_outline(fg, alpha, options.outline_px, (c.r / 255.0, c.g / 255.0, c.b / 255.0))
    if options.shape is Shape.CIRCLE:
        alpha = alpha * composite.circle_alpha(alpha.shape)
    if options.max_output_pixels is not None:
        fg, alpha = framing.shrink_to_pixels(fg, alpha, options.max_output_pixels)
    return fg, alpha


def apply_background(fg: F32, alpha: F32, options: Options,
                     bg_image: F32 | None) -> tuple[F32, F32 | None]:
    """(rgb, alpha) over bg_image (scaled to cover) or options.background's colour; alpha None when opaque."""
    if bg_image is not None:
        h, w = alpha.shape
        if bg_image.shape[:2] != (h, w):
            bg_image = composite.cover_resize(bg_image, (w, h))
        return composite.composite_over_image(fg, alpha, bg_image), None
    c = options.background.color
    return composite.composite_over_rgba(fg, alpha, None if c is None else (c.r, c.g, c.b, c.a))
