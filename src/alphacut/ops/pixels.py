"""uint8 <-> float32 pixel values: the one conversion (value / 255 and rint(value * 255))."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["U8_SCALE", "float_to_u8", "u8_to_float"]

#: float32(1 / 255): what u8_to_float multiplies by.
U8_SCALE = np.float32(1.0 / 255.0)
#: Large conversions to uint8 run a band of about this many values at a time, so they hold no
#: full-size float temporaries (a 24 MP plane would need several of 96 MB each).
BAND_VALUES = 1 << 18


def u8_to_float(x: NDArray[np.uint8]) -> NDArray[np.float32]:
    """uint8 values as float32 in [0, 1]: value times float32(1 / 255), one float32 copy.

    Example:
        >>> u8_to_float(np.array([0, 255], np.uint8)).tolist()
        [0.0, 1.0]
    """
    out: NDArray[np.float32] = x.astype(np.float32)
    out *= U8_SCALE
    return out


def float_to_u8(x: NDArray[np.float32]) -> NDArray[np.uint8]:
    """[0, 1] floats to 0..255, rounded and clipped, a band of rows at a time for large arrays.

    Example:
        >>> float_to_u8(np.array([-0.1, 0.5, 1.2], np.float32)).tolist()
        [0, 128, 255]
    """
    if x.ndim == 0 or x.size <= BAND_VALUES:
        return _float_to_u8(x)
    out = np.empty(x.shape, dtype=np.uint8)
    rows = max(1, BAND_VALUES // (x.size // x.shape[0]))
    for y0 in range(0, x.shape[0], rows):
        out[y0:y0 + rows] = _float_to_u8(x[y0:y0 + rows])
    return out


def _float_to_u8(x: NDArray[np.float32]) -> NDArray[np.uint8]:
    y = x * np.float32(255.0)
    np.rint(y, out=y)
    out: NDArray[np.uint8] = np.clip(y, 0, 255, out=y).astype(np.uint8)
    return out
