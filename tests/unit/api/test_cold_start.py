"""What cold start relies on: light imports, and a model that loads in the background without hiding errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from alphacut.api import Remover, _load_in_background
from alphacut.errors import BackendError
from alphacut.models.store import ModelStore
from alphacut.runtime.background import BackgroundBackend
from alphacut.runtime.fake import FakeBackend

from ..conftest import square_image

HEAVY = ("onnxruntime", "scipy", "PIL", "numpy")


def _loaded_after(code: str) -> set[str]:
    """Top-level packages among HEAVY that are imported after running `code` in a fresh interpreter."""
    probe = (f"import sys, json\n{code}\n"
             f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r})))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_import_alphacut_loads_no_heavy_module():
    assert _loaded_after("import alphacut; alphacut.Options; alphacut.AlphacutError") == set()


def test_remover_class_loads_no_onnxruntime_scipy_or_pillow():
    assert _loaded_after("from alphacut import Remover, remove") == set()


@pytest.mark.parametrize("args", [["--help"], ["presets"], ["remove", "--help"]])
def test_cli_commands_that_run_no_model_load_no_onnxruntime_or_scipy(args):
    code = (f"from alphacut.cli import main\ntry:\n    main({args!r})\nexcept SystemExit as e:\n"
            f"    assert not e.code, e.code")
    assert _loaded_after(code) & {"onnxruntime", "scipy"} == set()


def test_lazy_names_resolve_to_the_real_objects():
    import alphacut
    from alphacut import api, pipeline

    assert alphacut.Remover is api.Remover and alphacut.remove is api.remove
    assert alphacut.Cutout is pipeline.Cutout and alphacut.CutoutInfo is pipeline.CutoutInfo
    assert set(alphacut.__all__) <= set(dir(alphacut))
    with pytest.raises(AttributeError):
        alphacut.not_a_name  # noqa: B018


def test_background_backend_waits_for_the_build():
    release = threading.Event()

    def build() -> FakeBackend:
        release.wait(5)
        return FakeBackend(size_hw=(64, 64))

    backend = BackgroundBackend(build, name="slow")
    assert not backend.done
    release.set()
    assert backend.info.fixed_size_hw == (64, 64)
    assert backend.run(np.zeros((1, 3, 64, 64), np.float32)).shape == (1, 1, 64, 64)
    assert backend.done


def test_background_build_error_is_raised_by_every_call_not_swallowed():
    def build() -> FakeBackend:
        raise BackendError("backend.load-failed", "broken")

    backend = BackgroundBackend(build, name="broken")
    for call in (backend.wait, lambda: backend.info, lambda: backend.run(np.zeros((1, 3, 64, 64), np.float32))):
        with pytest.raises(BackendError) as err:
            call()
        assert err.value.code == "backend.load-failed"


def test_a_bad_model_file_fails_on_wait_ready_and_on_use(tmp_path, tiny_onnx):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(tiny_onnx.read_bytes()[:40])  # looks like ONNX, is truncated
    store = ModelStore(tmp_path / "home", offline=True)
    store.add("broken-net", bad, input_size=64, mean=(0.5,) * 3, std=(1.0,) * 3)
    remover = Remover("broken-net", store=store)  # returns at once; the load fails in its thread
    with pytest.raises(BackendError) as err:
        remover.wait_ready()
    assert err.value.code == "backend.load-failed"
    with pytest.raises(BackendError) as err:
        remover.matte(square_image(64, 64))
    assert err.value.code == "backend.load-failed"


def test_remover_loading_in_background_serves_many_threads(tmp_path, tiny_onnx):
    store = ModelStore(tmp_path / "home", offline=True)
    store.add("tiny-net", tiny_onnx, input_size=64, mean=(0.5,) * 3, std=(1.0,) * 3)
    remover = Remover("tiny-net", store=store, threads=1)
    assert isinstance(remover.backend, BackgroundBackend)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(remover.matte(square_image(64, 64)))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]  # all start before the model is loaded
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 4 and all(np.array_equal(r, results[0]) for r in results)
    assert remover.wait_ready() is remover


def test_load_in_background_builds_an_onnx_backend(tiny_onnx, tiny_spec):
    backend = _load_in_background(tiny_onnx, tiny_spec, threads=1, providers=None, runtime="onnxruntime")
    assert isinstance(backend, BackgroundBackend)
    assert backend.info.provider == "CPUExecutionProvider"


def test_a_small_mask_cutout_needs_no_scipy():
    code = ("import io\nimport numpy as np\nfrom PIL import Image\nfrom alphacut.api import Remover\n"
            "from alphacut.models.catalog import ModelSpec\nfrom alphacut.runtime.fake import FakeBackend\n"
            "spec = ModelSpec.from_dict({'id': 't', 'description': '', 'licence': '', 'checksum': 'sha256:' + '0' * 64,"
            " 'input_size': 64, 'mean': [0.5] * 3, 'std': [1.0] * 3, 'sources': [{'kind': 'file', 'path': '/x'}]})\n"
            "a = np.full((80, 120, 3), 240, np.uint8); a[20:60, 30:90] = 20\n"
            "out = Remover(spec, backend=FakeBackend(size_hw=(64, 64))).remove_bytes(Image.fromarray(a), format='mask')\n"
            "assert out[:4] == b'\\x89PNG'")
    assert "scipy" not in _loaded_after(code)


@pytest.mark.parametrize("kwargs, wanted", [({"format": "mask"}, False), ({"format": "png"}, True),
                                            ({"format": "mask", "erode_px": 2}, True),
                                            ({"format": "png", "decontaminate": False}, False)])
def test_preload_imports_scipy_only_when_finishing_will_use_it(kwargs, wanted):
    code = ("from alphacut.options import Options\nfrom alphacut.pipeline import preload\n"
            f"preload(Options.from_kwargs(**{kwargs!r}))")
    assert ("scipy" in _loaded_after(code)) is wanted


@pytest.mark.parametrize("args, code", [(["presets"], 0), (["--version"], 0), (["remove"], 2),
                                        (["remove", "/nonexistent.jpg", "-o", "x.png"], 3)])
def test_console_entry_flushes_output_and_keeps_the_exit_code(args, code, tmp_path):
    """entry() leaves with os._exit: what was printed must still arrive, with the command's exit code."""
    script = "import sys\nfrom alphacut.cli import entry\nsys.argv[0] = 'alphacut'\nentry()"
    env = {**os.environ, "ALPHACUT_HOME": str(tmp_path / "home"), "ALPHACUT_OFFLINE": "1"}
    res = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=tmp_path, env=env,
                         check=False)
    assert res.returncode == code, res.stderr
    if args == ["presets"]:
        from alphacut.presets import PRESETS

        assert len(res.stdout.strip().splitlines()) == len(PRESETS)
    if code:
        assert res.stderr.strip()


def test_batch_reports_the_time_it_waited_for_the_model(tmp_path, tiny_spec):
    """The batch decodes while the model loads; the wait is reported apart (bench subtracts it)."""

    from alphacut.batch import Outcome, run_batch
    from alphacut.io.files import Job
    from alphacut.options import Options

    release = threading.Event()

    def build() -> FakeBackend:
        release.wait(5)
        return FakeBackend(size_hw=(64, 64))

    remover = Remover(tiny_spec, backend=BackgroundBackend(build, name="slow"))
    jobs = []
    for i in range(3):
        src = tmp_path / f"in{i}.png"
        square_image(48, 48).save(src)
        jobs.append(Job(src, tmp_path / "out" / f"{i}.png"))
    threading.Timer(0.3, release.set).start()
    summary = run_batch(remover, jobs, Options())
    assert summary.count(Outcome.DONE) == 3
    assert 0.1 < summary.model_wait_s <= summary.seconds
