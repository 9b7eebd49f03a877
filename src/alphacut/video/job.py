"""Cutting out whole clips: the frame-by-frame iterator (FrameCutter) and the file job (cut_video).

cut_video runs four stages in their own threads joined by small bounded queues, so decoding,
inference, the finishing steps and encoding overlap and memory stays bounded however long the
clip: decode + preprocess → inference → matte, steadying, compositing → encoding.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..errors import AlphacutError, OptionsError
from ..options import Background, BackgroundKind, Color, Options, OutputFormat
from .container import Frame, VideoInfo, probe, read_frames
from .steady import MatteStabilizer, MatteWindow, SteadyOptions
from .writers import FolderSink, FrameSink, OutputKind, VideoSink, output_kind

if TYPE_CHECKING:
    from ..api import Remover
    from ..pipeline import Cutout, Prepared

__all__ = ["FrameCutter", "VideoOptions", "VideoReport", "check_video_options", "cut_video"]

log = logging.getLogger(__name__)

_NO_BATCH = np.zeros((0,), np.float32)

#: The chroma-key green editors key out (`--bg green` for video).
CHROMA_GREEN = Color(0, 177, 64)


@dataclass(frozen=True, slots=True)
class VideoOptions:
    """How a clip is processed beyond the per-frame Options."""

    steady: SteadyOptions = field(default_factory=SteadyOptions)
    audio: bool = True
    overwrite: bool = False
    skip_existing: bool = False  # folder output: keep frames already written, resume after them
    queue_size: int = 4


@dataclass(frozen=True, slots=True)
class VideoReport:
    output: Path
    kind: OutputKind
    frames: int  # frames in the output (decoded from the input)
    skipped: int  # already there (--skip-existing)
    inferred: int  # frames the network ran on
    resets: int  # first frame and detected cuts
    seconds: float
    info: VideoInfo


def check_video_options(options: Options) -> None:
    """Refuse options that change a frame's size or framing (a video's frames keep its size)."""
    bad = [name for name, on in (("crop", options.crop), ("size", options.size_wh is not None),
                                 ("fill", options.fill_frac is not None), ("head framing", options.head_frame is not None),
                                 ("shape", options.shape.value != "rect"), ("outline", options.outline_px > 0),
                                 ("max_output_pixels", options.max_output_pixels is not None),
                                 ("scale/position", options.subject_scale is not None
                                  or options.subject_position is not None))
           if on]
    if bad:
        raise OptionsError("options.video-geometry",
                           f"Video frames keep the clip's size; {', '.join(bad)} would change it per frame.",
                           hint="Drop those options (and presets that frame the subject) for video, or cut "
                                "frames out as images with `alphacut remove`.")
    if options.format not in (OutputFormat.PNG, OutputFormat.MASK):
        raise OptionsError("options.invalid", f"-f {options.format.value} is not a video output.",
                           hint="Use -f png (cut-outs, the default) or -f mask (the mattes).")


class FrameCutter:
    """Frames in, cutouts out, the matte steadied from one frame to the next (state kept).

    For a webcam loop or frames already in numpy. Frames are H×W×3 uint8 RGB of one clip, in order;
    call reset() before frames of another clip.

    Example:
        >>> cutter = FrameCutter(alphacut.Remover())
        >>> for cutout in cutter.cut_all(frames):          # iterable of H×W×3 uint8
        ...     show(cutout.image)                          # RGBA, steady from frame to frame
    """

    def __init__(self, remover: Remover, options: Options | None = None,
                 steady: SteadyOptions | None = None) -> None:
        self.remover = remover
        self.options = options or remover.options
        check_video_options(self.options)
        self.stabilizer = MatteStabilizer(steady)
        sopts = self.stabilizer.options
        # push()/drain(): the bidirectional window over the network's mattes, k frames late
        self.window: MatteWindow[tuple[Any, Prepared]] | None = (
            MatteWindow(sopts) if sopts.enabled and sopts.lookahead > 0 else None)
        self._background: tuple[tuple[int, int], NDArray[np.float32] | None] | None = None  # (size_wh, picture)
        self.frames = 0
        self.inferred = 0
        self._resets = 0

    @property
    def resets(self) -> int:
        """First frames and detected cuts."""
        if self.window is not None and self.stabilizer.options.keyframe_interval == 1:
            return self.window.resets
        return self._resets

    def reset(self) -> None:
        """Forget the previous frames (frames pending in the window are dropped: drain() first)."""
        self.stabilizer.reset()
        if self.window is not None:
            self.window.reset()

    def prepare(self, rgb: NDArray[np.uint8]) -> Prepared:
        return self.remover._prepare(rgb, self.options)

    def infer(self, prepared: Prepared) -> NDArray[np.float32]:
        self.inferred += 1
        return self.remover._infer(prepared)

    def finish(self, rgb: NDArray[np.uint8], prepared: Prepared, raw: NDArray[np.float32] | None) -> Cutout:
        """The steady cutout of a frame whose network output is `raw` (None: infer only if needed)."""
        opts = self.options

        def matte() -> NDArray[np.float32]:
            r = raw if raw is not None else self.infer(prepared)
            return self.remover._matte_from(prepared, r, opts)

        alpha, info = self.stabilizer.step(rgb, matte() if raw is not None else matte)
        self.frames += 1
        self._resets += info.reset
        return self.remover._compose(prepared, alpha, opts, background_rgb=self.background_picture(alpha.shape))

    def background_picture(self, shape_hw: tuple[int, ...]) -> NDArray[np.float32] | None:
        """--bg-image decoded and sized to the frames once, not per frame (None for other backgrounds)."""
        size_wh = (int(shape_hw[1]), int(shape_hw[0]))
        if self._background is None or self._background[0] != size_wh:
            self._background = (size_wh, self.remover._background_picture(self.options, size_wh))
        return self._background[1]

    def push(self, rgb: NDArray[np.uint8], prepared: Prepared, raw: NDArray[np.float32] | None,
             token: Any = None) -> list[tuple[Any, Cutout]]:
        """Add a frame (raw: the network's output, None between keyframes); the frames now complete.

        With SteadyOptions.lookahead = k > 0 each frame comes back k pushes later, steadied with
        the k frames before and after it (MatteWindow); drain() returns the last ones. With
        lookahead 0 (or steadying off) it is finish(), at once. `token` comes back with its frame.
        """
        if self.window is None:
            return [(token, self.finish(rgb, prepared, raw))]
        if raw is None or self.stabilizer.options.keyframe_interval > 1:
            # --keyframes: the recursive stabiliser carries the matte between keyframes (and asks
            # for the network at once on a cut)
            def matte() -> NDArray[np.float32]:
                return self.remover._matte_from(prepared, raw if raw is not None else self.infer(prepared),
                                               self.options)

            alpha, info = self.stabilizer.step(rgb, matte() if raw is not None else matte)
            self._resets += info.reset
        else:
            alpha = self.remover._matte_from(prepared, raw, self.options)
        # the window keeps 2k+1 frames: not their model inputs (12 MB each at 1024 px)
        prepared = dataclasses.replace(prepared, batch=_NO_BATCH)
        return self._window_out(self.window.push(rgb, alpha, (token, prepared)))

    def drain(self) -> list[tuple[Any, Cutout]]:
        """The frames still held for their look-ahead (call at the end of the clip)."""
        if self.window is None:
            return []
        return self._window_out(self.window.flush(), count=False)

    def _window_out(self, done: list[tuple[tuple[Any, Prepared], NDArray[np.float32]]], *,
                    count: bool = True) -> list[tuple[Any, Cutout]]:
        if count:
            self.frames += 1
        return [(token, self.remover._compose(prepared, alpha, self.options,
                                             background_rgb=self.background_picture(alpha.shape)))
                for (token, prepared), alpha in done]

    def cut(self, rgb: NDArray[np.uint8]) -> Cutout:
        """One frame, start to finish, at once: the recursive steadying only (no look-ahead: for a
        live feed; cut_all() and cut_video() also use the look-ahead). The network runs on every
        keyframe_interval-th frame."""
        prepared = self.prepare(rgb)
        key = self.frames % self.stabilizer.options.keyframe_interval == 0
        return self.finish(rgb, prepared, self.infer(prepared) if key else None)

    def prime(self, rgb: NDArray[np.uint8], alpha: NDArray[np.float32]) -> None:
        """Take `alpha` as this frame's output without computing it (resuming after written frames)."""
        self.stabilizer.reset()
        self.stabilizer.step(rgb, alpha)
        self.frames += 1

    def cut_all(self, frames: Iterable[NDArray[np.uint8]]) -> Iterator[Cutout]:
        """Every frame's cutout, in order (each `lookahead` frames after it went in)."""
        interval = self.stabilizer.options.keyframe_interval
        for i, rgb in enumerate(frames):
            prepared = self.prepare(rgb)
            for _, cut in self.push(rgb, prepared, self.infer(prepared) if i % interval == 0 else None):
                yield cut
        for _, cut in self.drain():
            assert cut is not None
            yield cut


# ------------------------------------------------------------------------------------------ the job

_END = object()


class _Pipeline:
    """Threads joined by bounded queues; the first error stops every stage and is re-raised."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.threads: list[threading.Thread] = []

    def put(self, q: queue.Queue[Any], item: Any) -> bool:
        while not self.stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def items(self, q: queue.Queue[Any]) -> Iterator[Any]:
        while not self.stop.is_set():
            try:
                item = q.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is _END:
                return
            yield item

    def stage(self, name: str, fn: Callable[[], None]) -> None:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                if self.error is None:
                    self.error = exc
                self.stop.set()

        t = threading.Thread(target=run, name=f"alphacut-video-{name}", daemon=True)
        self.threads.append(t)
        t.start()

    def join(self) -> None:
        for t in self.threads:
            while t.is_alive():
                t.join(timeout=0.2)


def _sink(output: Path, kind: OutputKind, info: VideoInfo, vopts: VideoOptions) -> FrameSink:
    if kind is OutputKind.FOLDER:
        return FolderSink(output, overwrite=vopts.overwrite, skip_existing=vopts.skip_existing)
    if vopts.skip_existing:
        raise OptionsError("options.conflict", "--skip-existing resumes a folder of frames, not a video file.",
                           hint="Write to a folder/ to be able to resume, or use --overwrite.")
    return VideoSink(output, kind, info, overwrite=vopts.overwrite, audio=vopts.audio)


def video_frame_options(options: Options, kind: OutputKind) -> Options:
    """Options for one frame of this output: MP4 has no alpha, so white unless a background is given."""
    check_video_options(options)
    if kind is OutputKind.MP4 and options.format is not OutputFormat.MASK \
            and options.background.kind is BackgroundKind.TRANSPARENT:
        return options.with_(background=Background.solid(Color(255, 255, 255)))
    return options


def cut_video(source: Path | str, output: Path | str, remover: Remover, options: Options | None = None,
              video_options: VideoOptions | None = None, *,
              on_progress: Callable[[int, int | None], None] | None = None) -> VideoReport:
    """Cut out every frame of `source` into `output` (a folder/, .webm, .mov or .mp4).

    on_progress(done, total) after each frame; total is the header's frame count or None.
    """
    t0 = time.perf_counter()
    vopts = video_options or VideoOptions()
    src = Path(source)
    kind = output_kind(output)
    opts = video_frame_options(options or remover.options, kind)
    info = probe(src)
    log.info("video %s: %dx%d, rotation %d, %s frames, %s, audio %s", src, info.width, info.height, info.rotation,
             info.frames, info.codec, info.audio_codec)
    out = Path(output)
    sink = _sink(out, kind, info, vopts)
    cutter = FrameCutter(remover, opts, vopts.steady)
    interval = vopts.steady.keyframe_interval
    pipe = _Pipeline(vopts.queue_size)
    decoded: queue.Queue[Any] = queue.Queue(vopts.queue_size)
    inferred: queue.Queue[Any] = queue.Queue(vopts.queue_size)
    finished: queue.Queue[Any] = queue.Queue(vopts.queue_size)
    counts = {"written": 0, "skipped": 0}
    resume = isinstance(sink, FolderSink) and vopts.skip_existing

    # With the look-ahead window a frame's matte depends on the network's mattes of the k frames
    # on each side, so resuming re-infers (without rewriting) the frames within k of a missing one.
    k = cutter.window.options.lookahead if cutter.window is not None else 0

    def needed(index: int) -> bool:
        lo, hi = max(0, index - k), index + k if info.frames is None else min(info.frames - 1, index + k)
        return any(not sink.exists(j) for j in range(lo, hi + 1))

    def decode() -> None:
        for frame in read_frames(info):
            write = not (resume and sink.exists(frame.index))
            if not write and not needed(frame.index):
                item: tuple[Frame, Prepared | None, bool, bool] = (frame, None, False, False)
            else:
                item = (frame, cutter.prepare(frame.rgb), frame.index % interval == 0, write)
            if not pipe.put(decoded, item):
                return
        pipe.put(decoded, _END)

    def send(done: list[tuple[Any, Cutout]]) -> bool:
        ok = True
        for (frame, write), cut in done:
            counts["skipped"] += not write
            ok = ok and pipe.put(finished, (frame, _pixels(cut, opts) if write else None))
        return ok

    def finish() -> None:
        # the cutter holds `lookahead` frames back (steadied with the frames after them): frames
        # come out of push() later, in order, and drain() gives the last ones
        for frame, prepared, raw, write in pipe.items(inferred):
            if prepared is None:  # written by an earlier run and not near a missing frame
                assert isinstance(sink, FolderSink)
                ok = send(cutter.drain())
                alpha = sink.read_alpha(frame.index) if cutter.window is None else None
                if alpha is not None and alpha.shape == frame.rgb.shape[:2]:
                    cutter.prime(frame.rgb, alpha)  # its matte is the recursive steadying's state
                else:
                    cutter.reset()
                counts["skipped"] += 1
                ok = ok and pipe.put(finished, (frame, None))
            else:
                ok = send(cutter.push(frame.rgb, prepared, raw, (frame, write)))
            if not ok:
                return
        if send(cutter.drain()):
            pipe.put(finished, _END)

    def encode() -> None:
        for frame, pixels in pipe.items(finished):
            if pixels is not None:
                sink.write(frame.index, pixels, frame.pts, frame.duration)
            counts["written"] += 1
            if on_progress is not None:
                on_progress(counts["written"], info.frames)

    try:
        pipe.stage("decode", decode)
        pipe.stage("finish", finish)
        pipe.stage("encode", encode)
        try:  # inference in this thread: onnxruntime's own threads do the work
            for frame, prepared, key, write in pipe.items(decoded):
                raw = cutter.infer(prepared) if key and prepared is not None else None
                if not pipe.put(inferred, (frame, prepared, raw, write)):
                    break
            else:
                pipe.put(inferred, _END)
        except BaseException as exc:  # noqa: BLE001 - stops the other stages, re-raised below
            if pipe.error is None:
                pipe.error = exc
            pipe.stop.set()
        pipe.join()
        if pipe.error is not None:
            raise pipe.error
        if counts["written"] == 0:
            raise AlphacutError("video.empty", f"{src}: no frame was written.")
        sink.close()
    except BaseException:
        sink.abort()
        raise
    report = VideoReport(output=out, kind=kind, frames=counts["written"], skipped=counts["skipped"],
                         inferred=cutter.inferred, resets=cutter.resets, seconds=time.perf_counter() - t0, info=info)
    log.info("video %s: %d frames (%d skipped, network on %d, %d resets) in %.1f s", out, report.frames,
             report.skipped, report.inferred, report.resets, report.seconds)
    return report


def _pixels(cut: Cutout, options: Options) -> NDArray[np.uint8]:
    """The frame to write: the composed image (RGBA or RGB), or the matte for -f mask."""
    if options.format is OutputFormat.MASK:
        return np.clip(np.rint(cut.alpha * 255), 0, 255).astype(np.uint8)
    return np.asarray(cut.image)
