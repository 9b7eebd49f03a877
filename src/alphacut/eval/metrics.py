"""Quality metrics for mattes against ground truth.

Salient-object metrics (max/mean F-beta with beta² = 0.3, S-measure, mean E-measure) come from
pysodmetrics with its conventions, except that predictions are scored as they are (normalize=False:
pysodmetrics would min-max stretch each one, hiding a matte that never reaches 0 or 1):
8-bit prediction and ground truth, GT binarised at 128, the
F-beta and E-measure curves averaged over the images of a set and then maximised (max F) or
averaged (mean F, mean E). Matting metrics follow the Deep Image Matting / Composition-1k
evaluation: on alphas scaled to [0, 1], SAD = sum |p - g| / 1000, MSE = mean (p - g)², and
Grad = sum (|∇p| - |∇g|)² / 1000 with first-order Gaussian derivatives (sigma 1.4).
The connectivity error is not computed.

Pixels marked unknown (the grabcut set's 128 band) are excluded: MAE, SAD, MSE and Grad are taken
over the known pixels only, and for the pysodmetrics measures, which take no mask, both the
prediction and the ground truth are set to background there, so those pixels add no error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from ..errors import InputError

__all__ = ["PairScores", "SetAccumulator", "SetScores", "gradient_error"]


@dataclass(frozen=True, slots=True)
class PairScores:
    stem: str
    mae: float
    sad: float
    mse: float
    grad: float | None  # soft ground truth only


@dataclass(frozen=True, slots=True)
class SetScores:
    name: str
    n: int
    soft: bool
    mae: float
    max_fbeta: float
    mean_fbeta: float
    s_measure: float
    e_measure: float
    sad: float | None
    mse: float | None
    grad: float | None
    pairs: tuple[PairScores, ...] = field(default=(), repr=False)


def gradient_error(pred: NDArray[np.float32], gt: NDArray[np.float32], valid: NDArray[np.bool_] | None,
                   sigma: float = 1.4) -> float:
    """DIM's gradient error: squared difference of Gaussian gradient magnitudes, summed, / 1000."""
    def mag(x: NDArray[np.float32]) -> NDArray[np.float64]:
        gx = ndimage.gaussian_filter(x.astype(np.float64), sigma, order=(0, 1))
        gy = ndimage.gaussian_filter(x.astype(np.float64), sigma, order=(1, 0))
        out: NDArray[np.float64] = np.sqrt(gx * gx + gy * gy)
        return out

    d = (mag(pred) - mag(gt)) ** 2
    return float(d[valid].sum() if valid is not None else d.sum()) / 1000.0


class SetAccumulator:
    """Feed (pred, gt) pairs of one set; `result()` gives the set's scores."""

    def __init__(self, name: str, *, soft: bool) -> None:
        import warnings

        import py_sod_metrics as sod

        self.name = name
        self.soft = soft
        with warnings.catch_warnings():  # Fmeasure warns it will be replaced by FmeasureV2 one day
            warnings.simplefilter("ignore")
            self._fm = sod.Fmeasure()
        self._sm = sod.Smeasure()
        self._em = sod.Emeasure()
        self._pairs: list[PairScores] = []

    def add(self, stem: str, pred: NDArray[np.float32], gt: NDArray[np.float32],
            valid: NDArray[np.bool_] | None = None) -> PairScores:
        """pred, gt: H×W in [0, 1]; valid: pixels to score (None = all)."""
        if pred.shape != gt.shape:
            raise InputError("eval.size-mismatch",
                             f"{self.name}/{stem}: prediction is {pred.shape[1]}x{pred.shape[0]}, "
                             f"ground truth {gt.shape[1]}x{gt.shape[0]}.",
                             hint="Predictions must be at the image's own resolution.")
        pred = np.clip(pred.astype(np.float32), 0.0, 1.0)
        diff = np.abs(pred - gt)
        d = diff[valid] if valid is not None else diff.ravel()
        scores = PairScores(stem=stem, mae=float(d.mean()), sad=float(d.sum()) / 1000.0,
                            mse=float((d.astype(np.float64) ** 2).mean()),
                            grad=gradient_error(pred, gt, valid) if self.soft else None)
        p8 = np.rint(pred * 255).astype(np.uint8)
        g8 = np.rint(gt * 255).astype(np.uint8)
        if valid is not None:
            p8 = np.where(valid, p8, 0).astype(np.uint8)
            g8 = np.where(valid, g8, 0).astype(np.uint8)
        pf = p8.astype(np.float64) / 255.0  # unstretched, on the 8-bit grid an output file has
        if g8.max() >= 128:  # pysodmetrics needs some foreground for S/E; F handles empty GT
            self._sm.step(pred=pf, gt=g8 > 128, normalize=False)
            self._em.step(pred=pf, gt=g8 > 128, normalize=False)
        self._fm.step(pred=pf, gt=g8 > 128, normalize=False)
        self._pairs.append(scores)
        return scores

    def result(self) -> SetScores:
        if not self._pairs:
            raise InputError("eval.empty-set", f"Set '{self.name}' has no scored pairs.")
        fm = self._fm.get_results()["fm"]["curve"]
        em = self._em.get_results()["em"]["curve"]
        sm = self._sm.get_results()["sm"]

        def mean(attr: str) -> float:
            return float(np.mean([getattr(p, attr) for p in self._pairs]))

        return SetScores(
            name=self.name, n=len(self._pairs), soft=self.soft, mae=mean("mae"),
            max_fbeta=float(np.max(fm)), mean_fbeta=float(np.mean(fm)), s_measure=float(sm),
            e_measure=float(np.mean(em)),
            sad=mean("sad") if self.soft else None, mse=mean("mse") if self.soft else None,
            grad=mean("grad") if self.soft else None, pairs=tuple(self._pairs))
