"""Fixtures shared by tests/unit and tests/browser."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from alphacut.models.catalog import ModelSpec


@pytest.fixture
def tiny_spec() -> ModelSpec:
    """The catalog entry of the tiny test model (tests/unit/conftest.py's make_tiny_onnx): 64 px input."""
    from alphacut.models.catalog import ModelSpec

    return ModelSpec.from_dict({
        "id": "tiny-test", "description": "test", "licence": "none", "checksum": "sha256:" + "0" * 64,
        "input_size": 64, "mean": [0.5, 0.5, 0.5], "std": [1.0, 1.0, 1.0],
        "sources": [{"kind": "file", "path": "/nonexistent"}],
    })
