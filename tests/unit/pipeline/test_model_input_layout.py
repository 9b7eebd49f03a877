"""Where the image sits in the model input, and back: a subject touching any edge of any frame is kept.

The tiny model marks dark pixels as foreground pixel by pixel, so what these tests check is the
geometry (resize in, crop and resize out), not what a real network makes of it
(tests/integration/test_border.py does that with the real model).
"""

from __future__ import annotations

import numpy as np
import pytest

from alphacut import Remover
from alphacut.runtime.onnx import OnnxBackend

FRAMES = {"16:9": (320, 180), "9:16": (180, 320), "square": (240, 240)}
EDGES = ("top", "bottom", "left", "right")


def subject_at(edge: str, wh: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A light frame with a dark block cut by `edge` (a third of the frame deep, half as wide); and its mask."""
    w, h = wh
    mask = np.zeros((h, w), bool)
    if edge in ("top", "bottom"):
        rows = slice(0, h // 3) if edge == "top" else slice(h - h // 3, h)
        mask[rows, w // 4: 3 * w // 4] = True
    else:
        cols = slice(0, w // 3) if edge == "left" else slice(w - w // 3, w)
        mask[h // 4: 3 * h // 4, cols] = True
    rgb = np.full((h, w, 3), 235, np.uint8)
    rgb[mask] = (25, 30, 40)
    return rgb, mask


def edge_pixels(edge: str, a: np.ndarray) -> np.ndarray:
    return {"top": a[0], "bottom": a[-1], "left": a[:, 0], "right": a[:, -1]}[edge]


@pytest.fixture(scope="module")
def tiny_remover(tiny_onnx):
    from alphacut.models.catalog import ModelSpec

    spec = ModelSpec.from_dict({
        "id": "tiny-test", "description": "test", "licence": "none", "checksum": "sha256:" + "0" * 64,
        "input_size": 64, "mean": [0.5, 0.5, 0.5], "std": [1.0, 1.0, 1.0],
        "sources": [{"kind": "file", "path": "/nonexistent"}],
    })
    return Remover(spec, backend=OnnxBackend(tiny_onnx, threads=1))


@pytest.mark.parametrize("frame", sorted(FRAMES))
@pytest.mark.parametrize("edge", EDGES)
def test_a_subject_cut_by_any_edge_is_kept_up_to_that_edge(tiny_remover, frame, edge):
    rgb, mask = subject_at(edge, FRAMES[frame])
    alpha = tiny_remover.matte(rgb)
    assert alpha.shape == mask.shape
    along = edge_pixels(edge, alpha)[edge_pixels(edge, mask)]
    # the subject's own pixels on the cut edge, away from its sides (the model sees the frame at 64 px)
    inner = along[len(along) // 5: -(len(along) // 5)]
    assert inner.min() > 0.9, f"{frame}, {edge}: subject at the edge came back at {inner.min():.2f}"
    assert alpha[~_grown(mask, 12)].max() < 0.1
    assert np.abs(alpha - mask).mean() < 0.05


def _grown(mask: np.ndarray, px: int) -> np.ndarray:
    from scipy import ndimage

    return ndimage.binary_dilation(mask, iterations=px)


@pytest.mark.parametrize("frame", sorted(FRAMES))
def test_the_padding_mirrors_the_image_so_a_subject_at_the_edge_continues(tiny_spec, frame):
    """Nothing in the input is made up: the part of the square the image leaves is the image mirrored."""
    from alphacut.io.decode import resize_for_model
    from alphacut.pipeline import content_size, preprocess

    rgb, _ = subject_at("bottom", FRAMES[frame])
    x, content = preprocess(rgb, tiny_spec, (64, 64))
    cw, ch = content
    assert content == content_size(FRAMES[frame], (64, 64)) and x.shape == (1, 3, 64, 64)
    want = resize_for_model(rgb, content).astype(np.float32) / 255 - 0.5
    assert np.allclose(x[0, :, :ch, :cw].transpose(1, 2, 0), want, atol=1e-6)
    for i in range(64 - ch):  # rows below the image: its last rows, mirrored
        assert np.array_equal(x[0, :, ch + i, :], x[0, :, ch - 1 - i % ch, :])
    for j in range(64 - cw):
        assert np.array_equal(x[0, :, :, cw + j], x[0, :, :, cw - 1 - j % cw])
    if ch < 64:  # the subject cut by the bottom edge continues below it, with nothing light in between
        assert (x[0, 0, ch - 1: ch + 3, 20:44] < -0.3).all()
