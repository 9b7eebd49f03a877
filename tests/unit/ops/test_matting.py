"""Closed-form matting (ops/matting.py): the Laplacian against the paper's formula, the trimap, the
solver on a composite with a known soft alpha, untouched known pixels and the work cap."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from alphacut.ops import matting
from alphacut.ops.matting import (
    TRIMAP_BG,
    TRIMAP_FG,
    TRIMAP_UNKNOWN,
    matting_laplacian,
    refine_alpha,
    solve_alpha,
    trimap_from_alpha,
    work_size_wh,
)


def reference_laplacian(img: np.ndarray, eps: float) -> np.ndarray:
    """Levin et al. 2008, eq. 12, written out window by window (dense, for tiny images)."""
    h, w = img.shape[:2]
    lap = np.zeros((h * w, h * w))
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            idx = [(y + dy) * w + (x + dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
            win = img.reshape(-1, 3)[idx]
            mu = win.mean(axis=0)
            cov = (win - mu).T @ (win - mu) / 9
            inv = np.linalg.inv(cov + eps / 9 * np.eye(3))
            for a, i in enumerate(idx):
                for b, j in enumerate(idx):
                    lap[i, j] += (a == b) - (1 + (win[a] - mu) @ inv @ (win[b] - mu)) / 9
    return lap


@pytest.mark.parametrize("eps", [1e-7, 1e-4])
def test_laplacian_matches_the_papers_formula(eps):
    img = np.random.default_rng(3).random((7, 9, 3))
    lap = matting_laplacian(img, np.ones((7, 9), bool), eps=eps).toarray()
    np.testing.assert_allclose(lap, reference_laplacian(img, eps), atol=1e-9)
    np.testing.assert_allclose(lap, lap.T, atol=1e-12)
    np.testing.assert_allclose(lap.sum(axis=1), 0.0, atol=1e-9)  # constant alpha costs nothing


def test_laplacian_only_holds_windows_centred_in_the_mask():
    img = np.random.default_rng(4).random((8, 8, 3))
    mask = np.zeros((8, 8), bool)
    mask[3, 3] = True
    lap = matting_laplacian(img, mask).tocoo()
    touched = set(lap.row.tolist())
    assert touched == {y * 8 + x for y in (2, 3, 4) for x in (2, 3, 4)}


@pytest.mark.parametrize(("alpha", "band_px", "expected"), [
    # soft values are unknown, the rest follows lo/hi
    ([0.0, 0.02, 0.5, 0.97, 1.0], 0, [TRIMAP_BG, TRIMAP_BG, TRIMAP_UNKNOWN, TRIMAP_FG, TRIMAP_FG]),
    # the band grows by band_px on each side
    ([0.0, 0.0, 0.5, 1.0, 1.0], 1, [TRIMAP_BG, TRIMAP_UNKNOWN, TRIMAP_UNKNOWN, TRIMAP_UNKNOWN, TRIMAP_FG]),
    # a hard edge (no soft pixel) is unknown too
    ([0.0, 0.0, 1.0, 1.0], 0, [TRIMAP_BG, TRIMAP_UNKNOWN, TRIMAP_UNKNOWN, TRIMAP_FG]),
    # nothing soft: nothing unknown
    ([0.0, 0.0, 0.0], 3, [TRIMAP_BG, TRIMAP_BG, TRIMAP_BG]),
])
def test_trimap_levels_and_band(alpha, band_px, expected):
    tri = trimap_from_alpha(np.array([alpha], np.float32), band_px=band_px)
    assert tri[0].tolist() == expected


def composite_with_soft_alpha(size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Textured foreground over a different textured background with hair-like soft strands."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    fg = np.stack([0.85 + 0.05 * np.sin(yy / 5), 0.55 + 0.05 * np.cos(xx / 7), 0.25 + 0 * xx], -1)
    bg = np.stack([0.15 + 0 * xx, 0.35 + 0.05 * np.sin(xx / 4), 0.75 + 0.05 * np.cos(yy / 6)], -1)
    body = np.clip((xx - size * 0.55) / 3.0, 0, 1)
    strands = np.clip(np.sin(yy / 2.3) * 0.5 + 0.5, 0, 1) * np.clip((xx - size * 0.3) / (size * 0.25), 0, 1)
    alpha = np.clip(np.maximum(body, strands * 0.8), 0, 1)
    img = alpha[..., None] * fg + (1 - alpha[..., None]) * bg + rng.normal(0, 0.003, (size, size, 3))
    return np.clip(img, 0, 1).astype(np.float32), alpha.astype(np.float32)


def test_solver_recovers_a_known_soft_alpha_better_than_a_blurred_matte():
    img, alpha = composite_with_soft_alpha()
    blurred = np.clip(ndi.gaussian_filter(alpha, 3.0), 0, 1).astype(np.float32)  # what a low-res network gives
    refined = refine_alpha(img, blurred)
    before = np.abs(blurred - alpha).mean()
    after = np.abs(refined - alpha).mean()
    assert after < 0.8 * before, (before, after)  # measured: 0.028 -> 0.021


def test_solve_alpha_keeps_known_pixels_and_stays_in_range():
    img, alpha = composite_with_soft_alpha(48)
    tri = trimap_from_alpha(alpha, band_px=2)
    out = solve_alpha(img, tri, alpha)
    assert np.array_equal(out[tri == TRIMAP_FG], np.ones(int((tri == TRIMAP_FG).sum()), np.float32))
    assert np.array_equal(out[tri == TRIMAP_BG], np.zeros(int((tri == TRIMAP_BG).sum()), np.float32))
    assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("max_pixels", [matting.MATTING_WORK_PIXELS, 2_000])
def test_refine_alpha_changes_only_the_unknown_band(max_pixels):
    img, alpha = composite_with_soft_alpha()
    blurred = np.clip(ndi.gaussian_filter(alpha, 3.0), 0, 1).astype(np.float32)
    refined = refine_alpha(img, blurred, max_pixels=max_pixels)
    tri = trimap_from_alpha(blurred, band_px=matting.band_radius_px((96, 96)))
    known = tri != TRIMAP_UNKNOWN
    assert known.any() and (~known).any()
    assert np.array_equal(refined[known], blurred[known])
    assert not np.array_equal(refined[~known], blurred[~known])


@pytest.mark.parametrize(("size_wh", "max_pixels", "expected"), [
    ((854, 480), 1_000_000, (854, 480)),  # small enough: solved as it is
    ((1000, 1000), 1_000_000, (1000, 1000)),
    ((6000, 4000), 1_000_000, (1224, 816)),  # a 24 MP photo
    ((4000, 3000), 1_000_000, (1154, 866)),  # 12 MP
    ((100, 100), 2_000, (44, 44)),
])
def test_work_size_is_capped(size_wh, max_pixels, expected):
    got = work_size_wh(size_wh, max_pixels)
    assert got == expected
    assert got[0] * got[1] <= max_pixels


def test_refine_alpha_solves_large_images_at_the_capped_size(monkeypatch):
    seen = []
    real = matting.solve_alpha

    def spy(image, trimap, prior, **kw):
        seen.append(trimap.shape)
        return real(image, trimap, prior, **kw)

    monkeypatch.setattr(matting, "solve_alpha", spy)
    img, alpha = composite_with_soft_alpha(160)
    blurred = np.clip(ndi.gaussian_filter(alpha, 3.0), 0, 1).astype(np.float32)
    out = refine_alpha(img, blurred, max_pixels=5_000)
    assert len(seen) == 1 and seen[0][0] * seen[0][1] <= 5_000
    assert out.shape == (160, 160)
    out_full = refine_alpha(img, blurred)
    assert seen[-1] == (160, 160) and out_full.shape == (160, 160)


def test_nothing_soft_is_returned_unchanged():
    img = np.random.default_rng(0).random((20, 20, 3)).astype(np.float32)
    a = np.zeros((20, 20), np.float32)
    assert np.array_equal(refine_alpha(img, a), a)
