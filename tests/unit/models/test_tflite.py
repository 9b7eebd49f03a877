"""models/tflite.py against numpy references of TFLite's operators, on a small TFLite file built here.

The file uses every operator the converter supports, the way MediaPipe's face mesh model does (fp16
weights behind DEQUANTIZE, SAME padding with stride 2, depthwise, PRELU, channel PAD, a residual ADD,
MAX_POOL, two outputs); the converted ONNX graph runs on the real runtime/onnx.py.
"""

from __future__ import annotations

from pathlib import Path

import flatbuffers  # onnxruntime's own dependency
import numpy as np
import pytest

from alphacut.errors import ModelError
from alphacut.models.tflite import tflite_to_onnx
from alphacut.models.transforms import apply_transform
from alphacut.runtime.onnx import OnnxBackend

F32, F16, I32 = 0, 1, 2  # TensorType
ADD, CONV, DW, DEQ, MAXPOOL, RELU, PAD, PRELU = 0, 3, 4, 6, 17, 19, 34, 54  # BuiltinOperator
OPT_CONV, OPT_DW, OPT_POOL, OPT_ADD = 1, 2, 5, 11  # BuiltinOptions union types


class _Graph:
    """Collects tensors and operators, then writes a TFLite flatbuffer (schema.fbs field order)."""

    def __init__(self) -> None:
        self.tensors: list[tuple[list[int], int, bytes | None]] = []
        self.ops: list[tuple[int, list[int], list[int], int, dict[int, tuple[str, int]]]] = []

    def tensor(self, shape: list[int], kind: int = F32, data: np.ndarray | None = None) -> int:
        self.tensors.append((shape, kind, None if data is None else data.tobytes()))
        return len(self.tensors) - 1

    def op(self, code: int, ins: list[int], outs: list[int], opt_type: int = 0,
           opts: dict[int, tuple[str, int]] | None = None) -> None:
        self.ops.append((code, ins, outs, opt_type, opts or {}))

    def build(self, inputs: list[int], outputs: list[int]) -> bytes:
        b = flatbuffers.Builder(1024)

        def vec_i32(values: list[int]) -> int:
            b.StartVector(4, len(values), 4)
            for v in reversed(values):
                b.PrependInt32(v)
            return b.EndVector()

        def table(fields: dict[int, tuple[str, int]]) -> int:
            b.StartObject(max(fields) + 1 if fields else 0)
            for slot, (kind, value) in sorted(fields.items()):
                {"b": b.PrependInt8Slot, "B": b.PrependUint8Slot, "i": b.PrependInt32Slot,
                 "I": b.PrependUint32Slot, "o": b.PrependUOffsetTRelativeSlot}[kind](slot, value, 0)
            return b.EndObject()

        def vec_tables(offsets: list[int]) -> int:
            b.StartVector(4, len(offsets), 4)
            for o in reversed(offsets):
                b.PrependUOffsetTRelative(o)
            return b.EndVector()

        buffers = [table({})]  # buffer 0: empty, by convention
        tensors = []
        for i, (shape, kind, data) in enumerate(self.tensors):
            buf = 0
            if data is not None:
                buffers.append(table({0: ("o", b.CreateByteVector(data))}))
                buf = len(buffers) - 1
            name, shp = b.CreateString(f"t{i}"), vec_i32(shape)
            tensors.append(table({0: ("o", shp), 1: ("b", kind), 2: ("I", buf), 3: ("o", name)}))
        codes = sorted({op[0] for op in self.ops})
        operators = []
        for code, ins, outs, opt_type, opts in self.ops:
            opt = table(opts) if opt_type else 0
            i_vec, o_vec = vec_i32(ins), vec_i32(outs)
            fields = {0: ("I", codes.index(code)), 1: ("o", i_vec), 2: ("o", o_vec)}
            if opt_type:
                fields.update({3: ("B", opt_type), 4: ("o", opt)})
            operators.append(table(fields))
        op_codes = [table({0: ("b", min(c, 127)), 2: ("i", 1), 3: ("i", c)}) for c in codes]
        t_vec, o_vec = vec_tables(tensors), vec_tables(operators)
        in_vec, out_vec = vec_i32(inputs), vec_i32(outputs)
        subgraph = table({0: ("o", t_vec), 1: ("o", in_vec), 2: ("o", out_vec), 3: ("o", o_vec)})
        model = table({0: ("I", 3), 1: ("o", vec_tables(op_codes)), 2: ("o", vec_tables([subgraph])),
                       4: ("o", vec_tables(buffers))})
        b.Finish(model, file_identifier=b"TFL3")
        return bytes(b.Output())


def _same_pad(x: np.ndarray, k: int, s: int, value: float = 0.0) -> np.ndarray:
    """TensorFlow's SAME padding of an NHWC tensor (the extra pixel goes after)."""
    pads = []
    for n in x.shape[1:3]:
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def _conv(x: np.ndarray, w: np.ndarray, bias: np.ndarray, s: int) -> np.ndarray:
    """TFLite CONV_2D, SAME: w is O x KH x KW x I."""
    k = w.shape[1]
    xp = _same_pad(x, k, s)
    oh, ow = -(-x.shape[1] // s), -(-x.shape[2] // s)
    out = np.zeros((1, oh, ow, w.shape[0]), np.float32)
    for i in range(oh):
        for j in range(ow):
            patch = xp[0, i * s:i * s + k, j * s:j * s + k, :]
            out[0, i, j] = np.tensordot(w, patch, axes=([1, 2, 3], [0, 1, 2])) + bias
    return out


def _depthwise(x: np.ndarray, w: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """TFLite DEPTHWISE_CONV_2D, SAME, stride 1, multiplier 1: w is 1 x KH x KW x C."""
    k = w.shape[1]
    xp = _same_pad(x, k, 1)
    out = np.zeros_like(x)
    for i in range(x.shape[1]):
        for j in range(x.shape[2]):
            out[0, i, j] = (xp[0, i:i + k, j:j + k, :] * w[0]).sum(axis=(0, 1)) + bias
    return out


def _tiny_model() -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    w1 = rng.normal(size=(4, 3, 3, 2)).astype(np.float16)
    b1 = rng.normal(size=4).astype(np.float16)
    slope = np.float16([0.1, 0.2, 0.3, 0.4]).reshape(1, 1, 4)
    w2 = rng.normal(size=(1, 3, 3, 4)).astype(np.float16)
    b2 = rng.normal(size=4).astype(np.float16)
    pad = np.int32([[0, 0], [0, 0], [0, 0], [0, 2]])
    w3 = rng.normal(size=(1, 1, 1, 6)).astype(np.float16)
    b3 = np.zeros(1, np.float16)

    g = _Graph()
    x = g.tensor([1, 9, 7, 2])
    consts = {}
    for name, arr in (("w1", w1), ("b1", b1), ("slope", slope), ("w2", w2), ("b2", b2), ("w3", w3), ("b3", b3)):
        q = g.tensor(list(arr.shape), F16, arr)
        consts[name] = g.tensor(list(arr.shape))
        g.op(DEQ, [q], [consts[name]])
    c1, p1, d1, a1, r1, pd, mp, y2 = (g.tensor(s) for s in (
        [1, 5, 4, 4], [1, 5, 4, 4], [1, 5, 4, 4], [1, 5, 4, 4], [1, 5, 4, 4], [1, 5, 4, 6], [1, 2, 2, 6], [1, 2, 2, 1]))
    pads = g.tensor([4, 2], I32, pad)
    g.op(CONV, [x, consts["w1"], consts["b1"]], [c1], OPT_CONV, {0: ("b", 0), 1: ("i", 2), 2: ("i", 2), 3: ("b", 0)})
    g.op(PRELU, [c1, consts["slope"]], [p1])
    g.op(DW, [p1, consts["w2"], consts["b2"]], [d1], OPT_DW,
         {0: ("b", 0), 1: ("i", 1), 2: ("i", 1), 3: ("i", 1), 4: ("b", 0)})
    g.op(ADD, [d1, p1], [a1], OPT_ADD, {0: ("b", 0)})
    g.op(RELU, [a1], [r1])
    g.op(PAD, [r1, pads], [pd])
    g.op(MAXPOOL, [pd], [mp], OPT_POOL, {0: ("b", 1), 1: ("i", 2), 2: ("i", 2), 3: ("i", 2), 4: ("i", 2), 5: ("b", 0)})
    g.op(CONV, [mp, consts["w3"], consts["b3"]], [y2], OPT_CONV, {0: ("b", 1), 1: ("i", 1), 2: ("i", 1), 3: ("b", 1)})
    data = g.build([x], [mp, y2])

    inp = rng.normal(size=(1, 9, 7, 2)).astype(np.float32)
    f = {k: v.astype(np.float32) for k, v in (("w1", w1), ("b1", b1), ("slope", slope), ("w2", w2), ("b2", b2),
                                               ("w3", w3), ("b3", b3))}
    c = _conv(inp, f["w1"], f["b1"], 2)
    p = np.where(c >= 0, c, c * f["slope"])
    r = np.maximum(_depthwise(p, f["w2"], f["b2"]) + p, 0)
    padded = np.pad(r, pad)
    m = padded[:, :4, :4, :].reshape(1, 2, 2, 2, 2, 6).max(axis=(2, 4))  # 2x2 stride 2 VALID: rows 0-3 of 5
    y = np.maximum(_conv(m, f["w3"], f["b3"], 1), 0)  # fused RELU
    expected = np.concatenate([m.reshape(1, -1), y.reshape(1, -1)], axis=1)
    return data, inp, expected


def test_the_converted_graph_computes_what_tflite_defines(tmp_path: Path) -> None:
    data, inp, expected = _tiny_model()
    src, dst = tmp_path / "tiny.tflite", tmp_path / "tiny.onnx"
    src.write_bytes(data)
    apply_transform("tflite-to-onnx", src, dst)
    got = OnnxBackend(dst, threads=1).run(inp.transpose(0, 3, 1, 2).copy())
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    apply_transform("tflite-to-onnx", src, tmp_path / "again.onnx")  # the catalog pins the result's sha256
    assert (tmp_path / "again.onnx").read_bytes() == dst.read_bytes()
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(dst)).metadata_props}
    assert meta["alphacut.transforms"] == "tflite-to-onnx" and dst.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("data", [b"", b"not a flatbuffer at all", b"\x10\x00\x00\x00TFL3" + b"\x00" * 8])
def test_a_file_that_is_not_a_tflite_graph_is_refused(data: bytes) -> None:
    with pytest.raises(ModelError) as err:
        tflite_to_onnx(data)
    assert err.value.code == "model.bad-file" and err.value.hint


def test_an_unsupported_operator_is_named() -> None:
    g = _Graph()
    x, y = g.tensor([1, 2, 2, 1]), g.tensor([1, 2, 2, 1])
    g.op(1, [x], [y])  # AVERAGE_POOL_2D
    with pytest.raises(ModelError) as err:
        tflite_to_onnx(g.build([x], [y]))
    assert "operator 1 is not supported" in str(err.value)


RESHAPE, CONCAT, RESIZE = 22, 2, 23  # BuiltinOperator: the BlazeFace detectors' other operators
OPT_CONCAT, OPT_RESIZE = 10, 15  # BuiltinOptions: ConcatenationOptions, ResizeBilinearOptions


def _resize_half_pixel(x: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """TFLite RESIZE_BILINEAR with half_pixel_centers (what BlazeFace full range uses), NHWC."""
    def taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        return lo, np.minimum(lo + 1, n_in - 1), (src - lo)[:, None]
    (y0, y1, fy), (x0, x1, fx) = taps(x.shape[1], oh), taps(x.shape[2], ow)
    rows = x[0, y0] * (1 - fy[:, :, None]) + x[0, y1] * fy[:, :, None]
    return (rows[:, x0] * (1 - fx) + rows[:, x1] * fx)[None].astype(np.float32)


def test_reshape_concatenation_and_resize_compute_what_tflite_defines(tmp_path: Path) -> None:
    """BlazeFace's head: per-cell NHWC values reshaped to (1, cells * anchors, k) and concatenated;
    full range upsamples 2x with RESIZE_BILINEAR (half-pixel centres) and adds a skip connection."""
    g = _Graph()
    x = g.tensor([1, 3, 4, 2])
    up, added, flat_a, flat_b, both = (g.tensor(s) for s in (
        [1, 6, 8, 2], [1, 6, 8, 2], [1, 48, 2], [1, 12, 2], [1, 60, 2]))
    size = g.tensor([2], I32, np.int32([6, 8]))
    rng = np.random.default_rng(1)
    skip_w = rng.normal(size=(1, 6, 8, 2)).astype(np.float32)
    skip_c = g.tensor([1, 6, 8, 2], F32, skip_w)
    g.op(RESIZE, [x, size], [up], OPT_RESIZE, {2: ("b", 0), 3: ("b", 1)})
    g.op(ADD, [up, skip_c], [added], OPT_ADD, {0: ("b", 0)})
    g.op(RESHAPE, [added], [flat_a])
    g.op(RESHAPE, [x], [flat_b])
    g.op(CONCAT, [flat_a, flat_b], [both], OPT_CONCAT, {0: ("i", 1), 1: ("b", 0)})
    data = g.build([x], [both, added])
    src, dst = tmp_path / "head.tflite", tmp_path / "head.onnx"
    src.write_bytes(data)
    apply_transform("tflite-to-onnx", src, dst)
    inp = rng.normal(size=(1, 3, 4, 2)).astype(np.float32)
    got = OnnxBackend(dst, threads=1).run(inp.transpose(0, 3, 1, 2).copy())
    a = _resize_half_pixel(inp, 6, 8) + skip_w
    expected = np.concatenate([np.concatenate([a.reshape(1, 48, 2), inp.reshape(1, 12, 2)], axis=1).reshape(1, -1),
                               a.reshape(1, -1)], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
