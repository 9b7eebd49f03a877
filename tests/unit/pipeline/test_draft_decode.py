"""Reduced (JPEG draft mode) decoding when the output is small: the rule, and what it produces."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from alphacut import Options, Remover
from alphacut.io.decode import decode_image
from alphacut.ops import framing
from alphacut.options import Background, Fit, Margin
from alphacut.pipeline import DRAFT_MIN_SUBJECT_FRAC, layout, min_decode_size

F = DRAFT_MIN_SUBJECT_FRAC


def _person_jpeg(w: int, h: int, *, orientation: int = 1, seed: int = 0) -> bytes:
    """A photo-like JPEG of a head-and-shoulders silhouette (head ~28% of the upright height) on a
    light, noisy gradient; stored rotated so that EXIF `orientation` turns it upright."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([215 + 10 * xx / w, 220 + 10 * yy / h, 228 + 0 * xx], axis=-1)
    cx, r = w / 2, 0.14 * h
    head = (xx - cx) ** 2 + (yy - 0.12 * h - r) ** 2 < r**2
    neck = (yy > 0.3 * h) & (np.abs(xx - cx) < 0.06 * h)
    body = (yy > 0.45 * h) & (yy < 0.9 * h) & (np.abs(xx - cx) < 0.3 * w) & ((yy - 0.45 * h) > (np.abs(xx - cx) - 0.2 * w))
    person = head | neck | body
    rgb[person] = np.float32([60, 40, 110]) + 25 * np.sin(xx[person, None] / 9.0)
    rgb += rng.normal(0, 5, size=rgb.shape).astype(np.float32)
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    exif = Image.Exif()
    if orientation != 1:
        # Store the inverse rotation: a viewer applying `orientation` shows the upright picture.
        inverse = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270, 3: Image.Transpose.ROTATE_180}
        img = img.transpose(inverse[orientation])
        exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif.tobytes())
    return buf.getvalue()


@pytest.fixture(scope="module")
def big_jpeg() -> bytes:
    return _person_jpeg(4000, 3000, seed=1)


@pytest.fixture(scope="module")
def big_rotated_portrait_jpeg() -> bytes:
    """Like big_rotated_jpeg, with a face the id-photo presets can detect (tests/unit/portraits.py)."""
    from ..portraits import draw_portrait

    img = Image.fromarray(draw_portrait(1500, 2000, face_w=250).rgb).resize((3000, 4000), Image.BILINEAR)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    img.transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", quality=90, exif=exif.tobytes())
    return buf.getvalue()


@pytest.fixture(scope="module")
def big_rotated_jpeg() -> bytes:
    """Stored 4000x3000 landscape, EXIF 6: upright it is a 3000x4000 portrait."""
    return _person_jpeg(3000, 4000, orientation=6, seed=2)


@pytest.fixture
def remover(tiny_spec, fake_backend):
    return Remover(tiny_spec, backend=fake_backend)


def _visible(img: Image.Image) -> np.ndarray:
    """RGB premultiplied by alpha, and alpha, in [0, 1]: what a viewer shows. (The colour of a nearly
    transparent pixel is an estimate nobody sees; decontamination makes it differ between sizes.)"""
    rgba = np.asarray(img.convert("RGBA"), np.float32) / 255.0
    return np.concatenate([rgba[:, :, :3] * rgba[:, :, 3:], rgba[:, :, 3:]], axis=2)


@pytest.mark.parametrize(("source", "options", "scale"), [
    ("big_jpeg", Options.from_kwargs(preset="avatar"), 2),
    ("big_rotated_jpeg", Options(size_wh=(512, 512)), 4),
    ("big_rotated_portrait_jpeg", Options.from_kwargs(preset="id-photo"), 2),
])
def test_sized_output_decodes_small_and_matches_the_full_decode(request, remover, source, options, scale):
    data = request.getfixturevalue(source)
    full = decode_image(data)  # a Decoded input is used as it is: the no-draft reference
    ref = remover.cutout(full, options)
    out = remover.cutout(data, options)
    assert ref.info.decode_scale == 1 and out.info.decode_scale == scale
    assert out.info.size_wh == ref.info.size_wh == full.size_wh  # the file's upright size either way
    assert out.image.size == ref.image.size == options.size_wh and out.image.mode == ref.image.mode
    a, b = _visible(out.image), _visible(ref.image)
    if out.image.mode == "RGBA":  # a subject, cut out and framed
        assert 0.1 < b[:, :, 3].mean() < 0.9, b[:, :, 3].mean()
    diff = np.abs(a - b).reshape(-1, 4).mean(axis=0)
    # measured: 0.6/255 (512x512); id-photo 9.9/255: the face detector's box is 975 px on the full
    # decode and 2x502 on the half one (Haar boxes move by a few % between resamplings), and the
    # framing follows the box, so the drawn face's sharp edges shift by a few pixels
    limit = 12 / 255 if options.head_frame is not None else 2.5 / 255
    assert diff.max() < limit, diff * 255


def test_no_draft_without_a_size_or_for_a_matte(remover):
    data = _person_jpeg(900, 1200, orientation=6)
    sized = Options(size_wh=(64, 64))
    assert remover.cutout(data, sized).info.decode_scale == 8
    out = remover.cutout(data, Options(crop=True))
    assert out.info.decode_scale == 1 and out.info.size_wh == (900, 1200)
    assert remover.matte(data, sized).shape == (1200, 900)  # the matte is at the photo's own size


@pytest.mark.parametrize("options", [
    Options(size_wh=(64, 64), erode_px=2), Options(size_wh=(64, 64), dilate_px=2),
    Options(size_wh=(64, 64), min_area_px=50), Options(size_wh=(64, 64), background=Background.blurred(10)),
    Options(size_wh=(64, 64), crop=True, margin=Margin.all(20)),
])
def test_options_in_photo_pixels_keep_the_full_decode(options):
    assert min_decode_size((4000, 3000), (1024, 1024), options) == (4000, 3000)
    assert min_decode_size((4000, 3000), (1024, 1024), Options()) == (4000, 3000)


def test_the_model_input_is_never_upsampled():
    # A tiny canvas alone would allow 1/8; the model's 1024 px side stops it at 1/2 (2000 px).
    assert min_decode_size((4000, 3000), (1024, 1024), Options(size_wh=(32, 32))) == (2000, 1500)
    assert min_decode_size((4000, 3000), (64, 64), Options(size_wh=(32, 32))) == (500, 375)
    assert min_decode_size((1001, 999), (1024, 1024), Options(size_wh=(32, 32))) == (1001, 999)
    # 16:9 enters the model at 4:3 (1024x768): 1/4 (1200x675) would enlarge it vertically, so 1/2
    assert min_decode_size((4800, 2700), (1024, 1024), Options(size_wh=(32, 32))) == (2400, 1350)


CANVAS = (120, 90)
LAYOUTS = {
    "fit": Options(size_wh=CANVAS),
    "fill": Options(size_wh=CANVAS, fit=Fit.FILL),
    "crop-fit": Options(size_wh=CANVAS, crop=True, margin=Margin.all(5, percent=True)),
    "crop-fill": Options(size_wh=CANVAS, crop=True, fit=Fit.FILL),
    "fill-frac": Options(size_wh=CANVAS, fill_frac=0.9),
    "fill-frac-bottom": Options(size_wh=(90, 120), fill_frac=0.85, anchor="bottom"),
}


def _layout_scale(options: Options, wh: tuple[int, int]) -> float:
    """How much the layout enlarges a centred subject box of F of the frame decoded at wh (output box
    over input box; the larger of the two ratios, as fill may clip the other)."""
    w, h = wh
    bw, bh = math.ceil(F * w), math.ceil(F * h)
    alpha = np.zeros((h, w), np.float32)
    x0, y0 = (w - bw) // 2, (h - bh) // 2
    alpha[y0:y0 + bh, x0:x0 + bw] = 1.0
    _, out = layout(np.zeros((h, w, 3), np.float32), alpha, options)
    assert out.shape == (options.size_wh[1], options.size_wh[0])
    box = framing.subject_bbox(out, 0.5)
    assert box is not None
    return max((box[2] - box[0] - 1) / bw, (box[3] - box[1] - 1) / bh)  # -1: a rounded edge pixel


@pytest.mark.parametrize("name", list(LAYOUTS))
@pytest.mark.parametrize("source_wh", [(3000, 2000), (2000, 3000), (1200, 1200), (1600, 500)])
def test_the_layout_never_upsamples_a_subject_of_the_minimum_fraction(name, source_wh):
    """At the decode size chosen, the smallest covered subject (F of the frame on each side) comes out
    no larger than it is in the decoded photo: every output pixel has a decoded pixel behind it."""
    options, model_wh = LAYOUTS[name], (64, 64)
    w, h = min_decode_size(source_wh, model_wh, options)
    s = round(source_wh[0] / w)
    assert s in (1, 2, 4, 8) and (w, h) == (-(-source_wh[0] // s), -(-source_wh[1] // s))
    assert _layout_scale(options, (w, h)) <= 1.0
    if s < 8:  # and the rule is tight: one reduction further, the layout (or the model input) upsamples
        nxt = (-(-source_wh[0] // (2 * s)), -(-source_wh[1] // (2 * s)))
        assert max(nxt) < model_wh[0] or _layout_scale(options, nxt) > 0.95


@pytest.mark.parametrize("preset", ["id-photo", "id-photo-us"])
@pytest.mark.parametrize("source_wh", [(3000, 4000), (4000, 3000), (6000, 4000)])
def test_head_framing_never_upsamples_a_head_of_the_minimum_fraction(preset, source_wh):
    options = Options.from_kwargs(preset=preset)
    w, h = min_decode_size(source_wh, (1024, 1024), options)
    # A head (crown to chin) F of the frame's height: the framing must then map >= ch source rows to
    # the canvas's ch rows. The face box is placed so the calibrated chin is the head's bottom.
    head_h = math.ceil(F * h)
    crown = 0.1 * h
    bh = head_h / 1.5
    by = crown + head_h - framing.CHIN_BELOW_FACE_TOP * bh
    alpha = np.zeros((h, w), np.float32)
    alpha[int(crown):, int(w / 2 - 0.4 * bh):int(w / 2 + 0.4 * bh)] = 1
    rule = framing.ID_RULES[options.id_rule]
    frame = framing.frame_portrait(alpha, (w / 2 - bh / 2, by, bh, bh), options.size_wh,
                                   head_frac=options.head_frame[1], top_frac=options.head_frame[0],
                                   eyes_range=rule.eyes_range, top_range=rule.top_range, head_range=rule.head_range)
    measured = frame.chin_y - frame.crown_y
    assert measured == pytest.approx(head_h, abs=1.0)
    rect_h = frame.rect_xyxy[3] - frame.rect_xyxy[1]
    assert rect_h >= options.size_wh[1] * measured / head_h - 1e-6  # scale <= 1 whenever head >= F of h
    if (w, h) != source_wh:
        assert F * h >= options.head_frame[1] * options.size_wh[1]
