"""``fp16-to-fp32``: fp16 initializers, constants and Cast targets become fp32; the no-op casts go."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .graph import _all_nodes, _require_onnx, _sort_topologically, _tensor_elem_types

if TYPE_CHECKING:
    import onnx

__all__ = ["make_fp32"]


def make_fp32(model: onnx.ModelProto) -> onnx.ModelProto:
    """Return a copy of ``model`` with every fp16 tensor, constant and cast target turned fp32.

    Casts that become float→float are removed; a removed cast's output name, if it is a graph
    output, is given to the tensor it copied, so the graph's interface keeps its names.
    """
    _require_onnx()
    import onnx
    from onnx import TensorProto, numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    _sort_topologically(graph)
    fp16, fp32 = TensorProto.FLOAT16, TensorProto.FLOAT

    def to_fp32(tensor: onnx.TensorProto) -> onnx.TensorProto:
        array = numpy_helper.to_array(tensor).astype("float32")
        return numpy_helper.from_array(array, tensor.name)

    for i, init in enumerate(graph.initializer):
        if init.data_type == fp16:
            graph.initializer[i].CopyFrom(to_fp32(init))
    for node in _all_nodes(graph):
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == fp16:
                attr.t.CopyFrom(to_fp32(attr.t))
            elif attr.type == onnx.AttributeProto.INT and attr.name in ("to", "dtype") and attr.i == fp16:
                attr.i = fp32
    for value in [*graph.input, *graph.output, *graph.value_info]:
        if value.type.tensor_type.elem_type == fp16:
            value.type.tensor_type.elem_type = fp32

    _remove_noop_casts(out)
    return out


def _remove_noop_casts(model: onnx.ModelProto) -> None:
    """Drop top-level Cast nodes whose input already has the target type."""
    graph = model.graph
    types = _tensor_elem_types(model)
    graph_outputs = {o.name for o in graph.output}
    graph_inputs = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    producer = {name: node for node in graph.node for name in node.output}
    alias: dict[str, str] = {}

    def resolve(name: str) -> str:
        while name in alias:
            name = alias[name]
        return name

    dropped: list[onnx.NodeProto] = []
    renames: dict[str, str] = {}  # producer output renamed to a graph output name
    for node in graph.node:
        if node.op_type != "Cast" or node.domain not in ("", "ai.onnx"):
            continue
        target = next(a.i for a in node.attribute if a.name == "to")
        source = resolve(node.input[0])
        if types.get(node.input[0]) != target:
            continue
        if node.output[0] not in graph_outputs:
            alias[node.output[0]] = source
            dropped.append(node)
        elif (source in producer and source not in graph_inputs and source not in graph_outputs
              and source not in renames):
            renames[source] = node.output[0]
            dropped.append(node)
    for node in dropped:
        graph.node.remove(node)
    for node in _all_nodes(graph):
        for i, name in enumerate(node.input):
            name = resolve(name)
            node.input[i] = renames.get(name, name)
        for i, name in enumerate(node.output):
            node.output[i] = renames.get(name, name)
    gone = set(alias) | set(renames)
    keep = [v for v in graph.value_info if v.name not in gone]
    del graph.value_info[:]
    graph.value_info.extend(keep)
