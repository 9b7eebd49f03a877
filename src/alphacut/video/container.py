"""Reading video files with PyAV: what a clip is (VideoInfo) and its frames, upright, in order.

The one place that translates PyAV/FFmpeg errors for input (InputError, exit 3).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import InputError
from ._deps import require_av

__all__ = ["Frame", "VideoInfo", "open_input", "probe", "read_frames"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """A clip's video stream (and whether it has sound), as stored in the file."""

    path: Path
    width: int  # as stored (before rotation)
    height: int
    rotation: int  # display rotation, degrees counter-clockwise: 0, 90, 180 or 270
    time_base: Fraction
    average_rate: Fraction | None
    frames: int | None  # from the container's header, when it says (may be missing or approximate)
    duration_s: float | None
    codec: str
    audio_codec: str | None

    @property
    def upright_wh(self) -> tuple[int, int]:
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame: RGB uint8 upright (rotation applied), and its timing in time_base units."""

    index: int
    rgb: NDArray[np.uint8]
    pts: int
    duration: int | None


def _fail_open(path: Path, exc: Exception) -> InputError:
    if isinstance(exc, FileNotFoundError) or not path.exists():
        return InputError("input.not-found", f"{path} does not exist.")
    return InputError("input.undecodable", f"{path} is not a video FFmpeg can read ({exc}).",
                      hint="Give an MP4, MOV, WebM, MKV or animated GIF file.")


def open_input(path: Path) -> Any:
    """An opened PyAV input container with at least one video stream (else InputError)."""
    av = require_av()
    try:
        container = av.open(str(path), "r")
    except (av.FFmpegError, OSError) as exc:
        raise _fail_open(path, exc) from exc
    if not container.streams.video:
        container.close()
        raise InputError("input.no-video", f"{path} has no video stream.",
                         hint="Give a file with a video track (an audio-only file can't be cut out).")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        container.close()
        raise InputError("input.unsupported-codec",
                         f"{path}: no decoder for its video codec ({stream.codec.name if stream.codec else '?'}).",
                         hint="Convert it to H.264 or VP9 first.")
    return container


def _rotation(container: Any, stream: Any) -> int:
    """The display rotation of the first frame (PyAV reads the display matrix), snapped to 90°."""
    for frame in container.decode(stream):
        return round(float(getattr(frame, "rotation", 0) or 0) / 90) % 4 * 90
    return 0


def probe(path: Path) -> VideoInfo:
    """What the clip is: size, rotation, timing, codec, sound. Raises InputError if it isn't one."""
    av = require_av()
    container = open_input(path)
    try:
        stream = container.streams.video[0]
        try:
            rotation = _rotation(container, stream)
        except av.FFmpegError as exc:
            raise InputError("input.corrupt", f"{path}: its first video frame can't be decoded ({exc}).") from exc
        audio = container.streams.audio[0] if container.streams.audio else None
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        return VideoInfo(path=path, width=stream.codec_context.width, height=stream.codec_context.height,
                         rotation=rotation, time_base=stream.time_base or Fraction(1, 90000),
                         average_rate=stream.average_rate or stream.guessed_rate,
                         frames=stream.frames or None, duration_s=duration, codec=stream.codec_context.name,
                         audio_codec=audio.codec_context.name if audio is not None and audio.codec_context else None)
    finally:
        container.close()


def _upright(rgb: NDArray[np.uint8], rotation: int) -> NDArray[np.uint8]:
    k = rotation // 90 % 4
    return rgb if k == 0 else np.ascontiguousarray(np.rot90(rgb, k=k))


def read_frames(info: VideoInfo) -> Iterator[Frame]:
    """Every frame of the clip, in presentation order, upright, with strictly increasing pts.

    A frame with no time stamp gets the previous one's plus one frame at the average rate; a
    repeated time stamp is moved on by one unit (so encoders and muxers take every frame).
    """
    av = require_av()
    container = open_input(info.path)
    step = 1
    if info.average_rate:
        step = max(1, round(1 / (info.average_rate * info.time_base)))
    last: int | None = None
    index = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                pts = frame.pts
                if pts is None:
                    pts = 0 if last is None else last + step
                elif last is not None and pts <= last:
                    pts = last + 1
                last = pts
                rgb = frame.to_ndarray(format="rgb24")
                duration = getattr(frame, "duration", None) or None
                yield Frame(index=index, rgb=_upright(rgb, info.rotation), pts=int(pts), duration=duration)
                index += 1
        except av.FFmpegError as exc:
            raise InputError("input.corrupt", f"{info.path}: the video stream is damaged after frame {index} "
                             f"({exc}).", hint="Re-encode or repair the file, then try again.") from exc
    finally:
        container.close()
    if index == 0:
        raise InputError("input.corrupt", f"{info.path}: no video frame could be decoded.")


def rotate_back(image: NDArray[Any], rotation: int) -> NDArray[Any]:
    """An upright image turned back to the stream's stored orientation."""
    k = rotation // 90 % 4
    return image if k == 0 else np.ascontiguousarray(np.rot90(image, k=-k))
