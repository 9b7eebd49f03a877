"""The faster paths give the pixels of the straightforward ones (speed work must not move outputs)."""

from __future__ import annotations

import numpy as np
import pytest

from alphacut.ops import guided
from alphacut.ops.resize import resize_image, sample_enlarged


@pytest.mark.parametrize(("in_hw", "out_wh", "channels"), [
    ((3, 4), (8, 6), None), ((37, 53), (300, 211), 3), ((40, 40), (41, 97), 3), ((5, 7), (7, 5), None),
])
def test_sample_enlarged_is_the_full_resize_at_those_pixels(in_hw, out_wh, channels) -> None:
    rng = np.random.default_rng(1)
    img = rng.random(in_hw + ((channels,) if channels else ()), dtype=np.float32)
    full = resize_image(img, out_wh, antialias=False)
    ys = rng.integers(0, out_wh[1], 500)
    xs = rng.integers(0, out_wh[0], 500)
    got = sample_enlarged(img, out_wh, ys, xs)
    assert got.dtype == np.float32 and got.shape == full[ys, xs].shape
    np.testing.assert_allclose(got, full[ys, xs], atol=2e-6)


@pytest.mark.parametrize("u8", [True, False])
@pytest.mark.parametrize(("big_hw", "band_pixels"), [((403, 611), 1 << 12), ((600, 400), 1 << 18), ((97, 1203), 1000)])
def test_guided_upsample_matches_full_size_coefficient_planes(big_hw, band_pixels, u8) -> None:
    """The banded x-then-y application equals enlarging a and b to full size and applying them."""
    rng = np.random.default_rng(2)
    h, w = big_hw
    yy, xx = np.mgrid[0:h, 0:w]
    photo = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) % 97) * 2], -1).astype(np.uint8)
    photo = np.clip(photo.astype(int) + rng.integers(-8, 9, photo.shape), 0, 255).astype(np.uint8)
    guide = photo if u8 else photo.astype(np.float32) / 255
    low = (rng.random((h // 5, w // 5)) > 0.5).astype(np.float32)
    got = guided.guided_upsample(low, guide, band_pixels=band_pixels)
    # the reference: coefficients on the working grid, enlarged whole, applied at once
    s = max(1, int(np.floor(min(h / low.shape[0], w / low.shape[1]))))
    work = (max(1, round(w / s)), max(1, round(h / s)))
    from alphacut.ops.resize import resize_matte, resize_u8

    g_lr = resize_u8(photo, work) if u8 else resize_image(guide, work)
    a, b = guided._coefficients(g_lr, resize_matte(low, work), 1, 1e-4)
    big = [resize_image(x, (w, h), antialias=False) for x in (*a, b)]
    want = guided._apply(big[:-1], big[-1], photo.astype(np.float32) / 255 if u8 else guide)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_releasing_the_arena_after_a_run_changes_no_output(tiny_onnx) -> None:
    from alphacut.runtime.background import BackgroundBackend
    from alphacut.runtime.onnx import OnnxBackend

    x = np.random.default_rng(3).random((1, 3, 64, 64), dtype=np.float32) - 0.5
    backend = OnnxBackend(tiny_onnx, threads=1)
    kept = backend.run(x)
    np.testing.assert_array_equal(backend.run_and_release(x), kept)
    np.testing.assert_array_equal(backend.run(x), kept)  # the arena grows back on the next run
    wrapped = BackgroundBackend(lambda: OnnxBackend(tiny_onnx, threads=1), name="tiny")
    np.testing.assert_array_equal(wrapped.run_and_release(x), kept)


def test_the_pipeline_releases_only_for_large_photos(monkeypatch, tiny_spec) -> None:
    from alphacut import pipeline
    from alphacut.options import Options
    from alphacut.runtime.fake import FakeBackend

    calls: list[str] = []

    class Releasing(FakeBackend):
        def run_and_release(self, batch):  # type: ignore[no-untyped-def]
            calls.append("release")
            return self.run(batch)

    backend = Releasing(size_hw=(64, 64))
    small = np.full((60, 80, 3), 200, np.uint8)
    pipeline.infer(pipeline.prepare(small, backend, tiny_spec, Options()), backend)
    assert calls == []
    monkeypatch.setattr(pipeline, "RELEASE_ARENA_MIN_PIXELS", 60 * 80)
    pipeline.infer(pipeline.prepare(small, backend, tiny_spec, Options()), backend)
    assert calls == ["release"]
    plain = FakeBackend(size_hw=(64, 64))  # a backend without run_and_release just runs
    assert pipeline.infer(pipeline.prepare(small, plain, tiny_spec, Options()), plain).shape[0] == 1


def _dark_square_jpeg(tmp_path, wh=(640, 480)):  # type: ignore[no-untyped-def]
    from PIL import Image

    w, h = wh
    photo = np.full((h, w, 3), 220, np.uint8)
    photo[h // 4: 3 * h // 4, w // 3: 2 * w // 3] = 30
    path = tmp_path / "photo.jpg"
    Image.fromarray(photo).save(path, quality=95)
    return path


def test_a_mask_refined_on_a_reduced_decode_is_full_size_and_close(tmp_path, tiny_spec) -> None:
    """Options.guide_min_pixels: a JPEG mask refined against a 1/2 decode, enlarged to the photo's size."""
    from alphacut import Remover
    from alphacut.options import Options
    from alphacut.runtime.fake import FakeBackend

    path = _dark_square_jpeg(tmp_path)
    remover = Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))
    full = remover.cutout(path, Options(format="mask"))  # type: ignore[arg-type]
    reduced = remover.cutout(path, Options.from_kwargs(format="mask", guide_min_pixels=40_000))
    assert full.info.decode_scale == 1 and reduced.info.decode_scale == 2  # 640x480 -> 320x240 >= 40 000 px
    assert reduced.alpha.shape == full.alpha.shape == (480, 640) and reduced.image.size == (640, 480)
    assert float(np.abs(reduced.alpha - full.alpha).mean()) < 0.01
    # the smallest reduction that keeps the floor: 1/4 is 160x120 = 19 200 px
    for floor, scale in ((19_200, 4), (19_201, 2)):
        prepared = remover._prepare(path, Options.from_kwargs(format="mask", guide_min_pixels=floor))
        assert prepared.decoded.draft_scale == scale and prepared.matte_wh == (640, 480)


@pytest.mark.parametrize("extra", [{"format": "png"}, {"format": "mask", "erode_px": 2},
                                   {"format": "mask", "crop": True}, {"format": "mask", "refine": "matting"},
                                   {"format": "mask", "guide_min_pixels": None}])
def test_the_guide_stays_full_where_the_photo_or_its_pixels_count(tmp_path, tiny_spec, extra) -> None:
    from alphacut import Remover
    from alphacut.options import Options
    from alphacut.runtime.fake import FakeBackend

    path = _dark_square_jpeg(tmp_path)
    remover = Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))
    prepared = remover._prepare(path, Options.from_kwargs(**{"guide_min_pixels": 40_000, **extra}))
    assert prepared.decoded.draft_scale == 1 and prepared.matte_wh is None


def test_enlarge_matte_is_resize_matte_on_8_bit_values() -> None:
    from alphacut.io.decode import enlarge_matte
    from alphacut.ops.resize import resize_matte

    alpha = np.random.default_rng(4).random((61, 83), dtype=np.float32)
    for wh in ((166, 122), (250, 200), (83, 61)):
        got = enlarge_matte(alpha, wh)
        assert got.dtype == np.float32 and got.shape == (wh[1], wh[0])
        # three roundings to 1/255: the input, and each of Pillow's two 8-bit passes
        np.testing.assert_allclose(got, resize_matte(alpha, wh), atol=1.5 / 255 + 1e-6)


def test_guide_min_pixels_is_checked() -> None:
    from alphacut.errors import OptionsError
    from alphacut.options import Options

    with pytest.raises(OptionsError) as err:
        Options(guide_min_pixels=0)
    assert err.value.code == "options.invalid"
