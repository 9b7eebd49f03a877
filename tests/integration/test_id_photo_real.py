"""ID photos from real portraits with the real models, measured against the rules with hand-marked heads.

Each face's crown (top of the hair), chin and eye line were marked by hand on the source photo
(docs/ID_PHOTOS.md; the chins again at 7x zoom against a pixel ruler). The test takes the framing the
preset chooses (portrait.place_portrait with the face landmark model, the same call the pipeline
makes) and measures where those true points land on the canvas: the landmark model's error is part
of what is measured.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[2]
PRESET_RULE = {"id-photo": "icao", "id-photo-us": "us"}

# (set/image, crown_y, chin_y, eye_y) in source pixels, marked by hand (one list for this test and
# bench/id_photo/id_photo_landmarks.py)
_MARKS = [tuple(m) for m in json.loads((REPO / "bench" / "id_photo" / "id_photo_marks.json").read_text())["marks"]]
ASTRONAUT = _MARKS[0]
EVALDATA_FACES = _MARKS[1:]
#: Marked photos with a second person whose face is as large: BlazeFace finds the second man's profile
#: in person4 (the Haar cascade did not), so the id-photo presets refuse it (input.many-faces).
TWO_PEOPLE = ("grabcut/images/person4.jpg",)


@pytest.fixture(scope="session")
def landmarker(real_store):
    from alphacut.api import FACE_DETECTION_MODEL, FACE_LANDMARK_MODEL
    from alphacut.runtime.faces import FULL_RANGE, FaceDetector, FaceLandmarker

    for model in (FACE_LANDMARK_MODEL, FACE_DETECTION_MODEL):
        if not real_store.is_cached(model):
            pytest.skip(f"{model} is not cached: run `make model` (make test does) to fetch it once")
    # what Remover.landmarker loads: BlazeFace finds the face, the face mesh the chin and eyes
    detector = FaceDetector(real_store.ensure(FACE_DETECTION_MODEL), config=FULL_RANGE)
    return FaceLandmarker(real_store.ensure(FACE_LANDMARK_MODEL), detector=detector)


def _measure(remover, path: Path, crown: float, chin: float, eyes: float, preset: str,
             landmarker=None) -> dict[str, float]:
    from alphacut.io.decode import decode_image
    from alphacut.ops.pixels import u8_to_float
    from alphacut.options import Options
    from alphacut.portrait import place_portrait

    options = Options.from_kwargs(preset=preset)
    rgb = decode_image(path.read_bytes()).rgb
    alpha = remover.matte(path.read_bytes(), options)
    _, _, placed = place_portrait(u8_to_float(rgb), alpha, options, landmarker)
    assert placed.landmarks == (landmarker is not None)
    _, y0, _, y1 = placed.frame.rect_xyxy
    cx = placed.pivot_xy[0] if placed.roll_deg else 0.0  # points on the face's centre line (eye midpoint)
    (_, c), (_, n), (_, e) = (placed.to_frame_xy(cx, v) for v in (crown, chin, eyes))
    h = y1 - y0
    return {"head": (n - c) / h, "top": (c - y0) / h, "eyes": (y1 - e) / h}


def _within(m: dict[str, float], rule, tol: float = 0.0) -> bool:
    return (rule.head_range[0] - tol <= m["head"] <= rule.head_range[1] + tol
            and rule.top_range[0] - tol <= m["top"] <= rule.top_range[1] + tol)


@pytest.mark.parametrize("preset", list(PRESET_RULE))
def test_bundled_astronaut_meets_the_rule(real_remover, landmarker, preset):
    from alphacut.ops.framing import ID_RULES

    rule = ID_RULES[PRESET_RULE[preset]]
    name, crown, chin, eyes = ASTRONAUT
    m = _measure(real_remover, REPO / name, crown, chin, eyes, preset, landmarker)
    print(preset, {k: round(v, 3) for k, v in m.items()})
    # measured (docs/ID_PHOTOS.md): icao head 0.754 top 0.072 eyes 0.528; us head 0.593 top 0.092 eyes 0.593.
    assert _within(m, rule), m
    assert rule.eyes_range[0] <= m["eyes"] <= rule.eyes_range[1], m
    from alphacut.options import Options

    out = real_remover.cutout(REPO / name, Options.from_kwargs(preset=preset))
    assert out.image.size == rule.size_wh


def test_evaldata_people_meet_the_rule(real_remover, landmarker, evaldata):
    from alphacut.errors import InputError
    from alphacut.ops.framing import ID_RULES

    rows, ok, near = [], {p: 0 for p in PRESET_RULE}, {p: 0 for p in PRESET_RULE}
    faces = [f for f in EVALDATA_FACES if f[0] not in TWO_PEOPLE]
    for name in TWO_PEOPLE:  # a second man, in profile, as large: refused as an ID photo must be
        with pytest.raises(InputError) as err:
            _measure(real_remover, evaldata / name, 0, 0, 0, "id-photo", landmarker)
        assert err.value.code == "input.many-faces"
    for name, crown, chin, eyes in faces:
        for preset, rule_name in PRESET_RULE.items():
            m = _measure(real_remover, evaldata / name, crown, chin, eyes, preset, landmarker)
            good = _within(m, ID_RULES[rule_name])
            ok[preset] += good
            near[preset] += _within(m, ID_RULES[rule_name], tol=0.005)
            rows.append(f"{name:32s} {preset:12s} head {m['head']:.3f} top {m['top']:.3f} eyes {m['eyes']:.3f}"
                        f" {'ok' if good else 'OUT'}")
    print("\n".join(rows))
    # measured (docs/ID_PHOTOS.md): US 6 of 6 within the rule; ICAO 5 of 6, and 65074 0.2 points under
    # 71.1% (her crown-to-eyes is 63% of the head: at ICAO's target head size the eye line and the
    # space above cannot both hold, so the head is made smaller). Without the landmark model (the old
    # chin estimate) ICAO was 4 of 6 against the same marks, 181079 at 64.7%.
    assert ok["id-photo-us"] == len(faces), ok
    assert ok["id-photo"] >= len(faces) - 1 and near["id-photo"] == len(faces), (ok, near)


def test_landmark_chin_is_within_3_percent_of_the_head(landmarker, evaldata):
    import numpy as np
    from PIL import Image

    from alphacut.runtime.faces import detect_faces

    errors = []
    for name, crown, chin, _ in [ASTRONAUT, *EVALDATA_FACES]:
        path = REPO / name if name.startswith("samples/") else evaldata / name
        rgb = np.asarray(Image.open(path).convert("RGB"))
        found = landmarker.locate(rgb, detect_faces(rgb)[0])
        assert found.presence > 0.9
        errors.append((found.chin_xy[1] - chin) / (chin - crown))
    print([round(100 * e, 1) for e in errors])
    # measured: -0.7 -3.0 +1.4 -0.7 -0.5 +0.4 +1.8 (% of the head); the old estimate: up to 14.3%
    assert max(abs(e) for e in errors) <= 0.035 and sum(abs(e) for e in errors) / len(errors) <= 0.02, errors


def test_a_false_face_box_is_refused(real_remover, evaldata):
    import numpy as np
    from PIL import Image

    from alphacut.errors import InputError
    from alphacut.options import Options
    from alphacut.runtime.faces import detect_faces

    path = evaldata / "sod_bsds_dev/images/42044.jpg"  # three owlets: the Haar cascade boxes one as a face
    assert len(detect_faces(np.asarray(Image.open(path).convert("RGB")))) == 1
    with pytest.raises(InputError) as err:
        real_remover.cutout(path, Options.from_kwargs(preset="id-photo"))
    assert err.value.code == "input.no-face"


@pytest.mark.parametrize("preset", list(PRESET_RULE))
@pytest.mark.parametrize("kind", ["plain", "big-hair", "tilted"])
def test_drawn_portraits_with_the_landmark_model(landmarker, preset, kind):
    import numpy as np

    from alphacut.ops.framing import ID_RULES
    from alphacut.ops.pixels import u8_to_float
    from alphacut.options import Options
    from alphacut.portrait import place_portrait

    from ..unit.portraits import BACKGROUND, draw_portrait, rotate

    p = draw_portrait(hair=1.8 if kind == "big-hair" else 1.0)
    rgb = rotate(p, 8.0) if kind == "tilted" else p.rgb
    alpha = (np.abs(rgb.astype(np.float32) - np.float32(BACKGROUND)).max(axis=2) > 30).astype(np.float32)
    rule = ID_RULES[PRESET_RULE[preset]]
    _, _, placed = place_portrait(u8_to_float(rgb), alpha, Options.from_kwargs(preset=preset), landmarker)
    f = placed.frame
    assert placed.landmarks
    assert rule.head_range[0] <= f.head_frac <= rule.head_range[1], f
    assert rule.top_range[0] <= f.top_frac <= rule.top_range[1], f
    if kind != "tilted":  # the drawn chin, where the landmark model put it (a drawing, not a photo)
        assert abs(f.chin_y - p.chin_y) <= 0.04 * (p.chin_y - p.crown_y), (f.chin_y, p.chin_y)
    if kind == "tilted":
        assert abs(abs(placed.roll_deg) - 8.0) < 2.5, placed.roll_deg


def test_a_group_photo_is_refused(real_remover, evaldata):
    from alphacut.errors import InputError
    from alphacut.options import Options

    with pytest.raises(InputError) as err:  # three astronauts side by side
        real_remover.cutout(evaldata / "sod_bsds_dev/images/323016.jpg", Options.from_kwargs(preset="id-photo"))
    assert err.value.code == "input.many-faces"


@pytest.mark.parametrize("name", ["coffee.jpg", "chelsea.jpg"])
def test_no_person_is_refused(real_remover, name):
    from alphacut.errors import InputError
    from alphacut.options import Options

    with pytest.raises(InputError) as err:
        real_remover.cutout(REPO / "samples" / name, Options.from_kwargs(preset="id-photo-us"))
    assert err.value.code == "input.no-face"
