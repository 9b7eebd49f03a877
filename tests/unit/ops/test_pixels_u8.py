"""The uint8 path (decontaminate, compose_u8, pixels_to_pil, banded float_to_u8) against the float32
reference it replaced: the same pixels up to rounding (±1/255), for transparent, colour and mask
outputs, with and without decontamination, and with the reduced-size, banded path for big photos."""

from __future__ import annotations

import numpy as np
import pytest

from alphacut import Options, Remover, pipeline
from alphacut.io.encode import pixels_to_pil, to_pil
from alphacut.ops import composite, foreground, pixels
from alphacut.ops.foreground import estimate_foreground
from alphacut.ops.pixels import float_to_u8, u8_to_float
from alphacut.ops.resize import resize_image, resize_matte
from alphacut.options import Background, Color
from alphacut.runtime.fake import FakeBackend

from ..conftest import square_image


def photo_and_matte(h: int = 96, w: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """A noisy red subject over a green-blue gradient; the matte is clear, opaque and soft in places."""
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    alpha = np.clip((xx - 0.3 * w) / (0.25 * w), 0, 1) * np.clip((yy - 0.1 * h) / (0.2 * h), 0, 1)
    alpha[:, -8:] = 1.0
    alpha = alpha.astype(np.float32)
    fg = np.float32([0.85, 0.15, 0.1])
    bg = np.stack([0.1 + 0 * xx, yy / h, xx / w], axis=-1)
    img = alpha[:, :, None] * fg + (1 - alpha[:, :, None]) * bg + rng.normal(0, 0.03, (h, w, 3))
    return float_to_u8(np.clip(img, 0, 1).astype(np.float32)), alpha


def float_decontaminate(image: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """foreground.decontaminate as it was on float32 images (the reference)."""
    soft = (alpha > 0.002) & (alpha < 0.998)
    h, w = alpha.shape
    if h * w <= foreground.FOREGROUND_WORK_PIXELS:
        fg = estimate_foreground(image, alpha)
    else:
        k = (foreground.FOREGROUND_WORK_PIXELS / (h * w)) ** 0.5
        size = (max(8, round(w * k)), max(8, round(h * k)))
        small = estimate_foreground(resize_image(image, size), resize_matte(alpha, size),
                                    radii=(max(8, round(90 * k)), max(2, round(6 * k))))
        fg = resize_image(small, (w, h), antialias=False)
    return np.where(soft[:, :, None], fg, image).astype(np.float32)


def reference(rgb: np.ndarray, alpha: np.ndarray, options: Options) -> np.ndarray:
    """The float32 chain finish() ran before: photo to float, decontaminate, apply_background, to uint8."""
    image = u8_to_float(rgb)
    fg = float_decontaminate(image, alpha) if options.decontaminate else image
    out, out_a = pipeline.apply_background(fg, alpha, options, None)
    return np.asarray(to_pil(float_to_u8(out), None if out_a is None else float_to_u8(out_a)))


@pytest.fixture(params=["small", "big"])
def size_path(request, monkeypatch):
    """'big' makes the photo count as big (estimate at reduced size) and the bands a few rows high."""
    if request.param == "big":
        monkeypatch.setattr(foreground, "FOREGROUND_WORK_PIXELS", 4000)
        monkeypatch.setattr(foreground, "BAND_PIXELS", 7 * 160)
        monkeypatch.setattr(pixels, "BAND_VALUES", 500)
    return request.param


@pytest.mark.parametrize("decontaminate", [True, False])
@pytest.mark.parametrize("background", [None, Color(51, 102, 204), Color(51, 102, 204, 128)],
                         ids=["transparent", "colour", "translucent"])
def test_compose_u8_matches_the_float_reference(size_path, background, decontaminate):
    rgb, alpha = photo_and_matte()
    options = Options(background=Background() if background is None else Background.solid(background),
                      decontaminate=decontaminate)
    c = options.background.color
    ours = np.asarray(pixels_to_pil(composite.compose_u8(
        rgb, alpha, background=None if c is None else (c.r, c.g, c.b, c.a), decontaminate=decontaminate)))
    ref = reference(rgb, alpha, options)
    assert ours.shape == ref.shape == (96, 160, 3 if background and background.a == 255 else 4)
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1
    if decontaminate:  # the check above must have seen decontaminated edges
        assert not np.array_equal(ours[:, :, :3], reference(rgb, alpha, options.with_(decontaminate=False))[:, :, :3])


def test_decontaminate_changes_only_the_soft_band_and_can_work_in_place(size_path):
    rgb, alpha = photo_and_matte()
    out = foreground.decontaminate(rgb, alpha)
    soft = (alpha > 0.002) & (alpha < 0.998)
    assert out.dtype == np.uint8 and out is not rgb
    assert np.array_equal(out[~soft], rgb[~soft]) and not np.array_equal(out[soft], rgb[soft])
    ref = float_to_u8(float_decontaminate(u8_to_float(rgb), alpha))
    assert np.abs(out.astype(int) - ref.astype(int)).max() <= 1
    rgba = np.zeros(rgb.shape[:2] + (4,), np.uint8)
    foreground.decontaminate(rgb, alpha, out=rgba[:, :, :3])  # a strided view, as compose_u8 passes
    assert np.array_equal(rgba[:, :, :3], out)
    copy = rgb.copy()
    assert foreground.decontaminate(copy, alpha, out=copy) is copy and np.array_equal(copy, out)


def test_float_to_u8_in_bands_equals_one_pass(monkeypatch):
    x = np.random.default_rng(2).uniform(-0.2, 1.2, (37, 23, 3)).astype(np.float32)
    one_pass = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
    monkeypatch.setattr(pixels, "BAND_VALUES", 100)
    assert np.array_equal(float_to_u8(x), one_pass)
    assert np.array_equal(float_to_u8(x[:, :, 0]), one_pass[:, :, 0])


def test_pixels_to_pil_wraps_rgba_and_blacks_out_clear_pixels():
    rgba = np.full((5, 6, 4), 200, np.uint8)
    rgba[0, 0, 3] = 0
    image = pixels_to_pil(rgba)
    assert image.mode == "RGBA" and image.getpixel((0, 0)) == (0, 0, 0, 0)
    assert image.getpixel((1, 0)) == (200, 200, 200, 200)
    assert pixels_to_pil(rgba[:, :, :3]).mode == "RGB"
    with pytest.raises(ValueError):
        pixels_to_pil(rgba[:, :, :2])


@pytest.mark.parametrize("fields", [{}, {"bg": "#3366cc"}, {"bg": "#3366cc80"}, {"format": "mask"},
                                    {"decontaminate": "false"}])
def test_finish_matches_the_float_reference(tiny_spec, fields):
    remover = Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64), softness=0.05))
    options = Options.from_user(**fields)
    photo = square_image(300, 200)
    cutout = remover.cutout(photo, options)
    if options.format.value == "mask":
        ref = float_to_u8(cutout.alpha)
    else:
        ref = reference(np.asarray(photo), cutout.alpha, options)
    ours = np.asarray(cutout.image)
    assert ours.shape == ref.shape
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1
