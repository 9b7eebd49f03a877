"""guided filter: O(N) box filter, edge-preserving smoothing, sharper upsampling than bilinear."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from alphacut.ops.guided import box_filter, guided_filter, guided_upsample
from alphacut.ops.resize import resize_matte


def edge_width(profile: np.ndarray) -> int:
    """Pixels whose value lies strictly between 0.1 and 0.9 (10-90 % rise distance)."""
    return int(((profile > 0.1) & (profile < 0.9)).sum())


def test_box_filter_matches_brute_force_with_clipped_windows() -> None:
    x = np.random.default_rng(0).random((13, 17)).astype(np.float32)
    r = 3
    ref = np.empty_like(x)
    for i in range(13):
        for j in range(17):
            ref[i, j] = x[max(i - r, 0):i + r + 1, max(j - r, 0):j + r + 1].mean()
    assert np.abs(box_filter(x, r) - ref).max() < 1e-5


@pytest.mark.parametrize("colour", [True, False])
def test_guided_upsample_sharper_than_bilinear(colour: bool) -> None:
    big = 512
    guide = np.zeros((big, big, 3), np.float32)
    guide[:, 301:] = (0.9, 0.8, 0.7)
    guide[:, :301] = (0.1, 0.2, 0.3)
    truth = np.zeros((big, big), np.float32)
    truth[:, 301:] = 1.0
    lr = resize_matte(truth, (128, 128))  # the edge is 4 px blurry when upsampled
    g = guide if colour else guide.mean(axis=2)
    ours = guided_upsample(lr, g, radius=8, eps=1e-4)
    plain = resize_matte(lr, (big, big))
    row = big // 2
    assert edge_width(plain[row]) >= 4
    assert edge_width(ours[row]) <= 1
    assert np.abs(ours - truth).mean() < 0.25 * np.abs(plain - truth).mean()


def test_guided_filter_keeps_edge_and_smooths_flat_noise() -> None:
    rng = np.random.default_rng(1)
    guide = np.zeros((64, 64), np.float32)
    guide[:, 32:] = 1.0
    src = np.clip(guide + rng.normal(0, 0.05, guide.shape).astype(np.float32), 0, 1)
    out = guided_filter(guide, src, radius=4, eps=1e-2)
    assert out[:, 28].mean() < 0.1 and out[:, 35].mean() > 0.9
    flat_noise_in = src[:, 5:25].std()
    assert out[:, 5:25].std() < 0.5 * flat_noise_in


def test_output_range_and_shape() -> None:
    rng = np.random.default_rng(2)
    out = guided_upsample(rng.random((50, 40)).astype(np.float32),
                          rng.random((201, 157, 3)).astype(np.float32), radius=4, eps=1e-5)
    assert out.shape == (201, 157) and out.min() >= 0 and out.max() <= 1 and out.dtype == np.float32


@pytest.mark.parametrize(("shape", "kwargs"), [((201, 157, 3), {"band_pixels": 1000}), ((120, 90), {}),
                                               ((64, 48, 3), {"subsample": 1})])
def test_uint8_guide_equals_its_float_version(shape: tuple[int, ...], kwargs: dict[str, int]) -> None:
    rng = np.random.default_rng(3)
    guide = (rng.random(shape) * 255).astype(np.uint8)
    lr = rng.random((50, 40)).astype(np.float32)
    ref = guided_upsample(lr, guide.astype(np.float32) * np.float32(1 / 255), radius=4, **kwargs)
    ours = guided_upsample(lr, guide, radius=4, **kwargs)
    assert ours.dtype == np.float32 and ours.shape == shape[:2]
    assert np.abs(ours - ref).max() < 1e-5


def test_colour_guide_separates_equal_luma_colours() -> None:
    # Red vs green of equal grey value: only the colour guide can see the edge.
    guide = np.zeros((64, 64, 3), np.float32)
    guide[:, :32] = (0.6, 0.2, 0.2)
    guide[:, 32:] = (0.2, 0.6, 0.2)
    src = np.zeros((64, 64), np.float32)
    src[:, 32:] = 1
    src = ndi.uniform_filter(src, 9)
    col = guided_filter(guide, src, radius=6, eps=1e-4)
    grey = guided_filter(guide.mean(axis=2), src, radius=6, eps=1e-4)
    assert edge_width(col[32]) < edge_width(grey[32])


def test_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError):
        guided_filter(np.zeros((5, 5), np.float32), np.zeros((6, 5), np.float32), 1, 1e-3)
