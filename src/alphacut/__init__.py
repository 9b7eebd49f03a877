"""alphacut: background removal that runs entirely on your own hardware.

`import alphacut` is cheap: the names that need numpy, Pillow, scipy or onnxruntime (Remover,
remove, Cutout, CutoutInfo) are imported on first use (PEP 562), so a script or the CLI pays
only for what it touches.

Example:
    >>> import alphacut
    >>> alphacut.remove("photo.jpg").save("photo.png")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import AlphacutError, BackendError, InputError, ModelError, OptionsError, OutputError
from .options import Background, BackgroundKind, Color, Options, OutputFormat

if TYPE_CHECKING:
    from .api import Remover, remove
    from .pipeline import Cutout, CutoutInfo
    from .video import remove_video

__version__ = "0.1.0"

__all__ = [
    "AlphacutError",
    "BackendError",
    "Background",
    "BackgroundKind",
    "Color",
    "Cutout",
    "CutoutInfo",
    "InputError",
    "ModelError",
    "Options",
    "OptionsError",
    "OutputError",
    "OutputFormat",
    "Remover",
    "__version__",
    "remove",
    "remove_video",
    "video",
]

# name -> module that defines it, imported when the name is first looked up
_LAZY = {"Remover": "api", "remove": "api", "Cutout": "pipeline", "CutoutInfo": "pipeline", "remove_video": "video"}


def _video_module() -> Any:
    """alphacut.video: the video package (still callable as alphacut.video(...), deprecated: remove_video)."""
    import importlib

    return importlib.import_module(".video", __name__)


def __getattr__(name: str) -> Any:
    if name == "video":
        return _video_module()
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'alphacut' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
