"""Which inference runtime runs a model: OpenVINO or onnxruntime, chosen by the `runtime` setting.

"auto" (the default) runs OpenVINO where it is installed and runs on this CPU: on the CPUs measured
it is as fast or faster than onnxruntime on the same file (3x with AMX; docs/PERFORMANCE.md,
"Runtimes"), with mattes within 1/255. When it is missing or fails (import, no CPU device, the model
does not compile), "auto" falls back to onnxruntime with one WARNING line, and the reason is kept in
BackendInfo.note (`alphacut doctor` shows it). "openvino" asked explicitly never falls back: its
failure is the BackendError. Other execution providers than the CPU's (e.g. CUDA) are onnxruntime's.

This module imports neither runtime itself; runtime/openvino.py and runtime/onnx.py do, on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BackendError

if TYPE_CHECKING:
    from .base import Backend

__all__ = ["load_backend", "openvino_cache_dir"]

log = logging.getLogger(__name__)


def openvino_cache_dir(optimized_dir: Path) -> Path:
    """Where OpenVINO's compiled models are cached: a sibling of onnxruntime's optimized graphs."""
    return optimized_dir.parent / "compiled"


def load_backend(path: Path, *, runtime: str = "auto", output_index: int = 0, threads: int | None = None,
                 providers: Sequence[str] | None = None, name: str | None = None,
                 optimized_dir: Path | None = None, model_hash: str | None = None, spin_wait: bool | None = None,
                 input_hw: tuple[int, int] | None = None, precision: str | None = None,
                 hint: str = "LATENCY", concurrency: int = 1) -> Backend:
    """The backend for `path` on the runtime the setting names ("auto", "openvino", "onnxruntime").

    optimized_dir: onnxruntime's optimized-graph cache; OpenVINO's compiled models go beside it
    (openvino_cache_dir). precision and hint are OpenVINO's (runtime/openvino.py).
    concurrency: how many `run` calls the caller makes at once (the server's workers), each with
    `threads` threads. onnxruntime runs concurrent calls on one session in parallel as it is; OpenVINO
    runs one request per stream, so it gets `concurrency` streams (PERFORMANCE_HINT THROUGHPUT) over
    threads x concurrency threads: never slower than one stream with every thread, and faster when
    the cores are contended (docs/studies/runtimes.md, "Throughput (server, batch)").
    """
    if runtime not in ("auto", "openvino", "onnxruntime"):
        raise BackendError("backend.load-failed", f"Unknown runtime {runtime!r}.",
                           hint="Choose auto, openvino or onnxruntime.")
    other_provider = bool(providers) and list(providers or []) != ["CPUExecutionProvider"]
    if runtime == "openvino" and other_provider:
        raise BackendError("backend.provider-unavailable",
                           f"Execution providers {', '.join(providers or [])} are onnxruntime's, not OpenVINO's.",
                           hint="Use --runtime onnxruntime with them.")
    note = ""
    ov_threads, streams = threads, None
    if concurrency > 1:
        import os

        hint = "THROUGHPUT"
        ov_threads = (threads or max(1, (os.cpu_count() or 1) // concurrency)) * concurrency
        streams = concurrency
    if runtime == "openvino" or (runtime == "auto" and not other_provider):
        why = ("chosen by the runtime setting" if runtime == "openvino"
               else "auto: OpenVINO is installed and runs on this CPU")
        try:
            return _openvino(path, output_index=output_index, threads=ov_threads, name=name,
                             optimized_dir=optimized_dir, model_hash=model_hash, input_hw=input_hw,
                             precision=precision, hint=hint, note=why, streams=streams)
        except BackendError as exc:
            if runtime == "openvino":
                raise
            note = f"OpenVINO not used: {exc.message}"
            log.warning("%s; running %s on onnxruntime instead.", note, name or Path(path).stem)
    elif runtime == "auto":
        note = f"auto: execution providers {', '.join(providers or [])} asked for (onnxruntime's)"
    else:
        note = "chosen by the runtime setting"
    from .onnx import OnnxBackend

    return OnnxBackend(path, output_index=output_index, threads=threads, providers=providers, name=name,
                       optimized_dir=optimized_dir, model_hash=model_hash, spin_wait=spin_wait, note=note)


def _openvino(path: Path, *, output_index: int, threads: int | None, name: str | None,
              optimized_dir: Path | None, model_hash: str | None, input_hw: tuple[int, int] | None,
              precision: str | None, hint: str, note: str, streams: int | None) -> Backend:
    from .openvino import OpenVinoBackend

    return OpenVinoBackend(path, output_index=output_index, threads=threads, name=name,
                           cache_dir=openvino_cache_dir(optimized_dir) if optimized_dir is not None else None,
                           model_hash=model_hash, input_hw=input_hw, precision=precision, hint=hint,
                           note=note, streams=streams)
