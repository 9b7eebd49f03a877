"""What `alphacut doctor` reports: facts a bug report needs, nothing private."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings

if TYPE_CHECKING:
    from .models.store import ModelStore

__all__ = ["cpu_features", "report"]

_FEATURES = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16",
             "avx_vnni", "amx_tile")


def cpu_features() -> tuple[str, list[str]]:
    """The CPU model name and which SIMD features that matter to ONNX Runtime it has."""
    model, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("unknown", "", "x86_64"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    return model, [f for f in _FEATURES if f in flags]


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
    for dist in ("onnxruntime", "numpy", "pillow", "scipy"):
        yield f"{dist:<13} {_version(dist)}"
    yield f"cpu           {model}, {os.cpu_count()} cores"
    yield f"cpu features  {', '.join(feats) or 'none detected'}"
    yield f"providers     {', '.join(available_providers())}"
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
