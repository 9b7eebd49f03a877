"""Convert a small float TFLite graph to ONNX: MediaPipe's face landmark model (runtime/faces.py).

MediaPipe ships its models as TFLite flatbuffers; alphacut runs everything in ONNX Runtime. This
reads the flatbuffer directly (the few tables of the TFLite schema it needs, no extra dependency)
and maps each operator to ONNX with ``onnx.helper``, NHWC to NCHW. Supported: the operators of
``face_landmark.tflite`` from npm ``@mediapipe/face_mesh`` (fp16 weights behind DEQUANTIZE, CONV_2D,
DEPTHWISE_CONV_2D, PRELU, ADD, MAX_POOL_2D, PAD) plus RELU, and those of the BlazeFace face detectors
in npm ``@mediapipe/face_detection`` (RESHAPE, CONCATENATION, RESIZE_BILINEAR); anything else raises
ModelError. The
graph's outputs are flattened and concatenated into one output (``outputs``), in the TFLite order.
The result is deterministic for a given input file and ``onnx`` version, so its sha256 can be pinned.

The catalog's ``tflite-to-onnx`` transform (models/transforms.py) writes the result.

Example:
    >>> model = tflite_to_onnx(Path("face_landmark.tflite").read_bytes())  # doctest: +SKIP
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ModelError

if TYPE_CHECKING:
    import onnx

__all__ = ["tflite_to_onnx"]

# TFLite schema enums (tensorflow/lite/schema/schema.fbs)
_ADD, _CONV_2D, _DEPTHWISE_CONV_2D, _DEQUANTIZE, _MAX_POOL_2D, _RELU, _PAD, _PRELU = 0, 3, 4, 6, 17, 19, 34, 54
_CONCATENATION, _RESHAPE, _RESIZE_BILINEAR = 2, 22, 23
_OP_NAMES = {_ADD: "ADD", _CONV_2D: "CONV_2D", _DEPTHWISE_CONV_2D: "DEPTHWISE_CONV_2D", _DEQUANTIZE: "DEQUANTIZE",
             _MAX_POOL_2D: "MAX_POOL_2D", _RELU: "RELU", _PAD: "PAD", _PRELU: "PRELU",
             _CONCATENATION: "CONCATENATION", _RESHAPE: "RESHAPE", _RESIZE_BILINEAR: "RESIZE_BILINEAR"}
_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}
_DTYPES: dict[int, Any] = {0: np.float32, 1: np.float16, 2: np.int32, 4: np.int64}
_SAME, _VALID = 0, 1
_ACT_NONE, _ACT_RELU, _ACT_RELU6 = 0, 1, 3
OPSET = 13


class _Table:
    """One flatbuffer table: fields read by their index in the schema."""

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.pos = buf, pos
        self.vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vsize = struct.unpack_from("<H", buf, self.vtable)[0]

    def _field(self, index: int) -> int:
        slot = 4 + 2 * index
        if slot >= self.vsize:
            return 0
        off: int = struct.unpack_from("<H", self.buf, self.vtable + slot)[0]
        return self.pos + off if off else 0

    def scalar(self, index: int, fmt: str, default: int = 0) -> int:
        at = self._field(index)
        return int(struct.unpack_from("<" + fmt, self.buf, at)[0]) if at else default

    def _target(self, index: int) -> int:
        at = self._field(index)
        return at + struct.unpack_from("<I", self.buf, at)[0] if at else 0

    def table(self, index: int) -> _Table | None:
        at = self._target(index)
        return _Table(self.buf, at) if at else None

    def tables(self, index: int) -> list[_Table]:
        at = self._target(index)
        if not at:
            return []
        n = struct.unpack_from("<I", self.buf, at)[0]
        items = [at + 4 + 4 * i for i in range(n)]
        return [_Table(self.buf, p + struct.unpack_from("<I", self.buf, p)[0]) for p in items]

    def vector(self, index: int, dtype: Any) -> NDArray[Any]:
        at = self._target(index)
        if not at:
            return np.zeros(0, dtype)
        n = struct.unpack_from("<I", self.buf, at)[0]
        return np.frombuffer(self.buf, dtype=np.dtype(dtype).newbyteorder("<"), count=n, offset=at + 4)

    def string(self, index: int) -> str:
        return bytes(self.vector(index, np.uint8)).decode("utf-8")


@dataclass(frozen=True, slots=True)
class _Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: Any
    data: NDArray[Any] | None  # constant data, if the tensor has a buffer


def _bad(message: str) -> ModelError:
    return ModelError("model.bad-file", f"Can't convert the TFLite model: {message}.",
                      hint="Fetch the landmark model again (the cached file may be damaged).")


def tflite_to_onnx(data: bytes, *, graph_name: str = "tflite") -> onnx.ModelProto:
    """An ONNX model (NCHW float input, one flat float output) equivalent to a float TFLite graph."""
    from onnx import TensorProto, helper, numpy_helper

    if len(data) < 8 or data[4:8] != b"TFL3":
        raise _bad("not a TFLite flatbuffer (no TFL3 identifier)")
    try:
        model = _Table(data, struct.unpack_from("<I", data, 0)[0])
        codes = [max(c.scalar(0, "b"), c.scalar(3, "i")) for c in model.tables(1)]
        buffers = [b.vector(0, np.uint8) for b in model.tables(4)]
        graphs = model.tables(2)
        if len(graphs) != 1:
            raise _bad(f"{len(graphs)} subgraphs, expected 1")
        g = graphs[0]
        tensors = []
        for t in g.tables(0):
            dtype = _DTYPES.get(t.scalar(1, "b"))
            raw = buffers[t.scalar(2, "I")] if t.scalar(2, "I") < len(buffers) else np.zeros(0, np.uint8)
            shape = tuple(int(v) for v in t.vector(0, np.int32))
            arr = None
            if raw.size and dtype is not None:
                arr = np.frombuffer(raw.tobytes(), dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)
            tensors.append(_Tensor(t.string(3), shape, dtype, arr))
        inputs = [int(i) for i in g.vector(1, np.int32)]
        outputs = [int(i) for i in g.vector(2, np.int32)]
        ops = [(codes[o.scalar(0, "I")], [int(i) for i in o.vector(1, np.int32)],
                [int(i) for i in o.vector(2, np.int32)], o.table(4)) for o in g.tables(3)]
    except (struct.error, IndexError, ValueError, UnicodeDecodeError) as exc:
        raise _bad(f"malformed flatbuffer ({exc})") from exc
    if len(inputs) != 1 or len(tensors[inputs[0]].shape) != 4:
        raise _bad("the graph must have one NHWC image input")

    names = [f"t{i}" for i in range(len(tensors))]
    nodes: list[onnx.NodeProto] = []
    inits: dict[str, onnx.TensorProto] = {}
    consts: dict[int, NDArray[Any]] = {i: t.data for i, t in enumerate(tensors) if t.data is not None}

    def const(i: int) -> NDArray[Any]:
        if i not in consts:
            raise _bad(f"tensor {tensors[i].name!r} should be a constant")
        return consts[i]

    def init(name: str, arr: NDArray[Any]) -> str:
        inits[name] = numpy_helper.from_array(np.ascontiguousarray(arr), name)
        return name

    def activation(kind: int, out: str) -> tuple[str, list[onnx.NodeProto]]:
        """The name the operator should write, and the nodes (after it) that apply its fused activation."""
        if kind == _ACT_NONE:
            return out, []
        pre = out + "_pre"
        if kind == _ACT_RELU:
            return pre, [helper.make_node("Relu", [pre], [out])]
        if kind == _ACT_RELU6:
            return pre, [helper.make_node("Clip", [pre, init(out + "_lo", np.float32(0)),
                                                   init(out + "_hi", np.float32(6))], [out])]
        raise _bad(f"fused activation {kind} is not supported")

    def same_pads(i: int, k_hw: tuple[int, int], s_hw: tuple[int, int], d_hw: tuple[int, int],
                  padding: int) -> list[int]:
        if padding == _VALID:
            return [0, 0, 0, 0]
        _, h, w, _ = tensors[i].shape
        pads = []
        for n, k, s, d in zip((h, w), k_hw, s_hw, d_hw):
            total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        return [pads[0][0], pads[1][0], pads[0][1], pads[1][1]]

    for n, (code, ins, outs, opt) in enumerate(ops):
        out = names[outs[0]]
        if code == _DEQUANTIZE:
            consts[outs[0]] = const(ins[0]).astype(np.float32)
        elif code in (_CONV_2D, _DEPTHWISE_CONV_2D):
            assert opt is not None
            depthwise = code == _DEPTHWISE_CONV_2D
            w = const(ins[1]).astype(np.float32)  # conv: O,KH,KW,I; depthwise: 1,KH,KW,C*mult
            k_hw = (w.shape[1], w.shape[2])
            s_hw = (opt.scalar(2, "i", 1), opt.scalar(1, "i", 1))
            d_hw = (opt.scalar(6, "i", 1), opt.scalar(5, "i", 1)) if depthwise else \
                (opt.scalar(5, "i", 1), opt.scalar(4, "i", 1))
            act = opt.scalar(4 if depthwise else 3, "b")
            pads = same_pads(ins[0], k_hw, s_hw, d_hw, opt.scalar(0, "b"))
            channels = tensors[ins[0]].shape[3]
            weight = w.transpose(3, 0, 1, 2) if depthwise else w.transpose(0, 3, 1, 2)
            args = [names[ins[0]], init(f"w{n}", weight)]
            if len(ins) > 2 and ins[2] >= 0:
                args.append(init(f"b{n}", const(ins[2]).astype(np.float32)))
            target, post = activation(act, out)
            nodes.append(helper.make_node("Conv", args, [target], kernel_shape=list(k_hw),
                                          strides=list(s_hw), dilations=list(d_hw), pads=pads,
                                          group=channels if depthwise else 1))
            nodes.extend(post)
        elif code == _ADD:
            target, post = activation(opt.scalar(0, "b") if opt is not None else _ACT_NONE, out)
            nodes.append(helper.make_node("Add", [_operand(ins[0], names, consts, init, n, 0),
                                                  _operand(ins[1], names, consts, init, n, 1)], [target]))
            nodes.extend(post)
        elif code == _PRELU:
            slope = const(ins[1]).astype(np.float32).reshape(-1)
            nodes.append(helper.make_node("PRelu", [names[ins[0]], init(f"a{n}", slope.reshape(-1, 1, 1))], [out]))
        elif code == _RELU:
            nodes.append(helper.make_node("Relu", [names[ins[0]]], [out]))
        elif code == _MAX_POOL_2D:
            assert opt is not None
            k_hw = (opt.scalar(4, "i"), opt.scalar(3, "i"))
            s_hw = (opt.scalar(2, "i", 1), opt.scalar(1, "i", 1))
            pads = same_pads(ins[0], k_hw, s_hw, (1, 1), opt.scalar(0, "b"))
            target, post = activation(opt.scalar(5, "b"), out)
            nodes.append(helper.make_node("MaxPool", [names[ins[0]]], [target],
                                          kernel_shape=list(k_hw), strides=list(s_hw), pads=pads))
            nodes.extend(post)
        elif code == _PAD:
            p = const(ins[1]).astype(np.int64).reshape(4, 2)[[0, 3, 1, 2]]  # NHWC -> NCHW
            nodes.append(helper.make_node("Pad", [names[ins[0]], init(f"p{n}", np.concatenate([p[:, 0], p[:, 1]]))],
                                          [out], mode="constant"))
        elif code == _RESHAPE:  # 4-d tensors are NCHW here: reshape what TFLite reshapes, the NHWC order
            src, shape_out = names[ins[0]], tensors[outs[0]].shape
            if len(tensors[ins[0]].shape) == 4:
                nodes.append(helper.make_node("Transpose", [src], [out + "_nhwc_in"], perm=[0, 2, 3, 1]))
                src = out + "_nhwc_in"
            target = out + "_nhwc" if len(shape_out) == 4 else out
            nodes.append(helper.make_node("Reshape", [src, init(f"s{n}", np.asarray(shape_out, np.int64))], [target]))
            if len(shape_out) == 4:
                nodes.append(helper.make_node("Transpose", [target], [out], perm=[0, 3, 1, 2]))
        elif code == _CONCATENATION:
            axis = opt.scalar(0, "i") if opt is not None else 0
            rank = len(tensors[outs[0]].shape)
            axis = axis % rank
            if rank == 4:
                axis = _NHWC_TO_NCHW_AXIS[axis]
            target, post = activation(opt.scalar(1, "b") if opt is not None else _ACT_NONE, out)
            nodes.append(helper.make_node("Concat", [names[i] for i in ins], [target], axis=axis))
            nodes.extend(post)
        elif code == _RESIZE_BILINEAR:
            _, oh, ow, oc = tensors[outs[0]].shape
            align, half = (opt.scalar(2, "b"), opt.scalar(3, "b")) if opt is not None else (0, 0)
            mode = "align_corners" if align else "half_pixel" if half else "asymmetric"
            nodes.append(helper.make_node("Resize", [names[ins[0]], "", "", init(f"z{n}", np.asarray(
                [1, oc, oh, ow], np.int64))], [out], mode="linear", coordinate_transformation_mode=mode))
        else:
            raise _bad(f"operator {_OP_NAMES.get(code, code)} is not supported")

    flat = []
    for i in outputs:
        src = names[i]
        if len(tensors[i].shape) == 4:  # back to TFLite's NHWC order before flattening
            nodes.append(helper.make_node("Transpose", [names[i]], [names[i] + "_nhwc"], perm=[0, 2, 3, 1]))
            src = names[i] + "_nhwc"
        nodes.append(helper.make_node("Flatten", [src], [names[i] + "_flat"], axis=1))
        flat.append(names[i] + "_flat")
    nodes.append(helper.make_node("Concat", flat, ["outputs"], axis=1))
    _, in_h, in_w, in_c = tensors[inputs[0]].shape
    graph = helper.make_graph(
        nodes, graph_name,
        [helper.make_tensor_value_info(names[inputs[0]], TensorProto.FLOAT, [1, in_c, in_h, in_w])],
        [helper.make_tensor_value_info("outputs", TensorProto.FLOAT,
                                       [1, sum(int(np.prod(tensors[i].shape[1:])) for i in outputs)])],
        initializer=list(inits.values()))
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                   producer_name="alphacut.models.tflite")
    onnx_model.ir_version = 8
    return onnx_model


def _operand(i: int, names: list[str], consts: dict[int, NDArray[Any]], init: Any, n: int, k: int) -> str:
    """An ADD input: a tensor, or a constant (NHWC broadcast -> NCHW)."""
    if i not in consts:
        return names[i]
    arr = consts[i].astype(np.float32)
    if arr.ndim == 4:
        arr = arr.transpose(0, 3, 1, 2)
    elif arr.ndim >= 1:
        arr = arr.reshape(-1, 1, 1)
    return str(init(f"c{n}_{k}", arr))
