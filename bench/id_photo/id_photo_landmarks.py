"""The id-photo chin before and after the landmark model (docs/ID_PHOTOS.md, "Measured").

Usage: .venv/bin/python bench/id_photo/id_photo_landmarks.py [../shared/evaldata]

Needs the default model and mediapipe-face-landmark in the cache (`make model`). Three tables:

1. chin error against hand-marked chins: the old estimate (1.75 eye distances below the eye line
   when both eye cascades fire, else 1.02 face-box heights below the box's top) and the model's
   mesh point 152, in pixels and in % of the marked head (crown to chin);
2. the landmark model's face probability on every box the Haar cascade finds in davis_people,
   sod_bsds_dev, grabcut and samples/astronaut.jpg (real faces: bench/id_photo/id_photo_detectors.FACES);
3. where the marked crown and chin land on the canvas of both presets, framed without and with
   the landmark model (the same call the pipeline makes, portrait.place_portrait);
and first the time to load the model and, on samples/astronaut.jpg, to detect the face and locate
its landmarks.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench" / "id_photo"))

from id_photo_detectors import FACES, IGNORE

# (image, crown_y, chin_y, eye_y) in source pixels, marked by hand: one list, shared with the tests
MARKED = [tuple(m) for m in json.loads((Path(__file__).with_name("id_photo_marks.json")).read_text())["marks"]]
# chins only (a fez and a helmet: no crown to mark)
CHIN_ONLY = [("grabcut/images/189080.jpg", 426.5), ("grabcut/images/376043.jpg", 169.5)]


def _path(evaldata: Path, name: str) -> Path:
    return REPO / name if name.startswith("samples/") else evaldata / name


def _estimate(face) -> float:  # type: ignore[no-untyped-def]
    from alphacut.ops import framing

    _, by, _, bh = face.box_xywh
    if face.eyes_xy is None:
        return by + framing.CHIN_BELOW_FACE_TOP * bh
    (lx, ly), (rx, ry) = face.eyes_xy
    return (ly + ry) / 2 + framing.CHIN_BELOW_EYES_IPD * math.hypot(rx - lx, ry - ly)


def chin_errors(evaldata: Path, marker) -> None:  # type: ignore[no-untyped-def]
    from alphacut.runtime.faces import detect_faces

    print("| photo | marked chin | estimate | landmarks |\n|---|---|---|---|")
    errs: dict[str, list[float]] = {"estimate": [], "landmarks": []}
    rows = [(n, crown, chin) for n, crown, chin, _ in MARKED] + [(n, None, chin) for n, chin in CHIN_ONLY]
    for name, crown, chin in rows:
        rgb = np.asarray(Image.open(_path(evaldata, name)).convert("RGB"))
        face = detect_faces(rgb)[0]
        got = {"estimate": _estimate(face), "landmarks": marker.locate(rgb, face).chin_xy[1]}
        cells = []
        for key, y in got.items():
            if crown is not None:
                errs[key].append(100 * (y - chin) / (chin - crown))
                cells.append(f"{y - chin:+.1f} px ({100 * (y - chin) / (chin - crown):+.1f}%)")
            else:
                cells.append(f"{y - chin:+.1f} px")
        print(f"| {name} | {chin} | {cells[0]} | {cells[1]} |")
    for key, e in errs.items():
        a = np.abs(e)
        print(f"{key}: mean |error| {a.mean():.1f}% of the head, max {a.max():.1f}% ({len(a)} faces with a crown)")


def presence(evaldata: Path, marker) -> None:  # type: ignore[no-untyped-def]
    from alphacut.runtime.faces import detect_faces

    truth: dict[str, list[tuple[int, int]]] = {}
    for name, x, y in FACES:
        truth.setdefault(name, []).append((x, y))
    paths = {f"{s}/images/{p.name}": p for s in ("davis_people", "sod_bsds_dev", "grabcut")
             for p in sorted((evaldata / s / "images").iterdir())}
    paths["samples/astronaut.jpg"] = REPO / "samples" / "astronaut.jpg"
    real, false = [], []
    for name, path in paths.items():
        if name in IGNORE:
            continue
        rgb = np.asarray(Image.open(path).convert("RGB"))
        for face in detect_faces(rgb):
            x, y, w, h = face.box_xywh
            p = marker.locate(rgb, face).presence
            hit = any(x <= fx < x + w and y <= fy < y + h for fx, fy in truth.get(name, []))
            (real if hit else false).append((name, p))
    print(f"Haar boxes on real faces: {len(real)}, face probability >= 0.5 on {sum(p >= 0.5 for _, p in real)}; "
          f"min {min(p for _, p in real):.3f}")
    print(f"false boxes: {len(false)}, face probability >= 0.5 on {sum(p >= 0.5 for _, p in false)}: "
          + ", ".join(f"{n} {p:.3f}" for n, p in false))


def framing_table(evaldata: Path, marker) -> None:  # type: ignore[no-untyped-def]
    import alphacut
    from alphacut.io.decode import decode_image
    from alphacut.ops.framing import ID_RULES
    from alphacut.ops.pixels import u8_to_float
    from alphacut.options import Options
    from alphacut.portrait import place_portrait

    remover = alphacut.Remover()
    print("| photo | rule | without landmarks: head / top / eyes | with landmarks: head / top / eyes |")
    print("|---|---|---|---|")
    for name, crown, chin, eyes in MARKED:
        data = _path(evaldata, name).read_bytes()
        rgb = u8_to_float(decode_image(data).rgb)
        alpha = remover.matte(data, Options.from_kwargs(preset="id-photo"))
        for preset, rule_name in (("id-photo", "icao"), ("id-photo-us", "us")):
            rule = ID_RULES[rule_name]
            cells = []
            for landmarker in (None, marker):
                _, _, placed = place_portrait(rgb, alpha, Options.from_kwargs(preset=preset), landmarker)
                _, y0, _, y1 = placed.frame.rect_xyxy
                cx = placed.pivot_xy[0] if placed.roll_deg else 0.0
                (_, c), (_, n), (_, e) = (placed.to_frame_xy(cx, v) for v in (crown, chin, eyes))
                head, top, eye = (n - c) / (y1 - y0), (c - y0) / (y1 - y0), (y1 - e) / (y1 - y0)
                ok = rule.head_range[0] <= head <= rule.head_range[1] and rule.top_range[0] <= top <= rule.top_range[1]
                cells.append(f"{100 * head:.1f}% / {100 * top:.1f}% / {100 * eye:.1f}%{'' if ok else ' **OUT**'}")
            print(f"| {name} | {rule_name} | {cells[0]} | {cells[1]} |")


def timing(marker) -> None:  # type: ignore[no-untyped-def]
    """Face detection and landmarks on samples/astronaut.jpg, interleaved, the best of 5 each."""
    import time

    from alphacut.runtime.faces import detect_faces

    rgb = np.asarray(Image.open(REPO / "samples" / "astronaut.jpg").convert("RGB"))
    best = {"detect_faces": 1e9, "locate": 1e9}
    for _ in range(5):
        t = time.perf_counter()
        face = detect_faces(rgb)[0]
        best["detect_faces"] = min(best["detect_faces"], time.perf_counter() - t)
        t = time.perf_counter()
        marker.locate(rgb, face)
        best["locate"] = min(best["locate"], time.perf_counter() - t)
    print("512x512, best of 5: " + ", ".join(f"{k} {1000 * v:.0f} ms" for k, v in best.items()))


def main() -> None:
    import logging
    import time

    from alphacut.api import FACE_LANDMARK_MODEL
    from alphacut.config import load_settings
    from alphacut.models.store import ModelStore
    from alphacut.runtime.faces import FaceLandmarker

    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description="The id-photo chin before and after the landmark model.")
    parser.add_argument("evaldata", nargs="?", type=Path, default=REPO.parent / "shared" / "evaldata",
                        help="the evaldata folder (default: ../shared/evaldata beside the repository)")
    evaldata = parser.parse_args().evaldata
    t = time.perf_counter()
    marker = FaceLandmarker(ModelStore(load_settings().home_path).ensure(FACE_LANDMARK_MODEL))
    print(f"landmark model loaded in {1000 * (time.perf_counter() - t):.0f} ms")
    timing(marker)
    chin_errors(evaldata, marker)
    presence(evaldata, marker)
    framing_table(evaldata, marker)


if __name__ == "__main__":
    main()
