"""Remover's pipeline stages are internal: the old public names still work, with a DeprecationWarning."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from alphacut import Options, Remover
from alphacut.runtime.fake import FakeBackend

from ..conftest import encoded, square_image


def test_old_stage_names_warn(tiny_spec: Any) -> None:
    remover = Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64)))
    with pytest.warns(DeprecationWarning, match="internal"):
        prepared = remover.prepare(encoded(square_image(), "PNG"), Options())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert remover._infer(prepared).ndim >= 2  # the internal stage itself is silent
