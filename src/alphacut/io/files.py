"""Input discovery (files, folders, globs), output path mapping and atomic writes."""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, OutputError

__all__ = ["IMAGE_SUFFIXES", "Job", "collect_jobs", "write_atomic"]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif",
                            ".jfif", ".ppm", ".pgm", ".tga"})


@dataclass(frozen=True, slots=True)
class Job:
    """One input file and where its result goes."""

    src: Path
    dst: Path


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _expand(arg: str) -> Iterator[tuple[Path, Path]]:
    """Yield (file, root it was found under) for one command-line argument."""
    path = Path(arg)
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for f in sorted(files):
                p = Path(root) / f
                if _is_image(p):
                    yield p, path
        return
    if path.exists():
        yield path, path.parent
        return
    if glob.has_magic(arg):
        matches = sorted(glob.glob(arg, recursive=True))
        base = Path(arg.split("*")[0].split("?")[0].split("[")[0] or ".")
        root = base if base.is_dir() else base.parent
        for m in matches:
            p = Path(m)
            if p.is_file() and _is_image(p):
                yield p, root
        return
    raise InputError("input.not-found", f"{arg} does not exist.", hint="Check the path or the glob pattern.")


def collect_jobs(args: Iterable[str], out_dir: Path | None, suffix: str) -> list[Job]:
    """Map inputs to outputs. Folders are mirrored under out_dir; without out_dir, results sit beside
    their inputs as `<stem>.cutout<suffix>`. Each input appears once, in argument order."""
    jobs: list[Job] = []
    seen: set[Path] = set()
    for arg in args:
        for src, root in _expand(arg):
            key = src.resolve()
            if key in seen:
                continue
            seen.add(key)
            if out_dir is None:
                dst = src.with_name(f"{src.stem}.cutout{suffix}")
            else:
                try:
                    rel = src.relative_to(root)
                except ValueError:
                    rel = Path(src.name)
                dst = out_dir / rel.with_suffix(suffix)
            jobs.append(Job(src=src, dst=dst))
    dst_seen: dict[Path, Path] = {}
    for job in jobs:
        other = dst_seen.get(job.dst)
        if other is not None:
            raise OutputError("output.collision", f"{other} and {job.src} would both be written to {job.dst}.",
                              hint="Process them into different output folders.")
        dst_seen[job.dst] = job.src
    return jobs


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to path via a temp file in the same folder and os.replace: never a half file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except PermissionError as exc:
        raise OutputError("output.not-writable", f"Can't write into {path.parent}: permission denied.",
                          hint="Choose another output folder with -o.") from exc
    except OSError as exc:
        raise OutputError("output.not-writable", f"Can't write into {path.parent}: {exc.strerror or exc}.",
                          hint="Choose another output folder with -o.") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OutputError("output.not-writable", f"Can't write {path}: {exc.strerror or exc}.",
                          hint="Check free space and permissions.") from exc
