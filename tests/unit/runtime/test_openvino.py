"""The OpenVINO backend and the runtime choice: the tiny model through both runtimes, dynamic sizes,
the compiled-model cache (corruption -> rebuild), fallback when OpenVINO is missing, precedence."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphacut.config import ValueSource, load_settings
from alphacut.errors import BackendError, OptionsError
from alphacut.runtime.base import Backend
from alphacut.runtime.choice import load_backend, openvino_cache_dir
from alphacut.runtime.onnx import OnnxBackend

from ..conftest import make_tiny_onnx

ov_backend = pytest.importorskip("alphacut.runtime.openvino")
try:
    ov_backend.openvino_version()
    OV_MISSING = ""
except BackendError as exc:  # the package is a dependency where wheels exist; say so where it is not
    OV_MISSING = exc.message
needs_ov = pytest.mark.skipif(bool(OV_MISSING), reason=f"OpenVINO is not usable here: {OV_MISSING}")
OpenVinoBackend = ov_backend.OpenVinoBackend

#: bf16 (OpenVINO's default on AMX CPUs) keeps 8 bits of mantissa: a logit of -20 * x is off by up to
#: ~0.4 %, a sigmoid output by ~0.01 at the steepest point.
ATOL = 0.02


def _subject(h: int, w: int) -> np.ndarray:
    x = np.full((1, 3, h, w), 0.45, np.float32)
    x[:, :, h // 4: h // 2, w // 4: w // 2] = -0.45
    x[:, :, -3:, :] = np.linspace(-0.3, 0.3, w, dtype=np.float32)  # a ramp: values on the sigmoid's slope
    return x


@needs_ov
def test_tiny_model_runs_on_openvino_like_onnxruntime(tiny_onnx: Path) -> None:
    b = OpenVinoBackend(tiny_onnx, threads=1)
    assert isinstance(b, Backend)
    assert b.info.fixed_size_hw == (64, 64) and b.info.runtime.startswith("openvino ")
    assert b.info.precision in ("bf16", "f32", "f16")  # not quantized
    x = _subject(64, 64)
    out, ref = b.run(x), OnnxBackend(tiny_onnx, threads=1).run(x)
    assert out.shape == ref.shape == (1, 1, 64, 64)
    assert np.abs(out - ref).max() < ATOL and np.abs(out - ref).mean() < 1 / 255
    with pytest.raises(BackendError) as err:
        b.run(np.zeros((1, 3, 32, 32), np.float32))
    assert err.value.code == "backend.bad-input-size"


@needs_ov
def test_f32_precision_matches_onnxruntime_closely(tiny_onnx: Path) -> None:
    b = OpenVinoBackend(tiny_onnx, threads=1, precision="f32")
    assert b.info.precision == "f32"
    x = _subject(64, 64)
    assert np.abs(b.run(x) - OnnxBackend(tiny_onnx, threads=1).run(x)).max() < 1e-4
    with pytest.raises(BackendError):
        OpenVinoBackend(tiny_onnx, precision="int3")


@needs_ov
def test_other_output_and_errors(tiny_onnx: Path, tmp_path: Path) -> None:
    side = OpenVinoBackend(tiny_onnx, output_index=1, threads=1, precision="f32")
    assert np.allclose(side.run(np.full((1, 3, 64, 64), 0.1, np.float32)), -2.0, atol=1e-5)
    with pytest.raises(BackendError) as err:
        OpenVinoBackend(tiny_onnx, output_index=5)
    assert err.value.code == "backend.bad-model"
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(BackendError) as err:
        OpenVinoBackend(bad)
    assert err.value.code == "backend.load-failed"


class _CountingCore:
    """Wraps an openvino Core to count compile_model calls."""

    def __init__(self, core: Any) -> None:
        self.core, self.compiles = core, 0

    def compile_model(self, *args: Any, **kwargs: Any) -> Any:
        self.compiles += 1
        return self.core.compile_model(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.core, name)


@needs_ov
def test_dynamic_sizes_reshape_and_repeat_without_recompiling(tmp_path: Path) -> None:
    path = make_tiny_onnx(tmp_path / "dyn.onnx", size=None)
    b = OpenVinoBackend(path, threads=1, input_hw=(32, 32))
    assert b.info.fixed_size_hw is None
    counting = _CountingCore(b._core)
    b._core = counting
    ref = OnnxBackend(path, threads=1)
    for hw in [(24, 40), (32, 32), (24, 40), (48, 16), (24, 40), (32, 32)]:
        x = _subject(*hw)
        out = b.run(x)
        assert out.shape == (1, 1, *hw)
        assert np.abs(out - ref.run(x)).max() < ATOL
    assert counting.compiles == 2  # 24x40 and 48x16; 32x32 was compiled at load; repeats reuse theirs
    for i in range(ov_backend.MAX_SHAPES + 2):  # more sizes than are kept: the least recently used go
        b.run(_subject(8 + 8 * i, 8))
    assert len(b._shapes) == ov_backend.MAX_SHAPES


@needs_ov
def test_concurrent_runs_are_safe(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = make_tiny_onnx(tmp_path / "dyn.onnx", size=None)
    b = OpenVinoBackend(path, threads=1, hint="THROUGHPUT")
    xs = [_subject(16 + 8 * (i % 3), 24) for i in range(12)]
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(b.run, xs))
    for x, out in zip(xs, outs):
        assert np.array_equal(out, b.run(x))


def _cached_backend(tiny: Path, folder: Path) -> Any:
    return OpenVinoBackend(tiny, threads=1, name="tiny", cache_dir=folder, model_hash="sha256:" + "0" * 64,
                           input_hw=(64, 64))


@needs_ov
@pytest.mark.parametrize("damage", ["flip-a-byte", "no-record", "foreign-blob", "truncated"])
def test_a_damaged_compiled_model_is_rebuilt_never_loaded(tiny_onnx: Path, tmp_path: Path, caplog: Any,
                                                          damage: str) -> None:
    from alphacut.io.files import hash_record_path, record_sha256

    folder = tmp_path / "compiled"
    built = _cached_backend(tiny_onnx, folder)
    blobs = sorted(folder.glob("tiny.*.64x64.ovblob"))
    assert built.loaded_from == tiny_onnx and len(blobs) == 1
    blob = blobs[0]
    again = _cached_backend(tiny_onnx, folder)
    assert again.loaded_from == blob  # the second load imports the cached blob
    x = _subject(64, 64)
    assert np.array_equal(again.run(x), built.run(x))
    good = blob.read_bytes()
    if damage == "flip-a-byte":
        data = bytearray(good)
        data[len(data) // 2] ^= 0xFF
        blob.write_bytes(bytes(data))
    elif damage == "no-record":
        hash_record_path(blob).unlink()
    elif damage == "foreign-blob":  # bytes that match their record but are no compiled model of ours
        blob.write_bytes(b"not a compiled model" * 100)
        record_sha256(blob)
    else:
        blob.write_bytes(good[: len(good) // 3])
    with caplog.at_level(logging.WARNING, logger="alphacut.runtime.openvino"):
        rebuilt = _cached_backend(tiny_onnx, folder)
    assert rebuilt.loaded_from == tiny_onnx  # compiled from the model, not from the bad file
    assert any("rebuilding" in r.getMessage() for r in caplog.records)
    assert np.array_equal(rebuilt.run(x), built.run(x))
    assert _cached_backend(tiny_onnx, folder).loaded_from == blob  # and the rebuilt blob is good again


@needs_ov
def test_models_verify_checks_compiled_models(tmp_path: Path, tiny_onnx: Path) -> None:
    from alphacut.models.store import ModelStore

    store = ModelStore(tmp_path / "home", offline=True)
    store.add("tiny", tiny_onnx, input_size=64, mean=[0.5] * 3, std=[1.0] * 3)
    spec = store.catalog.get("tiny")
    assert openvino_cache_dir(store.optimized_dir) == store.compiled_dir
    load_backend(store.path("tiny"), runtime="openvino", name="tiny", optimized_dir=store.optimized_dir,
                 model_hash=spec.checksum, input_hw=(64, 64), threads=1)
    blob, = store.compiled_dir.glob("tiny.*.ovblob")
    assert store.verify("tiny").ok
    blob.write_bytes(blob.read_bytes()[:-10] + b"0123456789")
    result = store.verify("tiny")
    assert not result.ok and result.bad_optimized == (blob,) and not blob.exists()
    assert "compiled model" in result.detail


@needs_ov
def test_cache_key_follows_settings_and_cpu(tiny_onnx: Path, monkeypatch: Any) -> None:
    key = ov_backend.compiled_cache_key("sha256:1", tiny_onnx, {"threads": "2"})
    assert ov_backend.compiled_cache_key("sha256:1", tiny_onnx, {"threads": "1"}) != key
    assert ov_backend.compiled_cache_key("sha256:2", tiny_onnx, {"threads": "2"}) != key
    monkeypatch.setattr(ov_backend, "cpu_fingerprint", lambda: "another CPU")
    assert ov_backend.compiled_cache_key("sha256:1", tiny_onnx, {"threads": "2"}) != key


# ------------------------------------------------------------------------------------ the choice

@needs_ov
def test_load_backend_runs_what_was_asked(tiny_onnx: Path) -> None:
    assert isinstance(load_backend(tiny_onnx, runtime="onnxruntime", threads=1), OnnxBackend)
    ov = load_backend(tiny_onnx, runtime="openvino", threads=1)
    assert isinstance(ov, OpenVinoBackend) and ov.info.note == "chosen by the runtime setting"
    auto = load_backend(tiny_onnx, runtime="auto", threads=1)
    assert isinstance(auto, OpenVinoBackend) and auto.info.note.startswith("auto:")
    other = load_backend(tiny_onnx, runtime="auto", threads=1, providers=["CPUExecutionProvider"])
    assert isinstance(other, OpenVinoBackend)  # the CPU provider alone is the default, not a choice
    with pytest.raises(BackendError):
        load_backend(tiny_onnx, runtime="openvino", providers=["CUDAExecutionProvider"])
    with pytest.raises(BackendError):
        load_backend(tiny_onnx, runtime="tensorflow")


def _warnings(caplog: Any) -> list[logging.LogRecord]:
    """WARNING records, less onnxruntime's telemetry-variable one (given when another test has
    cleared ORT_DISABLE_TELEMETRY after onnxruntime was imported in this process)."""
    return [r for r in caplog.records if r.levelno >= logging.WARNING and r.name != "alphacut.runtime.onnx"]


@pytest.fixture
def no_openvino(monkeypatch: Any) -> None:
    """OpenVINO's import fails, as where it is not installed."""
    monkeypatch.setitem(sys.modules, "openvino", None)


def test_missing_openvino_falls_back_with_one_warning(tiny_onnx: Path, no_openvino: None, caplog: Any) -> None:
    with caplog.at_level(logging.INFO, logger="alphacut"):
        b = load_backend(tiny_onnx, runtime="auto", threads=1, name="tiny")
    assert isinstance(b, OnnxBackend) and b.info.runtime.startswith("onnxruntime ")
    warnings = _warnings(caplog)
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "OpenVINO not used" in warnings[0].getMessage() and "onnxruntime" in warnings[0].getMessage()
    assert b.info.note.startswith("OpenVINO not used: OpenVINO is not installed")  # the reason is kept
    x = _subject(64, 64)
    assert np.array_equal(b.run(x), OnnxBackend(tiny_onnx, threads=1).run(x))


def test_missing_openvino_asked_for_is_an_error(tiny_onnx: Path, no_openvino: None) -> None:
    with pytest.raises(BackendError) as err:
        load_backend(tiny_onnx, runtime="openvino", threads=1)
    assert err.value.code == "backend.missing" and "onnxruntime" in (err.value.hint or "")


def test_failing_openvino_falls_back_too(tiny_onnx: Path, monkeypatch: Any, caplog: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise BackendError("backend.load-failed", "OpenVINO could not load it: simulated")

    monkeypatch.setattr(ov_backend, "OpenVinoBackend", broken)
    with caplog.at_level(logging.WARNING, logger="alphacut"):
        b = load_backend(tiny_onnx, runtime="auto", threads=1)
    assert isinstance(b, OnnxBackend) and "simulated" in b.info.note
    assert len(_warnings(caplog)) == 1
    with pytest.raises(BackendError):
        load_backend(tiny_onnx, runtime="openvino", threads=1)


def test_runtime_setting_precedence(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    assert load_settings({}, env={}, config_file=cfg).runtime.value == "auto"
    cfg.write_text('runtime = "onnxruntime"\n')
    s = load_settings({}, env={}, config_file=cfg)
    assert s.runtime.value == "onnxruntime" and s.runtime.source is ValueSource.CONFIG
    s = load_settings({}, env={"ALPHACUT_RUNTIME": "OpenVINO"}, config_file=cfg)
    assert s.runtime.value == "openvino" and s.runtime.source is ValueSource.ENV
    s = load_settings({"runtime": "auto"}, env={"ALPHACUT_RUNTIME": "openvino"}, config_file=cfg)
    assert s.runtime.value == "auto" and s.runtime.source is ValueSource.FLAG
    with pytest.raises(OptionsError):
        load_settings({}, env={"ALPHACUT_RUNTIME": "tensorrt"}, config_file=cfg)
    assert ("runtime", "auto", "flag") in load_settings({"runtime": "auto"}, env={}, config_file=cfg).as_rows()


def test_cli_runtime_flag_reaches_the_remover(monkeypatch: Any, tmp_path: Path, tiny_spec: Any) -> None:
    from click.testing import CliRunner

    from alphacut import Remover, cli
    from alphacut.runtime.fake import FakeBackend

    seen: list[Any] = []

    def fake_remover(settings: Any, **kwargs: Any) -> Remover:
        seen.append(settings.runtime)
        return Remover(tiny_spec, backend=FakeBackend())

    monkeypatch.setattr(cli, "_remover", fake_remover)
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ALPHACUT_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("ALPHACUT_RUNTIME", "openvino")
    image = tmp_path / "in.png"
    from ..conftest import encoded, square_image

    image.write_bytes(encoded(square_image(), "PNG"))
    runner = CliRunner()
    res = runner.invoke(cli.main, ["remove", str(image), "-o", str(tmp_path / "a.png"), "--runtime", "onnxruntime"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli.main, ["remove", str(image), "-o", str(tmp_path / "b.png")])
    assert res.exit_code == 0, res.output
    assert [(s.value, s.source) for s in seen] == [("onnxruntime", ValueSource.FLAG), ("openvino", ValueSource.ENV)]
    res = runner.invoke(cli.main, ["remove", str(image), "--runtime", "tflite"])
    assert res.exit_code != 0 and "tflite" in res.output


def test_remover_names_its_runtime_in_cutout_info(tmp_path: Path, tiny_onnx: Path) -> None:
    from alphacut import Remover
    from alphacut.models.store import ModelStore

    from ..conftest import square_image

    store = ModelStore(tmp_path / "home", offline=True)
    store.add("tiny", tiny_onnx, input_size=64, mean=[0.5] * 3, std=[1.0] * 3)
    for runtime in (["onnxruntime"] + ([] if OV_MISSING else ["openvino"])):
        r = Remover("tiny", store=store, runtime=runtime, settings=load_settings({"home": tmp_path / "home"}, env={}))
        info = r.cutout(square_image()).info
        assert info.runtime.startswith(runtime + " ")


@pytest.mark.model
@needs_ov
def test_real_model_mattes_agree_between_runtimes() -> None:
    """The default model on both runtimes, full pipeline, two evaldata photos: mean |diff| <= 1/255."""
    from alphacut import Remover
    from alphacut.config import load_settings as settings_of
    from alphacut.models.store import ModelStore

    settings = settings_of({"offline": True})
    store = ModelStore(settings.home_path, offline=True)
    if not store.is_cached(store.catalog.default):
        pytest.skip("the default model is not cached (alphacut models fetch)")
    evaldata = Path(__file__).resolve().parents[4] / "shared" / "evaldata"  # ../shared beside the repo
    if not evaldata.is_dir():
        pytest.skip("../shared/evaldata is absent")
    photos = [min((evaldata / s / "images").iterdir()) for s in ("davis_people", "ebay_products")]
    ort = Remover(settings=settings, store=store, runtime="onnxruntime")
    ov = Remover(settings=settings, store=store, runtime="openvino")
    assert ov.wait_ready().backend.info.runtime.startswith("openvino")
    for photo in photos:
        a, b = ort.matte(photo), ov.matte(photo)
        assert a.shape == b.shape
        assert float(np.abs(a - b).mean()) <= 1 / 255, photo


@needs_ov
def test_concurrent_callers_get_one_stream_each(tiny_onnx: Path) -> None:
    """The server's workers share one backend: OpenVINO then runs one stream per worker."""
    b = load_backend(tiny_onnx, runtime="openvino", threads=1, concurrency=2)
    compiled = next(iter(b._shapes.values())).compiled
    assert int(compiled.get_property("NUM_STREAMS")) == 2 and b.info.threads == 2
    assert str(compiled.get_property("PERFORMANCE_HINT")).endswith("THROUGHPUT")
    single = load_backend(tiny_onnx, runtime="openvino", threads=2)
    assert str(next(iter(single._shapes.values())).compiled.get_property("PERFORMANCE_HINT")).endswith("LATENCY")
    ort = load_backend(tiny_onnx, runtime="onnxruntime", threads=1, concurrency=2)
    assert ort.info.threads == 1  # onnxruntime runs concurrent calls on one session in parallel as it is


def test_doctor_says_which_runtime_runs_and_why(tmp_path: Path, tiny_onnx: Path, monkeypatch: Any) -> None:
    from click.testing import CliRunner

    from alphacut.cli import main
    from alphacut.models.store import ModelStore

    monkeypatch.setenv("ALPHACUT_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("ALPHACUT_RUNTIME", raising=False)
    store = ModelStore(tmp_path, offline=True)
    store.add("tiny", tiny_onnx, input_size=64, mean=[0.5] * 3, std=[1.0] * 3)
    monkeypatch.setenv("ALPHACUT_MODEL", "tiny")
    out = CliRunner().invoke(main, ["--home", str(tmp_path), "doctor", "--runtime", "onnxruntime"]).output
    assert "runtime       onnxruntime [flag]" in out and "runs        tiny on onnxruntime" in out
    assert "why         chosen by the runtime setting" in out and "  isa " in out
    if not OV_MISSING:
        out = CliRunner().invoke(main, ["--home", str(tmp_path), "doctor"]).output
        assert "runtime       auto [default]" in out and "runs        tiny on openvino" in out
        assert "openvino    runs here" in out and "precision   " in out
    monkeypatch.setitem(sys.modules, "openvino", None)  # as where it is not installed
    out = CliRunner().invoke(main, ["--home", str(tmp_path), "doctor"]).output
    assert "openvino    not usable: OpenVINO is not installed" in out
    assert "runs        tiny on onnxruntime" in out and "why         OpenVINO not used" in out
