"""Checks of the files in the model store (models/store.py): an added file's first bytes, and the
optimized graphs (runtime/onnx.py) and compiled models (runtime/openvino_cache.py) derived from a
model against the hashes recorded when they were written (``alphacut models verify``)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ..errors import ModelError
from ..io.files import hash_record_path, recorded_sha256, sha256_file

__all__ = ["check_onnx_file", "check_optimized", "optimized_files"]

log = logging.getLogger("alphacut.models.store")  # the store's messages, as before the split

_ONNX_FIRST_BYTES = frozenset({0x08, 0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72, 0xA2, 0xCA})

def check_onnx_file(file: Path) -> None:
    if not file.is_file():
        raise ModelError("model.bad-file", f"{file} does not exist or is not a file.")
    with file.open("rb") as f:
        head = f.read(16)
    if not head:
        raise ModelError("model.bad-file", f"{file} is empty.")
    if head[0] not in _ONNX_FIRST_BYTES:
        raise ModelError("model.bad-file", f"{file} does not look like an ONNX model (it starts with "
                                           f"{head[:8]!r}).", hint="Export your network to .onnx first.")


def optimized_files(optimized_dir: Path, compiled_dir: Path, model_id: str) -> list[Path]:
    """onnxruntime's optimized graphs and OpenVINO's compiled models of this model."""
    graphs = [p for p in optimized_dir.glob(f"{model_id}.*.onnx")
              if re.fullmatch(re.escape(model_id) + r"\.[0-9a-f]{16}\.onnx", p.name)]
    blobs = [p for p in compiled_dir.glob(f"{model_id}.*.ovblob")
             if re.fullmatch(re.escape(model_id) + r"\.[0-9a-f]{16}\.[0-9]+x[0-9]+\.ovblob", p.name)]
    return sorted(graphs + blobs)


def check_optimized(optimized_dir: Path, compiled_dir: Path, model_id: str) -> tuple[Path, ...]:
    """Optimized graphs whose bytes don't match their recorded hash, deleted. Graphs without a
    record (written before records existed) can't be checked: deleted too, not counted as bad;
    the next load rebuilds either."""
    bad = []
    for p in optimized_files(optimized_dir, compiled_dir, model_id):
        expected = recorded_sha256(p)
        damaged = expected is not None and sha256_file(p) != expected
        if expected is None or damaged:
            p.unlink(missing_ok=True)
            hash_record_path(p).unlink(missing_ok=True)
        if damaged:
            log.warning("optimized graph / compiled model %s does not match its recorded hash %s; deleted",
                        p, expected)
            bad.append(p)
        elif expected is None:
            log.info("optimized graph / compiled model %s has no hash record; deleted (rebuilt on the next load)", p)
    return tuple(bad)
