from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from alphacut import Background, Color, Options, OutputFormat, Remover
from alphacut.errors import OptionsError
from alphacut.runtime.onnx import OnnxBackend

from ..conftest import square_image


@pytest.fixture
def remover(tiny_spec, fake_backend):
    return Remover(tiny_spec, backend=fake_backend)


def test_cutout_is_full_size_rgba_with_the_subject_opaque(remover):
    img = square_image(300, 200)
    c = remover.cutout(img)
    assert c.image.mode == "RGBA" and c.image.size == (300, 200)
    assert c.alpha.shape == (200, 300) and c.alpha.dtype == np.float32
    assert 0.0 <= c.alpha.min() and c.alpha.max() <= 1.0
    assert c.alpha[100, 150] > 0.95 and c.alpha[5, 5] < 0.05
    rgba = np.asarray(c.image)
    assert tuple(rgba[100, 150, :3]) == (20, 30, 200)  # original colours kept
    assert c.info.size_wh == (300, 200) and c.info.model_input_wh == (64, 64)
    assert {"decode", "inference", "compose"} <= set(c.info.timings_ms)


def test_matte_matches_cutout_alpha(remover):
    img = square_image()
    assert np.allclose(remover.matte(img), remover.cutout(img).alpha)


def test_background_colour_gives_rgb(remover):
    out = remover.remove(square_image(), background=Color.parse("#ff0000"))
    assert out.mode == "RGB"
    px = np.asarray(out)
    assert tuple(px[2, 2]) == (255, 0, 0) and tuple(px[40, 60]) == (20, 30, 200)


def test_translucent_background_keeps_alpha(remover):
    out = remover.remove(square_image(), background=Color(0, 0, 0, 128))
    assert out.mode == "RGBA"
    assert abs(int(np.asarray(out)[2, 2, 3]) - 128) <= 1


@pytest.mark.parametrize("fmt,mode,magic", [
    ("png", "RGBA", b"\x89PNG"), ("webp", "RGBA", b"RIFF"), ("jpg", "RGB", b"\xff\xd8"), ("mask", "L", b"\x89PNG"),
])
def test_encoded_formats(remover, fmt, mode, magic):
    data = remover.remove_bytes(square_image(), format=fmt)
    assert data[:4].startswith(magic)
    img = Image.open(io.BytesIO(data))
    assert img.mode == mode and img.size == (120, 80)


def test_jpeg_without_background_goes_on_white(remover):
    opts = Options(format=OutputFormat.JPEG)
    assert opts.background == Background.solid(Color(255, 255, 255))
    px = np.asarray(Image.open(io.BytesIO(remover.remove_bytes(square_image(), opts))))
    assert px[2, 2].min() > 245
    with pytest.raises(OptionsError):
        Options(format=OutputFormat.JPEG, background=Background.solid(Color(0, 0, 0, 10)))


def test_input_alpha_is_respected(remover):
    rgba = np.dstack([np.asarray(square_image()), np.full((80, 120), 255, np.uint8)])
    rgba[:, :60, 3] = 0  # left half already transparent
    c = remover.cutout(rgba)
    assert c.alpha[40, 40] == 0.0 and c.alpha[40, 80] > 0.9


def test_unknown_option_suggests(remover):
    with pytest.raises(OptionsError) as err:
        remover.remove(square_image(), backgrund="white")
    assert "background" in (err.value.hint or "")


def test_resolution_on_a_fixed_size_model_is_refused(remover):
    # the user's option can't be honoured: a usage error (exit 2, HTTP 400), not a backend failure
    with pytest.raises(OptionsError) as err:
        remover.cutout(square_image(), resolution=512)
    assert err.value.code == "options.fixed-resolution" and err.value.http_status == 400


def test_concurrent_calls_share_one_session(tiny_onnx, tiny_spec):
    r = Remover(tiny_spec, backend=OnnxBackend(tiny_onnx, threads=2))
    images = [square_image(100 + 10 * i, 90) for i in range(8)]
    serial = [r.matte(im) for im in images]
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(r.matte, images))
    for a, b in zip(serial, parallel):
        assert np.array_equal(a, b)
    assert serial[0][45, 50] > 0.9 and serial[0][2, 2] < 0.1


@pytest.mark.parametrize(("image_wh", "model_wh", "content"), [
    ((1920, 1080), (1024, 1024), (1024, 768)),   # 16:9 goes in at 4:3
    ((1080, 1920), (1024, 1024), (768, 1024)),
    ((640, 640), (1024, 1024), (1024, 1024)),    # square: the whole input
    ((6000, 4000), (1024, 1024), (1024, 836)),   # 3:2 at sqrt(1.5) = 1.22
    ((1, 5000), (1024, 1024), (14, 1024)),       # never below 1 px, never past the input
    ((800, 800), (1024, 768), (887, 768)),       # non-square input: geometric mean of both ratios
])
def test_content_size_halves_the_aspect_ratio_in_log_scale(image_wh, model_wh, content):
    from alphacut.pipeline import content_size

    assert content_size(image_wh, model_wh) == content


def test_preprocess_places_the_half_stretched_image_top_left_and_pads_by_mirroring_it(tiny_spec):
    from alphacut.pipeline import preprocess

    rgb = np.zeros((90, 160, 3), np.uint8)
    rgb[-10:, :] = 255  # bottom edge white: the padding mirrors it, so white continues below
    x, content = preprocess(rgb, tiny_spec, (64, 64))
    assert content == (64, 48) and x.shape == (1, 3, 64, 64)
    white = (1.0 - np.asarray(tiny_spec.mean[0])) / tiny_spec.std[0]
    assert np.allclose(x[0, 0, 48:, :], x[0, 0, 47:31:-1, :])  # rows 48.. mirror rows 47, 46, ..
    assert np.allclose(x[0, 0, 48:50, :], white, atol=0.02) and x[0, 0, 63, 0] < 0


@pytest.mark.parametrize(("src_wh", "dst_wh", "bicubic"), [
    ((300, 200), (1024, 683), True),    # enlarged both ways: bicubic
    ((2000, 1500), (1024, 768), False),  # reduced: antialiased bilinear
    ((300, 2000), (400, 1024), False),   # mixed: bilinear
])
def test_resize_for_model_is_bicubic_only_when_enlarging(src_wh, dst_wh, bicubic):
    from alphacut.io.decode import resize_for_model

    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (src_wh[1], src_wh[0], 3), dtype=np.uint8)
    out = resize_for_model(rgb, dst_wh)
    img = Image.fromarray(rgb)
    want = Image.Resampling.BICUBIC if bicubic else Image.Resampling.BILINEAR
    other = Image.Resampling.BILINEAR if bicubic else Image.Resampling.BICUBIC
    assert np.array_equal(out, np.asarray(img.resize(dst_wh, want)))
    assert not np.array_equal(out, np.asarray(img.resize(dst_wh, other)))


def test_decoder_warnings_reach_cutout_info_not_stderr(remover, monkeypatch, capfd):
    from PIL import Image as PILImage

    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 5000)  # 120x80 = 9600 px: a DecompressionBombWarning
    buf = io.BytesIO()
    square_image().save(buf, "PNG")
    info = remover.cutout(buf.getvalue()).info
    assert any("DecompressionBombWarning" in w for w in info.warnings)
    assert "PIL/" not in capfd.readouterr().err


def test_postprocess_applies_the_catalog_value_curve_after_min_max() -> None:
    import dataclasses

    from alphacut.models.catalog import load_catalog
    from alphacut.ops.levels import apply_levels
    from alphacut.pipeline import postprocess

    spec = dataclasses.replace(load_catalog().get("isnet-general-use-fp16"), levels=None)
    raw = (0.1 + 0.7 * np.random.default_rng(2).random((1, 1, 30, 40))).astype(np.float32)
    plain = postprocess(raw, spec, (40, 30))
    assert plain.min() == 0.0 and plain.max() == 1.0  # min-max stretched
    curved = postprocess(raw, dataclasses.replace(spec, levels=(0.3, 0.7, 0.12)), (40, 30))
    assert np.array_equal(curved, apply_levels(plain, 0.3, 0.7, tail=0.12))
    assert np.abs(curved - plain).max() > 0.05


def test_resolution_must_be_a_multiple_the_model_takes(tiny_spec):
    # MODNet's graph fails on sides that aren't multiples of 32: refused up front with the nearest choices
    from dataclasses import replace

    from alphacut.pipeline import model_input_size
    from alphacut.runtime.fake import FakeBackend

    spec = replace(tiny_spec, input_size=512, size_multiple=32)
    backend = FakeBackend(size_hw=None)
    assert model_input_size(spec, Options(resolution=480), backend) == (480, 480)
    with pytest.raises(OptionsError) as err:
        model_input_size(spec, Options(resolution=500), backend)
    assert err.value.http_status == 400 and "480 or 512" in (err.value.hint or "")
