"""``dynamic-resolution``: the image input takes any height and width; each constant-size Resize
takes its size at run time from the tensor it is later joined with (or from the input image)."""

from __future__ import annotations

import logging
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from ...errors import ModelError
from .graph import _remove_dead_nodes, _require_onnx, _sort_topologically

if TYPE_CHECKING:
    import onnx

__all__ = ["make_resolution_dynamic"]

logger = logging.getLogger(__name__)

_PREFIX = "alphacut_dyn"
# Ops that keep the spatial layout of their one data input (walked through to find a Concat/Add).
_ELEMENTWISE_BINARY = frozenset({"Add", "Sub", "Mul", "Div", "Sum", "Max", "Min", "Mean"})
_HEIGHT, _WIDTH = "height", "width"
Dims = tuple[int | str | None, ...]  # a tensor shape: int, symbolic name or unknown per axis


def make_resolution_dynamic(model: onnx.ModelProto) -> onnx.ModelProto:
    """Return a copy of ``model`` whose image input takes any height and width.

    Every Resize whose output has a static spatial size gets that size at run time from a tensor
    of the same spatial size that it meets downstream in a Concat (on a non-spatial axis) or an
    elementwise Add/Mul/...; failing that, from the image input when the sizes match. The graph
    needs exactly one 4-D (N, C, H, W) input. At the original size the output is unchanged: on
    ISNet bit-identical under ORT_ENABLE_EXTENDED. Under ORT_ENABLE_ALL the NCHWc layout pass
    handles constant-size Resize nodes differently, and in an fp16-weight graph those 1e-7 changes
    can flip fp16 roundings (max difference about 4e-4 on photos); fp32 graphs stay within 1e-6.
    """
    _require_onnx()
    import onnx
    from onnx import helper, numpy_helper

    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    _sort_topologically(graph)  # shape inference needs it; some converters append nodes at the end
    image = _image_input(graph)
    shapes = _static_shapes(out)
    image_hw = shapes[image.name][2:]
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    constants = {i.name for i in graph.initializer} | {
        n.output[0] for n in graph.node if n.op_type == "Constant"}

    def const(name: str, values: list[int]) -> str:
        full = f"{_PREFIX}/{name}"
        if full not in {i.name for i in graph.initializer}:
            graph.initializer.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), full))
        return full

    new_nodes: dict[int, list[onnx.NodeProto]] = {}
    position = {id(n): i for i, n in enumerate(graph.node)}
    rewritten = 0
    for node in graph.node:
        if node.op_type != "Resize" or node.domain not in ("", "ai.onnx"):
            continue
        out_shape = shapes.get(node.output[0])
        if out_shape is None or len(out_shape) < 3 or not all(isinstance(d, int) for d in out_shape[2:]):
            continue  # already dynamic, or unknown: leave it
        reference = _find_reference(node.output[0], out_shape[2:], shapes, consumers, constants)
        if reference is None and out_shape[2:] == image_hw:
            reference = image.name
        if reference is None:
            raise ModelError(
                "model.transform-failed",
                f"Resize '{node.name}' has a constant target size {out_shape[2:]}, and no tensor of that "
                "size meets it downstream in a Concat or Add to take the size from at run time.",
                hint="This graph is not U-Net shaped; it can only run at its original size.")
        rank = len(out_shape)
        stem = f"{_PREFIX}/{node.name or node.output[0]}"
        sizes = f"{stem}/sizes"
        added = [
            helper.make_node("Shape", [node.input[0]], [f"{stem}/x_shape"], name=f"{stem}/x_shape"),
            helper.make_node("Slice", [f"{stem}/x_shape", const("zero", [0]), const("two", [2])],
                             [f"{stem}/x_nc"], name=f"{stem}/x_nc"),
            helper.make_node("Shape", [reference], [f"{stem}/ref_shape"], name=f"{stem}/ref_shape"),
            helper.make_node("Slice", [f"{stem}/ref_shape", const("two", [2]), const(f"rank{rank}", [rank])],
                             [f"{stem}/ref_hw"], name=f"{stem}/ref_hw"),
            helper.make_node("Concat", [f"{stem}/x_nc", f"{stem}/ref_hw"], [sizes], name=sizes, axis=0),
        ]
        new_nodes[position[id(node)]] = added
        roi = node.input[1] if len(node.input) > 1 else ""
        del node.input[1:]
        node.input.extend([roi, "", sizes])
        rewritten += 1
        logger.debug("Resize %s now takes its size from %s", node.name, reference)

    nodes = []
    for i, node in enumerate(graph.node):
        nodes.extend(new_nodes.get(i, []))
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)

    for dim, param in zip(image.type.tensor_type.shape.dim[2:], (_HEIGHT, _WIDTH)):
        dim.Clear()
        dim.dim_param = param
    for value in graph.output:
        dims = value.type.tensor_type.shape.dim
        same = tuple(d.dim_value for d in dims[2:]) == tuple(image_hw)
        for k, dim in enumerate(dims[2:]):
            dim.Clear()
            if same:
                dim.dim_param = (_HEIGHT, _WIDTH)[k]
    del graph.value_info[:]  # their sizes were for the old input size
    _remove_dead_nodes(graph)
    _sort_topologically(graph)
    logger.info("made %d Resize nodes follow the input size", rewritten)
    return out


def _image_input(graph: onnx.GraphProto) -> onnx.ValueInfoProto:
    initializers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    images = [i for i in inputs if len(i.type.tensor_type.shape.dim) == 4]
    if len(images) != 1:
        raise ModelError("model.transform-failed",
                         f"The graph needs exactly one 4-D image input to make dynamic, "
                         f"it has {len(images)} (inputs: {', '.join(i.name for i in inputs)}).")
    image: onnx.ValueInfoProto = images[0]
    dims = image.type.tensor_type.shape.dim
    if not all(d.HasField("dim_value") for d in dims[2:]):
        raise ModelError("model.transform-failed",
                         f"The image input '{image.name}' already has a dynamic height or width.",
                         hint="The model needs no dynamic-resolution transform.")
    return image


def _static_shapes(model: onnx.ModelProto) -> dict[str, Dims]:
    """Shape of every top-level tensor by ONNX shape inference with data propagation."""
    import onnx
    bare = onnx.ModelProto()
    bare.CopyFrom(model)
    del bare.graph.value_info[:]
    inferred = onnx.shape_inference.infer_shapes(bare, data_prop=True)
    shapes: dict[str, Dims] = {}
    for value in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        tensor_type = value.type.tensor_type
        if not tensor_type.HasField("shape"):
            continue
        shapes[value.name] = tuple(
            d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tensor_type.shape.dim)
    for init in model.graph.initializer:
        shapes[init.name] = tuple(init.dims)
    return shapes


def _find_reference(start: str, spatial: Dims, shapes: dict[str, Dims],
                    consumers: dict[str, list[onnx.NodeProto]], constants: set[str]) -> str | None:
    """The first tensor (breadth first from ``start``) with ``spatial`` size that meets it in a Concat
    or elementwise op, and that does not itself depend on ``start``."""
    downstream = _descendants(start, consumers)
    queue = deque([start])
    seen = {start}
    while queue:
        name = queue.popleft()
        for node in consumers.get(name, []):
            others = [i for i in node.input if i and i != name]
            if _joins_spatially(node, shapes.get(name)):
                for other in others:
                    if (other not in downstream and other not in constants
                            and shapes.get(other, ())[2:] == tuple(spatial)):
                        return str(other)
            out = node.output[0] if node.output else ""
            if out and out not in seen and shapes.get(out, ())[2:] == tuple(spatial):
                seen.add(out)
                queue.append(out)
    return None


def _joins_spatially(node: onnx.NodeProto, shape: Dims | None) -> bool:
    """Whether the node needs all its data inputs to have the same spatial size."""
    if node.domain not in ("", "ai.onnx"):
        return False
    if node.op_type in _ELEMENTWISE_BINARY:
        return True
    if node.op_type == "Concat" and shape is not None:
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        axis = axis + len(shape) if axis < 0 else axis
        return axis < 2
    return False


def _descendants(start: str, consumers: dict[str, list[onnx.NodeProto]]) -> set[str]:
    found = {start}
    stack = [start]
    while stack:
        for node in consumers.get(stack.pop(), []):
            for out in node.output:
                if out and out not in found:
                    found.add(out)
                    stack.append(out)
    return found
