"""alphacut.eval.cv: the leave-one-set-out choice over per-image scores (bench/quality_cv.py's core)."""

from __future__ import annotations

import numpy as np
import pytest

from alphacut.eval.cv import FoldScore, Scorer, choose, leave_one_set_out, oof_means, training_error

FOLDS = ["f1", "f2", "f3"]


def oof_choices(table: dict[str, dict[str, FoldScore]], ranks: dict[str, int] | None = None,
                tie: float = 0.0, criterion: str = "mean") -> dict[str, str]:
    """Each held-out fold's choice made on the other folds of `table` (candidate -> fold -> score)."""
    ranks = ranks or dict.fromkeys(table, 0)
    return leave_one_set_out(FOLDS, lambda train, held_out: choose(
        {n: [s[f] for f in train] for n, s in table.items()}, ranks, tie, criterion))


@pytest.mark.parametrize(("table", "ranks", "expected"), [
    # wins on every fold: chosen for every held-out fold, even though it is the less simple one
    ({"plain": {"f1": (0.10, 0.9), "f2": (0.10, 0.9), "f3": (0.10, 0.9)},
      "fancy": {"f1": (0.05, 0.9), "f2": (0.06, 0.9), "f3": (0.07, 0.9)}},
     {"plain": 0, "fancy": 1}, {"f1": "fancy", "f2": "fancy", "f3": "fancy"}),
    # leakage check: "lucky" is best on f3 only (and by far, so best on the mean of all folds too),
    # yet the choice for f3 is made on f1 and f2, where "steady" wins
    ({"steady": {"f1": (0.05, 0.9), "f2": (0.05, 0.9), "f3": (0.10, 0.9)},
      "lucky": {"f1": (0.06, 0.9), "f2": (0.06, 0.9), "f3": (0.01, 0.9)}},
     {"steady": 0, "lucky": 0}, {"f1": "lucky", "f2": "lucky", "f3": "steady"}),
])
def test_leave_one_set_out_chooses_on_the_other_folds(table: dict[str, dict[str, FoldScore]],
                                                      ranks: dict[str, int], expected: dict[str, str]) -> None:
    assert oof_choices(table, ranks) == expected


def test_leakage_candidate_would_win_in_sample() -> None:
    """The leakage case above differs from an in-sample choice: on all folds "lucky" wins."""
    table = {"steady": [(0.05, 0.9), (0.05, 0.9), (0.10, 0.9)], "lucky": [(0.06, 0.9), (0.06, 0.9), (0.01, 0.9)]}
    assert choose(table, {"steady": 0, "lucky": 0}, tie=0.0) == "lucky"


@pytest.mark.parametrize(("scores", "ranks", "tie", "expected"), [
    # within the MAE tie: the higher max F-beta wins even though it is less simple
    ({"a": [(0.1000, 0.80)], "b": [(0.1001, 0.85)]}, {"a": 0, "b": 1}, 0.0002, "b"),
    # the same MAE gap outside the tie: the lower MAE wins
    ({"a": [(0.1000, 0.80)], "b": [(0.1010, 0.85)]}, {"a": 1, "b": 0}, 0.0002, "a"),
    # tied on MAE and on max F-beta (within 0.001): the simpler (lower rank) wins, listed order aside
    ({"a": [(0.1000, 0.8500)], "b": [(0.1001, 0.8495)]}, {"a": 2, "b": 1}, 0.0002, "b"),
    ({"b": [(0.1001, 0.8495)], "a": [(0.1000, 0.8500)]}, {"a": 2, "b": 1}, 0.0002, "b"),
    # equally simple: the lower MAE among the tied
    ({"a": [(0.1001, 0.85)], "b": [(0.1000, 0.85)]}, {"a": 0, "b": 0}, 0.0002, "b"),
    # the mean over training folds decides, not one fold
    ({"a": [(0.01, 0.9), (0.20, 0.9)], "b": [(0.09, 0.9), (0.09, 0.9)]}, {"a": 0, "b": 0}, 0.0, "b"),
])
def test_choose_ties(scores: dict[str, list[FoldScore]], ranks: dict[str, int], tie: float, expected: str) -> None:
    assert choose(scores, ranks, tie) == expected


def test_choose_geomean_and_fb_floor() -> None:
    # mean MAE favours a (0.105 vs 0.11), the geometric mean favours b (0.0707 vs 0.1095)
    scores = {"a": [(0.10, 0.9), (0.11, 0.9)], "b": [(0.01, 0.9), (0.21, 0.9)]}
    assert choose(scores, {"a": 0, "b": 0}, 0.0) == "a"
    assert choose(scores, {"a": 0, "b": 0}, 0.0, criterion="geomean") == "b"
    # a value curve costing more max F-beta than the floor against its base is left out
    curved = {"a": [(0.10, 0.90)], "a · levels": [(0.09, 0.88)]}
    base = {"a · levels": "a"}
    assert choose(curved, {"a": 0, "a · levels": 0}, 0.0) == "a · levels"
    assert choose(curved, {"a": 0, "a · levels": 0}, 0.0, fb_floor=0.03, base=base) == "a · levels"
    assert choose(curved, {"a": 0, "a · levels": 0}, 0.0, fb_floor=0.01, base=base) == "a"
    with pytest.raises(ValueError, match="criterion"):
        training_error([(0.1, 0.9)], "median")


def test_oof_means_per_fold() -> None:
    """Each fold weighs the same, whatever its number of images: the mean of the per-fold scores."""
    table = {"steady": {"f1": (0.05, 0.90), "f2": (0.05, 0.80), "f3": (0.10, 0.70)},
             "lucky": {"f1": (0.06, 0.60), "f2": (0.06, 0.50), "f3": (0.01, 0.40)}}
    oof = oof_choices(table)
    per_fold = [table[oof[f]][f] for f in FOLDS]
    assert per_fold == [(0.06, 0.60), (0.06, 0.50), (0.10, 0.70)]
    assert oof_means(per_fold) == pytest.approx((0.22 / 3, 1.8 / 3))
    # the fold means, not the images: a fold of 1 image counts as much as one of 3
    big, small = Scorer(), Scorer()
    gt = np.array([[0.0, 1.0]])
    for k in ("x", "y", "z"):
        big.add(k, np.array([[0.0, 1.0]]), gt, None)  # MAE 0
    small.add("w", np.array([[1.0, 1.0]]), gt, None)  # MAE 0.5
    assert oof_means([big.score(), small.score()])[0] == pytest.approx(0.25)
    with pytest.raises(ValueError):
        oof_means([])


def test_scorer_mae_valid_and_keys() -> None:
    sc = Scorer()
    gt = np.array([[0.0, 1.0, 0.0, 1.0]])
    sc.add("a/1", np.array([[0.5, 1.0, 0.0, 1.0]]), gt, None)
    sc.add("b/1", np.array([[1.0, 1.0, 0.0, 1.0]]), gt, np.array([[False, True, True, True]]))
    assert sc.mae == {"a/1": pytest.approx(0.125), "b/1": 0.0}
    assert sc.score(["b/1"]) == (0.0, pytest.approx(1.0))
    assert sc.score()[0] == pytest.approx(0.0625)
