"""A deterministic stand-in backend for tests: no model file, instant."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .base import BackendInfo

__all__ = ["FakeBackend"]


class FakeBackend:
    """Predicts 'foreground' where a pixel differs from the median border colour of its image.

    Good enough to exercise the pipeline end to end: a dark square on a light background comes
    out as a matte of the square.
    """

    def __init__(self, *, size_hw: tuple[int, int] | None = (64, 64), softness: float = 0.08) -> None:
        self._info = BackendInfo(name="fake", provider="none", threads=1, input_name="input",
                                 fixed_size_hw=size_hw)
        self.softness = softness
        self.calls = 0

    @property
    def info(self) -> BackendInfo:
        return self._info

    def run(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        self.calls += 1
        border = np.concatenate([batch[:, :, 0, :], batch[:, :, -1, :],
                                 batch[:, :, :, 0], batch[:, :, :, -1]], axis=2)
        # the median: robust to subject pixels on the border (the model input mirrors the image into
        # the rest of the square, so a subject can reach the input's far edge)
        ref = np.median(border, axis=2)[:, :, None, None]
        dist = np.sqrt(((batch - ref) ** 2).sum(axis=1, keepdims=True))
        out: NDArray[np.float32] = np.clip((dist - 0.1) / self.softness, 0.0, 1.0).astype(np.float32)
        return out
