"""The derive source: a model made from another by a named transform (models/transforms.py)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path

from ...errors import AlphacutError, suggest
from ..catalog import ModelSpec
from .base import SourceFailed, _check, hash_file

log = logging.getLogger(__name__)


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
