"""ONNX Runtime backend: the only module that imports onnxruntime."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import BackendError
from ..io.files import hash_record_path, new_temp, record_sha256, recorded_sha256, sha256_file
from .base import BackendInfo
from .kernels import cpu_fingerprint as _cpu_fingerprint

__all__ = ["OnnxBackend", "available_providers", "optimized_cache_key"]

log = logging.getLogger(__name__)


#: onnxruntime (1.32) opens a telemetry event store (~/.cache/Microsoft/DeveloperTools/.onnxruntime/
#: onnxruntime.db, with a device id) in every process that creates a session, unless this variable
#: is set before it is imported; disable_telemetry_events() does not stop the store. alphacut
#: promises no telemetry: every entry point (library, CLI, server, batch/video/Ray workers) imports
#: onnxruntime through _ort(), which sets it unless the user set it. Child processes inherit it.
TELEMETRY_ENV = "ORT_DISABLE_TELEMETRY"

#: What the CPU provider computes in: int8 in a quantized model's integer operators, f32 for the rest
#: (an fp16 file's weights are converted to f32 too).
PRECISION = "int8 where quantized, else f32"


def _ort() -> Any:
    import sys

    if "onnxruntime" not in sys.modules:
        os.environ.setdefault(TELEMETRY_ENV, "1")
    elif os.environ.get(TELEMETRY_ENV) is None:
        log.warning("onnxruntime was imported before alphacut could set %s=1: its telemetry store may be "
                    "written. Set %s=1 in the environment, or import alphacut first.", TELEMETRY_ENV, TELEMETRY_ENV)
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - onnxruntime is a hard dependency
        raise BackendError("backend.missing", "onnxruntime is not installed.",
                           hint="pip install onnxruntime") from exc
    return onnxruntime


def available_providers() -> list[str]:
    """Execution providers this onnxruntime build offers."""
    return list(_ort().get_available_providers())


def optimized_cache_key(model_hash: str, path: Path, settings: dict[str, Any]) -> str:
    """16 hex digits naming an optimized graph: model, its file, onnxruntime, session settings, CPU."""
    stat = path.stat()
    text = "\n".join([model_hash, f"{stat.st_size}:{stat.st_mtime_ns}", str(_ort().__version__),
                      repr(sorted(settings.items())), _cpu_fingerprint()])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class OnnxBackend:
    """One InferenceSession over one model file; `run` is safe to call from several threads.

    With `optimized_dir` and `model_hash`, the graph optimized by onnxruntime (ORT_ENABLE_ALL) is
    saved there on first load, as `<name>.<key>.onnx`, and later loads read it with optimizations
    off: session creation takes about half the CPU time (docs/PERFORMANCE.md, cold start). The key
    changes with the model, its file, onnxruntime's version, the session settings and the CPU, so
    a stale file is never used; files of the same name with another key are deleted. The file is
    written under a temporary name and moved into place with os.replace, and its sha256 recorded
    beside it (`.onnx.sha256`). Every load hashes it again first: a file without a record or whose
    bytes changed is deleted and rebuilt from the model (which the store verifies the same way),
    so a damaged cache is never run.

    `spin_wait` False stops onnxruntime's intra-op threads from busy-waiting between the graph's
    parallel steps (session option `session.intra_op.allow_spinning` = 0); None keeps onnxruntime's
    default (they spin). Spinning threads hold cores that other threads of the process (a batch's
    decode and finish stages) or other processes need: `alphacut remove` turns it off (docs/PERFORMANCE.md,
    "`--fast`'s whole process, round s18"). It does not change the graph, so it is not part of the cache key.
    """

    def __init__(self, path: Path, *, output_index: int = 0, threads: int | None = None,
                 providers: Sequence[str] | None = None, name: str | None = None,
                 optimized_dir: Path | None = None, model_hash: str | None = None,
                 spin_wait: bool | None = None, note: str = "") -> None:
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
        self._spin_wait = spin_wait  # _options_like does not copy config entries: _load_checked sets it again
        _set_spin_wait(opts, spin_wait)
        self.loaded_from = Path(path)  # the file the session was built from (the model or its optimized copy)
        self._session: Any = None
        if optimized_dir is not None and model_hash is not None and wanted == ["CPUExecutionProvider"]:
            settings = {"level": "all", "threads": n_threads, "mem_pattern": False, "providers": tuple(wanted)}
            self._session = self._load_optimized(ort, Path(path), opts, wanted, Path(optimized_dir),
                                                 name or Path(path).stem, model_hash, settings)
        if self._session is None:
            self._session = _session(ort, Path(path), opts, wanted)
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
                                 threads=n_threads, input_name=self._input_name, fixed_size_hw=fixed,
                                 runtime=f"onnxruntime {ort.__version__}", precision=PRECISION, note=note)
        log.info("onnxruntime %s: loaded %s on %s with %d threads", ort.__version__, path,
                 self._info.provider, n_threads)

    def _load_optimized(self, ort: Any, path: Path, opts: Any, providers: list[str], folder: Path, name: str,
                        model_hash: str, settings: dict[str, Any]) -> Any:
        """A session from the cached optimized graph, or one that writes it; None if the cache can't be used."""
        key = optimized_cache_key(model_hash, path, settings)
        cached = folder / f"{name}.{key}.onnx"
        if cached.is_file():
            session = _load_checked(ort, cached, opts, providers, self._spin_wait)
            if session is not None:
                self.loaded_from = cached
                log.info("onnxruntime: optimized graph from %s", cached)
                return session
            log.warning("rebuilding the optimized graph %s from %s", cached.name, path)
            _drop_cached(cached)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("not caching the optimized graph: %s", exc)
            return None
        try:
            tmp = new_temp(folder, f"{name}.{key}", ".tmp")
        except OSError as exc:
            log.warning("not caching the optimized graph: %s", exc)
            return None
        opts.optimized_model_filepath = str(tmp)
        try:
            session = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
        except Exception as exc:  # noqa: BLE001 - e.g. a full disk; the caller loads without the cache
            log.warning("could not save the optimized graph to %s: %s", folder, exc)
            return None
        else:
            if tmp.is_file() and tmp.stat().st_size > 0:
                try:
                    record_sha256(cached, sha256_file(tmp))  # the record first: a file without one is rebuilt
                    os.replace(tmp, cached)
                except Exception as exc:  # noqa: BLE001 - e.g. a full disk: no cache this time
                    log.warning("could not save the optimized graph to %s: %s", folder, exc)
                    _drop_cached(cached)
                    return session
                log.info("onnxruntime: saved the optimized graph to %s", cached)
                stale = re.compile(re.escape(name) + r"\.[0-9a-f]{16}\.onnx")
                for old in folder.iterdir():
                    if old != cached and stale.fullmatch(old.name):
                        _drop_cached(old)
            return session
        finally:
            opts.optimized_model_filepath = ""
            tmp.unlink(missing_ok=True)

    @property
    def info(self) -> BackendInfo:
        return self._info

    def run_and_release(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """run(), then hand the CPU arena's free chunks (ISNet's activations, hundreds of MB) back to
        the system (run option "memory.enable_memory_arena_shrinkage"), so that a large photo's
        full-resolution steps reuse that memory. The next run grows the arena again: ~0.1 s of CPU,
        so the pipeline asks for it only before large photos (pipeline.RELEASE_ARENA_MIN_PIXELS).
        24 MP PNG cutout: peak RSS 1049-1120 -> 761 MiB (docs/PERFORMANCE.md, "Memory")."""
        return self.run(batch, release_arena=True)

    def run(self, batch: NDArray[np.float32], *, release_arena: bool = False) -> NDArray[np.float32]:
        if self._info.fixed_size_hw is not None and tuple(batch.shape[2:]) != self._info.fixed_size_hw:
            h, w = self._info.fixed_size_hw
            raise BackendError("backend.bad-input-size",
                               f"This model takes {w}x{h} inputs only, got {batch.shape[3]}x{batch.shape[2]}.",
                               hint="Use the model's own resolution, or a dynamic-resolution model variant.")
        try:
            run_options = None
            if release_arena and self._info.provider == "CPUExecutionProvider":
                run_options = _ort().RunOptions()
                run_options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
            out = self._session.run([self._output_name], {self._input_name: batch}, run_options)[0]
        except Exception as exc:
            raise BackendError("backend.run-failed", f"Inference failed: {exc}") from exc
        result: NDArray[np.float32] = np.asarray(out, dtype=np.float32)
        if result.ndim == 3:
            result = result[:, None]
        return result


def _session(ort: Any, path: Path, opts: Any, providers: list[str]) -> Any:
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        raise BackendError("backend.load-failed", f"onnxruntime could not load {path}: {exc}",
                           hint="The file may not be an ONNX model, or needs a newer onnxruntime.") from exc


def _load_checked(ort: Any, cached: Path, opts: Any, providers: list[str], spin_wait: bool | None = None) -> Any:
    """A session from an optimized graph whose bytes match their record (hashed first), or None when
    there is no record, the bytes differ or onnxruntime refuses it."""
    expected = recorded_sha256(cached)
    if expected is None:
        log.warning("optimized graph %s has no hash record", cached)
        return None
    try:
        digest = sha256_file(cached)
    except OSError as exc:
        log.warning("optimized graph %s can't be read: %s", cached, exc)
        return None
    if digest != expected:
        log.warning("optimized graph %s is damaged: its bytes hash to %s, %s was recorded", cached, digest, expected)
        return None
    fast = _options_like(ort, opts)
    _set_spin_wait(fast, spin_wait)
    fast.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        return ort.InferenceSession(str(cached), sess_options=fast, providers=providers)
    except Exception as exc:  # noqa: BLE001 - a bad cache entry is deleted and rebuilt
        log.warning("optimized graph %s did not load (%s)", cached, exc)
        return None


#: The session option that lets intra-op threads busy-wait for work ("1", onnxruntime's default) or not ("0").
SPIN_ENTRY = "session.intra_op.allow_spinning"


def _set_spin_wait(opts: Any, spin_wait: bool | None) -> None:
    """Set SPIN_ENTRY on session options (None: leave onnxruntime's default)."""
    if spin_wait is not None:
        opts.add_session_config_entry(SPIN_ENTRY, "1" if spin_wait else "0")


def _drop_cached(cached: Path) -> None:
    """Delete an optimized graph and its hash record."""
    cached.unlink(missing_ok=True)
    hash_record_path(cached).unlink(missing_ok=True)


def _options_like(ort: Any, opts: Any) -> Any:
    """A copy of the session options that matter here."""
    new = ort.SessionOptions()
    for attr in ("graph_optimization_level", "intra_op_num_threads", "inter_op_num_threads", "execution_mode",
                 "log_severity_level", "enable_mem_pattern"):
        setattr(new, attr, getattr(opts, attr))
    return new
