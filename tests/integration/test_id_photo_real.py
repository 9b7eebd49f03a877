"""ID photos from real portraits with the real model, measured against the rules with hand-marked heads.

Each face's crown (top of the hair), chin and eye line were marked by hand on the source photo
(docs/ID_PHOTOS.md). The test takes the framing the preset chooses (portrait.place_portrait, the
same call the pipeline makes) and measures where those true points land on the canvas: the error of
the chin estimate (a calibrated offset below the face box) is part of what is measured.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[2]
PRESET_RULE = {"id-photo": "icao", "id-photo-us": "us"}

# (set/image, crown_y, chin_y, eye_y) in source pixels, marked by hand
ASTRONAUT = ("samples/astronaut.jpg", 16, 178, 102)
EVALDATA_FACES = [
    ("grabcut/images/person1.jpg", 80, 338, 203),
    ("grabcut/images/person2.png", 118, 368, 267),
    ("grabcut/images/person8.png", 80, 408, 240),
    ("grabcut/images/person4.jpg", 105, 189, 153),
    ("grabcut/images/181079.jpg", 13, 128, 75),
    ("sod_bsds_dev/images/65074.jpg", 80, 173, 140),
]


def _measure(remover, path: Path, crown: float, chin: float, eyes: float, preset: str) -> dict[str, float]:
    from alphacut.io.decode import decode_image
    from alphacut.ops.pixels import u8_to_float
    from alphacut.options import Options
    from alphacut.portrait import place_portrait

    options = Options.from_kwargs(preset=preset)
    rgb = decode_image(path.read_bytes()).rgb
    alpha = remover.matte(path.read_bytes(), options)
    _, _, placed = place_portrait(u8_to_float(rgb), alpha, options)
    _, y0, _, y1 = placed.frame.rect_xyxy
    cx = placed.pivot_xy[0] if placed.roll_deg else 0.0  # points on the face's centre line (eye midpoint)
    (_, c), (_, n), (_, e) = (placed.to_frame_xy(cx, v) for v in (crown, chin, eyes))
    h = y1 - y0
    return {"head": (n - c) / h, "top": (c - y0) / h, "eyes": (y1 - e) / h}


def _within(m: dict[str, float], rule, tol: float = 0.0) -> bool:
    return (rule.head_range[0] - tol <= m["head"] <= rule.head_range[1] + tol
            and rule.top_range[0] - tol <= m["top"] <= rule.top_range[1] + tol)


@pytest.mark.parametrize("preset", list(PRESET_RULE))
def test_bundled_astronaut_meets_the_rule(real_remover, preset):
    from alphacut.ops.framing import ID_RULES

    rule = ID_RULES[PRESET_RULE[preset]]
    name, crown, chin, eyes = ASTRONAUT
    m = _measure(real_remover, REPO / name, crown, chin, eyes, preset)
    print(preset, {k: round(v, 3) for k, v in m.items()})
    # measured: icao head 0.749 top 0.105 eyes 0.497. Eyes found, so the chin comes from the eye
    # distance (about 1 px from the marked one here; 13 px from the face box alone).
    assert _within(m, rule), m
    from alphacut.options import Options

    out = real_remover.cutout(REPO / name, Options.from_kwargs(preset=preset))
    assert out.image.size == rule.size_wh


def test_evaldata_people_meet_the_rule(real_remover, evaldata):
    from alphacut.ops.framing import ID_RULES

    rows, ok, near = [], {p: 0 for p in PRESET_RULE}, {p: 0 for p in PRESET_RULE}
    for name, crown, chin, eyes in EVALDATA_FACES:
        for preset, rule_name in PRESET_RULE.items():
            m = _measure(real_remover, evaldata / name, crown, chin, eyes, preset)
            good = _within(m, ID_RULES[rule_name])
            ok[preset] += good
            near[preset] += _within(m, ID_RULES[rule_name], tol=0.035)
            rows.append(f"{name:32s} {preset:12s} head {m['head']:.3f} top {m['top']:.3f} eyes {m['eyes']:.3f}"
                        f" {'ok' if good else 'OUT'}")
    print("\n".join(rows))
    # measured (docs/ID_PHOTOS.md): US 6 of 6 within the rule; ICAO (head 32-36 mm = 71.1-80%) 3 of 6,
    # the other three 1.8-2.8 points under it (heads 68.3-69.3%): the chin estimate's error (mean 0.07
    # face-box heights, ~5% of the head) is about the half-width of ICAO's range. A change that moves
    # a head further off fails here.
    assert ok["id-photo-us"] == len(EVALDATA_FACES), ok
    assert near["id-photo"] == len(EVALDATA_FACES) and ok["id-photo"] >= 3, (ok, near)


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
