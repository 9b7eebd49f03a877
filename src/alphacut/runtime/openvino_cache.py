"""The on-disk cache of OpenVINO's compiled models (runtime/openvino.py): the .ovblob file format,
its hash-checked read and atomic write, and the pruning of old blobs.

This module does not import openvino: it only handles bytes (runtime/openvino.py exports and imports
the compiled models). Its log messages go to runtime.openvino's logger, as before the split.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from ..io.files import hash_record_path, new_temp, record_sha256, recorded_sha256

__all__ = ["BLOB_PATTERN", "MAX_BLOBS_PER_MODEL", "drop_cached", "pack", "prune", "read_checked", "unpack",
           "write_blob"]

log = logging.getLogger("alphacut.runtime.openvino")

#: The file format of a cached compiled model: this magic, a 4-byte little-endian header length,
#: a JSON header (what the backend needs to know without reading the ONNX file), OpenVINO's blob.
_MAGIC = b"ACOV1\n"

#: Blobs kept on disk per model.
MAX_BLOBS_PER_MODEL = 4

#: The names of cached compiled models: <name>.<16 hex key>.<H>x<W>.ovblob
BLOB_PATTERN = r"\.[0-9a-f]{16}\.[0-9]+x[0-9]+\.ovblob"


def pack(header: dict[str, Any], payload: bytes) -> bytes:
    text = json.dumps(header, sort_keys=True).encode()
    return _MAGIC + len(text).to_bytes(4, "little") + text + payload


def unpack(data: bytes) -> tuple[dict[str, Any], bytes]:
    if not data.startswith(_MAGIC):
        raise ValueError("not an alphacut compiled-model file")
    n = int.from_bytes(data[len(_MAGIC):len(_MAGIC) + 4], "little")
    start = len(_MAGIC) + 4
    header = json.loads(data[start:start + n])
    if not isinstance(header, dict) or not {"input", "dims", "outputs", "quantized", "precision"} <= header.keys():
        raise ValueError("its header is incomplete")
    return header, data[start + n:]


def read_checked(blob: Path) -> bytes | None:
    """The bytes of `blob` if they match their hash record, else None (logged; a damaged or unrecorded
    blob is left for the caller to drop; an unreadable one is left alone)."""
    expected = recorded_sha256(blob)
    try:
        data = blob.read_bytes()
    except OSError as exc:
        log.warning("compiled model %s can't be read: %s", blob, exc)
        return None
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if expected is None:
        log.warning("compiled model %s has no hash record; rebuilding it", blob.name)
    elif digest != expected:
        log.warning("compiled model %s is damaged (its bytes hash to %s, %s was recorded); rebuilding it",
                    blob.name, digest, expected)
    else:
        return data
    drop_cached(blob)
    return None


def write_blob(blob: Path, header: dict[str, Any], payload: bytes) -> bool:
    """Write pack(header, payload) to blob (temp file, hash record first, os.replace); a failure only
    logs and returns False."""
    folder = blob.parent
    tmp: Path | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        data = pack(header, payload)
        tmp = new_temp(folder, blob.name, ".tmp")
        tmp.write_bytes(data)
        record_sha256(blob, "sha256:" + hashlib.sha256(data).hexdigest())  # a blob without one is rebuilt
        os.replace(tmp, blob)
    except Exception as exc:  # noqa: BLE001 - e.g. a full disk: no cache this time
        log.warning("could not cache the compiled model in %s: %s", folder, exc)
        drop_cached(blob)
        return False
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return True


def drop_cached(blob: Path) -> None:
    """Delete a cached compiled model and its hash record."""
    blob.unlink(missing_ok=True)
    hash_record_path(blob).unlink(missing_ok=True)


def prune(folder: Path, name: str, *, keep: Path) -> None:
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
