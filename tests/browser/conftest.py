"""Browser tests: a live alphacut server on 127.0.0.1 (free port, in a thread) and Debian's chromium
driven by the npm package playwright-core (tests/browser/driver.mjs). Skipped, with the reason, when
node, chromium, playwright-core or the built page are missing; `make browser-deps web` provides them."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB_SRC = ROOT / "web"
CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path(__file__).with_name("driver.mjs")


def missing_tools() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (run `make browser-deps`)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (run `make browser-deps`)"
    if not (WEB_SRC / "node_modules" / "playwright-core").is_dir():
        return "web/node_modules/playwright-core is missing (run `make web`)"
    from alphacut.server.app import web_dir

    if not (web_dir() / "index.html").is_file():
        return "the page is not built into src/alphacut/web (run `make web`)"
    return None


@pytest.fixture(scope="session")
def browser_tools() -> None:
    reason = missing_tools()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def fake_base(browser_tools: None, live_server: Any, tiny_spec: Any) -> str:
    """A live server with the fake backend (64 px mattes) and no private-mode model."""
    from alphacut.api import Remover
    from alphacut.runtime.fake import FakeBackend

    return str(live_server(Remover(tiny_spec, backend=FakeBackend(size_hw=(64, 64))), model_file=lambda _i: None))


def with_checksum(spec: Any, model: Path) -> Any:
    """spec with the sha256 of the model file a test serves: /config.json gives it to the page, which checks
    the file against it before use (web/src/model-cache.js)."""
    import hashlib
    from dataclasses import replace

    return replace(spec, checksum="sha256:" + hashlib.sha256(model.read_bytes()).hexdigest())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server() -> Iterator[Callable[..., str]]:
    """Start create_app(remover, ...) under uvicorn in a thread; returns its base URL."""
    import uvicorn

    from alphacut.server.app import create_app
    from alphacut.server.schemas import ServerSettings

    servers: list[tuple[Any, threading.Thread]] = []

    def start(remover: Any, settings_overrides: dict[str, Any] | None = None, **kwargs: Any) -> str:
        port = _free_port()
        app = create_app(remover, ServerSettings(port=port, **(settings_overrides or {})), **kwargs)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}/"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def drive(job: dict[str, Any], timeout_s: float = 600) -> dict[str, Any]:
    """Run driver.mjs with one job; return its JSON report."""
    job = {"webDir": str(WEB_SRC), "chromium": str(CHROMIUM), **job}
    proc = subprocess.run(["node", str(DRIVER)], input=json.dumps(job), capture_output=True, text=True,
                          timeout=timeout_s, cwd=ROOT, check=False)
    assert proc.returncode == 0, f"driver failed:\n{proc.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def save_matting_model(path: Path, name: str, nodes: list[Any], inits: list[Any]) -> None:
    """A small ONNX matting network made in a test: `nodes` from "input" (1×3×H×W float) to "output"
    (1×1×H×W), dynamic H and W, opset 17, checked and saved at path."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "height", "width"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "height", "width"])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def sample_photo(tmp_path: Path, wh: tuple[int, int]) -> Path:
    """samples/coffee.jpg shrunk to wh, as PNG (the browser and Pillow decode the same pixels): edges at
    several scales, so a test network's output varies."""
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.open(ROOT / "samples" / "coffee.jpg").convert("RGB").resize(wh, Image.Resampling.BILINEAR).save(path)
    return path
