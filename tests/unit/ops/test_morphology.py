"""morphology: boundaries move by exactly px, specks go, soft fringes stay with their core."""

from __future__ import annotations

import numpy as np
import pytest

from alphacut.ops.morphology import dilate, disk, erode, remove_small, threshold


def square(n: int = 64, lo: int = 20, hi: int = 44) -> np.ndarray:
    a = np.zeros((n, n), np.float32)
    a[lo:hi, lo:hi] = 1
    return a


@pytest.mark.parametrize("px", [1, 2, 3, 5, 8])
def test_erode_dilate_move_boundary_by_px(px: int) -> None:
    a = square()
    row = 32
    er, di = erode(a, px)[row], dilate(a, px)[row]
    assert np.flatnonzero(er)[[0, -1]].tolist() == [20 + px, 43 - px]
    assert np.flatnonzero(di)[[0, -1]].tolist() == [20 - px, 43 + px]


def test_soft_values_are_min_max() -> None:
    a = np.zeros((9, 9), np.float32)
    a[4, 3], a[4, 4], a[4, 5] = 0.3, 0.8, 0.6
    assert dilate(a, 1)[4, 4] == pytest.approx(0.8)
    assert dilate(a, 1)[3, 3] == pytest.approx(0.3)
    assert erode(a, 1)[4, 4] == 0


def test_disk_is_round() -> None:
    d = disk(3)
    assert d.shape == (7, 7) and d[3, 0] and d[0, 3] and not d[0, 0]


@pytest.mark.parametrize(("t", "expected"), [(0.5, 2), (0.25, 3), (0.95, 0)])
def test_threshold(t: float, expected: int) -> None:
    assert int(threshold(np.array([0.2, 0.3, 0.5, 0.9], np.float32), t).sum()) == expected


def test_remove_small_keeps_fringe_of_kept_core_and_drops_speck_with_its_fringe() -> None:
    a = square()
    a[19, 20:44] = 0.3  # soft fringe of the big square
    a[5:8, 5:8] = 1  # 9 px speck
    a[4, 5:8] = 0.2  # its fringe
    out = remove_small(a, 20)
    assert out[5:8, 5:8].max() == 0 and out[4, 5:8].max() == 0
    assert np.array_equal(out[19, 20:44], a[19, 20:44])
    assert out[30, 30] == 1


@pytest.mark.parametrize("px", [4, 7, 12, 30, 75])
def test_large_radius_is_an_octagon_close_to_the_disk(px: int) -> None:
    n = 2 * px + 9
    a = np.zeros((n, n), np.float32)
    a[n // 2, n // 2] = 1
    grown = dilate(a, px) > 0
    yy, xx = np.mgrid[:n, :n] - n // 2
    r = np.hypot(yy, xx)
    assert grown[r <= 0.92 * px].all()  # everything well inside the disk is reached
    assert not grown[r > 1.12 * px].any()  # nothing beyond the octagon's vertices
    assert grown[n // 2, n // 2 + px] and not grown[n // 2, n // 2 + px + 1]  # exactly px along the axes
    assert abs(int(grown.sum()) - int(disk(px).sum())) <= 0.15 * disk(px).sum()  # about the disk's area


@pytest.mark.parametrize("shape", [(40, 90), (90, 40)])
def test_octagon_erode_is_dilate_of_the_complement(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    a = rng.random(shape).astype(np.float32)
    assert np.allclose(erode(a, 9), 1.0 - dilate(1.0 - a, 9), atol=1e-6)
    assert erode(a, 9).dtype == np.float32 and erode(a, 9).shape == shape


def test_cost_does_not_grow_with_radius(monkeypatch: pytest.MonkeyPatch) -> None:
    """No 2-D footprint above EXACT_DISK_MAX_PX, and the same number of 1-D passes of any length."""
    import scipy.ndimage as ndi

    from alphacut.ops import morphology

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("a 2-D footprint costs O(r^2) per pixel")

    passes: list[int] = []
    real_min, real_max = ndi.minimum_filter1d, ndi.maximum_filter1d
    monkeypatch.setattr(ndi, "grey_erosion", refuse)
    monkeypatch.setattr(ndi, "grey_dilation", refuse)
    monkeypatch.setattr(ndi, "minimum_filter1d", lambda *a, **k: passes.append(1) or real_min(*a, **k))
    monkeypatch.setattr(ndi, "maximum_filter1d", lambda *a, **k: passes.append(1) or real_max(*a, **k))
    a = square(400, 100, 300)
    counts = []
    for px in (morphology.EXACT_DISK_MAX_PX + 2, 50, 150):
        passes.clear()
        erode(a, px)
        dilate(a, px)
        counts.append(len(passes))
    assert counts[0] == counts[1] == counts[2] == 8


@pytest.mark.parametrize(("shape", "half", "anti"), [((1100, 37), 3, False), ((1100, 37), 40, True),
                                                      ((20, 700), 9, True), ((513, 50), 146, False)])
def test_diagonal_pass_in_strips_is_exact(shape: tuple[int, int], half: int, anti: bool) -> None:
    from alphacut.ops.morphology import _running_diagonal

    rng = np.random.default_rng(1)
    a = rng.random(shape).astype(np.float32)
    h, w = shape
    ref = np.full(shape, np.inf, np.float32)
    for k in range(-half, half + 1):  # brute force: the minimum over the pixels (y + k, x +/- k) inside
        dx = -k if anti else k
        if abs(k) >= h or abs(dx) >= w:
            continue  # that diagonal step leaves the image everywhere
        ys, xs = slice(max(0, -k), min(h, h - k)), slice(max(0, -dx), min(w, w - dx))
        src = a[max(0, k):min(h, h + k), max(0, dx):min(w, w + dx)]
        ref[ys, xs] = np.minimum(ref[ys, xs], src)
    assert np.array_equal(_running_diagonal(a, half, anti=anti, grow=False), ref)
