"""The post-network speed paths (docs/PERFORMANCE.md, "Where the time goes after the network")
give the same pixels as the straightforward code they replace."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from alphacut.io import encode
from alphacut.io.encode import encode_image, pixels_to_pil
from alphacut.options import OutputFormat


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (300, 1001), (1030, 257)])
def test_clear_transparent_equals_boolean_masking(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    rgba = rng.integers(0, 256, (*shape, 4), dtype=np.uint8)
    rgba[..., 3][rng.random(shape) < 0.4] = 0
    rgba[..., 3][rng.random(shape) < 0.1] = 1  # the smallest alpha that keeps its colour
    expected = rgba.copy()
    expected[expected[..., 3] == 0, :3] = 0
    encode._clear_transparent(rgba)
    assert np.array_equal(rgba, expected)


def test_pixels_to_pil_clears_only_transparent_colour() -> None:
    rgba = np.full((3, 4, 4), 200, np.uint8)
    rgba[1, 2, 3] = 0
    out = np.asarray(pixels_to_pil(rgba.copy()))
    assert out[1, 2].tolist() == [0, 0, 0, 0]
    mask = np.ones((3, 4), bool)
    mask[1, 2] = False
    assert (out[mask] == 200).all()


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
