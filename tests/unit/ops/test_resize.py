"""resize: exact agreement with Pillow BILINEAR (the reference convention), shapes, range."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from alphacut.ops.resize import resize_image, resize_matte, resize_u8, resize_weights

RNG = np.random.default_rng(7)


@pytest.mark.parametrize(
    ("hw", "size_wh"),
    [((100, 80), (37, 51)), ((50, 60), (200, 130)), ((321, 480), (1024, 1024)),
     ((1030, 900), (1024, 1024)), ((7, 5), (3, 11))],
)
def test_matches_pillow_float_mode(hw: tuple[int, int], size_wh: tuple[int, int]) -> None:
    a = RNG.random(hw).astype(np.float32)
    ref = np.asarray(Image.fromarray(a, "F").resize(size_wh, Image.BILINEAR))
    assert np.abs(resize_image(a, size_wh) - ref).max() < 1e-5


@pytest.mark.parametrize("size_wh", [(64, 48), (300, 260)])
def test_matches_pillow_rgb_within_rounding(size_wh: tuple[int, int]) -> None:
    u8 = (RNG.random((120, 150, 3)) * 255).astype(np.uint8)
    ref = np.asarray(Image.fromarray(u8).resize(size_wh, Image.BILINEAR)).astype(np.float32)
    ours = resize_image(u8.astype(np.float32) / 255, size_wh) * 255
    assert ours.shape == (size_wh[1], size_wh[0], 3)
    assert np.abs(ours - ref).max() <= 1.01  # Pillow rounds in 8-bit fixed point


@pytest.mark.parametrize(
    ("shape", "size_wh"),
    [((120, 150, 3), (40, 30)), ((121, 37), (20, 200)), ((90, 60, 3), (60, 90)), ((50, 40, 3), (40, 50))],
)
def test_resize_u8_equals_float_resize_in_any_bands(shape: tuple[int, ...], size_wh: tuple[int, int]) -> None:
    u8 = (RNG.random(shape) * 255).astype(np.uint8)
    ref = resize_image(u8.astype(np.float32) * np.float32(1 / 255), size_wh)
    for band_pixels in (1, 500, 1 << 20):  # one row per band, a few rows, all at once
        ours = resize_u8(u8, size_wh, band_pixels=band_pixels)
        assert ours.dtype == np.float32 and ours.shape == ref.shape
        assert np.abs(ours - ref).max() < 1e-6


def test_box_matches_pillow() -> None:
    a = RNG.random((100, 120)).astype(np.float32)
    box = (10.5, 20.25, 80.0, 90.0)
    ref = np.asarray(Image.fromarray(a, "F").resize((50, 60), Image.BILINEAR, box=box))
    assert np.abs(resize_image(a, (50, 60), box_xyxy=box) - ref).max() < 1e-5


def test_no_antialias_samples_only_neighbours() -> None:
    # Shrinking 4 -> 2 without antialias samples at 0.5 and 2.5 pixel-index positions.
    w = resize_weights(4, 2, antialias=False).toarray()
    assert np.allclose(w, [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])
    w_aa = resize_weights(4, 2, antialias=True).toarray()
    assert (w_aa > 0).sum() == 6


def test_weights_rows_sum_to_one() -> None:
    for n, m in [(5, 17), (1000, 3), (1, 9), (9, 1)]:
        assert np.allclose(resize_weights(n, m).sum(axis=1), 1.0)


def test_resize_matte_clipped_and_identity() -> None:
    a = RNG.random((40, 30)).astype(np.float32)
    assert np.array_equal(resize_matte(a, (30, 40)), a)
    up = resize_matte(a, (91, 77))
    assert up.shape == (77, 91) and up.min() >= 0 and up.max() <= 1


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        resize_image(np.zeros((4, 4, 3, 1), np.float32), (2, 2))
    with pytest.raises(ValueError):
        resize_matte(np.zeros((4, 4), np.float32), (0, 2))


@pytest.mark.parametrize("shape, size_wh", [((576, 1024), (854, 480)), ((37, 53, 3), (200, 90)),
                                              ((300, 200, 3), (41, 29))])
def test_numpy_and_sparse_products_agree(monkeypatch, shape, size_wh):
    from alphacut.ops import resize

    a = np.random.default_rng(1).random(shape, dtype=np.float32)
    monkeypatch.setattr(resize, "_NUMPY_MAX_PRODUCTS", 1 << 62)
    small = resize.resize_image(a, size_wh)
    monkeypatch.setattr(resize, "_NUMPY_MAX_PRODUCTS", 0)
    large = resize.resize_image(a, size_wh)
    assert np.allclose(small, large, atol=1e-6)
