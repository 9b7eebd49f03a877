"""The video extra's third-party modules (PyAV, OpenCV), imported on first use with a clear error."""

from __future__ import annotations

from types import ModuleType

from ..errors import BackendError

_HINT = "Install the video extra: pip install 'alphacut[video]'"


def require_av() -> ModuleType:
    """The `av` module (PyAV), or BackendError backend.missing-extra naming the extra."""
    try:
        import av
    except ImportError as exc:
        raise BackendError("backend.missing-extra", "Video needs PyAV (the `av` package), which is not installed.",
                           hint=_HINT) from exc
    return av


def require_cv2() -> ModuleType:
    """The `cv2` module (opencv-python-headless), or BackendError backend.missing-extra."""
    try:
        import cv2
    except ImportError as exc:
        raise BackendError("backend.missing-extra",
                           "Video needs OpenCV (opencv-python-headless), which is not installed.",
                           hint=_HINT) from exc
    return cv2
