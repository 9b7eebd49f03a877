"""Compare OpenCV's frontal-face cascades on evaldata's photos (how runtime/faces.py's was chosen).

Usage: .venv/bin/python bench/id_photo/id_photo_detectors.py [../shared/evaldata]

Runs haarcascade_frontalface_{default,alt,alt2} the way runtime/faces.py does (grey, equalized,
scaleFactor 1.1, minNeighbors 5, faces >= 6% of the shorter side here to count small ones too) on
davis_people, sod_bsds_dev, grabcut and samples/astronaut.jpg. FACES lists the centre of every real
human face that any of the three found, judged by eye from contact sheets (a doll's face is left
out of both counts). A box is a hit if it contains one of those centres, else a false box.
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
]
IGNORE = {"grabcut/images/doll.png"}


def main() -> None:
    evaldata = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "evaldata"
    paths = {f"{s}/images/{p.name}": p for s in ("davis_people", "sod_bsds_dev", "grabcut")
             for p in sorted((evaldata / s / "images").iterdir())}
    paths["samples/astronaut.jpg"] = REPO / "samples" / "astronaut.jpg"
    faces: dict[str, list[tuple[int, int]]] = {}
    for name, x, y in FACES:
        faces.setdefault(name, []).append((x, y))
    print(f"{len(paths)} images, {len(FACES)} faces")
    for cascade in ("default", "alt", "alt2"):
        clf = cv2.CascadeClassifier(cv2.data.haarcascades + f"haarcascade_frontalface_{cascade}.xml")
        found: set[tuple[str, int, int]] = set()
        false_boxes, false_images = 0, set()
        for name, path in paths.items():
            if name in IGNORE:
                continue
            grey = cv2.equalizeHist(np.asarray(Image.open(path).convert("L")))
            side = max(20, int(0.06 * min(grey.shape)))
            for x, y, w, h in clf.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(side, side)):
                hit = [(fx, fy) for fx, fy in faces.get(name, []) if x <= fx < x + w and y <= fy < y + h]
                if hit:
                    found.update((name, fx, fy) for fx, fy in hit)
                else:
                    false_boxes += 1
                    false_images.add(name)
        print(f"frontalface_{cascade:8s} faces found {len(found):2d} of {len(FACES)}, "
              f"false boxes {false_boxes:2d} in {len(false_images)} images")


if __name__ == "__main__":
    main()
