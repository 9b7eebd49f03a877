"""composite: exact blends, cover resize sizes, blur that leaves the subject out."""

from __future__ import annotations

import numpy as np
import pytest

from alphacut.ops.composite import (
    blur_background,
    composite_over_color,
    composite_over_image,
    cover_resize,
    premultiply,
    unpremultiply,
)


def test_over_color_exact() -> None:
    fg = np.full((2, 2, 3), 0.2, np.float32)
    a = np.array([[0, 0.5], [1, 0.25]], np.float32)
    out = composite_over_color(fg, a, (1.0, 0.0, 0.5))
    assert np.allclose(out[0, 0], (1, 0, 0.5)) and np.allclose(out[1, 0], 0.2)
    assert np.allclose(out[0, 1], (0.6, 0.1, 0.35))


def test_over_image_and_size_check() -> None:
    fg, bg = np.ones((3, 4, 3), np.float32), np.zeros((3, 4, 3), np.float32)
    a = np.full((3, 4), 0.75, np.float32)
    assert np.allclose(composite_over_image(fg, a, bg), 0.75)
    with pytest.raises(ValueError):
        composite_over_image(fg, a, np.zeros((4, 4, 3), np.float32))


@pytest.mark.parametrize(("hw", "size_wh"), [((100, 300), (200, 200)), ((300, 100), (640, 480)),
                                              ((50, 50), (33, 77)), ((480, 640), (640, 480))])
def test_cover_resize_exact_size(hw: tuple[int, int], size_wh: tuple[int, int]) -> None:
    assert cover_resize(np.zeros(hw + (3,), np.float32), size_wh).shape == (size_wh[1], size_wh[0], 3)


def test_cover_resize_crops_centre() -> None:
    bg = np.zeros((100, 300, 3), np.float32)
    bg[:, 100:200] = 1  # middle third white
    out = cover_resize(bg, (100, 100))
    assert out.min() > 0.99  # only the centre third survives


def test_premultiply_roundtrip() -> None:
    rng = np.random.default_rng(0)
    fg = rng.random((8, 8, 3)).astype(np.float32)
    a = (rng.random((8, 8)) * 0.9 + 0.1).astype(np.float32)
    assert np.allclose(unpremultiply(premultiply(fg, a), a), fg, atol=1e-6)


def test_blur_sigma_and_subject_exclusion() -> None:
    img = np.zeros((101, 101, 3), np.float32)
    img[50, 50] = 1
    out = blur_background(img, 5.0)[50, :, 0]
    xs = np.arange(101) - 50
    sigma = np.sqrt((out * xs**2).sum() / out.sum())
    assert sigma == pytest.approx(5.0, abs=0.6)
    # A red subject over a blue background: with alpha, no red leaks into the blurred background.
    scene = np.zeros((64, 64, 3), np.float32)
    scene[..., 2] = 1
    alpha = np.zeros((64, 64), np.float32)
    alpha[24:40, 24:40] = 1
    scene[alpha > 0] = (1, 0, 0)
    leaky = blur_background(scene, 6.0)
    clean = blur_background(scene, 6.0, alpha=alpha)
    ring = np.zeros((64, 64), bool)
    ring[18:46, 18:46] = True
    ring &= alpha == 0
    assert leaky[ring, 0].max() > 0.2 and clean[ring, 0].max() < 1e-3
