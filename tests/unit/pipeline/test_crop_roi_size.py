"""Per-side crop margins, a region of interest and an output pixel cap: typed Options implemented once
in the library, the same pixels from the library, the CLI and remove.bg's route."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from alphacut.api import Remover
from alphacut.errors import OptionsError
from alphacut.options import Length, Margin, MarginBasis, Options, Roi, check_fits_image
from alphacut.runtime.fake import FakeBackend

from ..conftest import encoded, square_image

#: remove.bg's crop_margin as a library user writes it: % of the subject's own axis, 50 % / 500 px caps
REMOVEBG_MARGIN = {"basis": MarginBasis.AXIS, "max_frac": 0.5, "max_px": 500}


def small_subject(w: int = 400, h: int = 300) -> bytes:
    """A 40x40 dark square at (180, 130) on a light background: room for any margin around it."""
    arr = np.full((h, w, 3), 240, np.uint8)
    arr[130:170, 180:220] = (20, 30, 200)
    return encoded(Image.fromarray(arr, "RGB"), "PNG")


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


@pytest.fixture
def remover(tiny_spec: Any) -> Remover:
    return Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))


# ------------------------------------------------------------------------------------ the types
@pytest.mark.parametrize(("text", "box_wh", "px"), [
    ("10", (200, 100), (10, 10, 10, 10)),
    ("5%", (200, 100), (10, 10, 10, 10)),  # LONGER: of the box's longer side, every side
    ("10px 20px", (200, 100), (10, 20, 10, 20)),
    ("1 2 3 4", (200, 100), (1, 2, 3, 4)),
])
def test_margin_longer_basis_css_order(text: str, box_wh: tuple[int, int], px: tuple[int, ...]) -> None:
    assert Margin.parse(text).to_px(box_wh) == px


@pytest.mark.parametrize(("text", "box_wh", "px"), [
    ("10%", (200, 100), (10, 20, 10, 20)),  # AXIS: top/bottom of the height, left/right of the width
    ("100%", (200, 100), (50, 100, 50, 100)),  # clamped to 50 % of each axis
    ("10px 80%", (200, 100), (10, 100, 10, 100)),
    ("900px", (4000, 3000), (500, 500, 500, 500)),  # clamped to 500 px
    ("900px", (400, 300), (150, 200, 150, 200)),  # 50 % binds first
])
def test_margin_removebg_axis_basis_and_clamps(text: str, box_wh: tuple[int, int], px: tuple[int, ...]) -> None:
    assert Margin.parse(text, **REMOVEBG_MARGIN).to_px(box_wh) == px


@pytest.mark.parametrize("bad", ["", "1 2 3", "1 2 3 4 5", "-1", "x", "101%", "10001", "nan", "inf%"])
def test_margin_bad_values_are_options_errors(bad: str) -> None:
    with pytest.raises(OptionsError) as err:
        Margin.parse(bad)
    assert err.value.code == "options.invalid"


def test_margin_takes_lengths_only() -> None:
    with pytest.raises(OptionsError, match="Margin.all"):
        Margin(20)  # type: ignore[arg-type]


def test_roi_box_and_its_bounds() -> None:
    assert Roi.parse("10px 5px 50% 100%").box_xyxy((120, 80)) == (10, 5, 60, 80)
    for text, code in [("50% 0% 10% 100%", "options.roi-empty"), ("0 0 121 80", "options.roi-outside"),
                       ("0 0 10 10", None)]:
        options = Options(roi=Roi.parse(text))
        if code is None:
            check_fits_image(options, (120, 80))
        else:
            with pytest.raises(OptionsError) as err:
                check_fits_image(options, (120, 80))
            assert err.value.code == code
    with pytest.raises(OptionsError) as err:
        Roi.parse("0% 0% 150% 100%")
    assert err.value.code == "options.roi-outside"
    for bad in ("1 2 3", "a b c d", "-1 0 10 10"):
        with pytest.raises(OptionsError):
            Roi.parse(bad)


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "many"])
def test_max_output_pixels_must_be_a_positive_int(bad: Any) -> None:
    with pytest.raises(OptionsError):
        Options.from_kwargs(max_output_pixels=bad)


# ------------------------------------------------------------------------------ the library
def test_library_crop_with_per_side_margin(remover: Remover) -> None:
    tight = remover.cutout(small_subject(), crop=True)
    th, tw = tight.alpha.shape
    out = remover.cutout(small_subject(), crop=True, margin=Margin.parse("10px 20px 30px 40px"))
    assert out.alpha.shape == (th + 10 + 30, tw + 20 + 40)
    box = out.subject_box()
    assert box is not None and (box[0], box[1]) == (40, 10)  # left and top margins, in the result


def test_library_roi_clears_outside_and_keeps_inside(remover: Remover) -> None:
    full = remover.matte(small_subject())
    left = remover.matte(small_subject(), roi="0 0 200 300")  # the left half of the square only
    assert np.array_equal(left[:, :200], full[:, :200]) and float(left[:, 200:].max()) == 0.0
    assert float(full[150, 210]) > 0.9


def test_library_max_output_pixels_scales_last(remover: Remover) -> None:
    big = encoded(square_image(1000, 800), "PNG")
    out = remover.cutout(big, max_output_pixels=250_000)
    assert out.image.size == (559, 447) and out.alpha.shape == (447, 559)
    cropped = remover.cutout(big, crop=True, max_output_pixels=250_000)
    assert cropped.image.width * cropped.image.height <= 250_000
    small = remover.cutout(encoded(square_image(), "PNG"), max_output_pixels=250_000)
    assert small.image.size == (120, 80)  # under the cap: untouched (and composed on the fast path)


# ------------------------------------------------------------ the route gives the library's pixels
@pytest.mark.parametrize(("fields", "options", "big"), [
    ({"crop": "true", "crop_margin": "10px 20%"},
     {"crop": True, "margin": Margin.parse("10px 20%", **REMOVEBG_MARGIN)}, False),
    ({"crop": "true", "crop_margin": "200%"},  # remove.bg clamps to 50 %
     {"crop": True, "margin": Margin.parse("50%", **REMOVEBG_MARGIN)}, False),
    ({"roi": "0% 0% 50% 100%"}, {"roi": Roi.parse("0% 0% 50% 100%")}, False),
    ({"crop": "true", "crop_margin": "450px"},  # more than the 400 px image: clamped to 50 % of the subject
     {"crop": True, "margin": Margin.parse("450px", **REMOVEBG_MARGIN)}, False),
    ({"roi": "150px 100px 400px 300px", "crop": "true", "crop_margin": "4px"},
     {"roi": Roi.parse("150px 100px 400px 300px"), "crop": True, "margin": Margin.parse("4px", **REMOVEBG_MARGIN)},
     False),
    ({"size": "preview"}, {"max_output_pixels": 250_000}, True),
    ({"scale": "50%"}, {"subject_scale": 0.5}, False),
    ({"position": "0% 100%"}, {"subject_position": (0.0, 1.0)}, False),
    ({"scale": "80%", "position": "100%", "crop": "true", "crop_margin": "30px"},
     {"subject_scale": 0.8, "subject_position": (1.0, 1.0), "crop": True,
      "margin": Margin.parse("30px", **REMOVEBG_MARGIN)}, False),
    ({"size": "preview", "crop": "true", "bg_color": "00ff00", "format": "png"},
     {"max_output_pixels": 250_000, "crop": True, "background": "#00ff00"}, True),
])
def test_removebg_route_gives_the_library_pixels(tiny_spec: Any, remover: Remover, fields: dict[str, str],
                                                 options: dict[str, Any], big: bool) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from alphacut.server.app import create_app
    from alphacut.server.schemas import ServerSettings

    image = encoded(square_image(1000, 800), "PNG") if big else small_subject()
    app = create_app(Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64))), ServerSettings(),
                     model_file=lambda _id: None)
    with TestClient(app, base_url="http://127.0.0.1:7000") as c:
        r = c.post("/v1.0/removebg", files={"image_file": ("a.png", image)}, data={"format": "png", **fields})
    assert r.status_code == 200, r.text
    library = remover.remove_bytes(image, Options.from_kwargs(**options))
    assert np.array_equal(pixels(r.content), pixels(library))
    assert (int(r.headers["x-width"]), int(r.headers["x-height"])) == Image.open(io.BytesIO(library)).size


def test_removebg_foreground_box_is_in_the_result(tiny_spec: Any) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from alphacut.server.app import create_app
    from alphacut.server.schemas import ServerSettings

    app = create_app(Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64))), ServerSettings(),
                     model_file=lambda _id: None)
    with TestClient(app, base_url="http://127.0.0.1:7000") as c:
        r = c.post("/v1.0/removebg", files={"image_file": ("a.png", small_subject())},
                   data={"crop": "true", "crop_margin": "10px 20px"}, headers={"accept": "application/json"})
    data = r.json()["data"]
    assert (data["foreground_left"], data["foreground_top"]) == (20, 10)
    assert int(r.headers["x-width"]) == data["foreground_width"] + 40


@pytest.mark.parametrize(("fields", "code"), [
    ({"roi": "0 0 401 300"}, "roi_exceeds_bounds"),
    ({"roi": "0% 0% 101% 100%"}, "roi_exceeds_bounds"),
    ({"roi": "10px 10px 10px 20px"}, "roi_region_empty"),
    ({"crop_margin": "10px 20px 30px"}, "invalid_crop_margin"),
    ({"crop_margin": "-3px"}, "invalid_crop_margin"),
])
def test_removebg_bad_geometry_is_400(tiny_spec: Any, fields: dict[str, str], code: str) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from alphacut.server.app import create_app
    from alphacut.server.schemas import ServerSettings

    app = create_app(Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64))), ServerSettings(),
                     model_file=lambda _id: None)
    with TestClient(app, base_url="http://127.0.0.1:7000") as c:
        r = c.post("/v1.0/removebg", files={"image_file": ("a.png", small_subject())}, data=fields)
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["code"] == code


# ------------------------------------------------------------------------------------- the CLI
def test_cli_roi_margin_and_output_cap_give_the_library_pixels(run: Any, remover: Remover, tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(small_subject())
    out = tmp_path / "out.png"
    res = run("remove", str(src), "-o", str(out), "--crop", "--margin", "1 2 3 4", "--roi", "0 0 200 300",
              "--max-output-pixels", "1000")
    assert res.exit_code == 0, res.output
    library = remover.remove_bytes(src.read_bytes(), Options(crop=True, margin=Margin.parse("1 2 3 4"),
                                                             roi=Roi.parse("0 0 200 300"), max_output_pixels=1000))
    assert np.array_equal(pixels(out.read_bytes()), pixels(library))
    assert Image.open(out).width * Image.open(out).height <= 1000


@pytest.mark.parametrize("args", [("--roi", "0 0 500 300"), ("--roi", "1 2"), ("--margin", "1 2 3"),
                                  ("--max-output-pixels", "0")])
def test_cli_bad_geometry_is_a_clear_error(run: Any, tmp_path: Path, args: tuple[str, str]) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(small_subject())
    res = run("remove", str(src), "-o", str(tmp_path / "out.png"), *args)
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert not (tmp_path / "out.png").exists()


def test_margin_str_round_trips() -> None:
    m = Margin.parse("10px 5%")
    assert Margin.parse(str(m)) == m and m.sides[1] == Length(5, True)


# --------------------------------------------------------------------------- scale and position
def test_scale_centres_and_position_moves_within_the_frame(remover: Remover) -> None:
    src = small_subject()  # a 40x40 square at (180, 130) in 400x300
    scaled = remover.cutout(src, subject_scale=0.5)
    box = scaled.subject_box()  # the box scale measures: alpha > 0.05
    assert scaled.alpha.shape == (300, 400) and box is not None
    assert abs((box[3] - box[1]) - 150) <= 3 and abs((box[0] + box[2]) / 2 - 200) <= 2  # half the height, centred
    before = remover.cutout(src).subject_box()
    corner = remover.cutout(src, subject_position=(1.0, 0.0)).subject_box()
    assert before is not None and corner is not None
    assert corner[2] >= 399 and corner[1] <= 1  # top right
    assert abs((corner[2] - corner[0]) - (before[2] - before[0])) <= 2  # same size


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"scale": "5%"}, "options.invalid"), ({"scale": "101%"}, "options.invalid"),
    ({"position": "left"}, "options.invalid"), ({"position": "0% 150%"}, "options.invalid"),
    ({"scale": "50%", "size": "100x100"}, "options.conflict"),
])
def test_scale_and_position_bounds(kwargs: dict[str, str], code: str) -> None:
    with pytest.raises(OptionsError) as err:
        Options.from_user(**kwargs)
    assert err.value.code == code


@pytest.mark.parametrize("kwargs", [{"subject_scale": "x"}, {"subject_scale": True}, {"subject_position": 0.5},
                                    {"subject_position": (0.5, "a")}, {"subject_position": (0.1, 0.2, 0.3)}])
def test_scale_and_position_of_the_wrong_type_are_options_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(OptionsError):
        Options(**kwargs)


def test_cli_scale_and_position(run: Any, remover: Remover, tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    src.write_bytes(small_subject())
    out = tmp_path / "out.png"
    res = run("remove", str(src), "-o", str(out), "--scale", "60%", "--position", "0% 50%")
    assert res.exit_code == 0, res.output
    library = remover.remove_bytes(src.read_bytes(), Options(subject_scale=0.6, subject_position=(0.0, 0.5)))
    assert np.array_equal(pixels(out.read_bytes()), pixels(library))


# ----------------------------------------------------- a reduced JPEG decode for a capped output
@pytest.mark.parametrize(("options", "model_wh", "expected"), [
    (Options(max_output_pixels=250_000), (1024, 1024), (2000, 1500)),  # 1/4 would enlarge the model input
    (Options(max_output_pixels=250_000), (64, 64), (1000, 750)),  # 1/8 (500x375) has fewer pixels than the cap
    (Options(max_output_pixels=100_000), (64, 64), (500, 375)),
    (Options(max_output_pixels=250_000, crop=True), (64, 64), (4000, 3000)),  # a crop of 1/4 per side: 4 MP needed
    (Options(max_output_pixels=40_000, crop=True), (64, 64), (1000, 750)),  # 1/16 of 750k = 46.9k
    (Options(max_output_pixels=50_000, crop=True), (64, 64), (2000, 1500)),
    (Options(max_output_pixels=100_000, erode_px=2), (64, 64), (4000, 3000)),  # counted in the photo's pixels
    (Options(max_output_pixels=100_000, roi=Roi.parse("0 0 100 100")), (64, 64), (4000, 3000)),
    (Options(max_output_pixels=100_000, subject_scale=0.5), (64, 64), (4000, 3000)),  # may enlarge the subject
])
def test_min_decode_size_for_an_output_pixel_cap(options: Options, model_wh: tuple[int, int],
                                                 expected: tuple[int, int]) -> None:
    from alphacut.pipeline import min_decode_size

    assert min_decode_size((4000, 3000), model_wh, options) == expected


def test_a_capped_output_from_a_reduced_decode_matches_the_full_one(remover: Remover) -> None:
    img = square_image(2000, 1500)
    capped = remover.cutout(encoded(img, "JPEG", quality=95), max_output_pixels=40_000)
    full = remover.cutout(encoded(img, "PNG"), max_output_pixels=40_000)  # PNG: always decoded in full
    assert capped.info.decode_scale == 8 and full.info.decode_scale == 1
    (cw, ch), (fw, fh) = capped.image.size, full.image.size
    assert cw * ch <= 40_000 and abs(cw - fw) <= 1 and abs(ch - fh) <= 1
    w, h = min(cw, fw), min(ch, fh)
    a, b = capped.alpha[:h, :w], full.alpha[:h, :w]
    assert float(np.abs(a - b).mean()) < 0.02  # the same cutout, within JPEG and resampling noise
