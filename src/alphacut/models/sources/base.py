"""The plumbing every source shares: the failure types, hashing while copying, progress."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ..catalog import ModelSpec

Progress = Callable[[int, int], None]
BLOCK = 1 << 20


class SourceFailed(Exception):
    """One source could not deliver the model; ``code``/``hint`` feed the store's final error."""

    def __init__(self, reason: str, *, code: str = "model.fetch-failed", hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.hint = hint


class ChecksumMismatch(SourceFailed):
    """The bytes a source delivered are not the ones the catalog names."""

    def __init__(self, what: str, expected: str, got: str) -> None:
        super().__init__(f"{what}: expected {expected}, got {got}", code="model.hash-mismatch")
        self.expected = expected
        self.got = got


def new_hasher(checksum: str) -> Any:
    """A hashlib object for the algorithm of a catalog checksum ("sha256:..." or "md5:...")."""
    algo = checksum.split(":", 1)[0]
    if algo == "md5":
        return hashlib.md5(usedforsecurity=False)
    return hashlib.new(algo)


def hash_file(path: Path, checksum: str, on_progress: Progress | None = None) -> str:
    """Hash a file with the checksum's algorithm; return "<algo>:<hex>"."""
    hasher = new_hasher(checksum)
    total = path.stat().st_size
    done = 0
    with path.open("rb") as f:
        while block := f.read(BLOCK):
            hasher.update(block)
            done += len(block)
            if on_progress:
                on_progress(done, total)
    return f"{checksum.split(':', 1)[0]}:{hasher.hexdigest()}"


def _check(spec: ModelSpec, got: str, what: str) -> None:
    if got != spec.checksum:
        raise ChecksumMismatch(what, spec.checksum, got)


# --- file ------------------------------------------------------------------------------------------


def copy_file(src: Path, spec: ModelSpec, dst: Path, on_progress: Progress | None = None) -> None:
    """Copy a file from the user's disk to dst, checking its checksum on the way."""
    if not src.is_file():
        raise SourceFailed(f"file {src} does not exist (any more)")
    _check(spec, copy_hashed(src, dst, spec.checksum, on_progress), f"file {src}")


def copy_hashed(src: Path, dst: Path, checksum: str, on_progress: Progress | None = None) -> str:
    """Copy src to dst, hashing with the checksum's algorithm; return "<algo>:<hex>" of the copy."""
    hasher = new_hasher(checksum)
    with src.open("rb") as fin, dst.open("wb") as fout:
        pump(fin, fout, hasher, on_progress, 0, src.stat().st_size)
    return f"{checksum.split(':', 1)[0]}:{hasher.hexdigest()}"


def pump(src: IO[bytes], dst: IO[bytes], hasher: Any, on_progress: Progress | None, done: int, total: int) -> int:
    """Copy src to dst in blocks, hashing and reporting progress; return the new running byte count."""
    while block := src.read(BLOCK):
        hasher.update(block)
        dst.write(block)
        done += len(block)
        if on_progress:
            on_progress(done, total)
    return done
