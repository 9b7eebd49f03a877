"""After inference, at full resolution: refine the matte, clean it, decontaminate, frame, compose.

Each step is a function of explicit arrays and Options; pipeline.finish() calls them in order.
Images are H×W×3 float32 in [0, 1], mattes H×W float32 in [0, 1].
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray

from .errors import OptionsError
from .ops import components, composite, foreground, framing, guided, morphology
from .ops.resize import resize_image, resize_matte
from .options import Fit, Options, Refine, Shape

__all__ = ["GUIDED_MIN_SCALE", "apply_background", "blurred_background", "clean_matte", "decontaminate",
           "layout", "preload", "refine_matte"]

log = logging.getLogger(__name__)

F32 = NDArray[np.float32]

#: Guided upsampling beats bilinear only when the photo is at least this many times the matte's
#: size along its shorter side (measured on evaldata: below that, bilinear is as good or better).
GUIDED_MIN_SCALE = 2.0
#: Decontamination runs on at most this many pixels; larger photos are estimated at reduced size.
FOREGROUND_WORK_PIXELS = 2_000_000


def preload(options: Options, *, mask_only: bool) -> None:
    """Import now what these steps will surely need for `options` (scipy.ndimage, ~0.3 s).

    Only an import, for an otherwise idle thread while the model loads: a process's first image
    then does not pay it after inference. `mask_only`: nothing but the matte will be written.
    """
    needs_ndimage = bool(options.erode_px or options.dilate_px or options.min_area_px
                         or options.subject is not None or options.head_frame is not None
                         or (options.decontaminate and not mask_only))
    if needs_ndimage:
        import scipy.ndimage  # noqa: F401


def refine_matte(low: F32, image: F32, refine: Refine) -> F32:
    """The model's matte (any size) at the image's size, following the image's edges where it helps."""
    h, w = image.shape[:2]
    scale = min(h / low.shape[0], w / low.shape[1])
    if refine is Refine.NONE or scale < GUIDED_MIN_SCALE:
        alpha = resize_matte(low, (w, h))
    else:
        alpha = guided.guided_upsample(low, image)
    return alpha


def clean_matte(alpha: F32, options: Options) -> F32:
    """Threshold, erode/dilate, speck removal and subject selection, as options ask."""
    if options.threshold is not None:
        alpha = morphology.threshold(alpha, options.threshold)
    if options.erode_px:
        alpha = morphology.erode(alpha, options.erode_px)
    if options.dilate_px:
        alpha = morphology.dilate(alpha, options.dilate_px)
    if options.min_area_px:
        alpha = morphology.remove_small(alpha, options.min_area_px)
    if options.subject is not None:
        subjects = components.split_subjects(alpha)
        if not subjects:
            return np.zeros_like(alpha)
        which: int | str = int(options.subject) if options.subject.isdigit() else options.subject
        try:
            alpha = components.select_subject(subjects, which).full_alpha()  # type: ignore[arg-type]
        except IndexError:
            raise OptionsError("options.invalid",
                               f"subject={options.subject}: this image has {len(subjects)} subject(s).",
                               hint=f"Use an index from 0 to {len(subjects) - 1}, largest or center.") from None
    return alpha


def decontaminate(image: F32, alpha: F32) -> F32:
    """Edge colours without the old background (blur fusion), at most ~2 MP of work for any photo."""
    soft = (alpha > 0.002) & (alpha < 0.998)
    if not soft.any():
        return image
    h, w = alpha.shape
    if h * w <= FOREGROUND_WORK_PIXELS:
        fg = foreground.estimate_foreground(image, alpha)
        # Opaque pixels keep their own colour exactly; only the soft band is replaced.
        return np.where(soft[:, :, None], fg, image).astype(np.float32)
    k = (FOREGROUND_WORK_PIXELS / (h * w)) ** 0.5
    size = (max(8, round(w * k)), max(8, round(h * k)))
    small = foreground.estimate_foreground(resize_image(image, size), resize_matte(alpha, size),
                                           radii=(max(8, round(90 * k)), max(2, round(6 * k))))
    out = np.array(image, dtype=np.float32, copy=True)
    band = max(1, (1 << 21) // w)  # upsample in bands: no second full-resolution colour plane
    scale_y = size[1] / h
    for y0 in range(0, h, band):
        y1 = min(h, y0 + band)
        rows = soft[y0:y1]
        if rows.any():
            fg = resize_image(small, (w, y1 - y0), antialias=False,
                              box_xyxy=(0.0, y0 * scale_y, float(size[0]), y1 * scale_y))
            out[y0:y1][rows] = fg[rows]
    return out


def layout(fg: F32, alpha: F32, options: Options) -> tuple[F32, F32]:
    """Crop, place on a canvas, fit/fill, frame a head, round the corners: as options ask."""
    if options.crop:
        box = framing.subject_bbox(alpha)
        if box is not None:
            margin = options.margin.to_px((box[2] - box[0], box[3] - box[1]))
            fg, alpha, _ = framing.crop_to_subject(fg, alpha, margin)
    if options.size_wh is not None:
        size = options.size_wh
        if options.head_frame is not None:
            top, height = options.head_frame
            frame = framing.frame_head(alpha, size, head_top_frac=top, head_height_frac=height)
            if frame is None:
                fg, alpha = np.zeros((size[1], size[0], 3), np.float32), np.zeros((size[1], size[0]), np.float32)
            else:
                fg, alpha = framing.render_rect(fg, alpha, frame.rect_xyxy, size)
        elif options.fill_frac is not None:
            anchor = "bottom" if options.anchor == "bottom" else "center"
            # The box of what the eye sees as the subject (alpha >= 0.5), not of its faint fringe.
            fg, alpha = framing.place_on_canvas(fg, alpha, size, fill_frac=options.fill_frac, anchor=anchor,
                                                level=0.5)
        elif options.fit is Fit.FILL:
            fg, alpha = framing.fill(fg, alpha, size)
        else:
            fg, alpha = framing.fit(fg, alpha, size)
    if options.outline_px:
        fg, alpha = _outline(fg, alpha, options)
    if options.shape is Shape.CIRCLE:
        alpha = alpha * _circle(alpha.shape)
    return fg, alpha


def _outline(fg: F32, alpha: F32, options: Options) -> tuple[F32, F32]:
    px = options.outline_px
    pad = px + 2
    fg = np.pad(fg, ((pad, pad), (pad, pad), (0, 0)))
    alpha = np.pad(alpha, pad)
    ring = morphology.dilate(alpha, px)
    colour = np.asarray(options.outline_color.rgb, np.float32) / 255.0
    a3 = alpha[:, :, None]
    rgb = fg * a3 + colour * (1.0 - a3)
    return rgb.astype(np.float32), np.maximum(alpha, ring).astype(np.float32)


def _circle(hw: tuple[int, int]) -> F32:
    h, w = hw
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r = min(h, w) / 2.0
    d = np.sqrt((yy + 0.5 - h / 2.0) ** 2 + (xx + 0.5 - w / 2.0) ** 2)
    return np.clip(r - d + 0.5, 0.0, 1.0).astype(np.float32)  # one-pixel antialiased rim


def blurred_background(image: F32, alpha: F32, radius: float) -> F32:
    """The photo's own background, blurred, with the subject left out of the blur."""
    return composite.blur_background(image, radius, alpha=alpha)


def apply_background(fg: F32, alpha: F32, options: Options, bg_image: F32 | None) -> tuple[F32, F32 | None]:
    """(rgb, alpha) where alpha is None when the result is opaque. bg_image is scaled to cover."""
    h, w = alpha.shape
    if bg_image is not None:
        if bg_image.shape[:2] != (h, w):
            bg_image = composite.cover_resize(bg_image, (w, h))
        return composite.composite_over_image(fg, alpha, bg_image), None
    bg = options.background
    if bg is None:
        return fg, alpha
    colour = (bg.r / 255.0, bg.g / 255.0, bg.b / 255.0)
    if bg.a == 255:
        return composite.composite_over_color(fg, alpha, colour), None
    bga = bg.a / 255.0
    out_a = alpha + bga * (1.0 - alpha)
    a3, o3 = alpha[:, :, None], np.maximum(out_a, 1e-6)[:, :, None]
    rgb = (fg * a3 + np.asarray(colour, np.float32) * bga * (1.0 - a3)) / o3
    return np.clip(rgb, 0.0, 1.0).astype(np.float32), out_a.astype(np.float32)
