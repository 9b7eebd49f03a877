"""The Backend protocol: what the pipeline needs from an inference engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

__all__ = ["Backend", "BackendInfo"]


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """What a backend runs on, for logs, `Cutout.info` and `alphacut doctor`."""

    name: str
    provider: str
    threads: int | None
    input_name: str
    fixed_size_hw: tuple[int, int] | None  # None when the graph accepts any spatial size
    runtime: str = ""  # the inference runtime and its version, e.g. "openvino 2026.4.1", "onnxruntime 1.32.0"
    precision: str = ""  # what the arithmetic runs in, e.g. "int8 + bf16" (int8 layers, the rest bf16), "f32"
    #: why this runtime runs (e.g. the reason OpenVINO was not used when it was the default's choice)
    note: str = ""


@runtime_checkable
class Backend(Protocol):
    """Runs the model: NCHW float32 batch in, N×1×H×W float32 matte out (before activation).

    A backend may also offer `run_and_release(batch)`: run, then return its cached working memory
    to the system (OnnxBackend and OpenVinoBackend do); the pipeline uses it, when present, before a
    large photo's full-resolution steps. runtime/choice.load_backend builds the one the settings name.
    """

    @property
    def info(self) -> BackendInfo: ...

    def run(self, batch: NDArray[np.float32]) -> NDArray[np.float32]: ...
