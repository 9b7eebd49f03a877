"""Compare face detectors on evaldata's photos with people (how runtime/faces.py's was chosen).

Usage: .venv/bin/python bench/id_photo/id_photo_detectors.py [../shared/evaldata]

Runs OpenCV's haarcascade_frontalface_{default,alt,alt2} the way runtime/faces.py used to (grey,
equalized, scaleFactor 1.1, minNeighbors 5) and MediaPipe's BlazeFace, short and full range
(runtime/faces.FaceDetector, the catalog's mediapipe-face-detection-{short,full}), all keeping faces
>= 6% of the shorter side here to count small ones too, on davis_people, sod_bsds_dev, grabcut,
adobe_crops and samples/astronaut.jpg. FACES lists the centre of every real human face that any of
the detectors found, judged by eye from contact sheets (a doll's face is left out of both counts;
the second block was added when BlazeFace was measured). A box is a hit if one of those centres lies
in it enlarged by a quarter of its size on every side (BlazeFace's boxes are tighter and lower than
the cascades': eyebrows to chin), else a false box.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
FACES = [  # (image, face centre x, y), judged by eye
    ("davis_people/images/180_stroller.jpg", 281, 150),
    ("davis_people/images/221_breakdance-flare.jpg", 642, 152),
    ("davis_people/images/221_breakdance-flare.jpg", 197, 181),
    ("davis_people/images/221_breakdance-flare.jpg", 129, 188),
    ("davis_people/images/221_breakdance-flare.jpg", 231, 187),
    ("davis_people/images/221_breakdance-flare.jpg", 485, 296),
    ("davis_people/images/228_breakdance-flare.jpg", 584, 152),
    ("davis_people/images/228_breakdance-flare.jpg", 638, 153),
    ("davis_people/images/228_breakdance-flare.jpg", 189, 177),
    ("davis_people/images/228_breakdance-flare.jpg", 233, 188),
    ("davis_people/images/228_breakdance-flare.jpg", 491, 293),
    ("sod_bsds_dev/images/156065.jpg", 156, 190),
    ("sod_bsds_dev/images/189011.jpg", 263, 130),
    ("sod_bsds_dev/images/198023.jpg", 141, 147),
    ("sod_bsds_dev/images/246016.jpg", 122, 84),
    ("sod_bsds_dev/images/260081.jpg", 162, 242),
    ("sod_bsds_dev/images/323016.jpg", 237, 63),
    ("sod_bsds_dev/images/323016.jpg", 125, 127),
    ("sod_bsds_dev/images/323016.jpg", 348, 142),
    ("sod_bsds_dev/images/370036.jpg", 395, 38),
    ("sod_bsds_dev/images/370036.jpg", 182, 52),
    ("sod_bsds_dev/images/370036.jpg", 291, 61),
    ("sod_bsds_dev/images/65074.jpg", 127, 146),
    ("sod_bsds_dev/images/85048.jpg", 234, 69),
    ("grabcut/images/181079.jpg", 145, 81),
    ("grabcut/images/189080.jpg", 158, 291),
    ("grabcut/images/271008.jpg", 340, 132),
    ("grabcut/images/271008.jpg", 209, 156),
    ("grabcut/images/376043.jpg", 161, 138),
    ("grabcut/images/388016.jpg", 154, 93),
    ("grabcut/images/65019.jpg", 284, 82),
    ("grabcut/images/person1.jpg", 346, 221),
    ("grabcut/images/person2.png", 351, 288),
    ("grabcut/images/person4.jpg", 187, 159),
    ("grabcut/images/person8.png", 329, 262),
    ("samples/astronaut.jpg", 224, 113),
    # found by BlazeFace (short or full range) only, judged by eye (2026-12)
    ("adobe_crops/images/8489fb8fa1_e69c3f11c2.png", 234, 82),  # also Haar's, a face behind a clear sheet
    ("adobe_crops/images/27df942532_50a4786d1a.png", 196, 149),
    ("davis_people/images/024_breakdance.jpg", 391, 241),
    ("davis_people/images/030_breakdance.jpg", 377, 223),
    ("davis_people/images/155_parkour-wall.jpg", 212, 134),
    ("davis_people/images/172_stroller.jpg", 251, 136),
    ("sod_bsds_dev/images/187029.jpg", 167, 110),
    ("sod_bsds_dev/images/239096.jpg", 200, 132),
    ("sod_bsds_dev/images/246016.jpg", 182, 346),  # in profile
    ("sod_bsds_dev/images/89072.jpg", 178, 134),  # looking down
    ("sod_bsds_dev/images/61060.jpg", 192, 90),  # behind a camera
    ("grabcut/images/person4.jpg", 338, 136),
    ("grabcut/images/tennis.jpg", 257, 167),
]
GROW = 0.25  # a box counts the face centres inside it enlarged by this much of its size on each side
IGNORE = {"grabcut/images/doll.png"}


def _count(boxes_of: dict[str, list[tuple[float, float, float, float]]],
           faces: dict[str, list[tuple[int, int]]]) -> tuple[int, int, int]:
    """(faces found, false boxes, images with a false box)."""
    found: set[tuple[str, int, int]] = set()
    false_boxes, false_images = 0, set()
    for name, boxes in boxes_of.items():
        for x, y, w, h in boxes:
            hit = [(fx, fy) for fx, fy in faces.get(name, [])
                   if x - GROW * w <= fx < x + (1 + GROW) * w and y - GROW * h <= fy < y + (1 + GROW) * h]
            if hit:
                found.update((name, fx, fy) for fx, fy in hit)
            else:
                false_boxes += 1
                false_images.add(name)
    return len(found), false_boxes, len(false_images)


def main() -> None:
    sys.path.insert(0, str(REPO / "src"))
    from alphacut.config import load_settings
    from alphacut.models.store import ModelStore
    from alphacut.runtime import faces as rfaces

    evaldata = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "evaldata"
    paths = {f"{s}/images/{p.name}": p for s in ("davis_people", "sod_bsds_dev", "grabcut", "adobe_crops")
             for p in sorted((evaldata / s / "images").iterdir())}
    paths["samples/astronaut.jpg"] = REPO / "samples" / "astronaut.jpg"
    for name in IGNORE:
        paths.pop(name, None)
    faces: dict[str, list[tuple[int, int]]] = {}
    for name, x, y in FACES:
        faces.setdefault(name, []).append((x, y))
    print(f"{len(paths)} images, {len(FACES)} faces")
    print(f"| detector | faces found (of {len(FACES)}) | false boxes | photos with a false box |")
    print("|---|---:|---:|---:|")
    store = ModelStore(load_settings().home_path)
    detectors = {f"BlazeFace {kind} range": rfaces.FaceDetector(
        store.ensure(f"mediapipe-face-detection-{kind}"),
        config=rfaces.SHORT_RANGE if kind == "short" else rfaces.FULL_RANGE) for kind in ("short", "full")}
    for cascade in ("default", "alt", "alt2"):
        clf = cv2.CascadeClassifier(cv2.data.haarcascades + f"haarcascade_frontalface_{cascade}.xml")
        boxes_of = {}
        for name, path in paths.items():
            grey = cv2.equalizeHist(np.asarray(Image.open(path).convert("L")))
            side = max(20, int(0.06 * min(grey.shape)))
            boxes_of[name] = [tuple(map(float, b)) for b in
                              clf.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(side, side))]
        print("| Haar frontalface_{} | {} | {} | {} |".format(cascade, *_count(boxes_of, faces)))
    for label, det in detectors.items():
        boxes_of = {name: [f.box_xywh for f in det.detect(np.asarray(Image.open(path).convert("RGB")),
                                                           min_face_frac=0.06)] for name, path in paths.items()}
        print("| {} | {} | {} | {} |".format(label, *_count(boxes_of, faces)))


if __name__ == "__main__":
    main()
