"""Each option and preset checked on actual pixels (FakeBackend: dark subjects on light backgrounds)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from alphacut import Options, Remover
from alphacut.ops.framing import subject_bbox
from alphacut.ops.pixels import float_to_u8, u8_to_float
from alphacut.options import Background, Color, Refine
from alphacut.runtime.fake import FakeBackend

from ..conftest import square_image


@pytest.fixture
def remover(tiny_spec):
    return Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64), softness=0.01))


def blobs(w=400, h=300, boxes=((60, 80, 200, 220), (260, 120, 300, 160))):
    arr = np.full((h, w, 3), 235, np.uint8)
    for x0, y0, x1, y1 in boxes:
        arr[y0:y1, x0:x1] = (30, 60, 150)
    return Image.fromarray(arr)


def opts(**fields):
    """Options without guided refinement: these tests are about layout and clean-up, and the fake
    model's matte is coarse (64 px) so its guided fringe would blur the boxes they measure."""
    return Options.from_user(**{"refine": "none", **fields})


def rgba(img):
    return np.asarray(img.convert("RGBA"))


@pytest.mark.parametrize("size", [(400, 400), (300, 500), (640, 360)])
def test_ecommerce_subject_fills_85_percent_and_is_centred(remover, size):
    out = remover.cutout(square_image(300, 200), opts(preset="ecommerce", size=f"{size[0]}x{size[1]}"))
    assert out.image.size == size and out.image.mode == "RGB"
    assert np.asarray(out.image)[0, 0].min() >= 250  # white canvas
    x0, y0, x1, y1 = subject_bbox(out.alpha, 0.5)
    fill = max((x1 - x0) / size[0], (y1 - y0) / size[1])
    assert fill == pytest.approx(0.85, abs=0.02)
    assert abs((x0 + x1) / 2 - size[0] / 2) <= 2 and abs((y0 + y1) / 2 - size[1] / 2) <= 2


@pytest.mark.parametrize("preset,size", [("id-photo", (413, 531)), ("id-photo-us", (600, 600))])
def test_id_photo_has_exact_size_and_plain_background(remover, preset, size):
    from alphacut.ops.framing import ID_RULES

    from ..portraits import draw_portrait

    out = remover.cutout(draw_portrait().rgb, opts(preset=preset, bg="lightblue"))  # a face to frame
    assert out.image.size == size and out.image.mode == "RGB"
    px = np.asarray(out.image)
    assert tuple(px[2, 2]) == (173, 216, 230)
    top_frac = np.flatnonzero((out.alpha >= 0.5).any(axis=1))[0] / size[1]
    lo, hi = ID_RULES[{"id-photo": "icao", "id-photo-us": "us"}[preset]].top_range
    assert lo - 0.02 <= top_frac <= hi + 0.02  # the full check is in test_id_photo.py


def test_avatar_circle_is_round_and_transparent_outside(remover):
    out = remover.cutout(square_image(300, 300), opts(preset="avatar-circle"))
    a = rgba(out.image)[:, :, 3]
    assert out.image.size == (512, 512)
    assert a[0, 0] == 0 and a[511, 511] == 0 and a[256, 256] == 255


def test_sticker_has_a_white_outline(remover):
    out = remover.cutout(square_image(300, 200), opts(preset="sticker"))
    px = rgba(out.image)
    box = subject_bbox(px[:, :, 3].astype(np.float32) / 255, 0.5)
    assert box is not None
    x0, y0, x1, y1 = box
    mid = (y0 + y1) // 2
    assert tuple(px[mid, x0 + 3, :3]) == (255, 255, 255) and px[mid, x0 + 3, 3] == 255  # outline
    assert px[mid, (x0 + x1) // 2, 2] > 150  # the blue subject inside
    assert px[0, 0, 3] == 0


def test_decontaminated_edges_carry_the_subject_colour(remover):
    # A red subject with a soft ramp of alpha over a green background: I = aF + (1-a)B.
    h, w = 120, 200
    alpha = np.zeros((h, w), np.float32)
    alpha[:, 60:140] = 1.0
    alpha[:, 40:60] = np.linspace(0, 1, 20, dtype=np.float32)
    F, B = np.array([0.8, 0.1, 0.1], np.float32), np.array([0.1, 0.7, 0.1], np.float32)
    img = float_to_u8(alpha[:, :, None] * F + (1 - alpha[:, :, None]) * B)
    from alphacut.ops.foreground import decontaminate

    fg = u8_to_float(decontaminate(img, alpha))
    band = (alpha > 0.1) & (alpha < 0.9)
    before = np.abs(u8_to_float(img)[band] - F).mean()
    after = np.abs(fg[band] - F).mean()
    assert after < 0.5 * before
    assert np.abs(fg[band] - F).mean() < np.abs(fg[band] - B).mean()
    # opaque pixels are untouched
    assert np.array_equal(fg[alpha == 1], u8_to_float(img)[alpha == 1])


def test_decontamination_at_reduced_size_for_big_images(monkeypatch):
    from alphacut.ops import foreground

    monkeypatch.setattr(foreground, "FOREGROUND_WORK_PIXELS", 5000)
    h, w = 120, 200
    alpha = np.zeros((h, w), np.float32)
    alpha[:, 60:] = 1.0
    alpha[:, 40:60] = np.linspace(0, 1, 20, dtype=np.float32)
    F, B = np.array([0.8, 0.1, 0.1], np.float32), np.array([0.1, 0.7, 0.1], np.float32)
    img = float_to_u8(alpha[:, :, None] * F + (1 - alpha[:, :, None]) * B)
    fg = u8_to_float(foreground.decontaminate(img, alpha))
    band = (alpha > 0.1) & (alpha < 0.9)
    assert np.abs(fg[band] - F).mean() < 0.6 * np.abs(u8_to_float(img)[band] - F).mean()


def test_background_image_covers_and_blur_keeps_the_subject(remover, tmp_path):
    bgp = tmp_path / "bg.png"
    Image.new("RGB", (50, 20), (200, 0, 200)).save(bgp)
    out = remover.cutout(square_image(300, 200), opts(bg_image=str(bgp)))
    px = np.asarray(out.image)
    assert out.image.mode == "RGB" and tuple(px[5, 5]) == (200, 0, 200)
    assert tuple(px[100, 150]) == (20, 30, 200)
    blur = remover.cutout(square_image(300, 200), opts(bg="blur:8"))
    bp = np.asarray(blur.image)
    assert blur.image.mode == "RGB" and tuple(bp[100, 150]) == (20, 30, 200)
    assert abs(int(bp[5, 5, 0]) - 240) <= 3  # the light background, blurred without the subject


def test_matte_operations(remover):
    img = square_image(300, 200)
    base = int((remover.matte(img, opts()) > 0.5).sum())  # the fake model's own subject area
    hard = rgba(remover.remove(img, opts(threshold=0.5)))[:, :, 3]
    assert set(np.unique(hard)) <= {0, 255}
    eroded = int((remover.matte(img, opts(erode=5)) > 0.5).sum())
    dilated = int((remover.matte(img, opts(dilate=5)) > 0.5).sum())
    # a 5 px band around a ~150x100 box is ~2500 px
    assert base - 3000 < eroded < base - 2000 and base + 2000 < dilated < base + 3200


def test_largest_min_area_and_subject_index(remover):
    img = blobs()
    both = rgba(remover.remove(img, opts()))[:, :, 3]
    assert both[140, 280] > 200 and both[150, 130] > 200
    largest = rgba(remover.remove(img, opts(largest=True)))[:, :, 3]
    assert largest[140, 280] == 0 and largest[150, 130] > 200
    specks = rgba(remover.remove(img, opts(min_area=5000)))[:, :, 3]  # small blob ~2000 px, big ~20000
    assert specks[140, 280] == 0 and specks[150, 130] > 200
    second = rgba(remover.remove(img, opts(subject="1")))[:, :, 3]
    assert second[140, 280] > 200 and second[150, 130] == 0


def test_subjects_and_layers(remover):
    c = remover.cutout(blobs())
    subjects = c.subjects()
    assert len(subjects) == 2 and subjects[0].area_px > subjects[1].area_px
    x0, y0, x1, y1 = subjects[1].bbox  # the small blob (260, 120, 300, 160) and its soft fringe
    assert 232 <= x0 <= 260 and 95 <= y0 <= 120 and 300 <= x1 <= 328 and 160 <= y1 <= 185
    layers = c.layers()
    assert [im.size for _, im in layers] == [(s.bbox[2] - s.bbox[0], s.bbox[3] - s.bbox[1]) for s in subjects]


def test_crop_with_margin_and_size_fit_fill(remover):
    img = square_image(300, 200)
    x0, y0, x1, y1 = subject_bbox(remover.matte(img, opts()))
    crop = remover.remove(img, opts(crop=True, margin="10"))
    assert crop.size == (x1 - x0 + 20, y1 - y0 + 20)
    pct = remover.remove(img, opts(crop=True, margin="10%"))
    m = round(0.1 * max(x1 - x0, y1 - y0))
    assert pct.size == (x1 - x0 + 2 * m, y1 - y0 + 2 * m)
    fit = remover.remove(img, opts(size="200x200", fit="fit"))
    assert fit.size == (200, 200) and rgba(fit)[5, 100, 3] == 0
    fill = remover.remove(img, opts(size="100x200", fit="fill"))
    assert fill.size == (100, 200)


def test_guided_refinement_snaps_to_the_photo_edge():
    from alphacut.ops.resize import resize_image
    from alphacut.pipeline import refine_matte

    img = np.full((300, 400, 3), 240 / 255, np.float32)
    img[75:225, 100:300] = (20 / 255, 30 / 255, 200 / 255)
    low = (np.abs(resize_image(img, (64, 64)) - 240 / 255).sum(axis=2) > 0.3).astype(np.float32)
    plain = refine_matte(low, img, Refine.NONE)
    guided = refine_matte(low, img, Refine.GUIDED)
    soft = lambda a: int(((a > 0.05) & (a < 0.95)).sum())
    assert soft(guided) < soft(plain) / 10
    assert guided[150, 99] < 0.05 and guided[150, 100] > 0.95  # exactly at the photo's edge
    # below 2x upscaling the guided path is not taken: identical to bilinear
    small = img[::2, ::2][:120, :120]
    assert np.array_equal(refine_matte(low, small, Refine.GUIDED), refine_matte(low, small, Refine.NONE))


def test_matting_refinement_reworks_only_the_soft_band():
    from alphacut.ops.matting import band_radius_px, trimap_from_alpha
    from alphacut.pipeline import refine_matte

    assert Options.from_user(refine="matting").refine is Refine.MATTING
    yy, xx = np.mgrid[:120, :160].astype(np.float32)
    true = np.clip((xx - 70) / 12 + 0.3 * np.sin(yy / 3), 0, 1)  # a soft, wavy edge
    fg, bg = np.array([0.9, 0.6, 0.2], np.float32), np.array([0.1, 0.3, 0.8], np.float32)
    img = (true[..., None] * fg + (1 - true[..., None]) * bg).astype(np.float32)
    low = np.clip((xx[::4, ::4] - 70) / 24 + 0.5, 0, 1).astype(np.float32)  # coarse: a straight ramp
    guided = refine_matte(low, img, Refine.GUIDED)
    matted = refine_matte(low, img, Refine.MATTING)
    known = trimap_from_alpha(guided, band_px=band_radius_px((160, 120))) != 0.5
    assert np.array_equal(matted[known], guided[known])
    assert np.abs(matted - true).mean() < 0.6 * np.abs(guided - true).mean()  # measured: 0.030 -> 0.016


def test_bad_combinations_are_refused():
    from alphacut.errors import OptionsError

    for kw in ({"fill": 0.8}, {"bg": "white", "bg_image": "x.png"}, {"threshold": 1.5}, {"subject": "left"},
               {"size": "0x10"}, {"margin": "-3"}, {"preset": "passport"}):
        with pytest.raises(OptionsError):
            Options.from_user(**kw)


def test_preset_values_can_be_overridden():
    o = opts(preset="ecommerce", size="1000", bg="#f0f0f0")
    assert o.size_wh == (1000, 1000) and o.background == Background.solid(Color(240, 240, 240)) and o.fill_frac == 0.85
    assert o.preset == "ecommerce"
    assert opts(size="35x45mm").size_wh == (413, 531)
    assert opts(size="2x2in").size_wh == (600, 600)


def test_layers_from_the_cli(monkeypatch, tiny_spec, tmp_path):
    from click.testing import CliRunner

    from alphacut import cli

    monkeypatch.setattr(cli, "_remover", lambda settings, **_: Remover(tiny_spec, backend=FakeBackend()))
    src = tmp_path / "two.png"
    blobs().save(src)
    res = CliRunner().invoke(cli.main, ["remove", str(src), "-o", str(tmp_path / "out"), "--layers"])
    assert res.exit_code == 0, res.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["two.png", "two.subject-1.png", "two.subject-2.png"]
    assert Image.open(io.BytesIO((tmp_path / "out" / "two.subject-2.png").read_bytes())).size[0] < 90
