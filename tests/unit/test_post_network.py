"""The post-network speed paths (docs/PERFORMANCE.md, "Where the time goes after the network")
give the same pixels as the straightforward code they replace."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from alphacut.io.encode import encode_image
from alphacut.options import OutputFormat


@pytest.mark.parametrize(("mode", "fmt"), [("RGBA", OutputFormat.PNG), ("RGB", OutputFormat.PNG),
                                           ("L", OutputFormat.MASK)])
def test_png_settings_are_lossless(mode: str, fmt: OutputFormat) -> None:
    rng = np.random.default_rng(3)
    channels = {"RGBA": 4, "RGB": 3, "L": 1}[mode]
    values = rng.integers(0, 256, (64, 96, channels), dtype=np.uint8)
    values[:32] = 0  # long runs, what the run-length strategy is for
    image = Image.fromarray(values[..., 0] if channels == 1 else values, mode)
    data = encode_image(image, fmt)
    with Image.open(io.BytesIO(data)) as back:
        assert back.format == "PNG" and back.mode == mode
        assert np.array_equal(np.asarray(back), np.asarray(image))
