"""Measure the activation ranges the int8 model is quantized with (run once; the result is committed).

Runs the fp32 dynamic-resolution ISNet on the repository's own samples (samples/*.jpg, and their
mirror images), preprocessed exactly as alphacut does, at 1024 and 640 px, and records for every
float activation the mean over images of its per-image min and max (a moving average, which keeps
one outlier image from stretching a scale). Written to
src/alphacut/models/calibration/<name>.json, read by the ``...+int8`` transforms.

    python bench/data/calibrate_int8.py            # needs the isnet-general-use-dynamic model cached

Only alphacut's bundled samples are used, never evaldata: the quality eval stays independent.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from alphacut.config import load_settings
from alphacut.io.decode import decode_image
from alphacut.models.catalog import load_catalog
from alphacut.models.store import ModelStore
from alphacut.pipeline import preprocess


def main() -> None:
    import onnx
    import onnxruntime as ort

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="isnet-general-use-dynamic")
    ap.add_argument("--name", default="isnet-general-use")
    ap.add_argument("--sides", default="1024,640")
    args = ap.parse_args()
    catalog = load_catalog()
    spec = catalog.get(args.model)
    path = ModelStore(load_settings().home_path).ensure(spec.id)
    model = onnx.load(str(path))
    inits = {i.name for i in model.graph.initializer}
    names = []
    for node in model.graph.node:
        if node.op_type in ("Shape", "Constant", "Slice", "Gather", "Unsqueeze", "Cast"):
            continue
        names += [o for o in node.output if o and o not in inits]
    names = list(dict.fromkeys(["input", *names]))
    existing = {o.name for o in model.graph.output}
    for n in names:
        if n not in existing:
            model.graph.output.append(onnx.helper.make_empty_tensor_value_info(n))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    out_names = [o.name for o in sess.get_outputs()]
    files = sorted((ROOT / "samples").glob("*.jpg"))
    sums: dict[str, np.ndarray] = {}
    count = 0
    for side in [int(s) for s in args.sides.split(",")]:
        for f in files:
            rgb = decode_image(f).rgb
            for img in (rgb, rgb[:, ::-1]):
                x, _ = preprocess(np.ascontiguousarray(img), spec, (side, side))
                res = sess.run(out_names, {"input": x})
                for n, v in zip(out_names, res, strict=True):
                    if v.dtype != np.float32 or v.ndim < 3:
                        continue
                    mm = np.array([float(v.min()), float(v.max())])
                    sums[n] = sums.get(n, 0) + mm
                count += 1
                print(f"{f.name} {side} done", file=sys.stderr)
    ranges = {n: [float(v[0] / count), float(v[1] / count)] for n, v in sorted(sums.items())}
    out = ROOT / "src" / "alphacut" / "models" / "calibration" / f"{args.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"model": spec.id, "checksum": spec.checksum, "images": [f.name for f in files],
           "mirrored": True, "sides": args.sides, "method": "mean over images of per-image min and max",
           "ranges": ranges}
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(ranges)} ranges to {out}")


if __name__ == "__main__":
    main()
