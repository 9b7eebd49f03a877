"""framing: bbox, crops, 85 % placement centred, fit/fill sizes (ID-photo framing: test_id_photo.py)."""

from __future__ import annotations

import numpy as np
import pytest

from alphacut.ops.framing import (
    crop_to_subject,
    fill,
    fit,
    place_on_canvas,
    render_rect,
    subject_bbox,
)


def blob(h: int, w: int, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    a = np.zeros((h, w), np.float32)
    x0, y0, x1, y1 = box
    a[y0:y1, x0:x1] = 1
    img = np.zeros((h, w, 3), np.float32)
    img[..., 0] = 0.8
    return img, a


def test_subject_bbox_and_empty() -> None:
    _, a = blob(50, 60, (5, 7, 20, 30))
    assert subject_bbox(a) == (5, 7, 20, 30)
    assert subject_bbox(np.zeros((5, 5), np.float32)) is None


def test_crop_margin_clipped() -> None:
    img, a = blob(50, 60, (5, 7, 20, 30))
    ci, ca, box = crop_to_subject(img, a, 10)
    assert box == (0, 0, 30, 40) and ca.shape == (40, 30) and ci.shape == (40, 30, 3)


@pytest.mark.parametrize(("hw", "box", "canvas"), [
    ((400, 600), (100, 50, 400, 350), (1000, 1000)),   # square subject
    ((400, 600), (10, 100, 590, 200), (800, 800)),     # wide subject
    ((900, 300), (100, 20, 200, 880), (1000, 1000)),   # tall subject
    ((500, 500), (300, 300, 480, 420), (1200, 900)),   # off-centre, non-square canvas
])
def test_place_fills_85_percent_and_centres(hw: tuple[int, int], box: tuple[int, int, int, int],
                                            canvas: tuple[int, int]) -> None:
    img, a = blob(*hw, box)
    out_img, out_a = place_on_canvas(img, a, canvas, fill_frac=0.85)
    cw, ch = canvas
    assert out_a.shape == (ch, cw) and out_img.shape == (ch, cw, 3)
    x0, y0, x1, y1 = subject_bbox(out_a, 0.5)  # type: ignore[misc]
    frac = max((x1 - x0) / cw, (y1 - y0) / ch)
    assert frac == pytest.approx(0.85, abs=0.02)
    assert abs((x0 + x1) / 2 - cw / 2) <= 1.5 and abs((y0 + y1) / 2 - ch / 2) <= 1.5
    inside = out_a > 0.99
    assert np.allclose(out_img[inside, 0], 0.8, atol=1e-4)  # premultiplied resampling: no dark edge


def test_place_bottom_anchor() -> None:
    img, a = blob(300, 300, (100, 50, 200, 250))
    _, out = place_on_canvas(img, a, (400, 400), anchor="bottom", fill_frac=0.8)
    _, _, _, y1 = subject_bbox(out, 0.5)  # type: ignore[misc]
    assert abs(y1 - 360) <= 1.5


@pytest.mark.parametrize("size", [(80, 80), (200, 50), (33, 99)])
def test_fit_and_fill_exact_sizes(size: tuple[int, int]) -> None:
    img, a = blob(50, 100, (0, 0, 100, 50))
    fi, fa = fit(img, a, size)
    li, la = fill(img, a, size)
    assert fi.shape == (size[1], size[0], 3) and fa.shape == (size[1], size[0])
    assert li.shape == (size[1], size[0], 3) and la.shape == (size[1], size[0])
    assert la.min() > 0.99  # fill covers, never letterboxes


def test_fit_letterboxes_with_transparency() -> None:
    img, a = blob(50, 100, (0, 0, 100, 50))
    _, fa = fit(img, a, (100, 100))
    assert fa[:24].max() < 1e-6 and fa[26:74].min() > 0.99 and fa[76:].max() < 1e-6


def test_render_rect_outside_is_transparent() -> None:
    img, a = blob(10, 10, (0, 0, 10, 10))
    _, oa = render_rect(img, a, (-10, 0, 10, 10), (20, 10))
    assert oa[:, :9].max() < 1e-6 and oa[:, 11:].min() > 0.99
