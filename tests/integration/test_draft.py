"""Reduced JPEG decoding with the real model: a sized output looks the same as from the full decode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .test_memory import _photo

pytestmark = pytest.mark.model


def _visible(img: Image.Image) -> np.ndarray:
    rgba = np.asarray(img.convert("RGBA"), np.float32) / 255.0
    return np.concatenate([rgba[:, :, :3] * rgba[:, :, 3:], rgba[:, :, 3:]], axis=2)


@pytest.mark.parametrize(("preset", "size_wh"), [("avatar", (4000, 3000)), ("id-photo", (3000, 4000))])
def test_preset_from_a_draft_decode_matches_the_full_decode(real_remover, tmp_path: Path, preset: str,
                                                            size_wh: tuple[int, int]) -> None:
    from alphacut.io.decode import decode_image
    from alphacut.options import Options

    if preset == "id-photo":  # a face to frame (tests/unit/portraits.py), drawn at half size and enlarged
        from ..unit.portraits import draw_portrait

        src = tmp_path / "big.jpg"
        half = draw_portrait(size_wh[0] // 2, size_wh[1] // 2, face_w=size_wh[0] / 12).rgb
        Image.fromarray(half).resize(size_wh, Image.BILINEAR).save(src, quality=90)
    else:
        src = _photo(tmp_path / "big.jpg", *size_wh, seed=7)
    options = Options.from_kwargs(preset=preset)
    out = real_remover.cutout(src, options)
    ref = real_remover.cutout(decode_image(src), options)  # a Decoded input is never reduced
    assert out.info.decode_scale == 2 and ref.info.decode_scale == 1
    assert out.image.size == ref.image.size == options.size_wh
    diff = np.abs(_visible(out.image) - _visible(ref.image)).reshape(-1, 4).mean(axis=0)
    print(f"{preset}: mean abs diff (premultiplied RGB, alpha) x255 = {np.round(diff * 255, 3)}")
    # id-photo: the framing follows the face detector's box, which moves by a few % between two
    # resamplings of one photo (measured here: 6.4/255 with the real model; 9.9/255 in tests/unit)
    assert diff.max() < (12 if preset == "id-photo" else 2) / 255, diff * 255


def test_fast_mask_from_a_half_decode_matches_the_full_decode(real_remover, tmp_path: Path) -> None:
    """--fast's guide_min_pixels: a 12 MP JPEG's mask refined on a 1/2 decode, enlarged, ~ the full one."""
    from alphacut.options import FAST_GUIDE_MIN_PIXELS, Options

    src = _photo(tmp_path / "big.jpg", 4240, 2832, seed=11)
    full = real_remover.cutout(src, Options(format="mask", resolution=768))  # type: ignore[arg-type]
    fast = real_remover.cutout(src, Options.from_kwargs(format="mask", resolution=768,
                                                        guide_min_pixels=FAST_GUIDE_MIN_PIXELS))
    assert fast.info.decode_scale == 2 and full.info.decode_scale == 1
    assert fast.alpha.shape == full.alpha.shape == (2832, 4240) and fast.image.size == (4240, 2832)
    diff = np.abs(fast.alpha - full.alpha)
    assert float(diff.mean()) < 0.003 and float((diff > 0.1).mean()) < 0.005
