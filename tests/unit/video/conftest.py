"""Tiny clips made with PyAV for the video tests: a dark square moving over a light background."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from alphacut.api import Remover
from alphacut.eval.video_clips import _mux_tone
from alphacut.models.catalog import ModelSpec
from alphacut.runtime.fake import FakeBackend

av = pytest.importorskip("av")
pytest.importorskip("cv2")


def square_frame(t: int, w: int = 96, h: int = 64) -> np.ndarray:
    """Frame t: a light background, a dark square moving 2 px per frame."""
    rgb = np.full((h, w, 3), 235, np.uint8)
    x0 = 16 + 2 * t
    rgb[h // 4: 3 * h // 4, x0: x0 + w // 3] = (30, 40, 160)
    return rgb


def make_clip(path: Path, *, frames: int = 6, w: int = 96, h: int = 64, pts: list[int] | None = None,
              time_base: Fraction = Fraction(1, 1000), rate: int = 25, codec: str = "libx264",
              fmt: str = "mp4", audio: bool = False, rotation: int = 0) -> Path:
    """A clip of square_frame(t); `pts` (in time_base units) makes it variable-rate; an AAC tone when `audio`."""
    pts = pts if pts is not None else [round(t / rate / time_base) for t in range(frames)]
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        if codec == "libx264":
            stream.options = {"crf": "12", "preset": "ultrafast"}
        if rotation:
            stream.set_display_rotation(rotation)
        a = None
        if audio:
            a = out.add_stream("aac", rate=48000)
            a.layout = "mono"
        for t, p in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(square_frame(t, w, h), format="rgb24")
            frame.pts = p
            frame.time_base = time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if a is not None:
            _mux_tone(out, a, seconds=float(pts[-1] * time_base + Fraction(1, rate)))  # 440 Hz, as eval.video_clips' clips
    return path


@pytest.fixture
def fake_remover(tiny_spec: ModelSpec) -> Remover:
    return Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_clip(tmp_path / "in.mp4")
