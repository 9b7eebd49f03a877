"""Input discovery (files, folders, globs), output path mapping and atomic writes.

Atomic writes (the one helper for every file alphacut writes: outputs, models, stamps, the user
catalog): the data goes to a hidden temp file in the destination's folder, then os.replace moves
it into place, so a reader sees the old file or the new one, never half of one. Permission
policy: a new file gets the mode `open()` would give it (0o666 minus the umask), whatever it
replaces, like any file a command-line tool writes; mkstemp's 0o600 is not used. The temp name is
short (`.<up to 24 chars of the name>.<8 hex>.part`), so a destination name near the filesystem's
limit (255 bytes) still works.
"""

from __future__ import annotations

import errno
import glob
import os
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import AlphacutError, InputError, OutputError

__all__ = ["IMAGE_SUFFIXES", "Job", "collect_jobs", "hash_record_path", "new_temp", "record_sha256",
           "recorded_sha256", "sha256_file", "write_atomic"]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif",
                            ".jfif", ".ppm", ".pgm", ".tga"})


@dataclass(frozen=True, slots=True)
class Job:
    """One input file and where its result goes."""

    src: Path
    dst: Path
    #: Why this input can't be processed, found while collecting (a symlink loop, an output name
    #: shared with another input): the batch reports it as failed and goes on with the others.
    problem: AlphacutError | None = None
    #: Why this input is left out on purpose (a link leading outside its folder): reported as skipped.
    skipped: str | None = None


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


#: Why a walked entry was left out (Job.skipped): reported in the batch summary, never an error.
SYMLINK_OUTSIDE = "input.symlink-outside"


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _expand(arg: str, exclude: Path | None = None) -> Iterator[tuple[Path, Path, str | None]]:
    """Yield (file, root it was found under, why it is skipped or None) for one command-line argument.

    In a walked folder, hidden entries and `exclude` (the output folder, when it lies inside) are left
    out, and symbolic links are followed only within the folder: a link to a file inside it is
    yielded, a link to a folder is not walked (its target, being inside, is walked anyway), and a
    link that leads outside the folder is yielded as skipped. A link given as the argument itself
    is followed: the user named it.
    """
    path = Path(arg)
    if path.is_dir():
        real_root = path.resolve()
        for root, dirs, files in os.walk(path):
            here = Path(root)
            kept = []
            for d in sorted(dirs):
                sub = here / d
                if d.startswith(".") or (exclude is not None and _resolved(sub) == exclude):
                    continue
                if sub.is_symlink():
                    target = _resolved(sub)
                    if target is None or not _inside(target, real_root):
                        yield sub, path, f"{sub} is a link to a folder outside {path}: not followed."
                    continue  # a link within the folder: its target is walked anyway
                kept.append(d)
            dirs[:] = kept
            for f in sorted(files):
                p = here / f
                if not _is_image(p):
                    continue
                if p.is_symlink():
                    target = _resolved(p)
                    if target is not None and not _inside(target, real_root):
                        yield p, path, f"{p} is a link to a file outside {path}: not followed."
                        continue
                yield p, path, None
        return
    if path.exists() or (path.is_symlink() and _resolved(path) is None):  # a loop: collect_jobs reports it
        yield path, path.parent, None
        return
    if glob.has_magic(arg):
        matches = sorted(glob.glob(arg, recursive=True))
        base = Path(arg.split("*")[0].split("?")[0].split("[")[0] or ".")
        glob_root = base if base.is_dir() else base.parent
        for m in matches:
            p = Path(m)
            if p.is_file() and _is_image(p) and not (exclude is not None and _inside(_resolved(p) or p, exclude)):
                yield p, glob_root, None
        return
    raise InputError("input.not-found", f"{arg} does not exist.", hint="Check the path or the glob pattern.")


def _resolved(path: Path) -> Path | None:
    """The real path, or None for a symlink loop (or a link chain too long to follow)."""
    try:
        return path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a symlink loop this way
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None
        return path.absolute()


def collect_jobs(args: Iterable[str], out_dir: Path | None, suffix: str) -> list[Job]:
    """Map inputs to outputs. Folders are mirrored under out_dir; without out_dir, results sit beside
    their inputs as `<stem>.cutout<suffix>`. Each input appears once, in argument order.

    Inputs that can't be processed (symlink loops, two inputs mapping to one output) come back as
    jobs with a `problem`, so the batch reports each one and processes the rest.
    """
    jobs: list[Job] = []
    seen: set[Path] = set()
    exclude = _resolved(out_dir) if out_dir is not None and out_dir.is_dir() else None
    for arg in args:
        for src, root, skip in _expand(arg, exclude):
            if skip is not None:
                jobs.append(Job(src=src, dst=src, skipped=skip))
                continue
            key = _resolved(src)
            if key is None:
                jobs.append(Job(src=src, dst=src, problem=InputError(
                    "input.symlink-loop", f"{src} is a symbolic link that leads back to itself.",
                    hint="Fix or delete the link.")))
                continue
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
    by_dst: dict[Path, list[Job]] = {}
    for job in jobs:
        if job.problem is None and job.skipped is None:
            by_dst.setdefault(job.dst, []).append(job)
    clashes = {id(j): group for group in by_dst.values() if len(group) > 1 for j in group}
    return [job if id(job) not in clashes else _collision(job, clashes[id(job)]) for job in jobs]


def _collision(job: Job, group: list[Job]) -> Job:
    others = ", ".join(str(j.src) for j in group if j is not job)
    return Job(src=job.src, dst=job.dst, problem=OutputError(
        "output.collision", f"{job.src} and {others} would all be written to {job.dst}; none of them was.",
        hint="Rename one of them, or process them into different output folders."))


#: Characters of the destination's name kept in its temp name (the rest is dropped).
_TEMP_NAME_CHARS = 24


def new_temp(folder: Path, name: str, suffix: str = ".part") -> Path:
    """Create an empty, uniquely named hidden file in folder for `name`, mode 0o666 minus the umask."""
    while True:
        path = folder / f".{name[:_TEMP_NAME_CHARS]}.{secrets.token_hex(4)}{suffix}"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to path via a temp file in the same folder and os.replace: never a half file."""
    _check_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = new_temp(path.parent, path.name)
    except PermissionError as exc:
        raise OutputError("output.not-writable", f"Can't write into {path.parent}: permission denied.",
                          hint="Choose another output folder with -o.") from exc
    except OSError as exc:
        raise OutputError("output.not-writable", f"Can't write into {path.parent}: {exc.strerror or exc}.",
                          hint=_hint_for(exc)) from exc
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())  # the bytes are on disk before the name points at them (a crash: old or new)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError("output.not-writable", f"Can't write {path}: {exc.strerror or exc}.",
                          hint=_hint_for(exc)) from exc


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX); a filesystem that can't sync folders is left as is."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_name(path: Path) -> None:
    """Refuse a file name longer than the folder's filesystem allows, before any work is written."""
    try:
        limit = os.pathconf(path.parent if path.parent.is_dir() else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(os.fsencode(path.name)) > limit:
        raise OutputError("output.name-too-long", f"{path.name!r} is {len(os.fsencode(path.name))} bytes long; "
                          f"this filesystem allows {limit}.", hint="Rename the input or give a shorter -o name.")


def _hint_for(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return "The name or path is too long for this filesystem: use a shorter name or folder."
    if exc.errno == errno.ENOSPC:
        return "The disk is full: free some space or choose another output folder with -o."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "Choose another output folder with -o."
    return "Check free space and permissions, or choose another output folder with -o."


# --- hash records: a file's sha256 written beside it, checked on every use ---------------------------

#: Bytes read per block when hashing.
_HASH_BLOCK = 1 << 20


def sha256_file(path: Path) -> str:
    """'sha256:<hex>' of the file's bytes."""
    import hashlib

    hasher = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            hasher.update(block)
    return f"sha256:{hasher.hexdigest()}"


def hash_record_path(path: Path) -> Path:
    """Where the recorded hash of `path` lives: `<path>.sha256`."""
    return path.with_name(path.name + ".sha256")


def record_sha256(path: Path, digest: str | None = None) -> str:
    """Hash `path` (unless its digest is given) and write the record beside it; returns the digest."""
    digest = digest or sha256_file(path)
    write_atomic(hash_record_path(path), f"{digest}\n".encode())
    return digest


def recorded_sha256(path: Path) -> str | None:
    """The digest recorded for `path`, or None when there is no readable record."""
    try:
        text = hash_record_path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if text.startswith("sha256:") and len(text) == 71 else None
