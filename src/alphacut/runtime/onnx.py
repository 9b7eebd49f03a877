"""ONNX Runtime backend: the only module that imports onnxruntime."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import BackendError
from .base import BackendInfo

__all__ = ["OnnxBackend", "available_providers", "runtime_version"]

log = logging.getLogger(__name__)


def _ort():  # type: ignore[no-untyped-def]
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - onnxruntime is a hard dependency
        raise BackendError("backend.missing", "onnxruntime is not installed.",
                           hint="pip install onnxruntime") from exc
    return onnxruntime


def available_providers() -> list[str]:
    """Execution providers this onnxruntime build offers."""
    return list(_ort().get_available_providers())


def runtime_version() -> str:
    return str(_ort().__version__)


class OnnxBackend:
    """One InferenceSession over one model file; `run` is safe to call from several threads."""

    def __init__(self, path: Path, *, output_index: int = 0, threads: int | None = None,
                 providers: Sequence[str] | None = None, name: str | None = None) -> None:
        ort = _ort()
        wanted = list(providers) if providers else ["CPUExecutionProvider"]
        have = ort.get_available_providers()
        missing = [p for p in wanted if p not in have]
        if missing:
            raise BackendError(
                "backend.provider-unavailable",
                f"Execution provider {', '.join(missing)} is not available in this onnxruntime build.",
                hint=f"Available: {', '.join(have)}. Install the onnxruntime package built for it "
                     "(e.g. onnxruntime-gpu) or choose another provider.")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        n_threads = threads or os.cpu_count() or 1
        opts.intra_op_num_threads = n_threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        # No memory pattern: it pre-plans one big block for every activation of ISNet and keeps it;
        # without it peak RSS drops (fp32 weights: 24 MP cutout 1566 -> 1429 MiB) at the same speed.
        # The CPU arena stays on: turning it off too saves more memory but costs 25-34% of the
        # inference speed on these CPUs (docs/PERFORMANCE.md).
        opts.enable_mem_pattern = False
        try:
            self._session = ort.InferenceSession(str(path), sess_options=opts, providers=wanted)
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
            raise BackendError("backend.load-failed", f"onnxruntime could not load {path}: {exc}",
                               hint="The file may not be an ONNX model, or needs a newer onnxruntime.") from exc
        inputs = self._session.get_inputs()
        outputs = self._session.get_outputs()
        if output_index >= len(outputs):
            raise BackendError("backend.bad-model",
                               f"{path} has {len(outputs)} outputs; the catalog asks for output {output_index}.")
        self._input_name = inputs[0].name
        self._output_name = outputs[output_index].name
        shape = inputs[0].shape
        fixed: tuple[int, int] | None = None
        if len(shape) == 4 and isinstance(shape[2], int) and isinstance(shape[3], int):
            fixed = (shape[2], shape[3])
        self._info = BackendInfo(name=name or Path(path).stem,
                                 provider=self._session.get_providers()[0],
                                 threads=n_threads, input_name=self._input_name, fixed_size_hw=fixed)
        log.info("onnxruntime %s: loaded %s on %s with %d threads", ort.__version__, path,
                 self._info.provider, n_threads)

    @property
    def info(self) -> BackendInfo:
        return self._info

    def run(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        if self._info.fixed_size_hw is not None and tuple(batch.shape[2:]) != self._info.fixed_size_hw:
            h, w = self._info.fixed_size_hw
            raise BackendError("backend.bad-input-size",
                               f"This model takes {w}x{h} inputs only, got {batch.shape[3]}x{batch.shape[2]}.",
                               hint="Use the model's own resolution, or a dynamic-resolution model variant.")
        try:
            out = self._session.run([self._output_name], {self._input_name: batch})[0]
        except Exception as exc:
            raise BackendError("backend.run-failed", f"Inference failed: {exc}") from exc
        result: NDArray[np.float32] = np.asarray(out, dtype=np.float32)
        if result.ndim == 3:
            result = result[:, None]
        return result
