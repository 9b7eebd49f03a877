"""components: separate blobs, merge a small nearby part, drop specks, select."""

from __future__ import annotations

import numpy as np
import pytest

from alphacut.ops.components import keep_largest, select_subject, split_subjects


def canvas() -> np.ndarray:
    return np.zeros((200, 300), np.float32)


def test_two_blobs_separate_sorted_by_area() -> None:
    a = canvas()
    a[20:120, 10:110] = 1  # 10,000 px
    a[50:110, 200:260] = 1  # 3,600 px
    subs = split_subjects(a)
    assert [s.area_px for s in subs] == [10000, 3600]
    assert subs[0].bbox == (10, 20, 110, 120) and subs[1].bbox == (200, 50, 260, 110)
    assert subs[1].centroid == pytest.approx((229.5, 79.5))


def test_small_nearby_part_merges_far_one_stays() -> None:
    a = canvas()
    a[20:120, 10:110] = 1
    a[60:70, 115:125] = 1  # 100 px, 5 px away -> merges
    a[150:160, 250:260] = 1  # 100 px, far -> own subject
    subs = split_subjects(a, min_area_frac=0.05, merge_distance_px=16)
    assert len(subs) == 2
    assert subs[0].area_px == 10100 and subs[0].bbox == (10, 20, 125, 120)
    assert subs[1].bbox == (250, 150, 260, 160)


def test_specks_dropped() -> None:
    a = canvas()
    a[20:120, 10:110] = 1
    a[180:183, 280:283] = 1  # 9 px
    subs = split_subjects(a)
    assert len(subs) == 1
    assert keep_largest(a)[181, 281] == 0


def test_soft_fringe_goes_to_nearest_subject() -> None:
    a = canvas()
    a[20:120, 10:110] = 1
    a[20:120, 110:113] = 0.3
    a[50:110, 200:260] = 1
    a[50:110, 197:200] = 0.2
    subs = split_subjects(a)
    full0, full1 = subs[0].full_alpha(), subs[1].full_alpha()
    assert np.allclose(full0[20:120, 110:113], 0.3) and full1[20:120, 110:113].max() == 0
    assert np.allclose(full1[50:110, 197:200], 0.2)
    assert np.allclose(full0 + full1, a)


@pytest.mark.parametrize(("which", "bbox"), [("largest", (10, 20, 110, 120)),
                                              ("center", (130, 80, 170, 120)), (1, (130, 80, 170, 120))])
def test_select(which: str | int, bbox: tuple[int, int, int, int]) -> None:
    a = canvas()
    a[20:120, 10:110] = 1
    a[80:120, 130:170] = 1
    assert select_subject(split_subjects(a, min_area_frac=0.0), which).bbox == bbox  # type: ignore[arg-type]


def test_empty_matte() -> None:
    assert split_subjects(canvas()) == []
    assert keep_largest(canvas()).max() == 0
    with pytest.raises(ValueError):
        select_subject([], "largest")
