"""A Backend built in a background thread, so model loading overlaps imports and decoding."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from .base import Backend, BackendInfo

__all__ = ["BackgroundBackend"]


class BackgroundBackend:
    """Runs `build` in its own thread at once; `info`, `run` and `wait` block until it is done.

    A failure while building is raised, unchanged, by every later `info`, `run` or `wait` call:
    nothing falls back to another backend. Safe to use from several threads.

    Example:
        >>> from alphacut.runtime.fake import FakeBackend
        >>> backend = BackgroundBackend(lambda: FakeBackend(), name="fake")
        >>> backend.wait().info.name
        'fake'
    """

    def __init__(self, build: Callable[[], Backend], *, name: str) -> None:
        self._future: Future[Backend] = Future()
        # Not a daemon: a process that exits early still lets onnxruntime finish, never kills it midway.
        self._thread = threading.Thread(target=self._build, args=(build,), name=f"alphacut-load-{name}")
        self._thread.start()

    def _build(self, build: Callable[[], Backend]) -> None:
        try:
            self._future.set_result(build())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits, not swallowed
            self._future.set_exception(exc)

    @property
    def done(self) -> bool:
        """True once the backend is built or has failed (never blocks)."""
        return self._future.done()

    def wait(self) -> Backend:
        """The built backend; raises what building raised."""
        return self._future.result()

    @property
    def info(self) -> BackendInfo:
        return self.wait().info

    def run(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        return self.wait().run(batch)

    def run_and_release(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """The built backend's run_and_release if it has one (see Backend), else its run."""
        backend = self.wait()
        release = getattr(backend, "run_and_release", None)
        return release(batch) if release is not None else backend.run(batch)
