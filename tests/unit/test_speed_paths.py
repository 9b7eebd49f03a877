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
