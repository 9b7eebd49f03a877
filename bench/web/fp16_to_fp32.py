"""Write an fp32 copy of an fp16 ONNX model (the same weights, widened), to time fp32 in the browser.

The catalog has no fp32 ISNet file cached here; this makes one from the fp16 file: fp16 initializers and
constants become fp32, Casts to fp16 become Casts to fp32, fp16 tensor types become fp32. Checks the copy
against the original with onnxruntime on a random input and prints the largest difference.

    .venv/bin/python bench/web/fp16_to_fp32.py ~/.cache/alphacut/models/isnet-general-use-fp16.onnx /tmp/isnet-fp32.onnx
"""

from __future__ import annotations

import argparse

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, numpy_helper


def widen(model: onnx.ModelProto) -> onnx.ModelProto:
    g = model.graph
    for i, t in enumerate(g.initializer):
        if t.data_type == TensorProto.FLOAT16:
            g.initializer[i].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float32), t.name))
    for node in g.node:
        for at in node.attribute:
            if node.op_type == "Cast" and at.name == "to" and at.i == TensorProto.FLOAT16:
                at.i = TensorProto.FLOAT
            if at.type == onnx.AttributeProto.TENSOR and at.t.data_type == TensorProto.FLOAT16:
                at.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(at.t).astype(np.float32), at.t.name))
    for vi in [*g.value_info, *g.input, *g.output]:
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT16:
            vi.type.tensor_type.elem_type = TensorProto.FLOAT
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description="Write an fp32 copy of an fp16 ONNX model and check it.")
    parser.add_argument("src", help="the fp16 model (.onnx)")
    parser.add_argument("dst", help="where to write the fp32 copy")
    args = parser.parse_args()
    src, dst = args.src, args.dst
    onnx.save(widen(onnx.load(src)), dst)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    a, b = (ort.InferenceSession(p, so, providers=["CPUExecutionProvider"]) for p in (src, dst))
    shape = [d if isinstance(d, int) else 1 for d in a.get_inputs()[0].shape]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    name = a.get_inputs()[0].name
    diff = float(np.abs(a.run(None, {name: x})[0] - b.run(None, {name: x})[0]).max())
    print(f"wrote {dst}; largest |fp32 - fp16| output difference on a random input: {diff:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
