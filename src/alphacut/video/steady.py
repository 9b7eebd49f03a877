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
from typing import Any, Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from ._deps import require_cv2

__all__ = ["MatteStabilizer", "MatteWindow", "SteadyOptions", "StepInfo"]

log = logging.getLogger(__name__)

F32 = NDArray[np.float32]
T = TypeVar("T")


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
    lookahead: int = 2  # MatteWindow: frames of delay; each output averages frames t-k..t+k (0: recursive only)
    window_agree_tol: float | None = 1.0  # MatteWindow's agreement test (agree_tol is the recursive one's;
    # 0.5 until the value curve merged: its steeper edges disagree more;
    # docs/studies/video-rounds.md, "Steady mattes")

    def __post_init__(self) -> None:
        from ..errors import OptionsError

        if not 0.0 <= self.keep < 1.0:
            raise OptionsError("options.invalid", f"steady keep={self.keep} must be in [0, 1).")
        if self.keyframe_interval < 1:
            raise OptionsError("options.invalid", "keyframe interval must be at least 1.")
        if not 0 <= self.lookahead <= 8:
            raise OptionsError("options.invalid", f"steady lookahead={self.lookahead} must be 0..8 frames.")
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
        back = self._dis.calc(small, prev_small, None)  # this frame -> previous
        fwd = self._dis.calc(prev_small, small, None)  # previous -> this frame
        reliable = _reliable(self._cv2, small, prev_small, back, fwd, self.options.fb_tol_px, self.options.photo_tol)
        h, w = prev_out.shape
        return _warp_to(self._cv2, prev_out, back, (w, h)), reliable


# ------------------------------------------------------------------------ bidirectional window

class MatteWindow(Generic[T]):
    """Bidirectional steadying with a delay of `k` frames (SteadyOptions.lookahead).

    Frame t's output is the weighted mean of the mattes of frames t-k..t+k, each warped to frame t
    by DIS flow computed directly between the two frames; a neighbour's weight is its flow's
    reliability there (forward-backward and photometric checks, as MatteStabilizer) times its
    agreement with frame t's own matte (exp(-(Δ/window_agree_tol)²)); frame t's own weight is 1. So a
    pixel the flow can't follow (occlusion, a new part, a cut) keeps this frame's matte: nothing
    ghosts, and no neighbour across a detected cut is used. Unlike the recursive MatteStabilizer,
    the average is centred on t (no lag) and made of raw network mattes (no error fed back).

    Streamed: push() a frame and get back the frames now complete (from the k-th push on, one per
    push); flush() at the end returns the last k. Memory: 2k+1 frames' mattes and grey copies.

    Example:
        >>> win = MatteWindow(SteadyOptions(lookahead=2))
        >>> for i, (rgb, matte) in enumerate(zip(frames, mattes)):
        ...     for token, steady in win.push(rgb, matte, i): write(token, steady)
        >>> for token, steady in win.flush(): write(token, steady)
    """

    def __init__(self, options: SteadyOptions | None = None) -> None:
        self.options = options or SteadyOptions()
        cv2 = require_cv2()
        self._cv2 = cv2
        self._dis: Any = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self._small = _Grey(cv2, self.options.flow_side)
        self._buf: list[_Entry[T]] = []  # frames t-k..t+k around the next one to output
        self._next = 0  # index in _buf of the next frame to output
        self._flows: dict[tuple[int, int], NDArray[np.float32]] = {}  # (from seq, to seq) -> flow
        self._seq = 0
        self.resets = 0  # frames with no usable frame before them: the first, and after each cut

    @property
    def pending(self) -> int:
        """Frames pushed but not yet returned."""
        return len(self._buf) - self._next

    def push(self, rgb: NDArray[np.uint8], matte: F32, token: T) -> list[tuple[T, F32]]:
        """Add the next frame (H×W×3 uint8) and its matte; the frames now complete, in order."""
        k = self.options.lookahead
        self._buf.append(_Entry(self._seq, self._small(rgb), np.asarray(matte, np.float32), token))
        self._seq += 1
        out: list[tuple[T, F32]] = []
        while self._next < len(self._buf) and len(self._buf) - 1 - self._next >= k:
            out.append(self._emit())
        return out

    def flush(self) -> list[tuple[T, F32]]:
        """The frames still waiting for their look-ahead (at the end of the clip); the state is cleared."""
        out = [self._emit() for _ in range(self.pending)]
        self.reset()
        return out

    def reset(self) -> None:
        """Forget every frame (pending ones are dropped: flush() first to keep them)."""
        self._buf.clear()
        self._flows.clear()
        self._next = 0

    def _emit(self) -> tuple[T, F32]:
        k = self.options.lookahead
        t = self._next
        cur = self._buf[t]
        acc = cur.matte.copy()
        wsum = np.ones_like(acc)
        self.resets += t == 0
        for step in (-1, 1):  # outwards on each side, stopping at a cut
            j = t + step
            while 0 <= j < len(self._buf) and abs(j - t) <= k:
                warped, weight, frac = self._warped(cur, self._buf[j])
                if frac < 1.0 - self.options.cut_frac:
                    self.resets += j == t - 1
                    break
                acc += weight * warped
                wsum += weight
                j += step
        self._next += 1
        drop = max(0, self._next - k)  # frames no future output needs
        if drop:
            gone = {e.seq for e in self._buf[:drop]}
            self._flows = {key: f for key, f in self._flows.items() if key[0] not in gone and key[1] not in gone}
            del self._buf[:drop]
            self._next -= drop
        out = np.clip(acc / wsum, 0.0, 1.0).astype(np.float32)
        return cur.token, out

    def _flow(self, a: _Entry[T], b: _Entry[T]) -> NDArray[np.float32]:
        """DIS flow on a's grid pointing into b (cached: every pair is used from both ends)."""
        key = (a.seq, b.seq)
        flow = self._flows.get(key)
        if flow is None:
            flow = np.asarray(self._dis.calc(a.small, b.small, None), np.float32)
            self._flows[key] = flow
        return flow

    def _warped(self, cur: _Entry[T], other: _Entry[T]) -> tuple[F32, F32, float]:
        """other's matte warped to cur, its weight (reliability × agreement) and the reliable share."""
        cv2 = self._cv2
        opts = self.options
        back, fwd = self._flow(cur, other), self._flow(other, cur)
        reliable = _reliable(cv2, cur.small, other.small, back, fwd, opts.fb_tol_px, opts.photo_tol)
        frac = float(reliable.mean())
        h, w = cur.matte.shape
        warped = _warp_to(cv2, other.matte, back, (w, h))
        weight = cv2.resize(reliable.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
        if opts.window_agree_tol is not None:
            weight *= np.exp(-np.square((warped - cur.matte) / np.float32(opts.window_agree_tol)))
        return warped, np.asarray(weight, np.float32), frac


@dataclass(slots=True)
class _Entry(Generic[T]):
    seq: int
    small: NDArray[np.uint8]
    matte: F32
    token: T


class _Grey:
    """A frame as the grey, at most `side` px copy the flow runs on."""

    def __init__(self, cv2: Any, side: int) -> None:
        self.cv2, self.side = cv2, side

    def __call__(self, rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
        cv2 = self.cv2
        grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        h, w = grey.shape
        s = min(1.0, self.side / max(h, w))
        if s < 1.0:
            grey = cv2.resize(grey, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)
        return np.asarray(grey, np.uint8)


def _reliable(cv2: Any, small: NDArray[np.uint8], other: NDArray[np.uint8], back: NDArray[np.float32],
              fwd: NDArray[np.float32], fb_tol_px: float, photo_tol: float) -> NDArray[np.bool_]:
    """Where the flow from `small` into `other` (back) is trusted: it and the flow back (fwd)
    cancel, the warped other frame matches, and it lands inside the other frame (small's grid)."""
    sh, sw = small.shape
    gx, gy = np.meshgrid(np.arange(sw, dtype=np.float32), np.arange(sh, dtype=np.float32))
    mx, my = gx + back[..., 0], gy + back[..., 1]
    fwd_at = cv2.remap(fwd, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    fb_err = np.hypot(back[..., 0] + fwd_at[..., 0], back[..., 1] + fwd_at[..., 1])
    motion = np.hypot(back[..., 0], back[..., 1])
    warped = cv2.remap(other, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    photo = cv2.blur(np.abs(warped.astype(np.float32) - small.astype(np.float32)) / 255.0, (3, 3))
    inside = (mx >= 0) & (mx <= sw - 1) & (my >= 0) & (my <= sh - 1)
    return np.asarray((fb_err < fb_tol_px + 0.05 * motion) & (photo < photo_tol) & inside)


def _warp_to(cv2: Any, matte: F32, flow: NDArray[np.float32], size_wh: tuple[int, int]) -> F32:
    """matte (another frame's) sampled along `flow` (on a smaller grid) at size_wh."""
    w, h = size_wh
    sh, sw = flow.shape[:2]
    big = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
    bx, by = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    warped = cv2.remap(matte, bx + big[..., 0] * np.float32(w / sw), by + big[..., 1] * np.float32(h / sh),
                       interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(warped, np.float32)
