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
