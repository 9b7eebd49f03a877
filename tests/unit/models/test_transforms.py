"""Graph transforms on tiny ISNet-shaped ONNX graphs built with onnx.helper."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper

from alphacut.errors import ModelError
from alphacut.models.transforms import (
    TRANSFORMS,
    apply_transform,
    load_calibration,
    make_fp32,
    make_int8,
    make_resolution_dynamic,
)

OPSET = 15
SIDE = 32  # the tiny graph's fixed input side


def _weights(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "w_in": rng.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32),
        "w_mid": rng.normal(0, 0.5, (4, 4, 3, 3)).astype(np.float32),
        "w_out": rng.normal(0, 0.5, (1, 8, 3, 3)).astype(np.float32),
        "w_side": rng.normal(0, 0.5, (1, 4, 1, 1)).astype(np.float32),
    }


def build_unet(side: int = SIDE, *, seed: int = 0, shape_sizes: bool = True,
               upsample_to: int | None = None) -> onnx.ModelProto:
    """conv → skip; pool → conv → Resize back up (constant size) → Relu → Concat with the skip → conv →
    sigmoid ("out"); and a side branch: conv on the pooled map → Resize to the input size → sigmoid
    ("side"). ``shape_sizes`` builds the Resize sizes as PyTorch exports them (Shape/Slice/Concat
    with a constant H, W); otherwise as one constant initializer."""
    up = upsample_to or side
    inits = [numpy_helper.from_array(v, k) for k, v in _weights(seed).items()]
    nodes = [
        helper.make_node("Conv", ["input", "w_in"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["skip"]),
        helper.make_node("MaxPool", ["skip"], ["pooled"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
        helper.make_node("Conv", ["pooled", "w_mid"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["low"]),
        helper.make_node("Conv", ["low", "w_side"], ["side_low"]),
    ]
    for i, (src, dst) in enumerate((("low", "up"), ("side_low", "side_up"))):
        size = f"size{i}"
        if shape_sizes:
            inits += [numpy_helper.from_array(np.array([0], np.int64), f"s{i}_0"),
                      numpy_helper.from_array(np.array([2], np.int64), f"s{i}_2"),
                      numpy_helper.from_array(np.array([up, up], np.int64), f"s{i}_hw")]
            nodes += [helper.make_node("Shape", [src], [f"shape{i}"]),
                      helper.make_node("Slice", [f"shape{i}", f"s{i}_0", f"s{i}_2", f"s{i}_0"], [f"nc{i}"]),
                      helper.make_node("Concat", [f"nc{i}", f"s{i}_hw"], [size], axis=0)]
        else:
            channels = 4 if i == 0 else 1
            inits.append(numpy_helper.from_array(np.array([1, channels, up, up], np.int64), size))
        nodes.append(helper.make_node("Resize", [src, "", "", size], [dst], mode="linear",
                                      coordinate_transformation_mode="half_pixel"))
    nodes += [
        helper.make_node("Relu", ["up"], ["up_relu"]),
        helper.make_node("Concat", ["up_relu", "skip"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w_out"], ["c3"], pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c3"], ["out"]),
        helper.make_node("Sigmoid", ["side_up"], ["side"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_unet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, side, side])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 1, side, side]),
         helper.make_tensor_value_info("side", TensorProto.FLOAT, [1, 1, up, up])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build_fp16() -> onnx.ModelProto:
    """float32 input → Cast fp16 → Conv (fp16 weights) + fp16 Constant → Cast float32 output."""
    rng = np.random.default_rng(1)
    w = rng.normal(0, 0.5, (2, 3, 3, 3)).astype(np.float16)
    nodes = [
        helper.make_node("Cast", ["input"], ["x16"], to=TensorProto.FLOAT16),
        helper.make_node("Conv", ["x16", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Constant", [], ["bias"],
                         value=numpy_helper.from_array(np.array(0.25, np.float16), "bias")),
        helper.make_node("Add", ["c", "bias"], ["a"]),
        helper.make_node("Cast", ["a"], ["a32"], to=TensorProto.FLOAT),
        helper.make_node("Sigmoid", ["a32"], ["s"]),
        helper.make_node("Cast", ["s"], ["output"], to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes, "tiny_fp16",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 2, 8, 8])],
        [numpy_helper.from_array(w, "w")],
        value_info=[helper.make_tensor_value_info("c", TensorProto.FLOAT16, [1, 2, 8, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def run(model: onnx.ModelProto, x: np.ndarray) -> dict[str, np.ndarray]:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"input": x})))


def image(h: int, w: int, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (1, 3, h, w)).astype(np.float32)


# ---------------------------------------------------------------------------- dynamic resolution

@pytest.mark.parametrize("shape_sizes", [True, False], ids=["shape-slice-sizes", "constant-sizes"])
def test_dynamic_gives_the_same_output_at_the_original_size(shape_sizes: bool) -> None:
    model = build_unet(shape_sizes=shape_sizes)
    x = image(SIDE, SIDE)
    before, after = run(model, x), run(make_resolution_dynamic(model), x)
    assert set(before) == set(after) == {"out", "side"}
    for name in before:
        np.testing.assert_allclose(after[name], before[name], rtol=0, atol=1e-6)


@pytest.mark.parametrize("hw", [(64, 64), (16, 16), (48, 80), (80, 48), (33, 47)])
@pytest.mark.parametrize("shape_sizes", [True, False], ids=["shape-slice-sizes", "constant-sizes"])
def test_dynamic_runs_at_other_sizes(hw: tuple[int, int], shape_sizes: bool) -> None:
    model = build_unet(shape_sizes=shape_sizes)
    out = run(make_resolution_dynamic(model), image(*hw))
    assert out["out"].shape == (1, 1, *hw)
    assert out["side"].shape == (1, 1, *hw)


def test_the_original_does_not_run_at_other_sizes() -> None:
    """Guards the test above: without the rewrite the tiny graph is fixed to its size."""
    with pytest.raises(Exception):  # noqa: B017 - onnxruntime raises its own error types
        run(build_unet(), image(64, 64))


def test_dynamic_at_a_new_size_equals_a_graph_built_for_that_size() -> None:
    x = image(64, 64, seed=5)
    dynamic = run(make_resolution_dynamic(build_unet(SIDE, seed=3)), x)
    native = run(build_unet(64, seed=3), x)
    for name in native:
        np.testing.assert_allclose(dynamic[name], native[name], rtol=0, atol=1e-6)


def test_dynamic_input_and_output_dims_are_symbolic() -> None:
    model = make_resolution_dynamic(build_unet())
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, "height", "width"]
    out_dims = [d.dim_param or d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert out_dims == [1, 1, "height", "width"]
    assert not any(n.op_type == "Resize" and len(n.input) > 3 and n.input[3].startswith("size")
                   for n in model.graph.node)


def test_dynamic_refuses_a_resize_with_nothing_to_take_its_size_from() -> None:
    model = build_unet(upsample_to=2 * SIDE)  # upsamples past every other tensor's size
    with pytest.raises(ModelError) as info:
        make_resolution_dynamic(model)
    assert info.value.code == "model.transform-failed"


def test_dynamic_refuses_an_already_dynamic_graph() -> None:
    model = make_resolution_dynamic(build_unet())
    with pytest.raises(ModelError) as info:
        make_resolution_dynamic(model)
    assert info.value.code == "model.transform-failed"


# ---------------------------------------------------------------------------------- fp16 -> fp32

def test_fp32_has_no_fp16_left_and_no_casts() -> None:
    model = make_fp32(build_fp16())
    assert all(i.data_type == TensorProto.FLOAT for i in model.graph.initializer)
    assert [n.op_type for n in model.graph.node] == ["Conv", "Constant", "Add", "Sigmoid"]
    const = next(n for n in model.graph.node if n.op_type == "Constant")
    assert const.attribute[0].t.data_type == TensorProto.FLOAT
    assert all(v.type.tensor_type.elem_type == TensorProto.FLOAT for v in model.graph.value_info)
    assert [i.name for i in model.graph.input] == ["input"]
    assert [o.name for o in model.graph.output] == ["output"]


def test_fp32_output_matches_the_fp16_graph_and_numpy() -> None:
    source = build_fp16()
    x = image(8, 8)
    fp16_out = run(source, x)["output"]
    fp32_out = run(make_fp32(source), x)["output"]
    np.testing.assert_allclose(fp32_out, fp16_out, rtol=0, atol=2e-3)
    w = numpy_helper.to_array(source.graph.initializer[0]).astype(np.float64)
    xp = np.pad(x[0].astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    conv = np.zeros((2, 8, 8))
    for dy in range(3):
        for dx in range(3):
            conv += np.einsum("oc,chw->ohw", w[:, :, dy, dx], xp[:, dy:dy + 8, dx:dx + 8])
    expected = 1 / (1 + np.exp(-(conv + 0.25)))
    np.testing.assert_allclose(fp32_out[0], expected, rtol=0, atol=1e-5)


# ---------------------------------------------------------------------------------- file level

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# The int8 transform needs ISNet's own tensors (its shipped calibration): tested above on the tiny
# graph through make_int8, and on the real model in tests/integration/test_transforms_real.py.
# tflite-to-onnx reads a TFLite file, not an ONNX one: tested in tests/unit/models/test_tflite.py.
@pytest.mark.parametrize("name", sorted(n for n in TRANSFORMS if "int8" not in n and n != "tflite-to-onnx"))
def test_transforms_are_deterministic_and_recorded(tmp_path: Path, name: str) -> None:
    src = tmp_path / "src.onnx"
    onnx.save(build_fp16() if name.startswith("fp16") else build_unet(), str(src))
    first, second = tmp_path / "a.onnx", tmp_path / "b.onnx"
    apply_transform(name, src, first)
    apply_transform(name, src, second)
    assert _sha256(first) == _sha256(second)
    meta = {p.key: p.value for p in onnx.load(str(first)).metadata_props}
    assert meta["alphacut.transforms"] == name.replace("+", ",")
    assert not list(tmp_path.glob(".*.tmp"))
    assert first.stat().st_mode & 0o777 == 0o644


def test_unknown_transform_suggests_a_name(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as info:
        apply_transform("fp16-to-fp23", tmp_path / "a.onnx", tmp_path / "b.onnx")
    assert info.value.code == "model.unknown-transform"
    assert info.value.hint is not None and "fp16-to-fp32" in info.value.hint


@pytest.mark.parametrize("content", [None, b"not an onnx model"], ids=["missing", "garbage"])
def test_unreadable_source_is_a_model_error(tmp_path: Path, content: bytes | None) -> None:
    src = tmp_path / "src.onnx"
    if content is not None:
        src.write_bytes(content)
    with pytest.raises(ModelError) as info:
        apply_transform("dynamic-resolution", src, tmp_path / "dst.onnx")
    assert info.value.code == "model.transform-failed"
    assert not (tmp_path / "dst.onnx").exists()


# ------------------------------------------------------------------------------------ static int8

def _ranges(model: onnx.ModelProto, xs: list[np.ndarray]) -> dict[str, tuple[float, float]]:
    """Min/max of every float activation over xs, measured as bench/data/calibrate_int8.py does."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    inits = {i.name for i in probe.graph.initializer}
    names = [o for n in probe.graph.node if n.op_type not in ("Shape", "Slice", "Concat") or n.output[0] == "cat"
             for o in n.output if o not in inits]
    have = {o.name for o in probe.graph.output}
    probe.graph.output.extend(helper.make_empty_tensor_value_info(n) for n in names if n not in have)
    lo: dict[str, float] = {}
    hi: dict[str, float] = {}
    for x in xs:
        for name, v in {**run(probe, x), "input": x}.items():
            if v.dtype == np.float32:
                lo[name] = min(lo.get(name, np.inf), float(v.min()))
                hi[name] = max(hi.get(name, -np.inf), float(v.max()))
    return {n: (lo[n], hi[n]) for n in lo}


def test_int8_matches_fp32_within_quantization_error_and_folds_relu() -> None:
    model = build_unet()
    xs = [image(SIDE, SIDE, seed=s) for s in range(4)]
    q = make_int8(build_unet(), _ranges(model, xs))
    ops = [n.op_type for n in q.graph.node]
    assert "Relu" not in [n.op_type for n in q.graph.node if n.input[0] in ("c1", "c2")]  # folded into Convs
    assert ops.count("Relu") == 1  # the Relu after a Resize is not a Conv's: kept
    assert [o.name for o in q.graph.output] == ["out"]  # side output pruned
    weights = [numpy_helper.to_array(i) for i in q.graph.initializer if i.data_type == TensorProto.INT8
               and i.name.endswith("_w8")]
    assert len(weights) == 3 and all(np.abs(w).max() <= 63 for w in weights)
    x = image(SIDE, SIDE, seed=9)  # not a calibration image
    ref, got = run(model, x)["out"], run(q, x)["out"]
    err = np.abs(got - ref)
    assert err.mean() < 0.02 and err.max() < 0.1, (err.mean(), err.max())
    assert err.mean() > 0  # really quantized, not the float graph again


def test_int8_runs_on_the_dynamic_graph_at_other_sizes() -> None:
    model = make_resolution_dynamic(build_unet())
    ranges = _ranges(build_unet(), [image(SIDE, SIDE, seed=s) for s in range(3)])
    q = make_int8(model, ranges)
    x = image(48, 80, seed=5)
    assert run(q, x)["out"].shape == (1, 1, 48, 80)
    np.testing.assert_allclose(run(q, x)["out"], run(model, x)["out"], atol=0.1)


def test_int8_is_deterministic_and_refuses_ranges_of_another_graph() -> None:
    ranges = _ranges(build_unet(), [image(SIDE, SIDE)])
    a = make_int8(build_unet(), ranges).SerializeToString(deterministic=True)
    b = make_int8(build_unet(), dict(ranges)).SerializeToString(deterministic=True)
    assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest()
    with pytest.raises(ModelError, match="calibration range"):
        make_int8(build_unet(), {k: v for k, v in ranges.items() if k != "skip"})


def test_shipped_calibration_loads() -> None:
    ranges = load_calibration("isnet-general-use")
    assert len(ranges) > 100 and all(lo <= hi for lo, hi in ranges.values())
    with pytest.raises(ModelError, match="no calibration"):
        load_calibration("no-such-model")
