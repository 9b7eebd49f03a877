"""Synthetic head-and-shoulders portraits drawn with numpy, with a face OpenCV's cascades detect.

Geometry is returned with the picture so tests can measure the framing against the ID-photo rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

SKIN = (224, 172, 140)
NECK = (150, 105, 85)  # darker than the face, so the chin can be found in a framed output
HAIR = (70, 50, 35)
BACKGROUND = (236, 238, 242)


@dataclass(frozen=True)
class Portrait:
    rgb: np.ndarray  # H x W x 3 uint8
    crown_y: float  # top of the hair (or of the hood)
    chin_y: float  # bottom of the face
    eye_y: float
    centre_x: float


def draw_portrait(w: int = 600, h: int = 800, *, face_w: float = 100.0, cx: float | None = None,
                  cy: float | None = None, collar: bool = False, hood: bool = False,
                  hair: float = 1.0, background: tuple[int, int, int] = BACKGROUND) -> Portrait:
    """One person facing the camera: hair, face, neck and shoulders (optionally a high collar or a hood).

    face_w is the half-width unit of the face; the face spans about 1.64 face_w across and 1.9 high.
    The body stops short of the bottom edge, so FakeBackend (foreground = unlike the border) cuts it out.
    """
    cx = w / 2 if cx is None else cx
    cy = 0.36 * h if cy is None else cy
    fw = face_w
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    img[:] = background

    def ell(x: float, y: float, rx: float, ry: float) -> np.ndarray:
        return ((xx - x) / rx) ** 2 + ((yy - y) / ry) ** 2 < 1

    chin = cy + 0.95 * fw
    crown = cy - 0.95 * fw - 0.3 * fw * hair
    # shoulders and body, then the neck
    body = (yy > chin + 0.45 * fw) & (yy < 0.96 * h) & (np.abs(xx - cx) < 2.6 * fw - np.maximum(0, chin + 0.9 * fw - yy) * 2)
    img[body] = (40, 60, 110)
    img[(np.abs(xx - cx) < 0.45 * fw) & (yy > cy) & (yy < chin + 0.6 * fw)] = NECK
    if collar:  # a high collar wider than the head, up to the chin: no neck narrowing in the outline
        img[(np.abs(xx - cx) < 1.25 * fw) & (yy > chin + 0.05 * fw) & (yy < chin + 0.9 * fw)] = (150, 150, 150)
    if hood:  # a hood around the head, rising above the hair
        img[ell(cx, cy - 0.25 * fw, 1.45 * fw, 1.55 * fw) & (yy < chin + 0.3 * fw)] = (90, 40, 40)
        crown = cy - 0.25 * fw - 1.55 * fw
    if hair > 0:
        img[ell(cx, cy - 0.3 * fw, 1.02 * fw, 0.65 * fw + 0.3 * fw * hair) & (yy < cy + 0.4 * fw)] = HAIR
    img[ell(cx, cy, 0.82 * fw, 0.95 * fw)] = SKIN
    e, ey = 0.36 * fw, cy - 0.18 * fw
    for s in (-1, 1):
        img[ell(cx + s * e, ey, 0.2 * fw, 0.09 * fw)] = (250, 250, 250)
        img[ell(cx + s * e, ey, 0.09 * fw, 0.09 * fw)] = (60, 40, 30)
        img[ell(cx + s * e, ey - 0.2 * fw, 0.24 * fw, 0.05 * fw)] = (80, 55, 40)
    m = ell(cx, cy + 0.2 * fw, 0.1 * fw, 0.2 * fw)
    img[m] = img[m] * 0.4 + np.float32((200, 150, 120)) * 0.6
    img[ell(cx, cy + 0.5 * fw, 0.3 * fw, 0.07 * fw)] = (170, 80, 80)
    img = ndi.gaussian_filter(img, (0.02 * fw, 0.02 * fw, 0))
    return Portrait(np.clip(img + 0.5, 0, 255).astype(np.uint8), crown_y=float(crown), chin_y=float(chin),
                    eye_y=float(ey), centre_x=float(cx))


def rotate(p: Portrait, angle_deg: float) -> np.ndarray:
    """The portrait's picture rotated by angle_deg (counter-clockwise on screen) about its eye line's centre."""
    from PIL import Image

    return np.asarray(Image.fromarray(p.rgb).rotate(angle_deg, resample=Image.BICUBIC,
                                                    center=(p.centre_x, p.eye_y), fillcolor=BACKGROUND))
