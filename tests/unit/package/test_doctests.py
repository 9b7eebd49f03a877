"""The `>>>` examples in docstrings run: ops/ (pure numpy), the option modules and eval.cv. Examples that need
a model or files (alphacut.remove("photo.jpg"), Remover()) live in modules not listed here."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import alphacut.ops

MODULES = [f"alphacut.ops.{m.name}" for m in pkgutil.iter_modules(alphacut.ops.__path__)] + [
    "alphacut.errors", "alphacut.geometry", "alphacut.option_types", "alphacut.option_table", "alphacut.options",
    "alphacut.eval.cv",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (run pytest " \
                               f"--doctest-modules src/{name.replace('.', '/')}.py to see them)"
