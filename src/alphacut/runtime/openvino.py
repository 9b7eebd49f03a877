"""OpenVINO backend: the only module that imports openvino.

OpenVINO's CPU plugin runs the same ONNX files as onnxruntime 3-4x faster on CPUs with AMX (and
faster on AVX-512 VNNI ones): docs/PERFORMANCE.md, "Runtimes". The model is read from the ONNX
file, reshaped to each input size it is run at and compiled for this CPU; the compiled models are
kept per input size (a few, least recently used first out), so a repeated size is never recompiled.

Compiled-model cache: with `cache_dir` and `model_hash`, each compiled model is exported
(CompiledModel.export_model) into `<name>.<key>.<H>x<W>.ovblob` there, key = model sha256 + its
file + OpenVINO's version + the compile settings + the CPU's features (kernels.cpu_fingerprint),
and its sha256 recorded beside it, like onnxruntime's optimized graph (runtime/onnx.py). A later
load hashes the file first and imports it only if the bytes match the record: a damaged or
foreign blob is deleted and rebuilt from the model, never loaded. OpenVINO's own CACHE_DIR is not
used: it names its blobs by an internal hash and has no integrity record, so they could not be
checked before loading (and importing our own blob also skips reading the ONNX file: 0.45 s
instead of 0.8 s here).

Privacy: `import openvino` imports its model converter (openvino.tools.ovc), which starts
openvino-telemetry: it writes a client id under ~/intel and sends an "import" event, unless a
consent file under HOME says no. alphacut imports openvino with the converter blocked (_ov()), so
the telemetry package is never imported (tests/unit/package/test_no_telemetry.py checks with strace that
nothing is sent and nothing written under HOME). The converter is not needed to read ONNX files.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import queue
import re
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import BackendError
from ..io.files import hash_record_path, new_temp, record_sha256, recorded_sha256
from .base import BackendInfo
from .kernels import amx_granted, cpu_fingerprint, read_cpu_info

__all__ = ["PRECISIONS", "QUANTIZED_PRECISION", "OpenVinoBackend", "compiled_cache_key", "cpu_support", "isa_name", "openvino_version"]

log = logging.getLogger(__name__)

#: The module whose import starts openvino-telemetry (openvino/__init__.py imports it in a try/except
#: ImportError); blocked while alphacut imports openvino.
_CONVERTER = "openvino.tools.ovc"

#: INFERENCE_PRECISION_HINT values a caller may force. None (the default) is QUANTIZED_PRECISION for a
#: quantized (int8) model, whose int8 layers run int8 whatever the hint: f32 for its other layers was
#: as fast as bf16 with AMX and keeps its mattes closer to onnxruntime's (docs/PERFORMANCE.md,
#: "Runtimes"); for a float model it is OpenVINO's own choice for the CPU: bf16 where the CPU has AMX
#: or AVX-512 BF16 (2.5x f32's speed with AMX), f32 elsewhere on x86.
PRECISIONS = ("f32", "bf16", "f16")
QUANTIZED_PRECISION = "f32"

#: The file format of a cached compiled model: this magic, a 4-byte little-endian header length,
#: a JSON header (what the backend needs to know without reading the ONNX file), OpenVINO's blob.
_MAGIC = b"ACOV1\n"

#: Compiled models kept per backend (one per input size) and blobs kept on disk per model.
MAX_SHAPES = 4
MAX_BLOBS_PER_MODEL = 4


_warned: list[bool] = []  # the telemetry warning is given once per process


def _ov() -> Any:
    """The openvino module, imported without its converter (and so without telemetry)."""
    loaded = sys.modules.get("openvino")
    if loaded is not None:
        if "openvino_telemetry" in sys.modules and not _warned:
            _warned.append(True)
            log.warning("openvino was imported (with its telemetry) before alphacut could import it without: "
                        "import alphacut first, or opt out with openvino_telemetry's opt_in_out --opt_out.")
        return loaded
    blocked = _CONVERTER not in sys.modules
    if blocked:
        sys.modules[_CONVERTER] = None  # type: ignore[assignment]  # import fails -> openvino skips it
    try:
        import openvino
    except ImportError as exc:
        raise BackendError("backend.missing", f"OpenVINO is not installed ({exc}).",
                           hint="pip install openvino, or choose --runtime onnxruntime.") from exc
    except Exception as exc:
        raise BackendError("backend.missing", f"OpenVINO could not be imported: {exc}",
                           hint="Reinstall openvino, or choose --runtime onnxruntime.") from exc
    finally:
        if blocked and sys.modules.get(_CONVERTER, 0) is None:
            del sys.modules[_CONVERTER]  # a later explicit import of the converter works (with its telemetry)
    return openvino


def openvino_version() -> str:
    """OpenVINO's version (e.g. 2026.4.1-22982-...); BackendError when it cannot be imported."""
    return str(_ov().get_version())


def isa_name() -> str:
    """The widest x86 instruction set OpenVINO's CPU plugin (oneDNN) can use here, from cpuid."""
    cpu = read_cpu_info()
    f = cpu.flags
    if f is None:
        return "unknown"
    core512 = {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= f
    if core512 and {"amx_tile", "amx_int8"} <= f and amx_granted() is not False:
        return "AMX (avx512_core_amx)"
    if core512 and "avx512_vnni" in f:
        return "AVX-512 VNNI (avx512_core_vnni)"
    if core512:
        return "AVX-512 (avx512_core)"
    if {"avx2", "fma"} <= f:
        return "AVX2 VNNI (avx2_vnni)" if "avx_vnni" in f else "AVX2 (avx2)"
    return "SSE4.2 or older"


@dataclass(frozen=True, slots=True)
class CpuSupport:
    """Whether OpenVINO runs on this CPU, and how it would by default."""

    ok: bool
    reason: str  # why not, or the device's name
    default_precision: str = ""  # INFERENCE_PRECISION_HINT's default: bf16 / f32 / f16
    capabilities: tuple[str, ...] = ()


def cpu_support() -> CpuSupport:
    """Import OpenVINO and ask its CPU plugin (never raises: a failure is the reason)."""
    try:
        ov = _ov()
        core = ov.Core()
        if "CPU" not in core.available_devices:
            return CpuSupport(False, f"OpenVINO {ov.__version__} finds no CPU device (devices: "
                                     f"{', '.join(core.available_devices) or 'none'})")
        prec = _type_name(core.get_property("CPU", "INFERENCE_PRECISION_HINT"))
        caps = tuple(str(c) for c in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
        return CpuSupport(True, str(core.get_property("CPU", "FULL_DEVICE_NAME")), prec, caps)
    except BackendError as exc:
        return CpuSupport(False, exc.message)
    except Exception as exc:  # noqa: BLE001 - OpenVINO's own errors: the reason to fall back
        return CpuSupport(False, f"OpenVINO's CPU plugin failed: {exc}")


def _type_name(t: Any) -> str:
    """bf16 / f32 / f16 from an openvino Type."""
    text = str(getattr(t, "to_string", lambda: t)())
    return {"bfloat16": "bf16", "float32": "f32", "float16": "f16"}.get(text, text)


def compiled_cache_key(model_hash: str, path: Path, settings: dict[str, Any]) -> str:
    """16 hex digits naming a compiled model: model, its file, OpenVINO, compile settings, CPU."""
    stat = path.stat()
    text = "\n".join([model_hash, f"{stat.st_size}:{stat.st_mtime_ns}", openvino_version(),
                      repr(sorted(settings.items())), cpu_fingerprint()])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: The most infer requests one compiled model keeps (each holds its own input and output buffers).
MAX_REQUESTS = 8


class _Compiled:
    """One compiled model (one input shape) and a fixed pool of infer requests, made up front.

    The requests are all created here, before any run: creating one while another thread's request
    is inside `infer` deadlocked a test run (the creating thread held the GIL waiting for the
    compiled model, the running one waited for the GIL in OpenVINO's input dispatch). A run takes an
    idle request and waits for one when all are busy; the pool has OpenVINO's optimal number of
    requests for the compiled streams (one per stream), and never fewer than `min_requests`.
    """

    def __init__(self, compiled: Any, output_index: int, *, min_requests: int = 1) -> None:
        self.compiled = compiled
        self.output_index = output_index
        try:
            optimal = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        except Exception:  # noqa: BLE001 - a plugin without the property: one request per stream assumed
            optimal = 1
        self._idle: queue.Queue[Any] = queue.Queue()
        for _ in range(max(min_requests, min(optimal, MAX_REQUESTS))):
            self._idle.put(compiled.create_infer_request())

    def run(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        request = self._idle.get()
        try:
            request.infer({0: batch})
            out = np.array(request.get_output_tensor(self.output_index).data, dtype=np.float32, copy=True)
        finally:
            self._idle.put(request)
        return out


class OpenVinoBackend:
    """One OpenVINO model on the CPU plugin; `run` is safe to call from several threads.

    Args:
        path: the ONNX model file.
        threads: INFERENCE_NUM_THREADS (default: all cores).
        precision: INFERENCE_PRECISION_HINT, one of PRECISIONS; None: QUANTIZED_PRECISION for an int8
            model, OpenVINO's default for the CPU for a float one (see PRECISIONS). Quantized (int8)
            layers run int8 either way.
        hint: PERFORMANCE_HINT, "LATENCY" (one stream using every thread: one image at a time) or
            "THROUGHPUT" (several streams: concurrent `run` calls proceed in parallel).
        cache_dir, model_hash: where compiled models are cached (see the module docstring).
        streams: NUM_STREAMS (default: what the hint picks); the server sets it to its workers.
        input_hw: the input size to compile for at once (the model's default size), so that the
            first image does not wait for it; other sizes compile on first use.
        spin_wait: accepted for onnxruntime's signature; OpenVINO's threads do not busy-wait.
        note: why this runtime runs (BackendInfo.note).
    """

    def __init__(self, path: Path, *, output_index: int = 0, threads: int | None = None, name: str | None = None,
                 cache_dir: Path | None = None, model_hash: str | None = None, precision: str | None = None,
                 hint: str = "LATENCY", input_hw: tuple[int, int] | None = None, streams: int | None = None,
                 spin_wait: bool | None = None, note: str = "") -> None:
        del spin_wait
        if precision is not None and precision not in PRECISIONS:
            raise BackendError("backend.load-failed", f"Unknown OpenVINO precision {precision!r}.",
                               hint=f"Choose one of {', '.join(PRECISIONS)}.")
        ov = _ov()
        self._ov = ov
        self._path = Path(path)
        self._name = name or self._path.stem
        self._output_index = output_index
        self._threads = threads or os.cpu_count() or 1
        self._config: dict[str, Any] = {"INFERENCE_NUM_THREADS": self._threads, "PERFORMANCE_HINT": hint.upper()}
        if streams is not None:
            self._config["NUM_STREAMS"] = int(streams)
        if precision is not None:
            self._config["INFERENCE_PRECISION_HINT"] = precision
        self._precision = precision
        self._cache_dir = Path(cache_dir) if cache_dir is not None and model_hash is not None else None
        self._model_hash = model_hash
        self._lock = threading.Lock()
        self._shapes: OrderedDict[tuple[int, ...], _Compiled] = OrderedDict()
        self._model: Any = None  # the ONNX graph, read when a size must be compiled
        self.loaded_from: Path = self._path  # the last file a compiled model came from (model or blob)
        try:
            self._core = ov.Core()
            if "CPU" not in self._core.available_devices:
                raise BackendError("backend.provider-unavailable", "OpenVINO finds no CPU device here.",
                                   hint="Choose --runtime onnxruntime.")
            self._key = (compiled_cache_key(model_hash, self._path, self._settings())
                         if self._cache_dir is not None and model_hash is not None else None)
            header = self._read_header(input_hw)
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError("backend.load-failed", f"OpenVINO could not load {path}: {exc}",
                               hint="The file may not be an ONNX model OpenVINO reads; try --runtime onnxruntime.") from exc
        self._header = header
        dims = header["dims"]
        fixed = (int(dims[2]), int(dims[3])) if len(dims) == 4 and dims[2] is not None and dims[3] is not None else None
        kind = "int8 + " if header["quantized"] else ""
        self._info = BackendInfo(name=self._name, provider="CPU", threads=self._threads, input_name=header["input"],
                                 fixed_size_hw=fixed, runtime=f"openvino {ov.__version__.split('-')[0]}",
                                 precision=f"{kind}{header['precision']}", note=note)
        log.info("openvino %s: loaded %s (%s, %s) with %d threads", ov.__version__, path, self._info.precision,
                 hint, self._threads)

    def _settings(self) -> dict[str, Any]:
        policy = self._precision or f"auto: {QUANTIZED_PRECISION} if quantized"
        return {**{k: str(v) for k, v in self._config.items()}, "precision": policy}

    def _compile_config(self, header: dict[str, Any]) -> dict[str, Any]:
        """The compile (and import) properties: the precision policy applied to this model."""
        if self._precision is None and header["quantized"]:
            return {**self._config, "INFERENCE_PRECISION_HINT": QUANTIZED_PRECISION}
        return self._config

    @property
    def info(self) -> BackendInfo:
        return self._info

    # ------------------------------------------------------------------ model, shapes and the cache

    def _read_model(self) -> Any:
        if self._model is None:
            self._model = self._core.read_model(str(self._path))
            if self._output_index >= len(self._model.outputs):
                raise BackendError("backend.bad-model", f"{self._path} has {len(self._model.outputs)} outputs; "
                                   f"the catalog asks for output {self._output_index}.")
        return self._model

    def _model_header(self) -> dict[str, Any]:
        model = self._read_model()
        inp = model.inputs[0]
        dims = [d.get_length() if d.is_static else None for d in inp.get_partial_shape()]
        quantized = any(op.get_type_name() in ("FakeQuantize", "FakeConvert") for op in model.get_ops())
        return {"input": inp.get_any_name(), "dims": dims, "outputs": len(model.outputs), "quantized": quantized}

    def _read_header(self, input_hw: tuple[int, int] | None) -> dict[str, Any]:
        """What the backend needs to know about the model; compiles (or loads) its default size."""
        shape: tuple[int, ...] | None = None
        tried: tuple[int, ...] | None = None
        if input_hw is not None:
            shape = tried = (1, 3, int(input_hw[0]), int(input_hw[1]))
            entry, header = self._load_blob(shape)
            if entry is not None and header is not None:
                self._shapes[shape] = entry
                return header
        header = self._model_header()
        dims = header["dims"]
        if all(d is not None for d in dims):
            shape = tuple(int(d) for d in dims)  # a fixed-size model: its own size, whatever was asked
        elif shape is not None and (len(dims) != 4 or any(d is not None and d != s for d, s in zip(dims, shape))):
            shape = None  # the model can't take the default size as asked: compile on first run
        if shape is not None:
            cached, cached_header = self._load_blob(shape) if shape != tried else (None, None)
            if cached is not None and cached_header is not None:
                self._shapes[shape] = cached
                return cached_header
            entry = self._compile(shape, header)
            self._shapes[shape] = entry
            header = {**header, "precision": _type_name(entry.compiled.get_property("INFERENCE_PRECISION_HINT"))}
        else:
            prec = (self._compile_config(header).get("INFERENCE_PRECISION_HINT")
                    or self._core.get_property("CPU", "INFERENCE_PRECISION_HINT"))
            header = {**header, "precision": _type_name(prec)}
        return header

    def _blob_path(self, shape: tuple[int, ...]) -> Path | None:
        if self._cache_dir is None or self._key is None:
            return None
        return self._cache_dir / f"{self._name}.{self._key}.{'x'.join(str(s) for s in shape[2:])}.ovblob"

    def _load_blob(self, shape: tuple[int, ...]) -> tuple[_Compiled | None, dict[str, Any] | None]:
        """The compiled model for `shape` from a cached blob whose bytes match their record, else (None, None)
        (a damaged, unrecorded or refused blob is deleted: it is rebuilt)."""
        blob = self._blob_path(shape)
        if blob is None or not blob.is_file():
            return None, None
        expected = recorded_sha256(blob)
        try:
            data = blob.read_bytes()
        except OSError as exc:
            log.warning("compiled model %s can't be read: %s", blob, exc)
            return None, None
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        header: dict[str, Any] | None = None
        if expected is None:
            log.warning("compiled model %s has no hash record; rebuilding it", blob.name)
        elif digest != expected:
            log.warning("compiled model %s is damaged (its bytes hash to %s, %s was recorded); rebuilding it",
                        blob.name, digest, expected)
        else:
            try:
                header, payload = _unpack(data)
                compiled = self._core.import_model(io.BytesIO(payload), "CPU", self._compile_config(header))
                entry = _Compiled(compiled, self._output_index)
            except Exception as exc:  # noqa: BLE001 - a foreign or stale blob is rebuilt
                log.warning("compiled model %s did not load (%s); rebuilding it", blob.name, exc)
            else:
                self.loaded_from = blob
                log.info("openvino: compiled model from %s", blob)
                try:
                    os.utime(blob)  # most recently used: kept when old blobs are pruned
                except OSError:
                    pass
                return entry, header
        drop_cached(blob)
        return None, None

    def _compile(self, shape: tuple[int, ...], header: dict[str, Any]) -> _Compiled:
        """Compile the model for `shape` (reshaped when its input is dynamic) and cache the blob."""
        model = self._read_model()
        if any(d is None for d in header["dims"]):
            model.reshape({model.inputs[0].get_any_name(): list(shape)})
        compiled = self._core.compile_model(model, "CPU", self._compile_config(header))
        self.loaded_from = self._path
        blob = self._blob_path(shape)
        if blob is not None:
            prec = _type_name(compiled.get_property("INFERENCE_PRECISION_HINT"))
            self._save_blob(blob, compiled, {**header, "precision": prec})
        return _Compiled(compiled, self._output_index)

    def _save_blob(self, blob: Path, compiled: Any, header: dict[str, Any]) -> None:
        """Export `compiled` to blob (temp file, hash record first, os.replace); a failure only logs."""
        folder = blob.parent
        tmp: Path | None = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            stream = io.BytesIO()
            compiled.export_model(stream)
            data = _pack(header, stream.getvalue())
            tmp = new_temp(folder, blob.name, ".tmp")
            tmp.write_bytes(data)
            record_sha256(blob, "sha256:" + hashlib.sha256(data).hexdigest())  # a blob without one is rebuilt
            os.replace(tmp, blob)
        except Exception as exc:  # noqa: BLE001 - e.g. a full disk: no cache this time
            log.warning("could not cache the compiled model in %s: %s", folder, exc)
            drop_cached(blob)
            return
        finally:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
        log.info("openvino: saved the compiled model to %s", blob)
        _prune(folder, self._name, keep=blob)

    def _entry(self, shape: tuple[int, ...]) -> _Compiled:
        with self._lock:
            entry = self._shapes.get(shape)
            if entry is not None:
                self._shapes.move_to_end(shape)
                return entry
            dims = self._header["dims"]
            if len(dims) != len(shape) or any(d is not None and d != s for d, s in zip(dims, shape)):
                raise BackendError("backend.bad-input-size",
                                   f"This model takes inputs of shape {dims}, got {list(shape)}.",
                                   hint="Use the model's own resolution, or a dynamic-resolution model variant.")
            try:
                entry, _ = self._load_blob(shape)
                if entry is None:
                    log.info("openvino: compiling %s for %s", self._name, "x".join(map(str, shape[2:])))
                    entry = self._compile(shape, self._header)
            except BackendError:
                raise
            except Exception as exc:
                raise BackendError("backend.load-failed", f"OpenVINO could not compile {self._name} for "
                                   f"{list(shape)}: {exc}") from exc
            self._shapes[shape] = entry
            while len(self._shapes) > MAX_SHAPES:
                self._shapes.popitem(last=False)
            return entry

    # ------------------------------------------------------------------------------------ running

    def run(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        fixed = self._info.fixed_size_hw
        if fixed is not None and tuple(batch.shape[2:]) != fixed:
            h, w = fixed
            raise BackendError("backend.bad-input-size",
                               f"This model takes {w}x{h} inputs only, got {batch.shape[3]}x{batch.shape[2]}.",
                               hint="Use the model's own resolution, or a dynamic-resolution model variant.")
        entry = self._entry(tuple(int(s) for s in batch.shape))
        try:
            result = entry.run(np.ascontiguousarray(batch, dtype=np.float32))
        except Exception as exc:
            raise BackendError("backend.run-failed", f"Inference failed: {exc}") from exc
        if result.ndim == 3:
            result = result[:, None]
        return result

    def run_and_release(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """run(), then hand the compiled model's intermediate buffers back to the system
        (CompiledModel.release_memory), before a large photo's full-resolution steps."""
        out = self.run(batch)
        entry = self._shapes.get(tuple(int(s) for s in batch.shape))
        if entry is not None:
            try:
                entry.compiled.release_memory()
            except Exception as exc:  # noqa: BLE001 - only memory is at stake
                log.debug("openvino: release_memory failed: %s", exc)
        return out


def _pack(header: dict[str, Any], payload: bytes) -> bytes:
    text = json.dumps(header, sort_keys=True).encode()
    return _MAGIC + len(text).to_bytes(4, "little") + text + payload


def _unpack(data: bytes) -> tuple[dict[str, Any], bytes]:
    if not data.startswith(_MAGIC):
        raise ValueError("not an alphacut compiled-model file")
    n = int.from_bytes(data[len(_MAGIC):len(_MAGIC) + 4], "little")
    start = len(_MAGIC) + 4
    header = json.loads(data[start:start + n])
    if not isinstance(header, dict) or not {"input", "dims", "outputs", "quantized", "precision"} <= header.keys():
        raise ValueError("its header is incomplete")
    return header, data[start + n:]


#: The names of cached compiled models: <name>.<16 hex key>.<H>x<W>.ovblob
BLOB_PATTERN = r"\.[0-9a-f]{16}\.[0-9]+x[0-9]+\.ovblob"


def drop_cached(blob: Path) -> None:
    """Delete a cached compiled model and its hash record."""
    blob.unlink(missing_ok=True)
    hash_record_path(blob).unlink(missing_ok=True)


def _prune(folder: Path, name: str, *, keep: Path) -> None:
    """Keep the MAX_BLOBS_PER_MODEL most recently used compiled models of `name` (other threads
    counts, sizes, precisions, OpenVINO versions or CPUs add files; the oldest go)."""
    pattern = re.compile(re.escape(name) + BLOB_PATTERN)
    try:
        blobs = [p for p in folder.iterdir() if pattern.fullmatch(p.name)]
        blobs.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
    except OSError:
        return
    for old in blobs[MAX_BLOBS_PER_MODEL:]:
        if old != keep:
            drop_cached(old)

