"""Named ONNX graph transforms that derive one model file from another (catalog ``derive`` sources).

Each transform reads ``src`` and writes ``dst`` (atomically) and is deterministic: the same input
file and the same ``onnx`` version give byte-identical output, so the catalog can pin its sha256.

- ``fp16-to-fp32``: fp16 initializers, constants and Cast targets become fp32, and the casts that
  are then no-ops are removed, so ONNX Runtime runs the graph without casts.
- ``dynamic-resolution``: the image input accepts any height and width. Every Resize whose target
  size is a constant gets it instead from the tensor it is later concatenated or added with, or
  from the input image (the side outputs of U²-Net/ISNet), exactly as ``_upsample_like`` did
  before export.
- ``fp16-to-fp32+dynamic-resolution``: both.
- ``fp16-to-int8+dynamic-resolution``: both, then static int8 quantization (QDQ) with the
  activation ranges shipped in ``calibration/isnet-general-use.json``.
- ``tflite-to-onnx``: a float TFLite graph (MediaPipe's face landmark model) as ONNX (models/tflite.py).

``onnx`` (one of alphacut's own dependencies) is imported only when a transform runs.

Example:
    >>> TRANSFORMS["dynamic-resolution"](Path("isnet.onnx"), Path("isnet-dyn.onnx"))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import BackendError, ModelError, suggest
from ..io.files import write_atomic

if TYPE_CHECKING:
    import onnx

__all__ = [
    "TRANSFORMS",
    "apply_transform",
    "dynamic_resolution",
    "fp16_to_fp32",
    "fp16_to_fp32_dynamic_resolution",
    "fp16_to_int8_dynamic_resolution",
    "load_calibration",
    "make_fp32",
    "make_int8",
    "make_resolution_dynamic",
    "tflite_to_onnx",
]

logger = logging.getLogger(__name__)

_METADATA_KEY = "alphacut.transforms"
_PREFIX = "alphacut_dyn"
# Ops that keep the spatial layout of their one data input (walked through to find a Concat/Add).
_ELEMENTWISE_BINARY = frozenset({"Add", "Sub", "Mul", "Div", "Sum", "Max", "Min", "Mean"})
_HEIGHT, _WIDTH = "height", "width"
Dims = tuple[int | str | None, ...]  # a tensor shape: int, symbolic name or unknown per axis


def _require_onnx() -> None:
    """Raise a BackendError that says how to install onnx when it is missing (a broken install)."""
    try:
        import onnx  # noqa: F401
    except ImportError as exc:
        raise BackendError("backend.missing-extra",
                           "Deriving a model needs the 'onnx' package, which is not installed.",
                           hint="It is one of alphacut's dependencies: `pip install 'onnx>=1.16,<2'` or "
                                "reinstall alphacut.") from exc


# --------------------------------------------------------------------------------------- file level

def _load(src: Path) -> onnx.ModelProto:
    _require_onnx()
    import onnx
    try:
        model = onnx.load(str(src))
    except FileNotFoundError as exc:
        raise ModelError("model.transform-failed", f"The model to transform, {src}, does not exist.") from exc
    except Exception as exc:  # onnx raises DecodeError, OSError, ValueError for broken files
        raise ModelError("model.transform-failed", f"{src} is not a readable ONNX model: {exc}.",
                         hint="Delete it and fetch it again.") from exc
    return model


def _save(model: onnx.ModelProto, dst: Path, applied: Iterable[str]) -> None:
    """Check the model, record what was applied and write it byte-for-byte reproducibly."""
    _require_onnx()
    import onnx
    names = [p.value for p in model.metadata_props if p.key == _METADATA_KEY]
    for prop in [p for p in model.metadata_props if p.key == _METADATA_KEY]:
        model.metadata_props.remove(prop)
    model.metadata_props.add(key=_METADATA_KEY, value=",".join([*names, *applied]))
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ModelError("model.transform-failed", f"The transformed graph is not valid ONNX: {exc}.") from exc
    write_atomic(dst, model.SerializeToString(deterministic=True))


def fp16_to_fp32(src: Path, dst: Path) -> None:
    """Write an fp32 copy of an fp16-weight model (see :func:`make_fp32`)."""
    _save(make_fp32(_load(src)), dst, ["fp16-to-fp32"])


def dynamic_resolution(src: Path, dst: Path) -> None:
    """Write a copy of the model that accepts any input height and width."""
    _save(make_resolution_dynamic(_load(src)), dst, ["dynamic-resolution"])


def fp16_to_fp32_dynamic_resolution(src: Path, dst: Path) -> None:
    """Both transforms at once: fp32 weights and any input size."""
    _save(make_resolution_dynamic(make_fp32(_load(src))), dst, ["fp16-to-fp32", "dynamic-resolution"])


def load_calibration(name: str) -> dict[str, tuple[float, float]]:
    """Activation ranges shipped in alphacut/models/calibration/<name>.json (bench/calibrate_int8.py)."""
    import json
    from importlib import resources
    try:
        text = resources.files(__package__).joinpath("calibration").joinpath(f"{name}.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError("model.transform-failed", f"alphacut ships no calibration named '{name}'.",
                         hint="Reinstall alphacut; the calibration files are package data.") from None
    return {k: (float(v[0]), float(v[1])) for k, v in json.loads(text)["ranges"].items()}


#: ISNet's first Conv stays float: it reads the normalized image directly (0.45 of 160 GMAC), and
#: quantizing its input clipped white backgrounds (product shots: matte MAE vs fp32 0.070 -> 0.0013
#: with it kept float, measured on ecommerce_synthetic; 0.0013 -> 0.0016 on davis_people, noise).
_ISNET_FLOAT_CONVS = frozenset({"/conv_in/Conv"})


def fp16_to_int8_dynamic_resolution(src: Path, dst: Path) -> None:
    """fp32, any input size, then static int8 with ISNet's shipped calibration (see :func:`make_int8`)."""
    model = make_resolution_dynamic(make_fp32(_load(src)))
    _save(make_int8(model, load_calibration("isnet-general-use"), keep_float=_ISNET_FLOAT_CONVS), dst,
          ["fp16-to-fp32", "dynamic-resolution", "int8-static"])


def tflite_to_onnx(src: Path, dst: Path) -> None:
    """Write the TFLite file src as ONNX (models/tflite.py: NCHW input, one flat output)."""
    from .tflite import tflite_to_onnx as convert

    _require_onnx()
    try:
        data = src.read_bytes()
    except OSError as exc:
        raise ModelError("model.transform-failed", f"The model to convert, {src}, can't be read: {exc}.") from exc
    _save(convert(data, graph_name="face_landmark"), dst, ["tflite-to-onnx"])


TRANSFORMS: dict[str, Callable[[Path, Path], None]] = {
    "fp16-to-fp32": fp16_to_fp32,
    "dynamic-resolution": dynamic_resolution,
    "fp16-to-fp32+dynamic-resolution": fp16_to_fp32_dynamic_resolution,
    "fp16-to-int8+dynamic-resolution": fp16_to_int8_dynamic_resolution,
    "tflite-to-onnx": tflite_to_onnx,
}


def apply_transform(name: str, src: Path, dst: Path) -> None:
    """Run the transform called ``name`` on ``src`` and write the result to ``dst``."""
    try:
        transform = TRANSFORMS[name]
    except KeyError:
        raise ModelError("model.unknown-transform", f"No model transform named '{name}'.",
                         hint=suggest(name, TRANSFORMS)
                         or f"Known transforms: {', '.join(sorted(TRANSFORMS))}.") from None
    logger.info("deriving %s from %s with %s", dst, src, name)
    transform(src, dst)


# ----------------------------------------------------------------------------------- fp16 -> fp32

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


def _all_nodes(graph: onnx.GraphProto) -> Iterable[onnx.NodeProto]:
    """Every node of the graph and of its subgraphs (If/Loop bodies)."""
    import onnx
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _all_nodes(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for sub in attr.graphs:
                    yield from _all_nodes(sub)


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


def _tensor_elem_types(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every top-level tensor, by ONNX type inference (not stored in the result)."""
    import onnx
    inferred = onnx.shape_inference.infer_shapes(model)
    types: dict[str, int] = {}
    for value in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        if value.type.HasField("tensor_type"):
            types[value.name] = value.type.tensor_type.elem_type
    for init in model.graph.initializer:
        types[init.name] = init.data_type
    return types


# ----------------------------------------------------------------------------- dynamic resolution

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


def _remove_dead_nodes(graph: onnx.GraphProto) -> None:
    """Drop nodes and initializers nothing uses any more (the old constant size computations)."""
    producer = {name: i for i, node in enumerate(graph.node) for name in node.output}
    needed = {o.name for o in graph.output}
    live: set[int] = set()
    stack = list(needed)
    while stack:
        index = producer.get(stack.pop())
        if index is None or index in live:
            continue
        live.add(index)
        for name in _node_inputs(graph.node[index]):
            if name not in needed:
                needed.add(name)
                stack.append(name)
    keep = [node for i, node in enumerate(graph.node) if i in live]
    del graph.node[:]
    graph.node.extend(keep)
    inits = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)


def _node_inputs(node: onnx.NodeProto) -> set[str]:
    """The node's inputs and the outer-scope names its subgraphs read."""
    import onnx
    names = {i for i in node.input if i}
    for attr in node.attribute:
        subgraphs = [attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs)
        for sub in subgraphs:
            for inner in _all_nodes(sub):
                names.update(i for i in inner.input if i)
    return names


def _sort_topologically(graph: onnx.GraphProto) -> None:
    """Order nodes so each comes after its inputs' producers, keeping the old order where it can."""
    import heapq

    producer_index = {name: i for i, node in enumerate(graph.node) for name in node.output}
    waiting_on: list[int] = []
    dependents: dict[int, list[int]] = {}
    for i, node in enumerate(graph.node):
        deps = {producer_index[n] for n in _node_inputs(node) if n in producer_index} - {i}
        waiting_on.append(len(deps))
        for d in deps:
            dependents.setdefault(d, []).append(i)
    ready = [i for i, count in enumerate(waiting_on) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for j in dependents.get(i, []):
            waiting_on[j] -= 1
            if waiting_on[j] == 0:
                heapq.heappush(ready, j)
    if len(order) != len(graph.node):
        raise ModelError("model.transform-failed", "The transformed graph has a cycle.")
    nodes = [graph.node[i] for i in order]
    del graph.node[:]
    graph.node.extend(nodes)


# ------------------------------------------------------------------------- static int8 (QDQ format)

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
            activation tensor the rules above quantize (see bench/calibrate_int8.py).
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
