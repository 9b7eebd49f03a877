"""What `import alphacut` exports is exactly `__all__`, and Remover's public methods are the small set
users need (the pipeline stages batch and video use are underscored). After httpx's
tests/test_exported_members.py: a name that leaks or disappears fails here, on purpose."""

from __future__ import annotations

import inspect
import types

import alphacut

#: module-level names of alphacut/__init__.py that are not API (imports and the lazy-loading hooks)
_NOT_API = {"annotations", "TYPE_CHECKING", "Any"}

#: Remover's public methods and properties: what a user calls
REMOVER_API = {"remove", "cutout", "matte", "remove_bytes", "wait_ready", "model_id", "landmarker"}
#: public before, internal now: kept one release with a DeprecationWarning
REMOVER_DEPRECATED = {"prepare", "infer", "finish", "matte_from", "compose", "background_picture"}


def test_every_public_module_attribute_is_in_all() -> None:
    public = {name for name, value in vars(alphacut).items()
              if not name.startswith("_") and name not in _NOT_API and not isinstance(value, types.ModuleType)}
    assert public <= set(alphacut.__all__), sorted(public - set(alphacut.__all__))


def test_every_name_in_all_resolves_once() -> None:
    assert len(alphacut.__all__) == len(set(alphacut.__all__))
    for name in alphacut.__all__:
        assert getattr(alphacut, name) is not None, name


def test_remover_public_surface_is_small() -> None:
    from alphacut import Remover

    methods = {name for name, _ in inspect.getmembers(Remover) if not name.startswith("_")}
    assert methods == REMOVER_API | REMOVER_DEPRECATED
