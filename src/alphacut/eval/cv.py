"""Leave-one-set-out cross-validation over per-image scores (the core of bench/quality_cv.py).

Pure numpy, no I/O: `Scorer` keeps each image's MAE and F-beta curve for one (candidate, fold);
`choose` picks a candidate from its scores on the training folds (lowest mean MAE, ties by the
highest mean max F-beta, then the simplest); `leave_one_set_out` makes that choice once per
held-out fold from the other folds only; `oof_means` averages the held-out folds' scores.

>>> scores = {"a": {"f1": (0.10, 0.9), "f2": (0.10, 0.9)}, "b": {"f1": (0.20, 0.9), "f2": (0.01, 0.9)}}
>>> oof = leave_one_set_out(["f1", "f2"], lambda train, held_out: choose(
...     {n: [s[f] for f in train] for n, s in scores.items()}, {"a": 0, "b": 0}, tie=0.0))
>>> oof  # b is best on f2 only, so it is chosen for f1 (trained on f2) but not for f2
{'f1': 'b', 'f2': 'a'}
>>> [round(x, 4) for x in oof_means([scores[oof[f]][f] for f in ("f1", "f2")])]  # b on f1, a on f2
[0.15, 0.9]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

FoldScore = tuple[float, float]
"""(mean MAE, max F-beta) of a candidate on one fold."""

F_TIE = 0.001
"""Max F-beta values within this of the best count as tied."""

TYPICAL_MAE = 0.08
"""A typical mean MAE: the `geomean` criterion's relative tie is tie / TYPICAL_MAE."""


class Scorer:
    """MAE and the F-beta curve of alphacut.eval.metrics.SetAccumulator, per (candidate, fold).

    The F-beta curve is pysodmetrics' Fmeasure.cal_pr (beta² = 0.3, thresholds 0..255, the same
    uint8 truncation of pred * 255), computed here with one bincount instead of its two histograms
    and its unused adaptive F-measure (bench/quality_cv.py's fcurve_matches_pysodmetrics checks it).

    >>> sc = Scorer()
    >>> gt = np.array([[0.0, 1.0]])
    >>> sc.add("x", np.array([[0.0, 0.5]]), gt, None)
    >>> sc.mae["x"], round(float(sc.curve().max()), 3)
    (0.25, 1.0)
    """

    BETA2 = 0.3

    def __init__(self) -> None:
        self.mae: dict[str, float] = {}
        self.fcurve: dict[str, np.ndarray] = {}

    @classmethod
    def f_curve(cls, p8: np.ndarray, g: np.ndarray) -> np.ndarray:
        """pysodmetrics' changeable F-measures of a uint8 prediction against a boolean GT."""
        q = (p8.astype(np.float64) / 255 * 255).astype(np.uint8).ravel()  # its own truncation, kept
        hist = np.bincount(q.astype(np.int64) + 256 * g.ravel(), minlength=512)
        bg_w = np.cumsum(hist[:256][::-1]).astype(np.float64)
        tps = np.cumsum(hist[256:][::-1]).astype(np.float64)
        ps = tps + bg_w
        ps[ps == 0] = 1
        t = max(int(np.count_nonzero(g)), 1)
        prec, rec = tps / ps, tps / t
        num = (1 + cls.BETA2) * prec * rec
        den = np.where(num == 0, 1, cls.BETA2 * prec + rec)
        out: np.ndarray = num / den
        return out

    def add(self, stem: str, pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None) -> None:
        """Score one image (pred and gt in [0, 1]; valid: the known pixels, None for all)."""
        pred = np.clip(pred, 0, 1)
        d = np.abs(pred - gt)
        self.mae[stem] = float((d[valid] if valid is not None else d).mean())
        p8 = np.rint(pred * 255).astype(np.uint8)
        g8 = np.rint(gt * 255).astype(np.uint8)
        if valid is not None:
            p8 = np.where(valid, p8, 0).astype(np.uint8)
            g8 = np.where(valid, g8, 0).astype(np.uint8)
        self.fcurve[stem] = self.f_curve(p8, g8 > 128)

    def curve(self, keys: list[str] | None = None) -> np.ndarray:
        """pysodmetrics' F-beta curve: the mean of the per-image curves (of `keys` only, if given)."""
        out: np.ndarray = np.mean([self.fcurve[k] for k in (keys if keys is not None else self.fcurve)], axis=0)
        return out

    def score(self, keys: list[str] | None = None) -> FoldScore:
        """(mean MAE, max F-beta) over the images `keys` (all if None)."""
        keep = list(self.mae) if keys is None else keys
        return float(np.mean([self.mae[k] for k in keep])), float(self.curve(keep).max())


def training_error(train: Sequence[FoldScore], criterion: str = "mean") -> float:
    """The error a candidate is chosen by: the mean of its training folds' MAE, or with
    criterion "geomean" their geometric mean (every fold weighs the same in relative terms).

    >>> training_error([(0.1, 0.9), (0.3, 0.8)])
    0.2
    """
    if criterion == "geomean":
        return float(np.exp(np.mean([np.log(m) for m, _ in train])))
    if criterion != "mean":
        raise ValueError(f"criterion must be 'mean' or 'geomean', not {criterion!r}")
    return float(np.mean([m for m, _ in train]))


def choose(scores: Mapping[str, Sequence[FoldScore]], ranks: Mapping[str, int], tie: float,
           criterion: str = "mean", fb_floor: float | None = None,
           base: Mapping[str, str] | None = None) -> str:
    """The candidate chosen from its scores on the training folds.

    scores: per candidate (in the candidates' order) its (MAE, max F-beta) on each training fold;
    ranks: the candidates' simplicity (lower is simpler). The lowest training_error wins; the
    candidates within `tie` of it (criterion "mean"; "geomean": within tie / TYPICAL_MAE of it,
    relatively) are tied, then only those within F_TIE of the tied ones' highest mean max F-beta
    are kept, and of those the simplest (then the lowest error, then the first listed) is chosen.
    fb_floor: a candidate named in `base` (one with a value curve, mapped to the same candidate
    without it) is left out if its mean max F-beta is lower than its base's by more than fb_floor.

    >>> choose({"simple": [(0.10, 0.90)], "fancy": [(0.0999, 0.91)]}, {"simple": 0, "fancy": 1}, tie=0.001)
    'fancy'
    """
    if not scores:
        raise ValueError("choose needs at least one candidate")
    rows, fb = [], {}
    for name, s in scores.items():
        fb[name] = float(np.mean([f for _, f in s]))
        rows.append((training_error(s, criterion), fb[name], ranks[name], name))
    if fb_floor is not None and base:
        rows = [r for r in rows if r[3] not in base or r[1] >= fb[base[r[3]]] - fb_floor]
    best = min(r[0] for r in rows)
    rel_tie = tie / TYPICAL_MAE  # 0.0002 -> 0.25 %
    tied = [r for r in rows if (r[0] <= best + tie if criterion == "mean" else r[0] <= best * (1 + rel_tie))]
    top_f = max(r[1] for r in tied)
    tied = [r for r in tied if r[1] >= top_f - F_TIE]
    return min(tied, key=lambda r: (r[2], r[0]))[3]


def leave_one_set_out(folds: Sequence[str], choose_on: Callable[[list[str], str], str]) -> dict[str, str]:
    """Per held-out fold, the choice made on the other folds: choose_on(training folds, held-out fold).
    With a single fold there are no others, and it is trained on itself (an in-sample choice).

    >>> leave_one_set_out(["a", "b", "c"], lambda train, held: "+".join(train))
    {'a': 'b+c', 'b': 'a+c', 'c': 'a+b'}
    """
    return {f: choose_on([g for g in folds if g != f] or list(folds), f) for f in folds}


def oof_means(rows: Sequence[FoldScore]) -> FoldScore:
    """The mean over folds of per-fold (MAE, max F-beta) scores: each fold weighs the same.

    >>> oof_means([(0.1, 0.5), (0.3, 0.75)])
    (0.2, 0.625)
    """
    if not rows:
        raise ValueError("oof_means needs at least one fold")
    return float(np.mean([a for a, _ in rows])), float(np.mean([b for _, b in rows]))
