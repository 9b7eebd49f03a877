"""Face and eye detection for ID-photo framing: OpenCV's Haar cascades (the only cv2 importer).

The cascades are the XML files that the ``opencv-python-headless`` wheel ships in
``cv2.data.haarcascades``. Faces: ``haarcascade_frontalface_alt.xml``, chosen over ``_default`` and
``_alt2`` on evaldata's 225 people/general photos and samples/astronaut.jpg (docs/ID_PHOTOS.md): it
found 26 of the 36 faces any of them found, with 4 false boxes, against 27 with 11 (alt2) and 32
with 46 (default); a false face makes a good photo fail as input.many-faces, or frames a non-face.
Eyes: ``haarcascade_eye.xml`` with ``haarcascade_eye_tree_eyeglasses.xml`` (both eyes found on 9 of
15 evaldata faces, either alone on 7), each eye then placed on its darkest blurred spot (the pupil).
They find upright, frontal faces (roll up to about 15 degrees, little yaw), which is what an ID photo
shows. cv2 is imported on first use, and each call loads its own classifiers (a few ms; no shared state).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import BackendError

__all__ = ["FACE_CASCADE", "BlazeFaceConfig", "Face", "FaceDetector", "FaceLandmarker", "FaceLandmarks",
           "blazeface_anchors", "decode_blazeface", "detect_faces"]

log = logging.getLogger(__name__)

FACE_CASCADE = "haarcascade_frontalface_alt.xml"
EYE_CASCADES = ("haarcascade_eye.xml", "haarcascade_eye_tree_eyeglasses.xml")
#: Faces are searched on a copy whose longer side is at most this (a face in a portrait is large).
DETECT_MAX_SIDE = 800
#: Faces narrower than this fraction of the image's shorter side are not looked for.
MIN_FACE_FRAC = 0.08

BoxXYWH = tuple[float, float, float, float]
PointXY = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Face:
    """A detected face: its box in image pixels and, when both were found, the eye centres."""

    box_xywh: BoxXYWH
    eyes_xy: tuple[PointXY, PointXY] | None = None  # (left in the image, right in the image)

    @property
    def roll_deg(self) -> float:
        """Angle of the eye line from the horizontal, degrees (positive: the right eye is lower); 0 without eyes."""
        if self.eyes_xy is None:
            return 0.0
        (x0, y0), (x1, y1) = self.eyes_xy
        return math.degrees(math.atan2(y1 - y0, x1 - x0))


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as exc:  # a core dependency: only a broken install gets here
        raise BackendError("backend.missing-extra", f"OpenCV could not be imported ({exc}).",
                           hint="Reinstall alphacut: pip install --force-reinstall opencv-python-headless") from exc
    return cv2


def _classifier(cv2: Any, name: str) -> Any:
    clf = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if clf.empty():
        raise BackendError("backend.missing-extra", f"OpenCV's cascade file {name} could not be loaded.",
                           hint="Reinstall opencv-python-headless (its wheel ships cv2.data.haarcascades).")
    return clf


def _gray_u8(image: NDArray[Any]) -> NDArray[np.uint8]:
    """Luma (BT.601) as uint8, a channel at a time: no full-size float RGB copy of a large photo."""
    arr = np.asarray(image)
    if arr.ndim == 2:
        grey = arr.astype(np.float32)
    else:
        grey = arr[:, :, 0] * np.float32(0.299)
        grey += arr[:, :, 1] * np.float32(0.587)
        grey += arr[:, :, 2] * np.float32(0.114)
    if arr.dtype != np.uint8:
        grey *= np.float32(255.0)
    grey += np.float32(0.5)
    return np.ascontiguousarray(np.clip(grey, 0, 255).astype(np.uint8))


def detect_faces(image: NDArray[Any], *, min_face_frac: float = MIN_FACE_FRAC) -> list[Face]:
    """Frontal faces in an image, largest first, each with its eyes when both are found.

    Args:
        image: H x W x 3 RGB (uint8, or float in [0, 1]) or H x W greyscale.
        min_face_frac: ignore faces narrower than this fraction of the shorter side.

    Example:
        >>> detect_faces(np.full((200, 200, 3), 0.8, np.float32))
        []
    """
    cv2 = _cv2()
    gray = _gray_u8(image)
    h, w = gray.shape
    k = min(1.0, DETECT_MAX_SIDE / max(h, w))
    small = cv2.resize(gray, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA) \
        if k < 1.0 else gray
    small = cv2.equalizeHist(small)
    min_px = max(20, round(min_face_frac * min(small.shape)))
    boxes = _classifier(cv2, FACE_CASCADE).detectMultiScale(small, scaleFactor=1.1, minNeighbors=5,
                                                           minSize=(min_px, min_px))
    eye_clfs = [_classifier(cv2, name) for name in EYE_CASCADES]
    faces = []
    for bx, by, bw, bh in (boxes if len(boxes) else []):
        box = (bx / k, by / k, bw / k, bh / k)
        faces.append(Face(box, _find_eyes(cv2, eye_clfs, gray, box)))
    faces.sort(key=lambda f: -f.box_xywh[2] * f.box_xywh[3])
    log.debug("faces: %s", [f.box_xywh for f in faces])
    return faces


def _find_eyes(cv2: Any, clfs: list[Any], gray: NDArray[np.uint8],
               box: BoxXYWH) -> tuple[PointXY, PointXY] | None:
    """The two eye centres inside a face box: the largest eye found in each half of its upper part."""
    bx, by, bw, bh = box
    y0, y1 = max(0, round(by + 0.10 * bh)), min(gray.shape[0], round(by + 0.65 * bh))
    x0, x1 = max(0, round(bx)), min(gray.shape[1], round(bx + bw))
    if y1 - y0 < 8 or x1 - x0 < 16:
        return None
    k = 200.0 / (x1 - x0)  # eyes are looked for on a face 200 px wide
    crop = cv2.resize(gray[y0:y1, x0:x1], (200, max(8, round((y1 - y0) * k))), interpolation=cv2.INTER_AREA)
    halves: list[list[tuple[float, float, float]]] = [[], []]
    for clf in clfs:
        found = clf.detectMultiScale(crop, scaleFactor=1.1, minNeighbors=3, minSize=(22, 22))
        for ex, ey, ew, eh in (found if len(found) else []):
            if ew > 90:  # wider than half the face: not one eye
                continue
            cx, cy = _pupil(cv2, crop, (ex, ey, ew, eh))
            halves[0 if cx < 100 else 1].append((float(ew * eh), cx, cy))
    if not halves[0] or not halves[1]:
        return None
    (_, lx, ly), (_, rx, ry) = max(halves[0]), max(halves[1])
    if rx - lx < 50 or abs(ry - ly) > 0.36 * (rx - lx):  # too close, or steeper than 20 degrees
        return None
    return ((x0 + lx / k, y0 + ly / k), (x0 + rx / k, y0 + ry / k))


def _pupil(cv2: Any, crop: NDArray[np.uint8], eye: tuple[int, int, int, int]) -> PointXY:
    """The darkest spot (blurred) of an eye box's lower 3/4, inset by 1/6 at the sides: the pupil."""
    ex, ey, ew, eh = (int(v) for v in eye)
    x0, x1, y0, y1 = ex + ew // 6, ex + ew - ew // 6, ey + eh // 4, ey + eh
    patch = crop[y0:y1, x0:x1]
    if patch.size == 0:
        return ex + ew / 2.0, ey + eh / 2.0
    blurred = cv2.GaussianBlur(patch, (0, 0), max(1.0, ew / 12.0))
    iy, ix = np.unravel_index(int(np.argmin(blurred)), blurred.shape)
    return x0 + ix + 0.5, y0 + iy + 0.5


# --- detection: MediaPipe's BlazeFace, converted to ONNX by models/tflite.py ----------------------


@dataclass(frozen=True, slots=True)
class BlazeFaceConfig:
    """One BlazeFace graph's input and anchors, as MediaPipe's face_detection_*.pbtxt set them.

    Anchors (SsdAnchorsCalculator with fixed_anchor_size): for each stride, a grid of cells of that
    many input pixels, `per_cell` anchors at each cell's centre, every anchor 1 x 1 (boxes are
    regressed in input pixels, divided by the input size). Strides that repeat share one grid.
    """

    input_size: int
    strides: tuple[int, ...]
    per_cell: tuple[int, ...]  # anchors per cell for each distinct stride, in order
    min_score: float

    @property
    def n_anchors(self) -> int:
        return sum(n * (self.input_size // s) ** 2 for s, n in zip(sorted(set(self.strides)), self.per_cell))


#: face_detection_short_range: 128 px, strides 8, 16, 16, 16 (2 anchors per cell at 8, 6 at 16): 896
#: anchors; for faces within about 2 m of the camera (selfies, portraits, ID photos).
SHORT_RANGE = BlazeFaceConfig(128, (8, 16, 16, 16), (2, 6), 0.5)
#: face_detection_full_range: 192 px, one stride of 4 (1 anchor per cell): 2304 anchors; smaller faces.
FULL_RANGE = BlazeFaceConfig(192, (4,), (1,), 0.6)
#: Overlapping detections (IoU above this) are merged, weighted by score (MediaPipe's WEIGHTED NMS).
NMS_IOU = 0.3
#: BlazeFace's box (eyebrows to chin) as the cascade's (forehead to chin), whose geometry ops/framing.py
#: is calibrated on: on the 18 evaldata faces both found, the cascade's box is 1.07x as wide (sd 0.11)
#: and centred 0.04 widths higher (sd 0.03) (bench/id_photo/id_photo_detectors.py, docs/ID_PHOTOS.md).
CASCADE_BOX_SCALE = 1.07
CASCADE_BOX_RAISE = 0.04


def blazeface_anchors(config: BlazeFaceConfig) -> NDArray[np.float32]:
    """The anchor centres (N x 2, x y in 0..1), in the order of the network's outputs.

    Example:
        >>> blazeface_anchors(SHORT_RANGE).shape, blazeface_anchors(SHORT_RANGE)[0].tolist()
        ((896, 2), [0.03125, 0.03125])
    """
    out = []
    for stride, per_cell in zip(sorted(set(config.strides)), config.per_cell):
        n = config.input_size // stride
        ys, xs = np.mgrid[0:n, 0:n]
        centres = np.stack([(xs + 0.5) / n, (ys + 0.5) / n], axis=-1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, per_cell, axis=1).reshape(-1, 2))
    anchors: NDArray[np.float32] = np.concatenate(out).astype(np.float32)
    return anchors


def decode_blazeface(raw: NDArray[np.float32], config: BlazeFaceConfig,
                     anchors: NDArray[np.float32]) -> list[tuple[float, NDArray[np.float32]]]:
    """Scored detections from the network's flat output (N x 16 regressors, then N scores).

    Each detection is (score, 8 values): the box's x0 y0 x1 y1 and the two eyes' x y (the subject's
    right eye, then its left), all in 0..1 of the input square. Boxes below config.min_score are
    dropped; overlapping ones merged by score-weighted averaging (MediaPipe's weighted NMS).
    """
    n = anchors.shape[0]
    flat = np.asarray(raw, np.float32).reshape(-1)
    if flat.size != n * 17:
        raise BackendError("backend.bad-model", f"The face detector gave {flat.size} values, expected {n * 17}.",
                           hint="Fetch the face detection model again: `alphacut models fetch "
                                "mediapipe-face-detection-full --force`.")
    reg = flat[: n * 16].reshape(n, 16) / np.float32(config.input_size)
    scores = 1.0 / (1.0 + np.exp(-np.clip(flat[n * 16:].astype(np.float64), -100.0, 100.0)))
    keep = np.nonzero(scores >= config.min_score)[0]
    cx, cy = reg[keep, 0] + anchors[keep, 0], reg[keep, 1] + anchors[keep, 1]
    w, h = reg[keep, 2], reg[keep, 3]
    values = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2,
                       reg[keep, 4] + anchors[keep, 0], reg[keep, 5] + anchors[keep, 1],
                       reg[keep, 6] + anchors[keep, 0], reg[keep, 7] + anchors[keep, 1]], axis=1)
    order = np.argsort(-scores[keep], kind="stable")
    remaining = list(order)
    out: list[tuple[float, NDArray[np.float32]]] = []
    while remaining:
        first = remaining[0]
        ious = np.array([_iou(values[first, :4], values[j, :4]) for j in remaining])
        group = [j for j, v in zip(remaining, ious) if v > NMS_IOU]
        weights = scores[keep][group]
        merged = (values[group] * weights[:, None]).sum(axis=0) / weights.sum()
        out.append((float(scores[keep][first]), merged.astype(np.float32)))
        remaining = [j for j, v in zip(remaining, ious) if v <= NMS_IOU]
    return out


def _iou(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    iw = max(0.0, float(min(a[2], b[2]) - max(a[0], b[0])))
    ih = max(0.0, float(min(a[3], b[3]) - max(a[1], b[1])))
    inter = iw * ih
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0


class FaceDetector:
    """MediaPipe's BlazeFace face detector on one runtime backend (catalog ``mediapipe-face-detection``).

    The photo is letterboxed to a square (its aspect kept, black around it, as MediaPipe does),
    reduced to the network's input, scaled to -1..1; boxes and eyes come back in photo pixels.
    ``detect`` is safe to call from several threads.

    Example:
        >>> detector = FaceDetector(store.ensure("mediapipe-face-detection"))  # doctest: +SKIP
        >>> [f.box_xywh for f in detector.detect(rgb)]  # doctest: +SKIP
    """

    def __init__(self, path: Path, *, config: BlazeFaceConfig = SHORT_RANGE, threads: int = 1, runtime: str = "auto",
                 optimized_dir: Path | None = None, model_hash: str | None = None) -> None:
        from .choice import load_backend

        self.config = config
        self._anchors = blazeface_anchors(config)
        self._backend = load_backend(path, runtime=runtime, threads=threads, name="face-detection", precision="f32",
                                     optimized_dir=optimized_dir, model_hash=model_hash)

    def detect(self, image: NDArray[Any], *, min_face_frac: float = MIN_FACE_FRAC) -> list[Face]:
        """Faces in the photo, largest first, each with both eyes (BlazeFace's keypoints) and its box
        in the cascade's convention (CASCADE_BOX_SCALE, CASCADE_BOX_RAISE).

        Args:
            image: H x W x 3 RGB, uint8 or float in [0, 1].
            min_face_frac: ignore faces narrower than this fraction of the shorter side.
        """
        cv2 = _cv2()
        arr = np.asarray(image)
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        h, w = arr.shape[:2]
        side = max(h, w)
        size = self.config.input_size
        k = size / side
        small = cv2.resize(np.ascontiguousarray(arr[:, :, :3]), (max(1, round(w * k)), max(1, round(h * k))),
                           interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
        x = small.astype(np.float32) / (255.0 if arr.dtype == np.uint8 else 1.0) * 2.0 - 1.0
        ox, oy = (size - small.shape[1]) // 2, (size - small.shape[0]) // 2
        square = np.full((size, size, 3), -1.0, np.float32)  # black borders, as MediaPipe letterboxes
        square[oy:oy + small.shape[0], ox:ox + small.shape[1]] = x
        raw = self._backend.run(np.ascontiguousarray(square.transpose(2, 0, 1)[None]))
        faces = []
        for score, v in decode_blazeface(raw, self.config, self._anchors):
            px = (v * size - np.array([ox, oy] * 4, np.float32)) / k  # input square -> photo pixels
            x0, y0, x1, y1 = (float(c) for c in px[:4])
            if x1 - x0 < min_face_frac * min(h, w):
                continue
            side = CASCADE_BOX_SCALE * max(x1 - x0, y1 - y0)
            cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0 - CASCADE_BOX_RAISE * (x1 - x0)
            eyes = sorted([(float(px[4]), float(px[5])), (float(px[6]), float(px[7]))])
            faces.append(Face((cx - side / 2.0, cy - side / 2.0, side, side), (eyes[0], eyes[1])))
            log.debug("face detector: box %s score %.3f", faces[-1].box_xywh, score)
        faces.sort(key=lambda f: -f.box_xywh[2] * f.box_xywh[3])
        return faces


# --- landmarks: MediaPipe's face mesh model (468 points), converted to ONNX by models/tflite.py -----

#: Mesh points used (MediaPipe's canonical face mesh numbering): the chin's lowest point, and the
#: outer and inner corners of each eye (the eye centre is their midpoint).
CHIN, EYE_CORNERS = 152, ((33, 133), (362, 263))
LANDMARK_INPUT = 192
#: The first crop is this many face-box widths wide (the Haar box spans forehead to chin; MediaPipe's
#: own detector box, tighter, is widened 1.5x); later crops are MediaPipe's: 1.5x the landmarks'
#: extent, turned level with the eyes. On samples/astronaut.jpg the chin moves 1.5 px in the first
#: refinement and 0.1 px in the second.
FIRST_CROP, LANDMARK_CROP, REFINEMENTS = 1.6, 1.5, 2
#: Below this face-presence probability (the model's own second output) there is no face in the crop.
MIN_PRESENCE = 0.5


@dataclass(frozen=True, slots=True)
class FaceLandmarks:
    """A face's landmarks in image pixels: the chin's lowest point and the two eye centres."""

    chin_xy: PointXY
    eyes_xy: tuple[PointXY, PointXY]  # (left in the image, right in the image)
    presence: float  # the model's face probability for the final crop, 0..1
    points_xy: NDArray[np.float32]  # all 468 mesh points, x y

    @property
    def roll_deg(self) -> float:
        """Angle of the eye line from the horizontal, degrees (positive: the right eye is lower)."""
        (x0, y0), (x1, y1) = self.eyes_xy
        return math.degrees(math.atan2(y1 - y0, x1 - x0))


class FaceLandmarker:
    """MediaPipe's face landmark network (face mesh, 468 points) on the chosen runtime (runtime/choice.py).

    Built from the model file the store delivers (catalog id ``mediapipe-face-landmark``); one
    per Remover, loaded on the first ID photo. ``locate`` is safe to call from several threads.

    Example:
        >>> marker = FaceLandmarker(store.ensure("mediapipe-face-landmark"))  # doctest: +SKIP
        >>> marker.locate(rgb, detect_faces(rgb)[0]).chin_xy  # doctest: +SKIP
    """

    def __init__(self, path: Path, *, threads: int = 1, runtime: str = "auto", optimized_dir: Path | None = None,
                 model_hash: str | None = None, name: str = "face-landmarks",
                 detector: FaceDetector | None = None) -> None:
        from .choice import load_backend

        # f32 on every runtime: a tiny model, where OpenVINO's bf16 default (AMX) moved points by ~1 px
        self._backend = load_backend(path, runtime=runtime, threads=threads, name=name, precision="f32",
                                     optimized_dir=optimized_dir, model_hash=model_hash)
        #: the face detector that goes with it (BlazeFace); None: the Haar cascade (detect_faces)
        self.detector = detector

    def detect(self, image: NDArray[Any]) -> list[Face]:
        """Faces in the photo: the detector's, or without one the cascade's (detect_faces)."""
        return self.detector.detect(image) if self.detector is not None else detect_faces(image)

    def locate(self, image: NDArray[Any], face: Face) -> FaceLandmarks:
        """The landmarks of the face in `face`'s box: a first crop from the box, then refined crops.

        Args:
            image: H x W x 3 RGB, uint8 or float in [0, 1].
        """
        cv2 = _cv2()
        bx, by, bw, bh = face.box_xywh
        centre, side, angle = (bx + bw / 2.0, by + bh / 2.0), FIRST_CROP * max(bw, bh), 0.0
        if face.eyes_xy is not None:
            angle = math.radians(face.roll_deg)
        for step in range(REFINEMENTS + 1):
            points, presence = self._run(cv2, image, centre, side, angle)
            if step == REFINEMENTS or presence < MIN_PRESENCE:
                break
            centre, side, angle = _crop_from_points(points)
        left, right = sorted(_eye_centres(points))
        chin = (float(points[CHIN, 0]), float(points[CHIN, 1]))
        log.debug("landmarks: chin %s, eyes %s, presence %.3f", chin, (left, right), presence)
        return FaceLandmarks(chin, (left, right), presence, points)

    def _run(self, cv2: Any, image: NDArray[Any], centre: PointXY, side: float,
             angle: float) -> tuple[NDArray[np.float32], float]:
        crop, to_image = _crop(cv2, image, centre, side, angle, LANDMARK_INPUT)
        out = self._backend.run(crop.transpose(2, 0, 1)[None])[0].reshape(-1)
        pts = out[: 468 * 3].reshape(468, 3)[:, :2].astype(np.float64)
        points = (pts @ to_image[:, :2].T + to_image[:, 2]).astype(np.float32)
        presence = 1.0 / (1.0 + math.exp(-float(np.clip(out[468 * 3], -50, 50))))
        return points, presence


def _crop(cv2: Any, image: NDArray[Any], centre: PointXY, side: float, angle: float,
          size: int) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """A size x size float RGB crop (0..1) of the square of `side` px about centre, turned by angle
    (radians); and the 2x3 matrix that maps crop pixels to image pixels.

    A large face is first reduced with area averaging (no aliasing), then warped bilinearly.
    """
    arr = np.asarray(image)
    h, w = arr.shape[:2]
    side = max(float(side), 2.0)  # degenerate landmarks (all in one spot) must not divide by zero
    half = side * 0.75  # covers the turned square (side / sqrt(2) * 1.06)
    x0, y0 = max(0, int(centre[0] - half)), max(0, int(centre[1] - half))
    x1, y1 = min(w, math.ceil(centre[0] + half) + 1), min(h, math.ceil(centre[1] + half) + 1)
    region = arr[y0:y1, x0:x1]
    if region.dtype != np.float32:
        region = region.astype(np.float32) / (255.0 if arr.dtype == np.uint8 else 1.0)
    k = min(1.0, 1.5 * size / side)  # reduce to about 1.5 input pixels per crop pixel first
    if k < 1.0 and region.size:
        region = cv2.resize(region, (max(1, round(region.shape[1] * k)), max(1, round(region.shape[0] * k))),
                            interpolation=cv2.INTER_AREA)
    kx = region.shape[1] / max(1, x1 - x0)
    ky = region.shape[0] / max(1, y1 - y0)
    c, s = math.cos(angle), math.sin(angle)
    scale = side / size
    # crop pixel (u, v) -> image (x, y): centre + R(angle) @ ((u, v) - size/2) * scale
    to_image = np.array([[c * scale, -s * scale, 0.0], [s * scale, c * scale, 0.0]])
    to_image[:, 2] = np.array(centre) - to_image[:, :2] @ np.array([size / 2.0, size / 2.0])
    to_region = np.array([[kx, 0.0, -kx * x0], [0.0, ky, -ky * y0]]) @ np.vstack([to_image, [0.0, 0.0, 1.0]])
    if region.size == 0:
        return np.zeros((size, size, 3), np.float32), to_image
    crop = cv2.warpAffine(np.ascontiguousarray(region), to_region, (size, size),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(np.clip(crop, 0.0, 1.0), dtype=np.float32), to_image


def _eye_centres(points: NDArray[np.float32]) -> list[PointXY]:
    """Each eye's centre: the midpoint of its two corners."""
    return [(float(points[list(pair), 0].mean()), float(points[list(pair), 1].mean())) for pair in EYE_CORNERS]


def _crop_from_points(points: NDArray[np.float32]) -> tuple[PointXY, float, float]:
    """MediaPipe's next crop from landmarks: turned level with the eyes, centred on the points'
    extent in that frame, LANDMARK_CROP times its longer side."""
    (lx, ly), (rx, ry) = sorted(_eye_centres(points))
    angle = math.atan2(float(ry - ly), float(rx - lx))
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, s], [-s, c]])  # image -> level frame
    mean = points.mean(axis=0).astype(np.float64)
    q = (points - mean) @ rot.T
    lo, hi = q.min(axis=0), q.max(axis=0)
    centre = mean + ((lo + hi) / 2.0) @ rot
    return (float(centre[0]), float(centre[1])), LANDMARK_CROP * float(max(hi - lo)), angle
