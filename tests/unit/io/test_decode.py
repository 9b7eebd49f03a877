from __future__ import annotations

import io
import os
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from alphacut.errors import InputError
from alphacut.io.decode import decode_image

from ..conftest import encoded, square_image


def test_jpeg_bytes_path_pil_and_array_agree(tmp_path):
    img = square_image()
    p = tmp_path / "a.png"
    img.save(p)
    ref = decode_image(p).rgb
    assert ref.shape == (80, 120, 3) and ref.dtype == np.uint8
    for src in (str(p), p.read_bytes(), img, np.asarray(img), io.BytesIO(p.read_bytes())):
        assert np.array_equal(decode_image(src).rgb, ref)


def test_exif_orientation_is_applied():
    img = square_image(120, 80)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    d = decode_image(encoded(img, "JPEG", exif=exif.tobytes()))
    assert d.size_wh == (80, 120)


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (40, 30), (0, 255, 255, 0))  # pure red in CMYK
    d = decode_image(encoded(cmyk, "JPEG"))
    r, g, b = d.rgb[15, 20].astype(int)
    assert r > 200 and g < 60 and b < 60


def _rgb_icc(primaries: dict[bytes, tuple[float, float, float]], desc: str) -> bytes:
    """A minimal ICC v2 RGB matrix/TRC display profile (gamma 2.2) with the given D50 primaries."""
    import struct

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(v: tuple[float, float, float]) -> bytes:
        return b"XYZ " + b"\0" * 4 + b"".join(s15(c) for c in v)

    text = desc.encode() + b"\0"
    tags = {b"desc": b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 8 + b"\0" * 3 + b"\0" * 67,
            b"wtpt": xyz((0.9642, 1.0, 0.8249))}
    for sig, v in primaries.items():
        tags[sig] = xyz(v)
    for sig in (b"rTRC", b"gTRC", b"bTRC"):
        tags[sig] = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 563) + b"\0\0"
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags.items():
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (struct.pack(">I", size) + b"none" + bytes([2, 0x10, 0, 0]) + b"mntrRGB XYZ " + b"\0" * 12
              + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + s15(0.9642) + s15(1.0) + s15(0.8249)
              + b"\0" * 48)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


def test_icc_profile_is_converted_to_srgb():
    # A profile whose red and green primaries are swapped: stored red means displayed green.
    swapped = _rgb_icc({b"rXYZ": (0.3851, 0.7169, 0.0971), b"gXYZ": (0.4361, 0.2225, 0.0139),
                        b"bXYZ": (0.1431, 0.0606, 0.7141)}, "swapped primaries")
    img = Image.new("RGB", (20, 20), (220, 0, 0))
    d = decode_image(encoded(img, "PNG", icc_profile=swapped))
    r, g, b = d.rgb[0, 0].astype(int)
    assert g > 150 and r < 80, (r, g, b)
    assert not d.warnings
    # An sRGB-tagged image is left as it is.
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert tuple(decode_image(encoded(img, "PNG", icc_profile=srgb)).rgb[0, 0]) == (220, 0, 0)


def test_broken_icc_profile_is_ignored_with_a_warning():
    d = decode_image(encoded(Image.new("RGB", (20, 20), (1, 2, 3)), "PNG", icc_profile=b"garbage" * 20))
    assert tuple(d.rgb[0, 0]) == (1, 2, 3)
    assert any("ICC" in w for w in d.warnings)


def test_sixteen_bit_grey_png_is_scaled():
    arr = np.full((16, 16), 65535 // 2, np.uint16)
    img = Image.fromarray(arr)
    d = decode_image(encoded(img, "PNG"))
    assert abs(int(d.rgb[0, 0, 0]) - 127) <= 1


def test_palette_la_rgba_inputs_keep_their_alpha():
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., :3] = 100
    rgba[:, :6, 3] = 255
    d = decode_image(encoded(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert d.alpha is not None and d.alpha[0, 0] == 255 and d.alpha[0, 11] == 0
    la = Image.fromarray(rgba[..., [0, 3]], "LA")
    assert decode_image(encoded(la, "PNG")).alpha is not None
    pal = Image.fromarray(rgba[..., :3], "RGB").convert("P")
    assert decode_image(encoded(pal, "PNG")).alpha is None
    assert decode_image(encoded(Image.new("L", (9, 9), 7), "PNG")).rgb.shape == (9, 9, 3)


def test_opaque_rgba_has_no_alpha():
    img = Image.new("RGBA", (10, 10), (1, 2, 3, 255))
    assert decode_image(encoded(img, "PNG")).alpha is None


def test_animated_gif_uses_first_frame_with_a_warning():
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    d = decode_image(buf.getvalue())
    assert d.rgb[0, 0, 0] > 200 and d.rgb[0, 0, 1] < 50
    assert any("frames" in w for w in d.warnings)


@pytest.mark.parametrize("data,code", [
    (b"", "input.empty"),
    (b"this is not an image at all", "input.undecodable"),
    (encoded(square_image(), "JPEG")[:300], "input.undecodable"),
    (encoded(Image.new("RGB", (1, 1)), "PNG"), "input.too-small"),
])
def test_bad_bytes_give_clear_codes(data, code):
    with pytest.raises(InputError) as err:
        decode_image(data)
    assert err.value.code == code
    assert err.value.message


def test_max_pixels_guard_reads_no_pixels():
    # A PNG header claiming 100000 x 100000 pixels: refused from the header alone.
    img = Image.new("L", (64, 64))
    data = bytearray(encoded(img, "PNG"))
    data[16:24] = (100000).to_bytes(4, "big") * 2
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")  # keep the IHDR CRC valid
    with pytest.raises(InputError) as err:
        decode_image(bytes(data), max_pixels=50_000_000)
    assert err.value.code == "input.too-large"
    with pytest.raises(InputError) as err:
        decode_image(encoded(square_image(200, 200), "PNG"), max_pixels=100 * 100)
    assert err.value.code == "input.too-large"


def test_an_image_pillow_refuses_at_open_gets_the_same_message_as_any_other_too_large_one():
    # 20000 x 20000 is over Pillow's own stop (2 x MAX_IMAGE_PIXELS): its "decompression bomb" text never shows;
    # the message names the pixel count and alphacut's limit, as for any image over max_pixels
    img = Image.new("L", (64, 64))
    data = bytearray(encoded(img, "PNG"))
    data[16:24] = (20000).to_bytes(4, "big") * 2
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    with pytest.raises(InputError) as err:
        decode_image(bytes(data))
    e = err.value
    assert e.code == "input.too-large" and e.http_status == 413
    assert e.message.endswith("is 400,000,000 px (400 MP); the limit is 100,000,000 px (100 MP)."), e.message
    assert "bomb" not in e.message.lower() and "--max-pixels" in (e.hint or "")


def test_path_errors(tmp_path):
    with pytest.raises(InputError) as err:
        decode_image(tmp_path / "missing.jpg")
    assert err.value.code == "input.not-found"
    with pytest.raises(InputError) as err:
        decode_image(tmp_path)
    assert err.value.code == "input.is-directory"
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InputError) as err:
        decode_image(empty)
    assert err.value.code == "input.empty"
    fake = tmp_path / "text.png"
    fake.write_text("hello, I am text")
    with pytest.raises(InputError) as err:
        decode_image(fake)
    assert err.value.code == "input.undecodable"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path):
    p = tmp_path / "locked.png"
    square_image().save(p)
    p.chmod(0)
    with pytest.raises(InputError) as err:
        decode_image(p)
    assert err.value.code == "input.unreadable"


def test_arrays_of_other_dtypes():
    assert decode_image(np.full((10, 10, 3), 0.5, np.float32)).rgb[0, 0, 0] == 128
    assert decode_image(np.full((10, 10), 65535, np.uint16)).rgb[0, 0, 0] == 255
    with pytest.raises(InputError):
        decode_image(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(InputError):
        decode_image(np.full((10, 10, 3), np.nan, np.float32))


def _gradient_jpeg(w: int, h: int, **save) -> bytes:
    """A smooth JPEG with a marked corner (dark top-left quadrant) to check orientation."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([255 * xx / w, 255 * yy / h, 128 + 0 * xx], axis=-1)
    rgb[: h // 2, : w // 2] *= 0.25
    return encoded(Image.fromarray(rgb.astype(np.uint8), "RGB"), "JPEG", quality=92, **save)


@pytest.mark.parametrize(("need", "scale"), [((100, 75), 8), ((101, 75), 4), ((200, 150), 4), ((201, 1), 2),
                                             ((800, 600), 1), ((10_000, 10_000), 1)])
def test_jpeg_draft_picks_the_largest_reduction_that_keeps_the_minimum(need, scale):
    data = _gradient_jpeg(800, 600)
    seen = []
    d = decode_image(data, min_size_wh=lambda wh: seen.append(wh) or need)
    assert seen == [(800, 600)]
    assert d.draft_scale == scale and d.size_wh == (800 // scale, 600 // scale)
    assert d.size_wh[0] >= min(need[0], 800) and d.size_wh[1] >= min(need[1], 600)
    assert d.source_size_wh == (800, 600) and (d.original_wh is None) == (scale == 1)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_jpeg_draft_respects_exif_orientation(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _gradient_jpeg(800, 600, exif=exif.tobytes())
    full = decode_image(data)
    upright = full.size_wh
    seen = []
    # Ask for 200 px across the upright width only: 1/4 of 800 is enough, 1/4 of 600 is not.
    d = decode_image(data, min_size_wh=lambda wh: seen.append(wh) or (200, 1))
    assert seen == [upright]
    assert d.draft_scale == (4 if upright[0] == 800 else 2)
    assert d.size_wh == (upright[0] // d.draft_scale, upright[1] // d.draft_scale)
    assert d.source_size_wh == upright
    # The same picture, only smaller: compare against the full decode shrunk to the same size.
    ref = np.asarray(Image.fromarray(full.rgb).resize(d.size_wh, Image.Resampling.BOX), np.float32)
    assert np.abs(d.rgb.astype(np.float32) - ref).mean() < 3.0


def test_jpeg_draft_keeps_icc_and_cmyk_handling():
    swapped = _rgb_icc({b"rXYZ": (0.3851, 0.7169, 0.0971), b"gXYZ": (0.4361, 0.2225, 0.0139),
                        b"bXYZ": (0.1431, 0.0606, 0.7141)}, "swapped primaries")
    img = Image.new("RGB", (400, 400), (220, 0, 0))
    d = decode_image(encoded(img, "JPEG", icc_profile=swapped), min_size_wh=lambda wh: (50, 50))
    r, g, b = d.rgb[25, 25].astype(int)
    assert d.draft_scale == 8 and g > 150 and r < 80, (r, g, b)
    cmyk = Image.new("CMYK", (400, 300), (0, 255, 255, 0))
    d = decode_image(encoded(cmyk, "JPEG"), min_size_wh=lambda wh: (100, 75))
    r, g, b = d.rgb[30, 40].astype(int)
    assert d.size_wh == (100, 75) and r > 200 and g < 60 and b < 60


def test_draft_leaves_other_formats_and_callers_images_alone():
    img = square_image(400, 300)
    for src in (encoded(img, "PNG"), encoded(img, "WEBP"), np.asarray(img)):
        d = decode_image(src, min_size_wh=lambda wh: (50, 50))
        assert d.size_wh == (400, 300) and d.draft_scale == 1 and d.original_wh is None
    opened = Image.open(io.BytesIO(encoded(img, "JPEG")))
    d = decode_image(opened, min_size_wh=lambda wh: (50, 50))
    assert d.size_wh == (400, 300) and d.draft_scale == 1 and opened.size == (400, 300)


# ------------------------------------------------------------------- issue 12 §4: bad input at the seam
DDS = b"DDS |" + bytes(200)  # Pillow's DDS plugin raises NotImplementedError on this header


@pytest.mark.parametrize("source", ["bytes", "path", "file"])
def test_any_decoder_exception_is_an_input_error(tmp_path, source):
    p = tmp_path / "x.jpg"
    p.write_bytes(DDS)
    arg = {"bytes": DDS, "path": p, "file": io.BytesIO(DDS)}[source]
    with pytest.raises(InputError) as err:
        decode_image(arg)
    assert err.value.code == "input.undecodable" and err.value.hint


@pytest.mark.parametrize("source", [None, 123, 1.5, True, object(), ["a.png"]])
def test_what_is_not_an_image_input_is_an_input_error(source):
    with pytest.raises(InputError) as err:
        decode_image(source)
    assert err.value.code in ("input.bad-type", "input.bad-array")


def test_float_arrays_outside_0_1_are_refused_not_clipped():
    with pytest.raises(InputError) as err:
        decode_image(np.full((10, 10, 3), 200.0, np.float32))
    assert err.value.code == "input.bad-array" and "255" in (err.value.hint or "")
    with pytest.raises(InputError):
        decode_image(np.full((10, 10, 3), -0.5, np.float64))
    # float rounding just past 1 is fine
    assert decode_image(np.full((10, 10, 3), 1.0000001, np.float32)).rgb.max() == 255


def test_pillow_warnings_are_kept_in_warnings_not_printed(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 40x40 = 1600: a DecompressionBombWarning
    data = encoded(square_image(40, 40), "PNG")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning escaping decode_image would fail the test
        d = decode_image(data)
    assert any("DecompressionBombWarning" in w for w in d.warnings)


def test_pillow_warnings_never_reach_stderr_raw(tmp_path):
    import subprocess
    import sys

    p = tmp_path / "big.png"
    square_image(40, 40).save(p)
    code = ("from PIL import Image; Image.MAX_IMAGE_PIXELS = 1000\n"
            "from alphacut.io.decode import decode_image\n"
            f"print(decode_image({str(p)!r}).warnings)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "DecompressionBombWarning" in res.stdout
    # a raw warning shows Pillow's file and line and the warn() call; a log record (logging's
    # last-resort handler when the app set none) shows the image's name
    assert "PIL/" not in res.stderr and "warnings.warn" not in res.stderr


def test_too_large_message_shows_why_it_is_over():
    img = Image.new("L", (64, 64))
    data = bytearray(encoded(img, "PNG"))
    data[16:24] = (10001).to_bytes(4, "big") + (10000).to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    with pytest.raises(InputError) as err:
        decode_image(bytes(data), max_pixels=100_000_000)
    assert "100,010,000" in err.value.message and "100,000,000" in err.value.message


def test_read_matte_is_the_one_matte_reader(tmp_path):
    from alphacut.io.decode import read_matte

    grey = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    Image.fromarray(grey, "L").save(tmp_path / "l.png")
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = grey
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    for name in ("l.png", "rgba.png"):
        m = read_matte(tmp_path / name)
        assert m.dtype == np.float32 and np.array_equal(np.rint(m * 255).astype(np.uint8), grey)
    (tmp_path / "bad.png").write_bytes(b"DDS |" + bytes(100))
    with pytest.raises(InputError) as err:
        read_matte(tmp_path / "bad.png")
    assert err.value.code == "input.undecodable"


def test_concurrent_decodes_run_together_and_keep_their_own_warnings(monkeypatch):
    """No global lock around a decode: two threads are inside decode_image at once (a barrier that
    a serializing lock would break), and each one's Pillow warnings land in its own result only."""
    import threading
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    from alphacut.io import decode as decode_mod

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 40x40 = 1600 px warns, 30x30 = 900 does not
    both_inside = threading.Barrier(2, timeout=10)
    real = decode_mod._decode

    def meeting(*args, **kwargs):  # type: ignore[no-untyped-def]
        both_inside.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(decode_mod, "_decode", meeting)
    state = (warnings.showwarning, list(warnings.filters))
    with ThreadPoolExecutor(2) as ex:
        warned = ex.submit(decode_image, encoded(square_image(40, 40), "PNG"))
        quiet = ex.submit(decode_image, encoded(square_image(30, 30), "PNG"))
        warned_d, quiet_d = warned.result(timeout=30), quiet.result(timeout=30)
    assert any("DecompressionBombWarning" in w for w in warned_d.warnings)
    assert quiet_d.warnings == ()
    assert (warnings.showwarning, list(warnings.filters)) == state  # restored when the last decode ends


def test_a_warning_from_another_thread_during_a_decode_is_not_swallowed(monkeypatch):
    import threading
    import warnings

    from alphacut.io import decode as decode_mod

    inside, done = threading.Event(), threading.Event()
    real = decode_mod._decode

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        inside.set()
        assert done.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(decode_mod, "_decode", slow)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        t = threading.Thread(target=lambda: decode_image(encoded(square_image(), "PNG")))
        t.start()
        assert inside.wait(10)
        warnings.warn("from the app, not from a decode", UserWarning, stacklevel=1)
        done.set()
        t.join(10)
    assert [str(w.message) for w in seen] == ["from the app, not from a decode"]
