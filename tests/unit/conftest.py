"""Fixtures for fast unit tests: a tiny ONNX model, a fake backend, generated images."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alphacut.runtime.fake import FakeBackend


def make_tiny_onnx(path: Path, size: int | None = 64) -> Path:
    """A 1-op-deep 'segmenter': sigmoid(k * (|x - border mean| summed - t)), built with onnx.helper."""
    import onnx
    from onnx import TensorProto, helper

    dim = size if size is not None else "h"
    dimw = size if size is not None else "w"
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, dim, dimw])
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, dim, dimw])
    side = helper.make_tensor_value_info("side", TensorProto.FLOAT, [1, 1, dim, dimw])
    k = helper.make_tensor("k", TensorProto.FLOAT, [], [-20.0])
    t = helper.make_tensor("t", TensorProto.FLOAT, [], [0.0])
    nodes = [
        # the fixtures draw dark subjects (x/255 - 0.5 < 0) on light backgrounds
        helper.make_node("ReduceMean", ["input"], ["m"], axes=[1], keepdims=1),
        helper.make_node("Sub", ["m", "t"], ["d"]),
        helper.make_node("Mul", ["d", "k"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["output"]),
        helper.make_node("Identity", ["z"], ["side"]),
    ]
    graph = helper.make_graph(nodes, "tiny", [inp], [out, side], initializer=[k, t])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_onnx(tmp_path_factory.mktemp("model") / "tiny.onnx")


@pytest.fixture
def fake_backend() -> FakeBackend:
    return FakeBackend(size_hw=(64, 64))


def square_image(w: int = 120, h: int = 80, *, fg=(20, 30, 200), bg=(240, 240, 240)) -> Image.Image:
    """A light background with a dark rectangle in the middle half."""
    arr = np.zeros((h, w, 3), np.uint8)
    arr[:] = bg
    arr[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = fg
    return Image.fromarray(arr, "RGB")


def encoded(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture
def run(monkeypatch, tiny_spec, tmp_path):
    """The CLI, in-process, on the fake backend with an empty home and no config: run("remove", ...)."""
    from click.testing import CliRunner

    from alphacut import Remover, cli

    remover_kwargs: list[dict[str, object]] = []  # what each command asked cli._remover for, besides settings

    def fake_remover(settings: object, **kwargs: object) -> Remover:
        remover_kwargs.append(kwargs)
        return Remover(tiny_spec, backend=FakeBackend(), settings=settings)  # type: ignore[arg-type]

    monkeypatch.setattr(cli, "_remover", fake_remover)
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ALPHACUT_CONFIG", str(tmp_path / "none.toml"))

    def invoke(*args: str, input: bytes | None = None):
        return CliRunner().invoke(cli.main, list(args), input=input, catch_exceptions=False)

    invoke.remover_kwargs = remover_kwargs  # type: ignore[attr-defined]
    return invoke
