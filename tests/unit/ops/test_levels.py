"""levels: the matte value curve (clip((a - lo) / (hi - lo), 0, 1)) and its bounds."""

from __future__ import annotations

import numpy as np
import pytest

from alphacut.ops.levels import apply_levels, levels_knots

RNG = np.random.default_rng(11)


@pytest.mark.parametrize(("lo", "hi"), [(0.0, 1.0), (0.05, 0.95), (0.2, 0.8), (0.0, 0.9), (0.1, 1.0)])
def test_equals_the_formula_and_stays_in_range(lo: float, hi: float) -> None:
    a = RNG.random((37, 53)).astype(np.float32)
    out = apply_levels(a, lo, hi)
    ref = np.clip((a.astype(np.float64) - lo) / (hi - lo), 0, 1)
    assert out.dtype == np.float32 and out.shape == a.shape
    assert np.abs(out - ref).max() < 1e-6
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_identity_and_input_untouched() -> None:
    a = RNG.random((8, 9)).astype(np.float32)
    before = a.copy()
    out = apply_levels(a, 0.0, 1.0)
    assert np.array_equal(out, a) and out is not a
    apply_levels(a, 0.1, 0.9)
    assert np.array_equal(a, before)


def test_monotone_and_saturating() -> None:
    a = np.linspace(0, 1, 101, dtype=np.float32)
    out = apply_levels(a, 0.1, 0.9)
    assert np.all(np.diff(out) >= 0)
    assert np.all(out[a <= 0.1] == 0) and np.all(out[a >= 0.9 + 1e-6] == 1)


@pytest.mark.parametrize(("lo", "hi"), [(0.5, 0.5), (0.6, 0.4), (-0.1, 0.9), (0.1, 1.2)])
def test_rejects_bad_bounds(lo: float, hi: float) -> None:
    with pytest.raises(ValueError, match="levels"):
        apply_levels(np.zeros((2, 2), np.float32), lo, hi)


@pytest.mark.parametrize(("lo", "hi", "tail"), [(0.3, 0.7, 0.1), (0.2, 0.9, 0.05), (0.0, 0.8, 0.1), (0.1, 1.0, 0.2),
                                                (0.05, 0.95, 0.0), (0.05, 0.1, 0.4)])  # last: not S-shaped
def test_tail_is_the_piecewise_linear_curve_and_keeps_order(lo: float, hi: float, tail: float) -> None:
    a = np.concatenate([RNG.random(5000), [0.0, 1.0, lo, hi]]).astype(np.float32).reshape(-1, 1)
    out = apply_levels(a, lo, hi, tail=tail)
    xs, ys = levels_knots(lo, hi, tail)
    assert np.abs(out - np.interp(a.astype(np.float64), xs, ys)).max() < 1e-6
    order = np.argsort(a[:, 0], kind="stable")
    assert np.all(np.diff(out[order, 0]) >= 0)
    if tail > 0:  # strictly increasing: inputs 1/1000 apart stay apart
        steps = apply_levels(np.linspace(0, 1, 1001, dtype=np.float32), lo, hi, tail=tail)
        assert np.all(np.diff(steps) > 0)


def test_large_matte_in_blocks_equals_small() -> None:
    a = RNG.random((700, 900)).astype(np.float32)  # more than one block
    out = apply_levels(a, 0.2, 0.8, tail=0.1)
    assert np.array_equal(out[:10], apply_levels(a[:10], 0.2, 0.8, tail=0.1))


@pytest.mark.parametrize("tail", [-0.1, 0.5, 0.7])
def test_rejects_bad_tail(tail: float) -> None:
    with pytest.raises(ValueError, match="tail"):
        apply_levels(np.zeros((2, 2), np.float32), 0.2, 0.8, tail=tail)
