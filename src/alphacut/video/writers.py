"""Where cut-out frames go: a folder of PNGs, or a video file (WebM VP9 + alpha, MOV ProRes 4444,
MP4 H.264 on a background) with the input's time stamps, rotation and sound.

Video files are written to a temporary name beside the output and renamed when complete; a
folder gets each PNG atomically, so an interrupted run leaves whole frames only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ..errors import OptionsError, OutputError
from ._deps import require_av, require_cv2
from .container import VideoInfo, rotate_back

__all__ = ["FolderSink", "FrameSink", "OutputKind", "VideoSink", "output_kind"]

log = logging.getLogger(__name__)


class OutputKind(str, Enum):
    FOLDER = "folder"  # RGBA (or mask) PNGs
    WEBM = "webm"  # VP9, yuva420p
    MOV = "mov"  # ProRes 4444 with alpha
    MP4 = "mp4"  # H.264 on a background

    @property
    def has_alpha(self) -> bool:
        return self in (OutputKind.FOLDER, OutputKind.WEBM, OutputKind.MOV)


def output_kind(output: Path | str) -> OutputKind:
    """What `output` names: a folder (trailing slash, an existing directory, no suffix) or a video file."""
    text = str(output)
    path = Path(output)
    if text.endswith(("/", os.sep)) or path.is_dir() or not path.suffix:
        return OutputKind.FOLDER
    suffix = path.suffix.lower().lstrip(".")
    try:
        return OutputKind(suffix)
    except ValueError:
        raise OptionsError("options.invalid", f"Can't write video as .{suffix}.",
                           hint="Use .webm (VP9 + alpha), .mov (ProRes 4444 + alpha), .mp4 (H.264 on a "
                                "background) or a folder/ of PNGs.") from None


class FrameSink(Protocol):
    def exists(self, index: int) -> bool: ...
    def write(self, index: int, image: NDArray[np.uint8], pts: int, duration: int | None) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


# ------------------------------------------------------------------------------------------ folder

class FolderSink:
    """One PNG per frame, 000000.png, ... (RGBA, or L for masks), each written atomically."""

    def __init__(self, folder: Path, *, overwrite: bool = False, skip_existing: bool = False) -> None:
        self.folder = folder
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError("output.not-writable", f"Can't create {folder}: {exc}.") from exc
        if not overwrite and not skip_existing and any(folder.glob("[0-9]*.png")):
            raise OutputError("output.exists", f"{folder} already holds frames.",
                              hint="Use --skip-existing to resume, --overwrite to replace them, or another folder.")

    def path(self, index: int) -> Path:
        return self.folder / f"{index:06d}.png"

    def exists(self, index: int) -> bool:
        return self.path(index).is_file()

    def read_alpha(self, index: int) -> NDArray[np.float32] | None:
        """A frame written earlier, as its matte (alpha channel, or the mask itself), for resuming."""
        cv2 = require_cv2()
        img = cv2.imread(str(self.path(index)), cv2.IMREAD_UNCHANGED)
        if img is None:
            return None
        a = img if img.ndim == 2 else img[:, :, 3] if img.shape[2] == 4 else None
        return None if a is None else a.astype(np.float32) / np.float32(255)

    def write(self, index: int, image: NDArray[np.uint8], pts: int, duration: int | None) -> None:
        cv2 = require_cv2()
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA if image.shape[2] == 4 else cv2.COLOR_RGB2BGR)
        ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise OutputError("output.encode-failed", f"Can't encode frame {index} as PNG.")
        final = self.path(index)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.tobytes())
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


# ------------------------------------------------------------------------------------------ video

@dataclass(frozen=True, slots=True)
class _Format:
    container: str
    codec: str
    pix_fmt: str
    options: tuple[tuple[str, str], ...]
    audio_copy: frozenset[str]  # audio codecs the container takes as they are
    audio_codec: str  # else re-encoded to this


_FORMATS = {
    OutputKind.WEBM: _Format("webm", "libvpx-vp9", "yuva420p", (("crf", "30"), ("b", "0"), ("deadline", "good"),
                                                                ("cpu-used", "4"), ("row-mt", "1")),
                             frozenset({"opus", "vorbis"}), "libopus"),
    OutputKind.MOV: _Format("mov", "prores_ks", "yuva444p10le", (("profile", "4444"),),
                            frozenset({"aac", "mp3", "alac", "pcm_s16le", "pcm_s24le", "pcm_f32le", "ac3"}), "aac"),
    OutputKind.MP4: _Format("mp4", "libx264", "yuv420p", (("crf", "18"), ("preset", "medium")),
                            frozenset({"aac", "mp3", "opus", "ac3", "eac3", "alac", "flac"}), "aac"),
}


class VideoSink:
    """Encodes frames into a temporary file beside `path`; `close` renames it into place.

    The video keeps the input's time stamps (time base and pts, so variable frame rate too), its
    display rotation (frames are turned back to the stored orientation) and its first audio stream,
    copied when the container takes the codec, else re-encoded (Opus for WebM, AAC otherwise).
    """

    def __init__(self, path: Path, kind: OutputKind, info: VideoInfo, *, overwrite: bool = False,
                 audio: bool = True) -> None:
        if kind is OutputKind.FOLDER:
            raise ValueError("VideoSink writes files; use FolderSink for folders")
        if path.exists() and not overwrite:
            raise OutputError("output.exists", f"{path} already exists.", hint="Use --overwrite to replace it.")
        av = require_av()
        self.av = av
        self.path, self.kind, self.info = path, kind, info
        fmt = _FORMATS[kind]
        self.fmt = fmt
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".part.{kind.value}", dir=path.parent)
            os.close(fd)
        except OSError as exc:
            raise OutputError("output.not-writable", f"Can't write in {path.parent}: {exc}.") from exc
        self.tmp = Path(tmp)
        self.container: Any = av.open(str(self.tmp), "w", format=fmt.container)
        rate = info.average_rate or Fraction(25)
        self.stream: Any = self.container.add_stream(fmt.codec, rate=rate)
        self.stream.width, self.stream.height = info.width, info.height
        self.stream.pix_fmt = fmt.pix_fmt
        self.stream.time_base = info.time_base
        self.stream.codec_context.time_base = info.time_base
        self.stream.options = dict(fmt.options)
        if info.rotation:
            self.stream.set_display_rotation(info.rotation)
        self.audio = _AudioFeed(info.path, self.container, fmt) if audio and info.audio_codec else None
        self._last_s = 0.0

    def exists(self, index: int) -> bool:
        return False

    def write(self, index: int, image: NDArray[np.uint8], pts: int, duration: int | None) -> None:
        av = self.av
        stored = rotate_back(image, self.info.rotation)
        fmt = {4: "rgba", 3: "rgb24"}[stored.shape[2]] if stored.ndim == 3 else "gray"
        frame = av.VideoFrame.from_ndarray(stored, format=fmt)
        frame.pts = pts
        frame.time_base = self.info.time_base
        if duration:
            frame.duration = duration
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self._last_s = float(pts * self.info.time_base)
        if self.audio is not None:
            self.audio.until(self._last_s + 0.5)

    def close(self) -> None:
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
            if self.audio is not None:
                self.audio.until(None)
            self.container.close()
        except BaseException:
            self.abort()
            raise
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.container.close()
        if self.audio is not None:
            self.audio.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()


class _AudioFeed:
    """The input's first audio stream, muxed into `out` as the video advances (interleaved)."""

    def __init__(self, src: Path, out: Any, fmt: _Format) -> None:
        av = require_av()
        self.av = av
        self.input = av.open(str(src), "r")
        self.src = self.input.streams.audio[0]
        self.out = out
        self.copy = self.src.codec_context.name in fmt.audio_copy
        if self.copy:
            self.stream = out.add_stream_from_template(self.src)
        else:
            rate = self.src.codec_context.sample_rate or 48000
            if fmt.audio_codec == "libopus" and rate not in (8000, 12000, 16000, 24000, 48000):
                rate = 48000
            self.stream = out.add_stream(fmt.audio_codec, rate=rate)
            layout = self.src.codec_context.layout.name if self.src.codec_context.layout else "stereo"
            self.stream.layout = layout if layout in ("mono", "stereo") else "stereo"
            self.resampler = av.AudioResampler(format=self.stream.codec_context.format.name,
                                               layout=self.stream.layout.name, rate=rate)
        log.info("audio: %s %s", self.src.codec_context.name,
                 "copied" if self.copy else f"re-encoded as {fmt.audio_codec}")
        self.packets = self.input.demux(self.src)
        self.done = False

    def until(self, t_s: float | None) -> None:
        """Mux audio up to time t_s (seconds), or all that is left when None."""
        if self.done:
            return
        for packet in self.packets:
            if packet.dts is None and packet.size == 0:
                continue  # the demuxer's flush packet
            t = None if packet.pts is None or packet.time_base is None else float(packet.pts * packet.time_base)
            if self.copy:
                packet.stream = self.stream
                self.out.mux(packet)
            else:
                for frame in packet.decode():
                    frame.pts = None
                    for res in self.resampler.resample(frame):
                        for p in self.stream.encode(res):
                            self.out.mux(p)
            if t_s is not None and t is not None and t > t_s:
                return
        if not self.copy:
            for res in self.resampler.resample(None):
                for p in self.stream.encode(res):
                    self.out.mux(p)
            for p in self.stream.encode(None):
                self.out.mux(p)
        self.done = True
        self.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.input.close()
