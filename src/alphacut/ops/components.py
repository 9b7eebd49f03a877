"""Connected subjects of a matte: split, merge small nearby parts, drop specks, select one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = ["Subject", "keep_largest", "select_subject", "split_subjects"]

F32 = NDArray[np.float32]
_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True, slots=True)
class Subject:
    """One subject of a matte: its alpha inside its bbox, and where it sits in the image."""

    alpha: F32  # (y1 - y0) x (x1 - x0) crop of the matte holding only this subject
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)
    area_px: int  # core pixels (alpha >= level), merged parts included
    centroid: tuple[float, float]  # x, y of the core, in image pixel coordinates
    image_hw: tuple[int, int]  # height, width of the matte it came from

    def full_alpha(self) -> F32:
        """Return this subject's alpha on a full-size H x W canvas (zeros elsewhere)."""
        out = np.zeros(self.image_hw, dtype=np.float32)
        x0, y0, x1, y1 = self.bbox
        out[y0:y1, x0:x1] = self.alpha
        return out


def _nearest_big_label(
    big_labels: NDArray[np.int32], part: NDArray[np.bool_], sl: tuple[slice, slice], reach: int
) -> tuple[int, float]:
    """Label of the big part nearest to a small part, and its distance, searched within reach px."""
    import scipy.ndimage as ndi  # here: scipy slows every start (docs/studies/performance-rounds.md, "Cold start")
    h, w = big_labels.shape
    ys, xs = sl
    y0, y1 = max(ys.start - reach, 0), min(ys.stop + reach, h)
    x0, x1 = max(xs.start - reach, 0), min(xs.stop + reach, w)
    window = big_labels[y0:y1, x0:x1]
    if not window.any():
        return 0, float("inf")
    dist, (iy, ix) = ndi.distance_transform_edt(window == 0, return_indices=True)
    local = part[y0:y1, x0:x1]
    d = np.where(local, dist, np.inf)
    k = int(np.argmin(d))
    ky, kx = np.unravel_index(k, d.shape)
    return int(window[iy[ky, kx], ix[ky, kx]]), float(d[ky, kx])


def split_subjects(
    alpha: F32,
    *,
    level: float = 0.5,
    min_area_frac: float = 0.05,
    merge_distance_px: int = 16,
    speck_area_frac: float = 0.002,
    min_speck_px: int = 16,
) -> list[Subject]:
    """Split a matte into subjects, largest first.

    Cores are 8-connected regions of alpha >= level. A core smaller than
    ``speck_area_frac`` of the largest (or than ``min_speck_px``) is dropped. A core smaller
    than ``min_area_frac`` of the largest that lies within ``merge_distance_px`` of a bigger
    core joins the nearest one (a detached hand, a strap); farther ones stay subjects of their
    own. Soft pixels (0 < alpha < level) go to the subject whose core is nearest.

    Args:
        alpha: H x W matte in [0, 1].
        level: binarisation level for cores.
        min_area_frac: parts below this fraction of the largest core may merge.
        merge_distance_px: how close (Euclidean, px) a small part must be to merge.
        speck_area_frac: parts below this fraction of the largest are dropped.
        min_speck_px: parts below this many pixels are always dropped.

    Example:
        >>> a = np.zeros((60, 100), np.float32); a[10:50, 5:45] = 1; a[10:40, 60:90] = 1
        >>> [s.bbox for s in split_subjects(a)]
        [(5, 10, 45, 50), (60, 10, 90, 40)]
    """
    import scipy.ndimage as ndi  # here: scipy slows every start (docs/studies/performance-rounds.md, "Cold start")
    a = np.asarray(alpha, dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"alpha must be H x W, got shape {a.shape}")
    labels, n = ndi.label(a >= level, structure=_EIGHT)
    if n == 0:
        return []
    areas = np.bincount(labels.ravel(), minlength=n + 1)
    areas[0] = 0
    largest = int(areas.max())
    speck = (areas < max(speck_area_frac * largest, min_speck_px)) | (np.arange(n + 1) == 0)
    small = (areas < min_area_frac * largest) & ~speck
    big = ~speck & ~small
    # owner[k] = the final subject label of core k (0 = dropped).
    owner = np.where(big, np.arange(n + 1), 0)
    big_labels = np.where(big[labels], labels, 0).astype(np.int32)
    slices = ndi.find_objects(labels)
    for k in np.flatnonzero(small):
        sl = slices[k - 1]
        assert sl is not None
        target, dist = _nearest_big_label(big_labels, labels == k, sl, merge_distance_px)
        owner[k] = target if (target and dist <= merge_distance_px) else k
    core_owner = owner[labels]
    # Soft pixels (and cores) take the owner of the nearest surviving core.
    _, (iy, ix) = ndi.distance_transform_edt(core_owner == 0, return_indices=True)
    nearest = core_owner[iy, ix]
    visible = a >= np.float32(1.0 / 255.0)  # what an 8-bit output shows at all
    assigned = np.where(visible & ((labels == 0) | (core_owner > 0)), nearest, 0)
    h, w = a.shape
    subjects: list[Subject] = []
    for lab in np.unique(owner[owner > 0]):
        mask = assigned == lab
        ys, xs = np.nonzero(mask)
        if ys.size == 0:
            continue
        x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
        core = core_owner == lab
        cy, cx = ndi.center_of_mass(core)
        crop = np.where(mask[y0:y1, x0:x1], a[y0:y1, x0:x1], np.float32(0.0))
        subjects.append(
            Subject(
                alpha=crop.astype(np.float32),
                bbox=(x0, y0, x1, y1),
                area_px=int(core.sum()),
                centroid=(float(cx), float(cy)),
                image_hw=(h, w),
            )
        )
    subjects.sort(key=lambda s: -s.area_px)
    return subjects


def keep_largest(alpha: F32, **kwargs: float) -> F32:
    """Keep only the largest subject (with the small parts merged into it); zeros if none.

    Args:
        alpha: H x W matte in [0, 1].
        kwargs: passed to :func:`split_subjects`.

    Example:
        >>> a = np.zeros((40, 40), np.float32); a[5:25, 5:25] = 1; a[30:38, 30:38] = 1
        >>> float(keep_largest(a)[34, 34])
        0.0
    """
    subjects = split_subjects(alpha, **kwargs)  # type: ignore[arg-type]
    if not subjects:
        return np.zeros_like(np.asarray(alpha, dtype=np.float32))
    return subjects[0].full_alpha()


def select_subject(
    subjects: list[Subject], which: Literal["largest", "center"] | int = "largest"
) -> Subject:
    """Pick a subject: the largest, the one whose centroid is nearest the image centre, or by index.

    Example:
        >>> a = np.zeros((60, 100), np.float32); a[5:55, 2:40] = 1; a[25:35, 45:55] = 1
        >>> select_subject(split_subjects(a, min_area_frac=0), "center").bbox
        (45, 25, 55, 35)
    """
    if not subjects:
        raise ValueError("no subjects to select from")
    if isinstance(which, int):
        if not -len(subjects) <= which < len(subjects):
            raise IndexError(f"subject index {which} out of range 0..{len(subjects) - 1}")
        return subjects[which]
    if which == "largest":
        return max(subjects, key=lambda s: s.area_px)
    if which == "center":
        h, w = subjects[0].image_hw
        cx, cy = w / 2.0, h / 2.0
        return min(
            subjects,
            key=lambda s: ((s.centroid[0] - cx) ** 2 + (s.centroid[1] - cy) ** 2, -s.area_px),
        )
    raise ValueError(f"unknown selection {which!r}; use 'largest', 'center' or an index")
