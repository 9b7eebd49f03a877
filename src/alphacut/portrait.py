"""ID-photo framing: find the one face, level the eyes, place the head by the rule (ops/framing.py).

Called by composition.layout when Options.head_frame is set (the id-photo presets). With the face
models (a FaceLandmarker, which the Remover loads with its FaceDetector), the face is MediaPipe's
BlazeFace's and the chin and eyes are MediaPipe's face mesh landmarks (runtime/faces.py); without them
(a Remover made with face_landmarks=False), the face is OpenCV's Haar cascade's and the chin and eyes
are estimated from the face box and eye cascades (about 5% of the head off, logged as a warning); the
geometry and the rules' numbers are ops/framing.py.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from .errors import InputError
from .ops import framing
from .options import Options

if TYPE_CHECKING:
    from .runtime.faces import FaceLandmarker

__all__ = ["LEVEL_MAX_DEG", "LEVEL_MIN_DEG", "PortraitPlacement", "frame_portrait", "place_portrait"]

log = logging.getLogger(__name__)

F32 = NDArray[np.float32]

#: Roll (degrees) of the eye line below which an ID photo is not rotated (the eyes are located to about
#: 1 degree: a drawn upright face measures 0.0, one drawn at 5 and 8 degrees 4.4-5.4 and 7-9), and above
#: which the eyes found are not trusted (the face cascade finds faces up to about 15 degrees of roll).
LEVEL_MIN_DEG, LEVEL_MAX_DEG = 2.0, 20.0


def frame_portrait(fg: F32, alpha: F32, options: Options,
                   landmarker: FaceLandmarker | None = None) -> tuple[F32, F32]:
    """Frame the one face of a portrait on options.size_wh by options.head_frame (and options.id_rule)."""
    assert options.size_wh is not None
    fg, alpha, placed = place_portrait(fg, alpha, options, landmarker)
    return framing.render_rect(fg, alpha, placed.frame.rect_xyxy, options.size_wh)


@dataclass(frozen=True, slots=True)
class PortraitPlacement:
    """How frame_portrait placed a portrait: the photo was first turned by roll_deg about pivot_xy."""

    frame: framing.PortraitFrame  # in the coordinates of the turned photo
    roll_deg: float  # 0.0 when not turned
    pivot_xy: tuple[float, float]
    landmarks: bool = False  # chin and eyes from the landmark model (else estimated from the face box)

    def to_frame_xy(self, x: float, y: float) -> tuple[float, float]:
        """A point of the original photo in the turned photo's coordinates (where frame is measured)."""
        return _turn((x, y), self.pivot_xy, self.roll_deg) if self.roll_deg else (x, y)


def place_portrait(fg: F32, alpha: F32, options: Options,
                   landmarker: FaceLandmarker | None = None) -> tuple[F32, F32, PortraitPlacement]:
    """The face found, the photo levelled, the head placed: what frame_portrait renders.

    Faces are detected in the photo (runtime/faces.py); one must lie on the matte, and no other face
    at least half its width may be anywhere in the photo (else InputError input.no-face /
    input.many-faces). If both eyes are found and their line is tilted, the photo is rotated to level
    them. The crown comes from the matte. With a landmarker, the chin and the eyes are its landmarks
    (and a face it does not confirm is input.no-face); without one, the eyes are the cascades' and the
    chin is estimated from them or the face box (ops/framing.py), logged as a warning.
    """
    from .runtime.faces import MIN_PRESENCE, detect_faces

    assert options.size_wh is not None and options.head_frame is not None
    faces = landmarker.detect(fg) if landmarker is not None else detect_faces(fg)
    h, w = alpha.shape

    def on_subject(box: tuple[float, float, float, float]) -> bool:
        x, y = int(min(max(box[0] + box[2] / 2, 0), w - 1)), int(min(max(box[1] + box[3] / 2, 0), h - 1))
        return bool(alpha[y, x] >= 0.5)

    on = [f for f in faces if on_subject(f.box_xywh)]
    if not on:
        raise InputError("input.no-face", f"No face found on the subject ({len(faces)} face(s) in the photo, "
                         "none on the cut-out person)." if faces else "No face found in the photo.",
                         hint="An ID photo needs one person facing the camera, head upright, face unobstructed "
                              "and at least 8% of the photo's width.")
    face = on[0]
    others = [f for f in faces if f is not face and (f in on or f.box_xywh[2] >= 0.5 * face.box_xywh[2])]
    if others:
        raise InputError("input.many-faces", f"{1 + len(others)} faces found; an ID photo shows one person.",
                         hint="Crop the photo to the one person (faces smaller than half of the largest are ignored).")
    bx, by, bw, bh = face.box_xywh
    eye_y, chin_y, roll, pivot = None, None, 0.0, (0.0, 0.0)
    eyes_xy, chin_xy = face.eyes_xy, None
    if landmarker is not None:
        marks = landmarker.locate(fg, face)
        if marks.presence < MIN_PRESENCE:
            raise InputError("input.no-face", f"The face found at {tuple(round(v) for v in face.box_xywh)} is "
                             f"not confirmed by the landmark model (face probability {marks.presence:.2f}).",
                             hint="An ID photo needs one person facing the camera, head upright, face "
                                  "unobstructed and at least 8% of the photo's width.")
        eyes_xy, chin_xy = marks.eyes_xy, marks.chin_xy
    else:
        log.warning("id photo: no face models: the face is the Haar cascade's and the chin is estimated from its "
                    "box (about %d%% of the head off), which can put the head outside the rule's range", 5)
    if eyes_xy is not None:
        (lx, ly), (rx, ry) = eyes_xy
        pivot = ((lx + rx) / 2.0, (ly + ry) / 2.0)
        eye_y = pivot[1]
        chin_y = chin_xy[1] if chin_xy is not None else \
            eye_y + framing.CHIN_BELOW_EYES_IPD * math.hypot(rx - lx, ry - ly)
        tilt = math.degrees(math.atan2(ry - ly, rx - lx))
        if LEVEL_MIN_DEG <= abs(tilt) <= LEVEL_MAX_DEG:
            roll = tilt
            fg, alpha = framing.rotate_about(fg, alpha, pivot, roll)
            cx, cy = _turn((bx + bw / 2.0, by + bh / 2.0), pivot, roll)  # the face centre, turned
            bx, by = cx - bw / 2.0, cy - bh / 2.0
            if chin_xy is not None:
                chin_y = _turn(chin_xy, pivot, roll)[1]
            log.info("id photo: eyes tilted by %.1f degrees, rotated level", roll)
    top, height = options.head_frame
    rule = framing.ID_RULES[options.id_rule] if options.id_rule is not None else None
    frame = framing.frame_portrait(alpha, (bx, by, bw, bh), options.size_wh, head_frac=height, top_frac=top,
                                   eyes_range=rule.eyes_range if rule else None,
                                   top_range=rule.top_range if rule else None, eye_y=eye_y,
                                   head_range=rule.head_range if rule else None, chin_y=chin_y)
    x0, y0, x1, y1 = frame.rect_xyxy
    if y1 > h + 1 or x0 < -1 or x1 > w + 1 or y0 < -1:  # background colour (or transparency) fills the rest
        log.warning("id photo: the photo does not fill the frame (it covers x %.0f%%-%.0f%%, y %.0f%%-%.0f%%); "
                    "a wider shot with the shoulders fills it", 100 * max(0.0, -x0) / (x1 - x0),
                    100 * min(1.0, (w - x0) / (x1 - x0)), 100 * max(0.0, -y0) / (y1 - y0),
                    100 * min(1.0, (h - y0) / (y1 - y0)))
    if frame.crown_capped:
        log.warning("id photo: the subject rises far above the face (hat, hood or hand?); crown estimated")
    log.info("id photo: face %s, head %.1f%%, above the crown %.1f%%, eye line %.1f%% above the bottom",
             tuple(round(v) for v in (bx, by, bw, bh)), 100 * frame.head_frac, 100 * frame.top_frac,
             100 * frame.eyes_frac)
    return fg, alpha, PortraitPlacement(frame, roll, pivot, landmarks=chin_xy is not None)


def _turn(xy: tuple[float, float], pivot: tuple[float, float], roll_deg: float) -> tuple[float, float]:
    """Where a point lands when framing.rotate_about turns the photo by roll_deg about pivot."""
    t = math.radians(roll_deg)
    dx, dy = xy[0] - pivot[0], xy[1] - pivot[1]
    return pivot[0] + math.cos(t) * dx + math.sin(t) * dy, pivot[1] - math.sin(t) * dx + math.cos(t) * dy
