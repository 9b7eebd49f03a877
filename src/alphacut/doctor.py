"""What `alphacut doctor` reports: facts a bug report needs, nothing private."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterator
from importlib import metadata
from typing import TYPE_CHECKING

from .config import Settings

if TYPE_CHECKING:
    from .models.store import ModelStore

__all__ = ["cpu_features", "report"]

def cpu_features() -> tuple[str, list[str]]:
    """The CPU model name and which SIMD features that matter to ONNX Runtime it has ("unknown" when
    the flags cannot be read)."""
    from .runtime.kernels import read_cpu_info

    cpu = read_cpu_info()
    return cpu.model, cpu.features if cpu.flags is not None else ["unknown"]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def report(settings: Settings, store: ModelStore) -> Iterator[str]:
    from .runtime.onnx import available_providers

    model, feats = cpu_features()
    from . import __version__

    yield f"alphacut      {__version__}"
    yield f"python        {sys.version.split()[0]} ({platform.platform()})"
    for dist in ("onnxruntime", "openvino", "numpy", "pillow", "scipy"):
        yield f"{dist:<13} {_version(dist)}"
    yield f"cpu           {model}, {os.cpu_count()} cores"
    yield f"cpu features  {', '.join(feats) or 'none of AVX2/AVX-512/VNNI/AMX'}"
    yield from _hidden_lines()
    yield from _kernel_lines()
    yield f"providers     {', '.join(available_providers())}"
    yield from _runtime_lines(settings, store)
    yield f"offline       {settings.offline.value} ({settings.offline.source.value})"
    yield "settings:"
    for name, value, source in settings.as_rows():
        yield f"  {name:<11} {value}  [{source}]"
    yield f"  config file {settings.config_file}{'' if settings.config_file.exists() else ' (none)'}"
    yield f"cache         {store.path(store.catalog.default).parent}"
    for spec, cached in store.entries():
        if cached:
            size = store.path(spec.id).stat().st_size / 1e6
            yield f"  {spec.id:<28} {size:8.1f} MB{'  (default)' if spec.id == store.catalog.default else ''}"
    if not any(cached for _, cached in store.entries()):
        yield "  (no model cached; run `alphacut models fetch`)"


def _runtime_lines(settings: Settings, store: ModelStore) -> Iterator[str]:
    """Which inference runtime runs the default model, in which precision, on which ISA, and why.

    With the default model cached, it is loaded the way a Remover loads it (runtime/choice.py; from
    the compiled-model cache when there is one): what is printed is what runs, fallback included.
    """
    import logging

    from .runtime.choice import load_backend
    from .runtime.openvino import cpu_support, isa_name

    asked = settings.runtime
    yield f"runtime       {asked.value} [{asked.source.value}]"
    support = cpu_support() if asked.value != "onnxruntime" else None
    if support is not None:
        if support.ok:
            caps = ", ".join(support.capabilities)
            yield (f"  openvino    runs here: {support.reason}; default precision {support.default_precision} "
                   f"(capabilities {caps})")
        else:
            yield f"  openvino    not usable: {support.reason}"
    yield f"  isa         {isa_name()} (from cpuid)"
    model_id = str(settings.model.value or store.catalog.default)
    if model_id not in store.catalog.models or not store.is_cached(model_id):
        yield f"  model       {model_id} not cached: `alphacut models fetch` to see what runs it"
        return
    spec = store.catalog.get(model_id)
    quiet = logging.getLogger("alphacut.runtime")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the fallback's WARNING is this report's own line below
    try:
        backend = load_backend(store.path(model_id), runtime=str(asked.value), output_index=spec.output_index,
                               threads=settings.threads.value, name=spec.id, optimized_dir=store.optimized_dir,
                               model_hash=spec.checksum, input_hw=(spec.input_size, spec.input_size))
    except Exception as exc:  # noqa: BLE001 - the report says what failed
        yield f"  runs        {model_id}: FAILED to load ({exc})"
        return
    finally:
        quiet.setLevel(level)
    info = backend.info
    yield f"  runs        {model_id} on {info.runtime}, {info.threads} threads"
    yield f"  precision   {info.precision}"
    yield f"  why         {info.note or '-'}"


def _hidden_lines() -> Iterator[str]:
    """A line naming the features /proc/cpuinfo lists but cpuid hides from this process (a CPU-feature
    mask such as bench/avx2only, or a hypervisor's): onnxruntime then runs without them."""
    from .runtime.kernels import read_cpu_info

    hidden = read_cpu_info().hidden_features
    if hidden:
        yield f"  hidden by cpuid from this process (listed in /proc/cpuinfo): {', '.join(hidden)}"


def _kernel_lines() -> Iterator[str]:
    """Which kernels ONNX Runtime's CPU provider will use here, and what that means for the models."""
    from .runtime.kernels import amx_granted, fast_resolution, int8_dot_products, onnx_kernels, read_cpu_info

    cpu = read_cpu_info()
    yield "onnxruntime kernels (CPU provider, chosen from cpuid; no option overrides them):"
    for k in onnx_kernels(cpu, amx=amx_granted() if cpu.flags is not None else None):
        yield f"  {k.work:<15} {k.kernel}" + (f"  ({k.note})" if k.note else "")
    side = fast_resolution(cpu)
    why = {True: "int8 dot products here", False: "no int8 dot products (VNNI/AMX) here",
           None: "CPU features unknown"}[int8_dot_products(cpu)]
    yield f"  --fast runs the model at {side} px ({why})"
