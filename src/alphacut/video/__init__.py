"""Video: whole clips cut out with steady mattes (the `video` extra: PyAV + OpenCV).

`alphacut.remove_video(...)` is the whole-file job (the older spelling `alphacut.video(...)`, the
module called like a function, still works with a DeprecationWarning):

Example:
    >>> import alphacut
    >>> alphacut.remove_video("talk.mp4", "talk.webm")               # VP9 with alpha, sound kept
    >>> alphacut.remove_video("talk.mp4", "talk.mp4", bg="green")     # H.264 on chroma-key green
    >>> cutter = alphacut.video.FrameCutter(alphacut.Remover())     # frames in, cutouts out
    >>> for cutout in cutter.cut_all(frames): ...

PyAV and OpenCV are imported when a clip is first opened (numpy here); without them the job raises
BackendError backend.missing-extra naming `pip install 'alphacut[video]'`.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .job import FrameCutter, VideoOptions, VideoReport, cut_video
from .steady import MatteStabilizer, SteadyOptions

if TYPE_CHECKING:
    from ..api import Remover

__all__ = [
    "FrameCutter", "MatteStabilizer", "SteadyOptions", "VideoOptions", "VideoReport", "cut_video", "remove_video", "video",
]


def remove_video(source: str | Path, output: str | Path, *, model: str | None = None, remover: Remover | None = None,
          steady: bool = True, keyframes: int = 1, audio: bool = True, overwrite: bool = False,
          skip_existing: bool = False, on_progress: Callable[[int, int | None], None] | None = None,
          **options: Any) -> VideoReport:
    """Cut out every frame of `source` into `output`: a folder/ of PNGs, .webm, .mov or .mp4.

    `options` are the user-facing image options (bg="green"/"#fff"/"blur", bg_image=..., refine=,
    decontaminate=, format="mask", resolution=, ...) parsed like the CLI's; frame-size options are
    refused. `keyframes`=N runs the network on every Nth frame and carries the matte between by flow.
    """
    from ._deps import require_av, require_cv2

    require_av()
    require_cv2()
    from ..api import Remover
    from ..options import Options
    from .job import CHROMA_GREEN

    if str(options.get("bg") or "").strip().lower() == "green":
        options["bg"] = CHROMA_GREEN.hex()
    opts = Options.from_user(**options)
    remover = remover or Remover(model, opts)
    vopts = VideoOptions(steady=SteadyOptions(enabled=steady, keyframe_interval=keyframes), audio=audio,
                         overwrite=overwrite, skip_existing=skip_existing)
    return cut_video(source, output, remover, opts, vopts, on_progress=on_progress)


def video(source: str | Path, output: str | Path, **kwargs: Any) -> VideoReport:
    """Deprecated spelling of remove_video()."""
    _deprecated()
    return remove_video(source, output, **kwargs)


def _deprecated() -> None:
    import warnings

    warnings.warn("alphacut.video(...) is now alphacut.remove_video(...); the old spelling will be removed.",
                  DeprecationWarning, stacklevel=3)


class _CallableModule(types.ModuleType):
    """`alphacut.video(...)` (deprecated) runs remove_video(); `alphacut.video.X` is the package's X."""

    def __call__(self, source: str | Path, output: str | Path, **kwargs: Any) -> VideoReport:
        _deprecated()
        return remove_video(source, output, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
