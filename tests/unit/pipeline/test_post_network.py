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


def _soft_disc(h: int, w: int, centre: tuple[int, int], radius: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A photo (uint8 noise over two colours) and a matte: a disc with a soft rim, 0 and 1 elsewhere."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    d = np.hypot(yy - centre[0], xx - centre[1])
    alpha = np.clip((radius - d) / 6.0, 0.0, 1.0).astype(np.float32)
    colour = np.where(alpha[..., None] > 0.5, [200, 40, 30], [20, 90, 220]).astype(np.float32)
    photo = np.clip(colour + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    return photo, alpha


@pytest.mark.parametrize(("work_pixels", "centre"), [(10_000_000, (60, 80)), (10_000_000, (150, 200)),
                                                     (40_000, (60, 300)), (40_000, (200, 40))])
def test_cropped_estimate_equals_full_where_pasted(monkeypatch: pytest.MonkeyPatch, work_pixels: int,
                                                   centre: tuple[int, int]) -> None:
    """The cropped estimate gives the pasted (soft) pixels the full estimate's colours, at full
    size and at reduced size (FOREGROUND_WORK_PIXELS lowered to make a 300x400 photo 'large')."""
    from alphacut.ops import foreground

    monkeypatch.setattr(foreground, "FOREGROUND_WORK_PIXELS", work_pixels)
    photo, alpha = _soft_disc(300, 400, centre, 30.0)
    full = foreground.estimate_foreground_u8(photo, alpha, crop=False)
    cropped = foreground.estimate_foreground_u8(photo, alpha)
    assert full is not None and cropped is not None and full.shape == cropped.shape
    a, b = photo.copy(), photo.copy()
    foreground.paste_soft_band(a, alpha, full)
    foreground.paste_soft_band(b, alpha, cropped)
    soft = (alpha > 0.002) & (alpha < 0.998)
    assert soft.sum() > 100
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # float32 rounding of the box sums at most
    assert (a != b).mean() < 1e-3
    if work_pixels > 300 * 400:  # at full size the values themselves agree where the paste reads them
        np.testing.assert_allclose(cropped[soft], full[soft], atol=1e-5)


def test_planar_estimate_is_unchanged() -> None:
    """estimate_foreground on colour planes: the same values as the interleaved formula."""
    from alphacut.ops.foreground import estimate_foreground
    from alphacut.ops.guided import box_filter

    photo, alpha = _soft_disc(120, 160, (60, 80), 30.0, seed=1)
    image = photo.astype(np.float32) / 255.0
    fg = bg = image
    a3 = alpha[..., None]
    for radius in (20, 3):  # the previous implementation, written out
        ba = box_filter(alpha, radius)[..., None]
        box3 = lambda x: np.stack([box_filter(np.ascontiguousarray(x[..., k]), radius) for k in range(3)], 2)  # noqa: B023
        mean_f = box3(fg * a3) / (ba + np.float32(1e-5))
        bg = box3(bg * (1.0 - a3)) / ((1.0 - ba) + np.float32(1e-5))
        fg = np.clip(mean_f + a3 * (image - a3 * mean_f - (1.0 - a3) * bg), 0.0, 1.0)
    np.testing.assert_allclose(estimate_foreground(image, alpha, radii=(20, 3)), fg, atol=1e-6)


@pytest.mark.parametrize(("hw", "mirrored"), [((480, 854), False), ((480, 854), True), ((700, 500), False),
                                              ((64, 64), True)])
def test_preprocess_planes_equal_interleaved_formula(hw: tuple[int, int], mirrored: bool) -> None:
    """preprocess normalizes plane by plane: bit-identical to (u8_to_float(x) - mean) / std, padded
    symmetrically, mirrored and transposed as before."""
    from alphacut.io.decode import resize_for_model
    from alphacut.models.catalog import load_catalog
    from alphacut.ops.pixels import u8_to_float
    from alphacut.pipeline import content_size, preprocess

    spec = load_catalog().get("isnet-general-use-int8-static")
    rgb = np.random.default_rng(hw[0]).integers(0, 256, (*hw, 3), dtype=np.uint8)
    size = (256, 256)
    got, content = preprocess(rgb, spec, size, mirrored=mirrored)
    x = (u8_to_float(resize_for_model(rgb, content_size((hw[1], hw[0]), size)))
         - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    x = np.pad(x, ((0, size[1] - content[1]), (0, size[0] - content[0]), (0, 0)), mode="symmetric")
    if mirrored:
        x = x[:, ::-1]
    expected = np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
    assert got.shape == expected.shape and got.flags.c_contiguous
    assert np.array_equal(got, expected)


def _guided_case(u8: bool) -> tuple[np.ndarray, np.ndarray]:
    """A low-res matte with exact 0/1 areas, faint tails and a soft edge, and a 4x larger guide."""
    photo, alpha = _soft_disc(400, 520, (200, 250), 120.0, seed=5)
    from alphacut.ops.resize import resize_matte

    low = resize_matte(alpha, (130, 100))
    low = np.where(low < 0.5, low * 0.002, low)  # a tail: faint greys (< 0.001), not exactly 0
    low[:10] = 0.0  # exactly 0: clips to 0
    guide = photo if u8 else photo.astype(np.float32) / 255.0
    return low.astype(np.float32), guide


@pytest.mark.parametrize("u8", [True, False])
def test_guided_saturate_zero_equals_full_evaluation(u8: bool) -> None:
    from alphacut.ops import guided

    low, guide = _guided_case(u8)
    full = guided.guided_upsample(low, guide, saturate=None)
    skipped = guided.guided_upsample(low, guide, saturate=0.0, band_pixels=1 << 14)
    assert np.array_equal(full, guided.guided_upsample(low, guide, saturate=None, band_pixels=1 << 14))
    assert np.array_equal(skipped, full)


@pytest.mark.parametrize("u8", [True, False])
def test_guided_u8_saturate_keeps_8bit_values(u8: bool) -> None:
    from alphacut.ops import guided
    from alphacut.ops.pixels import float_to_u8

    low, guide = _guided_case(u8)
    full = guided.guided_upsample(low, guide, saturate=None)
    fast = guided.guided_upsample(low, guide, saturate=guided.U8_SATURATE, band_pixels=1 << 14)
    assert np.array_equal(float_to_u8(fast), float_to_u8(full))
    assert np.abs(fast - full).max() < 0.5 / 255
    changed = fast != full
    assert changed.any()  # blocks were skipped: faint greys written as 0 ...
    assert set(np.unique(fast[changed]).tolist()) <= {0.0, 1.0}  # ... and only as 0 or 1
    mid = (full > 0.01) & (full < 0.99)
    assert np.array_equal(fast[mid], full[mid])  # the edge itself is evaluated as before


@pytest.mark.parametrize(("shape", "size", "rows", "cols"), [
    ((300, 200, 3), (70, 110), (10, 90), (5, 60)),  # shrinking, antialiased
    ((300, 400, 3), (100, 80), (0, 80), (0, 100)),  # the whole output
    ((40, 60), (150, 100), (3, 97), (20, 149)),  # enlarging, one channel
])
def test_resize_u8_block_equals_block_of_full(shape: tuple[int, ...], size: tuple[int, int],
                                              rows: tuple[int, int], cols: tuple[int, int]) -> None:
    from alphacut.ops.resize import resize_u8

    img = np.random.default_rng(7).integers(0, 256, shape, dtype=np.uint8)
    full = resize_u8(img, size)
    block = resize_u8(img, size, rows=rows, cols=cols, band_pixels=1 << 12)
    assert np.array_equal(block, full[rows[0]:rows[1], cols[0]:cols[1]])
    with pytest.raises(ValueError, match="must lie in"):
        resize_u8(img, size, rows=(0, size[1] + 1))
