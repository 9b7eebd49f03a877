"""Static int8 quantization (QDQ format) from activation ranges measured beforehand."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...errors import ModelError
from .graph import _remove_dead_nodes, _sort_topologically, _tensor_elem_types

if TYPE_CHECKING:
    import onnx

__all__ = ["make_int8"]

#: Ops whose float data inputs and outputs get a QuantizeLinear/DequantizeLinear pair, so ONNX
#: Runtime runs them as int8 kernels (QLinearConv, QLinearConcat, QLinearAdd, uint8 MaxPool/Resize).
_QDQ_OPS = {"Conv": (0,), "MaxPool": (0,), "Resize": (0,), "Concat": None, "Add": None, "Sigmoid": (0,)}
#: Ops whose output range lies inside their input's: the output reuses the input's scale, which
#: lets ONNX Runtime drop the pair around them and run them on uint8 directly.
_SHARE_SCALE_OPS = frozenset({"MaxPool", "Resize"})
#: Weights use 7 bits (-63..63): x86 CPUs without VNNI multiply uint8 x int8 pairs into int16
#: (vpmaddubsw), which saturates for 8-bit weights (255 * 127 * 2 > 32767) and not for 7-bit ones,
#: so the one model file gives the same result on AVX2-only and VNNI machines.
_W_MAX = 63


def _qparams_u8(lo: float, hi: float) -> tuple[np.float32, np.uint8]:
    """Asymmetric uint8 scale and zero point covering [lo, hi] (and 0, as ONNX requires)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = np.float32((hi - lo) / 255.0) if hi > lo else np.float32(1.0)
    zero = np.uint8(min(255, max(0, round(-lo / float(scale)))))
    return scale, zero


def make_int8(model: onnx.ModelProto, ranges: dict[str, tuple[float, float]],
              keep_float: frozenset[str] = frozenset()) -> onnx.ModelProto:
    """Static int8 quantization in ONNX's QDQ format, from activation ranges measured beforehand.

    - Only the first graph output (the matte) is kept; side outputs and what feeds only them go.
    - A Relu that alone consumes a Conv's output is folded into the Conv: the Conv's output is
      quantized with the Relu's range, whose zero point 0 clamps negatives exactly as Relu did.
    - Conv weights: symmetric 7-bit per output channel (scale max|w|/63, see _W_MAX); biases int32 at
      input scale x weight scale. Activations: asymmetric uint8 over the measured [min, max].
    - Every float tensor that enters or leaves a Conv, MaxPool, Resize, Concat, Add or Sigmoid
      (except the graph output) is quantized; ONNX Runtime fuses the QDQ pairs into int8 kernels
      (VNNI / AVX-512 / AVX2), about 2.5x faster than fp32 on a Zen 4 core.

    Deterministic: numpy float32 arithmetic on the weights and the given ranges only, so the same
    model and ranges give byte-identical output on every CPU.

    Args:
        model: an fp32 graph (e.g. after :func:`make_fp32`); modified in place and returned.
        ranges: tensor name -> (min, max) of that tensor over calibration images, for every
            activation tensor the rules above quantize (see bench/data/calibrate_int8.py).
        keep_float: names of Conv nodes left in float (weights and output), e.g. a cheap last
            layer whose precision the matte needs.
    """
    import onnx
    from onnx import helper, numpy_helper

    if not any(op.domain in ("", "ai.onnx") and op.version >= 13 for op in model.opset_import):
        raise ModelError("model.transform-failed", "Per-channel QDQ needs ONNX opset 13 or later.")
    graph = model.graph
    del graph.output[1:]
    _remove_dead_nodes(graph)
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    producer = {name: node for node in graph.node for name in node.output}
    outputs = {o.name for o in graph.output}
    # Fold Relu into the Conv before it.
    dropped: set[int] = set()
    for node in graph.node:
        if node.op_type != "Relu":
            continue
        conv = producer.get(node.input[0])
        if conv is None or conv.op_type != "Conv" or len(consumers[node.input[0]]) != 1 or node.input[0] in outputs:
            continue
        conv.output[0] = node.output[0]
        dropped.add(id(node))
    nodes = [n for n in graph.node if id(n) not in dropped]
    del graph.node[:]
    graph.node.extend(nodes)

    inits = {i.name: i for i in graph.initializer}
    is_float = {name for name, t in _tensor_elem_types(model).items() if t == onnx.TensorProto.FLOAT}
    # Which tensors to quantize, and with whose range.
    wanted: dict[str, str] = {}  # tensor -> name of the tensor whose range it uses
    for node in graph.node:
        slots = _QDQ_OPS.get(node.op_type, ())
        if slots == () or node.output[0] not in is_float or node.name in keep_float:
            continue  # not a quantized op, shape arithmetic (int64 Concat/Add), or kept in float
        data_inputs = list(node.input) if slots is None else [node.input[i] for i in slots]
        for name in data_inputs:
            if name and name not in inits:
                wanted.setdefault(name, name)
        if node.op_type != "Sigmoid" and node.output[0] not in outputs:
            wanted[node.output[0]] = (wanted.get(node.input[0], node.input[0])
                                      if node.op_type in _SHARE_SCALE_OPS else node.output[0])
    missing = sorted({src for src in wanted.values() if src not in ranges})
    if missing:
        raise ModelError("model.transform-failed",
                         f"No calibration range for {len(missing)} tensors (e.g. {missing[0]}): the ranges "
                         "were measured on a different graph.")
    params = {name: _qparams_u8(*ranges[src]) for name, src in wanted.items()}

    new_nodes: list[onnx.NodeProto] = []
    new_inits: list[onnx.TensorProto] = []
    renamed: dict[str, str] = {}
    for name, (scale, zero) in params.items():
        q, dq = f"{name}_q8", f"{name}_dq8"
        new_inits += [numpy_helper.from_array(np.array(scale, np.float32), f"{name}_q8_scale"),
                      numpy_helper.from_array(np.array(zero, np.uint8), f"{name}_q8_zero")]
        new_nodes += [helper.make_node("QuantizeLinear", [name, f"{name}_q8_scale", f"{name}_q8_zero"], [q],
                                       name=f"{name}_Q8"),
                      helper.make_node("DequantizeLinear", [q, f"{name}_q8_scale", f"{name}_q8_zero"], [dq],
                                       name=f"{name}_DQ8")]
        renamed[name] = dq
    for node in graph.node:
        for k, name in enumerate(node.input):
            if name in renamed:
                node.input[k] = renamed[name]

    for node in graph.node:
        if node.op_type != "Conv" or node.name in keep_float:
            continue
        x_scale = params[node.input[0].removesuffix("_dq8")][0]
        w_init = inits[node.input[1]]
        w = numpy_helper.to_array(w_init).astype(np.float32)
        w_scale = (np.abs(w.reshape(w.shape[0], -1)).max(axis=1) / np.float32(_W_MAX)).astype(np.float32)
        w_scale[w_scale == 0] = np.float32(1.0)
        shape = (-1,) + (1,) * (w.ndim - 1)
        w_q = np.clip(np.round(w / w_scale.reshape(shape)), -_W_MAX, _W_MAX).astype(np.int8)
        base = node.input[1]
        new_inits += [numpy_helper.from_array(w_q, f"{base}_w8"),
                      numpy_helper.from_array(w_scale, f"{base}_w8_scale"),
                      numpy_helper.from_array(np.zeros(w.shape[0], np.int8), f"{base}_w8_zero")]
        new_nodes.append(helper.make_node("DequantizeLinear", [f"{base}_w8", f"{base}_w8_scale", f"{base}_w8_zero"],
                                          [f"{base}_w8_dq"], name=f"{base}_W8", axis=0))
        node.input[1] = f"{base}_w8_dq"
        if len(node.input) > 2 and node.input[2]:
            b_name = node.input[2]
            b = numpy_helper.to_array(inits[b_name]).astype(np.float32)
            b_scale = (w_scale * x_scale).astype(np.float32)
            b_q = np.round(b / b_scale).astype(np.int32)
            new_inits += [numpy_helper.from_array(b_q, f"{b_name}_b32"),
                          numpy_helper.from_array(b_scale, f"{b_name}_b32_scale"),
                          numpy_helper.from_array(np.zeros(b.shape[0], np.int32), f"{b_name}_b32_zero")]
            new_nodes.append(helper.make_node("DequantizeLinear", [f"{b_name}_b32", f"{b_name}_b32_scale",
                                                                   f"{b_name}_b32_zero"],
                                              [f"{b_name}_b32_dq"], name=f"{b_name}_B32", axis=0))
            node.input[2] = f"{b_name}_b32_dq"
    graph.node.extend(new_nodes)
    graph.initializer.extend(new_inits)
    _remove_dead_nodes(graph)  # the float weights nothing reads any more
    _sort_topologically(graph)
    return model
