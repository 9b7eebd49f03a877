"""Evaluation sets (images + ground truth matched by stem) and the runner that scores a predictor."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ..errors import InputError
from ..io.decode import read_matte
from ..io.files import IMAGE_SUFFIXES
from .metrics import SetAccumulator, SetScores

__all__ = ["EvalPair", "EvalReport", "EvalSet", "compare_markdown", "discover_sets", "evaluate",
           "evaluate_dir", "load_gt"]

log = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class EvalPair:
    stem: str
    image: Path
    gt: Path


@dataclass(frozen=True, slots=True)
class EvalSet:
    name: str
    pairs: tuple[EvalPair, ...]
    soft: bool  # the ground truth is a soft alpha (matting metrics apply)
    has_unknown: bool  # 128 marks an unknown band to exclude (grabcut)

    @classmethod
    def from_dirs(cls, images: Path, gt: Path, *, name: str | None = None) -> EvalSet:
        """Pair images/<stem>.* with gt/<stem>.png; what doesn't pair is logged and left out."""
        if not images.is_dir() or not gt.is_dir():
            raise InputError("eval.not-found", f"{images} and {gt} must both be folders.")
        imgs = {p.stem: p for p in sorted(images.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
        gts = {p.stem: p for p in sorted(gt.iterdir()) if p.suffix.lower() == ".png"}
        for stem in sorted(set(imgs) ^ set(gts)):
            log.warning("%s: %s has no partner; left out", name or images.parent.name, stem)
        pairs = tuple(EvalPair(s, imgs[s], gts[s]) for s in sorted(set(imgs) & set(gts)))
        if not pairs:
            raise InputError("eval.empty-set", f"No image in {images} has a ground truth in {gt}.")
        soft, unknown = _kind_of([p.gt for p in pairs])
        return cls(name=name or images.parent.name, pairs=pairs, soft=soft, has_unknown=unknown)

    def subset(self, limit: int | None) -> EvalSet:
        """At most `limit` pairs, evenly spaced over the sorted stems (deterministic)."""
        if not limit or limit >= len(self.pairs):
            return self
        step = len(self.pairs) / limit
        picked = tuple(self.pairs[math.floor(i * step)] for i in range(limit))
        return EvalSet(self.name, picked, self.soft, self.has_unknown)


def _kind_of(gts: Sequence[Path]) -> tuple[bool, bool]:
    """(soft, has_unknown) read from the data: many in-between values, or a 128 band."""
    soft_votes = unknown_votes = 0
    sample = gts[:: max(1, len(gts) // 12)]
    for p in sample:
        hist = np.bincount(np.asarray(Image.open(p).convert("L")).ravel(), minlength=256)
        n = hist.sum()
        mid = hist[1:255].sum() - hist[128]
        near = hist[120:128].sum() + hist[129:137].sum()
        if hist[128] > 20 * (near / 16 + 1) and hist[128] > 0.002 * n:
            unknown_votes += 1
        if mid > 0.005 * n:
            soft_votes += 1
    unknown = unknown_votes * 2 >= len(sample)
    return (soft_votes * 2 >= len(sample) and not unknown), unknown


def discover_sets(root: Path) -> list[EvalSet]:
    """Every <root>/<set>/{images,gt} folder, by name."""
    if not root.is_dir():
        raise InputError("eval.not-found", f"{root} is not a folder.")
    sets = [EvalSet.from_dirs(d / "images", d / "gt", name=d.name)
            for d in sorted(root.iterdir()) if (d / "images").is_dir() and (d / "gt").is_dir()]
    if not sets:
        raise InputError("eval.not-found", f"No <set>/images + <set>/gt folders under {root}.")
    return sets


def load_gt(path: Path, *, has_unknown: bool) -> tuple[NDArray[np.float32], NDArray[np.bool_] | None]:
    g = read_matte(path)
    valid = (np.rint(g * 255) != 128) if has_unknown else None  # grey 128 marks 'unknown'
    return g, valid


@dataclass(frozen=True, slots=True)
class EvalReport:
    sets: tuple[SetScores, ...]

    def overall(self) -> dict[str, float]:
        """Mean over sets (each set weighs the same, whatever its size)."""
        keys = ("mae", "max_fbeta", "mean_fbeta", "s_measure", "e_measure")
        return {k: float(np.mean([getattr(s, k) for s in self.sets])) for k in keys}

    def to_json(self) -> dict[str, Any]:
        return {"sets": [asdict(s) for s in self.sets], "overall_mean_over_sets": self.overall()}

    def to_markdown(self) -> str:
        rows = ["| set | n | MAE ↓ | max Fβ ↑ | mean Fβ ↑ | Sα ↑ | Eφ ↑ | SAD ↓ | MSE ↓ | Grad ↓ |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for s in self.sets:
            soft = (f"{s.sad:.2f} | {s.mse:.4f} | {s.grad:.2f}" if s.soft and s.sad is not None
                    and s.mse is not None and s.grad is not None else " |  | ")
            rows.append(f"| {s.name} | {s.n} | {s.mae:.4f} | {s.max_fbeta:.4f} | {s.mean_fbeta:.4f} "
                        f"| {s.s_measure:.4f} | {s.e_measure:.4f} | {soft} |")
        o = self.overall()
        rows.append(f"| **mean over sets** | {sum(s.n for s in self.sets)} | {o['mae']:.4f} | "
                    f"{o['max_fbeta']:.4f} | {o['mean_fbeta']:.4f} | {o['s_measure']:.4f} | "
                    f"{o['e_measure']:.4f} |  |  |  |")
        return "\n".join(rows) + "\n"


def _run(sets: Sequence[EvalSet], get: Callable[[EvalSet, EvalPair], NDArray[np.float32]],
         limit: int | None, on_progress: Callable[[int, int], None] | None) -> EvalReport:
    chosen = [s.subset(limit) for s in sets]
    total = sum(len(s.pairs) for s in chosen)
    done = 0
    results = []
    for s in chosen:
        acc = SetAccumulator(s.name, soft=s.soft)
        for pair in s.pairs:
            gt, valid = load_gt(pair.gt, has_unknown=s.has_unknown)
            acc.add(pair.stem, get(s, pair), gt, valid)
            done += 1
            if on_progress is not None:
                on_progress(done, total)
        results.append(acc.result())
    return EvalReport(tuple(results))


def evaluate(sets: Sequence[EvalSet], predict: Callable[[Path], NDArray[np.float32]], *,
             limit: int | None = None, on_progress: Callable[[int, int], None] | None = None) -> EvalReport:
    """Score predict(image_path) -> H×W matte on every set (at most `limit` pairs per set)."""
    return _run(sets, lambda s, p: predict(p.image), limit, on_progress)


def evaluate_dir(sets: Sequence[EvalSet], pred_dir: Path, *, limit: int | None = None,
                 on_progress: Callable[[int, int], None] | None = None) -> EvalReport:
    """Score precomputed mattes saved as <pred_dir>/<set>/<stem>.png (e.g. a peer tool's output)."""
    def get(s: EvalSet, p: EvalPair) -> NDArray[np.float32]:
        path = pred_dir / s.name / f"{p.stem}.png"
        if not path.exists():
            raise InputError("eval.missing-prediction", f"No prediction {path}.")
        return read_matte(path)

    return _run(sets, get, limit, on_progress)


def compare_markdown(reports: dict[str, EvalReport], metrics: Sequence[str] = ("mae", "max_fbeta")) -> str:
    """One row per set and metric, one column per tool; the best value in bold."""
    names = list(reports)
    first = next(iter(reports.values()))
    lower_better = {"mae", "sad", "mse", "grad"}
    header = "| set | metric | " + " | ".join(names) + " |"
    rows = [header, "|" + "---|" * (len(names) + 2)]
    for i, s in enumerate(first.sets):
        for m in metrics:
            vals = [getattr(reports[n].sets[i], m) for n in names]
            if any(v is None for v in vals):
                continue
            best = min(vals) if m in lower_better else max(vals)
            cells = [f"**{v:.4f}**" if v == best else f"{v:.4f}" for v in vals]
            rows.append(f"| {s.name} | {m} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"
