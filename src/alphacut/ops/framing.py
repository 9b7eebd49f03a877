"""Framing: subject bounding box, crops, placing a subject on a canvas, fit/fill, ID-photo geometry."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ..id_rules import ID_RULES, IdPhotoRule
from .composite import cover_resize
from .resize import resize_image

__all__ = [
    "ID_RULES",
    "IdPhotoRule",
    "PortraitFrame",
    "crop_to_subject",
    "fill",
    "find_crown",
    "fit",
    "frame_portrait",
    "keep_inside",
    "place_in_frame",
    "place_on_canvas",
    "render_rect",
    "rotate_about",
    "shrink_to_pixels",
    "size_within_pixels",
    "subject_bbox",
]

F32 = NDArray[np.float32]
BBox = tuple[int, int, int, int]
Rect = tuple[float, float, float, float]


def subject_bbox(alpha: F32, level: float = 0.05) -> BBox | None:
    """Return (x0, y0, x1, y1) of pixels with alpha > level (x1, y1 exclusive), or None if empty.

    Example:
        >>> a = np.zeros((10, 10), np.float32); a[2:5, 3:8] = 1
        >>> subject_bbox(a)
        (3, 2, 8, 5)
    """
    mask = np.asarray(alpha) > level
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def crop_to_subject(
    image: F32, alpha: F32, margin_px: int | tuple[int, int, int, int] = 0, *, level: float = 0.05
) -> tuple[F32, F32, BBox]:
    """Crop image and alpha to the subject's bbox grown by margin_px (clipped to the image).

    Args:
        margin_px: one margin for every side, or (top, right, bottom, left).

    Returns:
        (image crop, alpha crop, the bbox used); the whole image if the matte is empty.

    Example:
        >>> a = np.zeros((10, 10), np.float32); a[4:6, 4:6] = 1
        >>> crop_to_subject(np.zeros((10, 10, 3), np.float32), a, 1)[2]
        (3, 3, 7, 7)
        >>> crop_to_subject(np.zeros((10, 10, 3), np.float32), a, (1, 2, 3, 4))[2]
        (0, 3, 8, 9)
    """
    h, w = alpha.shape
    box = subject_bbox(alpha, level)
    if box is None:
        return image, alpha, (0, 0, w, h)
    top, right, bottom, left = (margin_px,) * 4 if isinstance(margin_px, int) else margin_px
    x0, y0, x1, y1 = box
    x0, y0 = max(x0 - left, 0), max(y0 - top, 0)
    x1, y1 = min(x1 + right, w), min(y1 + bottom, h)
    return image[y0:y1, x0:x1], alpha[y0:y1, x0:x1], (x0, y0, x1, y1)


def keep_inside(alpha: F32, box_xyxy: BBox) -> F32:
    """The matte with everything outside box_xyxy (x0, y0, x1, y1; x1, y1 exclusive) set to 0.

    Example:
        >>> keep_inside(np.ones((2, 4), np.float32), (0, 0, 2, 2)).tolist()
        [[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]]
    """
    x0, y0, x1, y1 = box_xyxy
    out = np.zeros_like(alpha)
    out[y0:y1, x0:x1] = alpha[y0:y1, x0:x1]
    return out


def size_within_pixels(size_wh: tuple[int, int], max_pixels: int) -> tuple[int, int]:
    """The largest (w, h) of size_wh's aspect with at most max_pixels pixels (size_wh if it fits).

    Example:
        >>> size_within_pixels((1000, 800), 250_000), size_within_pixels((100, 80), 250_000)
        ((559, 447), (100, 80))
    """
    w, h = size_wh
    if w * h <= max_pixels:
        return (w, h)
    scale = math.sqrt(max_pixels / (w * h))
    return (max(1, int(w * scale)), max(1, int(h * scale)))


def shrink_to_pixels(image: F32, alpha: F32, max_pixels: int) -> tuple[F32, F32]:
    """Scale image and alpha down (aspect kept, premultiplied, antialiased) to at most max_pixels.

    Example:
        >>> im, a = shrink_to_pixels(np.ones((800, 1000, 3), np.float32), np.ones((800, 1000), np.float32), 250_000)
        >>> a.shape, a.size <= 250_000
        ((447, 559), True)
    """
    h, w = alpha.shape
    size = size_within_pixels((w, h), max_pixels)
    if size == (w, h):
        return image, alpha
    return render_rect(image, alpha, (0.0, 0.0, float(w), float(h)), size)


def render_rect(
    image: F32, alpha: F32, rect_xyxy: Rect, canvas_wh: tuple[int, int]
) -> tuple[F32, F32]:
    """Resample the source rectangle rect_xyxy (may exceed the image) onto a canvas of canvas_wh.

    Colours are resampled premultiplied, so transparent areas do not darken edges; parts of
    the rectangle outside the image come out transparent (alpha 0, colour 0).

    Args:
        image: H x W x 3 in [0, 1]; alpha: H x W in [0, 1].
        rect_xyxy: (x0, y0, x1, y1) in source pixel edges, floats.
        canvas_wh: output (width, height).

    Example:
        >>> img, a = np.ones((10, 10, 3), np.float32), np.ones((10, 10), np.float32)
        >>> out, oa = render_rect(img, a, (-5, 0, 15, 10), (20, 10))
        >>> float(oa[5, 0]), float(oa[5, 10])
        (0.0, 1.0)
    """
    h, w = alpha.shape
    x0, y0, x1, y1 = (float(v) for v in rect_xyxy)
    cw, ch = int(canvas_wh[0]), int(canvas_wh[1])
    pad_l, pad_t = max(0, math.ceil(-x0) + 1), max(0, math.ceil(-y0) + 1)
    pad_r, pad_b = max(0, math.ceil(x1 - w) + 1), max(0, math.ceil(y1 - h) + 1)
    rgba = np.concatenate([image * alpha[:, :, None], alpha[:, :, None]], axis=2)
    rgba = rgba.astype(np.float32)
    if pad_l or pad_t or pad_r or pad_b:
        rgba = np.pad(rgba, ((pad_t, pad_b), (pad_l, pad_r), (0, 0)))
    box = (x0 + pad_l, y0 + pad_t, x1 + pad_l, y1 + pad_t)
    out = resize_image(rgba, (cw, ch), box_xyxy=box)
    out_a = np.clip(out[:, :, 3], 0.0, 1.0)
    a3 = out_a[:, :, None]
    colour = np.where(a3 > 1e-4, out[:, :, :3] / np.maximum(a3, 1e-4), np.float32(0.0))
    return np.clip(colour, 0.0, 1.0).astype(np.float32), out_a.astype(np.float32)


def place_on_canvas(
    image: F32,
    alpha: F32,
    canvas_wh: tuple[int, int],
    *,
    bbox: BBox | None = None,
    fill_frac: float = 0.85,
    anchor: Literal["center", "bottom"] = "center",
    level: float = 0.05,
) -> tuple[F32, F32]:
    """Scale and move the subject so its bbox fills fill_frac of the canvas, centred.

    The bbox is scaled by one factor so that its limiting dimension spans ``fill_frac`` of
    the canvas; it is centred horizontally and, with anchor="center", vertically; with
    "bottom" its lower edge sits (1 - fill_frac) / 2 of the canvas height above the bottom.

    Args:
        image: H x W x 3 in [0, 1]; alpha: H x W in [0, 1].
        canvas_wh: output (width, height) in pixels.
        bbox: subject box (x0, y0, x1, y1); default subject_bbox(alpha, level).
        fill_frac: fraction of the canvas the subject spans, in (0, 1].

    Returns:
        (image, alpha) of exactly canvas_wh; transparent where there is no subject.

    Example:
        >>> a = np.zeros((100, 200), np.float32); a[20:60, 50:130] = 1
        >>> _, out = place_on_canvas(np.ones((100, 200, 3), np.float32), a, (100, 100))
        >>> subject_bbox(out, 0.5)
        (8, 29, 92, 71)
    """
    if not 0.0 < fill_frac <= 1.0:
        raise ValueError(f"fill_frac must be in (0, 1], got {fill_frac}")
    box = bbox if bbox is not None else subject_bbox(alpha, level)
    cw, ch = int(canvas_wh[0]), int(canvas_wh[1])
    if box is None:
        return np.zeros((ch, cw, 3), np.float32), np.zeros((ch, cw), np.float32)
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    scale = fill_frac * min(cw / bw, ch / bh)
    src_w, src_h = cw / scale, ch / scale
    cx = (bx0 + bx1) / 2.0
    rx0 = cx - src_w / 2.0
    if anchor == "center":
        ry0 = (by0 + by1) / 2.0 - src_h / 2.0
    elif anchor == "bottom":
        ry0 = by1 + (1.0 - fill_frac) / 2.0 * src_h - src_h
    else:
        raise ValueError(f"unknown anchor {anchor!r}; use 'center' or 'bottom'")
    return render_rect(image, alpha, (rx0, ry0, rx0 + src_w, ry0 + src_h), (cw, ch))


def place_in_frame(
    image: F32,
    alpha: F32,
    *,
    scale: float | None = None,
    position_xy: tuple[float, float] | None = None,
    level: float = 0.05,
) -> tuple[F32, F32]:
    """Scale and move the subject inside the image's own frame (the frame keeps its size).

    Args:
        scale: the subject box's limiting side spans this fraction of the frame (0, 1]; None keeps
            its size.
        position_xy: where the box sits in the frame's free space on each axis: 0 = left / top,
            0.5 = centred, 1 = right / bottom. None is centred when scaling, else where it was.

    Example:
        >>> a = np.zeros((100, 200), np.float32); a[10:30, 10:50] = 1
        >>> _, out = place_in_frame(np.ones((100, 200, 3), np.float32), a, scale=0.5)
        >>> subject_bbox(out, 0.5)
        (50, 25, 150, 75)
        >>> subject_bbox(place_in_frame(np.ones((100, 200, 3), np.float32), a, position_xy=(1.0, 1.0))[1], 0.5)
        (160, 80, 200, 100)
    """
    if scale is None and position_xy is None:
        return image, alpha
    if scale is not None and not 0.0 < scale <= 1.0:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    h, w = alpha.shape
    box = subject_bbox(alpha, level)
    if box is None:
        return image, alpha
    bx0, by0, bx1, by1 = box
    bw, bh = bx1 - bx0, by1 - by0
    k = 1.0 if scale is None else scale * min(w / bw, h / bh)
    px, py = position_xy if position_xy is not None else (0.5, 0.5)
    ox, oy = px * (w - bw * k), py * (h - bh * k)  # where the box's top left lands in the frame
    x0, y0 = bx0 - ox / k, by0 - oy / k  # the frame's top left, in the source
    return render_rect(image, alpha, (x0, y0, x0 + w / k, y0 + h / k), (w, h))


def fit(image: F32, alpha: F32, size_wh: tuple[int, int]) -> tuple[F32, F32]:
    """Scale to fit inside size_wh keeping the aspect, letterboxed with transparency.

    Example:
        >>> im, a = fit(np.ones((50, 100, 3), np.float32), np.ones((50, 100), np.float32), (80, 80))
        >>> im.shape, a.shape, float(a[0, 40]), float(a[40, 40])
        ((80, 80, 3), (80, 80), 0.0, 1.0)
    """
    h, w = alpha.shape
    cw, ch = int(size_wh[0]), int(size_wh[1])
    scale = min(cw / w, ch / h)
    src_w, src_h = cw / scale, ch / scale
    x0, y0 = (w - src_w) / 2.0, (h - src_h) / 2.0
    return render_rect(image, alpha, (x0, y0, x0 + src_w, y0 + src_h), (cw, ch))


def fill(image: F32, alpha: F32, size_wh: tuple[int, int]) -> tuple[F32, F32]:
    """Scale to cover size_wh keeping the aspect and centre-crop the overflow.

    Example:
        >>> im, a = fill(np.ones((50, 100, 3), np.float32), np.ones((50, 100), np.float32), (80, 80))
        >>> im.shape, a.shape
        ((80, 80, 3), (80, 80))
    """
    rgba = np.concatenate([image * alpha[:, :, None], alpha[:, :, None]], axis=2)
    out = cover_resize(rgba.astype(np.float32), size_wh)
    a = np.clip(out[:, :, 3], 0.0, 1.0)
    colour = np.where(a[:, :, None] > 1e-4, out[:, :, :3] / np.maximum(a, 1e-4)[:, :, None], 0.0)
    return np.clip(colour, 0.0, 1.0).astype(np.float32), a.astype(np.float32)


# --- ID photos framed by the rules (the face box comes from runtime/faces.py) ---------------------


#: Where a face box from runtime/faces.py puts the chin and the eye line, in box heights below the
#: box's top edge: over 11 hand-marked frontal faces (evaldata grabcut/sod_bsds_dev people and
#: samples/astronaut.jpg) the chin lies 0.92-1.15 (mean 1.02, sd 0.08; mean error 0.07), the eyes
#: 0.35-0.43 (median 0.40) box heights below it (docs/ID_PHOTOS.md).
CHIN_BELOW_FACE_TOP = 1.02
EYES_BELOW_FACE_TOP = 0.40
#: When both eyes are found: the chin lies this many eye-to-eye distances below the eye line. On the
#: 5 marked faces whose eyes were found, 1.50-1.99 (mean 1.72; anthropometric tables give about 1.8,
#: pupil to chin ~115 mm for ~63 mm between the pupils); error 0.057 face-box heights on average
#: against 0.063 from the box on the same faces: no clear gain there, but it does not move with the
#: cascade's box, whose size comes in steps of 10%.
CHIN_BELOW_EYES_IPD = 1.75
#: Matte above the face higher than this many box heights over its top is not hair (a hat, a hand,
#: a hood): the crown is then put at CROWN_FALLBACK box heights above the box (marked: 0.24-0.54).
CROWN_MAX_ABOVE = 1.0
CROWN_FALLBACK = 0.5
#: The eye line is aimed this far (a fraction of the canvas height) inside its range, not at its edge:
#: the eyes are located to a few pixels, and on 3 of 7 marked ICAO framings the marked eye line came
#: out 0.5-1.5 points under 50% when it was aimed at 50.0%, and the located and marked eye lines
#: differ by up to 2.3 px, 1.9 points of the canvas (docs/ID_PHOTOS.md).
EYES_MARGIN = 0.025


@dataclass(frozen=True, slots=True)
class PortraitFrame:
    """A head found from a face box and the matte, and where the framing puts it (canvas fractions)."""

    crown_y: float  # source rows
    chin_y: float
    eye_y: float
    centre_x: float
    crown_capped: bool  # the matte rose too high above the face: crown_y is the fallback estimate
    rect_xyxy: Rect  # source rectangle to pass to render_rect with canvas_wh
    head_frac: float  # crown to chin / canvas height
    top_frac: float  # space above the crown / canvas height
    eyes_frac: float  # eye line above the bottom / canvas height


def find_crown(alpha: F32, face_box_xywh: tuple[float, float, float, float], *,
               level: float = 0.5) -> tuple[float, bool]:
    """The top of the head: the highest matte row joined to the face over its central columns.

    Walks up from the face box's centre while some pixel of the box's central 60% columns is in the
    matte (alpha >= level), so hair counts and the background above does not. Returns (row, capped):
    capped when the matte went on higher than CROWN_MAX_ABOVE box heights above the box (a hat,
    hood or raised hand), in which case the row is CROWN_FALLBACK box heights above the box.

    Example:
        >>> a = np.zeros((100, 60), np.float32); a[10:100, 10:50] = 1
        >>> find_crown(a, (15, 30, 30, 30))
        (10.0, False)
    """
    bx, by, bw, bh = face_box_xywh
    h, w = alpha.shape
    x0, x1 = max(0, round(bx + 0.2 * bw)), min(w, round(bx + 0.8 * bw))
    yc = int(np.clip(round(by + 0.5 * bh), 0, h - 1))
    on = (np.asarray(alpha[: yc + 1, x0:max(x1, x0 + 1)]) >= level).any(axis=1)
    off = np.flatnonzero(~on)
    top = float(off[-1] + 1) if off.size else 0.0
    if top < by - CROWN_MAX_ABOVE * bh:
        return max(0.0, by - CROWN_FALLBACK * bh), True
    return top, False


def frame_portrait(
    alpha: F32,
    face_box_xywh: tuple[float, float, float, float],
    canvas_wh: tuple[int, int],
    *,
    head_frac: float,
    top_frac: float,
    eyes_range: tuple[float, float] | None = None,
    top_range: tuple[float, float] | None = None,
    eye_y: float | None = None,
    head_range: tuple[float, float] | None = None,
    chin_y: float | None = None,
) -> PortraitFrame:
    """Frame a portrait by its face: crown to chin spans head_frac of the canvas, crown top_frac below its top.

    The crown is the matte's top above the face (find_crown), the chin CHIN_BELOW_FACE_TOP box heights
    below the box's top, the head centred horizontally on the face. With eyes_range, the photo is moved
    up or down (never rescaled) until the eye line lies in that range of heights above the bottom, then
    top_range (if given) bounds the space above the crown, which wins. With head_range too, when both
    can't be met at head_frac, the head is made smaller (not below head_range[0]) until they can.

    Args:
        alpha: H x W matte in [0, 1] of one upright person.
        face_box_xywh: the face's box in source pixels (runtime/faces.py).
        eye_y: the eye line's row if the eyes were found; default from the box.
        chin_y: the chin's row if known better than from the box (from the eyes: CHIN_BELOW_EYES_IPD).

    Example:
        >>> a = np.zeros((400, 300), np.float32); a[40:400, 90:210] = 1
        >>> f = frame_portrait(a, (100, 100, 100, 100), (350, 450), head_frac=0.75, top_frac=0.1)
        >>> f.crown_y, f.chin_y, round(f.head_frac, 3), round(f.top_frac, 3)
        (40.0, 202.0, 0.75, 0.1)
    """
    bx, by, bw, bh = face_box_xywh
    crown, capped = find_crown(alpha, face_box_xywh)
    chin = chin_y if chin_y is not None else by + CHIN_BELOW_FACE_TOP * bh
    eyes = eye_y if eye_y is not None else by + EYES_BELOW_FACE_TOP * bh
    head_h = max(chin - crown, 1.0)
    cw, ch = int(canvas_wh[0]), int(canvas_wh[1])
    # The target head size first; if the eye line and the space above the crown cannot both be met
    # there (a tall hairdo puts the eyes low), smaller heads down to head_range's minimum are tried.
    sizes = [head_frac] if head_range is None else \
        [float(v) for v in np.linspace(head_frac, max(head_range[0], 1e-3), 9)]
    for frac in sizes:
        top = _place_top(top_frac, (eyes - crown) / head_h * frac, eyes_range, top_range)
        eyes_up = 1.0 - top - (eyes - crown) / head_h * frac
        if eyes_range is None or eyes_range[0] - 1e-6 <= eyes_up <= eyes_range[1] + 1e-6:
            break
    else:
        frac = head_frac
        top = _place_top(top_frac, (eyes - crown) / head_h * frac, eyes_range, top_range)
    src_h = head_h / frac
    src_w = src_h * cw / ch
    ry0 = crown - top * src_h
    cx = bx + bw / 2.0
    rx0 = cx - src_w / 2.0
    return PortraitFrame(
        crown_y=crown, chin_y=chin, eye_y=eyes, centre_x=cx, crown_capped=capped,
        rect_xyxy=(rx0, ry0, rx0 + src_w, ry0 + src_h),
        head_frac=head_h / src_h, top_frac=top, eyes_frac=(ry0 + src_h - eyes) / src_h,
    )


def _place_top(top: float, crown_to_eyes: float, eyes_range: tuple[float, float] | None,
               top_range: tuple[float, float] | None) -> float:
    """The space above the crown: `top`, moved until the eye line is EYES_MARGIN inside eyes_range
    (a quarter of the range at most), then kept in top_range."""
    if eyes_range is not None:
        lo, hi = eyes_range
        margin = min(EYES_MARGIN, (hi - lo) / 4.0)
        eyes_up = 1.0 - top - crown_to_eyes
        top += eyes_up - min(max(eyes_up, lo + margin), hi - margin)
    if top_range is not None:
        top = min(max(top, top_range[0]), top_range[1])
    return top


def rotate_about(image: F32, alpha: F32, centre_xy: tuple[float, float], angle_deg: float) -> tuple[F32, F32]:
    """Rotate image and alpha about centre_xy so that a line at angle_deg (image y down) becomes level.

    Bilinear; what comes from outside the photo is transparent. Used to level the eyes of an ID photo.

    Example:
        >>> a = np.zeros((21, 21), np.float32); a[10, :] = 1
        >>> _, r = rotate_about(np.zeros((21, 21, 3), np.float32), a, (10, 10), 90.0)
        >>> float(r[0, 10]), float(r[10, 0])
        (1.0, 0.0)
    """
    import scipy.ndimage as ndi  # here: scipy slows every start (docs/studies/performance-rounds.md, "Cold start")

    t = math.radians(angle_deg)
    c, s = math.cos(t), math.sin(t)
    cx, cy = centre_xy
    # output (y, x) samples input R(angle) @ ((y, x) - centre) + centre, in (row, col) order
    matrix = np.array([[c, s], [-s, c]], np.float64)
    offset = np.array([cy, cx]) - matrix @ np.array([cy, cx])
    a = ndi.affine_transform(alpha.astype(np.float32), matrix, offset=offset, order=1, mode="constant", cval=0.0)
    premult = image * alpha[:, :, None]
    out = np.stack([ndi.affine_transform(premult[:, :, i], matrix, offset=offset, order=1, mode="constant")
                    for i in range(image.shape[2])], axis=2)
    a = np.clip(a, 0.0, 1.0).astype(np.float32)
    colour = np.where(a[:, :, None] > 1e-4, out / np.maximum(a, 1e-4)[:, :, None], 0.0)
    return np.clip(colour, 0.0, 1.0).astype(np.float32), a
