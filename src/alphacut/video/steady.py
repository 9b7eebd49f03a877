"""Steady mattes over video frames: the previous matte, carried along by optical flow, blended
with the new one where the flow can be trusted.

For frame t with the network's matte m_t and the previous output o_{t-1}:

    flow       DIS optical flow (Kroeger et al., ECCV 2016; OpenCV) from frame t to t-1, and back,
               on a grey copy whose longer side is at most `flow_side` px;
    reliable   forward-backward consistency (the two flows cancel within `fb_tol_px` + 5% of the
               motion) and the warped previous frame matching this one (|Δgrey| < `photo_tol`);
    output     o_t = w·warp(o_{t-1}) + (1 − w)·m_t, w = `keep` where reliable, 0 elsewhere, so
               occluded, uncovered or changed pixels take the new matte at once (no ghost).
    cut        more than `cut_frac` of the pixels unreliable: a scene cut, o_t = m_t.

Because o is recursive, noise in m averages over ~1/(1-keep) frames along the motion, while
anything the flow cannot follow is new every frame. With `matte=None` (a frame the network
skipped, video --fast) the warped previous output is the matte.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._deps import require_cv2

__all__ = ["MatteStabilizer", "SteadyOptions", "StepInfo"]

log = logging.getLogger(__name__)

F32 = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class SteadyOptions:
    """How mattes are steadied from frame to frame (see the module docstring)."""

    enabled: bool = True
    keep: float = 0.6
    flow_side: int = 480
    fb_tol_px: float = 1.0
    photo_tol: float = 0.08
    cut_frac: float = 0.5
    agree_tol: float | None = 0.2  # None: blend regardless of how much the new and carried mattes differ
    keyframe_interval: int = 1  # the network runs every Nth frame (and on cuts); flow carries the rest

    def __post_init__(self) -> None:
        from ..errors import OptionsError

        if not 0.0 <= self.keep < 1.0:
            raise OptionsError("options.invalid", f"steady keep={self.keep} must be in [0, 1).")
        if self.keyframe_interval < 1:
            raise OptionsError("options.invalid", "keyframe interval must be at least 1.")
        if self.flow_side < 32:
            raise OptionsError("options.invalid", "flow_side must be at least 32 px.")


@dataclass(frozen=True, slots=True)
class StepInfo:
    """What the stabiliser did with one frame."""

    reset: bool  # first frame or a cut: the new matte as it is
    reliable_frac: float  # share of pixels whose flow passed both checks (1.0 on a reset)
    propagated: bool = False  # no new matte: the warped previous one


class MatteStabilizer:
    """Stateful: feed frames in order with `step`; `reset` before an unrelated frame.

    Example:
        >>> stab = MatteStabilizer()
        >>> for rgb, matte in zip(frames, mattes):      # H×W×3 uint8, H×W float32
        ...     steady, info = stab.step(rgb, matte)
    """

    def __init__(self, options: SteadyOptions | None = None) -> None:
        self.options = options or SteadyOptions()
        cv2 = require_cv2()
        self._cv2 = cv2
        self._dis: Any = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self._prev_small: NDArray[np.uint8] | None = None
        self._prev_out: F32 | None = None

    def reset(self) -> None:
        self._prev_small = None
        self._prev_out = None

    @property
    def has_state(self) -> bool:
        return self._prev_out is not None

    def _small_grey(self, rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
        cv2 = self._cv2
        grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        h, w = grey.shape
        s = min(1.0, self.options.flow_side / max(h, w))
        if s < 1.0:
            grey = cv2.resize(grey, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)
        return np.asarray(grey, np.uint8)

    def step(self, rgb: NDArray[np.uint8], matte: F32 | Callable[[], F32] | None) -> tuple[F32, StepInfo]:
        """The steady matte for this frame (H×W float32).

        `matte` is the network's matte for this frame; or a function that computes it, called only
        when the flow can't carry the previous matte (first frame, a cut); or None to carry it
        regardless (a ValueError when there is nothing to carry).
        """
        def new() -> F32:
            m = matte() if callable(matte) else matte
            if m is None:
                raise ValueError("the first frame (or one after a reset) needs the network's matte")
            return m

        small = self._small_grey(rgb)
        prev_small, prev_out = self._prev_small, self._prev_out
        if prev_small is None or prev_out is None or prev_small.shape != small.shape \
                or prev_out.shape != rgb.shape[:2] or not self.options.enabled:
            return self._keep(small, new()), StepInfo(reset=True, reliable_frac=1.0)
        warped, reliable = self._warp(prev_small, small, prev_out)
        frac = float(reliable.mean())
        if frac < 1.0 - self.options.cut_frac and matte is not None:
            log.debug("cut: %.0f%% of the flow reliable", 100 * frac)
            return self._keep(small, new()), StepInfo(reset=True, reliable_frac=frac)
        if matte is None or callable(matte):
            return self._keep(small, warped), StepInfo(reset=False, reliable_frac=frac, propagated=True)
        cv2 = self._cv2
        h, w = matte.shape
        weight = cv2.resize(reliable.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        weight *= np.float32(self.options.keep)
        diff = warped - matte
        if self.options.agree_tol is not None:  # a big difference is motion the flow missed: the new matte
            weight *= np.exp(-np.square(diff / np.float32(self.options.agree_tol)))
        out = matte + weight * diff
        return self._keep(small, np.clip(out, 0.0, 1.0, out=out)), StepInfo(reset=False, reliable_frac=frac)

    def _keep(self, small: NDArray[np.uint8], out: F32) -> F32:
        self._prev_small = small
        self._prev_out = np.asarray(out, np.float32)
        return self._prev_out

    def _warp(self, prev_small: NDArray[np.uint8], small: NDArray[np.uint8], prev_out: F32) -> tuple[F32, NDArray[Any]]:
        """The previous output carried to this frame, and where the flow is reliable (small grid)."""
        cv2 = self._cv2
        back = self._dis.calc(small, prev_small, None)  # this frame -> previous
        fwd = self._dis.calc(prev_small, small, None)  # previous -> this frame
        sh, sw = small.shape
        gx, gy = np.meshgrid(np.arange(sw, dtype=np.float32), np.arange(sh, dtype=np.float32))
        mx, my = gx + back[..., 0], gy + back[..., 1]
        fwd_at = cv2.remap(fwd, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        fb_err = np.hypot(back[..., 0] + fwd_at[..., 0], back[..., 1] + fwd_at[..., 1])
        motion = np.hypot(back[..., 0], back[..., 1])
        prev_warped = cv2.remap(prev_small, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        photo = np.abs(prev_warped.astype(np.float32) - small.astype(np.float32)) / 255.0
        photo = cv2.blur(photo, (3, 3))
        inside = (mx >= 0) & (mx <= sw - 1) & (my >= 0) & (my <= sh - 1)
        reliable = (fb_err < self.options.fb_tol_px + 0.05 * motion) & (photo < self.options.photo_tol) & inside
        # the flow at the matte's size: scale the vectors with the grid
        h, w = prev_out.shape
        fx, fy = w / sw, h / sh
        big = cv2.resize(back, (w, h), interpolation=cv2.INTER_LINEAR)
        bx, by = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        warped = cv2.remap(prev_out, bx + big[..., 0] * np.float32(fx), by + big[..., 1] * np.float32(fy),
                           interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return np.asarray(warped, np.float32), reliable
