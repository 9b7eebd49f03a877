"""After inference, at full resolution: refine the matte, clean it, decontaminate, frame, compose.

Each step is a function of explicit arrays and Options; pipeline.finish() calls them in order.
Mattes are H×W float32 in [0, 1]. The full-resolution photo stays H×W×3 uint8 (72 MB at 24 MP,
against 288 MB as float32) through refinement, decontamination and compose_u8, which turn it into
floats a band of rows at a time; layout and the other float steps take H×W×3 float32 in [0, 1].
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray

from . import portrait
from .errors import OptionsError
from .io.encode import float_to_u8, u8_to_float
from .ops import components, composite, foreground, framing, guided, morphology
from .ops.resize import resize_image, resize_matte, resize_u8
from .options import Fit, Options, Refine, Shape

__all__ = ["GUIDED_MIN_SCALE", "apply_background", "blurred_background", "clean_matte", "compose_u8",
           "decontaminate", "layout", "preload", "refine_matte"]

log = logging.getLogger(__name__)

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]

#: Guided upsampling beats bilinear only when the photo is at least this many times the matte's
#: size along its shorter side (measured on evaldata: below that, bilinear is as good or better).
GUIDED_MIN_SCALE = 2.0
#: Decontamination runs on at most this many pixels; larger photos are estimated at reduced size.
FOREGROUND_WORK_PIXELS = 2_000_000
#: Full-resolution colour becomes float32 this many pixels at a time (1.5 MB of RGB).
BAND_PIXELS = 1 << 17


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


def refine_matte(low: F32, image: U8 | F32, refine: Refine) -> F32:
    """The model's matte (any size) at the image's size, following the image's edges where it helps.

    Refine.MATTING first does what GUIDED does, then re-solves the matte's soft band by closed-form
    matting (ops/matting.py), on at most matting.MATTING_WORK_PIXELS pixels.

    Args:
        image: H×W×3 photo, uint8 or float32 in [0, 1].
    """
    h, w = image.shape[:2]
    scale = min(h / low.shape[0], w / low.shape[1])
    if refine is Refine.NONE or scale < GUIDED_MIN_SCALE:
        alpha = resize_matte(low, (w, h))
    else:
        alpha = guided.guided_upsample(low, image)
    if refine is Refine.MATTING:
        from .ops import matting  # scipy.sparse: loaded only when matting is asked for

        alpha = matting.refine_alpha(image, alpha)
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
    estimate = _estimate_foreground(image, alpha)
    if out is None:
        out = image.copy()
    elif out is not image:
        np.copyto(out, image)
    if estimate is not None:
        _paste_soft_band(out, alpha, estimate)
    return out


def _estimate_foreground(image: U8, alpha: F32) -> F32 | None:
    """The foreground colours at full size, or at ~FOREGROUND_WORK_PIXELS; None if no pixel is soft."""
    h, w = alpha.shape
    if not any(_soft(alpha[y0:y1]).any() for y0, y1 in _bands(h, w)):
        return None
    if h * w <= FOREGROUND_WORK_PIXELS:
        return foreground.estimate_foreground(u8_to_float(image), alpha)
    k = (FOREGROUND_WORK_PIXELS / (h * w)) ** 0.5
    size = (max(8, round(w * k)), max(8, round(h * k)))
    return foreground.estimate_foreground(resize_u8(image, size), resize_matte(alpha, size),
                                          radii=(max(8, round(90 * k)), max(2, round(6 * k))))


def _paste_soft_band(out: U8, alpha: F32, estimate: F32) -> None:
    """Write the estimate (upsampled a band at a time if smaller) into out where alpha is soft."""
    h, w = alpha.shape
    if estimate.shape[:2] == (h, w):
        soft = _soft(alpha)
        out[soft] = float_to_u8(estimate[soft])
        return
    est_h, est_w = estimate.shape[:2]
    scale_y = est_h / h
    for y0, y1 in _bands(h, w):
        rows = _soft(alpha[y0:y1])
        if rows.any():
            fg = resize_image(estimate, (w, y1 - y0), antialias=False,
                              box_xyxy=(0.0, y0 * scale_y, float(est_w), y1 * scale_y))
            out[y0:y1][rows] = float_to_u8(fg[rows])


def _soft(alpha: F32) -> NDArray[np.bool_]:
    return (alpha > 0.002) & (alpha < 0.998)


def _bands(h: int, w: int) -> list[tuple[int, int]]:
    """(y0, y1) row ranges of about BAND_PIXELS pixels each, covering h rows of width w."""
    rows = max(1, BAND_PIXELS // max(1, w))
    return [(y0, min(h, y0 + rows)) for y0 in range(0, h, rows)]


def compose_u8(image: U8, alpha: F32, options: Options) -> U8:
    """The finished pixels at the photo's own size: H×W×4 uint8 RGBA, or H×W×3 RGB when opaque.

    Decontaminated and put over options.background as asked: the same pixels as decontaminate
    and apply_background on float32 images up to rounding (±1/255), but the colour stays uint8
    and becomes float a band of rows at a time. For outputs that keep the photo's geometry: no
    crop, size, outline or shape, and no background image or blur (those take layout's path).

    Args:
        image: H×W×3 uint8 photo.
        alpha: H×W matte in [0, 1].
    """
    if options.background_image is not None or options.background_blur is not None:
        raise ValueError("compose_u8 puts a cutout over a colour or nothing; use apply_background for images")
    # The estimate first: its temporaries are gone before the output is allocated.
    estimate = _estimate_foreground(image, alpha) if options.decontaminate else None
    bg = options.background
    h, w = alpha.shape
    out = np.empty((h, w, 3 if bg is not None and bg.a == 255 else 4), dtype=np.uint8)
    rgb = out[:, :, :3]
    np.copyto(rgb, image)
    if estimate is not None:
        _paste_soft_band(rgb, alpha, estimate)
        del estimate
    for y0, y1 in _bands(h, w):
        a = alpha[y0:y1]
        if bg is None:
            out[y0:y1, :, 3] = float_to_u8(a)
            continue
        band_rgb, band_a = apply_background(u8_to_float(rgb[y0:y1]), a, options, None)
        rgb[y0:y1] = float_to_u8(band_rgb)
        if band_a is not None:
            out[y0:y1, :, 3] = float_to_u8(band_a)
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
            fg, alpha = portrait.frame_portrait(fg, alpha, options)  # ID photos: portrait.py
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
