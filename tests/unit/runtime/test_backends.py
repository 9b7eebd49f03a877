from __future__ import annotations

import numpy as np
import pytest

from alphacut.errors import BackendError
from alphacut.runtime.base import Backend
from alphacut.runtime.fake import FakeBackend
from alphacut.runtime.onnx import OnnxBackend, available_providers

from ..conftest import make_tiny_onnx


def test_tiny_model_runs_and_reports_fixed_size(tiny_onnx):
    b = OnnxBackend(tiny_onnx, threads=1)
    assert isinstance(b, Backend)
    assert b.info.fixed_size_hw == (64, 64) and b.info.provider == "CPUExecutionProvider"
    x = np.full((1, 3, 64, 64), 0.5, np.float32)
    x[:, :, 10:20, 10:20] = -0.5
    out = b.run(x)
    assert out.shape == (1, 1, 64, 64)
    assert out[0, 0, 15, 15] > 0.9 and out[0, 0, 40, 40] < 0.1


def test_other_output_index_and_wrong_size(tiny_onnx):
    side = OnnxBackend(tiny_onnx, output_index=1, threads=1)
    out = side.run(np.full((1, 3, 64, 64), 0.1, np.float32))
    assert np.allclose(out, -2.0)  # the pre-sigmoid logits: -20 * (0.1 - 0)
    with pytest.raises(BackendError) as err:
        side.run(np.zeros((1, 3, 32, 32), np.float32))
    assert err.value.code == "backend.bad-input-size"
    with pytest.raises(BackendError) as err:
        OnnxBackend(tiny_onnx, output_index=5)
    assert err.value.code == "backend.bad-model"


def test_dynamic_model_has_no_fixed_size(tmp_path):
    b = OnnxBackend(make_tiny_onnx(tmp_path / "dyn.onnx", size=None), threads=1)
    assert b.info.fixed_size_hw is None
    assert b.run(np.zeros((1, 3, 24, 40), np.float32)).shape == (1, 1, 24, 40)


def test_missing_provider_is_an_error_not_a_fallback(tiny_onnx):
    assert "CPUExecutionProvider" in available_providers()
    with pytest.raises(BackendError) as err:
        OnnxBackend(tiny_onnx, providers=["CUDAExecutionProvider"])
    assert err.value.code == "backend.provider-unavailable"
    assert "CPUExecutionProvider" in (err.value.hint or "")


def test_not_a_model_file(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(BackendError) as err:
        OnnxBackend(bad)
    assert err.value.code == "backend.load-failed"


def test_fake_backend_segments_a_dark_square():
    x = np.full((1, 3, 64, 64), 0.4, np.float32)
    x[:, :, 16:48, 16:48] = -0.4
    out = FakeBackend().run(x)
    assert out[0, 0, 32, 32] == 1.0 and out[0, 0, 2, 2] == 0.0


@pytest.mark.parametrize("spin_wait, entry", [(False, "0"), (True, "1")])
def test_spin_wait_reaches_the_session_also_from_the_optimized_cache(tiny_onnx, tmp_path, spin_wait, entry):
    from alphacut.runtime.onnx import SPIN_ENTRY

    folder = tmp_path / "optimized"
    built = OnnxBackend(tiny_onnx, threads=1, name="tiny", optimized_dir=folder, model_hash="0" * 64,
                        spin_wait=spin_wait)
    cached = OnnxBackend(tiny_onnx, threads=1, name="tiny", optimized_dir=folder, model_hash="0" * 64,
                         spin_wait=spin_wait)
    assert built.loaded_from == tiny_onnx and cached.loaded_from.parent == folder  # the second read the cache
    for b in (built, cached):
        assert b._session.get_session_options().get_session_config_entry(SPIN_ENTRY) == entry
    plain = OnnxBackend(tiny_onnx, threads=1)  # None: onnxruntime's default, nothing set
    with pytest.raises(RuntimeError):  # onnxruntime: no such config entry
        plain._session.get_session_options().get_session_config_entry(SPIN_ENTRY)


def test_remover_passes_spin_wait_to_its_session(tiny_onnx, tiny_spec):
    from alphacut.api import _load_in_background
    from alphacut.runtime.onnx import SPIN_ENTRY

    backend = _load_in_background(tiny_onnx, tiny_spec, threads=1, providers=None, spin_wait=False,
                                  runtime="onnxruntime")
    inner = backend.wait()  # type: ignore[attr-defined]
    assert inner._session.get_session_options().get_session_config_entry(SPIN_ENTRY) == "0"
