"""Object-store sources and destinations (s3://, gs://, abfs://, file://) through pyarrow's filesystems.

When an input or -o is a URI, jobs are listed with pyarrow (folders walked recursively, the local
batch's image suffixes, hidden entries skipped, folders mirrored under the output, the suffix of the
format) and read and written through it on the nodes. Credentials are pyarrow's business (its
usual environment variables and config files on each node). An object is created only when its
stream is closed (S3 completes the multipart upload then; file:// goes through write_atomic), so a
killed writer leaves no half object.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from ..errors import InputError, OutputError
from ..io.files import IMAGE_SUFFIXES

__all__ = ["UriJob", "existing_objects", "exists", "is_uri", "read_bytes", "uri_jobs", "write_bytes"]


@dataclass(frozen=True, slots=True)
class UriJob:
    """One input and where its result goes, as URIs (or absolute local paths)."""

    src: str
    dst: str


def is_uri(text: str) -> bool:
    return "://" in text


def _fs(uri: str) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    try:
        fs, path = pafs.FileSystem.from_uri(uri)
        return fs, str(path)
    except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError("input.bad-uri", f"{uri} is not a location pyarrow can open: {exc}",
                         hint="Use s3://bucket/prefix, gs://..., abfs://..., file:///abs/path or a local path.") \
            from exc


def _join(base: str, rel: str) -> str:
    return base.rstrip("/") + "/" + rel


def uri_jobs(inputs: Sequence[str], output: str, suffix: str) -> list[UriJob]:
    """List the images under each input (URI or local path) and map them under `output`."""
    import pyarrow.fs as pafs

    jobs: list[UriJob] = []
    for arg in inputs:
        uri = arg if is_uri(arg) else str(PurePosixPath(_abs(arg)))
        fs, path = _fs(uri)
        info = fs.get_file_info(path)
        if info.type == pafs.FileType.NotFound:
            raise InputError("input.not-found", f"{arg} does not exist.", hint="Check the URI or path.")
        if info.type == pafs.FileType.File:
            found = [(uri, PurePosixPath(path).name)]
        else:
            found = []
            for entry in fs.get_file_info(pafs.FileSelector(path, recursive=True)):
                rel = PurePosixPath(entry.path).relative_to(path.rstrip("/") or "/")
                if entry.type != pafs.FileType.File or any(p.startswith(".") for p in rel.parts) \
                        or rel.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                found.append((_join(uri, str(rel)), str(rel)))
        for src, rel_text in sorted(found):
            jobs.append(UriJob(src, _join(output, str(PurePosixPath(rel_text).with_suffix(suffix)))))
    seen: dict[str, str] = {}
    for job in jobs:
        if job.dst in seen:
            raise OutputError("output.collision", f"{seen[job.dst]} and {job.src} would both be written to "
                                                  f"{job.dst}.", hint="Process them into different output folders.")
        seen[job.dst] = job.src
    return jobs


def _abs(path: str) -> str:
    import os

    return os.path.abspath(path)


def exists(uri: str) -> bool:
    import pyarrow.fs as pafs

    fs, path = _fs(uri)
    return bool(fs.get_file_info(path).type != pafs.FileType.NotFound)


def existing_objects(dsts: Sequence[str]) -> set[str]:
    """Which of these destinations exist, from one recursive listing of their common prefix."""
    import os

    import pyarrow.fs as pafs

    if not dsts:
        return set()
    prefix = os.path.commonprefix(list(dsts)).rpartition("/")[0]
    if not is_uri(prefix) or not prefix.split("://", 1)[1].strip("/"):  # no common folder: one look each
        return {d for d in dsts if exists(d)}
    fs, path = _fs(prefix)
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        return set()
    found = {_join(prefix, str(PurePosixPath(e.path).relative_to(path.rstrip("/") or "/")))
             for e in fs.get_file_info(pafs.FileSelector(path, recursive=True)) if e.type == pafs.FileType.File}
    return found & set(dsts)


def read_bytes(uri: str) -> bytes:
    fs, path = _fs(uri)
    with fs.open_input_stream(path) as stream:
        return bytes(stream.read())


def write_bytes(uri: str, data: bytes) -> None:
    """Write an object whole: a local file (file://) atomically, an object-store key on close."""
    from pathlib import Path

    import pyarrow.fs as pafs

    from ..io.files import write_atomic

    fs, path = _fs(uri)
    if isinstance(fs, pafs.LocalFileSystem):
        write_atomic(Path(path), data)
        return
    try:
        fs.create_dir(str(PurePosixPath(path).parent), recursive=True)
        with fs.open_output_stream(path) as stream:
            stream.write(data)
    except OSError as exc:
        raise OutputError("output.not-writable", f"Can't write {uri}: {exc}.",
                          hint="Check the bucket, the credentials of the node and its permissions.") from exc
