"""The graph transforms on the real default model (ISNet, fp16 weights)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from alphacut.models.transforms import apply_transform

pytestmark = pytest.mark.model

DEFAULT_MODEL_FILE = Path.home() / ".cache" / "alphacut" / "models" / "isnet-general-use-fp16.onnx"


def _model_path() -> Path:
    env = os.environ.get("ALPHACUT_TEST_MODEL")
    return Path(env) if env else DEFAULT_MODEL_FILE


@pytest.fixture(scope="module")
def model_path() -> Path:
    path = _model_path()
    if not path.is_file():
        pytest.skip(f"the default model is not at {path}; run `alphacut models fetch` or set "
                    "ALPHACUT_TEST_MODEL to an isnet-general-use-fp16.onnx file")
    return path


@pytest.fixture(scope="module")
def derived(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("derived")
    out = {}
    for name in ("dynamic-resolution", "fp16-to-fp32+dynamic-resolution", "fp16-to-int8+dynamic-resolution"):
        out[name] = folder / f"{name}.onnx"
        apply_transform(name, model_path, out[name])
    return out


def _session(path: Path, level: ort.GraphOptimizationLevel) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.graph_optimization_level = level
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _image(h: int, w: int) -> np.ndarray:
    """A smooth, photo-like input (a disc on a gradient) in the model's x/255 - 0.5 range."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    disc = ((yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 4) ** 2).astype(np.float32)
    rgb = np.stack([0.2 + 0.6 * disc, 0.3 + 0.4 * xx / w, 0.8 - 0.5 * disc * yy / h])
    return (rgb - 0.5)[None].astype(np.float32)


def test_dynamic_equals_the_original_at_1024(model_path: Path, derived: dict[str, Path]) -> None:
    # ORT_ENABLE_EXTENDED: at ENABLE_ALL the NCHWc layout pass treats constant-size and run-time-size
    # Resize nodes differently; in an fp16 graph the resulting 1e-7 changes can flip fp16 roundings
    # (max difference about 4e-4 on photos, the size of the fp16-vs-fp32 difference itself).
    level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    x = _image(1024, 1024)
    original = _session(model_path, level).run(["output"], {"input": x})[0]
    dynamic = _session(derived["dynamic-resolution"], level).run(["output"], {"input": x})[0]
    assert original.shape == (1, 1, 1024, 1024)
    assert float(original.max()) > 0.5  # a real prediction, not all background
    np.testing.assert_allclose(dynamic, original, rtol=0, atol=1e-5)


def test_fp32_dynamic_is_close_to_the_original_at_1024(model_path: Path, derived: dict[str, Path]) -> None:
    level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    x = _image(1024, 1024)
    original = _session(model_path, level).run(["output"], {"input": x})[0]
    fp32 = _session(derived["fp16-to-fp32+dynamic-resolution"], level).run(["output"], {"input": x})[0]
    np.testing.assert_allclose(fp32, original, rtol=0, atol=2e-3)


@pytest.mark.parametrize("hw", [(768, 768), (640, 960)])
def test_dynamic_runs_at_other_sizes(derived: dict[str, Path], hw: tuple[int, int]) -> None:
    session = _session(derived["dynamic-resolution"], ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    out = session.run(["output"], {"input": _image(*hw)})[0]
    assert out.shape == (1, 1, *hw)
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    assert float(out.max()) > 0.5


def test_int8_is_the_catalogued_file_and_close_to_fp32(derived: dict[str, Path]) -> None:
    """The shipped calibration fits the real graph, the bytes match the catalog's pinned sha256 (so
    every machine derives the same file), and the matte stays close to the fp32 one."""
    import hashlib

    from alphacut.models.catalog import load_catalog

    path = derived["fp16-to-int8+dynamic-resolution"]
    spec = load_catalog().get("isnet-general-use-int8-static")
    assert spec.checksum == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    x = _image(1024, 1024)
    fp32 = _session(derived["fp16-to-fp32+dynamic-resolution"], level).run(["output"], {"input": x})[0]
    int8 = _session(path, level).run(["output"], {"input": x})[0]
    assert float(np.abs(int8 - fp32).mean()) < 0.01
    assert float(np.abs(int8 - fp32).mean()) > 0  # really a different (quantized) graph
