"""foreground: blur fusion removes the old background's colour from soft edge pixels."""

from __future__ import annotations

import numpy as np
import pytest

from alphacut.ops.foreground import estimate_foreground


def synthetic(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Known F (smooth warm), B (cool, textured), soft alpha ramp with hair-like stripes."""
    rng = np.random.default_rng(seed)
    h, w = 96, 128
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    fg = np.stack([0.8 + 0.1 * np.sin(yy / 15), 0.5 + 0.1 * np.cos(xx / 20),
                   0.2 + 0.0 * xx], axis=2).astype(np.float32)
    bg = np.clip(np.stack([0.1 + 0 * xx, 0.3 + 0 * xx, 0.9 + 0 * xx], axis=2)
                 + rng.normal(0, 0.03, (h, w, 3)), 0, 1).astype(np.float32)
    ramp = np.clip((xx - 40) / 50, 0, 1)
    stripes = 0.5 + 0.5 * np.sin(yy * 1.3)
    alpha = np.clip(ramp * (0.6 + 0.4 * stripes), 0, 1).astype(np.float32)
    alpha[:, 100:] = 1
    image = alpha[:, :, None] * fg + (1 - alpha[:, :, None]) * bg
    return image.astype(np.float32), alpha, fg, bg


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("radii", "max_ratio"), [((90, 6), 0.5), ((30, 3), 0.7)])
def test_error_vs_true_foreground_drops(seed: int, radii: tuple[int, ...], max_ratio: float) -> None:
    image, alpha, fg, _ = synthetic(seed)
    soft = (alpha > 0.1) & (alpha < 0.9)
    est = estimate_foreground(image, alpha, radii=radii)
    err_observed = np.abs(image - fg)[soft].mean()
    err_est = np.abs(est - fg)[soft].mean()
    assert err_est < max_ratio * err_observed


def test_edge_pixels_closer_to_subject_than_background() -> None:
    image, alpha, fg, bg = synthetic(3)
    soft = (alpha > 0.1) & (alpha < 0.5)
    est = estimate_foreground(image, alpha)
    d_fg = np.linalg.norm(est - fg, axis=2)[soft]
    d_bg = np.linalg.norm(est - bg, axis=2)[soft]
    assert (d_fg < d_bg).mean() > 0.95


def test_opaque_pixels_unchanged_and_range() -> None:
    image, alpha, _, _ = synthetic(4)
    est = estimate_foreground(image, alpha)
    assert np.abs(est[alpha == 1] - image[alpha == 1]).max() < 1e-5
    assert est.shape == image.shape and est.min() >= 0 and est.max() <= 1


def test_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        estimate_foreground(np.zeros((4, 4, 3), np.float32), np.zeros((4, 5), np.float32))
